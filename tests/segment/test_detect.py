"""Detector behaviour: synthetic reps, simulated sessions, rest, properties, streaming == batch."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from repsense.errors import InputError, SamplingRateError
from repsense.segment import DETECTOR_VERSION, DetectorConfig, RepSegmenter, detect
from repsense.types import Detection


def sine_reps(n_reps: int, rate_hz: float, *, period_s: float = 2.5, travel_m: float = 0.45, lead_s: float = 8.0,
              tail_s: float = 8.0, seed: int = 0, tilt_deg: float = 30.0, noise_g: float = 0.01):
    """Wrist moving a bar up and down ``n_reps`` times (raised-cosine path), sensor tilted.

    Returns t_s, accel_g (n, 3) float32 and the true (start_s, end_s) of each rep.
    """
    rng = np.random.default_rng(seed)
    dur = lead_s + n_reps * period_s + tail_s
    t = np.arange(0, dur, 1 / rate_hz)
    t = t + rng.uniform(-0.2, 0.2, t.shape) / rate_hz  # jitter
    u = np.clip((t - lead_s) / period_s, 0, n_reps)
    # bench-like: start at the top, go down and back up each rep: z = -travel/2 (1 - cos 2 pi u)
    w = 2 * np.pi / period_s
    inside = (u > 0) & (u < n_reps)
    a_up = np.where(inside, -(travel_m / 2) * w * w * np.cos(2 * np.pi * u), 0.0) / 9.80665
    tilt = math.radians(tilt_deg)
    up = np.array([math.sin(tilt), 0.0, math.cos(tilt)])
    acc = (1.0 + a_up)[:, None] * up[None, :] + rng.normal(0, noise_g, (t.shape[0], 3))
    truth = [(lead_s + i * period_s, lead_s + (i + 1) * period_s) for i in range(n_reps)]
    return t, acc.astype(np.float32), truth


@pytest.mark.parametrize("rate_hz", [12.5, 25.0, 50.0, 100.0, 200.0])
@pytest.mark.parametrize("n_reps", [5, 10])
def test_sine_reps_counted_at_every_rate(rate_hz, n_reps):
    t, acc, truth = sine_reps(n_reps, rate_hz)
    det = detect(t, acc)
    assert isinstance(det, Detection) and det.detector_version == DETECTOR_VERSION
    assert len(det.sets) == 1
    s = det.sets[0]
    assert s.n_reps == n_reps
    # docs/TUT.md: a rep starts when the displacement leaves a band of still_rel x travel
    # around the start level; for a raised cosine that is theta / 2 pi of a period after the
    # true top, 1 - cos(theta) = 2 still_rel, and it ends as much before the next top.
    frac = math.acos(1 - 2 * DetectorConfig().still_rel) / (2 * math.pi)
    lag_s = frac * 2.5
    for rep, (t0, t1) in zip(s.reps, truth):
        assert abs(rep.start_s - (t0 + lag_s)) < 0.2 and abs(rep.end_s - (t1 - lag_s)) < 0.2
        assert not rep.concentric_first  # starts at the top: eccentric first
    assert s.tut_s == pytest.approx(n_reps * 2.5 * (1 - 2 * frac), rel=0.05)
    assert s.eccentric_s == pytest.approx(s.concentric_s, rel=0.05)


def test_gaps_drops_and_uneven_sampling_do_not_change_the_count(rng):
    t, acc, _ = sine_reps(8, 50.0, seed=3)
    keep = rng.random(t.shape[0]) > 0.2  # 20 % dropped samples
    keep[1000:1040] = False  # a 0.8 s hole inside the set
    det = detect(t[keep], acc[keep])
    assert det.n_reps == 8


@pytest.mark.parametrize("hole_s, hidden", [(0.9, 0), (2.4, 1), (4.6, 2)])
def test_reps_lost_in_a_signal_hole_are_estimated_from_the_rhythm(hole_s, hidden):
    t, acc, truth = sine_reps(10, 25.0, seed=4)  # one rep every 2.5 s
    h0 = truth[4][0] + 0.2
    keep = (t < h0) | (t > h0 + hole_s)
    det = detect(t[keep], acc[keep])
    assert len(det.sets) == 1
    s = det.sets[0]
    assert s.n_reps_in_gaps == hidden
    assert s.n_reps == len(s.reps) + hidden and det.n_reps == s.n_reps
    assert abs(s.n_reps - 10) <= 1  # the rhythm restores the count the hole hid
    assert s.tut_s == pytest.approx(sum(r.duration_s for r in s.reps))  # estimated reps are not timed
    off = detect(t[keep], acc[keep], config=DetectorConfig(hole_min_s=0.0))
    assert off.sets[0].n_reps_in_gaps == 0 and off.sets[0].reps == s.reps


def _cycles(rate_hz: float, periods_s: list[float], travel_m: float = 0.4, wait_s: float = 0.5):
    """Still, then one raised-cosine down-up cycle per period (``wait_s`` apart), then still."""
    rng = np.random.default_rng(0)
    parts = [np.zeros(int(8 * rate_hz))]
    for p in periods_s:
        u = np.arange(int(p * rate_hz)) / int(p * rate_hz)
        parts += [-travel_m / 2 * (1 - np.cos(2 * np.pi * u)), np.zeros(int(wait_s * rate_hz))]
    z = np.concatenate([*parts, np.zeros(int(8 * rate_hz))])
    t = np.arange(z.shape[0]) / rate_hz
    a_up = np.gradient(np.gradient(z, 1 / rate_hz), 1 / rate_hz) / 9.80665
    up = np.array([0.3, -0.2, 0.93]) / np.linalg.norm([0.3, -0.2, 0.93])
    acc = (1 + a_up)[:, None] * up + rng.normal(0, 0.01, (z.shape[0], 3))
    return t, acc.astype(np.float32)


@pytest.mark.parametrize("periods_s, expect", [([2.0, 2.4, 2.8], [3]), ([1.5, 2.0, 2.6, 3.0], [4]),
                                               ([1.2, 4.5, 1.2], []), ([1.2, 4.5, 1.2, 1.3], [])])
def test_a_short_set_needs_one_tempo(periods_s, expect):
    t, acc = _cycles(50.0, periods_s)
    assert [s.n_reps for s in detect(t, acc).sets] == expect
    # without the tempo test (and the inner-move split, which also catches a 4.5 s move
    # between 1.2 s ones), the unrelated movements of 1.1 s and 5.2 s did pass as a set
    loose = detect(t, acc, config=DetectorConfig(short_set_duration_ratio=1e9, inner_duration_ratio=0.0))
    assert [s.n_reps for s in loose.sets] == [len(periods_s)]
    loose = detect(t, acc, config=DetectorConfig(short_set_duration_ratio=1e9))
    assert [s.n_reps for s in loose.sets] == ([] if max(periods_s) > 3 * min(periods_s) else [len(periods_s)])
    assert [s.n_reps for s in detect(t, acc, config=DetectorConfig(inner_duration_ratio=0.0)).sets] == expect


def _set_with_handling(after_m: tuple[float, ...], rate_hz: float = 50.0):
    """Still, six squats (0.4 m down and up, 2 s, 0.5 s waits at the top), then handling
    steps of ``after_m`` metres (1.2 s each, 1.5 s apart), then still."""
    def step(h):
        u = np.arange(int(1.2 * rate_hz)) / int(1.2 * rate_hz)
        return h * (u - np.sin(2 * np.pi * u) / (2 * np.pi))
    u = np.arange(int(2.0 * rate_hz)) / int(2.0 * rate_hz)
    parts, level = [np.zeros(int(6 * rate_hz))], 0.0
    for _ in range(6):
        parts += [-0.2 * (1 - np.cos(2 * np.pi * u)), np.zeros(int(0.5 * rate_hz))]
    for h in after_m:
        parts += [np.full(int(1.5 * rate_hz), level), level + step(h)]
        level += h
    z = np.concatenate([*parts, np.full(int(8 * rate_hz), level)])
    a_up = np.gradient(np.gradient(z, 1 / rate_hz), 1 / rate_hz) / 9.80665
    up = np.array([0.3, -0.2, 0.93]) / np.linalg.norm([0.3, -0.2, 0.93])
    acc = (1 + a_up)[:, None] * up + np.random.default_rng(1).normal(0, 0.01, (z.shape[0], 3))
    return np.arange(z.shape[0]) / rate_hz, acc.astype(np.float32)


def test_the_rest_end_is_read_over_the_sets_span_not_the_stretchs_edges():
    # re-racking after the set (the bar up 0.2 m onto the hooks, then the hands down 0.2 m)
    # ends the active stretch on a minimum; counted over the whole stretch, the minima then
    # tie the maxima and the last one decides: the squats were cut bottom to bottom
    t, acc = _set_with_handling((0.2, -0.2))
    whole = detect(t, acc, config=DetectorConfig(boundary_span_ratio=0.0)).sets
    # (cut at the wrong end, the count depends on how much of the re-rack the stretch takes
    # in: 6 with a set finder opening at 0.06 g, 7 at 0.04 g)
    assert [s.reps[0].concentric_first for s in whole] == [True]
    sets = detect(t, acc).sets
    assert [(s.n_reps, s.reps[0].concentric_first) for s in sets] == [(6, False)]
    # each rep now runs top to bottom to top: it starts with the descent
    assert all(r.eccentric_s > 0.5 and r.concentric_s > 0.5 for r in sets[0].reps)
    assert abs(sets[0].reps[0].start_s - 6.0) < 0.3
    # without handling both counts agree
    t, acc = _set_with_handling(())
    assert [(s.n_reps, s.reps[0].concentric_first) for s in detect(t, acc).sets] == [(6, False)]


def test_a_hole_in_the_rest_adds_no_reps():
    t, acc, _ = sine_reps(6, 25.0, seed=5, tail_s=12.0)  # set ends at 23 s
    keep = (t < 26.0) | (t > 29.5)
    det = detect(t[keep], acc[keep])
    assert [s.n_reps for s in det.sets] == [6] and det.sets[0].n_reps_in_gaps == 0


def test_rest_gives_no_reps(rng):
    t = np.arange(0, 120, 0.02)
    acc = np.tile([0.1, 0.2, 0.97], (t.shape[0], 1)) + rng.normal(0, 0.01, (t.shape[0], 3))
    # occasional single gestures (lift a bottle twice, well apart)
    for c in (30.0, 80.0):
        m = (t > c) & (t < c + 1.5)
        acc[m, 2] += 0.3 * np.sin(np.pi * (t[m] - c) / 1.5)
    assert detect(t, acc.astype(np.float32)).n_reps == 0


def _check_properties(det: Detection):
    prev_end = -math.inf
    for s in det.sets:
        assert s.start_s >= prev_end
        assert s.tut_s <= s.end_s - s.start_s + 1e-9
        assert s.tut_s == pytest.approx(sum(r.duration_s for r in s.reps))
        assert s.concentric_s + s.eccentric_s + s.pause_s == pytest.approx(s.tut_s, abs=1e-6)
        for r in s.reps:
            assert s.start_s <= r.start_s < r.end_s <= s.end_s
            assert r.start_s >= prev_end - 1e-9
            assert min(r.eccentric_s, r.concentric_s, r.pause_s) >= -1e-9
            assert r.eccentric_s + r.concentric_s + r.pause_s == pytest.approx(r.duration_s, abs=1e-6)
            prev_end = r.end_s


def test_properties_and_time_shift_invariance():
    from repsense.simulate import simulate_session

    rec, _ = simulate_session(3, sample_rate_hz=50.0, n_sets=2)
    det = detect(rec)
    _check_properties(det)
    shift = 1234.5
    t = rec.accel.t_s + shift
    det2 = detect(t, rec.accel.values)
    assert det2.n_reps == det.n_reps
    for a, b in zip(det.reps, det2.reps):
        assert b.start_s - shift == pytest.approx(a.start_s, abs=1e-6)
        assert b.end_s - shift == pytest.approx(a.end_s, abs=1e-6)


def _iou(a0, a1, b0, b1):
    inter = max(0.0, min(a1, b1) - max(a0, b0))
    return inter / (max(a1, b1) - min(a0, b0))


def test_simulated_sessions_sets_and_counts():
    """Simulate-and-assert on the other helper's generator (not tuned on these seeds)."""
    from repsense.simulate import simulate_session

    matched = total = within1 = false_sets = 0
    tut_err = []
    for seed in range(100, 106):
        rec, truth = simulate_session(seed, sample_rate_hz=50.0, n_sets=3)
        det = detect(rec)
        _check_properties(det)
        used = set()
        for ts in truth.sets:
            total += 1
            scores = [(_iou(ts.start_s, ts.end_s, d.start_s, d.end_s), j) for j, d in enumerate(det.sets)]
            best = max(scores, default=(0.0, -1))
            if best[0] >= 0.5 and best[1] not in used:
                used.add(best[1])
                matched += 1
                d = det.sets[best[1]]
                within1 += abs(d.n_reps - ts.n_reps) <= 1
                tut_err.append(abs(d.tut_s - ts.tut_s) / ts.tut_s)
        false_sets += len(det.sets) - len(used)
    # Regression guard at the level measured with detector 1.4 on these seeds (17/18 sets
    # matched, 2 false sets from lively rests, 12/17 within one rep, median TUT error 10 %);
    # the issue-3 targets are reported by `repsense bench`, not asserted here.
    assert matched >= 0.85 * total
    assert false_sets <= 3
    assert within1 >= 0.7 * matched
    assert np.median(tut_err) < 0.15


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cuts=st.lists(st.integers(1, 10**9), min_size=0, max_size=12), seed=st.integers(0, 2),
       checkpoint_s=st.sampled_from([0.0, 2.0]))
