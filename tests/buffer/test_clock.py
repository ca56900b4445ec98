"""StreamClock: drift and offset from one-sided jittered arrivals, gaps, duplicates, reconnects."""

from __future__ import annotations

import numpy as np
import pytest

from repsense.buffer import StreamClock

RATE = 200.0
PER_NOTIF = 8
T0_UTC = 1_700_000_000_000_000_000


def simulate(rng: np.random.Generator, *, drift_ppm: float, seconds: float, lost: set[int] = frozenset(),
             jitter_ms: float = 15.0):
    """Yield (host_ns, device_ns[8], seq, true_utc_ns[8]) for a device whose clock runs at 1+drift.

    Device time starts at an arbitrary epoch (Polar: ns since 2000); the true UTC of a sample is
    T0_UTC + its device time scaled by the drift. Delays are one-sided: 7.5 ms + exponential jitter.
    """
    n_notif = int(seconds * RATE / PER_NOTIF)
    dev_epoch = 5_000_000_000_000
    for k in range(n_notif):
        idx = k * PER_NOTIF + np.arange(PER_NOTIF)
        dev = dev_epoch + np.round(idx * 1e9 / RATE).astype(np.int64)
        true_utc = T0_UTC + np.round(idx * 1e9 / RATE * (1 + drift_ppm * 1e-6)).astype(np.int64)
        if k in lost:
            continue
        delay = 7.5e6 + rng.exponential(jitter_ms * 1e6)
        yield int(true_utc[-1] + delay), dev, k % 256, true_utc


@pytest.mark.parametrize("drift_ppm", [-50.0, 0.0, 50.0])
def test_device_clock_drift_and_offset(rng, drift_ppm: float) -> None:
    clock = StreamClock(RATE, device_time=True, seq_modulo=256)
    errs = []
    for host, dev, seq, true_utc in simulate(rng, drift_ppm=drift_ppm, seconds=300):
        st = clock.stamp(host, PER_NOTIF, dev, seq)
        assert st.first_kept == 0
        errs.append(st.t_utc_ns - true_utc)
    err = np.concatenate(errs[-200:]) / 1e6  # last ~8 s, after the fit settled
    # biased late by about the minimum latency (7.5 ms) plus the envelope's floor, and stable
    assert 6.0 < err.mean() < 10.0, err.mean()
    assert err.std() < 0.5
    assert abs(clock.drift_ppm - drift_ppm) < 5.0, clock.drift_ppm
    assert clock.gaps == [] and clock.n_lost == 0 and clock.n_duplicate == 0
    assert clock.n_samples == 300 * RATE


def test_sample_spacing_kept_exactly_for_device_time(rng) -> None:
    clock = StreamClock(RATE, device_time=True)
    out = np.concatenate([clock.stamp(h, PER_NOTIF, d).t_utc_ns
                          for h, d, _, _ in simulate(rng, drift_ppm=20, seconds=60)])
    assert (np.diff(out) > 0).all()
    step = np.abs(np.diff(out) - 5_000_100)  # 5 ms at +20 ppm
    # the device's spacing is kept; refits move the mapping by < 1 ms once (drift switched on at
    # 20 s), then by < 0.25 ms per window
    assert step[200:].max() < 1_000_000
    assert step[6000:].max() < 250_000
    assert np.median(step[6000:]) < 1000


def test_lost_notifications_become_gaps(rng) -> None:
    lost = {100, 101, 500}
    clock = StreamClock(RATE, device_time=True, seq_modulo=256)
    for host, dev, seq, _ in simulate(rng, drift_ppm=10, seconds=30, lost=lost):
        clock.stamp(host, PER_NOTIF, dev, seq)
    assert [g.n_missing for g in clock.gaps] == [16, 8]
    assert clock.n_lost == 24
    assert all(g.reason == "sequence" for g in clock.gaps)
    g = clock.gaps[0]
    assert abs((g.end_utc_ns - g.start_utc_ns) - 17 * 5e6) < 1e6  # the fit is still settling at 4 s


def test_duplicates_dropped_and_counted(rng) -> None:
    clock = StreamClock(RATE, device_time=True)
    notifs = list(simulate(rng, drift_ppm=0, seconds=2))
    kept = []
    for i, (host, dev, _, _) in enumerate(notifs):
        st = clock.stamp(host, PER_NOTIF, dev)
        kept.append(st.t_utc_ns)
        if i % 5 == 0:  # the same notification delivered twice
            again = clock.stamp(host + 1000, PER_NOTIF, dev)
            assert again.t_utc_ns.size == 0 and again.first_kept == PER_NOTIF
    # a partly overlapping resend keeps only the new tail
    host, dev, _, _ = notifs[-1]
    over = np.concatenate([dev[4:], dev[-1] + np.arange(1, 5) * 5_000_000])
    st = clock.stamp(host + 20_000_000, PER_NOTIF, over)
    assert st.first_kept == 4 and st.t_utc_ns.size == 4
    assert clock.n_duplicate == (len(notifs) + 4) // 5 * PER_NOTIF + 4
    assert clock.n_samples == len(notifs) * PER_NOTIF + 4
    assert clock.gaps == []


