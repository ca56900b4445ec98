"""Numba kernels for signal processing (private: arrays in, arrays out; wrappers validate).

Every kernel has a slow, obviously-correct twin in ``tests/naive.py`` and a differential test.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .._jit import JIT


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
    x : float32 or float64 (n, 3), any strides.
    extra : float32 or float64 (n, c) to check (any array when ``n_extra`` is 0).
    n_extra : int, number of columns of ``extra`` to check (0: none).
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
    n_out = 0
    breaks = np.empty(n + 1, np.int64)
    n_breaks = 0
    started = state[0]
    origin = state[1]
    k_next = state[2]
    t_prev = state[3]
    f0 = state[4]  # filtered value at t_prev, one scalar per axis (kept in registers)
    f1 = state[5]
    f2 = state[6]
    ce = n_extra
    extra_sum = 0.0  # NaN or inf as soon as an extra value is (or, rarely, on overflow)
    tg = origin + k_next * dt_grid_s  # next grid time (kept, not recomputed per sample)
    n_holes = 0
    for i in range(n):
        ti = t_s[i]
        x0 = float(x[i, 0])
        x1 = float(x[i, 1])
        x2 = float(x[i, 2])
        if ce == 3:
            extra_sum += (extra[i, 0] + extra[i, 1]) + extra[i, 2]
        else:
            for j in range(ce):
                extra_sum += extra[i, j]
        dt = ti - t_prev
        if started != 0.0 and dt > 0.0 and dt <= max_gap_s:  # the common case: no per-value tests
            n_holes += dt >= min_hole_s  # (a hole is always bridged here, never a restart)
            alpha = dt / (tau_aa_s + dt)
            g0 = f0 + alpha * (x0 - f0)
            g1 = f1 + alpha * (x1 - f1)
            g2 = f2 + alpha * (x2 - f2)
            while tg <= ti:
                w = (tg - t_prev) / dt
                out_t[n_out] = tg
                out_x[n_out, 0] = f0 + w * (g0 - f0)
                out_x[n_out, 1] = f1 + w * (g1 - f1)
                out_x[n_out, 2] = f2 + w * (g2 - f2)
                n_out += 1
                k_next += 1.0
                tg = origin + k_next * dt_grid_s
            f0 = g0
            f1 = g1
            f2 = g2
            t_prev = ti
            continue
        # rare: first sample, gap, or a time that is not finite or not increasing. A bad value
        # since the last restart has made the filter state NaN or inf (it stays so), a bad
        # extra value the sum: only then are the rows scanned for the first bad one.
        if not (math.isfinite(f0 + f1 + f2) and math.isfinite(extra_sum) and math.isfinite(ti)
                and math.isfinite(x0 + x1 + x2)):
            bad, code = _first_bad_row(t_s, x, extra, ce, i + 1)
            if bad >= 0:
                return n_out, breaks[:n_breaks].copy(), bad, code, n_holes
        if started != 0.0 and ti <= t_prev:
            return n_out, breaks[:n_breaks].copy(), i, 2, n_holes
        # first sample, or after a gap: restart the grid here
        started = 1.0
        origin = ti
        f0 = x0
        f1 = x1
        f2 = x2
        breaks[n_breaks] = n_out
        n_breaks += 1
        out_t[n_out] = ti
        out_x[n_out, 0] = f0
        out_x[n_out, 1] = f1
        out_x[n_out, 2] = f2
        n_out += 1
        k_next = 1.0
        tg = origin + k_next * dt_grid_s
        t_prev = ti
    if n and not (math.isfinite(f0 + f1 + f2) and math.isfinite(extra_sum)):
        bad, code = _first_bad_row(t_s, x, extra, ce, n)
        if bad >= 0:
            return n_out, breaks[:n_breaks].copy(), bad, code, n_holes
    state[0] = started
    state[1] = origin
    state[2] = k_next
    state[3] = t_prev
    state[4] = f0
    state[5] = f1
    state[6] = f2
    return n_out, breaks[:n_breaks].copy(), -1, 0, n_holes


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
            thr = _select(smp, r)
            kept = np.empty(n)
            n_kept = 0
            for i in range(n):  # without a branch: always written, kept when >= thr
                v = abs(x[i])
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
    v_lo = _select(a, k)
    v_hi = v_lo
    if hi > lo:  # the smallest value after the k-th is the (k+1)-th
        v_hi = a[k + 1]
        for i in range(k + 2, a.shape[0]):
            if a[i] < v_hi:
                v_hi = a[i]
    return v_lo + (v_hi - v_lo) * frac


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
    rows), four at a time in the given ``order`` (by length: similar lengths together), see
    :func:`_vertical_displacement4`; a last group of fewer than four repeats its last stretch
    in the spare lanes. Needs :func:`_sos_fast` sections.

    Returns ``(a_up, z, offsets)``: stretch ``j``'s results are ``a_up[offsets[j]:offsets[j + 1]]``
    and likewise in ``z``, bit-identical to one :func:`_vertical_displacement` call each.
    """
    r = starts.shape[0]
    offsets = np.zeros(r + 1, np.int64)
    for j in range(r):
        offsets[j + 1] = offsets[j] + (stops[j] - starts[j])
    a_up = np.empty(offsets[r])
    z = np.empty(offsets[r])
    st4 = np.empty(4, np.int64)
    sp4 = np.empty(4, np.int64)
    of4 = np.empty(4, np.int64)
    for k in range(0, r, 4):
        for lane in range(4):
            j = order[min(k + lane, r - 1)]  # a spare lane recomputes (and rewrites) the last stretch
            st4[lane] = starts[j]
            sp4[lane] = stops[j]
            of4[lane] = offsets[j]
        _vertical_displacement4(x, st4, sp4, band_sos, hp_sos, n_pad, dt_s, g_m_s2, a_up, z, of4)
    return a_up, z, offsets