def test_streaming_equals_batch_under_any_chunking(cuts, seed, checkpoint_s):
    from repsense.simulate import simulate_session

    rec, _ = _SIM[seed] if seed in _SIM else _SIM.setdefault(seed, simulate_session(seed, sample_rate_hz=25.0, n_sets=2))
    t, a = rec.accel.t_s, rec.accel.values
    # signal holes of 0.5-4.5 s (reps are estimated in them; must not depend on the chunking)
    holes = (t % 37.0 > 20.0) & (t % 37.0 < 20.5 + (t // 37.0) % 9 * 0.5)
    t, a = t[~holes], a[~holes]
    n = t.shape[0]
    cfg = DetectorConfig(checkpoint_s=checkpoint_s)
    batch = detect(t, a, config=cfg)
    seg = RepSegmenter(sample_rate_hz=25.0, config=cfg)
    edges = [0, *sorted({c % n for c in cuts if c % n}), n]
    got = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        got += seg.update(t[lo:hi], a[lo:hi])
    got += seg.finish()
    assert tuple(got) == batch.sets
    assert seg.n_buffered <= seg._keep
    assert len(seg.emitted_at_s_) == len(got)
    assert all(e >= s.end_s for s, e in zip(got, seg.emitted_at_s_))


_SIM: dict = {}


def test_sets_are_emitted_before_the_activity_stops():
    """Checkpoints: a set followed by restless moving is emitted within ~15 s of its end."""
    t, acc, truth = sine_reps(6, 50.0, tail_s=0.5)
    rng = np.random.default_rng(2)
    t_rest = t[-1] + 0.02 + np.arange(0, 90, 0.02)
    wobble = np.tile([0.5, 0.0, 0.87], (t_rest.shape[0], 1)) + rng.normal(0, 0.12, (t_rest.shape[0], 3))
    cfg = DetectorConfig(checkpoint_s=2.0)
    seg = RepSegmenter(sample_rate_hz=50.0, config=cfg)
    got = seg.update(t, acc)
    for lo in range(0, t_rest.shape[0], 50):
        got += seg.update(t_rest[lo:lo + 50], wobble[lo:lo + 50])
    assert [s.n_reps for s in got] == [6]
    assert seg.emitted_at_s_[0] - got[0].end_s < 16.0
    assert seg.emitted_at_s_[0] - got[0].end_s >= cfg.max_inter_rep_s + cfg.max_rep_s
    # without checkpoints (the default) the restless rest keeps the set open to the end
    plain = RepSegmenter(sample_rate_hz=50.0)
    assert plain.update(np.r_[t, t_rest], np.r_[acc, wobble]) == []
    assert [s.n_reps for s in plain.finish()] == [6]


def test_streaming_memory_is_bounded():
    cfg = DetectorConfig(max_set_s=60.0)
    seg = RepSegmenter(sample_rate_hz=50.0, config=cfg)
    rng = np.random.default_rng(1)
    t0 = 0.0
    for _ in range(40):  # 40 blocks of 60 s of continuous movement = 40 min
        t = t0 + np.arange(0, 60, 0.02)
        acc = np.tile([0.0, 0.0, 1.0], (t.shape[0], 1)) + rng.normal(0, 0.3, (t.shape[0], 3))
        seg.update(t, acc)
        t0 = t[-1] + 0.02
        assert seg.n_buffered <= (cfg.max_set_s + cfg.pre_roll_s + cfg.min_rest_s) * cfg.grid_rate_hz + 2


def test_input_validation():
    t = np.arange(10) * 0.02
    with pytest.raises(InputError, match="not finite"):
        detect(t, np.full((10, 3), np.nan))
    with pytest.raises(InputError, match="strictly increase"):
        detect(t[::-1].copy(), np.zeros((10, 3)))
    with pytest.raises(InputError, match="no samples"):
        detect(np.empty(0), np.empty((0, 3)))
    with pytest.raises(InputError):
        detect(t, np.zeros((10, 3)), np.zeros((9, 3)))
    with pytest.raises(SamplingRateError):
        RepSegmenter(sample_rate_hz=0.5)
    with pytest.raises(InputError):
        DetectorConfig(band_low_hz=2.0, band_high_hz=1.0)
    with pytest.raises(InputError):
        DetectorConfig(exit_g=0.5)


def test_detect_recording_uses_its_streams():
    from repsense.simulate import simulate_session

    rec, _ = simulate_session(5, sample_rate_hz=25.0, n_sets=1)
    assert detect(rec).sets == detect(rec.accel.t_s, rec.accel.values).sets


def _gestures(rate_hz: float, gestures: list[tuple[float, float, float]], seed: int):
    """A rest: still, then per ``(still_s, dur_s, amp_m)`` that long still and one vertical
    sin^2 bump (up for a positive ``amp_m``), then still; upright sensor, 0.015 g noise."""
    parts = [np.zeros(int(10 * rate_hz))]
    for still_s, dur_s, amp_m in gestures:
        parts += [np.zeros(int(still_s * rate_hz)), amp_m * np.sin(np.linspace(0, np.pi, int(dur_s * rate_hz))) ** 2]
    z = np.concatenate([*parts, np.zeros(int(10 * rate_hz))])
    t = np.arange(z.shape[0]) / rate_hz
    a_up = np.gradient(np.gradient(z, 1 / rate_hz), 1 / rate_hz) / 9.80665
    acc = (1 + a_up)[:, None] * np.array([0.0, 0.0, 1.0]) + np.random.default_rng(seed).normal(0, 0.015, (z.shape[0], 3))
    return t, acc.astype(np.float32)


def test_a_short_set_keeps_one_tempo_once_cut_to_its_movements():
    # four isolated gestures in a rest, 3-6 s apart: between turning points the "reps" take
    # in the stillness around the gestures and pass the tempo test; cut to their movement
    # they last 0.6 s next to 3.6-5.7 s, which no set does
    t, acc = _gestures(50.0, [(3.7, 1.3, 0.21), (5.4, 0.9, -0.16), (3.2, 0.66, 0.29), (5.7, 0.65, 0.29)], 42)
    assert detect(t, acc).n_reps == 0
    loose = detect(t, acc, config=DetectorConfig(short_set_duration_ratio=1e9))
    assert [s.n_reps for s in loose.sets] == [3]
    dur = [r.duration_s for r in loose.sets[0].reps]
    assert max(dur) > 3 * min(dur)


def _min_jerk(n: int) -> np.ndarray:
    """``n`` samples of the minimum-jerk profile 0 -> 1 (``repsense.simulate.min_jerk``)."""
    from repsense.simulate import min_jerk

    return min_jerk(np.linspace(0.0, 1.0, n))[0]


def _upright_sensor(z_m: np.ndarray, rate_hz: float):
    """``t, acc``: an upright accelerometer moved vertically along ``z_m`` (m, sampled at
    ``rate_hz``), 0.005 g noise (seed 5), float32."""
    t = np.arange(z_m.shape[0]) / rate_hz
    acc = np.zeros((t.shape[0], 3))
    acc[:, 2] = 1.0 + np.gradient(np.gradient(z_m, t), t) / 9.80665
    acc += np.random.default_rng(5).normal(0, 0.005, acc.shape)
    return t, acc.astype(np.float32)


def _uneven_reps(ecc_s: float, con_s: float, wait_s: float, n_reps: int = 8, rate_hz: float = 50.0):
    """Squat-like reps resting at the top: lowered (min-jerk) in ``ecc_s``, lifted in ``con_s``,
    a wait of ``wait_s`` at the top between reps; vertical sensor, 0.005 g noise."""
    travel_m = 0.5
    parts = [np.zeros(int(4 * rate_hz))]
    for _ in range(n_reps):
        down = -travel_m * _min_jerk(int(ecc_s * rate_hz))
        up = -travel_m + travel_m * _min_jerk(int(con_s * rate_hz))
        parts += [down, up, np.zeros(int(wait_s * rate_hz))]
    parts.append(np.zeros(int(6 * rate_hz)))
    return _upright_sensor(np.concatenate(parts), rate_hz)


def _dead_stop_reps(con_s: float, ecc_s: float, wait_s: float, n_reps: int = 9, rate_hz: float = 50.0):
    """Deadlift-like reps from the floor: lifted (min-jerk) in ``con_s``, lowered in ``ecc_s``,
    then ``wait_s`` on the floor before the next; vertical sensor, 0.005 g noise."""
    return _dead_stop_reps_waits(con_s, ecc_s, [wait_s] * n_reps, rate_hz)


def _dead_stop_reps_waits(con_s: float, ecc_s: float, waits_s: list[float], rate_hz: float = 50.0):
    """:func:`_dead_stop_reps` with its own wait after each rep."""
    travel_m = 0.5
    parts = [np.zeros(int(4 * rate_hz))]
    for wait_s in waits_s:
        parts += [travel_m * _min_jerk(int(con_s * rate_hz)), travel_m - travel_m * _min_jerk(int(ecc_s * rate_hz)),
                  np.zeros(int(wait_s * rate_hz))]
    parts.append(np.zeros(int(6 * rate_hz)))
    return _upright_sensor(np.concatenate(parts), rate_hz)


_KNOWN_FLOOR_WAIT_MISS = pytest.mark.xfail(strict=True, raises=AssertionError, reason=(
    "known limit (docs/ACCURACY.md): a 5.4 s rep cycle (2.4 s of lifting, 3 s on the floor) is below the "
    "displacement's 0.2 Hz band edge; its turning points stop following the reps (8 of 9 counted)"))


@pytest.mark.parametrize("wait_s", [0.5, 1.5, 2.5, pytest.param(3.0, marks=_KNOWN_FLOOR_WAIT_MISS)])
def test_dead_stop_reps_with_waits_on_the_floor_are_counted(wait_s):
    # nine 1.2 s up / 1.2 s down pulls with a reset on the floor between every rep
    t, acc = _dead_stop_reps(1.2, 1.2, wait_s)
    det = detect(t, acc)
    assert det.n_reps == 9 and det.sets[0].reps[0].concentric_first


def test_a_dead_stop_sets_first_rep_is_judged_without_its_reset():
    # the displacement sags through each reset, so every rep is cut from its pull to the end of
    # the reset after it; the inner reps are judged by their still-trimmed duration, and the
    # first rep looked twice as long as them (2.3 s of pulling, then a 2.5 s reset) and was
    # dropped as unlike. Its reset is now passed over too, as the inner reps' resets are as long
    t, acc = _dead_stop_reps(1.0, 1.5, 2.5)
    assert detect(t, acc).n_reps == 9
    assert detect(t, acc, config=DetectorConfig(edge_wait_s=0.0)).n_reps == 8
    # a long wait after the first rep alone, with brief resets after the others, is not passed
    # over: an un-rack and a set-up pause before the set look the same, and passing over such
    # waits counted those moves (simulated sessions: exact counts -2.3 points). The price: a
    # lifter who pauses 3 s after the first rep only loses that rep
    t, acc = _dead_stop_reps_waits(1.0, 1.5, [3.0] + [0.4] * 8)
    assert detect(t, acc).n_reps == 8
    assert detect(t, acc, config=DetectorConfig(edge_wait_ratio=0.0)).n_reps == 9


def _pulls_then_a_tilted_move(tilt_deg: float, n_reps: int = 6, rate_hz: float = 50.0):
    """``n_reps`` pulls from a hanging rest (0.8 s up 0.35 m, 1.2 s down, 0.4 s pause) with the
    sensor upright, then the same move once more with the forearm tilted by ``tilt_deg``
    (turned over 0.4 s before it: putting the weight down); 0.005 g noise."""
    pull = np.concatenate([0.35 * _min_jerk(int(0.8 * rate_hz)), 0.35 - 0.35 * _min_jerk(int(1.2 * rate_hz)),
                           np.zeros(int(0.4 * rate_hz))])
    z_m = np.concatenate([np.zeros(int(4 * rate_hz))] + [pull] * (n_reps + 1) + [np.zeros(int(6 * rate_hz))])
    tilt = np.zeros(z_m.shape[0])
    tilt[int(4 * rate_hz) + n_reps * pull.shape[0]:] = np.radians(tilt_deg)
    w = int(0.4 * rate_hz)
    tilt = np.convolve(np.pad(tilt, w, mode="edge"), np.ones(w) / w, mode="same")[w:-w]
    t = np.arange(z_m.shape[0]) / rate_hz
    up_g = 1.0 + np.gradient(np.gradient(z_m, t), t) / 9.80665
    acc = np.stack([np.sin(tilt) * up_g, np.zeros_like(up_g), np.cos(tilt) * up_g], axis=1)
    acc += np.random.default_rng(3).normal(0, 0.005, acc.shape)
    return t, acc.astype(np.float32)


@pytest.mark.parametrize("tilt_deg", [0.0, 5.0, 10.0, 20.0, 30.0])
def test_an_edge_move_in_another_posture_is_not_a_rep(tilt_deg):
    # the put-down move has the reps' duration, travel and rotation; only the forearm's
    # posture tells it from them (15 deg apart at most, DetectorConfig.edge_posture_deg)
    t, acc = _pulls_then_a_tilted_move(tilt_deg)
    assert detect(t, acc).n_reps == (6 if tilt_deg > 15.0 else 7)
    assert detect(t, acc, config=DetectorConfig(edge_posture_deg=0.0)).n_reps == 7


_KNOWN_SPLIT_MISS = pytest.mark.xfail(strict=True, reason="known limit (docs/ACCURACY.md): with a slow descent and a "
                                      "short wait the high-passed velocity still leans the split ~25 % towards the eccentric")


@pytest.mark.parametrize("ecc_s, con_s, wait_s", [(2.4, 1.0, 1.2), (1.2, 2.2, 0.8), (2.0, 1.0, 0.8), (1.0, 1.0, 1.0),
                                                  pytest.param(1.6, 1.0, 0.5, marks=_KNOWN_SPLIT_MISS),
                                                  pytest.param(2.4, 1.0, 0.5, marks=_KNOWN_SPLIT_MISS)])
def test_phase_split_follows_the_velocity_when_the_tempo_is_uneven(ecc_s, con_s, wait_s):
    # docs/TUT.md "Phases and pause": the high-passed displacement moves its turning point
    # towards the wait; the split must follow the velocity, not that point (detector 1.6.0,
    # which cut the phases at the turning point, was off by 59, 27, 48 and 7 % here).
    det = detect(*_uneven_reps(ecc_s, con_s, wait_s))
    assert len(det.sets) == 1 and det.sets[0].n_reps >= 7  # see the xfail below for the 8th
    s = det.sets[0]
    share = s.concentric_s / (s.concentric_s + s.eccentric_s)
    assert share == pytest.approx(con_s / (con_s + ecc_s), rel=0.10)


def test_a_long_wait_at_the_top_keeps_every_rep():
    # 8 slow reps (2.4 s down, 1.0 s up) after 4 s of stillness, 1.2 s waits at the top: the
    # displacement sags through each wait, so each inner rep is cut from the end of the lift
    # before it (the tail of that movement, then the wait) and looked 4.4 s long next to the
    # first rep's 2.3 s, which was dropped as unlike; their duration is now read past that tail
    t, acc = _uneven_reps(2.4, 1.0, 1.2)
    det = detect(t, acc)
    assert det.n_reps == 8 and not det.sets[0].reps[0].concentric_first
    assert detect(t, acc, config=DetectorConfig(edge_tail_s=0.0)).n_reps == 7
