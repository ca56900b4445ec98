"""Parquet session store: round trip, dataset tools, idempotence, atomicity, permissions, traversal."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from repsense.errors import EmptyRecordingError, InputError, FormatError, SchemaError
from repsense.store import (
    SCHEMA_VERSION,
    TABLES,
    atomic_write_table,
    hive_partitioning,
    read_recording_parquet,
    read_sessions,
    sanitize_partition_value,
    schema_for,
    write_session,
)
from repsense.types import Recording, RecordingMeta, Stream

from .conftest import T0_NS, make_detection, make_recording

HERE = Path(__file__).resolve().parent


def _plain(t: pa.Table) -> pa.Table:
    """Timestamps as int64 ns (datetime cannot hold nanoseconds)."""
    return t.cast(pa.schema([pa.field(f.name, pa.int64()) if pa.types.is_timestamp(f.type) else f for f in t.schema]))


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# ----------------------------------------------------------------------------- schema


def test_schema_units_and_version() -> None:
    for name in TABLES:
        s = schema_for(name)
        assert s.metadata[b"repsense.schema_version"] == SCHEMA_VERSION.encode()
        assert s.metadata[b"repsense.table"] == name.encode()
        for f in s:
            if f.name.endswith("_s"):
                assert f.metadata[b"unit"] == b"s", f.name
            if f.name.endswith("_utc"):
                assert f.type == pa.timestamp("ns", tz="UTC")
    assert schema_for("sessions").field("sample_rate_hz").metadata[b"unit"] == b"Hz"
    with pytest.raises(SchemaError, match="unknown table"):
        schema_for("nope")


# ----------------------------------------------------------------------------- round trip


def test_round_trip_every_column(tmp_path: Path, recording: Recording) -> None:
    det = make_detection()
    paths = write_session(tmp_path, recording, det)
    t0 = recording.meta.t0_utc_ns

    sessions = read_sessions(tmp_path)
    assert sessions.num_rows == 1
    row = _plain(sessions).to_pylist()[0]
    assert row["session_id"] == paths.session_id and row["participant"] == "A"
    assert row["date"] == "2019-01-14"
    start_ns = t0 + round(recording.accel.t_s[0] * 1e9)
    assert sessions["start_utc"].cast(pa.int64()).to_pylist() == [start_ns]
    assert sessions["end_utc"].cast(pa.int64()).to_pylist() == [t0 + round(recording.accel.t_s[-1] * 1e9)]
    assert sessions["t0_utc"].cast(pa.int64()).to_pylist() == [t0]
    assert row["device_kind"] == "metawear" and row["firmware"] == "1.4.4"
    assert row["source_file"] == "A-bench.csv"  # no folders of this machine in the dataset
    assert len(row["source_sha256"]) == 64 and row["session_id"] == row["source_sha256"][:20]
    assert row["detector_version"] == "test-1"
    assert row["n_samples"] == len(recording.accel) and row["n_gyro_samples"] == len(recording.gyro)
    assert row["n_dropped"] == 3 and row["n_sets"] == 2 and row["n_reps"] == 3
    assert row["tut_s"] == pytest.approx(6.5)
    assert row["gyro_sample_rate_hz"] == pytest.approx(25.0)
    q = json.loads(row["quality_json"])
    assert q["files"][0]["dropped"]["non_numeric"] == {"count": 2, "first_lines": [7, 9]}
    assert q["files"][0]["gaps"] == [[10.0, 12.5]]

    sets = read_sessions(tmp_path, "sets").sort_by("set_index")
    assert sets["set_index"].to_pylist() == [0, 1]
    assert sets["n_reps"].to_pylist() == [2, 1]
    for col in ("start_s", "end_s", "tut_s", "eccentric_s", "concentric_s", "pause_s", "mean_tempo_s"):
        assert sets[col].to_pylist() == [getattr(s, col) for s in det.sets], col
    slow = sets["concentric_slowdown"].to_pylist()
    assert slow[0] == 1.25 and np.isnan(slow[1])
    assert sets["start_utc"].cast(pa.int64()).to_pylist() == [t0 + 900_000_000, t0 + 19_900_000_000]

    reps = read_sessions(tmp_path, "reps").sort_by([("set_index", "ascending"), ("rep_index", "ascending")])
    want = [(i, j, r) for i, s in enumerate(det.sets) for j, r in enumerate(s.reps)]
    assert list(zip(reps["set_index"].to_pylist(), reps["rep_index"].to_pylist(), strict=True)) == [
        (i, j) for i, j, _ in want]
    for col in ("start_s", "end_s", "eccentric_s", "concentric_s", "pause_s", "concentric_first"):
        assert reps[col].to_pylist() == [getattr(r, col) for _, _, r in want], col
    assert reps["end_utc"].cast(pa.int64()).to_pylist() == [t0 + round(r.end_s * 1e9) for _, _, r in want]

    samples = read_sessions(tmp_path, "samples")
    acc = samples.filter(pc.equal(samples["stream"], "accel"))
    gyr = samples.filter(pc.equal(samples["stream"], "gyro"))
    assert acc["x"].type == pa.float32()
    np.testing.assert_array_equal(np.column_stack([acc[c].to_numpy() for c in "xyz"]), recording.accel.values)
    np.testing.assert_array_equal(np.column_stack([gyr[c].to_numpy() for c in "xyz"]), recording.gyro.values)
    np.testing.assert_array_equal(acc["t_utc"].cast(pa.int64()).to_numpy(),
                                  t0 + np.round(recording.accel.t_s * 1e9).astype(np.int64))


def test_read_recording_parquet_round_trip(tmp_path: Path, recording: Recording) -> None:
    paths = write_session(tmp_path, recording, make_detection())
    back = read_recording_parquet(paths.samples[0])
    np.testing.assert_array_equal(back.accel.values, recording.accel.values)  # float32, bit-exact
    np.testing.assert_array_equal(back.gyro.values, recording.gyro.values)
    assert back.accel.values.dtype == np.float32 and back.accel.t_s.dtype == np.float64
    assert np.max(np.abs(back.accel.t_s - recording.accel.t_s)) <= 0.6e-9  # stored to the nanosecond
    assert np.max(np.abs(back.gyro.t_s - recording.gyro.t_s)) <= 0.6e-9
    assert back.accel.unit == "g" and back.gyro.unit == "deg/s"
    assert back.meta.t0_utc_ns == T0_NS and back.meta.device_kind == "metawear"
    assert back.meta.firmware == "1.4.4" and back.meta.participant == "A"
    assert back.meta.session_id == paths.session_id
    assert back.meta.extra["mac"] == "C4:27:32:BE:25:5C"
    assert back.reports[0].dropped == recording.reports[0].dropped
    assert back.reports[0].gaps == recording.reports[0].gaps
    assert back.n_dropped == recording.n_dropped
    # writing what was read back gives the same session and the same sample rows
    out2 = tmp_path / "again"
    paths2 = write_session(out2, back, make_detection())
    assert paths2.session_id == paths.session_id
    assert pq.read_table(paths2.samples[0]).equals(pq.read_table(paths.samples[0]))


def test_samples_split_in_parts_and_stale_parts_removed(tmp_path: Path, rng: np.random.Generator) -> None:
    rec = make_recording(rng, n=1000)  # 1000 accel + 2000 gyro rows
    paths = write_session(tmp_path, rec, make_detection(), samples_rows_per_part=700)
    assert [p.name for p in paths.samples] == [f"{paths.session_id}-part-{k:05d}.parquet" for k in range(5)]
    back = read_recording_parquet(paths.samples[3])  # any part reads the whole session
    np.testing.assert_array_equal(back.accel.values, rec.accel.values)
    np.testing.assert_array_equal(back.gyro.values, rec.gyro.values)
    assert read_sessions(tmp_path, "samples").num_rows == 3000
    # rewritten as one file: the five parts disappear, no duplicate rows
    paths1 = write_session(tmp_path, rec, make_detection())
    assert [p.name for p in paths1.samples] == [f"{paths.session_id}.parquet"]
    assert sorted(p.name for p in paths1.samples[0].parent.iterdir()) == [f"{paths.session_id}.parquet"]
    assert read_sessions(tmp_path, "samples").num_rows == 3000


def test_recording_without_gyro_and_without_sets(tmp_path: Path, rng: np.random.Generator) -> None:
    rec = make_recording(rng, gyro=False, participant="")
    det = make_detection()
    det = type(det)(sets=(), sample_rate_hz=12.5, detector_version="v")
    paths = write_session(tmp_path, rec, det)
    assert "participant=unknown" in paths.sessions.as_posix()
    row = _plain(read_sessions(tmp_path)).to_pylist()[0]
    assert row["participant"] == "unknown" and row["n_sets"] == 0 and row["gyro_sample_rate_hz"] is None
    assert read_sessions(tmp_path, "sets").num_rows == 0 and read_sessions(tmp_path, "reps").num_rows == 0
    assert read_recording_parquet(paths.samples[0]).gyro is None


def test_empty_recording_refused(tmp_path: Path) -> None:
    rec = Recording(accel=Stream(np.zeros(0), np.zeros((0, 3), np.float32), "g"), meta=RecordingMeta(t0_utc_ns=0))
    with pytest.raises(EmptyRecordingError):
        write_session(tmp_path, rec, make_detection())
    assert not any(tmp_path.rglob("*.parquet"))


def test_read_sessions_empty_store(tmp_path: Path) -> None:
    t = read_sessions(tmp_path, "sets")
    assert t.num_rows == 0 and "set_index" in t.column_names and "date" in t.column_names


# ----------------------------------------------------------------------------- other tools


def test_pyarrow_duckdb_polars_open_dataset_as_is(tmp_path: Path, rng: np.random.Generator) -> None:
    for participant, day in (("A", 0), ("B", 0), ("A", 3)):
        rec = make_recording(rng, participant=participant, t0_ns=T0_NS + day * 86_400 * 10**9)
        write_session(tmp_path, rec, make_detection())
    sets = ds.dataset(tmp_path / "sets", format="parquet", partitioning="hive").to_table()
    assert sets.num_rows == 6
    assert sorted(set(zip(sets["participant"].to_pylist(), sets["date"].to_pylist(), strict=True))) == [
        ("A", "2019-01-14"), ("A", "2019-01-17"), ("B", "2019-01-14")]

    con = duckdb.connect()
    got = con.sql(f"select participant, cast(date as varchar) d, sum(n_reps) r from read_parquet("
                  f"'{tmp_path}/sets/**/*.parquet', hive_partitioning=true) group by all order by all").fetchall()
    assert got == [("A", "2019-01-14", 3), ("A", "2019-01-17", 3), ("B", "2019-01-14", 3)]
    n = con.sql(f"select count(*) from read_parquet('{tmp_path}/samples/**/*.parquet', hive_partitioning=true) "
                "where stream = 'gyro'").fetchall()[0][0]
    assert n == 3 * 1000

    df = pl.scan_parquet(str(tmp_path / "reps" / "**" / "*.parquet"), hive_partitioning=True).collect()
    assert df.height == 9 and set(df["participant"].to_list()) == {"A", "B"}
    assert str(df.schema["start_utc"]) == "Datetime(time_unit='ns', time_zone='UTC')"


def test_numeric_participant_ids_stay_strings(tmp_path: Path, rng: np.random.Generator) -> None:
    write_session(tmp_path, make_recording(rng, participant="007"), make_detection())
    assert read_sessions(tmp_path)["participant"].to_pylist() == ["007"]
    t = ds.dataset(tmp_path / "sessions", format="parquet", partitioning=hive_partitioning()).to_table()
    assert t["participant"].to_pylist() == ["007"]


# ----------------------------------------------------------------------------- idempotence


_WRITE_SCRIPT = textwrap.dedent("""
    import sys
    import numpy as np
    sys.path.insert(0, sys.argv[2])
    from conftest import make_detection, make_recording
    from repsense.store import write_session
    write_session(sys.argv[1], make_recording(np.random.default_rng(0)), make_detection())