def test_counter_clock_spreads_arrivals_and_tracks_drift(rng) -> None:
    """No device time: synthetic counter at the nominal rate, drift from the envelope fit."""
    clock = StreamClock(RATE, device_time=False)
    errs = []
    for host, _, _, true_utc in simulate(rng, drift_ppm=-50, seconds=300):
        errs.append(clock.stamp(host, PER_NOTIF).t_utc_ns - true_utc)
    err = np.concatenate(errs[-200:]) / 1e6
    assert 6.0 < err.mean() < 10.0 and err.std() < 0.5
    assert abs(clock.drift_ppm - (-50)) < 5.0
    assert clock.gaps == []


def test_counter_clock_detects_lost_notifications_by_arrival(rng) -> None:
    lost = set(range(1000, 1050))  # 2 s of notifications lost mid-stream, no sequence numbers
    clock = StreamClock(RATE, device_time=False, arrival_gap_s=1.0)
    out = []
    truth = []
    for host, _, _, true_utc in simulate(rng, drift_ppm=0, seconds=60, lost=lost):
        out.append(clock.stamp(host, PER_NOTIF).t_utc_ns)
        truth.append(true_utc)
    assert len(clock.gaps) == 1 and clock.gaps[0].reason == "arrival"
    assert abs(clock.gaps[0].n_missing - 400) <= 4  # within the arrival jitter
    # samples after the gap land at their true time again
    assert np.abs(out[-1] - truth[-1]).max() < 40e6


def test_reconnect_gap_counter_and_device(rng) -> None:
    for device_time in (True, False):
        clock = StreamClock(RATE, device_time=device_time)
        notifs = list(simulate(rng, drift_ppm=0, seconds=20))
        for i, (host, dev, _, _) in enumerate(notifs):
            if 200 <= i < 250:  # 2 s outage
                if i == 200:
                    clock.mark_disconnect()
                continue
            clock.stamp(host, PER_NOTIF, dev if device_time else None)
        assert len(clock.gaps) == 1, device_time
        gap = clock.gaps[0]
        assert gap.reason == "disconnect"
        tol = 1 if device_time else 8  # counter clocks only know arrival times
        assert abs(gap.n_missing - 400) <= tol, (device_time, gap.n_missing)


def test_device_reboot_during_outage_restarts_epoch(rng) -> None:
    clock = StreamClock(RATE, device_time=True)
    notifs = list(simulate(rng, drift_ppm=0, seconds=10))
    for host, dev, _, _ in notifs[:100]:
        clock.stamp(host, PER_NOTIF, dev)
    clock.mark_disconnect()
    reboot = notifs[150:]
    for host, dev, _, _ in reboot:
        st = clock.stamp(host, PER_NOTIF, dev - 4_000_000_000_000)  # device clock reset
        assert st.t_utc_ns.size == PER_NOTIF
    assert len(clock.gaps) == 1 and clock.gaps[0].reason == "disconnect"
    assert clock.n_duplicate == 0


def test_speed_rescales_host_time(rng) -> None:
    """An emulated device replayed 10x: stamps keep the recording's own spacing."""
    clock = StreamClock(RATE, device_time=False, speed=10.0)
    out = []
    for k in range(500):
        host = T0_UTC + int((k + 1) * PER_NOTIF * 5e6 / 10) + int(rng.exponential(1e6))
        out.append(clock.stamp(host, PER_NOTIF).t_utc_ns)
    t = np.concatenate(out)
    assert abs(np.median(np.diff(t)) - 5e6) < 1e4
    assert clock.gaps == []


def test_counter_clock_host_stall_then_burst_is_not_a_gap(rng) -> None:
    """The host stalls 2 s; the stack then delivers the buffered notifications in a burst."""
    clock = StreamClock(RATE, device_time=False)  # arrival gaps off by default
    out, truth = [], []
    for k, (host, _, _, true_utc) in enumerate(simulate(rng, drift_ppm=0, seconds=60)):
        if 1000 <= k < 1050:  # delivered at the end of the stall, 0.1 ms apart
            host = max(host, int(true_utc[-1] - (k - 1000) * 1e5 + 2.2e9) - int((1050 - k) * 8 * 5e6))
        out.append(clock.stamp(host, PER_NOTIF).t_utc_ns)
        truth.append(true_utc)
    assert clock.gaps == [] and clock.n_lost == 0
    assert clock.n_late > 0
    err = np.concatenate(out[1100:]) - np.concatenate(truth[1100:])
    assert np.abs(err / 1e6).max() < 40  # still on time after the burst


