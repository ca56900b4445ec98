"""Pure parts of the emulator: device clock, replay resampling, fault specs (no radio involved)."""

from __future__ import annotations

import numpy as np
import pytest

from repsense.emulate import ClockJump, DeviceClock, Faults, ReplaySignal, synthetic_recording
from repsense.types import Recording, RecordingMeta, Stream


def test_device_clock_offset_drift_and_jumps():
    clock = DeviceClock(offset_s=100.0, drift_ppm=250.0, jumps=(ClockJump(2.0, -0.5), ClockJump(3.0, 1.0)))
    assert clock.rate_factor == pytest.approx(1.00025)
    assert clock.device_s(0.0) == 100.0
    assert clock.device_s(1.0) == pytest.approx(101.00025)
    assert clock.device_s(2.0) == pytest.approx(102.0005 - 0.5)
    assert clock.device_s(4.0) == pytest.approx(104.001 + 0.5)
    # the band's own grid: sample k at device time k / rate, i.e. true time k / (rate * (1 + drift))
    assert clock.true_s_of_sample(100, 100.0) == pytest.approx(1.0 / 1.00025)
    assert clock.device_s(clock.true_s_of_sample(100, 100.0)) == pytest.approx(101.0)


def test_replay_interpolates_on_the_recording_time_base():
    t_s = np.array([10.0, 10.5, 11.0])  # recordings need not start at 0
    acc = np.array([[0, 0, 1], [1, 0, 1], [0, 2, 1]], dtype=np.float32)
    rec = Recording(accel=Stream(t_s, acc, "g"), meta=RecordingMeta(t0_utc_ns=0))
    sig = ReplaySignal(rec)
    np.testing.assert_allclose(sig.accel_g(np.array([0.0, 0.25, 0.75, 1.0])),
                               [[0, 0, 1], [0.5, 0, 1], [0.5, 1, 1], [0, 2, 1]])
    assert not sig.has_gyro and (sig.gyro_dps(np.array([0.3])) == 0).all()
    assert sig.duration_s == 1.0 and not sig.ended(1.0) and sig.ended(1.01)
    looped = ReplaySignal(rec, loop=True)
    np.testing.assert_allclose(looped.accel_g(np.array([1.25])), [[0.5, 0, 1]])
    assert not looped.ended(1e6)


def test_replay_needs_two_samples():
    rec = Recording(accel=Stream(np.array([0.0]), np.zeros((1, 3), np.float32), "g"), meta=RecordingMeta(t0_utc_ns=0))
    with pytest.raises(ValueError, match="at least 2"):
        ReplaySignal(rec)


def test_synthetic_recording_has_sets_and_rests():
    rec = synthetic_recording(duration_s=40.0, sample_rate_hz=50.0, n_sets=2, reps_per_set=4, rep_s=2.0, rest_s=5.0)
    assert len(rec.accel) == 2000 and rec.sample_rate_hz == pytest.approx(50.0)
    active = np.abs(rec.accel.values[:, 1]) > 1e-6
    edges = np.flatnonzero(np.diff(active.astype(int)))
    assert active[:400].mean() > 0.9 and not active[400:650].any()  # set 1 = 8 s, rest 5 s
    assert not active[1300:].any()  # only 2 sets
    assert len(edges) >= 4


def test_faults_validation_and_stall_window():
    with pytest.raises(ValueError, match="truncate_every"):
        Faults(truncate_every=-1)
    f = Faults(stall_at_s=2.0, stall_for_s=1.5)
    assert [f.stalled(t) for t in (1.9, 2.0, 3.4, 3.5)] == [False, True, True, False]
    assert not Faults().stalled(5.0)
