"""Differential tests: dsp kernels == their naive twins; validation of the public wrappers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from repsense.dsp import Resampler, bandpass_sos, check_samples, filtfilt_sos, highpass1_sos
from repsense.dsp import _kernels
from repsense.errors import InputError, SamplingRateError


def _irregular_times(seed: int, n: int, rate_hz: float, gap_at: int | None = None, gap_s: float = 0.0):
    rng = np.random.default_rng(seed)
    dt = (1.0 / rate_hz) * rng.uniform(0.5, 1.5, n)
    if gap_at is not None and 0 < gap_at < n:
        dt[gap_at] += gap_s
    return 3.0 + np.cumsum(dt), rng.normal(0, 1, (n, 3))


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 120), rate=st.sampled_from([12.5, 25.0, 50.0, 100.0, 200.0]),
       gap_at=st.integers(0, 119), gap_s=st.sampled_from([0.0, 0.5, 7.0]), tau=st.sampled_from([0.0, 0.032]))
def test_resample_matches_naive(naive, seed, n, rate, gap_at, gap_s, tau):
    t, x = _irregular_times(seed, n, rate, gap_at, gap_s)
    r = Resampler(25.0, 5.0, tau)
    gt, gx, br = r.update(t, x)
    nt, nx, nb = naive.resample_linear(t, x, 1 / 25.0, 5.0, tau)
    assert gt.shape[0] == len(nt)
    np.testing.assert_allclose(gt, nt, rtol=0, atol=1e-12)
    if len(nt):
        np.testing.assert_allclose(gx, np.asarray(nx), rtol=1e-12, atol=1e-12)
    assert list(br) == nb


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(2, 150), cuts=st.lists(st.integers(1, 149), max_size=6))
def test_resample_chunking_is_exact(seed, n, cuts):
    t, x = _irregular_times(seed, n, 12.5, n // 2, 6.0)
    whole = Resampler(25.0, 5.0, 0.032).update(t, x)
    r = Resampler(25.0, 5.0, 0.032)
    parts_t, parts_x, parts_b, off = [], [], [], 0
    edges = [0, *sorted(set(c for c in cuts if c < n)), n]
    for a, b in zip(edges[:-1], edges[1:]):
        gt, gx, br = r.update(t[a:b], x[a:b])
        parts_t.append(gt), parts_x.append(gx), parts_b.extend(int(v) + off for v in br)
        off += gt.shape[0]
    assert np.array_equal(np.concatenate(parts_t), whole[0])
    assert np.array_equal(np.concatenate(parts_x), whole[1])
    assert parts_b == list(whole[2])


def test_resample_grid_is_uniform_and_restarts_after_gap():
    t = np.r_[np.arange(0, 2, 0.08), np.arange(10, 12, 0.08)]
    x = np.zeros((t.shape[0], 3))
    gt, gx, br = Resampler(25.0, 5.0, 0.0).update(t, x)
    assert list(br) == [0, int(np.searchsorted(gt, 10.0))]
    seg1 = gt[: br[1]]
    np.testing.assert_allclose(np.diff(seg1), 0.04, atol=1e-12)
    assert gt[br[1]] == 10.0


def test_resample_rejects_a_block_that_goes_back_in_time():
    r = Resampler(25.0, 5.0, 0.0)
    r.update(np.array([0.0, 0.1]), np.zeros((2, 3)))
    with pytest.raises(InputError, match="sample 0: 0.05 after the previous block"):
        r.update(np.array([0.05]), np.zeros((1, 3)))
    # the rejected block is not consumed: a good block continues as if it never came
    ref = Resampler(25.0, 5.0, 0.0)
    ref.update(np.array([0.0, 0.1]), np.zeros((2, 3)))
    good = np.array([0.2, 0.3]), np.ones((2, 3))
    assert all(np.array_equal(a, b) for a, b in zip(r.update(*good), ref.update(*good)))


@pytest.mark.parametrize("t,x,match", [
    ([0.0, np.nan], np.zeros((2, 3)), "timestamp 1 is not finite"),
    ([0.0, 0.1, 0.1], np.zeros((3, 3)), "sample 2: 0.1 after 0.1"),
    ([0.0, 0.1], [[0, 0, 1], [0, np.nan, 1]], "sample 1 is not finite"),
])
def test_resample_names_the_bad_sample(t, x, match):
    with pytest.raises(InputError, match=match):
        Resampler(25.0, 5.0, 0.0).update(np.array(t, float), np.array(x, float))


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(2, 200), n_pad=st.integers(0, 80),
       band=st.sampled_from([(0.2, 1.5), (0.5, 3.0), (1.0, 10.0)]))
def test_filtfilt_matches_naive(naive, seed, n, n_pad, band):
    x = np.random.default_rng(seed).normal(0, 1, n)
    sos = bandpass_sos(band[0], band[1], 25.0)
    np.testing.assert_allclose(filtfilt_sos(x, sos, n_pad), naive.sosfilt_fb(x, sos, n_pad), rtol=1e-9, atol=1e-9)
    hp = highpass1_sos(0.2, 25.0)
    np.testing.assert_allclose(filtfilt_sos(x, hp, n_pad), naive.sosfilt_fb(x, hp, n_pad), rtol=1e-9, atol=1e-9)


def test_bandpass_passes_band_and_blocks_dc():
    fs = 25.0
    t = np.arange(0, 60, 1 / fs)
    sos = bandpass_sos(0.2, 1.5, fs)
    inband = filtfilt_sos(np.sin(2 * np.pi * 0.6 * t) + 5.0, sos, 125)
    mid = slice(250, -250)
    assert abs(np.std(inband[mid]) - np.std(np.sin(2 * np.pi * 0.6 * t[mid]))) < 0.1
    assert abs(np.mean(inband[mid])) < 0.05
    high = filtfilt_sos(np.sin(2 * np.pi * 8.0 * t), sos, 125)
    assert np.std(high[mid]) < 0.05


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 1000), n=st.integers(0, 50))
def test_norm3_matches_naive(naive, seed, n):
    x = np.random.default_rng(seed).normal(0, 2, (n, 3))
    np.testing.assert_allclose(_kernels._norm3(x), naive.norm3(x), rtol=1e-12)


@pytest.mark.parametrize("bad,match", [
    (np.array([[0.0, np.nan, 1.0]]), "not finite"),
    (np.array([[0.0, np.inf, 1.0]]), "not finite"),
])
def test_check_samples_rejects_non_finite(bad, match):
    with pytest.raises(InputError, match=match):
        check_samples(np.array([0.0]), bad, "accel")


def test_check_samples_rejects_shapes_order_and_dtype():
    with pytest.raises(InputError, match=r"\(n, 3\)"):
        check_samples(np.arange(3.0), np.zeros((3, 2)), "accel")
    with pytest.raises(InputError, match="strictly increase"):
        check_samples(np.array([0.0, 1.0, 1.0]), np.zeros((3, 3)), "accel")
    with pytest.raises(InputError, match="timestamp 1 is not finite"):
        check_samples(np.array([0.0, np.nan]), np.zeros((2, 3)), "accel")
    with pytest.raises(TypeError):
        check_samples(np.array(["a", "b"]), np.zeros((2, 3)), "accel")


def test_filter_design_rejects_bands_above_nyquist():
    with pytest.raises(SamplingRateError):
        bandpass_sos(0.2, 20.0, 25.0)
    with pytest.raises(SamplingRateError):
        highpass1_sos(0.0, 25.0)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 1000), n=st.one_of(st.integers(1, 200), st.integers(500, 4000)), q=st.floats(0, 100),
       shape=st.sampled_from(["noise", "ties", "zeros", "sorted", "periodic"]))
def test_abs_percentile_matches_numpy(naive, seed, n, q, shape):
    x = np.random.default_rng(seed).normal(0, 1, n)
    if shape == "ties":
        x = np.round(x)  # many ties: the selection must still find the same order statistics
    elif shape == "zeros":
        x[: n // 2] = 0.0
    elif shape == "sorted":
        x = np.sort(x)  # the 1-in-8 sample of long inputs sees a biased picture: still exact
    elif shape == "periodic":
        x = np.sin(np.arange(n) * 2 * np.pi / 8.0 + 0.3) * (1 + 0.01 * x)  # aliased by the sample
    got = _kernels._abs_percentile(x, q)
    assert got == naive.abs_percentile(x, q)  # the same two order statistics: bit-identical
    assert got == pytest.approx(np.percentile(np.abs(x), q), rel=1e-12, abs=1e-12)
    if n >= 1024:  # a strided view (value by value, not four at a time)
        assert _kernels._abs_percentile(x[::2], q) == naive.abs_percentile(x[::2], q)


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 700), k_frac=st.floats(0, 1),
       kind=st.sampled_from(["normal", "few values", "constant", "rounded", "huge", "one outlier"]))
def test_order_stats2_matches_naive(naive, seed, n, k_frac, kind):
    """The bucketed selection gives the two order statistics of a sort, ties, constant runs,
    spans that overflow and lone outliers (one full bucket) included."""
    rng = np.random.default_rng(seed)
    a = {"normal": lambda: rng.normal(size=n), "few values": lambda: rng.integers(0, 4, n).astype(float),
         "constant": lambda: np.full(n, 0.25), "rounded": lambda: np.round(rng.normal(size=n), 1),
         "huge": lambda: rng.choice([-1.0, 1.0], n) * 1.5e308 * rng.uniform(0.5, 1, n),
         "one outlier": lambda: np.r_[rng.normal(size=n - 1), 1e12]}[kind]()
    k = min(int(k_frac * n), n - 1)
    got = _kernels._order_stats2(a.copy(), k)
    assert got == naive.order_stats2(a, k)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(2, 160), n_pad=st.integers(0, 140))
def test_vertical_displacement_matches_naive_and_the_separate_kernels(naive, seed, n, n_pad):
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 0.2, (n, 3)) + np.array([0.0, 0.0, 1.0])
    band, hp = bandpass_sos(0.2, 1.5, 25.0), highpass1_sos(0.2, 25.0)
    a_up, z = _kernels._vertical_displacement(x, band, hp, n_pad, 0.04, 9.80665)
    ref_a, ref_z = naive.vertical_displacement(x, band, hp, n_pad, 0.04, 9.80665)
    np.testing.assert_allclose(a_up, ref_a, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(z, ref_z, rtol=1e-7, atol=1e-12)
    # the fused kernel does exactly what composing the separate kernels does
    sep_a = _kernels._sosfilt_fb(_kernels._norm3(x), band, n_pad) * 9.80665
    sep_v = _kernels._sosfilt_fb(np.cumsum(sep_a) * 0.04, hp, n_pad)
    sep_z = _kernels._sosfilt_fb(np.cumsum(sep_v) * 0.04, hp, n_pad)
    assert np.array_equal(a_up, sep_a) and np.array_equal(z, sep_z)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(2, 120), n_pad=st.integers(0, 100))
def test_filtfilt_axes_matches_naive(naive, seed, n, n_pad):
    from repsense.dsp import _filtfilt_axes

    x = np.random.default_rng(seed).normal(0, 1, (n, 5))
    band, hp = bandpass_sos(0.2, 1.5, 25.0), highpass1_sos(0.2, 25.0)
    for sos, cols in ((band, 3), (hp, 1), (band, 5), (np.vstack([band, hp]), 3)):  # lanes, and the general path
        got = _filtfilt_axes(x[:, :cols], sos, n_pad)
        assert got.shape == (cols, n) and got.flags.c_contiguous
        for j in range(cols):
            np.testing.assert_allclose(got[j], naive.sosfilt_fb(x[:, j], sos, n_pad), rtol=1e-9, atol=1e-9)
            assert np.array_equal(got[j], _kernels._sosfilt_fb(x[:, j].copy(), sos, n_pad))


def test_first_nonfinite_row():
    x = np.zeros((6, 3), np.float32)
    assert _kernels._first_nonfinite_row(x) == -1
    x[4, 2] = np.inf
    x[5, 0] = np.nan
    assert _kernels._first_nonfinite_row(x) == 4
    assert _kernels._first_nonfinite_row(x[:, :2]) == 5  # strided view


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_resample_checks_extra_in_the_same_pass(dtype):
    t = np.arange(40) * 0.01
    x = np.zeros((40, 3), dtype)
    g = np.zeros((40, 6), dtype)[:, 3:]  # a strided view, as the gyro half of 6-axis rows
    r = Resampler(25.0, 5.0, 0.0)
    ref = Resampler(25.0, 5.0, 0.0).update(t, x)
    got = r.update(t, x, extra=g, extra_name="gyro")
    assert all(np.array_equal(u, v) for u, v in zip(got, ref))
    for bad_row, extra_row, match in [(None, 17, "gyro: sample 17"), (5, 17, "gyro: sample 17"),
                                      (17, None, "accel: sample 17"), (20, 17, "gyro: sample 17")]:
        xb, gb = x.copy(), g.copy()
        if bad_row is not None:
            xb[bad_row, 1] = np.nan
        if extra_row is not None:
            gb[extra_row, 2] = -np.inf
        r = Resampler(25.0, 5.0, 0.0)
        with pytest.raises(InputError, match=match):
            r.update(t, xb, "accel", extra=gb, extra_name="gyro")
        assert not r._state[0]  # not consumed
    with pytest.raises(InputError, match="gyro: want"):
        Resampler(25.0, 5.0, 0.0).update(t, x, extra=g[:5], extra_name="gyro")


def _laid_out(a: np.ndarray, layout: str) -> np.ndarray:
    """``a`` (n, c) as a view with the same values: rows of a wider array (as the accel and
    gyro of one (n, 6) recording), Fortran order, or columns in reverse memory order."""
    if layout == "wide":
        wide = np.zeros((a.shape[0], a.shape[1] + 3), a.dtype)
        wide[:, 1:1 + a.shape[1]] = a
        return wide[:, 1:1 + a.shape[1]]
    if layout == "fortran":
        return np.asfortranarray(a)
    if layout == "reversed":
        return np.ascontiguousarray(a[:, ::-1])[:, ::-1]
    return a


@settings(max_examples=150, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 80), n_extra=st.sampled_from([0, 1, 2, 3, 3, 4]),
       f32=st.booleans(), layout=st.sampled_from(["c", "wide", "fortran", "reversed"]),
       faults=st.lists(st.tuples(st.sampled_from(["t", "x", "extra", "order", "gap"]), st.integers(0, 79),
                                 st.sampled_from([np.nan, np.inf, -np.inf])), max_size=3))
def test_resample_reports_the_first_bad_sample(naive, seed, n, n_extra, f32, layout, faults):
    """The first bad sample is named whatever the dtype, the memory layout (the kernel reads
    a row's values in one vector load) and the number of extra columns (3 are checked in the
    kernel's pass, others by the wrapper: the extra's problem first, wherever it is)."""
    t, x = _irregular_times(seed, n, 100.0)
    dtype = np.float32 if f32 else np.float64
    x = x.astype(dtype)
    extra = np.random.default_rng(seed).normal(0, 50, (n, n_extra)).astype(dtype) if n_extra else None
    for kind, row, value in faults:
        row %= n
        if kind == "t":
            t[row] = value
        elif kind == "x":
            x[row, row % 3] = value
        elif kind == "extra" and extra is not None:
            extra[row, (row + 1) % n_extra] = value
        elif kind == "order" and row > 0:
            t[row] = t[row - 1]
        elif kind == "gap":
            t[row:] += 6.0
    bad, code = naive.first_bad_sample(t, x, extra)
    x = _laid_out(x, layout)
    extra = _laid_out(extra, layout) if extra is not None else None
    r = Resampler(25.0, 5.0, 0.032)
    if bad < 0:
        gt, gx, br = r.update(t, x, "accel", extra=extra, extra_name="gyro")
        nt, nx, nb = naive.resample_linear(t, x, 1 / 25.0, 5.0, 0.032)
        assert np.array_equal(gt, nt) and list(br) == nb
        np.testing.assert_allclose(gx, np.asarray(nx), rtol=1e-12, atol=1e-12)
        return
    match = {4: f"gyro: sample {bad} is not finite", 1: f"accel: timestamp {bad} is not finite",
             3: f"accel: sample {bad} is not finite", 2: f"accel: timestamps must strictly increase \\(sample {bad}:"}[code]
    with pytest.raises(InputError, match=match):
        r.update(t, x, "accel", extra=extra, extra_name="gyro")
    assert not r._state.any()  # nothing consumed


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), lengths=st.lists(st.integers(2, 300), min_size=0, max_size=11))
def test_vertical_displacements_of_many_stretches(seed, lengths):
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 0.2, (sum(lengths) + 5, 3)) + np.array([0.0, 0.0, 1.0])
    starts = np.cumsum([0, *lengths[:-1]]).astype(np.int64) if lengths else np.zeros(0, np.int64)
    stops = starts + np.array(lengths, np.int64)
    band, hp = bandpass_sos(0.2, 1.5, 25.0), highpass1_sos(0.2, 25.0)
    order = np.argsort(stops - starts, kind="stable").astype(np.int64)
    a_up, z, offs = _kernels._vertical_displacements(x, starts, stops, order, band, hp, 125, 0.04, 9.80665)
    assert offs[-1] == sum(lengths)
    for j, (lo, hi) in enumerate(zip(starts, stops)):
        ra, rz = _kernels._vertical_displacement(x[lo:hi], band, hp, 125, 0.04, 9.80665)
        assert np.array_equal(a_up[offs[j]:offs[j + 1]], ra) and np.array_equal(z[offs[j]:offs[j + 1]], rz)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), lengths=st.lists(st.integers(2, 60), min_size=4, max_size=4),
       n_pad=st.integers(0, 70))
def test_odd_padding_of_four_lanes(naive, seed, lengths, n_pad):
    """_pad_odd4 pads each column as the twin pads one signal (the same paddings four lanes
    at a time, others lane by lane), and writes nothing past a column's padded signal."""
    rng = np.random.default_rng(seed)
    n_lane = np.array(lengths, np.int64)
    p_lane = np.minimum(n_pad, n_lane - 1)
    y = np.full((int((n_lane + 2 * p_lane).max()) + 3, 4), np.nan)
    for lane in range(4):
        y[p_lane[lane]:p_lane[lane] + n_lane[lane], lane] = rng.normal(0, 1, n_lane[lane])
    signals = [y[p_lane[lane]:p_lane[lane] + n_lane[lane], lane].copy() for lane in range(4)]
    _kernels._pad_odd4(y, n_lane, p_lane)
    for lane in range(4):
        m = n_lane[lane] + 2 * p_lane[lane]
        assert y[:m, lane].tolist() == naive.pad_odd(signals[lane], int(p_lane[lane]))
        assert np.isnan(y[m:, lane]).all()


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), lengths=st.lists(st.integers(1, 60), min_size=4, max_size=4),
       paddings=st.lists(st.integers(0, 9), min_size=4, max_size=4), same=st.booleans())
