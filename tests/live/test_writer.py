"""Live session writer and repair on real Parquet files (no BLE here)."""

from __future__ import annotations

import json
import os
import stat

import numpy as np
import pyarrow.compute as pc

from repsense.live import LiveSessionWriter, SessionInfo, find_unfinished, live_session_id, repair
from repsense.segment import detect
from repsense.store import read_recording_parquet, read_sessions
from repsense.types import Detection

T0 = 1_764_000_000_123_000_000


def _signal(n: int, rate: float) -> tuple[np.ndarray, np.ndarray]:
    """A curl-like signal: rest, 8 reps at 0.4 Hz, rest."""
    t_s = np.arange(n) / rate
    active = (t_s > 5) & (t_s < 25)
    swing = np.where(active, 0.5 * (1 - np.cos(2 * np.pi * 0.4 * (t_s - 5))), 0.0)
    acc = np.stack([0.05 * np.sin(t_s), 0.6 * swing, 1.0 - 0.3 * swing], axis=1).astype(np.float32)
    return t_s, acc


def _info(tmp_path) -> SessionInfo:
    sid = live_session_id("D0:5E:00:00:00:07", T0)
    return SessionInfo(session_id=sid, participant="P01", date="2025-11-24", t0_utc_ns=T0, device_kind="diy",
                       address="D0:5E:00:00:00:07", sample_rate_hz=100.0)


def test_parts_readable_before_finalise_then_repair(tmp_path) -> None:
    rate = 100.0
    t_s, acc = _signal(3500, rate)
    t_ns = T0 + np.round(t_s * 1e9).astype(np.int64)
    w = LiveSessionWriter.open(tmp_path, _info(tmp_path))
    marker = w.marker
    assert marker.is_file() and find_unfinished(tmp_path) == [marker]
    for lo in range(0, 3000, 250):  # 12 flushes; the last 500 samples never reach disk (the "crash")
        w.add_samples("accel", t_ns[lo:lo + 250], acc[lo:lo + 250])
        w.add_samples("gyro", t_ns[lo:lo + 250], acc[lo:lo + 250] * 100)
        w.flush({"streams": {"accel": {"n_received": lo + 250, "n_kept": lo + 250,
                                        "dropped": {"duplicate": 3}, "gaps": []}}})
    w.add_samples("accel", t_ns[3000:], acc[3000:])  # queued, never flushed
    del w  # killed: no finalise
    # every flushed sample reads back exactly, through the store's own reader
    rec = read_recording_parquet(next((tmp_path / "samples").rglob("*-part-00000.parquet")))
    assert len(rec.accel) == 3000 and len(rec.gyro) == 3000
    np.testing.assert_array_equal(rec.accel.values, acc[:3000])
    np.testing.assert_array_equal(rec.meta.t0_utc_ns + np.round(rec.accel.t_s * 1e9).astype(np.int64), t_ns[:3000])
    table = read_sessions(tmp_path, "samples")
    assert table.num_rows == 6000
    assert read_sessions(tmp_path, "sessions").num_rows == 0
    files = list((tmp_path / "samples").rglob("*.parquet"))
    assert len(files) == 12
    assert all(stat.S_IMODE(os.stat(f).st_mode) == 0o600 for f in files)

    results = repair(tmp_path)
    assert [r.status for r in results] == ["finalised"]
    assert not marker.exists() and find_unfinished(tmp_path) == []
    sessions = read_sessions(tmp_path, "sessions")
    assert sessions.num_rows == 1
    row = sessions.to_pylist()[0]
    want = detect(rec)
    assert row["n_samples"] == 3000 and row["n_gyro_samples"] == 3000
    assert row["n_reps"] == want.n_reps and want.n_reps >= 6
    assert row["n_dropped"] == 3
    q = json.loads(row["quality_json"])
    assert q["files"][0]["dropped"]["duplicate"]["count"] == 3 and q["live"]["repaired"] is True
    reps = read_sessions(tmp_path, "reps")
    np.testing.assert_allclose(sorted(reps.column("end_s").to_pylist()), [r.end_s for r in want.reps])
    manifest = json.loads((tmp_path / "_manifest" / f"{row['session_id']}.json").read_text())
    assert len(manifest["files"]) == 12 + 3
    assert repair(tmp_path) == []  # nothing left to do


def test_clean_finalise_writes_sets_reps_sessions(tmp_path) -> None:
    t_s, acc = _signal(3500, 100.0)
    t_ns = T0 + np.round(t_s * 1e9).astype(np.int64)
    w = LiveSessionWriter.open(tmp_path, _info(tmp_path))
    w.add_samples("accel", t_ns, acc)
    det = detect(t_s, acc)
    w.write_detection(det.sets)  # as sets complete
    assert read_sessions(tmp_path, "sets").num_rows == len(det.sets)
    w.finalise(Detection(det.sets, 100.0, "test"), {"streams": {}})
    s = read_sessions(tmp_path, "sessions").to_pylist()[0]
    assert s["n_reps"] == det.n_reps and s["detector_version"] == "test"
    assert abs(s["start_utc"].timestamp() - T0 / 1e9) < 1e-6
    sets = read_sessions(tmp_path, "sets", filter=pc.field("participant") == "P01")
    assert sets.num_rows == len(det.sets)
    assert find_unfinished(tmp_path) == []
