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


def test_bit_flips_in_a_samples_file_never_read_back_different_from_the_undamaged_read(
        tmp_path: Path, rng: np.random.Generator) -> None:
    """Each of 300 single-bit flips either raises a project error naming the file or reads back
    exactly what the undamaged file reads back.

    The reference is the undamaged file's read-back, not the in-memory recording: times are
    stored as int64 ns, so ``t_s`` values that are not whole nanoseconds (e.g. ``k/50 + 0.003``)
    come back within 1e-14 s, not bit-identical, for every file, damaged or not.
    """
    from repsense.errors import RepsenseError
    from repsense.store import read_recording_parquet, write_session

    from .conftest import make_detection, make_recording

    rec = make_recording(rng, n=3000, rate_hz=50.0)
    paths = write_session(tmp_path / "out", rec, make_detection())
    original = paths.samples[0].read_bytes()
    f = tmp_path / paths.samples[0].name
    f.write_bytes(original)
    ref = read_recording_parquet(f)
    errors = 0
    for _ in range(300):
        buf = bytearray(original)
        buf[int(rng.integers(4, len(buf) - 8))] ^= 1 << int(rng.integers(0, 8))
        f.write_bytes(bytes(buf))
        try:
            got = read_recording_parquet(f)
        except RepsenseError as exc:
            assert f.name in str(exc)
            errors += 1
            continue
        for a, b in ((got.accel, ref.accel), (got.gyro, ref.gyro)):
            np.testing.assert_array_equal(a.values, b.values)
            np.testing.assert_array_equal(a.t_s, b.t_s)
    assert errors >= 250  # almost every flip hits checked bytes (page data CRC, metadata sha256)