""")


def test_same_input_twice_same_files_same_bytes(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_session(out, make_recording(np.random.default_rng(0)), make_detection())
    first = _files(out)
    write_session(out, make_recording(np.random.default_rng(0)), make_detection())
    assert _files(out) == first
    assert read_sessions(out).num_rows == 1
    # another process (other pid, other clock) writes the very same bytes
    other = tmp_path / "other"
    subprocess.run([sys.executable, "-c", _WRITE_SCRIPT, str(other), str(HERE)], check=True, timeout=60)
    assert _files(other) == first


# ----------------------------------------------------------------------------- atomicity


def test_error_mid_write_leaves_no_file(tmp_path: Path, recording: Recording, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real = pq.ParquetWriter.write_table

    def fail_on_second_row_group(self, table, row_group_size=None):  # type: ignore[no-untyped-def]
        calls.append(table.num_rows)
        if len(calls) == 2:
            raise OSError("disk full (simulated)")
        return real(self, table, row_group_size=row_group_size)

    monkeypatch.setattr(pq.ParquetWriter, "write_table", fail_on_second_row_group)
    monkeypatch.setattr("repsense.store.parquet._ROW_GROUP_ROWS", 400)  # 1500 rows -> 4 row groups
    with pytest.raises(OSError, match="disk full"):
        write_session(tmp_path, recording, make_detection())
    assert len(calls) == 2  # the failure came half way through the samples file
    assert list(tmp_path.rglob("*.parquet")) == [] and list(tmp_path.rglob("*.tmp")) == []
    monkeypatch.undo()
    write_session(tmp_path, recording, make_detection())
    assert read_sessions(tmp_path).num_rows == 1


def test_error_before_sessions_row_leaves_no_session(tmp_path: Path, recording: Recording,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    real = pq.write_table

    def fail_for_sessions(table, where, **kw):  # type: ignore[no-untyped-def]
        if table.schema.metadata.get(b"repsense.table") == b"sessions":
            Path(where).write_bytes(b"PAR1 half a file")
            raise OSError("disk full (simulated)")
        return real(table, where, **kw)

    monkeypatch.setattr(pq, "write_table", fail_for_sessions)
    with pytest.raises(OSError, match="disk full"):
        write_session(tmp_path, recording, make_detection())
    assert not list((tmp_path / "sessions").rglob("*.parquet")) and not list(tmp_path.rglob("*.tmp"))
    assert not list((tmp_path / "_manifest").glob("*"))  # not resumable as done
    for p in tmp_path.rglob("*.parquet"):  # what was written before is whole
        pq.read_table(p)


_SLOW_WRITER = textwrap.dedent("""
    import sys, numpy as np
    sys.path.insert(0, sys.argv[2])
    from conftest import make_detection, make_recording
    from repsense.store import write_session
    rec = make_recording(np.random.default_rng(1), n=400_000)
    print("ready", flush=True)
    write_session(sys.argv[1], rec, make_detection(), samples_rows_per_part=20_000)
