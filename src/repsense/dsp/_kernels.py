"""Numba kernels for signal processing (private: arrays in, arrays out; wrappers validate).

Every kernel has a slow, obviously-correct twin in ``tests/naive.py`` and a differential test.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .._jit import JIT
from ._simd import (add4, fdiv, lane4, less4, load3, load3x4, load4, loadv4, make4, mul4, scatter4, splat4, sqrt4,
                    store3, store4, sub4)


@njit(**JIT)
def _resample_linear(t_s, x, extra, n_extra, state, out_t, out_x, dt_grid_s, max_gap_s, tau_aa_s, min_hole_s):
    """Stateful resampler: irregular samples -> uniform grid (linear interpolation), with checks.

    A one-pole anti-alias low-pass runs on the raw samples first (backward Euler,
    ``alpha = dt / (tau_aa_s + dt)`` for each interval ``dt``, so it is the same filter at
    any rate), then the filtered signal is interpolated at the grid times
    ``origin + k * dt_grid_s``. A gap longer than ``max_gap_s`` restarts the grid at the next
    sample (origin := that sample time, filter state := that sample) and is reported as a
    break. Timestamps must be finite and strictly increasing (also across calls) and values
    finite: the first offending sample is reported (rows are checked one by one only when
    the filter state or a running sum shows that something is not finite). ``extra``
    (another stream on the same timestamps, e.g. the gyro) is only checked to be finite, in
    the same pass over the rows (its problems at a row are reported before the row's own).

    Parameters
    ----------
    t_s : float64 (n,).
    x : float32 or float64 (n, 3), rows of any stride, the values within a row contiguous
        (``strides[1] == itemsize``: a row is read in one masked vector load).
    extra : float32 or float64 (n, 3) to check, laid out as ``x``; ``x`` itself when
        ``n_extra`` is 0 (summed all the same: one branch less per row).
    n_extra : int, 3: ``extra`` is another stream; 0: none (the wrapper checks other column
        counts).
    state : float64 (>= 7,) ``[started, origin, k_next, t_prev, filtered x (3)]``, updated in
        place only on success (the caller restores it after an error); zeros at first.
    out_t : float64 (m,) grid times written here (m large enough, see wrapper).
    out_x : float64 (m, 3) grid values.
    dt_grid_s, max_gap_s, tau_aa_s : float
    min_hole_s : float, intervals between consecutive samples (this block's and the one from
        the previous block's last sample) with ``min_hole_s <= dt <= max_gap_s`` are counted
        (holes the grid bridges; ``inf``: none).

    Returns
    -------
    n_out : int, number of grid samples written.
    breaks : int64 (n_breaks,), output indices at which a new grid segment starts.
    bad_index : int, index of the first offending sample, or -1.
    bad_code : int, 0 ok, 1 non-finite time, 2 time not increasing, 3 non-finite value,
        4 non-finite ``extra`` value.
    n_holes : int, the intervals counted (valid when ``bad_code`` is 0).
    """
    n = x.shape[0]
    if n and (x.strides[1] != x.itemsize or (n_extra and extra.strides[1] != extra.itemsize)):
        raise ValueError("_resample_linear: the values within a row must be contiguous")
    n_out = 0
    breaks = np.empty(n + 1, np.int64)
    n_breaks = 0
    started = state[0] != 0.0
    origin = state[1]
    k_next = state[2]
    t_prev = state[3] if started else math.nan  # NaN: every comparison below is False
    # the filtered value at t_prev, the three axes in one vector register (lanes 0-2; every
    # lane gets the scalar operations, so the bits of one scalar filter per axis)
    f = make4(state[4], state[5], state[6], 0.0)
    ce = n_extra
    extra_acc = splat4(0.0)  # per-lane sums of extra: NaN or inf as soon as an extra value is
    tg = origin + k_next * dt_grid_s  # next grid time (kept, not recomputed per sample)
    n_holes = 0
    for i in range(n):
        ti = t_s[i]
        xi = load3(x, i)
        extra_acc = add4(extra_acc, load3(extra, i))  # (without an extra stream: x again, harmless)
        dt = ti - t_prev
        if dt > 0.0 and dt <= max_gap_s:  # the common case (started): no per-value tests
            n_holes += dt >= min_hole_s  # (a hole is always bridged here, never a restart)
            g = add4(f, mul4(splat4(fdiv(dt, tau_aa_s + dt)), sub4(xi, f)))  # f + alpha * (x - f)
            if tg <= ti:
                d = sub4(g, f)
                while tg <= ti:
                    out_t[n_out] = tg
                    store3(out_x, n_out, add4(f, mul4(splat4(fdiv(tg - t_prev, dt)), d)))  # f + w * (g - f)
                    n_out += 1
                    k_next += 1.0
                    tg = origin + k_next * dt_grid_s
            f = g
            t_prev = ti
            continue
        # rare: first sample, gap, or a time that is not finite or not increasing. A bad value
        # since the last restart has made the filter state NaN or inf (it stays so), a bad
        # extra value the sums: only then are the rows scanned for the first bad one.
        if not (math.isfinite(lane4(f, 0) + lane4(f, 1) + lane4(f, 2)) and _finite4(extra_acc) and math.isfinite(ti)
                and math.isfinite(lane4(xi, 0) + lane4(xi, 1) + lane4(xi, 2))):
            bad, code = _first_bad_row(t_s, x, extra, ce, i + 1)
            if bad >= 0:
                return n_out, breaks[:n_breaks].copy(), bad, code, n_holes
        if ti <= t_prev:  # (never before the first sample: t_prev is NaN)
            return n_out, breaks[:n_breaks].copy(), i, 2, n_holes
        # first sample, or after a gap: restart the grid here
        started = True
        origin = ti
        f = xi
        breaks[n_breaks] = n_out
        n_breaks += 1
        out_t[n_out] = ti
        store3(out_x, n_out, f)
        n_out += 1
        k_next = 1.0
        tg = origin + k_next * dt_grid_s
        t_prev = ti
    if n and not (math.isfinite(lane4(f, 0) + lane4(f, 1) + lane4(f, 2)) and _finite4(extra_acc)):
        bad, code = _first_bad_row(t_s, x, extra, ce, n)
        if bad >= 0:
            return n_out, breaks[:n_breaks].copy(), bad, code, n_holes
    if not started:  # no rows
        return n_out, breaks[:n_breaks].copy(), -1, 0, n_holes
    state[0] = 1.0
    state[1] = origin
    state[2] = k_next
    state[3] = t_prev
    state[4] = lane4(f, 0)
    state[5] = lane4(f, 1)
    state[6] = lane4(f, 2)
    return n_out, breaks[:n_breaks].copy(), -1, 0, n_holes


@njit(**JIT)
def _finite4(v):
    """Lanes 0-2 of the ``F64x4`` ``v`` are finite."""
    return math.isfinite(lane4(v, 0)) and math.isfinite(lane4(v, 1)) and math.isfinite(lane4(v, 2))


@njit(**JIT)
def _first_bad_row(t_s, x, extra, ce, stop):
    """First row before ``stop`` with a non-finite ``extra`` value (code 4), time (1) or
    value (3), checked in that order within a row: ``(row, code)``, or ``(-1, 0)``."""
    for i in range(stop):
        for j in range(ce):
            if not math.isfinite(extra[i, j]):
                return i, 4
        if not math.isfinite(t_s[i]):
            return i, 1
        for j in range(3):
            if not math.isfinite(x[i, j]):
                return i, 3
    return -1, 0


@njit(**JIT)
def _sosfilt_fb(x, sos, n_pad):
    """Zero-phase forward-backward filtering of a 1-d signal with second-order sections.

    Odd reflection of ``n_pad`` samples at both ends (as scipy's ``filtfilt`` pads), each
    direction started from rest after subtracting the padded signal's first value. The
    filter must block DC (high-pass or band-pass): the removed offset is not restored.

    Parameters
    ----------
    x : float64 (n,), n >= 2.
    sos : float64 (s, 6) rows ``b0 b1 b2 a0 a1 a2`` with ``a0 == 1``.
    n_pad : int, clipped to ``n - 1``.
    """
    n = x.shape[0]
    p = min(n_pad, n - 1)
    m = n + 2 * p
    y = np.empty(m)
    for i in range(p):
        y[i] = 2.0 * x[0] - x[p - i]
    for i in range(n):
        y[p + i] = x[i]
    for i in range(p):
        y[p + n + i] = 2.0 * x[n - 1] - x[n - 2 - i]
    for direction in range(2):
        if direction == 1:
            y = y[::-1].copy()
        y0 = y[0]
        for s in range(sos.shape[0]):
            b0, b1, b2, a1, a2 = sos[s, 0], sos[s, 1], sos[s, 2], sos[s, 4], sos[s, 5]
            z1 = 0.0
            z2 = 0.0
            for i in range(m):
                v = y[i] - y0 if s == 0 else y[i]
                o = b0 * v + z1
                z1 = b1 * v - a1 * o + z2
                z2 = b2 * v - a2 * o
                y[i] = o
            y0 = 0.0
    y = y[::-1].copy()
    return y[p:p + n].copy()


@njit(**JIT)
def _norm3(x):
    """Row-wise Euclidean norm of an (n, 3) array."""
    n = x.shape[0]
    out = np.empty(n)
    for i in range(n):
        out[i] = math.sqrt(x[i, 0] * x[i, 0] + x[i, 1] * x[i, 1] + x[i, 2] * x[i, 2])
    return out


@njit(**JIT)
def _integrate_highpass(x, dt_s, alpha):
    """Running integral (rectangle rule, ``dt_s``) followed by a first-order high-pass.

    ``y[i] = alpha * (y[i-1] + I[i] - I[i-1])`` with ``I`` the running integral, which is
    ``alpha * (y[i-1] + x[i] * dt_s)``; ``y[0] = 0``.
    """
    n = x.shape[0]
    y = np.empty(n)
    acc = 0.0
    for i in range(n):
        acc = alpha * (acc + x[i] * dt_s)
        y[i] = acc
    return y


@njit(**JIT)
def _select(a, k):
    """Partially order ``a`` in place so that ``a[k]`` is its k-th smallest value, every value
    before it ``<=`` and every value after it ``>=`` (Hoare partition quickselect, median of
    three pivots; equal values split evenly, so constant runs stay O(n)). ``a`` must be
    NaN-free. Returns ``a[k]``."""
    lo = 0
    hi = a.shape[0] - 1
    while hi > lo:
        mid = (lo + hi) >> 1
        if a[mid] < a[lo]:
            a[mid], a[lo] = a[lo], a[mid]
        if a[hi] < a[lo]:
            a[hi], a[lo] = a[lo], a[hi]
        if a[hi] < a[mid]:
            a[hi], a[mid] = a[mid], a[hi]
        pivot = a[mid]
        i = lo
        j = hi
        while i <= j:
            while a[i] < pivot:
                i += 1
            while a[j] > pivot:
                j -= 1
            if i <= j:
                a[i], a[j] = a[j], a[i]
                i += 1
                j -= 1
        # now a[lo..j] <= pivot <= a[i..hi] and every a[j+1..i-1] == pivot
        if k <= j:
            hi = j
        elif k >= i:
            lo = i
        else:
            break
    return a[k]


@njit(**JIT)
def _abs_percentile(x, q):
    """``q``-th percentile (0-100, linear interpolation, as numpy's default) of ``|x|``.

    O(n) selection of the two order statistics that the interpolation needs (the same
    values as a full sort, so the same result); ``x`` must be NaN-free. For long inputs a
    threshold just below the wanted rank is taken from a 1-in-8 sample, and only the values
    at or above it are kept for the selection (the values below are only counted).
    """
    n = x.shape[0]
    if n == 0:
        return np.nan
    pos = q / 100.0 * (n - 1)
    lo = int(math.floor(pos))
    hi = min(lo + 1, n - 1)
    frac = pos - lo
    k = -1  # rank of the wanted value within the kept values, -1: select among all
    if n >= 512:
        ns = n // 8
        smp = np.empty(ns)
        for i in range(ns):
            smp[i] = abs(x[8 * i])
        # a rank below the wanted one by 4 standard deviations of a sample quantile's rank
        f = lo / n
        r = int(f * ns - 4.0 * math.sqrt(ns * f * (1.0 - f)) - 2.0)
        if r > 0:
            thr = _order_stats2(smp, r)[0]
            kept = np.empty(n)
            n_kept = 0
            # four values at a time: most blocks have all four below thr (-thr < x < thr,
            # that is |x| < thr, x NaN-free) and are only counted; the others value by value
            i = 0
            if x.strides[0] == x.itemsize:
                inside_hi = splat4(thr)
                inside_lo = splat4(-thr)
                while i + 4 <= n:
                    v4 = loadv4(x, i)
                    if (less4(v4, inside_hi) & less4(inside_lo, v4)) != 15:
                        for q in range(i, i + 4):
                            v = abs(x[q])
                            kept[n_kept] = v
                            n_kept += v >= thr
                    i += 4
            for q in range(i, n):  # without a branch: always written, kept when >= thr
                v = abs(x[q])
                kept[n_kept] = v
                n_kept += v >= thr
            n_below = n - n_kept
            if n_below <= lo:  # the wanted values are among the kept ones
                k = lo - n_below
                a = kept[:n_kept]
    if k < 0:
        a = np.empty(n)
        for i in range(n):
            a[i] = abs(x[i])
        k = lo
    v_lo, v_hi = _order_stats2(a, k)
    if hi == lo:
        v_hi = v_lo
    return v_lo + (v_hi - v_lo) * frac


@njit(**JIT)
def _order_stats2(a, k):
    """The ``k``-th and ``(k + 1)``-th smallest values of the NaN-free ``a`` (the second is the
    first when ``k`` is the last rank); ``a`` may be reordered.

    One pass counts the values into ``n / 4`` equal-width buckets between the minimum and the
    maximum (the bucket of a value, ``int((v - min) * scale)``, never decreases as the value
    grows, so a bucket's values all rank after every earlier bucket's), and only the bucket
    holding rank ``k`` goes through :func:`_select`: a few values instead of all (quickselect's
    branches mispredict at every other value). Exact: the same two values as a full sort.
    Short arrays, or a span whose scale is not finite, are selected directly.
    """
    n = a.shape[0]
    mn = a[0]
    mx = a[0]
    for i in range(1, n):
        v = a[i]
        mn = min(mn, v)
        mx = max(mx, v)
    if mn == mx:
        return mn, mn
    nb = n >> 2
    scale = nb / (mx - mn)  # (mx - mn) may overflow to inf: then 0
    if n < 32 or not (scale > 0.0 and math.isfinite(scale)):
        v1 = _select(a, k)
        v2 = v1
        if k + 1 < n:  # the smallest value after the k-th is the (k+1)-th
            v2 = a[k + 1]
            for i in range(k + 2, n):
                v2 = min(v2, a[i])
        return v1, v2
    counts = np.zeros(nb + 1, np.int64)
    for i in range(n):
        counts[min(int((a[i] - mn) * scale), nb)] += 1
    below = 0  # values in the buckets before b
    b = 0
    while below + counts[b] <= k:
        below += counts[b]
        b += 1
    m = counts[b]
    tmp = np.empty(m)
    j = 0
    for i in range(n):  # without a branch: always written, kept when in bucket b
        v = a[i]
        tmp[j] = v
        j += min(int((v - mn) * scale), nb) == b
    kb = k - below
    v1 = _select(tmp, kb)
    if k + 1 >= n:
        return v1, v1
    if kb + 1 < m:
        v2 = tmp[kb + 1]
        for i in range(kb + 2, m):
            v2 = min(v2, tmp[i])
        return v1, v2
    v2 = math.inf  # the (k+1)-th is the smallest value of the later buckets
    for i in range(n):
        v = a[i]
        if min(int((v - mn) * scale), nb) > b:
            v2 = min(v2, v)
    return v1, v2


@njit(**JIT)
def _first_nonfinite_row(x):
    """Index of the first row of ``x`` (n, c) holding a NaN or infinity, or -1."""
    n, c = x.shape
    for i in range(n):
        for j in range(c):
            if not math.isfinite(x[i, j]):
                return i
    return -1


@njit(**JIT)
def _pad_odd(y, n, p):
    """Odd reflection in place: ``y[p:p + n]`` holds the signal; fill ``p`` samples each side
    (as :func:`_sosfilt_fb` pads)."""
    x0 = y[p]
    x1 = y[p + n - 1]
    for i in range(p):
        y[i] = 2.0 * x0 - y[2 * p - i]
    for i in range(p):
        y[p + n + i] = 2.0 * x1 - y[p + n - 2 - i]


@njit(**JIT)
def _pad_odd4(y, n_lane, p_lane):
    """:func:`_pad_odd` of each column ``l`` of the (m, 4) ``y`` (``n_lane[l]``, ``p_lane[l]``);
    the left paddings four lanes at a time when they agree (the same operations)."""
    p = p_lane[0]
    if p_lane[1] == p and p_lane[2] == p and p_lane[3] == p:
        x0 = load4(y, p)
        two = splat4(2.0)
        for i in range(p):
            store4(y, i, sub4(mul4(two, x0), load4(y, 2 * p - i)))
        for lane in range(4):
            n = n_lane[lane]
            x1 = y[p + n - 1, lane]
            for i in range(p):
                y[p + n + i, lane] = 2.0 * x1 - y[p + n - 2 - i, lane]
        return
    for lane in range(4):
        _pad_odd(y[:, lane], n_lane[lane], p_lane[lane])


@njit(**JIT)
def _sos_pass(y, sos, backward):
    """One direction of :func:`_sosfilt_fb` in place on all of ``y``: from rest, after
    subtracting the first value (in pass order). Two sections (the band-pass) run in one loop,
    the second consuming the first's output sample by sample; the operations on each sample
    are those of :func:`_sosfilt_fb`, so the result is bit-identical."""
    m = y.shape[0]
    start = m - 1 if backward else 0
    step = -1 if backward else 1
    y0 = y[start]
    if sos.shape[0] == 2:
        b0, b1, b2, a1, a2 = sos[0, 0], sos[0, 1], sos[0, 2], sos[0, 4], sos[0, 5]
        c0, c1, c2, d1, d2 = sos[1, 0], sos[1, 1], sos[1, 2], sos[1, 4], sos[1, 5]
        z1 = 0.0
        z2 = 0.0
        w1 = 0.0
        w2 = 0.0
        i = start
        for _ in range(m):
            v = y[i] - y0
            o = b0 * v + z1
            z1 = b1 * v - a1 * o + z2
            z2 = b2 * v - a2 * o
            u = c0 * o + w1
            w1 = c1 * o - d1 * u + w2
            w2 = c2 * o - d2 * u
            y[i] = u
            i += step
        return
    if sos.shape[0] == 1 and sos[0, 2] == 0.0 and sos[0, 5] == 0.0:
        # first-order section: the generic recursion's z2 is always a zero here, and adding
        # a zero changes at most the sign of a zero, so this gives the same values
        b0, b1, a1 = sos[0, 0], sos[0, 1], sos[0, 4]
        z1 = 0.0
        i = start
        for _ in range(m):
            v = y[i] - y0
            o = b0 * v + z1
            z1 = b1 * v - a1 * o
            y[i] = o
            i += step
        return
    for s in range(sos.shape[0]):
        b0, b1, b2, a1, a2 = sos[s, 0], sos[s, 1], sos[s, 2], sos[s, 4], sos[s, 5]
        z1 = 0.0
        z2 = 0.0
        i = start
        for _ in range(m):
            v = y[i] - y0 if s == 0 else y[i]
            o = b0 * v + z1
            z1 = b1 * v - a1 * o + z2
            z2 = b2 * v - a2 * o
            y[i] = o
            i += step


@njit(**JIT)
def _vertical_displacement(x, band_sos, hp_sos, n_pad, dt_s, g_m_s2):
    """Band-passed ``|x|`` (m/s^2) and its double integral (m), each integral high-passed.

    ``a_up = filtfilt(band_sos, |x|) * g``; ``v = filtfilt(hp_sos, cumsum(a_up) * dt)``;
    ``z = filtfilt(hp_sos, cumsum(v) * dt)`` (filtfilt = :func:`_sosfilt_fb`; ``x`` (n, 3),
    n >= 2). Returns ``(a_up, z)``, bit-identical to composing those kernels, in one work
    buffer without the intermediate copies and reversals.
    """
    n = x.shape[0]
    p = min(n_pad, n - 1)
    y = np.empty(n + 2 * p)
    for i in range(n):
        y[p + i] = math.sqrt(x[i, 0] * x[i, 0] + x[i, 1] * x[i, 1] + x[i, 2] * x[i, 2])
    _pad_odd(y, n, p)
    _sos_pass(y, band_sos, False)
    _sos_pass(y, band_sos, True)
    a_up = np.empty(n)
    for i in range(n):
        a_up[i] = y[p + i] * g_m_s2
    z = np.empty(n)
    src = a_up
    for _ in range(2):  # acceleration -> velocity -> displacement
        c = 0.0
        for i in range(n):
            c += src[i]
            y[p + i] = c * dt_s
        _pad_odd(y, n, p)
        _sos_pass(y, hp_sos, False)
        _sos_pass(y, hp_sos, True)
        for i in range(n):
            z[i] = y[p + i]
        src = z
    return a_up, z


@njit(**JIT)
def _vertical_displacements(x, starts, stops, order, band_sos, hp_sos, n_pad, dt_s, g_m_s2):
    """:func:`_vertical_displacement` of the stretches ``x[starts[j]:stops[j]]`` (each >= 2
    rows), four at a time in the given ``order`` (by length: similar lengths together) and
    two such groups side by side, see :func:`_vertical_displacement4x2`; a last group of fewer
    than four repeats its last stretch in the spare lanes. Needs :func:`_sos_fast` sections.

    Returns ``(a_up, z, offsets)``: stretch ``j``'s results are ``a_up[offsets[j]:offsets[j + 1]]``
    and likewise in ``z``, bit-identical to one :func:`_vertical_displacement` call each.
    """
    r = starts.shape[0]
    offsets = np.zeros(r + 1, np.int64)
    for j in range(r):
        offsets[j + 1] = offsets[j] + (stops[j] - starts[j])
    a_up = np.empty(offsets[r])
    z = np.empty(offsets[r])
    st8 = np.empty(8, np.int64)
    sp8 = np.empty(8, np.int64)
    of8 = np.empty(8, np.int64)
    for k in range(0, r, 8):
        for lane in range(8):
            j = order[min(k + lane, r - 1)]  # a spare lane recomputes (and rewrites) the last stretch
            st8[lane] = starts[j]
            sp8[lane] = stops[j]
            of8[lane] = offsets[j]
        _vertical_displacement4x2(x, st8, sp8, 2 if r - k > 4 else 1, band_sos, hp_sos, n_pad, dt_s, g_m_s2,
                                  a_up, z, of8)
    return a_up, z, offsets


@njit(**JIT)
def _pass4x2(ya, da, sha, yb, db, shb, sos, backward):
    """One direction of :func:`_sos_pass` on each column of ``ya`` (ma, 4) and of ``yb`` (mb,
    4), every column over all its rows (from row 0, or from the last row backwards), the
    result of row ``i`` of column ``l`` written to row ``i + sha[l]`` of the same column of
    ``da`` (``db``, ``shb``; ``da`` has room and is not ``ya``). ``ma >= 1``; ``mb`` may be 0
    (no second group). Only for two sections or one first-order section (see
    :func:`_sos_fast`).

    Each group's four recursions run in one vector register (:mod:`._simd`: every lane gets
    the operations of :func:`_sos_pass`, so the bits), and the two groups' recursions,
    independent dependency chains, are interleaved in one loop over their common length
    (then the longer group alone): the pass is bound by its chain's latency, which the two
    chains share. The shifted writes let each column's backward pass start at its own end
    (see :func:`_vertical_displacement4x2`).
    """
    ma = ya.shape[0]
    mb = yb.shape[0]
    step = -1 if backward else 1
    ia = ma - 1 if backward else 0
    ib = mb - 1 if backward else 0
    ya0 = load4(ya, ia)
    yb0 = load4(yb, ib) if mb > 0 else splat4(0.0)
    common = min(ma, mb)
    a0, a1, a2, a3 = sha[0], sha[1], sha[2], sha[3]
    e0, e1, e2, e3 = shb[0], shb[1], shb[2], shb[3]
    b0, b1, b2 = splat4(sos[0, 0]), splat4(sos[0, 1]), splat4(sos[0, 2])
    f1, f2 = splat4(sos[0, 4]), splat4(sos[0, 5])
    two = sos.shape[0] == 2
    c0, c1, c2 = b0, b1, b2
    d1, d2 = f1, f2
    if two:
        c0, c1, c2 = splat4(sos[1, 0]), splat4(sos[1, 1]), splat4(sos[1, 2])
        d1, d2 = splat4(sos[1, 4]), splat4(sos[1, 5])
    za1 = splat4(0.0)
    za2 = za1
    wa1 = za1
    wa2 = za1
    zb1 = za1
    zb2 = za1
    wb1 = za1
    wb2 = za1
    if not two:  # first order (b2 == a2 == 0): as _sos_pass's first-order loop
        for _ in range(common):
            va = sub4(load4(ya, ia), ya0)
            vb = sub4(load4(yb, ib), yb0)
            oa = add4(mul4(b0, va), za1)
            ob = add4(mul4(b0, vb), zb1)
            za1 = sub4(mul4(b1, va), mul4(f1, oa))
            zb1 = sub4(mul4(b1, vb), mul4(f1, ob))
            scatter4(da, ia + a0, ia + a1, ia + a2, ia + a3, oa)
            scatter4(db, ib + e0, ib + e1, ib + e2, ib + e3, ob)
            ia += step
            ib += step
    else:
        for _ in range(common):
            va = sub4(load4(ya, ia), ya0)
            vb = sub4(load4(yb, ib), yb0)
            oa = add4(mul4(b0, va), za1)
            ob = add4(mul4(b0, vb), zb1)
            za1 = add4(sub4(mul4(b1, va), mul4(f1, oa)), za2)
            zb1 = add4(sub4(mul4(b1, vb), mul4(f1, ob)), zb2)
            za2 = sub4(mul4(b2, va), mul4(f2, oa))
            zb2 = sub4(mul4(b2, vb), mul4(f2, ob))
            ua = add4(mul4(c0, oa), wa1)
            ub = add4(mul4(c0, ob), wb1)
            wa1 = add4(sub4(mul4(c1, oa), mul4(d1, ua)), wa2)
            wb1 = add4(sub4(mul4(c1, ob), mul4(d1, ub)), wb2)
            wa2 = sub4(mul4(c2, oa), mul4(d2, ua))
            wb2 = sub4(mul4(c2, ob), mul4(d2, ub))
            scatter4(da, ia + a0, ia + a1, ia + a2, ia + a3, ua)
            scatter4(db, ib + e0, ib + e1, ib + e2, ib + e3, ub)
            ia += step
            ib += step
    # the longer group alone
    if mb > ma:
        y, d, i, y0, z1, z2, w1, w2 = yb, db, ib, yb0, zb1, zb2, wb1, wb2
        a0, a1, a2, a3 = e0, e1, e2, e3
    else:
        y, d, i, y0, z1, z2, w1, w2 = ya, da, ia, ya0, za1, za2, wa1, wa2
    for _ in range(max(ma, mb) - common):
        v = sub4(load4(y, i), y0)
        o = add4(mul4(b0, v), z1)
        if two:
            z1 = add4(sub4(mul4(b1, v), mul4(f1, o)), z2)
            z2 = sub4(mul4(b2, v), mul4(f2, o))
            u = add4(mul4(c0, o), w1)
            w1 = add4(sub4(mul4(c1, o), mul4(d1, u)), w2)
            w2 = sub4(mul4(c2, o), mul4(d2, u))
            o = u
        else:
            z1 = sub4(mul4(b1, v), mul4(f1, o))
        scatter4(d, i + a0, i + a1, i + a2, i + a3, o)
        i += step


@njit(**JIT)
def _sos_fast(sos):
    """True for the section layouts the interleaved passes specialise: two sections, or one
    first-order section (``b2 == a2 == 0``)."""
    return sos.shape[0] == 2 or (sos.shape[0] == 1 and sos[0, 2] == 0.0 and sos[0, 5] == 0.0)


@njit(**JIT)
def _lanes_setup(x, starts, stops, n_pad):
    """Work buffers for :func:`_vertical_displacement4x2` of the 4 stretches
    ``x[starts[l]:stops[l]]``: ``(y, r, base, n_lane, p_lane, m_lane)``.

    Stretch ``l`` (``n_lane[l]`` rows, padded by ``p_lane[l]`` rows each side to
    ``m_lane[l]``) is "left-aligned" in ``y[base:base + m]`` (``m = max(m_lane)``): its
    padded signal at rows ``base .. base + m_lane[l]`` of column ``l``, here its ``|x|``,
    odd-padded. ``r`` takes a forward pass's results "right-aligned" (every padded signal
    ending at row ``m - 1``); ``base = m - min(m_lane)`` rows of room before ``y[base]`` and
    after ``r[m - 1]`` take the other rows of a pass (scratch; zeros where a pass reads
    them first).
    """
    n_lane = np.empty(4, np.int64)
    p_lane = np.empty(4, np.int64)
    m_lane = np.empty(4, np.int64)
    for lane in range(4):
        n_lane[lane] = stops[lane] - starts[lane]
        p_lane[lane] = min(n_pad, n_lane[lane] - 1)
        m_lane[lane] = n_lane[lane] + 2 * p_lane[lane]
    m = max(max(m_lane[0], m_lane[1]), max(m_lane[2], m_lane[3]))
    base = m - min(min(m_lane[0], m_lane[1]), min(m_lane[2], m_lane[3]))
    y = np.empty((m + base, 4))
    r = np.empty((m + base, 4))
    for lane in range(4):  # the scratch rows that a pass reads before any pass writes them
        y[base + m_lane[lane]:, lane] = 0.0
        r[:m - m_lane[lane], lane] = 0.0
    if x.shape[0] and x.strides[1] != x.itemsize:
        raise ValueError("_lanes_setup: the values within a row must be contiguous")
    p = p_lane[0]
    n_vec = _rows_together(n_lane, p_lane)
    n0 = min(n_vec, min(min(n_lane[0], n_lane[1]), min(n_lane[2], n_lane[3])))
    s0, s1, s2, s3 = starts[0], starts[1], starts[2], starts[3]
    for i in range(n0):
        v0, v1, v2 = load3x4(x, s0 + i, s1 + i, s2 + i, s3 + i)
        store4(y, base + p + i, sqrt4(add4(add4(mul4(v0, v0), mul4(v1, v1)), mul4(v2, v2))))
    # past the shortest: a lane at its end reads its last row again (written into its own
    # right padding, which _pad_odd fills below)
    e0, e1, e2, e3 = s0 + n_lane[0] - 1, s1 + n_lane[1] - 1, s2 + n_lane[2] - 1, s3 + n_lane[3] - 1
    for i in range(n0, n_vec):
        v0, v1, v2 = load3x4(x, min(s0 + i, e0), min(s1 + i, e1), min(s2 + i, e2), min(s3 + i, e3))
        store4(y, base + p + i, sqrt4(add4(add4(mul4(v0, v0), mul4(v1, v1)), mul4(v2, v2))))
    for lane in range(4):
        n, q, s = n_lane[lane], base + p_lane[lane], starts[lane]
        for i in range(n_vec, n):
            j = s + i
            y[q + i, lane] = math.sqrt(x[j, 0] * x[j, 0] + x[j, 1] * x[j, 1] + x[j, 2] * x[j, 2])
    _pad_odd4(y[base:], n_lane, p_lane)
    return y, r, base, n_lane, p_lane, m_lane


@njit(**JIT)
def _rows_together(n_lane, p_lane):
    """Rows of the four lanes' signals (see :func:`_lanes_setup`) a loop can take four lanes
    at a time: 0 unless the paddings agree, else up to the longest signal but not past any
    lane's right padding (``min(n_lane) + p``): a lane past its end only writes rows that its
    padding overwrites."""
    p = p_lane[0]
    if not (p_lane[1] == p and p_lane[2] == p and p_lane[3] == p):
        return 0
    n_min = min(min(n_lane[0], n_lane[1]), min(n_lane[2], n_lane[3]))
    n_max = max(max(n_lane[0], n_lane[1]), max(n_lane[2], n_lane[3]))
    return min(n_max, n_min + p)


@njit(**JIT)
def _integrate4(y, p_lane, n_lane, scale, keep, out, offsets, dt_s):
    """In place in the left-aligned ``y`` (see :func:`_lanes_setup`): for each column ``l``,
    its samples ``v = y[p:p + n, l]`` (``p = p_lane[l]``, ``n = n_lane[l]``; times ``scale``
    and stored to ``out[offsets[l]:...]`` when ``keep``) are replaced by their running sum
    times ``dt_s``, odd-padded (``np.cumsum(v) * dt_s`` as :func:`_vertical_displacement`
    integrates). The four running sums advance in one vector register while the paddings
    agree (all but very short stretches)."""
    p = p_lane[0]
    n_vec = _rows_together(n_lane, p_lane)
    n0 = min(n_vec, min(min(n_lane[0], n_lane[1]), min(n_lane[2], n_lane[3])))
    o0, o1, o2, o3 = offsets[0], offsets[1], offsets[2], offsets[3]
    c = splat4(0.0)
    sc = splat4(scale)
    dt = splat4(dt_s)
    for i in range(n0):
        v = load4(y, p + i)
        if keep:
            v = mul4(v, sc)
            scatter4(out, o0 + i, o1 + i, o2 + i, o3 + i, v)
        c = add4(c, v)
        store4(y, p + i, mul4(c, dt))
    if keep:  # the rows of the longer lanes that the next loop takes, kept before it overwrites them
        for lane in range(4):
            q, o = p_lane[lane], offsets[lane]
            for i in range(n0, min(n_vec, n_lane[lane])):
                out[o + i] = y[q + i, lane] * scale
    for i in range(n0, n_vec):  # a lane past its end: sums in its right padding, refilled below
        v = load4(y, p + i)
        if keep:
            v = mul4(v, sc)
        c = add4(c, v)
        store4(y, p + i, mul4(c, dt))
    for lane in range(4):
        q, o, n = p_lane[lane], offsets[lane], n_lane[lane]
        cl = lane4(c, lane)  # (this lane's sum when it has rows left)
        for i in range(n_vec, n):
            v = y[q + i, lane]
            if keep:
                v = v * scale
                out[o + i] = v
            cl += v
            y[q + i, lane] = cl * dt_s
    _pad_odd4(y, n_lane, p_lane)


@njit(**JIT)
def _store_lanes(y, p_lane, n_lane, out, offsets):
    """``out[offsets[l]:offsets[l] + n_lane[l]] = y[p_lane[l]:p_lane[l] + n_lane[l], l]`` for the
    four columns of the left-aligned ``y`` (see :func:`_lanes_setup`): the rows every lane
    has read four lanes at a time when the paddings agree, the rest lane by lane."""
    p = p_lane[0]
    n0 = min(_rows_together(n_lane, p_lane), min(min(n_lane[0], n_lane[1]), min(n_lane[2], n_lane[3])))
    o0, o1, o2, o3 = offsets[0], offsets[1], offsets[2], offsets[3]
    for i in range(n0):
        scatter4(out, o0 + i, o1 + i, o2 + i, o3 + i, load4(y, p + i))
    for lane in range(4):
        q, o = p_lane[lane], offsets[lane]
        for i in range(n0, n_lane[lane]):
            out[o + i] = y[q + i, lane]


@njit(**JIT)
def _fb4x2(ya, ra, ma_lane, yb, rb, mb_lane, base_a, base_b, sos):
    """Forward-backward :func:`_sos_pass` of the padded signals left-aligned in ``ya[base_a:]``
    (see :func:`_lanes_setup`; lengths ``ma_lane``), and likewise of ``yb`` (0 rows: no
    second group), both groups at once (:func:`_pass4x2`): the forward pass writes them
    right-aligned into ``ra`` (``rb``), the backward pass from there, every signal from its
    own end, back left-aligned into ``ya[base_a:]`` (``yb[base_b:]``)."""
    ma = ya.shape[0] - base_a
    mb = yb.shape[0] - base_b
    offa = ma - ma_lane  # right-aligned: signal l at rows off .. ma - 1
    offb = mb - mb_lane
    # one call site for both directions (the pass is compiled and inlined once)
    sa, da, sha, sb, db, shb = ya[base_a:], ra, offa, yb[base_b:], rb, offb
    for direction in range(2):
        _pass4x2(sa, da, sha, sb, db, shb, sos, direction == 1)
        sa, da, sha, sb, db, shb = ra[:ma], ya, base_a - offa, rb[:mb], yb, base_b - offb


@njit(**JIT)
def _vertical_displacement4x2(x, starts, stops, n_groups, band_sos, hp_sos, n_pad, dt_s, g_m_s2, a_up, z, offsets):
    """:func:`_vertical_displacement` of the 8 stretches ``x[starts[l]:stops[l]]`` (or of the
    first 4 when ``n_groups`` is 1), two groups of four at once (see :func:`_pass4x2`),
    written to ``a_up[offsets[l]:...]`` and ``z[...]``; bit-identical. Needs
    :func:`_sos_fast` sections."""
    ya, ra, base_a, na, pa, ma = _lanes_setup(x, starts[:4], stops[:4], n_pad)
    if n_groups == 2:
        yb, rb, base_b, nb, pb, mb = _lanes_setup(x, starts[4:], stops[4:], n_pad)
    else:
        yb, rb, base_b, nb, pb, mb = ya[:0], ra[:0], 0, na, pa, ma
    # band-pass, then integrate and high-pass twice; one call site per kernel (each is
    # compiled and inlined once)
    for stage in range(3):
        _fb4x2(ya, ra, ma, yb, rb, mb, base_a, base_b, band_sos if stage == 0 else hp_sos)
        for g in range(n_groups):
            y, base, p_lane, n_lane, of = (ya, base_a, pa, na, offsets[:4]) if g == 0 else (yb, base_b, pb, nb,
                                                                                              offsets[4:])
            if stage < 2:
                # stage 0: a_up = band-passed |x| * g (kept), integrated (running sum * dt) for
                # the next filter; stage 1: the velocity, only integrated further
                _integrate4(y[base:], p_lane, n_lane, g_m_s2 if stage == 0 else 1.0, stage == 0, a_up, of, dt_s)
            else:
                _store_lanes(y[base:], p_lane, n_lane, z, of)
