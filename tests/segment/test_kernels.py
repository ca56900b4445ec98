"""Differential tests: segment kernels == their naive twins."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from repsense.segment import _kernels

#: ``_group_reps``'s last arguments with its posture test off
_NO_POSTURE = (np.zeros(0), np.zeros(0), np.zeros(0), 1.0)


def _no_fragments(start):
    """``_group_reps``'s last four arguments with its fragment test off and no rep cut by the
    recording."""
    return 0.0, 0.9, np.zeros(start.shape[0], np.uint8), np.zeros(start.shape[0], np.uint8)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(0, 300), th=st.floats(0.0, 1.5))
def test_turning_points_match_naive(naive, seed, n, th):
    y = np.cumsum(np.random.default_rng(seed).normal(0, 0.3, n))
    idx, kind = _kernels._turning_points(y, th)
    nidx, nkind = naive.turning_points(list(y), th)
    assert list(idx) == nidx and list(kind) == nkind
    assert np.all(np.diff(idx) > 0)
    assert np.all(kind[1:] != kind[:-1])
    sidx, skind = _kernels._turning_points(y[::2], th)  # a strided view: sample by sample
    nidx, nkind = naive.turning_points(list(y[::2]), th)
    assert list(sidx) == nidx and list(skind) == nkind


def test_turning_points_with_nan_free_edge_cases():
    assert _kernels._turning_points(np.zeros(10), 0.1)[0].shape == (0,)
    idx, kind = _kernels._turning_points(np.sin(np.linspace(0, 4 * np.pi, 200)), 0.5)
    assert list(kind) == [1, -1, 1, -1]


def _bursty(seed: int, n: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = np.tile([0.0, 0.0, 1.0], (n, 1)) + rng.normal(0, 0.01, (n, 3))
    for _ in range(3):
        a = int(rng.integers(0, max(1, n - 50)))
        b = a + int(rng.integers(10, 200))
        x[a:b] += rng.normal(0, 0.3, (min(b, n) - a, 3))
    return x


def test_group_reps_trims_an_edge_rep_in_another_posture_in_non_rotating_sets_only():
    # six alike reps; the last one's forearm is tilted 15 deg from the others' (upright)
    start = np.arange(6) * 3.0
    end = start + 2.0
    travel = np.full(6, 0.4)
    keep = np.ones(6, np.int64)
    tilt = np.radians([1.0, 0.5, 0.0, 1.5, 1.0, 15.0])
    px, py, pz = np.sin(tilt), np.zeros(6), np.cos(tilt)
    args = (start, end, end - start, travel, keep, 4.0, 1.6, 1.8)
    barbell = np.full(6, 4.0)  # forearm rotation per rep (deg)
    cos12 = math.cos(math.radians(12.0))
    assert list(_kernels._group_reps(*args, barbell, 2.5, 20.0, 0.0, 0.0, px, py, pz, cos12, *_no_fragments(start))) == [0] * 5 + [-1]
    assert list(_kernels._group_reps(*args, barbell, 2.5, 20.0, 0.0, 0.0, *_NO_POSTURE, *_no_fragments(start))) == [0] * 6
    # 15 deg apart: within a limit of 25 deg
    assert list(_kernels._group_reps(*args, barbell, 2.5, 20.0, 0.0, 0.0, px, py, pz,
                                     math.cos(math.radians(25.0)), *_no_fragments(start))) == [0] * 6
    # curls (75 deg per rep): their postures are not compared
    assert list(_kernels._group_reps(*args, np.full(6, 75.0), 2.5, 20.0, 0.0, 0.0, px, py, pz, cos12, *_no_fragments(start))) == [0] * 6


def test_group_reps_drops_a_fragment_and_the_rhythm_goes_on():
    # eight reps of 3 s (0.2 m); the fifth is a 0.9 s, 0.12 m fragment (a wait the sagging
    # displacement turned into a rep) with a 3.5 s gap after it
    dur = np.array([3.0, 3.0, 3.0, 3.0, 0.9, 3.0, 3.0, 3.0])
    gap = np.array([0.4, 0.4, 0.4, 0.4, 3.5, 0.4, 0.4, 0.4])
    start = np.cumsum(np.r_[0.0, (dur + gap)[:-1]])
    end = start + dur
    travel = np.array([0.2, 0.21, 0.19, 0.2, 0.12, 0.2, 0.21, 0.2])
    keep = np.ones(8, np.int64)
    rot = np.full(8, 4.0)
    args = (start, end, dur, travel, keep, 4.0, 1.6, 1.8, rot, 2.5, 20.0, 0.25, 3.0, *_NO_POSTURE)
    assert list(_kernels._group_reps(*args, *_no_fragments(start))) == [0] * 8
    # dropped, and the rhythm goes on: the 3.5 s from the fragment's end, not the 4.9 s from
    # the rep before it, is the gap to the next rep
    uncut = np.zeros(8, np.uint8)
    assert list(_kernels._group_reps(*args, 0.45, 0.9, np.zeros(8, np.uint8), uncut)) == [0] * 4 + [-1] + [0] * 3
    # not when its travel is like the others' (0.9 x their median), nor when a hole overlaps it
    like = travel.copy()
    like[4] = 0.19
    assert list(_kernels._group_reps(*args[:3], like, *args[4:], 0.45, 0.9, np.zeros(8, np.uint8), uncut)) == [0] * 8
    assert list(_kernels._group_reps(*args, 0.45, 0.9, (np.arange(8) == 4).astype(np.uint8), uncut)) == [0] * 8


def test_group_reps_does_not_test_the_travel_of_a_rep_the_recording_cuts():
    # five presses; the first has 1.8x the others' travel (the filters' start-up where the
    # recording begins inside it): handling by its travel, unless the recording cuts it
    dur = np.full(5, 2.2)
    start = np.cumsum(dur + 0.4) - dur
    end = start + dur
    travel = np.array([0.52, 0.29, 0.29, 0.3, 0.28])
    args = (start, end, dur, travel, np.ones(5, np.int64), 4.0, 1.6, 1.8, np.full(5, 4.0), 2.5, 20.0, 0.25, 3.0,
            *_NO_POSTURE, 0.0, 0.9, np.zeros(5, np.uint8))
    first = (np.arange(5) == 0).astype(np.uint8)
    assert list(_kernels._group_reps(*args, np.zeros(5, np.uint8))) == [-1] + [0] * 4
    assert list(_kernels._group_reps(*args, first)) == [0] * 5
    assert list(_kernels._group_reps(*args, (np.arange(5) == 4).astype(np.uint8))) == [-1] + [0] * 4  # the other end
    # its duration is still tested: a 4.4 s move is handling however the recording cuts it
    long_first = dur.copy()
    long_first[0] = 4.4
    assert list(_kernels._group_reps(*args[:2], long_first, *args[3:], first)) == [-1] + [0] * 4


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 600), n_rest=st.integers(1, 60), n_max=st.integers(20, 300),
       breaks=st.lists(st.integers(1, 599), max_size=3), n_check=st.integers(1, 100))
def test_activity_sets_match_naive(naive, seed, n, n_rest, n_max, breaks, n_check):
    x = _bursty(seed, n)
    br = np.array(sorted({0, *[b for b in breaks if b < n]}), np.int64)
    ag, am = 1 - math.exp(-1 / 25), 1 - math.exp(-1 / 25)
    n_pre, n_post = 10, min(5, n_rest)
    state = np.zeros(_kernels.N_STATE)
    ev = _kernels._activity_sets(x, br, 0, state, ag, am, 0.06 ** 2, 0.035 ** 2, n_rest, n_pre, n_post, n_max, n_check)
    ref = naive.activity_sets(x, br, ag, am, 0.06 ** 2, 0.035 ** 2, n_rest, n_pre, n_post, n_max, n_check)
    assert [tuple(e) for e in ev.tolist()] == ref
    # closed sets never overlap and never run backwards; checkpoints lie inside open sets
    closed = [(a, b) for a, b, kind in ref if kind == 0]
    for (a0, a1), (b0, b1) in zip(closed, closed[1:]):
        assert a0 <= a1 < b0 <= b1
    assert all(a <= b for a, b, _ in ref)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(2, 600), cuts=st.lists(st.integers(1, 599), max_size=5))
def test_activity_sets_chunking_is_exact(seed, n, cuts):
    x = _bursty(seed, n)
    args = (1 - math.exp(-1 / 25), 1 - math.exp(-1 / 25), 0.06 ** 2, 0.035 ** 2, 25, 10, 5, 200, 30)
    whole = _kernels._activity_sets(x, np.zeros(1, np.int64), 0, np.zeros(_kernels.N_STATE), *args)
    state = np.zeros(_kernels.N_STATE)
    edges = [0, *sorted(set(c for c in cuts if c < n)), n]
    parts = []
    for a, b in zip(edges[:-1], edges[1:]):
        br = np.zeros(1, np.int64) if a == 0 else np.zeros(0, np.int64)
        parts.extend(_kernels._activity_sets(x[a:b], br, a, state, *args).tolist())
    assert parts == whole.tolist()


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(2, 400), th=st.floats(0.05, 1.0), still=st.sampled_from([0.0, 0.05, 0.1, 0.3]),
       open_ratio=st.sampled_from([0.0, 0.5, 1.0]), phase=st.sampled_from([0.0, 0.1, 0.5]))
def test_rep_table_and_phase_split_match_naive(naive, seed, n, th, still, open_ratio, phase):
    rng = np.random.default_rng(seed)
    z = np.convolve(rng.normal(0, 1, n + 20), np.ones(10) / 10, mode="valid")[:n]
    t = 5.0 + np.arange(n) * 0.04
    idx, kind = _kernels._turning_points(z, th)
    for boundary in (1, -1):
        got = _kernels._rep_table(t, z, idx, kind, boundary, still, 0.04, open_ratio)
        ref = naive.rep_table(t, z, list(idx), list(kind), boundary, still, 0.04, open_ratio)
        valid = [row for row in ref if row[6] > 0]
        split = got[got[:, 6] > 0].copy()
        _kernels._split_phases(t, z, split, boundary, phase, 0.04)
        if valid:
            np.testing.assert_allclose(split, np.array(naive.split_phases(t, z, valid, boundary, phase, 0.04)),
                                       rtol=1e-12, atol=1e-12)
            np.testing.assert_allclose(split[:, 2] + split[:, 3] + split[:, 4], split[:, 1] - split[:, 0], atol=1e-9)
        assert got.shape == (len(ref), 7)
        if ref:
            np.testing.assert_allclose(got, np.array(ref), rtol=1e-12, atol=1e-12)
        ok = got[got[:, 6] > 0]
        # phases and pause tile the rep exactly
        np.testing.assert_allclose(ok[:, 2] + ok[:, 3] + ok[:, 4], ok[:, 1] - ok[:, 0], atol=1e-9)
        assert (ok[:, 2:5] >= -1e-12).all()


@settings(max_examples=80, deadline=None)
@given(seed=st.integers(0, 10_000), r=st.integers(0, 30), gap=st.floats(0.5, 6.0), tr=st.floats(1.1, 3.0),
       dr=st.floats(1.1, 3.0), rr=st.sampled_from([0.0, 1.5, 2.5]), rmin=st.floats(0.0, 40.0),
       ref=st.sampled_from([0.0, 0.25, 0.4]), idr=st.sampled_from([0.0, 1.5, 3.0]),
       post=st.sampled_from([0.0, 8.0]), frag=st.sampled_from([0.0, 0.45, 0.8]))
def test_group_reps_matches_naive(naive, seed, r, gap, tr, dr, rr, rmin, ref, idr, post, frag):
    rng = np.random.default_rng(seed)
    dur = rng.uniform(0.5, 4.0, r)
    pause = rng.choice([0.2, 0.5, 5.0, 9.0], r)
    start = np.cumsum(dur + pause)
    end = start + dur
    travel = rng.uniform(0.05, 0.5, r)
    keep = (rng.random(r) > 0.1).astype(np.int64)
    rot = np.where(rng.random(r) < 0.2, rng.uniform(20.0, 90.0, r), rng.uniform(0.0, 10.0, r))
    dur = dur * np.where(rng.random(r) < 0.5, 1.0, rng.uniform(0.4, 1.0, r))  # some trimmed
    # postures: within a few degrees of upright, some reps tilted by 5-30 deg
    tilt = np.radians(np.where(rng.random(r) < 0.2, rng.uniform(5.0, 30.0, r), rng.uniform(0.0, 3.0, r)))
    az = rng.uniform(0, 2 * np.pi, r)
    posture = np.stack([np.sin(tilt) * np.cos(az), np.sin(tilt) * np.sin(az), np.cos(tilt)], axis=1)
    args = (posture[:, 0].copy(), posture[:, 1].copy(), posture[:, 2].copy(), math.cos(math.radians(post))) \
        if post else _NO_POSTURE
    bridged = (rng.random(r) < 0.1).astype(np.uint8)
    rec_cut = np.zeros(r, np.uint8)  # the recording starts in the first rep, ends in the last
    if r:
        rec_cut[[0, -1]] = rng.random(2) < 0.5
    got = _kernels._group_reps(start, end, dur, travel, keep, gap, tr, dr, rot, rr, rmin, ref, idr, *args,
                               frag, 0.9, bridged, rec_cut)
    want = naive.group_reps(list(start), list(end), list(dur), list(travel), list(keep), gap, tr, dr, list(rot), rr,
                            rmin, ref, idr, posture.tolist() if post else None, post, frag, 0.9, list(bridged),
                            list(rec_cut))
    assert list(got) == want


def test_group_reps_trims_a_run_of_handling_moves_against_the_middle_reps():
    # a simulated set (seed 1000): a short set-up move and a 7 s un-rack before 12 reps whose
    # travel shrinks with fatigue. The whole group's medians (travel 0.34 m) let the set-up
    # move (0.22 m) pass, and trimming stops there; the middle reps' (0.37 m) do not, and the
    # 7 s move then fails the duration test
    travel = np.array([0.22, 0.34, 0.34, 0.46, 0.45, 0.31, 0.33, 0.36, 0.41, 0.39, 0.34, 0.34, 0.28, 0.29])
    dur = np.array([2.1, 7.1, 2.0, 2.4, 1.6, 1.9, 2.8, 2.9, 2.7, 2.7, 3.1, 2.9, 2.2, 3.0])
    start = np.cumsum(dur + 0.4) - dur
    end = start + dur
    keep = np.ones(14, np.int64)
    rot = np.zeros(14)
    whole = _kernels._group_reps(start, end, end - start, travel, keep, 4.0, 1.6, 1.8, rot, 0.0, 20.0, 0.0, 0.0, *_NO_POSTURE, *_no_fragments(start))
    middle = _kernels._group_reps(start, end, end - start, travel, keep, 4.0, 1.6, 1.8, rot, 0.0, 20.0, 0.25, 0.0, *_NO_POSTURE, *_no_fragments(start))
    assert list(whole) == [0] * 14
    assert list(middle) == [-1, -1] + [0] * 12


def test_group_reps_trims_a_rotating_edge_rep_only():
    # five alike reps; the last turns the forearm by 60 deg (a re-rack), the first by 8 deg
    start = np.arange(5) * 3.0
    end = start + 2.0
    travel = np.full(5, 0.4)
    keep = np.ones(5, np.int64)
    rot = np.array([8.0, 4.0, 5.0, 4.0, 60.0])
    gid = _kernels._group_reps(start, end, end - start, travel, keep, 4.0, 1.6, 1.8, rot, 2.5, 20.0, 0.0, 0.0, *_NO_POSTURE, *_no_fragments(start))
    assert list(gid) == [0, 0, 0, 0, -1]
    # the same rotation in the middle of the set is handling there too: dropped, and the
    # rhythm split around it (the one rep before it is then a group of its own)
    gid = _kernels._group_reps(start, end, end - start, travel, keep, 4.0, 1.6, 1.8, rot[[0, 4, 1, 2, 3]], 2.5, 20.0, 0.0, 0.0, *_NO_POSTURE, *_no_fragments(start))
    assert gid[1] == -1 and gid[0] >= 0 and len(set(gid[2:].tolist())) == 1 and gid[2] not in (-1, gid[0])
    # off (ratio 0): nothing trimmed
    assert list(_kernels._group_reps(start, end, end - start, travel, keep, 4.0, 1.6, 1.8, rot, 0.0, 20.0, 0.0, 0.0, *_NO_POSTURE, *_no_fragments(start))) == [0] * 5


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), m=st.integers(0, 120), r=st.integers(0, 8), h=st.integers(0, 15))
def test_rep_rotation_matches_naive(naive, seed, m, r, h):
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, 0.3, (m, 3)) + np.array([0.0, 0.0, 1.0])
    if m and seed % 5 == 0:
        x[: m // 2] = 0.0  # zero windows (no direction) are skipped
    lo = rng.integers(0, max(m, 1), r).astype(np.int64)
    hi = lo + rng.integers(1, 40, r)
    got = _kernels._rep_rotation_deg(x, lo, hi, h)
    ref = naive.rep_rotation_deg(x.tolist(), lo.tolist(), hi.tolist(), h)
    np.testing.assert_allclose(got, ref, atol=1e-6)


def test_rep_rotation_measures_a_known_turn():
    # gravity turns from +z to +x at constant rate over 91 samples: 90 deg in that rep
    ang = np.radians(np.linspace(0.0, 90.0, 91))
    x = np.stack([np.sin(ang), np.zeros(91), np.cos(ang)], axis=1)
    got = _kernels._rep_rotation_deg(x, np.array([0, 30]), np.array([91, 40]), 0)
    np.testing.assert_allclose(got, [90.0, 9.0], atol=1e-9)


@settings(max_examples=40, deadline=None)
@given(xs=st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=40))
def test_median_matches_statistics(xs):
    from statistics import median

    assert _kernels._median(np.array(xs)) == pytest.approx(median(xs), rel=1e-12, abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(0, 30), v=st.floats(-1.0, 12.0), strict=st.booleans())
def test_first_at_or_after_is_searchsorted(seed, n, v, strict):
    rng = np.random.default_rng(seed)
    t = np.round(np.cumsum(rng.uniform(0.0, 1.0, 40)), 1)  # ties too
    idx = np.sort(rng.choice(40, n, replace=False)).astype(np.int64)
    v = float(np.round(v, 1))
    want = int(np.searchsorted(t[idx], v, side="right" if strict else "left"))
    assert _kernels._first_at_or_after(t, idx, v, strict) == want


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), m=st.integers(1, 60), tail_n=st.integers(0, 6), hold_n=st.integers(1, 8),
       forward=st.booleans())
def test_past_edge_tail_matches_naive(naive, seed, m, tail_n, hold_n, forward):
    rng = np.random.default_rng(seed)
    x = np.ones((m, 3)) * np.array([0.0, 0.0, 1.0])
    moving = np.repeat(rng.random(m // 3 + 1) < 0.4, 3)[:m]  # runs of still and moving samples
    x = x + rng.normal(0, 0.002, (m, 3)) + moving[:, None] * rng.normal(0, 0.1, (m, 3))
    still = naive.still_mask(x, 1, 0.02)
    a, b = sorted(rng.integers(0, m, 2).tolist())
    if forward:
        want = naive.past_tail(still, a, b, tail_n, hold_n)
        got = _kernels._past_edge_tail(x, 1, 0.02, a, b, 1, tail_n, hold_n)
    else:
        want = m - 1 - naive.past_tail(still[::-1], m - 1 - b, m - 1 - a, tail_n, hold_n)
        got = _kernels._past_edge_tail(x, 1, 0.02, b, a, -1, tail_n, hold_n)
    assert got == want


def _min_jerk(n: int) -> np.ndarray:
    """``n`` samples of the minimum-jerk profile 0 -> 1 (``repsense.simulate.min_jerk``)."""
    from repsense.simulate import min_jerk

    return min_jerk(np.linspace(0.0, 1.0, n))[0]


def _assert_same_reps(got, ref):
    """``_analyse_displacement``'s boundary, rep table and groups equal the naive steps'."""
    assert got[2] == ref[2]
    np.testing.assert_allclose(got[3], np.array(ref[3]), rtol=1e-9, atol=1e-9)
    assert list(got[4]) == list(ref[4])


def _kernel_and_naive(naive, z_true, seed, **config):
    """``_analyse_displacement`` and its naive twin on a vertical sensor moved along ``z_true``
    (m, 25 Hz grid, 0.005 g noise), with ``DetectorConfig(**config)``."""
    from dataclasses import replace

    from repsense.dsp import _kernels as dsp_kernels
    from repsense.segment import DetectorConfig
    from repsense.segment.reps import SetAnalyzer

    fs = 25.0
    a = np.gradient(np.gradient(z_true, 1 / fs), 1 / fs) / 9.80665
    x = (1.0 + a)[:, None] * np.array([0.0, 0.0, 1.0]) + np.random.default_rng(seed).normal(0, 0.005, (a.shape[0], 3))
    t = np.arange(a.shape[0]) / fs
    an = SetAnalyzer(replace(DetectorConfig(), **config))
    a_up, z = dsp_kernels._vertical_displacement(x, an.band_sos, an.hp_sos, an.n_pad, an.dt_s, 9.80665)
    return (_kernels._analyse_displacement(t, x, a_up, z, an._prm, 0.0, np.empty((0, 2)), np.zeros(2, np.uint8)),
            naive.analyse_stretch(t, x, an.band_sos, an.hp_sos, an._prm, 0.0))


@pytest.mark.parametrize("tail_s", [0.0, 0.32])
def test_analyse_displacement_reads_inner_durations_past_the_edge_tail_as_the_naive_steps(naive, tail_s):
    # squats resting at the top with 1.2 s waits: the displacement sags through each wait
    parts = [np.zeros(100)]
    for _ in range(6):
        parts += [-0.5 * _min_jerk(60), -0.5 + 0.5 * _min_jerk(25), np.zeros(30)]
    got, ref = _kernel_and_naive(naive, np.concatenate([*parts, np.zeros(150)]), 5, edge_tail_s=tail_s)
    _assert_same_reps(got, ref)
    assert (np.asarray(got[4]) >= 0).sum() == (6 if tail_s else 5)


@pytest.mark.parametrize("wait_s", [0.0, 1.0])
def test_analyse_displacement_passes_over_a_dead_stop_sets_edge_resets_as_the_naive_steps(naive, wait_s):
    # pulls from the floor (1 s up, 1.5 s down) with a 2.5 s reset after each: the first rep
    # is judged without its reset, as the inner reps are
    parts = [np.zeros(100)]
    for _ in range(7):
        parts += [0.5 * _min_jerk(25), 0.5 - 0.5 * _min_jerk(38), np.zeros(62)]
    got, ref = _kernel_and_naive(naive, np.concatenate([*parts, np.zeros(150)]), 5, edge_wait_s=wait_s)
    _assert_same_reps(got, ref)
    assert got[2] == -1
    assert (np.asarray(got[4]) >= 0).sum() == (7 if wait_s else 6)


@pytest.mark.parametrize("span", [0.0, 1.0])
def test_analyse_displacement_reads_the_rest_end_over_the_groups_span_as_the_naive_steps(naive, span):
    # six 0.4 m down-and-up reps from a still top, then a re-rack: 0.2 m up, 0.2 m down
    u = np.arange(50) / 50
    v = np.arange(30) / 30
    step = v - np.sin(2 * np.pi * v) / (2 * np.pi)  # 0 -> 1 in 1.2 s
    parts = [np.zeros(150)]
    for _ in range(6):
        parts += [-0.2 * (1 - np.cos(2 * np.pi * u)), np.zeros(12)]
    parts += [np.zeros(38), 0.2 * step, np.full(38, 0.2), 0.2 - 0.2 * step, np.zeros(200)]
    got, ref = _kernel_and_naive(naive, np.concatenate(parts), 3, boundary_span_ratio=span)
    assert got[2] == ref[2] == (1 if span else -1)  # maxima (the still top) bound the reps
    np.testing.assert_allclose(got[3], np.array(ref[3]), rtol=1e-9, atol=1e-9)
    assert list(got[4]) == list(ref[4])
    if span:
        assert (np.asarray(got[4]) >= 0).sum() == 6


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n_reps=st.integers(0, 7), rate_noise=st.floats(0.0, 0.05),
       amp_floor=st.sampled_from([0.0, 0.05, 0.5]), rot=st.sampled_from([0.0, 2.5]))
def test_analyse_displacement_matches_the_naive_steps(naive, seed, n_reps, rate_noise, amp_floor, rot):
    from repsense.segment import DetectorConfig
    from repsense.segment.reps import SetAnalyzer

    rng = np.random.default_rng(seed)
    period = rng.uniform(1.5, 4.0)
    n = int((4.0 + n_reps * period) * 25) + 10
    t = 3.0 + np.arange(n) * 0.04
    u = np.clip((t - 5.0) / period, 0, n_reps)
    a_up = -0.2 * (2 * np.pi / period) ** 2 * np.cos(2 * np.pi * u) * ((u > 0) & (u < n_reps)) / 9.80665
    tilt = np.radians(rng.uniform(0, 60))
    x = (1.0 + a_up)[:, None] * np.array([np.sin(tilt), 0.0, np.cos(tilt)]) + rng.normal(0, rate_noise, (n, 3))
    an = SetAnalyzer(DetectorConfig(edge_rotation_ratio=rot))
    from repsense.dsp import _kernels as dsp_kernels

    a_up, z = dsp_kernels._vertical_displacement(x, an.band_sos, an.hp_sos, an.n_pad, an.dt_s, 9.80665)
    rec_edge = (bool(seed % 2), bool(seed % 3 == 0))  # the stretch starts (ends) with the recording
    got = _kernels._analyse_displacement(t, x, a_up, z, an._prm, amp_floor, np.empty((0, 2)),
                                         np.array(rec_edge, np.uint8))
    ref = naive.analyse_stretch(t, x, an.band_sos, an.hp_sos, an._prm, amp_floor, (), rec_edge)
    np.testing.assert_allclose(got[0], ref[0], rtol=1e-9, atol=1e-12)
    assert got[1] == pytest.approx(ref[1], rel=1e-6, abs=1e-12)
    assert got[2] == ref[2]
    assert got[3].shape == (len(ref[3]), 7)
    if ref[3]:
        np.testing.assert_allclose(got[3], np.array(ref[3]), rtol=1e-9, atol=1e-9)
    assert list(got[4]) == list(ref[4])
    assert got[5] == pytest.approx(ref[5], rel=1e-9, abs=1e-15)
    # the still edges kept for the groups' trim: those of the naive trim at that threshold
    edges = got[6]
    assert edges.shape == (got[3].shape[0], 4)
    rows = [list(row) for row in got[3]]
    still = naive.still_mask(x, int(an._prm[18]), got[5]) if (edges[:, 0] >= 0).any() else []
    for row, (a, b, a2, b2) in zip(rows, edges.tolist()):
        if a < 0:
            assert (a, b, a2, b2) == (-1, -1, -1, -1)
            continue
        assert got[5] >= 0.0
        want = naive.trim_still(list(t), still, [row], 0.04, int(an._prm[23]))[0]
        assert t[a] - 0.02 == pytest.approx(row[0], abs=1e-9) and t[b] + 0.02 == pytest.approx(row[1], abs=1e-9)
        assert t[a2] - 0.02 == pytest.approx(want[0], abs=1e-9) and t[b2] + 0.02 == pytest.approx(want[1], abs=1e-9)


def test_rep_rotation_ties_and_opposite_directions():
    # equal angles on either side of the reference, and a full reversal (180 deg)
    ang = np.radians([0.0, 30.0, -30.0, 30.0, 10.0, 180.0, 90.0])
    x = np.stack([np.sin(ang), np.zeros(7), np.cos(ang)], axis=1)
    got = _kernels._rep_rotation_deg(x, np.array([0, 0, 1]), np.array([5, 7, 4]), 0)
    np.testing.assert_allclose(got, [30.0, 180.0, 60.0], atol=1e-9)


def test_analyse_with_displacements_computed_at_once():
    from repsense.segment import DetectorConfig
    from repsense.segment.reps import SetAnalyzer
    from repsense.simulate import simulate_session
    from repsense.dsp import Resampler

    rec, _ = simulate_session(7, sample_rate_hz=50.0, n_sets=3)
    t, x, _ = Resampler(25.0, 5.0, 0.032).update(rec.accel.t_s, rec.accel.values)
    an = SetAnalyzer(DetectorConfig())
    bounds = [(0, 900), (900, 2500), (2500, x.shape[0]), (10, 12)]  # the last too short: left out
    pre = an.displacements(x, bounds)
    assert set(pre) == set(bounds[:3])
    n_sets = 0
    for lo, hi in bounds[:3]:
        ref = an.analyse(t[lo:hi], x[lo:hi])
        assert an.analyse(t[lo:hi], x[lo:hi], 0.0, pre[(lo, hi)]) == ref
        n_sets += len(ref)
    assert n_sets > 0


def test_vertical_fraction_is_the_per_axis_variance_share(rng):
    from repsense.dsp import _kernels as dsp_kernels
    from repsense.segment import DetectorConfig
    from repsense.segment.reps import G_M_S2, SetAnalyzer

    an = SetAnalyzer(DetectorConfig())
    x = rng.normal(0, 0.1, (700, 3)) + np.array([0.0, 0.0, 1.0])
    a_up = an.vertical_accel_m_s2(x)
    for lo, hi in [(0, 700), (37, 512), (100, 101)]:
        total = 0.0
        for j in range(3):
            total += float(np.var(dsp_kernels._sosfilt_fb(x[:, j].copy(), an.band_sos, an.n_pad)[lo:hi]))
        ref = float(np.var(a_up[lo:hi] / G_M_S2)) / total if total > 0 else 0.0
        assert an.vertical_fraction(x, a_up, lo, hi) == ref


def test_displacements_without_the_four_lane_layout(rng):
    from repsense.dsp import _kernels as dsp_kernels
    from repsense.segment import DetectorConfig
    from repsense.segment.reps import SetAnalyzer

    an = SetAnalyzer(DetectorConfig())
    an.band_sos = np.vstack([an.band_sos, an.hp_sos])  # three sections: the one-by-one path
    an._lanes = False
    x = rng.normal(0, 0.1, (500, 3)) + np.array([0.0, 0.0, 1.0])
    pre = an.displacements(x, [(0, 200), (200, 500)])
    for (lo, hi), (a_up, z) in pre.items():
        ra, rz = dsp_kernels._vertical_displacement(x[lo:hi], an.band_sos, an.hp_sos, an.n_pad, an.dt_s, 9.80665)
        assert np.array_equal(a_up, ra) and np.array_equal(z, rz)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 40), spread=st.sampled_from([1e-12, 1e-3, 1.0, 3.0]))
def test_turn_step_keeps_the_largest_angle(seed, n, spread):
    """_turn_step over a sequence of (|r x g|^2, r . g) samples (zero windows skipped) ends
    with exactly the largest ``atan2(sqrt(ss), dn)`` of the sequence, ties and angles near
    and beyond 90 degrees included."""
    import math

    rng = np.random.default_rng(seed)
    base = rng.uniform(-math.pi, math.pi)
    ang = base + spread * rng.normal(0, 1, n)
    ang[rng.random(n) < 0.2] = base  # ties
    length = rng.uniform(0.5, 2.0, n)
    ss = (length * np.sin(ang)) ** 2
    dn = length * np.cos(ang)
    zero = rng.random(n) < 0.15
    state = (False, 0.0, 0.0, False, -1.0)
    for k in range(n):
        state = _kernels._turn_step(bool(zero[k]), float(ss[k]), float(dn[k]), *state)
    has, ssb, db, _quick, ab = state
    want = [math.atan2(math.sqrt(s), d) for s, d, z in zip(ss.tolist(), dn.tolist(), zero.tolist()) if not z]
    assert has == bool(want)
    if want:
        assert (math.atan2(math.sqrt(ssb), db) if ab < 0.0 else ab) == max(want)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), m=st.integers(1, 200), r=st.integers(0, 8), h=st.integers(0, 12),
       turn=st.sampled_from([0.0, 0.01, 1.0, 3.0]))
def test_rep_rotation_is_the_exact_maximum_of_the_angles(seed, m, r, h, turn):
    """The kernel skips most square roots and atan2 calls; its result must still be exactly
    the largest of the per-sample atan2 values computed by the same formula."""
    import math

    rng = np.random.default_rng(seed)
    ang = np.cumsum(rng.normal(0, turn / max(m, 1), m)) if turn else np.zeros(m)
    x = np.stack([np.sin(ang), 0.05 * rng.normal(0, 1, m), np.cos(ang)], axis=1) + rng.normal(0, 0.02, (m, 3))
    if seed % 7 == 0 and m > 3:
        x[m // 3] = -x[m // 3]  # a sample beyond 90 degrees
    lo = rng.integers(0, m, r).astype(np.int64)
    hi = lo + rng.integers(1, 60, r)
    got = _kernels._rep_rotation_deg(x, lo, hi, h)
    cs = np.zeros((m + 1, 3))
    cs[1:] = np.cumsum(x, axis=0)  # sequential sums, as the kernel's
    for i in range(r):
        k0 = min(max(int(lo[i]), 0), m - 1)
        ref = cs[min(k0 + h + 1, m)] - cs[max(k0 - h, 0)]
        best = 0.0
        if math.sqrt(ref[0] * ref[0] + ref[1] * ref[1] + ref[2] * ref[2]) > 0.0:
            for k in range(k0, min(int(hi[i]), m)):
                g = cs[min(k + h + 1, m)] - cs[max(k - h, 0)]
                if g[0] == 0.0 and g[1] == 0.0 and g[2] == 0.0:
                    continue
                c0 = ref[1] * g[2] - ref[2] * g[1]
                c1 = ref[2] * g[0] - ref[0] * g[2]
                c2 = ref[0] * g[1] - ref[1] * g[0]
                a = math.atan2(math.sqrt(c0 * c0 + c1 * c1 + c2 * c2), ref[0] * g[0] + ref[1] * g[1] + ref[2] * g[2])
                best = max(best, a)
        assert got[i] == (math.degrees(best) if best > 0.0 else 0.0)


@settings(max_examples=60, deadline=None)
@given(xs=st.lists(st.floats(-1e3, 1e3), min_size=0, max_size=40), v=st.floats(-2e3, 2e3))
def test_search_left_matches_numpy(xs, v):
    a = np.sort(np.array(xs, dtype=np.float64))
    assert _kernels._search_left(a, v) == np.searchsorted(a, v)
    for x in a[:5]:  # ties: the first of equal values
        assert _kernels._search_left(a, x) == np.searchsorted(a, x)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(0, 200), prev=st.sampled_from([math.nan, -1.0, 0.0]),
       lo=st.floats(0.0, 2.0), span=st.floats(0.0, 3.0))
def test_signal_holes_match_naive(naive, seed, n, prev, lo, span):
    rng = np.random.default_rng(seed)
    t = np.cumsum(rng.exponential(0.5, n)) if n else np.empty(0)
    got = _kernels._signal_holes(t, prev, lo, lo + span)
    want = naive.signal_holes(t, prev, lo, lo + span)
    assert got.shape == want.shape and np.array_equal(got, want)


def test_signal_holes_across_a_block_boundary_are_found_once():
    t = np.array([0.0, 0.1, 0.2, 1.7, 1.8, 5.0, 12.0])
    whole = _kernels._signal_holes(t, math.nan, 0.4, 5.0)
    assert whole.tolist() == [[0.2, 1.7], [1.8, 5.0]]  # 7 s is a break, not a hole
    parts = [_kernels._signal_holes(t[:3], math.nan, 0.4, 5.0), _kernels._signal_holes(t[3:], 0.2, 0.4, 5.0)]
    assert np.concatenate(parts).tolist() == whole.tolist()


def _stretches(seed, n_stretch):
    """A grid buffer with ``n_stretch`` stretches of synthetic reps (some short groups), and their bounds."""
    rng = np.random.default_rng(seed)
    xs, bounds, k = [], [], 0
    for _ in range(n_stretch):
        n_reps = int(rng.integers(0, 6))
        period = rng.uniform(1.5, 3.5)
        n = int((3.0 + n_reps * period) * 25) + 10
        tt = np.arange(n) * 0.04
        u = np.clip((tt - 1.5) / period, 0, n_reps)
        sign = rng.choice([-1.0, 1.0])  # reps starting at the top or at the bottom
        a_up = sign * 0.2 * (2 * np.pi / period) ** 2 * np.cos(2 * np.pi * u) * ((u > 0) & (u < n_reps)) / 9.80665
        tilt = np.radians(rng.uniform(0, 60))
        xs.append((1.0 + a_up)[:, None] * np.array([np.sin(tilt), 0.0, np.cos(tilt)]) + rng.normal(0, 0.02, (n, 3)))
        gap = int(rng.integers(0, 30))
        bounds.append((k + gap, k + n))
        k += n
    x = np.concatenate(xs)
    t = 100.0 + np.arange(k) * 0.04
    return t, x, bounds


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10_000), n_stretch=st.integers(1, 5), min_reps=st.sampled_from([1, 2]),
       rhythm_reps=st.sampled_from([2, 4]), frac=st.sampled_from([0.25, 0.3, 0.5]))
def test_analyse_stretches_matches_the_naive_steps(naive, seed, n_stretch, min_reps, rhythm_reps, frac):
    from repsense.dsp import _kernels as dsp_kernels
    from repsense.segment import DetectorConfig
    from repsense.segment.reps import SetAnalyzer

    t, x, bounds = _stretches(seed, n_stretch)
    an = SetAnalyzer(DetectorConfig())
    lo_i = np.array([b[0] for b in bounds], np.int64)
    hi_i = np.array([b[1] for b in bounds], np.int64)
    order = np.argsort(hi_i - lo_i, kind="stable").astype(np.int64)
    a_up, z, offs = dsp_kernels._vertical_displacements(x, lo_i, hi_i, order, an.band_sos, an.hp_sos, an.n_pad,
                                                        an.dt_s, 9.80665)
    # up to two bridged holes somewhere in the buffer (the grouping's fragment test reads them)
    hole_rng = np.random.default_rng(seed + 1)
    h0 = np.sort(hole_rng.uniform(t[0], t[-1], int(hole_rng.integers(0, 3))))
    holes = np.stack([h0, h0 + hole_rng.uniform(0.4, 3.0, h0.shape[0])], axis=1)
    rec_edge = (hole_rng.random((len(bounds), 2)) < 0.5).astype(np.uint8)  # stretches the recording cuts
    rows, groups, sums = _kernels._analyse_stretches(t, x, lo_i, hi_i, a_up, z, offs, 0.032, an._prm, min_reps,
                                                     rhythm_reps, 1.7, frac, holes - 0.032, rec_edge)
    ref_rows, ref_groups, ref_sums = naive.analyse_stretches(t, x, bounds, an.band_sos, an.hp_sos, an._prm, 0.032,
                                                             min_reps, rhythm_reps, 1.7, frac, holes.tolist(),
                                                             rec_edge.astype(bool).tolist())
    assert groups.tolist() == ref_groups
    assert rows.shape == (len(ref_rows), 7) and sums.shape == (len(ref_sums), 6)
    if ref_rows:
        np.testing.assert_allclose(rows, np.array(ref_rows), rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(sums, np.array(ref_sums), rtol=1e-9, atol=1e-9)  # NaN == NaN here
    # the sums of the kernel's own rows: exactly Python's
    for (_j, r0, r1, _c, boundary), s in zip(groups.tolist(), sums.tolist()):
        want = naive.set_sums(rows[r0:r1].tolist(), boundary == -1, frac)
        assert [v if v == v else "nan" for v in s] == [v if v == v else "nan" for v in want]


@pytest.mark.parametrize("frac", [0.1, 0.125, 0.25, 0.3, 0.5])
@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 6, 8, 10, 12, 20])
def test_set_sums_round_half_to_even_as_python(naive, rng, n, frac):
    rows = rng.uniform(0.1, 2.0, (n, 7))
    rows[:, 1] += rows[:, 0] + 1.0
    for cf in (False, True):
        got = np.empty(6)
        _kernels._set_sums(rows, cf, frac, got)
        want = naive.set_sums(rows.tolist(), cf, frac)
        assert [v if v == v else "nan" for v in got.tolist()] == [v if v == v else "nan" for v in want]


def test_analyse_many_is_analyse_of_each_stretch():
    """The one-call path of the batch detector gives bit for bit the sets of ``analyse`` (also
    ``repsets_``, its sets when no hole is given)."""
    from repsense.segment import DetectorConfig
    from repsense.segment.reps import SetAnalyzer
    from repsense.simulate import simulate_session

    an = SetAnalyzer(DetectorConfig())
    n_sets = 0
    for seed in range(3):
        t, x, bounds = _stretches(seed, 6)
        rec, _ = simulate_session(seed, sample_rate_hz=25.0, n_sets=3)
        xs = np.asarray(rec.accel.values, np.float64)
        t = np.r_[t, t[-1] + 0.04 * (1 + np.arange(xs.shape[0]))]
        bounds += [(x.shape[0] + 200, x.shape[0] + xs.shape[0] - 100), (x.shape[0], x.shape[0] + 4)]  # and a short one
        x = np.concatenate([x, xs])
        many = an.analyse_many(t, x, bounds, 0.032)
        for lo, hi in bounds:
            want = an.analyse(t[lo:hi] - 0.032, x[lo:hi])
            got = an.sets_of_groups(many.get((lo, hi), []), an.concentric_first_.get((lo, hi), False), None)
            assert got == want
            # without holes the same sets, built all at once, with the same field types
            at_once = an.repsets_.get((lo, hi), [])
            assert at_once == want
            for g, w in zip(at_once, want):
                assert [type(getattr(g, f)) for f in g.__slots__] == [type(getattr(w, f)) for f in w.__slots__]
            n_sets += len(want)
    assert n_sets >= 3


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), m=st.integers(1, 120), half=st.integers(0, 4), rel=st.sampled_from([0.0, 1.5, 2.0, 4.0]),
       floor=st.sampled_from([0.0, 0.006, 0.05]), pct=st.sampled_from([0.0, 5.0, 50.0]),
       noise=st.sampled_from([0.0005, 0.0017, 0.005]))
def test_still_threshold_and_window_sd_match_naive(naive, seed, m, half, rel, floor, pct, noise):
    # noise 0.0005: the floor decides early (most windows are far below floor / rel);
    # 0.0017: deviations near floor / rel = 0.003 (the early decision's margin)
    rng = np.random.default_rng(seed)
    x = rng.normal(0, noise, (m, 3)) + np.array([0.0, 0.0, 1.0])
    x[m // 3: m // 2] += rng.normal(0, 0.1, (m // 2 - m // 3, 3))  # a burst of movement
    for i in range(m):
        assert _kernels._window_sd(x, i, half) == pytest.approx(naive.window_sd(x, i, half), rel=1e-9, abs=1e-15)
    got = _kernels._still_threshold(x, half, rel, floor, 0.03, pct)
    assert got == pytest.approx(naive.still_threshold(x, half, rel, floor, 0.03, pct), rel=1e-9, abs=1e-15)
    assert _kernels._still_threshold(x, half, rel, floor, 0.004, pct) == min(got, 0.004)  # the cap applies after


@settings(max_examples=200, deadline=None)
@given(threshold=st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.floats(1e-4, 0.1),
                           st.sampled_from([0.0, -0.0, 5e-324, 2.2e-308, 1e-160, 1.3e154, 1.4e154])),
       seed=st.integers(0, 10_000))
def test_still_bound_decides_as_the_square_root(threshold, seed):
    """``_window_var(...) < _still_bound(thr)`` exactly when ``_window_sd(...) < thr``, i.e. for
    every variance sum v >= 0: ``v < bound`` iff ``sqrt(v) < thr`` (the square root is correctly
    rounded and monotone), checked at and around the bound and on window variances."""
    bound = _kernels._still_bound(threshold)
    sums = [0.0, 5e-324, 1e-300, 1.0, 1.7e308, math.inf]
    if math.isfinite(bound) and bound > 0.0:
        v = bound
        for _ in range(3):
            v = np.nextafter(v, 0.0)
        for _ in range(7):  # three floats below the bound, the bound, three above
            sums.append(float(v))
            v = np.nextafter(v, math.inf)
    if threshold == threshold and 0.0 < threshold < 1e150:
        sums += [threshold * threshold, float(np.nextafter(threshold * threshold, 0.0))]
    for v in sums:
        assert (v < bound) == (math.sqrt(v) < threshold), (v, bound)
    x = np.random.default_rng(seed).normal(0, 0.01, (40, 3)) + np.array([0.0, 0.0, 1.0])
    for i in range(40):
        assert (_kernels._window_var(x, i, 2) < bound) == (_kernels._window_sd(x, i, 2) < threshold)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), r=st.integers(0, 8), run_n=st.integers(1, 4), p_still=st.sampled_from([0.3, 0.5, 0.8]))
def test_trim_still_matches_naive(naive, seed, r, run_n, p_still):
    rng = np.random.default_rng(seed)
    t = 3.0 + np.arange(200) * 0.04
    # stretches of stillness (0.003 g) and movement (0.1 g) in runs of 1-12 samples
    moving = np.repeat(rng.random(60) > p_still, rng.integers(1, 12, 60))[:200]
    moving = np.concatenate([moving, np.zeros(200 - moving.shape[0], bool)])
    x = np.array([0.0, 0.0, 1.0]) + rng.normal(0, 1, (200, 3)) * np.where(moving, 0.1, 0.003)[:, None]
    threshold = 0.02
    rows = []
    for _ in range(r):
        a = int(rng.integers(0, 190))
        b = int(rng.integers(a, 200))
        dur = (b - a + 1) * 0.04
        pause = float(rng.uniform(0, dur))
        first = float(rng.uniform(0, dur - pause))
        rows.append([t[a] - 0.02, t[b] + 0.02, first, dur - pause - first, pause, 0.3, 1.0])
    got = np.array(rows).reshape(-1, 7)
    known = got.copy()  # the same rows trimmed with their _still_edges given, as the grouping passes them
    edges = np.array([_kernels._still_edges(t, x, 2, threshold, row[0], row[1], 0.04, run_n) for row in known],
                     np.int64).reshape(-1, 4)
    _kernels._trim_still(t, x, 2, threshold, got, 0.04, run_n, np.full((got.shape[0], 4), -1, np.int64))
    _kernels._trim_still(t, x, 2, threshold, known, 0.04, run_n, edges)
    want = naive.trim_still(list(t), naive.still_mask(x, 2, threshold), rows, 0.04, run_n)
    assert known.tolist() == got.tolist()
    if rows:
        np.testing.assert_allclose(got, np.array(want), rtol=1e-12, atol=1e-12)
        # phases and pause still tile each rep, and no rep grows
        np.testing.assert_allclose(got[:, 2] + got[:, 3] + got[:, 4], got[:, 1] - got[:, 0], atol=1e-9)
        assert (got[:, 0] >= np.array(rows)[:, 0] - 1e-12).all() and (got[:, 1] <= np.array(rows)[:, 1] + 1e-12).all()


@pytest.mark.parametrize("median_deg, last_deg, dropped", [(75.0, 20.0, True), (75.0, 40.0, False), (30.0, 5.0, True),
                                                            (30.0, 15.0, False), (8.0, 0.5, False), (5.0, 30.0, True)])
def test_group_reps_drops_an_edge_rep_that_turns_the_forearm_unlike_the_set(median_deg, last_deg, dropped):
    # docs/TUT.md "Sets": both ways; the low side only when the set's reps turn the forearm
    # (curls, raises), never for barbell sets whose median is at most rotation_min_deg
    n = 8
    start = np.arange(n) * 2.5
    end = start + 2.0
    rot = np.full(n, median_deg)
    rot[-1] = last_deg
    gid = _kernels._group_reps(start, end, end - start, np.full(n, 0.3), np.ones(n, np.int64), 4.0, 1.6, 1.8, rot, 2.5, 20.0, 0.25, 0.0, *_NO_POSTURE, *_no_fragments(start))
    assert (gid[-1] == -1) == dropped and (gid[:-1] == 0).all()


def test_group_reps_splits_a_rhythm_at_an_inner_handling_move():
    # walking steps, a long set-up move turning the forearm 180 deg, then the set: the
    # steps are judged apart from the set, not against a reference they pull down
    start = np.array([0.0, 2.5, 5.0, 12.5, 15.0, 17.5, 20.0, 22.5, 25.0])
    end = start + 2.1
    end[2] = 12.1  # the set-up move lasts 7 s
    travel = np.array([0.15, 0.11, 0.17, 0.24, 0.24, 0.25, 0.24, 0.24, 0.23])
    rot = np.array([4.6, 2.3, 178.8, 14.7, 15.6, 16.2, 16.1, 18.2, 16.4])
    keep = np.ones(9, np.int64)
    gid = _kernels._group_reps(start, end, end - start, travel, keep, 4.0, 1.6, 1.8, rot, 2.5, 20.0, 0.25, 0.0, *_NO_POSTURE, *_no_fragments(start))
    assert gid[2] == -1 and len(set(gid[3:].tolist())) == 1 and gid[3] >= 0
    assert gid[0] != gid[3] and gid[1] != gid[3]
    # an inner rep that turns like the others (curls: every rep ~75 deg) splits nothing
    gid = _kernels._group_reps(start, end, end - start, travel, keep, 4.0, 1.6, 1.8, np.full(9, 75.0), 2.5, 20.0, 0.25, 0.0, *_NO_POSTURE, *_no_fragments(start))
    assert gid[2] in (-1, gid[3]) and len(set(gid[3:].tolist())) == 1


def test_group_reps_splits_a_rhythm_at_an_inner_move_three_times_as_long():
    # a simulated session (seed 1011): walking from the recording start, a 7.3 s walk-and-set-up
    # move, a 5.6 s set-up, then six rows and the re-rack; no move turns the forearm much, so
    # only its duration tells the 7.3 s move from the rhythm's reps (median 2.4 s)
    dur = np.array([2.80, 7.28, 5.64, 2.28, 1.92, 2.68, 2.40, 2.36, 3.16, 2.08])
    start = np.array([0.11, 3.23, 10.99, 16.91, 19.59, 21.79, 24.75, 27.51, 30.15, 33.55])
    end = start + dur
    travel = np.array([0.090, 0.134, 0.115, 0.136, 0.135, 0.119, 0.117, 0.104, 0.115, 0.159])
    rot = np.array([7.9, 5.5, 13.7, 16.1, 15.7, 15.8, 16.3, 15.8, 18.1, 11.3])
    keep = np.ones(10, np.int64)
    off = _kernels._group_reps(start, end, dur, travel, keep, 4.0, 1.6, 1.8, rot, 2.5, 20.0, 0.25, 0.0, *_NO_POSTURE, *_no_fragments(start))
    assert list(off) == [0] * 10  # the walk's steps pull the set into one rhythm
    gid = _kernels._group_reps(start, end, dur, travel, keep, 4.0, 1.6, 1.8, rot, 2.5, 20.0, 0.25, 3.0, *_NO_POSTURE, *_no_fragments(start))
    assert gid[1] == -1 and gid[2] == -1  # the move, then the set-up as the set's unlike first rep
    assert len(set(gid[3:].tolist())) == 1 and gid[3] >= 0 and gid[0] != gid[3]
    # a grinding inner rep of 2.5x the median (a sticking point) stays in its set
    dur2 = np.full(7, 2.0)
    dur2[3] = 5.0
    start2 = np.cumsum(dur2 + 0.5) - dur2
    gid2 = _kernels._group_reps(start2, start2 + dur2, dur2, np.full(7, 0.3), np.ones(7, np.int64), 4.0, 1.6, 1.8,
                                np.full(7, 3.0), 2.5, 20.0, 0.25, 3.0, *_NO_POSTURE, *_no_fragments(start2))
    assert list(gid2) == [0] * 7


@settings(max_examples=60, deadline=None)
@given(xs=st.lists(st.sampled_from([-1.5, -0.0, 0.0, 0.25, 1.0, 2.0, 7.5]) | st.floats(-1e3, 1e3), min_size=1,
                   max_size=70), seed=st.integers(0, 1000))
def test_median_at_is_the_median_of_the_picked_values(xs, seed):
    from statistics import median

    v = np.array(xs)
    idx = np.random.default_rng(seed).permutation(len(xs))[:max(1, len(xs) // 2 + seed % 3)]
    got = _kernels._median_at(v, idx.astype(np.int64), np.empty(48))
    assert got == median(v[idx].tolist())  # exact: the same two middle values


@settings(max_examples=40, deadline=None)
@given(sizes=st.lists(st.integers(0, 6), min_size=0, max_size=8), seed=st.integers(0, 1000))
def test_group_members_are_flatnonzero_per_group(sizes, seed):
    rng = np.random.default_rng(seed)
    gid = []
    for k, size in enumerate(sizes):
        for _ in range(size):
            gid += [-1] * int(rng.integers(0, 3)) + [k]
    gid = np.array(gid + [-1], np.int64)
    members, starts = _kernels._group_members(gid, len(sizes))
    for k in range(len(sizes)):
        assert members[starts[k]:starts[k + 1]].tolist() == np.flatnonzero(gid == k).tolist()
