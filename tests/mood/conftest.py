"""Helpers for mood tests: small hand-made sessions / sets / reps tables written in the store layout."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from repsense.store import atomic_write_table, sanitize_partition_value, schema_for

TS = pa.timestamp("ns", tz="UTC")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def make_sessions(rows: list[dict]) -> pa.Table:
    """Minimal sessions table: session_id, participant, start (datetime), end, n_sets, n_reps, tut_s."""
    return pa.table({
        "session_id": pa.array([r["session_id"] for r in rows], pa.string()),
        "participant": pa.array([r["participant"] for r in rows], pa.string()),
        "start_utc": pa.array([r["start"] for r in rows], TS),
        "end_utc": pa.array([r["end"] for r in rows], TS),
        "n_sets": pa.array([r.get("n_sets", 1) for r in rows], pa.int32()),
        "n_reps": pa.array([r.get("n_reps", 10) for r in rows], pa.int32()),
        "tut_s": pa.array([r.get("tut_s", 30.0) for r in rows], pa.float64()),
    })


def _default(field: pa.Field, n: int, t0: pa.ChunkedArray | None) -> pa.Array:
    if pa.types.is_timestamp(field.type) and t0 is not None:
        return t0.combine_chunks()
    if pa.types.is_string(field.type):
        return pa.array([""] * n, field.type)
    if pa.types.is_boolean(field.type):
        return pa.array([False] * n)
    if pa.types.is_floating(field.type):
        return pa.array([0.0] * n, field.type)
    return pa.array([0] * n, field.type)


def complete(name: str, table: pa.Table) -> pa.Table:
    """``table`` with every column of the store's ``name`` schema (missing ones filled with neutral values)."""
    schema = schema_for(name)
    t0 = table["start_utc"] if "start_utc" in table.column_names else None
    cols = [table[f.name].cast(f.type) if f.name in table.column_names else _default(f, table.num_rows, t0)
            for f in schema]
    return pa.Table.from_arrays(cols, schema=schema)


def write_store_sessions(store: Path, sessions: pa.Table, sets: pa.Table | None = None,
                         reps: pa.Table | None = None) -> None:
    """Write tables as OUT/<table>/participant=<P>/date=<YYYY-MM-DD>/<session_id>.parquet (store contract)."""
    for name, table in (("sessions", sessions), ("sets", sets), ("reps", reps)):
        if table is None:
            continue
        for s in sessions.to_pylist():
            part = table.filter(pc.equal(table["session_id"], s["session_id"]))
            if name != "sessions":
                part = part.append_column("participant", pa.array([s["participant"]] * part.num_rows))
            d = (store / name / f"participant={sanitize_partition_value(s['participant'])}"
                 / f"date={s['start_utc'].date().isoformat()}")
            atomic_write_table(complete(name, part), d / f"{s['session_id']}.parquet")


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return tmp_path / "store"


@pytest.fixture
def h() -> SimpleNamespace:
    """The helpers above, as a fixture (tests run in importlib mode and cannot import conftest)."""
    return SimpleNamespace(utc=utc, make_sessions=make_sessions, write_store_sessions=write_store_sessions, TS=TS)
