"""The consumer half of a DeviceSession on real protocol bytes: decode -> clock -> ring.

No link here (the layer under test is the consumer); the BLE path is tested with emulated
bands in tests/live.
"""

from __future__ import annotations

import numpy as np

from repsense.ingest import DeviceSession, HostClock, driver_for
from repsense.protocols import diy, polar_pmd

RATE = 100.0
N = 10  # samples per frame


def _diy_frames(rng: np.random.Generator, n_frames: int) -> tuple[list[bytes], np.ndarray]:
    acc = rng.uniform(-2, 2, size=(n_frames * N, 3))
    gyr = rng.uniform(-500, 500, size=(n_frames * N, 3))
    frames = [diy.encode_frame(k, 1_000_000 + int(k * N * 1e6 / RATE), acc[k * N:(k + 1) * N], gyr[k * N:(k + 1) * N],
                               sample_rate_hz=RATE) for k in range(n_frames)]
    return frames, acc


def _session(kind: str) -> DeviceSession:
    drv = driver_for(kind, RATE)
    return DeviceSession("D0:5E:00:00:00:01", drv, HostClock())


def test_malformed_and_duplicated_notifications_counted_and_skipped(rng) -> None:
    s = _session("diy")
    uuid = diy.DATA_UUID
    frames, acc = _diy_frames(rng, 40)
    t = 1_000_000_000
    bad = 0
    for k, f in enumerate(frames):
        t += int(N / RATE * 1e9)
        s.handle(t, uuid, f)
        if k % 7 == 3:  # the same notification again (a BLE retransmit / device resend)
            s.handle(t + 1000, uuid, f)
        if k % 9 == 4:  # corrupted copy: one flipped byte breaks the CRC
            broken = bytearray(f)
            broken[20] ^= 0xFF
            s.handle(t + 2000, uuid, bytes(broken))
            bad += 1
        if k % 11 == 5:  # truncated
            s.handle(t + 3000, uuid, f[:9])
            bad += 1
    ring = s.rings["accel"]
    t_ns, vals = ring.read()
    assert vals.shape == (40 * N, 3)  # every good sample exactly once
    np.testing.assert_allclose(vals, diy.quantise(acc, 8).astype(np.float64) * 8 / 32768, atol=1e-6)
    assert (np.diff(t_ns) > 0).all()
    assert s.counters.n_malformed == bad
    assert sum(s.counters.malformed.values()) == bad
    n_dup = len([k for k in range(40) if k % 7 == 3]) * N
    assert s.clocks["accel"].n_duplicate == s.clocks["gyro"].n_duplicate == n_dup
    assert s.n_duplicate == 2 * n_dup  # both streams
    assert s.n_lost == 0
    assert s.rings["gyro"].n_written == 40 * N


def test_lost_frames_become_a_gap_with_counts(rng) -> None:
    s = _session("diy")
    frames, _ = _diy_frames(rng, 30)
    t = 0
    for k, f in enumerate(frames):
        t += int(N / RATE * 1e9)
        if k in (10, 11, 12):
            continue
        s.handle(t, diy.DATA_UUID, f)
    clock = s.clocks["accel"]
    assert len(clock.gaps) == 1 and clock.gaps[0].n_missing == 3 * N
    assert clock.gaps[0].reason == "sequence"
    assert s.rings["accel"].n_written == 27 * N


def test_polar_frames_use_device_time(rng) -> None:
    s = _session("polar_pmd")
    s.driver._config = polar_pmd.PmdConfig(acc_sample_rate_hz=int(RATE))
    acc_mg = rng.integers(-2000, 2000, size=(200, 3))
    t_dev = 800_000_000_000_000_000  # ns since 2000 on the device clock
    host = 5_000_000_000
    for k in range(20):
        last = t_dev + int(((k + 1) * N - 1) * 1e9 / RATE)
        frame = polar_pmd.encode_frame(polar_pmd.MeasurementType.ACC, 0x01, last, acc_mg[k * N:(k + 1) * N])
        host += int(N / RATE * 1e9)
        s.handle(host + int(rng.exponential(5e6)), polar_pmd.DATA_UUID, frame)
    t_ns, vals = s.rings["accel"].read()
    np.testing.assert_array_equal(vals, (acc_mg / 1000.0).astype(np.float32))
    step = np.diff(t_ns).reshape(-1)
    inside = np.ones(step.shape, bool)
    inside[N - 1::N] = False  # steps across frame boundaries
    # within a frame the device's spacing is kept exactly; across frames the offset estimate
    # may still settle by up to the arrival jitter while the lower envelope forms
    assert np.abs(step[inside] - 10_000_000).max() <= 1
    assert (step[~inside] > 0).all() and np.abs(step[~inside] - 10_000_000).max() < 30_000_000
    assert s.counters.n_malformed == 0


def test_polar_lost_frame_is_a_gap_not_stretched_samples(rng) -> None:
    """Polar stamps a frame by its last sample; after a lost frame the SDK rule would spread the
    next frame over two frames' time. The driver rebuilds it at the nominal rate instead."""
    s = _session("polar_pmd")
    s.driver._config = polar_pmd.PmdConfig(acc_sample_rate_hz=int(RATE))
    acc_mg = rng.integers(-2000, 2000, size=(200, 3))
    t_dev = 800_000_000_000_000_000
    host = 5_000_000_000
    for k in range(20):
        last = t_dev + int(((k + 1) * N - 1) * 1e9 / RATE)
        frame = polar_pmd.encode_frame(polar_pmd.MeasurementType.ACC, 0x01, last, acc_mg[k * N:(k + 1) * N])
        host += int(N / RATE * 1e9)
        if k == 8:
            s.handle(host, polar_pmd.DATA_UUID, frame[:7])  # arrives truncated: malformed
            continue
        s.handle(host, polar_pmd.DATA_UUID, frame)
    clock = s.clocks["accel"]
    assert s.counters.n_malformed == 1
    assert len(clock.gaps) == 1 and clock.gaps[0].n_missing == N
    t_ns, _ = s.rings["accel"].read()
    step = np.diff(t_ns)
    assert np.abs(step[np.abs(step - 10_000_000) > 2_000_000] - 110_000_000).max() < 2_000_000  # one 11-period hole
    assert (np.abs(step - 10_000_000) > 2_000_000).sum() == 1
