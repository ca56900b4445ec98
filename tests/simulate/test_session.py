"""simulate_session: determinism, label consistency, physics sanity and the sensor nuisances."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from repsense.simulate import EXERCISES, SensorRanges, simulate_corpus, simulate_session, simulate_set
from repsense.simulate.motion import axis_angle
from repsense.types import Recording

G0 = 9.80665


def _arrays(rec: Recording) -> list[np.ndarray]:
    out = [rec.accel.t_s, rec.accel.values]
    if rec.gyro is not None:
        out += [rec.gyro.t_s, rec.gyro.values]
    return out


def test_same_seed_gives_identical_output() -> None:
    rec1, truth1 = simulate_session(11, n_sets=2, rest_s=(30.0, 40.0))
    rec2, truth2 = simulate_session(11, n_sets=2, rest_s=(30.0, 40.0))
    for a, b in zip(_arrays(rec1), _arrays(rec2), strict=True):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    assert truth1.sets == truth2.sets
    assert truth1.activities == truth2.activities
    assert rec1.meta == rec2.meta
    rec3, truth3 = simulate_session(12, n_sets=2, rest_s=(30.0, 40.0))
    assert truth3.sets != truth1.sets
    assert rec3.accel.values.shape != rec1.accel.values.shape or not np.array_equal(
        rec3.accel.values, rec1.accel.values
    )


def test_ideal_and_noisy_sensor_share_the_motion() -> None:
    _, ideal = simulate_session(5, n_sets=1, ideal_sensor=True)
    _, noisy = simulate_session(5, n_sets=1)
    assert ideal.sets == noisy.sets
    np.testing.assert_array_equal(ideal.motion.t0_s, noisy.motion.t0_s)


def test_recording_shape_and_metadata() -> None:
    rec, truth = simulate_session(8, sample_rate_hz=50.0, n_sets=1, participant="P07")
    assert rec.meta.device_kind == "simulated"
    assert rec.meta.participant == "P07"
    assert rec.accel.unit == "g" and rec.gyro is not None and rec.gyro.unit == "deg/s"
    assert rec.accel.values.dtype == np.float32 and rec.accel.t_s.dtype == np.float64
    assert rec.accel.t_s[0] == 0.0
    assert np.all(np.diff(rec.accel.t_s) > 0) and np.all(np.diff(rec.gyro.t_s) > 0)
    assert rec.accel.sample_rate_hz == pytest.approx(50.0, rel=0.02)
    assert rec.accel.t_s[-1] == pytest.approx(truth.duration_s, abs=1.0)
    # gyro has its own clock, starting a few ms after the accelerometer
    assert rec.gyro.t_s[0] == pytest.approx(truth.sensor.gyro_offset_s)
    assert 0.0 < truth.sensor.gyro_offset_s < 0.05
    rec_no_gyro, _ = simulate_session(8, sample_rate_hz=50.0, n_sets=1, gyro=False)
    assert rec_no_gyro.gyro is None


@pytest.mark.parametrize("seed", range(6))
def test_truth_is_consistent(seed: int) -> None:
    rec, truth = simulate_session(seed, n_sets=3, rest_s=(30.0, 90.0))
    assert len(truth.sets) == 3
    prev_end = -np.inf
    for s in truth.sets:
        assert s.exercise in EXERCISES
        assert s.start_s > prev_end  # sets in order, not overlapping
        prev_end = s.end_s
        assert s.n_reps >= 1
        assert s.start_s == s.reps[0].start_s and s.end_s == s.reps[-1].end_s
        rep_end = -np.inf
        for r in s.reps:
            assert r.start_s >= rep_end  # reps sorted, not overlapping, inside the set
            assert s.start_s <= r.start_s < r.end_s <= s.end_s
            rep_end = r.end_s
            assert r.eccentric_s + r.concentric_s + r.pause_s == pytest.approx(r.end_s - r.start_s, abs=1e-9)
            assert r.eccentric_s > 0 and r.concentric_s > 0 and r.pause_s >= 0
            assert r.concentric_first == EXERCISES[s.exercise].concentric_first
        assert s.tut_s == pytest.approx(sum(r.end_s - r.start_s for r in s.reps))
        assert s.tut_s <= s.end_s - s.start_s + 1e-9
        rs = s.to_repset()
        assert rs.tut_s == pytest.approx(rs.eccentric_s + rs.concentric_s + rs.pause_s)
    assert 0.0 < truth.sets[0].start_s and truth.sets[-1].end_s < truth.duration_s
    # activities tile the timeline without overlap; every set is an activity
    acts = truth.activities
    assert acts[0].start_s == 0.0
    for a, b in zip(acts, acts[1:]):
        assert a.end_s == pytest.approx(b.start_s, abs=1e-9)
    assert acts[-1].end_s == pytest.approx(truth.duration_s)
    assert [(a.start_s, a.end_s) for a in acts if a.kind == "set"] == [(s.start_s, s.end_s) for s in truth.sets]
    det = truth.to_detection()
    assert det.n_reps == truth.n_reps and sum(s.tut_s for s in det.sets) == pytest.approx(truth.tut_s)


def test_exercise_selection_and_reps() -> None:
    _, truth = simulate_session(1, n_sets=4, exercises=["squat", "bench"], reps=(6, 8), rest_s=(20.0, 30.0))
    assert [s.exercise for s in truth.sets] == ["squat", "squat", "bench", "bench"]
    assert all(6 <= s.n_reps <= 8 for s in truth.sets)
    _, one = simulate_set(2, exercise="curl", n_reps=9)
    assert len(one.sets) == 1 and one.sets[0].exercise == "curl" and one.sets[0].n_reps == 9
    with pytest.raises(ValueError, match="valid: bench"):
        simulate_session(1, exercises=["bicep_curl"])


def test_fatigue_slows_the_concentric_phase() -> None:
    slow = []
    for seed in range(20):
        _, truth = simulate_set(seed, n_reps=(8, 12), gyro=False)
        s = truth.sets[0]
        slow.append(s.concentric_slowdown)
        assert s.reps[-1].concentric_s > 0.8 * s.reps[0].concentric_s
    assert np.median(slow) > 1.1
    assert max(slow) > 1.4 and min(slow) < 1.3  # both fresh and near-failure sets occur


def _still_windows(truth, kind: str = "stand", margin_s: float = 0.5):
    """Stretches where the wrist holds still (standing, between activities)."""
    return [(a.start_s + margin_s, a.end_s - margin_s) for a in truth.activities
            if a.kind == kind and a.end_s - a.start_s > 2 * margin_s + 1.0]


def _seed_with(kind: str, **kwargs):
    for seed in range(40):
        rec, truth = simulate_session(seed, **kwargs)
        if _still_windows(truth, kind):
            return rec, truth
    raise AssertionError(f"no {kind} activity in 40 seeds")


def test_at_rest_accel_norm_is_one_g() -> None:
    kw = dict(n_sets=1, rest_s=(20.0, 30.0), lead_s=(10.0, 20.0))
    rec, truth = _seed_with("stand", ideal_sensor=True, **kw)
    t, a = rec.accel.t_s, rec.accel.values.astype(np.float64)
    for lo, hi in _still_windows(truth):
        norm = np.linalg.norm(a[(t > lo) & (t < hi)], axis=1)
        # ideal sensor: only physiological tremor (< 5 mg) and 16-bit quantisation remain
        assert np.all(np.abs(norm - 1.0) < 0.012), (lo, hi, norm.min(), norm.max())
    # a real (noisy, miscalibrated) sensor: 1 g within bias/scale errors, spread within the noise
    rec, truth = simulate_session(truth.seed, **kw)
    t, a = rec.accel.t_s, rec.accel.values.astype(np.float64)
    s = truth.sensor
    for lo, hi in _still_windows(truth):
        norm = np.linalg.norm(a[(t > lo) & (t < hi)], axis=1)
        assert abs(np.median(norm) - 1.0) < 0.15
        assert np.std(norm) < 3 * (s.accel_white_g + s.accel_pink_g) + 0.006


def _world_vertical_g(rec: Recording, truth) -> tuple[np.ndarray, np.ndarray]:
    """Accelerometer rotated back to the world with the true orientation; vertical minus 1 g."""
    t = truth.accel_t_true_s
    rot = truth.motion.evaluate(t).rot @ truth.sensor.mount  # sensor -> world
    f_world = np.einsum("nij,nj->ni", rot, rec.accel.values.astype(np.float64))
    return t, f_world[:, 2] - 1.0


@pytest.mark.parametrize("exercise", ["squat", "bench", "deadlift", "curl"])
def test_vertical_displacement_double_integrates_to_zero_over_a_rep(exercise: str) -> None:
    rec, truth = simulate_set(21, exercise=exercise, n_reps=4, sample_rate_hz=200.0, ideal_sensor=True)
    t, az_g = _world_vertical_g(rec, truth)
    dt = 1.0 / 200.0
    for rep in truth.sets[0].reps:
        m = (t >= rep.start_s) & (t <= rep.end_s)
        a = az_g[m] * G0
        v = np.concatenate([[0.0], np.cumsum((a[1:] + a[:-1]) / 2.0) * dt])
        z = np.concatenate([[0.0], np.cumsum((v[1:] + v[:-1]) / 2.0) * dt])
        pos = truth.motion.evaluate(t[m]).pos_m[:, 2]
        excursion = np.ptp(pos)
        assert excursion > 0.15  # the wrist really travels
        assert abs(z[-1]) < 0.03 * excursion + 0.005, (z[-1], excursion)
        assert abs(v[-1]) < 0.02
        # and the reconstructed path follows the true one
        np.testing.assert_allclose(z, pos - pos[0], atol=0.03 * excursion + 0.005)


@pytest.mark.parametrize("exercise", ["curl", "lateral_raise"])
@pytest.mark.parametrize("ideal", [True, False])
def test_integrated_gyro_matches_the_rotation_of_arc_exercises(exercise: str, ideal: bool) -> None:
    rec, truth = simulate_set(4, exercise=exercise, n_reps=5, sample_rate_hz=100.0, ideal_sensor=ideal,
                              drops=False)
    assert rec.gyro is not None
    t, w = rec.gyro.t_s, rec.gyro.values.astype(np.float64)
    for rep in truth.sets[0].reps:
        # concentric first: the first phase is the concentric lift
        lo, hi = rep.start_s, rep.start_s + rep.concentric_s
        m = (t >= lo) & (t <= hi)
        integrated_deg = np.linalg.norm(np.trapezoid(w[m], t[m], axis=0))
        rots = truth.motion.evaluate(np.array([lo, hi])).rot
        true_deg = np.degrees(axis_angle(rots[1] @ rots[0].T)[1])
        assert true_deg > 60.0
        tol = 0.02 if ideal else 0.08
        assert integrated_deg == pytest.approx(true_deg, rel=tol)


def test_gravity_direction_rotates_with_the_forearm_in_curls() -> None:
    """Static accelerometer readings at the bottom and top of a curl differ by the curl angle."""
    rec, truth = simulate_set(9, exercise="curl", n_reps=6, sample_rate_hz=100.0, ideal_sensor=True)
    t, a = rec.accel.t_s, rec.accel.values.astype(np.float64)
    checked = 0
    for rep in truth.sets[0].reps:
        top = rep.start_s + rep.concentric_s
        if rep.pause_s < 0.3:
            continue
        g_bottom = a[(t >= rep.start_s - 0.02) & (t <= rep.start_s)].mean(axis=0)
        g_top = a[(t >= top + 0.05) & (t <= top + rep.pause_s - 0.05)].mean(axis=0)
        angle = np.degrees(np.arccos(g_bottom @ g_top / np.linalg.norm(g_bottom) / np.linalg.norm(g_top)))
        rots = truth.motion.evaluate(np.array([rep.start_s, top])).rot
        true_deg = np.degrees(axis_angle(rots[1] @ rots[0].T)[1])
        assert angle == pytest.approx(true_deg, abs=6.0)
        checked += 1
    assert checked >= 1


@pytest.mark.parametrize(("range_g", "bits"), [(8.0, 16), (4.0, 12)])
def test_values_sit_on_the_adc_grid(range_g: float, bits: int) -> None:
    rec, truth = simulate_session(3, n_sets=1, accel_range_g=range_g, bits=bits)
    lsb = range_g / 2 ** (bits - 1)
    assert truth.sensor.accel_lsb_g == lsb
    codes = rec.accel.values.astype(np.float64) / lsb
    np.testing.assert_array_equal(codes, np.round(codes))
    assert codes.min() >= -(2 ** (bits - 1)) and codes.max() <= 2 ** (bits - 1) - 1
    steps = np.diff(np.unique(rec.accel.values[:, 0]))
    assert steps.min() == pytest.approx(lsb)  # the quantisation step is visible
    gcodes = rec.gyro.values.astype(np.float64) / truth.sensor.gyro_lsb_dps
    np.testing.assert_allclose(gcodes, np.round(gcodes), atol=1e-3)


def test_dropped_samples_are_missing() -> None:
    ranges = SensorRanges(drop_prob=(0.01, 0.01), burst_per_min=(2.0, 2.0))
    rec, truth = simulate_session(6, n_sets=1, sensor_ranges=ranges, rest_s=(30.0, 40.0))
    rate = truth.sample_rate_hz
    dropped = truth.accel_dropped_index
    n_grid = len(rec.accel) + dropped.shape[0]
    assert dropped.shape[0] > 0.01 * n_grid * 0.5
    grid = np.arange(n_grid) / rate
    np.testing.assert_allclose(truth.accel_t_true_s, np.delete(grid, dropped))
    # no reported timestamp near a dropped sample's time: they are really gone
    j = truth.sensor.jitter_s
    pos = np.searchsorted(rec.accel.t_s, grid[dropped] - 1e-9)
    nxt = rec.accel.t_s[np.minimum(pos, len(rec.accel) - 1)]
    assert np.all(np.abs(nxt - grid[dropped]) > j + 1e-9)
    # bursts leave gaps of several periods
    assert np.diff(rec.accel.t_s).max() > 3.0 / rate
    no_drop, truth_nd = simulate_session(6, n_sets=1, drops=False, rest_s=(30.0, 40.0))
    assert truth_nd.accel_dropped_index.size == 0
    assert np.diff(no_drop.accel.t_s).max() < 1.5 / rate


@pytest.mark.parametrize("rate", [12.5, 100.0])
def test_timestamp_jitter_within_the_stated_bound(rate: float) -> None:
    rec, truth = simulate_session(7, sample_rate_hz=rate, n_sets=1, jitter_s=0.3 / rate)
    dev = rec.accel.t_s - truth.accel_t_true_s
    assert truth.sensor.jitter_s == pytest.approx(0.3 / rate)
    assert dev.min() >= 0.0 and dev.max() <= truth.sensor.jitter_s
    assert dev.max() > 0.5 * truth.sensor.jitter_s  # jitter is really there
    gdev = rec.gyro.t_s - truth.gyro_t_true_s
    assert gdev.min() >= 0.0 and gdev.max() <= truth.sensor.gyro_jitter_s
    with pytest.raises(ValueError, match="jitter_s"):
        simulate_session(7, sample_rate_hz=rate, n_sets=1, jitter_s=0.6 / rate)


def test_corpus_is_varied_and_deterministic() -> None:
    corpus = simulate_corpus(6, seed=3, n_sets=1, rest_s=(10.0, 20.0))
    again = simulate_corpus(6, seed=3, n_sets=1, rest_s=(10.0, 20.0))
    rates = set()
    for (rec, truth), (rec2, _) in zip(corpus, again, strict=True):
        np.testing.assert_array_equal(rec.accel.values, rec2.accel.values)
        rates.add(truth.sample_rate_hz)
        assert rec.accel.sample_rate_hz == pytest.approx(truth.sample_rate_hz, rel=0.05)
        assert len(truth.sets) == 1
    assert len(rates) >= 2
    assert len({t.seed for _, t in corpus}) == 6


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    rate=st.sampled_from([10.0, 12.5, 25.0, 52.0, 100.0, 200.0]),
    n_sets=st.integers(0, 3),
    exercises=st.none() | st.lists(st.sampled_from(sorted(EXERCISES)), min_size=1, max_size=3),
    gyro=st.booleans(),
    bits=st.sampled_from([12, 16]),
)
def test_any_arguments_give_a_valid_recording_and_consistent_truth(seed, rate, n_sets, exercises, gyro, bits) -> None:
    rec, truth = simulate_session(seed, sample_rate_hz=rate, n_sets=n_sets, exercises=exercises, gyro=gyro,
                                  bits=bits, rest_s=(10.0, 20.0), lead_s=(2.0, 5.0))
    streams = [rec.accel] + ([rec.gyro] if gyro else [])
    assert (rec.gyro is not None) == gyro
    for stream, full in zip(streams, (truth.sensor.accel_range_g, truth.sensor.gyro_range_dps)):
        assert np.all(np.diff(stream.t_s) > 0)
        assert np.all(np.isfinite(stream.values))
        assert np.abs(stream.values).max() <= full
        assert stream.values.dtype == np.float32 and stream.t_s.dtype == np.float64
    assert len(truth.sets) == n_sets
    if exercises is not None and n_sets:
        assert {s.exercise for s in truth.sets} <= set(exercises)
    end = 0.0
    for s in truth.sets:
        assert s.start_s >= end and s.n_reps >= 1
        end = s.end_s
        for r in s.reps:
            assert r.eccentric_s + r.concentric_s + r.pause_s == pytest.approx(r.end_s - r.start_s, abs=1e-9)
    n_grid = len(rec.accel) + truth.accel_dropped_index.size
    assert end < truth.duration_s < n_grid / rate + 1e-9  # the samples cover the whole timeline


def test_counter_timestamps_are_an_exact_grid_and_the_truth_follows_the_reported_clock() -> None:
    kw = dict(sample_rate_hz=12.5, gyro_rate_hz=25.0, n_sets=1, exercises="bench", rest_s=(20.0, 30.0))
    rec_h, host = simulate_session(31, **kw)
    rec_c, counter = simulate_session(31, timestamps="counter", **kw)
    err = counter.sensor.clock_error
    assert 0.0 < abs(err) <= 0.005 and host.sensor.clock_error == 0.0
    assert counter.time_scale == pytest.approx(1.0 / (1.0 + err))
    # reported times: sample counter x nominal period (gaps only where samples were dropped)
    steps = np.diff(rec_c.accel.t_s) * 12.5
    np.testing.assert_allclose(steps, np.round(steps), atol=1e-6)
    gsteps = np.diff(rec_c.gyro.t_s) * 25.0
    np.testing.assert_allclose(gsteps, np.round(gsteps), atol=1e-6)
    # same movements, truth expressed on the reported clock
    k = counter.time_scale
    for rh, rc in zip(host.reps, counter.reps, strict=True):
        assert rc.start_s == pytest.approx(rh.start_s * k, rel=1e-12)
        assert rc.concentric_s == pytest.approx(rh.concentric_s * k, rel=1e-12)
    assert counter.duration_s == pytest.approx(host.duration_s * k)
    # the true instants behind the reported grid run on the sensor's (wrong) clock
    np.testing.assert_allclose(counter.accel_t_true_s * k, rec_c.accel.t_s, atol=1e-9)
    with pytest.raises(ValueError, match="timestamps"):
        simulate_session(31, timestamps="gps", **kw)


@pytest.mark.parametrize("exercise", ["bench", "ohp", "row", "lateral_raise"])
def test_upper_arm_band_sees_the_upper_arm_rotate(exercise: str) -> None:
    rec, truth = simulate_set(12, exercise=exercise, n_reps=4, sample_rate_hz=100.0, ideal_sensor=True,
                              placement="upper_arm")
    assert truth.placement == "upper_arm" and rec.meta.extra["placement"] == "upper_arm"
    t, w = rec.gyro.t_s, rec.gyro.values.astype(np.float64)
    for rep in truth.sets[0].reps:
        first = rep.concentric_s if rep.concentric_first else rep.eccentric_s
        lo, hi = rep.start_s, rep.start_s + first
        m = (t >= lo) & (t <= hi)
        rots = truth.motion.evaluate(np.array([lo, hi])).rot
        true_deg = np.degrees(axis_angle(rots[1] @ rots[0].T)[1])
        assert true_deg > 40.0
        assert np.linalg.norm(np.trapezoid(w[m], t[m], axis=0)) == pytest.approx(true_deg, rel=0.03)


def test_an_armband_barely_sees_a_curl() -> None:
    def gyro_rms(placement: str) -> float:
        rec, truth = simulate_set(13, exercise="curl", n_reps=6, placement=placement, ideal_sensor=True)
        s = truth.sets[0]
        m = (rec.gyro.t_s >= s.start_s) & (rec.gyro.t_s <= s.end_s)
        return float(np.sqrt((rec.gyro.values[m].astype(np.float64) ** 2).sum(axis=1).mean()))

    assert gyro_rms("upper_arm") < 0.4 * gyro_rms("wrist")
    with pytest.raises(ValueError, match="valid: wrist, upper_arm"):
        simulate_set(13, placement="ankle")
