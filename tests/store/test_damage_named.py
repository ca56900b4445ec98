"""A damaged file of a store table is named in the error (sessions tables and the mood table)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from repsense.errors import SchemaError
from repsense.mood import import_mood_log, read_mood
from repsense.store import atomic_write_table
from repsense.store.parquet import find_damaged_file

T0 = datetime(2024, 3, 1, 8, 0, tzinfo=timezone.utc)


def test_find_damaged_file_returns_the_damaged_one(tmp_path: Path) -> None:
    good = atomic_write_table(pa.table({"x": np.arange(1000, dtype=np.int64)}), tmp_path / "a.parquet")
    bad = atomic_write_table(pa.table({"x": np.arange(1000, dtype=np.int64)}), tmp_path / "b.parquet")
    assert find_damaged_file([good, bad]) is None
    bad.write_bytes(bad.read_bytes()[:-20])
    hit = find_damaged_file([good, bad])
    assert hit is not None and hit[0] == bad and isinstance(hit[1], Exception)


def test_read_mood_names_the_damaged_file(tmp_path: Path) -> None:
    lines = ["participant,timestamp,instrument,total"] + [
        f"P1,{(T0 + timedelta(minutes=i)).isoformat()},FS,{i % 11 - 5}" for i in range(300)]
    lines += [f"P2,{(T0 + timedelta(minutes=i)).isoformat()},FS,{i % 7 - 3}" for i in range(50)]
    log = tmp_path / "log.csv"
    log.write_text("\n".join(lines) + "\n")
    store = tmp_path / "store"
    import_mood_log(log, store)
    f = next((store / "mood").glob("participant=P1/*.parquet"))
    original = f.read_bytes()
    want = read_mood(store)
    raised = 0
    # flips inside the data pages: the footer still parses, so only the whole-table read fails
    for pos in range(4, len(original) // 2, max(1, len(original) // 80)):
        buf = bytearray(original)
        buf[pos] ^= 0x10
        f.write_bytes(bytes(buf))
        try:
            got = read_mood(store)
        except SchemaError as exc:
            raised += 1
            assert f.name in str(exc), str(exc)
            continue
        assert got.equals(want)
    assert raised > 0
    f.write_bytes(original)
    assert read_mood(store).equals(want)


def test_read_mood_unreadable_file_is_a_schema_error_naming_it(tmp_path: Path) -> None:
    store = tmp_path / "s"
    (store / "mood" / "participant=P").mkdir(parents=True)
    (store / "mood" / "participant=P" / "x.parquet").write_bytes(b"PAR1garbagePAR1")
    with pytest.raises(SchemaError, match="x.parquet"):
        read_mood(store)