""")


def test_sigkill_during_write_leaves_only_whole_files(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-c", _SLOW_WRITER, str(out), str(HERE)], stdout=subprocess.PIPE)
    assert proc.stdout is not None and proc.stdout.readline().strip() == b"ready"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(list(out.rglob("*.parquet"))) < 3:
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    proc.stdout.close()
    written = list(out.rglob("*.parquet"))
    assert 3 <= len(written) < 60, "kill landed outside the write"
    for p in written:  # every visible file is complete
        pq.read_table(p)
    assert not list((out / "sessions").rglob("*.parquet")) if (out / "sessions").exists() else True
    ds.dataset(out / "samples", format="parquet", partitioning="hive").to_table()  # ignores hidden *.tmp
    # a rerun completes and cleans up
    subprocess.run([sys.executable, "-c", _SLOW_WRITER, str(out), str(HERE)], check=True, timeout=120,
                   stdout=subprocess.DEVNULL)
    assert list(out.rglob("*.tmp")) == []
    assert read_sessions(out, "samples").num_rows == 1_200_000
    assert read_sessions(out).num_rows == 1


def test_atomic_write_table_replaces(tmp_path: Path) -> None:
    p = tmp_path / "x" / "t.parquet"
    atomic_write_table(pa.table({"a": [1]}), p)
    atomic_write_table(pa.table({"a": [2, 3]}), p)
    assert pq.read_table(p)["a"].to_pylist() == [2, 3]
    assert sorted(x.name for x in p.parent.iterdir()) == ["t.parquet"]


# ----------------------------------------------------------------------------- privacy


def test_permissions_private(tmp_path: Path, recording: Recording) -> None:
    old = os.umask(0o022)  # even with a permissive umask
    try:
        paths = write_session(tmp_path / "out", recording, make_detection())
    finally:
        os.umask(old)
    out = tmp_path / "out"
    for p in out.rglob("*"):
        mode = stat.S_IMODE(p.stat().st_mode)
        assert mode == (0o700 if p.is_dir() else 0o600), (p, oct(mode))
    assert paths.manifest.is_file()


@pytest.mark.parametrize("pid", ["../x", "/abs", "..", ".", "a/../../b", "x\x00y", "p=q", "%2E%2E", "ü ber", "-rf",
                                 "a" * 180])
def test_participant_cannot_escape(tmp_path: Path, rng: np.random.Generator, pid: str) -> None:
    out = tmp_path / "out"
    paths = write_session(out, make_recording(rng, participant=pid), make_detection())
    root = out.resolve()
    for p in [*paths.all, paths.manifest]:
        assert root in p.resolve().parents
    for table in TABLES:
        part_dirs = list((out / table).iterdir())
        assert len(part_dirs) == 1 and part_dirs[0].name.startswith("participant=")
        seg = part_dirs[0].name.removeprefix("participant=")
        assert "/" not in seg and "\x00" not in seg and not seg.startswith(".") and len(seg) <= 180
    assert sorted(x.name for x in tmp_path.iterdir()) == ["out"]
    assert read_sessions(out)["participant"].to_pylist() == [pid]  # exact value kept in the column
    con = duckdb.connect()
    got = con.sql(f"select participant from read_parquet('{out}/sessions/**/*.parquet', hive_partitioning=true)")
    assert got.fetchall() == [(pid,)]


def test_too_long_participant_refused(tmp_path: Path, rng: np.random.Generator) -> None:
    with pytest.raises(InputError, match="too long"):
        write_session(tmp_path, make_recording(rng, participant="a" * 181), make_detection())
    assert not any(tmp_path.rglob("*.parquet"))


def test_sanitize_is_injective_on_tricky_values() -> None:
    vals = ["a/b", "a%2Fb", "a_2Fb", "..", "%2E.", ".", "", "unknown", "A", "a"]
    encoded = [sanitize_partition_value(v) for v in vals if v != ""]  # "" is "unknown" by contract
    assert len(set(encoded)) == len(encoded)
    assert sanitize_partition_value("") == "unknown"
    assert sanitize_partition_value("P-01_x.y") == "P-01_x.y"


def test_pseudonymize_hook(tmp_path: Path, recording: Recording) -> None:
    import hashlib
    import hmac

    def pseudo(pid: str) -> str:
        return hmac.new(b"key", pid.encode(), hashlib.sha256).hexdigest()[:16]

    paths = write_session(tmp_path, recording, make_detection(), pseudonymize=pseudo)
    assert paths.participant == pseudo("A") != "A"
    assert read_sessions(tmp_path)["participant"].to_pylist() == [pseudo("A")]
    blobs = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
    assert b"participant=A" not in blobs and b'"participant":"A"' not in blobs
    assert not list(tmp_path.rglob("participant=A"))


# ----------------------------------------------------------------------------- bad files


def test_truncated_and_corrupt_files_named(tmp_path: Path, recording: Recording) -> None:
    paths = write_session(tmp_path / "out", recording, make_detection())
    data = paths.samples[0].read_bytes()
    bad = tmp_path / "trunc.parquet"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(FormatError, match="trunc.parquet"):
        read_recording_parquet(bad)
    junk = tmp_path / "junk.parquet"
    junk.write_bytes(b"not parquet at all\n" * 10)
    with pytest.raises(FormatError, match="junk.parquet"):
        read_recording_parquet(junk)


def test_wrong_version_and_missing_columns(tmp_path: Path, recording: Recording) -> None:
    paths = write_session(tmp_path / "out", recording, make_detection())
    t = pq.read_table(paths.samples[0])
    meta = dict(t.schema.metadata)
    meta[b"repsense.schema_version"] = b"999"
    old = tmp_path / "v999.parquet"
    pq.write_table(t.replace_schema_metadata(meta), old)
    with pytest.raises(SchemaError, match=r"v999\.parquet.*999"):
        read_recording_parquet(old)
    missing = tmp_path / "noz.parquet"
    pq.write_table(t.drop_columns(["z"]), missing)
    with pytest.raises(SchemaError, match=r"noz\.parquet.*missing column.*z"):
        read_recording_parquet(missing)
    plain = tmp_path / "plain.parquet"
    pq.write_table(pa.table({"x": [1.0]}), plain)
    with pytest.raises(SchemaError, match="plain.parquet.*not a repsense"):
        read_recording_parquet(plain)
    # a foreign file inside the dataset is refused by read_sessions, naming it
    (paths.sessions.parent / "zz.parquet").write_bytes(old.read_bytes())
    with pytest.raises(SchemaError, match="zz.parquet"):
        read_sessions(tmp_path / "out")


def test_read_recording_parquet_interleaved_rows(tmp_path: Path, recording: Recording) -> None:
    """A samples file whose accel and gyro rows are interleaved (e.g. sorted by time by another tool)."""
    paths = write_session(tmp_path / "out", recording, make_detection())
    t = pq.read_table(paths.samples[0])
    mixed = t.sort_by("t_utc")
    assert mixed["stream"].to_pylist() != t["stream"].to_pylist()  # really interleaved
    f = tmp_path / "mixed.parquet"
    pq.write_table(mixed.replace_schema_metadata(t.schema.metadata), f)
    back = read_recording_parquet(f)
    np.testing.assert_array_equal(back.accel.values, recording.accel.values)
    np.testing.assert_array_equal(back.gyro.values, recording.gyro.values)
    assert np.max(np.abs(back.gyro.t_s - recording.gyro.t_s)) <= 0.6e-9
