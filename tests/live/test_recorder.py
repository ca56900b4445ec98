"""DeviceRecorder (ring -> streaming segmenter -> writer) fed through a session's consumer with
real DIY-profile bytes; the BLE link itself is exercised in test_emulated.py."""

from __future__ import annotations

import numpy as np

from repsense.ingest import DeviceSession, HostClock, driver_for
from repsense.live import LiveOptions
from repsense.live.pipeline import DeviceRecorder
from repsense.protocols import diy
from repsense.segment import detect
from repsense.simulate import simulate_session
from repsense.store import read_recording_parquet, read_sessions

RATE = 100.0
N = 10


def test_streamed_session_matches_offline_detection(tmp_path) -> None:
    rec, _ = simulate_session(1, sample_rate_hz=RATE, n_sets=2, rest_s=(20, 30), lead_s=(3, 5), jitter_s=0.0,
                              drops=False)
    acc = rec.accel.values.astype(np.float64)
    q = diy.quantise(acc, 8).astype(np.float64) * 8 / 32768  # what the band can send
    session = DeviceSession("D0:5E:00:00:00:09", driver_for("diy", RATE), HostClock())
    recorder = DeviceRecorder(session, "diy", LiveOptions(out_dir=str(tmp_path), participant="P1", provisional_s=0.0))
    host = 1_000_000_000
    n_frames = acc.shape[0] // N
    for k in range(n_frames):
        sl = slice(k * N, (k + 1) * N)
        frame = diy.encode_frame(k, 5_000_000 + int(k * N * 1e6 / RATE), acc[sl], None, sample_rate_hz=RATE)
        host += int(N / RATE * 1e9)
        session.handle(host + 3_000_000, diy.DATA_UUID, frame)
        if k % 10 == 9:
            recorder.pump()
        if k % 100 == 99:
            recorder.flush()
    det = recorder.finalise()
    orig = detect(rec)
    assert orig.n_reps >= 10
    assert det is not None and len(det.sets) == len(orig.sets) and det.n_reps == orig.n_reps
    # the stored samples are the sent ones, exactly, in order
    parts = sorted((tmp_path / "samples").rglob("*.parquet"))
    assert len(parts) >= n_frames // 100
    stored = read_recording_parquet(parts[0])
    np.testing.assert_array_equal(stored.accel.values, q[:n_frames * N].astype(np.float32))
    np.testing.assert_allclose(np.diff(stored.accel.t_s), 1 / RATE, atol=2e-3)
    # live (streaming) == offline (batch) on the stored samples, exactly
    offline = detect(stored)
    assert [(r.start_s, r.end_s) for r in det.reps] == [(r.start_s, r.end_s) for r in offline.reps]
    # and == offline on the original recording, up to the time base (first sample = origin)
    np.testing.assert_allclose([r.end_s for r in det.reps], [r.end_s - rec.accel.t_s[0] for r in orig.reps], atol=0.05)
    # every final rep was shown in the view (provisionally or when its set closed)
    assert len(recorder.rep_delays_s) == orig.n_reps
    # and most were shown provisionally, before their set closed (4 s of rest later)
    early = sum(1 for r in det.reps
                if any(p and abs(a - r.start_s) < 0.3 and abs(b - r.end_s) < 0.3 for _, a, b, p in recorder.appearances))
    assert early >= orig.n_reps // 2
    s = read_sessions(tmp_path, "sessions").drop(["start_utc", "end_utc", "t0_utc"]).to_pylist()[0]
    assert s["n_reps"] == orig.n_reps and s["n_sets"] == len(orig.sets) and s["n_samples"] == n_frames * N
    assert read_sessions(tmp_path, "reps").num_rows == orig.n_reps