@pytest.mark.parametrize("step_s", [2.0, -1.5])
def test_device_clock_step_with_consecutive_sequence_is_no_gap_and_no_duplicate(rng, step_s: float) -> None:
    """The device clock steps (resync/reset) while sequence numbers run on: nothing was lost or
    repeated, so every sample is kept and the time line stays continuous."""
    clock = StreamClock(RATE, device_time=True, seq_modulo=256)
    out, truth = [], []
    for k, (host, dev, seq, true_utc) in enumerate(simulate(rng, drift_ppm=0, seconds=30)):
        if k >= 300:
            dev = dev + int(step_s * 1e9)
        st = clock.stamp(host, PER_NOTIF, dev, seq)
        assert st.first_kept == 0 and st.t_utc_ns.size == PER_NOTIF
        out.append(st.t_utc_ns)
        truth.append(true_utc)
    assert clock.gaps == [] and clock.n_duplicate == 0 and clock.n_lost == 0
    assert len(clock.clock_jumps) == 1 and abs(clock.clock_jumps[0][1] - step_s * 1e9) < 2 * 5e6
    err = (np.concatenate(out) - np.concatenate(truth)) / 1e6
    assert np.abs(err[2400:]).max() < 40  # after the step: still on time (ms)
    assert (np.diff(np.concatenate(out)) > 0).all()


def _shift_seq(notifs: list, start: int) -> list:
    """The same notifications with sequence numbers starting at ``start`` (u8, wrapping)."""
    return [(h, d, (start + k) % 256, u) for k, (h, d, _, u) in enumerate(notifs)]


@pytest.mark.parametrize("device_time", [True, False])
@pytest.mark.parametrize("seq0", [0, 255])  # 255: the swapped pair straddles the u8 wrap-around
def test_swapped_first_two_frames_are_reported_missing_not_duplicate(rng, device_time: bool, seq0: int) -> None:
    """Frames 1, 0, 2, 3, ...: frame 0 was never stored nor announced by a gap, so it is reported
    missing (it cannot be placed before samples already stamped); it is not a duplicate."""
    notifs = _shift_seq(list(simulate(rng, drift_ppm=0, seconds=1)), seq0)
    order = [notifs[1], notifs[0], *notifs[2:]]
    clock = StreamClock(RATE, device_time=device_time, seq_modulo=256)
    stored = 0
    for k, (host, dev, seq, _) in enumerate(order):
        st = clock.stamp(host, PER_NOTIF, dev if device_time else None, seq)
        stored += st.t_utc_ns.size
        if k == 1:
            assert st.t_utc_ns.size == 0 and st.first_kept == PER_NOTIF
    assert stored == (len(notifs) - 1) * PER_NOTIF
    assert clock.n_duplicate == 0
    assert clock.n_lost == PER_NOTIF
    assert [(g.n_missing, g.reason) for g in clock.gaps] == [(PER_NOTIF, "sequence")]
    g = clock.gaps[0]
    assert g.start_utc_ns < g.end_utc_ns  # the gap lies before the first stored sample
    # and a second copy of that frame is now a duplicate, not a second loss
    host, dev, seq, _ = notifs[0]
    clock.stamp(host + 10**9, PER_NOTIF, dev if device_time else None, seq)
    assert clock.n_duplicate == PER_NOTIF and clock.n_lost == PER_NOTIF


def test_late_frame_inside_reported_gap_is_not_a_duplicate(rng) -> None:
    """Frames ..., 9, 11, 10, 12: the gap for 10 is reported when 11 arrives; the late 10 is then
    dropped (stamps never step back) and counted as late, not as a duplicate nor a second loss."""
    notifs = list(simulate(rng, drift_ppm=0, seconds=1))
    order = [*notifs[:10], notifs[11], notifs[10], *notifs[12:]]
    clock = StreamClock(RATE, device_time=True, seq_modulo=256)
    for host, dev, seq, _ in order:
        clock.stamp(host, PER_NOTIF, dev, seq)
    assert clock.n_lost == PER_NOTIF and [g.n_missing for g in clock.gaps] == [PER_NOTIF]
    assert clock.n_late_dropped == PER_NOTIF
    assert clock.n_duplicate == 0
    assert clock.n_samples == (len(notifs) - 1) * PER_NOTIF


def test_real_duplicates_still_dropped_across_sequence_wraparound(rng) -> None:
    """A frame whose sequence number was already stored stays a duplicate, also after the u8
    sequence wraps several times (frames re-sent one and three frames late)."""
    notifs = list(simulate(rng, drift_ppm=0, seconds=12))  # 300 frames: wraps at 256
    assert len(notifs) > 256
    clock = StreamClock(RATE, device_time=False, seq_modulo=256)  # only the seq can tell
    n_dup = 0
    for k, (host, _, seq, _) in enumerate(notifs):
        clock.stamp(host, PER_NOTIF, None, seq)
        if k >= 3 and k % 7 == 0:
            for back in (1, 3):
                st = clock.stamp(host + 1000, PER_NOTIF, None, notifs[k - back][2])
                assert st.t_utc_ns.size == 0
                n_dup += PER_NOTIF
    assert clock.n_duplicate == n_dup
    assert clock.n_lost == 0 and clock.gaps == [] and clock.n_late_dropped == 0
    assert clock.n_samples == len(notifs) * PER_NOTIF
