"""Live session writer and repair on real Parquet files (no BLE here)."""

from __future__ import annotations

import json
import os
import stat

import numpy as np
import pyarrow.compute as pc

from repsense.live import LiveSessionWriter, SessionInfo, find_unfinished, live_session_id, repair
from repsense.segment import detect
from repsense.simulate import simulate_session
from repsense.store import read_recording_parquet, read_sessions
from repsense.types import Detection

T0 = 1_764_000_000_123_000_000


def _signal(n: int, rate: float) -> tuple[np.ndarray, np.ndarray]:
    """A simulated session (2 sets) on an even grid, cut to ``n`` samples."""
    rec, _ = simulate_session(1, sample_rate_hz=rate, n_sets=2, rest_s=(20, 30), lead_s=(3, 5), jitter_s=0.0,
                              drops=False)
    assert len(rec.accel) >= n
    return np.arange(n) / rate, rec.accel.values[:n].astype(np.float32)


def _info(tmp_path) -> SessionInfo:
    sid = live_session_id("D0:5E:00:00:00:07", T0)
    return SessionInfo(session_id=sid, participant="P01", date="2025-11-24", t0_utc_ns=T0, device_kind="diy",
                       address="D0:5E:00:00:00:07", sample_rate_hz=100.0)


def test_parts_readable_before_finalise_then_repair(tmp_path) -> None:
    rate = 100.0
    t_s, acc = _signal(6600, rate)
    t_ns = T0 + np.round(t_s * 1e9).astype(np.int64)
    w = LiveSessionWriter.open(tmp_path, _info(tmp_path))
    marker = w.marker
    assert marker.is_file() and find_unfinished(tmp_path) == [marker]
    for lo in range(0, 6000, 500):  # 12 flushes; the last 600 samples never reach disk (the "crash")
        w.add_samples("accel", t_ns[lo:lo + 500], acc[lo:lo + 500])
        w.add_samples("gyro", t_ns[lo:lo + 500], acc[lo:lo + 500] * 100)
        w.flush({"streams": {"accel": {"n_received": lo + 500, "n_kept": lo + 500,
                                        "dropped": {"duplicate": 3}, "gaps": []}}})
    w.add_samples("accel", t_ns[6000:], acc[6000:])  # queued, never flushed
    del w  # killed: no finalise
    # every flushed sample reads back exactly, through the store's own reader
    rec = read_recording_parquet(next((tmp_path / "samples").rglob("*-part-00000.parquet")))
    assert len(rec.accel) == 6000 and len(rec.gyro) == 6000
    np.testing.assert_array_equal(rec.accel.values, acc[:6000])
    np.testing.assert_array_equal(rec.meta.t0_utc_ns + np.round(rec.accel.t_s * 1e9).astype(np.int64), t_ns[:6000])
    table = read_sessions(tmp_path, "samples")
    assert table.num_rows == 12000
    assert read_sessions(tmp_path, "sessions").num_rows == 0
    files = list((tmp_path / "samples").rglob("*.parquet"))
    assert len(files) == 12
    assert all(stat.S_IMODE(os.stat(f).st_mode) == 0o600 for f in files)

    results = repair(tmp_path)
    assert [r.status for r in results] == ["finalised"]
    assert not marker.exists() and find_unfinished(tmp_path) == []
    sessions = read_sessions(tmp_path, "sessions")
    assert sessions.num_rows == 1
    row = sessions.drop(["start_utc", "end_utc", "t0_utc"]).to_pylist()[0]
    want = detect(rec)
    assert row["n_samples"] == 6000 and row["n_gyro_samples"] == 6000
    assert row["n_reps"] == want.n_reps and want.n_reps >= 5
    assert row["n_dropped"] == 3
    q = json.loads(row["quality_json"])
    assert q["files"][0]["dropped"]["duplicate"]["count"] == 3 and q["live"]["repaired"] is True
    reps = read_sessions(tmp_path, "reps")
    np.testing.assert_allclose(sorted(reps.column("end_s").to_pylist()), [r.end_s for r in want.reps])
    manifest = json.loads((tmp_path / "_manifest" / f"{row['session_id']}.json").read_text())
    assert len(manifest["files"]) == 12 + 3
    assert repair(tmp_path) == []  # nothing left to do


def test_clean_finalise_writes_sets_reps_sessions(tmp_path) -> None:
    t_s, acc = _signal(6600, 100.0)
    t_ns = T0 + np.round(t_s * 1e9).astype(np.int64)
    w = LiveSessionWriter.open(tmp_path, _info(tmp_path))
    w.add_samples("accel", t_ns, acc)
    det = detect(t_s, acc)
    w.write_detection(det.sets)  # as sets complete
    assert read_sessions(tmp_path, "sets").num_rows == len(det.sets)
    w.finalise(Detection(det.sets, 100.0, "test"), {"streams": {}})
    sessions = read_sessions(tmp_path, "sessions")
    s = sessions.drop(["start_utc", "end_utc", "t0_utc"]).to_pylist()[0]
    assert s["n_reps"] == det.n_reps >= 10 and s["detector_version"] == "test"
    assert sessions.column("start_utc").cast("int64").to_pylist() == [T0]
    sets = read_sessions(tmp_path, "sets", filter=pc.field("participant") == "P01")
    assert sets.num_rows == len(det.sets)
    assert find_unfinished(tmp_path) == []


def test_repair_leaves_a_running_session_alone(tmp_path) -> None:
    import subprocess
    import sys

    t_s, acc = _signal(1000, 100.0)
    info = _info(tmp_path)
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        info.pid = child.pid  # written by another live process that is still running
        w = LiveSessionWriter.open(tmp_path, info)
        w.add_samples("accel", T0 + np.round(t_s * 1e9).astype(np.int64), acc)
        w.flush()
        assert [r.status for r in repair(tmp_path)] == ["running"]
        assert find_unfinished(tmp_path) == [w.marker]
    finally:
        child.kill()
        child.wait()
    assert [r.status for r in repair(tmp_path)] == ["finalised"]  # its writer died: finalise