@njit(**JIT)
def _sos_pass4(y, sos, backward):
    """:func:`_sos_pass` on the 4 columns of ``y`` (m, 4) at once, every column over all m
    rows (from row 0, or from row m - 1 backwards). Only for two sections or one first-order
    section (see :func:`_sos_fast`). Four independent recursions side by side, written out
    lane by lane so that the compiler can also pack them into vector instructions; each
    column gets exactly the operations of :func:`_sos_pass` (bit-identical)."""
    m = y.shape[0]
    start = m - 1 if backward else 0
    step = -1 if backward else 1
    y00 = y[start, 0]
    y01 = y[start, 1]
    y02 = y[start, 2]
    y03 = y[start, 3]
    b0, b1, b2, a1, a2 = sos[0, 0], sos[0, 1], sos[0, 2], sos[0, 4], sos[0, 5]
    i = start
    if sos.shape[0] == 1:
        z0 = z1 = z2 = z3 = 0.0
        for _ in range(m):
            v0 = y[i, 0] - y00
            v1 = y[i, 1] - y01
            v2 = y[i, 2] - y02
            v3 = y[i, 3] - y03
            o0 = b0 * v0 + z0
            o1 = b0 * v1 + z1
            o2 = b0 * v2 + z2
            o3 = b0 * v3 + z3
            z0 = b1 * v0 - a1 * o0
            z1 = b1 * v1 - a1 * o1
            z2 = b1 * v2 - a1 * o2
            z3 = b1 * v3 - a1 * o3
            y[i, 0] = o0
            y[i, 1] = o1
            y[i, 2] = o2
            y[i, 3] = o3
            i += step
        return
    c0, c1, c2, d1, d2 = sos[1, 0], sos[1, 1], sos[1, 2], sos[1, 4], sos[1, 5]
    z10 = z11 = z12 = z13 = 0.0
    z20 = z21 = z22 = z23 = 0.0
    w10 = w11 = w12 = w13 = 0.0
    w20 = w21 = w22 = w23 = 0.0
    for _ in range(m):
        v0 = y[i, 0] - y00
        v1 = y[i, 1] - y01
        v2 = y[i, 2] - y02
        v3 = y[i, 3] - y03
        o0 = b0 * v0 + z10
        o1 = b0 * v1 + z11
        o2 = b0 * v2 + z12
        o3 = b0 * v3 + z13
        z10 = b1 * v0 - a1 * o0 + z20
        z11 = b1 * v1 - a1 * o1 + z21
        z12 = b1 * v2 - a1 * o2 + z22
        z13 = b1 * v3 - a1 * o3 + z23
        z20 = b2 * v0 - a2 * o0
        z21 = b2 * v1 - a2 * o1
        z22 = b2 * v2 - a2 * o2
        z23 = b2 * v3 - a2 * o3
        u0 = c0 * o0 + w10
        u1 = c0 * o1 + w11
        u2 = c0 * o2 + w12
        u3 = c0 * o3 + w13
        w10 = c1 * o0 - d1 * u0 + w20
        w11 = c1 * o1 - d1 * u1 + w21
        w12 = c1 * o2 - d1 * u2 + w22
        w13 = c1 * o3 - d1 * u3 + w23
        w20 = c2 * o0 - d2 * u0
        w21 = c2 * o1 - d2 * u1
        w22 = c2 * o2 - d2 * u2
        w23 = c2 * o3 - d2 * u3
        y[i, 0] = u0
        y[i, 1] = u1
        y[i, 2] = u2
        y[i, 3] = u3
        i += step


@njit(**JIT)
def _sos_fast(sos):
    """True for the section layouts the interleaved passes specialise: two sections, or one
    first-order section (``b2 == a2 == 0``)."""
    return sos.shape[0] == 2 or (sos.shape[0] == 1 and sos[0, 2] == 0.0 and sos[0, 5] == 0.0)