def test_store_lanes_copies_each_columns_signal(seed, lengths, paddings, same):
    """_store_lanes == copying each column's signal rows to its offset one by one (the rows
    all lanes have four at a time), nothing else written."""
    rng = np.random.default_rng(seed)
    n_lane = np.array(lengths, np.int64)
    p_lane = np.full(4, paddings[0], np.int64) if same else np.array(paddings, np.int64)
    y = rng.normal(0, 1, (int((n_lane + 2 * p_lane).max()), 4))
    offsets = np.cumsum([3, *lengths[:-1]]).astype(np.int64) + np.arange(4)  # gaps between
    out = np.full(int(offsets[-1] + n_lane[-1] + 2), np.nan)
    want = out.copy()
    for lane in range(4):
        for i in range(n_lane[lane]):
            want[offsets[lane] + i] = y[p_lane[lane] + i, lane]
    _kernels._store_lanes(y, p_lane, n_lane, out, offsets)
    assert np.array_equal(out, want, equal_nan=True)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), lengths=st.lists(st.integers(2, 400), min_size=8, max_size=8),
       n_pad=st.integers(0, 140), n_groups=st.sampled_from([1, 2]))
def test_two_groups_of_four_lanes_are_single_stretches(naive, seed, lengths, n_pad, n_groups):
    """Eight stretches (or four) through the vector lanes == one _vertical_displacement call
    each, bit for bit, whatever their lengths (also paddings that differ between lanes)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 0.2, (sum(lengths), 3)) + np.array([0.0, 0.0, 1.0])
    starts = np.cumsum([0, *lengths[:-1]]).astype(np.int64)
    stops = starts + np.array(lengths, np.int64)
    band, hp = bandpass_sos(0.2, 1.5, 25.0), highpass1_sos(0.2, 25.0)
    a_up, z = np.full(len(x), np.nan), np.full(len(x), np.nan)
    _kernels._vertical_displacement4x2(x, starts, stops, n_groups, band, hp, n_pad, 0.04, 9.80665, a_up, z,
                                       starts.copy())
    for j, (lo, hi) in enumerate(zip(starts, stops)):
        if j >= 4 * n_groups:
            assert np.isnan(a_up[lo:hi]).all() and np.isnan(z[lo:hi]).all()  # not written
            continue
        ra, rz = _kernels._vertical_displacement(x[lo:hi], band, hp, n_pad, 0.04, 9.80665)
        assert np.array_equal(a_up[lo:hi], ra) and np.array_equal(z[lo:hi], rz)  # bit-identical
    lo, hi = starts[0], stops[0]
    na, nz = naive.vertical_displacement(x[lo:hi], band, hp, n_pad, 0.04, 9.80665)
    np.testing.assert_allclose(a_up[lo:hi], na, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(z[lo:hi], nz, rtol=1e-7, atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), ma=st.integers(1, 60), mb=st.integers(0, 60),
       shifts=st.lists(st.integers(0, 7), min_size=8, max_size=8), backward=st.booleans(),
       first_order=st.booleans())
def test_vector_pass_of_two_groups_is_the_single_pass_per_column(naive, seed, ma, mb, shifts, backward, first_order):
    """_pass4x2: every column of both groups gets exactly _sos_pass (bit for bit; the naive
    twin within rounding), written shifted down by its own amount; the source is untouched."""
    rng = np.random.default_rng(seed)
    sos = highpass1_sos(0.2, 25.0) if first_order else bandpass_sos(0.2, 1.5, 25.0)
    ya, yb = rng.normal(0, 1, (ma, 4)), rng.normal(0, 1, (mb, 4))
    sha, shb = np.array(shifts[:4], np.int64), np.array(shifts[4:], np.int64)
    da, db = np.full((ma + 8, 4), np.nan), np.full((mb + 8, 4), np.nan)
    src_a, src_b = ya.copy(), yb.copy()
    _kernels._pass4x2(ya, da, sha, yb, db, shb, sos, backward)
    assert np.array_equal(ya, src_a) and np.array_equal(yb, src_b)
    for y, d, sh in ((src_a, da, sha), (src_b, db, shb)):
        for lane in range(4):
            ref = y[:, lane].copy()
            _kernels._sos_pass(ref, sos, backward)
            got = d[sh[lane]:sh[lane] + y.shape[0], lane]
            assert np.array_equal(got, ref)
            assert np.isnan(d[:sh[lane], lane]).all() and np.isnan(d[sh[lane] + y.shape[0]:, lane]).all()
            if y.shape[0]:
                np.testing.assert_allclose(got, naive.sos_pass(y[:, lane], sos, backward), rtol=1e-9, atol=1e-12)


def test_vector_lanes_are_the_scalar_operations():
    """The _simd intrinsics: each lane gets the IEEE operation of the scalar code (bits)."""
    from numba import njit

    from repsense.dsp._simd import (add4, fdiv, lane4, less4, load3, load3x4, load4, loadv4, make4, mul4, scatter4,
                                    splat4, sqrt4, store3, store4, sub4)

    @njit(cache=False)
    def rows3(x, i, out, j):
        v = load3(x, i)
        store3(out, j, v)
        return lane4(v, 3), fdiv(x[i, 0], x[i, 1])

    @njit(cache=False)
    def four(flat, i, out):
        store4(out, 0, loadv4(flat, i))

    flat = np.arange(9.0) / 7
    got4 = np.zeros((1, 4))
    four(flat, 3, got4)
    assert got4[0].tolist() == flat[3:7].tolist()
    four(flat[2:], 1, got4)  # a view: from its own first element
    assert got4[0].tolist() == flat[3:7].tolist()

    @njit(cache=False)
    def compare(a, b):
        return less4(make4(a[0], a[1], a[2], a[3]), make4(b[0], b[1], b[2], b[3]))

    bits = compare(np.array([1.0, np.nan, -2.0, 0.5]), np.array([2.0, 3.0, -2.0, np.nan]))
    assert bits == 0b0001  # as the scalar <: equal, NaN on either side -> False
    assert compare(np.array([-1.0, -2.0, -3.0, -4.0]), np.zeros(4)) == 15
    assert compare(np.array([0.0, 5.0, 0.0, 5.0]), np.array([1.0, 1.0, 1.0, 1.0])) == 0b0101

    @njit(cache=False)
    def columns(x, idx, out):
        c0, c1, c2 = load3x4(x, idx[0], idx[1], idx[2], idx[3])
        store4(out, 0, c0)
        store4(out, 1, c1)
        store4(out, 2, c2)

    wide = np.arange(24, dtype=np.float32).reshape(4, 6) / 7
    for x in (wide[:, :3], wide[:, 3:], np.ascontiguousarray(wide[:, 2:5], dtype=np.float64)):
        out = np.full((3, 3), -1.0)
        last, q = rows3(x, 3, out, 1)
        assert last == 0.0 and out[1].tolist() == x[3].astype(np.float64).tolist()  # widened exactly
        assert (out[[0, 2]] == -1.0).all() and q == float(x[3, 0]) / float(x[3, 1])
        idx = np.array([2, 0, 3, 2], np.int64)
        cols = np.full((3, 4), -1.0)
        columns(x, idx, cols)
        assert cols.tolist() == x[idx].astype(np.float64).T.tolist()  # make4 of each column, exactly

    @njit(cache=False)
    def ops(a, b, out, flat, idx):
        va = load4(a, 0)
        vb = make4(b[0], b[1], b[2], b[3])
        store4(out, 0, add4(va, vb))
        store4(out, 1, sub4(va, vb))
        store4(out, 2, mul4(va, vb))
        store4(out, 3, sqrt4(mul4(va, va)))
        store4(out, 4, splat4(b[1]))
        scatter4(out, idx[0], idx[1], idx[2], idx[3], vb)
        scatter4(flat, idx[3], idx[2], idx[1], idx[0], va)
        return lane4(va, 0) + lane4(va, 3)

    rng = np.random.default_rng(1)
    a = rng.normal(0, 1, (1, 4)) * 1e3
    b = rng.normal(0, 1, 4) / 7
    out = np.zeros((9, 4))
    flat = np.zeros(9)
    idx = np.array([7, 5, 6, 8], np.int64)
    got = ops(a, b, out, flat, idx)
    assert got == a[0, 0] + a[0, 3]
    assert np.array_equal(out[0], a[0] + b) and np.array_equal(out[1], a[0] - b)
    assert np.array_equal(out[2], a[0] * b) and np.array_equal(out[3], np.sqrt(a[0] * a[0]))
    assert np.array_equal(out[4], np.full(4, b[1]))
    assert [out[7, 0], out[5, 1], out[6, 2], out[8, 3]] == b.tolist()
    assert np.count_nonzero(out[5:]) == 4
    assert flat.tolist() == [0.0] * 5 + [a[0, 2], a[0, 1], a[0, 3], a[0, 0]]


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(2, 150), cuts=st.lists(st.integers(1, 149), max_size=6))
def test_resample_into_one_reused_buffer_is_exact(seed, n, cuts):
    """Blocks written one after another into a caller's buffer (``out_t``/``out_x``) give
    the same grid as fresh arrays, and every row beyond the grid is left untouched."""
    t, x = _irregular_times(seed, n, 12.5, n // 2, 6.0)
    whole = Resampler(25.0, 5.0, 0.032).update(t, x)
    r = Resampler(25.0, 5.0, 0.032)
    cap = 4 * n + 1000
    buf_t, buf_x = np.full(cap, -7.0), np.full((cap, 3), -7.0)
    edges, k = [0, *sorted(set(c for c in cuts if c < n)), n], 0
    for a, b in zip(edges[:-1], edges[1:]):
        assert r.max_grid_rows(t[a:b]) <= cap - k
        gt, gx, _ = r.update(t[a:b], x[a:b], out_t=buf_t[k:], out_x=buf_x[k:])
        assert gt.base is buf_t and gx.base is buf_x  # written in place
        k += gt.shape[0]
    assert np.array_equal(buf_t[:k], whole[0]) and np.array_equal(buf_x[:k], whole[1])
    assert (buf_t[k:] == -7.0).all() and (buf_x[k:] == -7.0).all()


def test_resample_rejects_an_output_buffer_too_small():
    t = np.arange(0, 10, 0.04)
    x = np.zeros((t.shape[0], 3))
    r = Resampler(25.0, 5.0, 0.0)
    m = r.max_grid_rows(t)
    with pytest.raises(InputError, match="cannot hold"):
        r.update(t, x, out_t=np.empty(m - 1), out_x=np.empty((m - 1, 3)))
    gt, _, _ = r.update(t, x, out_t=np.empty(m), out_x=np.empty((m, 3)))  # state untouched by the refusal
    assert np.array_equal(gt, Resampler(25.0, 5.0, 0.0).update(t, x)[0])


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(2, 150), cuts=st.lists(st.integers(1, 149), max_size=6),
       hole_min_s=st.sampled_from([0.05, 0.3, 1.0, math.inf]))
def test_resampler_counts_the_holes_signal_holes_lists(naive, seed, n, cuts, hole_min_s):
    """Per block, ``n_holes_`` is the number of holes the naive hole finder lists (intervals
    of ``hole_min_s`` to ``max_gap_s``, across block boundaries too): the detector lists them
    only for the blocks with some."""
    t, x = _irregular_times(seed, n, 12.5, n // 2, 6.0)
    r = Resampler(25.0, 5.0, 0.032, hole_min_s)
    edges, t_prev = [0, *sorted(set(c for c in cuts if c < n)), n], math.nan
    for a, b in zip(edges[:-1], edges[1:]):
        r.update(t[a:b], x[a:b])
        assert r.n_holes_ == len(naive.signal_holes(t[a:b], t_prev, hole_min_s, 5.0))
        t_prev = float(t[b - 1])


def test_kernels_reject_rows_whose_values_are_not_contiguous():
    """The vector row loads (one masked load per row) need the values of a row side by side:
    the kernels refuse anything else instead of reading the wrong values (the wrappers copy)."""
    from repsense.segment import _kernels as seg_kernels

    t = np.arange(6) * 0.01
    wide = np.zeros((6, 6))
    strided = wide[:, ::2]  # 3 columns, 16 bytes apart
    with pytest.raises(ValueError, match="contiguous"):
        _kernels._resample_linear(t, strided, strided, 0, np.zeros(7), np.empty(20), np.empty((20, 3)), 0.04, 5.0,
                                  0.0, np.inf)
    with pytest.raises(ValueError, match="contiguous"):
        seg_kernels._activity_sets(strided, np.zeros(1, np.int64), 0, np.zeros(seg_kernels.N_STATE), 0.1, 0.1,
                                   0.01, 0.001, 10, 5, 5, 100, 2**62)
    gt, gx, _ = Resampler(25.0, 5.0, 0.0).update(t, strided)  # the wrapper passes a copy
    assert gx.shape == (2, 3) and not gx.any()