@njit(**JIT)
def _fb4(y, y2, m_lane, sos):
    """Forward-backward :func:`_sos_pass4` of 4 signals of lengths ``m_lane`` held
    left-aligned in the columns of ``y`` (rows past a signal's end are scratch). For the
    backward pass each is copied right-aligned into ``y2`` (same shape), so that every
    signal's pass starts at its own end; the results are left in ``y2``, signal ``l`` at rows
    ``y2.shape[0] - m_lane[l]`` on."""
    m = y.shape[0]
    _sos_pass4(y, sos, False)
    for i in range(m):
        for lane in range(4):
            k = i - (m - m_lane[lane])
            y2[i, lane] = y[k, lane] if k >= 0 else 0.0
    _sos_pass4(y2, sos, True)


@njit(**JIT)
def _scale_integrate4(src, q_lane, n_lane, scale, out, offsets, y, p_lane, dt_s, keep=True):
    """For each of 4 signals ``v = src[q:q + n, lane]`` (times ``scale`` when ``keep``, and then
    stored to ``out[offsets[lane]:...]``): its running sum times ``dt_s`` into ``y[p:p + n,
    lane]``, odd-padded (``np.cumsum(v) * dt_s`` as :func:`_vertical_displacement` integrates).
    The four running sums advance side by side (independent chains)."""
    both = min(min(n_lane[0], n_lane[1]), min(n_lane[2], n_lane[3]))
    c0 = 0.0
    c1 = 0.0
    c2 = 0.0
    c3 = 0.0
    q0, q1, q2, q3 = q_lane[0], q_lane[1], q_lane[2], q_lane[3]
    p0, p1, p2, p3 = p_lane[0], p_lane[1], p_lane[2], p_lane[3]
    o0, o1, o2, o3 = offsets[0], offsets[1], offsets[2], offsets[3]
    for i in range(both):
        v0 = src[q0 + i, 0]
        v1 = src[q1 + i, 1]
        v2 = src[q2 + i, 2]
        v3 = src[q3 + i, 3]
        if keep:
            v0 = v0 * scale
            v1 = v1 * scale
            v2 = v2 * scale
            v3 = v3 * scale
            out[o0 + i] = v0
            out[o1 + i] = v1
            out[o2 + i] = v2
            out[o3 + i] = v3
        c0 += v0
        c1 += v1
        c2 += v2
        c3 += v3
        y[p0 + i, 0] = c0 * dt_s
        y[p1 + i, 1] = c1 * dt_s
        y[p2 + i, 2] = c2 * dt_s
        y[p3 + i, 3] = c3 * dt_s
    for lane in range(4):
        q, p, o, n = q_lane[lane], p_lane[lane], offsets[lane], n_lane[lane]
        c = c0 if lane == 0 else c1 if lane == 1 else c2 if lane == 2 else c3
        for i in range(both, n):
            v = src[q + i, lane]
            if keep:
                v = v * scale
                out[o + i] = v
            c += v
            y[p + i, lane] = c * dt_s
        _pad_odd(y[:, lane], n, p)


@njit(**JIT)
def _vertical_displacement4(x, starts, stops, band_sos, hp_sos, n_pad, dt_s, g_m_s2, a_up, z, offsets):
    """:func:`_vertical_displacement` of the 4 stretches ``x[starts[l]:stops[l]]`` at once (see
    :func:`_sos_pass4`), written to ``a_up[offsets[l]:...]`` and ``z[...]``; bit-identical.
    Needs :func:`_sos_fast` sections."""
    n_lane = np.empty(4, np.int64)
    p_lane = np.empty(4, np.int64)
    m_lane = np.empty(4, np.int64)
    for lane in range(4):
        n_lane[lane] = stops[lane] - starts[lane]
        p_lane[lane] = min(n_pad, n_lane[lane] - 1)
        m_lane[lane] = n_lane[lane] + 2 * p_lane[lane]
    m = max(max(m_lane[0], m_lane[1]), max(m_lane[2], m_lane[3]))
    y = np.zeros((m, 4))
    y2 = np.empty((m, 4))
    for lane in range(4):
        n, p, s = n_lane[lane], p_lane[lane], starts[lane]
        for i in range(n):
            j = s + i
            y[p + i, lane] = math.sqrt(x[j, 0] * x[j, 0] + x[j, 1] * x[j, 1] + x[j, 2] * x[j, 2])
        _pad_odd(y[:, lane], n, p)
    _fb4(y, y2, m_lane, band_sos)
    q_lane = m - m_lane + p_lane  # where each signal starts in y2 after the backward pass
    # a_up = band-passed |x| * g, integrated (running sum * dt) into y for the next filter
    _scale_integrate4(y2, q_lane, n_lane, g_m_s2, a_up, offsets, y, p_lane, dt_s)
    _fb4(y, y2, m_lane, hp_sos)
    # the velocity is only integrated further (not kept)
    _scale_integrate4(y2, q_lane, n_lane, 1.0, a_up, offsets, y, p_lane, dt_s, False)
    _fb4(y, y2, m_lane, hp_sos)
    for lane in range(4):
        n, q, o = n_lane[lane], q_lane[lane], offsets[lane]
        for i in range(n):
            z[o + i] = y2[q + i, lane]


