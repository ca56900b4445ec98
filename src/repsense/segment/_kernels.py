"""Numba kernels for set and rep segmentation (private: arrays in, arrays out).

Every kernel has a slow, obviously-correct twin in ``tests/naive.py`` and a differential test.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .._jit import JIT
from ..dsp import _kernels as _dsp
from ..dsp._simd import add4, div4, lane4, less4, load3, load3x4, loadv4, make4, mul4, splat4, store3, sub4

# Layout of the activity state vector (float64), shared with the naive twin.
S_INIT, S_G0, S_G1, S_G2, S_MS, S_ACTIVE, S_KSTART, S_BELOW, S_SEGSTART, S_NEXTFIRST, S_K = range(11)
N_STATE = 11


@njit(**JIT)
def _push_event(ev, ne, first, last, kind):
    """Row ``ne`` of the set finder's events ``[first, last, kind]``; returns ``ne + 1``."""
    ev[ne, 0] = first
    ev[ne, 1] = last
    ev[ne, 2] = kind
    return ne + 1


@njit(**JIT)
def _activity_sets(x, breaks, k0, state, alpha_g, alpha_ms, enter_ms, exit_ms,
                   n_rest, n_pre, n_post, n_max, n_check):
    """Stateful set finder on uniform-grid acceleration (one sample at a time, causal).

    Gravity is tracked by a one-pole low-pass (``alpha_g``); the activity score is the
    one-pole mean square (``alpha_ms``) of the gravity-removed acceleration. A set opens
    when the score exceeds ``enter_ms`` and closes after ``n_rest`` samples below
    ``exit_ms`` (hysteresis), or after ``n_max`` samples, or at a grid break. While a set is
    open, every ``n_check`` samples after it opened a checkpoint is emitted (the caller
    re-analyses the open stretch there and emits the sets already finished).

    Parameters
    ----------
    x : float64 (m, 3) grid samples of this block (the values within a row contiguous).
    breaks : int64 (b,) block-local indices where a new grid segment starts (sorted).
    k0 : int, global index of ``x[0]``.
    state : float64 (N_STATE,), updated in place; zeros before the first call.
    n_rest, n_pre, n_post, n_max, n_check : int, in grid samples.

    Returns
    -------
    events : int64 (e, 3) ``[first, last, kind]`` in time order. ``kind`` 0: a closed set, global
        grid indices (inclusive) with pre-roll and post-roll, never overlapping and never
        crossing a break. ``kind`` 1: a checkpoint of the open set, ``first`` as it would close
        now and ``last`` the current sample.
    """
    m = x.shape[0]
    if m and x.strides[1] != x.itemsize:
        raise ValueError("_activity_sets: the values within a row must be contiguous")
    ev = np.empty((2 * (m // max(min(n_rest, n_max), 1)) + m // max(n_check, 1) + breaks.shape[0] + 4, 3), np.int64)
    ne = 0
    bi = 0
    # the state in locals (registers) during the loop, written back at the end; the indices
    # and flags as integers (exact: whole numbers far below 2**53 in the float state)
    s_init = state[S_INIT]
    # the gravity estimate of the three axes in one vector register (lanes 0-2; every lane
    # gets the scalar operations, so the bits of one scalar low-pass per axis)
    s_g = make4(state[S_G0], state[S_G1], state[S_G2], 0.0)
    a_g = splat4(alpha_g)
    s_ms = state[S_MS]
    s_active = np.int64(state[S_ACTIVE])
    s_kstart = np.int64(state[S_KSTART])
    s_below = np.int64(state[S_BELOW])
    s_segstart = np.int64(state[S_SEGSTART])
    s_nextfirst = np.int64(state[S_NEXTFIRST])
    s_k = np.int64(state[S_K])
    nb = breaks.shape[0]
    i0 = 0
    while i0 < m:  # the samples up to the next break in one inner loop
        if bi < nb and breaks[bi] == i0:
            bi += 1
            if s_active == 1 and s_init == 1.0:
                first = max(s_kstart - n_pre, s_segstart, s_nextfirst)
                last = s_k
                if s_below >= 0:
                    last = min(last, s_below + n_post)
                if first <= last:
                    ne = _push_event(ev, ne, first, last, 0)
                    s_nextfirst = last + 1
            s_init = 0.0
            s_active = 0
        # (as a test of every sample against breaks[bi]: a break not after i0 is never met)
        i1 = min(breaks[bi], m) if bi < nb and breaks[bi] > i0 else m
        if s_init == 0.0:  # (only at a segment's first sample)
            s_init = 1.0
            s_g = load3(x, i0)
            s_ms = 0.0
            s_active = 0
            s_below = -1
            s_segstart = k0 + i0
        for i in range(i0, i1):
            k = k0 + i
            xi = load3(x, i)
            s_g = add4(s_g, mul4(a_g, sub4(xi, s_g)))  # g += alpha_g * (x - g)
            d = sub4(xi, s_g)
            dd = mul4(d, d)
            s_ms += alpha_ms * (lane4(dd, 0) + lane4(dd, 1) + lane4(dd, 2) - s_ms)
            ms = s_ms
            s_k = k
            if s_active == 0:
                if ms > enter_ms:
                    s_active = 1
                    s_kstart = k
                    s_below = -1
            else:
                if ms < exit_ms:
                    if s_below < 0:
                        s_below = k
                    if k - s_below >= n_rest:
                        first = max(s_kstart - n_pre, s_segstart, s_nextfirst)
                        last = s_below + n_post
                        ne = _push_event(ev, ne, first, last, 0)
                        s_nextfirst = last + 1
                        s_active = 0
                        s_below = -1
                else:
                    s_below = -1
                # (a multiple of n_check is >= n_check: the modulo only from there on)
                if s_active == 1 and k - s_kstart >= n_check and (k - s_kstart) % n_check == 0:
                    ne = _push_event(ev, ne, max(s_kstart - n_pre, s_segstart, s_nextfirst), k, 1)
                if s_active == 1 and k - s_kstart >= n_max:
                    first = max(s_kstart - n_pre, s_segstart, s_nextfirst)
                    ne = _push_event(ev, ne, first, k, 0)
                    s_nextfirst = k + 1
                    s_kstart = k + 1
                    s_below = -1
        i0 = i1
    state[S_INIT] = s_init
    state[S_G0] = lane4(s_g, 0)
    state[S_G1] = lane4(s_g, 1)
    state[S_G2] = lane4(s_g, 2)
    state[S_MS] = s_ms
    state[S_ACTIVE] = s_active
    state[S_KSTART] = s_kstart
    state[S_BELOW] = s_below
    state[S_SEGSTART] = s_segstart
    state[S_NEXTFIRST] = s_nextfirst
    state[S_K] = s_k
    return ev[:ne].copy()


@njit(**JIT)
def _turning_points(y, threshold):
    """Turning points of ``y`` with hysteresis ``threshold`` (a Schmitt trigger around 0).

    A maximum is confirmed when ``y`` later falls below ``-threshold``, a minimum when it
    later rises above ``+threshold``; between confirmations the running extreme is tracked.
    The last pending extreme (past a threshold) is confirmed at the end of the signal.

    Returns
    -------
    idx : int64 (p,) sample index of each turning point (strictly increasing).
    kind : int64 (p,) +1 for a maximum, -1 for a minimum, alternating.
    """
    n = y.shape[0]
    idx = np.empty(n + 1, np.int64)
    kind = np.empty(n + 1, np.int64)
    p = 0
    st = 0
    ext = 0
    y_ext = 0.0  # y[ext], kept in a register
    # four samples at a time: a block in which no sample changes anything (none past the
    # running extreme or a threshold, the tests of _turning_step) is passed over at once
    hi4 = splat4(threshold)
    lo4 = splat4(-threshold)
    i = 0
    if y.strides[0] == y.itemsize:
        while i + 4 <= n:
            v4 = loadv4(y, i)
            if st == 1:
                change = less4(splat4(y_ext), v4) | less4(v4, lo4)
            elif st == -1:
                change = less4(v4, splat4(y_ext)) | less4(hi4, v4)
            else:
                change = less4(hi4, v4) | less4(v4, lo4)
            if change:
                for q in range(i, i + 4):
                    st, ext, y_ext, p = _turning_step(y[q], q, st, ext, y_ext, threshold, idx, kind, p)
            i += 4
    for q in range(i, n):
        st, ext, y_ext, p = _turning_step(y[q], q, st, ext, y_ext, threshold, idx, kind, p)
    if st != 0:
        idx[p] = ext
        kind[p] = st
        p += 1
    return idx[:p].copy(), kind[:p].copy()


@njit(**JIT)
def _turning_step(v, i, st, ext, y_ext, threshold, idx, kind, p):
    """Sample ``i`` (value ``v``) of :func:`_turning_points`' walk: the new ``(st, ext, y_ext,
    p)``, a confirmed turning point written to ``idx[p]``, ``kind[p]``."""
    if st == 0:
        if v > threshold:
            return 1, i, v, p
        if v < -threshold:
            return -1, i, v, p
        return st, ext, y_ext, p
    if st == 1:
        if v > y_ext:
            ext = i
            y_ext = v
        if v < -threshold:
            idx[p] = ext
            kind[p] = 1
            return -1, i, v, p + 1
        return st, ext, y_ext, p
    if v < y_ext:
        ext = i
        y_ext = v
    if v > threshold:
        idx[p] = ext
        kind[p] = -1
        return 1, i, v, p + 1
    return st, ext, y_ext, p


@njit(**JIT)
def _away_velocity(z, i, n, boundary):
    """``z[i + 1] - z[i - 1]`` (twice the one-sided difference at the ends), signed positive
    away from the boundary kind ``boundary`` (+1: away from a maximum is down)."""
    if i == 0:
        return 2.0 * (z[0] - z[1]) * boundary
    if i == n - 1:
        return 2.0 * (z[n - 2] - z[n - 1]) * boundary
    return (z[i - 1] - z[i + 1]) * boundary


@njit(**JIT)
def _row_samples(t0, dt_s, start_s, end_s, n):
    """The first and last grid sample (``t0 + i dt_s``, ``n`` of them) of a rep-table span:
    rows hold sample edges, ``start = t[a] - dt / 2`` and ``end = t[b] + dt / 2``."""
    a = int(np.floor((start_s - t0) / dt_s + 1.0))
    b = int(np.floor((end_s - t0) / dt_s))
    if a < 0:
        a = 0
    if b > n - 1:
        b = n - 1
    return a, b


@njit(**JIT)
def _split_phases(t_s, z, rows, boundary, phase_rel, dt_s):
    """In place on rep-table rows of the grid ``t_s`` / displacement ``z``: each rep's moving
    time (duration minus pause) is split between its two phases in proportion to the grid
    samples moving away from the boundary and back towards it; a sample moves when the
    velocity ``dz/dt`` (central difference) exceeds ``phase_rel`` x the rep's peak speed in
    that direction. Timing the phases by the velocity's sign, not by where the turning
    point of ``z`` lies, keeps the split right when the high-passed ``z`` shifts its turning
    point. A rep with no moving sample keeps the turning-point split. ``z`` has >= 2 samples."""
    t0 = t_s[0]
    n = z.shape[0]
    for r in range(rows.shape[0]):
        a, b = _row_samples(t0, dt_s, rows[r, 0], rows[r, 1], n)
        # the interior samples [c, d] without the one-sided ends' branches (n >= 2); the
        # peaks are maxima and the counts sums: the order of the samples does not matter
        c = max(a, 1)
        d = min(b, n - 2)
        peak_away = 0.0
        peak_back = 0.0
        for i in range(c, d + 1):
            w = (z[i - 1] - z[i + 1]) * boundary  # _away_velocity
            peak_away = w if w > peak_away else peak_away
            peak_back = -w if -w > peak_back else peak_back
        for i in (0, n - 1):
            if a <= i <= b:
                w = _away_velocity(z, i, n, boundary)
                peak_away = w if w > peak_away else peak_away
                peak_back = -w if -w > peak_back else peak_back
        # a sample counts for one phase at most (the first test wins, as away is tested first)
        thr_away = phase_rel * peak_away if peak_away > 0.0 else np.inf
        thr_back = phase_rel * peak_back if peak_back > 0.0 else np.inf
        n_away = 0
        n_back = 0
        for i in range(c, d + 1):
            w = (z[i - 1] - z[i + 1]) * boundary
            away = w > thr_away
            n_away += away
            n_back += (not away) & (-w > thr_back)
        for i in (0, n - 1):
            if a <= i <= b:
                w = _away_velocity(z, i, n, boundary)
                away = w > thr_away
                n_away += away
                n_back += (not away) & (-w > thr_back)
        if n_away + n_back > 0:
            moving = (rows[r, 1] - rows[r, 0]) - rows[r, 4]
            rows[r, 2] = moving * n_away / (n_away + n_back)
            rows[r, 3] = moving - rows[r, 2]


@njit(**JIT)
def _rep_table(t_s, z, idx, kind, boundary, still_rel, dt_s, open_ratio):
    """One row per turnaround (turning point of kind ``-boundary``): the rep around it.

    The rep runs between the boundary turning points before and after the turnaround (a
    missing one at an edge is mirrored through the turnaround). It starts where ``z`` leaves
    a band of ``still_rel`` x travel around the start level and ends where it enters the
    band around the end level (half-sample precision); the pause is the time within
    ``still_rel`` x the smaller travel of the turnaround level. A turnaround at an edge
    (no boundary turning point on one side) is a rep only if the signal on the open side
    moves at least ``open_ratio`` x the closed side's travel away from the turnaround level
    (a truncated rep at the start of a recording does; a single set-up or rack move that
    ends at the turnaround level does not).

    The phases here are cut at the turning point; :func:`_split_phases` re-times them by the
    velocity for the reps that end up in sets.

    Returns
    -------
    float64 (r, 7): ``start_s, end_s, first_phase_s, second_phase_s, pause_s, travel, valid``
        (``travel`` = the larger swing to a real boundary turning point; ``valid`` 0 when a
        swing is zero).
    """
    n = z.shape[0]
    p = idx.shape[0]
    r = 0
    for j in range(p):
        if kind[j] == -boundary:
            r += 1
    out = np.zeros((r, 7))
    row = 0
    for j in range(p):
        if kind[j] != -boundary:
            continue
        it = idx[j]
        zt = z[it]
        if j >= 1:
            i0 = idx[j - 1]
        elif j + 1 < p:
            i0 = max(0, 2 * it - idx[j + 1])
        else:
            i0 = 0
        if j + 1 < p:
            i1 = idx[j + 1]
        elif j >= 1:
            i1 = min(n - 1, 2 * it - idx[j - 1])
        else:
            i1 = n - 1
        z0 = z[i0]
        z1 = z[i1]
        travel0 = abs(z0 - zt)
        travel1 = abs(z1 - zt)
        if travel0 <= 0.0 or travel1 <= 0.0:
            row += 1
            continue
        if j == 0 or j + 1 == p:
            lo = 0 if j == 0 else it
            hi = it + 1 if j == 0 else n
            far = 0.0
            for i in range(lo, hi):
                d = (zt - z[i]) * boundary * -1.0
                if d > far:
                    far = d
            closed = travel1 if j == 0 else travel0
            if j == 0 and j + 1 == p:
                closed = 0.0
            if far < open_ratio * closed:
                row += 1
                continue
        band0 = still_rel * travel0
        band1 = still_rel * travel1
        s = i0
        while s < it and abs(z[s] - z0) <= band0:
            s += 1
        e = i1
        while e > it and abs(z[e] - z1) <= band1:
            e -= 1
        band_t = still_rel * min(travel0, travel1)
        p0 = it
        while p0 > s and abs(z[p0 - 1] - zt) <= band_t:
            p0 -= 1
        p1 = it
        while p1 < e and abs(z[p1 + 1] - zt) <= band_t:
            p1 += 1
        start = t_s[s] - 0.5 * dt_s
        end = t_s[e] + 0.5 * dt_s
        out[row, 0] = start
        out[row, 1] = end
        out[row, 2] = t_s[p0] - start
        out[row, 3] = end - t_s[p1]
        out[row, 4] = t_s[p1] - t_s[p0]
        tr = 0.0
        if j >= 1:
            tr = travel0
        if j + 1 < p and travel1 > tr:
            tr = travel1
        out[row, 5] = tr
        out[row, 6] = 1.0
        row += 1
    return out


@njit(**JIT)
def _median(x):
    """Median of a non-empty 1-d array (mean of the two middle values for even sizes)."""
    a = np.sort(x)
    n = a.shape[0]
    return a[n // 2] if n % 2 == 1 else 0.5 * (a[n // 2 - 1] + a[n // 2])


@njit(**JIT)
def _median_at(v, idx, buf):
    """``_median(v[idx])`` (idx non-empty) with ``buf`` (>= ``len(idx)``) as scratch: an
    insertion sort of the few values of a group, the same sorted numbers as ``np.sort``
    (so the same median; a -0.0 and a 0.0 may swap, which no comparison tells apart)."""
    n = idx.shape[0]
    if n > 48:
        return _median(v[idx])
    for q in range(n):
        y = v[idx[q]]
        j = q
        while j > 0 and buf[j - 1] > y:
            buf[j] = buf[j - 1]
            j -= 1
        buf[j] = y
    return buf[n // 2] if n % 2 == 1 else 0.5 * (buf[n // 2 - 1] + buf[n // 2])


@njit(**JIT)
def _group_members(gid, n_groups):
    """Rows of each group: group ``k`` is ``members[starts[k]:starts[k + 1]]`` (ascending),
    ``np.flatnonzero(gid == k)`` for all ``k`` in one pass (the group numbers of the rows
    that have one never decrease)."""
    starts = np.zeros(n_groups + 1, np.int64)
    for i in range(gid.shape[0]):
        if gid[i] >= 0:
            starts[gid[i] + 1] += 1
    for k in range(n_groups):
        starts[k + 1] += starts[k]
    members = np.empty(starts[n_groups], np.int64)
    q = 0
    for i in range(gid.shape[0]):
        if gid[i] >= 0:
            members[q] = i
            q += 1
    return members, starts


@njit(**JIT)
def _rhythms(start_s, end_s, keep, split, max_inter_rep_s, gid):
    """Number the kept reps' rhythms into ``gid`` (in place): a new rhythm after a still gap
    longer than ``max_inter_rep_s`` or after a rep marked 1 in ``split`` (which itself gets
    -1). A rep marked 2 gets -1 too, but the rhythm goes on through it (the next gap is
    measured from its end). Returns the number of rhythms."""
    g = -1
    last_end = -np.inf
    new_group = False
    for i in range(start_s.shape[0]):
        if keep[i] == 0:
            continue
        if split[i] == 2:
            gid[i] = -1
            last_end = end_s[i]
            continue
        if split[i]:
            gid[i] = -1
            new_group = True
            continue
        if g < 0 or new_group or start_s[i] - last_end > max_inter_rep_s:
            g += 1
            new_group = False
        gid[i] = g
        last_end = end_s[i]
    return g + 1


@njit(**JIT)
def _rhythm_reference(sel, travel, dur_s, rotation_deg, rotation_ratio, rotation_min_deg, buf, ref, px, py, pz):
    """``ref`` (8,) = the reference of the reps ``sel``: median travel, median duration,
    the lowest and highest rotation a rep like them may have (-inf / inf when
    ``rotation_ratio`` is 0), their posture (the normalised component-wise median of the unit
    directions ``px, py, pz``) and 1 when that posture is to be tested: ``px`` given (not
    empty) and the reps' median rotation at most ``rotation_min_deg`` (a set that does not
    turn the forearm), else 0."""
    ref[0] = _median_at(travel, sel, buf)
    ref[1] = _median_at(dur_s, sel, buf)
    ref[2] = -math.inf
    ref[3] = math.inf
    ref[7] = 0.0
    if rotation_ratio <= 0.0 and px.shape[0] == 0:
        return
    ref_rot = _median_at(rotation_deg, sel, buf)
    if rotation_ratio > 0.0:
        ref[2] = min(ref_rot / rotation_ratio, ref_rot - rotation_min_deg)
        ref[3] = max(rotation_ratio * ref_rot, rotation_min_deg)
    if px.shape[0] > 0 and ref_rot <= rotation_min_deg:
        ux = _median_at(px, sel, buf)
        uy = _median_at(py, sel, buf)
        uz = _median_at(pz, sel, buf)
        norm = math.sqrt(ux * ux + uy * uy + uz * uz)
        if norm > 0.0:
            ref[4] = ux / norm
            ref[5] = uy / norm
            ref[6] = uz / norm
            ref[7] = 1.0


@njit(**JIT)
def _like_reference(i, travel, dur_s, rotation_deg, ref, travel_ratio, duration_ratio, px, py, pz, posture_cos,
                    rec_cut):
    """Rep ``i`` is like the reference ``ref`` of :func:`_rhythm_reference` (its posture within
    the angle whose cosine is ``posture_cos`` of the reference's, when that is tested; its
    travel not tested when ``rec_cut[i]``)."""
    if ref[7] > 0.0 and px[i] * ref[4] + py[i] * ref[5] + pz[i] * ref[6] < posture_cos:
        return False
    return ((rec_cut[i] or ref[0] / travel_ratio <= travel[i] <= ref[0] * travel_ratio)
            and ref[1] / duration_ratio <= dur_s[i] <= ref[1] * duration_ratio
            and ref[2] <= rotation_deg[i] <= ref[3])


@njit(**JIT)
def _group_reps(start_s, end_s, dur_s, travel, keep, max_inter_rep_s, travel_ratio, duration_ratio,
                rotation_deg, rotation_ratio, rotation_min_deg, ref_frac, inner_duration_ratio, px, py, pz,
                posture_cos, short_ratio, short_travel_ratio, bridged, rec_cut):
    """Group kept reps into rhythms and trim unlike reps off each rhythm's edges.

    Consecutive kept reps belong to one group while the still gap between them (``start_s``,
    ``end_s``) is at most ``max_inter_rep_s``. The duration tests read ``dur_s``. In each group of >= 3 reps, repeatedly, the first (else the last)
    rep is dropped while its travel is off the reference travel by more than
    ``travel_ratio``, its duration off the reference duration by more than ``duration_ratio``,
    or (``rotation_ratio`` > 0) its ``rotation_deg`` exceeds both ``rotation_ratio`` x the
    reference rotation and ``rotation_min_deg``, or is below both the reference /
    ``rotation_ratio`` and the reference - ``rotation_min_deg`` (a set whose reps turn the
    forearm, as curls do, and an edge move that does not). The references are the medians over the
    reps still in the group; for a group of >= 6 reps with ``ref_frac`` > 0, the medians of
    its middle reps instead (``int(n * ref_frac)`` dropped at each end), fixed while trimming.
    In a group whose reference rotation is at most ``rotation_min_deg`` (a lift that does not
    turn the forearm), an edge rep is also dropped when its posture ``(px, py, pz)[i]`` (unit
    mean gravity direction, :func:`_rep_posture`) is further from the reference posture than
    the angle whose cosine is ``posture_cos`` (``px`` empty: no posture test).

    Before trimming (``rotation_ratio`` > 0), a rep inside a rhythm (neither its first nor
    its last) whose rotation exceeds the rhythm's rotation limit (the same reference, over
    the whole rhythm), or (``inner_duration_ratio`` > 0) whose ``dur_s`` exceeds that factor
    x the reference duration, is handling: it is dropped and the rhythm is split there, so
    that walking before a set-up move and the set after it are judged apart.

    In a rhythm of >= 6 reps (``short_ratio`` > 0), an inner rep whose ``dur_s`` is below
    ``short_ratio`` x the reference duration and whose travel is below ``short_travel_ratio``
    x the reference travel is a fragment (a wait the displacement turned into a rep, or one
    part of a rep cut in two): it is dropped and the rhythm goes on through it. Not a rep
    marked in ``bridged`` (uint8 (r,)): a signal hole overlaps it, and the straight line
    that bridges a hole looks still.

    The travel of a rep marked in ``rec_cut`` (uint8 (r,)) is not tested: the recording starts
    or ends inside it, and its displacement there is the filters' start-up, not a travel.

    Returns
    -------
    int64 (r,): group number per rep (0, 1, ...), -1 for reps not kept.
    """
    r = start_s.shape[0]
    gid = np.full(r, -1, np.int64)
    buf = np.empty(48)  # scratch of _median_at
    split = np.zeros(r, np.uint8)
    g = _rhythms(start_s, end_s, keep, split, max_inter_rep_s, gid)
    if rotation_ratio > 0.0 or inner_duration_ratio > 0.0 or short_ratio > 0.0:
        # handling inside a rhythm (a set-up move between walking and the set) splits it: an
        # inner rep turning the forearm more than the rhythm's rotation limit, or lasting far
        # longer than its reps; a fragment (far shorter, and shallower) is dropped from it
        n_split = 0
        all_members, starts = _group_members(gid, g)
        for k in range(g):
            members = all_members[starts[k]:starts[k + 1]]
            m = members.shape[0]
            if m < 3:
                continue
            cut = int(m * ref_frac) if ref_frac > 0.0 and m >= 6 else 0
            core = members[cut:m - cut]
            lim = np.inf  # a test that is off (ratio 0): a limit no rep exceeds
            if rotation_ratio > 0.0:
                lim = max(rotation_ratio * _median_at(rotation_deg, core, buf), rotation_min_deg)
            fragments = short_ratio > 0.0 and m >= 6
            med_dur = _median_at(dur_s, core, buf) if inner_duration_ratio > 0.0 or fragments else 0.0
            dlim = inner_duration_ratio * med_dur if inner_duration_ratio > 0.0 else np.inf
            short_s = -np.inf  # (off: a limit no duration is below)
            short_m = -np.inf
            if fragments:
                short_s = short_ratio * med_dur
                short_m = short_travel_ratio * _median_at(travel, core, buf)
            for q in range(1, m - 1):
                i = members[q]
                if rotation_deg[i] > lim or dur_s[i] > dlim:
                    split[i] = 1
                    n_split += 1
                elif dur_s[i] < short_s and travel[i] < short_m and not bridged[i]:
                    split[i] = 2  # a fragment: dropped, the rhythm goes on
                    n_split += 1
        if n_split > 0:
            g = _rhythms(start_s, end_s, keep, split, max_inter_rep_s, gid)
    ref = np.empty(8)  # travel, duration, lowest and highest rotation, posture of a rhythm's reference
    all_members, starts = _group_members(gid, g)
    for k in range(g):
        members = all_members[starts[k]:starts[k + 1]]
        lo = 0
        hi = members.shape[0]
        fixed = ref_frac > 0.0 and hi >= 6
        if fixed:
            cut = int(hi * ref_frac)
            _rhythm_reference(members[cut:hi - cut], travel, dur_s, rotation_deg, rotation_ratio, rotation_min_deg,
                              buf, ref, px, py, pz)
        while hi - lo >= 3:
            if not fixed:
                _rhythm_reference(members[lo:hi], travel, dur_s, rotation_deg, rotation_ratio, rotation_min_deg,
                                  buf, ref, px, py, pz)
            a = members[lo]
            if not _like_reference(a, travel, dur_s, rotation_deg, ref, travel_ratio, duration_ratio, px, py, pz,
                                   posture_cos, rec_cut):
                gid[a] = -1
                lo += 1
                continue
            b = members[hi - 1]
            if not _like_reference(b, travel, dur_s, rotation_deg, ref, travel_ratio, duration_ratio, px, py, pz,
                                   posture_cos, rec_cut):
                gid[b] = -1
                hi -= 1
                continue
            break
    return gid


@njit(**JIT)
def _rep_rotation_deg(x, lo, hi, half_window):
    """Largest turn of the gravity direction within each rep, in degrees.

    The gravity direction at sample ``k`` is the mean of ``x`` (grid acceleration, (m, 3))
    over ``[k - half_window, k + half_window]`` (cut at the array edges); rep ``i`` spans
    samples ``[lo[i], hi[i])`` and its rotation is the largest angle between the direction
    at ``lo[i]`` and the direction at any of its samples.

    Returns
    -------
    float64 (r,)
    """
    m = x.shape[0]
    r = lo.shape[0]
    # running sums (three lanes of a vector), only as far as the last rep's windows reach
    top = 0
    for i in range(r):
        top = max(top, min(hi[i], m) + half_window + 1)
    top = min(top, m)
    cs = np.empty((top + 1, 3))
    s = splat4(0.0)
    store3(cs, 0, s)
    if top and x.strides[1] == x.itemsize:
        for k in range(top):
            s = add4(s, load3(x, k))
            store3(cs, k + 1, s)
    else:
        for k in range(top):
            s = add4(s, make4(x[k, 0], x[k, 1], x[k, 2], 0.0))
            store3(cs, k + 1, s)
    out = np.zeros(r)
    zero = splat4(0.0)
    tiny = splat4(1e-6)
    below = splat4(1.0 - 1e-9)
    for i in range(r):
        if m == 0:
            continue
        k0 = min(max(lo[i], 0), m - 1)
        a0 = max(k0 - half_window, 0)
        a1 = min(k0 + half_window + 1, m)
        r0 = cs[a1, 0] - cs[a0, 0]
        r1 = cs[a1, 1] - cs[a0, 1]
        r2 = cs[a1, 2] - cs[a0, 2]
        nr = math.sqrt(r0 * r0 + r1 * r1 + r2 * r2)
        if nr == 0.0:
            continue
        v0, v1, v2 = splat4(r0), splat4(r1), splat4(r2)
        # the largest angle atan2(|r x g|, r . g) over the rep's samples (see _turn_step),
        # samples whose windows are not cut at the array edges four at a time
        has = False
        ssb = 0.0  # |r x g|^2 of the maximum so far
        db = 0.0  # its r . g
        quick_b = False  # its angle is below ~89.9 degrees (tan^2 < 1e6)
        ab = -1.0  # atan2 of the maximum once computed, -1 when not yet
        k = k0
        k_end = min(hi[i], m)
        k_vec = min(k_end, m - half_window) - 4  # the last k of a block of four
        while k < k_end:
            if k <= k_vec and k >= half_window:
                b1 = k + half_window + 1
                b0 = k - half_window
                h0, h1, h2 = load3x4(cs, b1, b1 + 1, b1 + 2, b1 + 3)
                l0, l1, l2 = load3x4(cs, b0, b0 + 1, b0 + 2, b0 + 3)
                g0 = sub4(h0, l0)
                g1 = sub4(h1, l1)
                g2 = sub4(h2, l2)
                c0 = sub4(mul4(v1, g2), mul4(v2, g1))
                c1 = sub4(mul4(v2, g0), mul4(v0, g2))
                c2 = sub4(mul4(v0, g1), mul4(v1, g0))
                ss4 = add4(add4(mul4(c0, c0), mul4(c1, c1)), mul4(c2, c2))
                dn4 = add4(add4(mul4(v0, g0), mul4(v1, g1)), mul4(v2, g2))
                if quick_b:  # all four clearly below the maximum (_turn_step's first test): skipped
                    dd4 = mul4(dn4, dn4)
                    ok = less4(zero, dn4) & less4(mul4(tiny, ss4), dd4)
                    ok &= less4(mul4(ss4, splat4(db * db)), mul4(below, mul4(splat4(ssb), dd4)))
                    if ok == 15:
                        k += 4
                        continue
                for lane in range(4):
                    g_zero = lane4(g0, lane) == 0.0 and lane4(g1, lane) == 0.0 and lane4(g2, lane) == 0.0
                    has, ssb, db, quick_b, ab = _turn_step(g_zero, lane4(ss4, lane), lane4(dn4, lane), has, ssb, db,
                                                           quick_b, ab)
                k += 4
                continue
            b0 = max(k - half_window, 0)
            b1 = min(k + half_window + 1, m)
            g0 = cs[b1, 0] - cs[b0, 0]
            g1 = cs[b1, 1] - cs[b0, 1]
            g2 = cs[b1, 2] - cs[b0, 2]
            c0 = r1 * g2 - r2 * g1
            c1 = r2 * g0 - r0 * g2
            c2 = r0 * g1 - r1 * g0
            has, ssb, db, quick_b, ab = _turn_step(g0 == 0.0 and g1 == 0.0 and g2 == 0.0,
                                                   c0 * c0 + c1 * c1 + c2 * c2, r0 * g0 + r1 * g1 + r2 * g2,
                                                   has, ssb, db, quick_b, ab)
            k += 1
        if has:
            worst = math.atan2(math.sqrt(ssb), db) if ab < 0.0 else ab
            if worst > 0.0:
                out[i] = math.degrees(worst)
    return out


@njit(**JIT)
def _rep_posture(x, lo, hi):
    """float64 (r, 3): the unit mean direction of ``x`` (grid acceleration, (m, 3)) over each
    rep's samples ``[lo[i], hi[i])``: the gravity direction in the sensor frame, i.e. the
    posture of the forearm, averaged over the rep (its linear acceleration averages out).
    (0, 0, 0) for a rep with no samples or a zero mean."""
    r = lo.shape[0]
    out = np.zeros((r, 3))
    m = x.shape[0]
    for i in range(r):
        sx = 0.0
        sy = 0.0
        sz = 0.0
        for k in range(max(lo[i], 0), min(hi[i], m)):
            sx += x[k, 0]
            sy += x[k, 1]
            sz += x[k, 2]
        norm = math.sqrt(sx * sx + sy * sy + sz * sz)
        if norm > 0.0:
            out[i, 0] = sx / norm
            out[i, 1] = sy / norm
            out[i, 2] = sz / norm
    return out


@njit(**JIT)
def _turn_step(g_zero, ss, dn, has, ssb, db, quick_b, ab):
    """One sample of :func:`_rep_rotation_deg`'s running maximum of the angle
    ``atan2(sqrt(ss), dn)`` (``ss = |r x g|^2``, ``dn = r . g``; a zero window sum ``g``,
    ``g_zero``, has no direction and is skipped): the new ``(has, ssb, db, quick_b, ab)``.

    The same maximum of the same atan2 values, with few square roots and atan2 calls: a
    sample is ordered against the maximum by tan^2 = ss / dn^2 when both are below ~89.9
    degrees and their tan^2 differ by far more than rounding, else by the sign of the cross
    product of the (dn, sqrt(ss)) vectors (same margin), else by atan2 itself.
    """
    if g_zero:
        return has, ssb, db, quick_b, ab
    if not has:
        return True, ss, dn, dn > 0.0 and 1e-6 * ss < dn * dn, -1.0
    if quick_b and dn > 0.0 and 1e-6 * ss < dn * dn:
        lhs = ss * (db * db)
        rhs = ssb * (dn * dn)
        if lhs < (1.0 - 1e-9) * rhs:
            return has, ssb, db, quick_b, ab  # clearly smaller
        if lhs > (1.0 + 1e-9) * rhs:
            return has, ss, dn, quick_b, -1.0  # clearly larger
    sn = math.sqrt(ss)
    sb = math.sqrt(ssb)
    # |u_b| |u_n| sin(angle_n - angle_b), with a margin far above its rounding error
    crs = db * sn - sb * dn
    margin = 1e-12 * (abs(db) + sb) * (abs(dn) + sn)
    if crs < -margin:
        return has, ssb, db, quick_b, ab
    if crs <= margin:
        if ab < 0.0:
            ab = math.atan2(sb, db)
        an = math.atan2(sn, dn)
        if an <= ab:
            return has, ssb, db, quick_b, ab
        ab = an
    else:
        ab = -1.0
    return has, ss, dn, dn > 0.0 and 1e-6 * ss < dn * dn, ab


@njit(**JIT)
def _search_left(a, v):
    """``np.searchsorted(a, v)`` (side 'left') for sorted, NaN-free ``a``: the first index
    with ``a[i] >= v`` (bisection; cheaper to compile than numba's searchsorted)."""
    lo = 0
    hi = a.shape[0]
    while lo < hi:
        mid = (lo + hi) >> 1
        if a[mid] < v:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(**JIT)
def _analyse_displacement(t_s, x, a_up, z, prm, amp_floor_m, holes_s, rec_edge):
    """Everything :meth:`repsense.segment.reps.SetAnalyzer.analyse` computes on one active
    stretch after its vertical displacement, in one call: amplitude, turning points, rep
    table, rotation of the kept reps, grouping.

    Parameters
    ----------
    t_s : float64 (m,) uniform grid times; x : float64 (m, 3) grid acceleration (g), m >= 2.
    a_up, z : float64 (m,) vertical acceleration (m/s^2) and displacement (m) of ``x``, from
        ``repsense.dsp._kernels._vertical_displacement(s)``.
    prm : float64 (33,) ``n_pad, dt_s, g_m_s2, amplitude_percentile, hysteresis_rel,
        min_travel_m, still_rel, edge_open_ratio, min_rep_s, max_rep_s, n_half_gravity,
        max_inter_rep_s, edge_travel_ratio, edge_duration_ratio, edge_rotation_ratio,
        edge_rotation_min_deg, edge_reference_frac, phase_speed_rel, still_half, still_noise_ratio,
        still_floor_g, still_max_g, still_noise_percentile, still_move_n, inner_duration_ratio,
        boundary_span_ratio, edge_tail_n, edge_hold_n, edge_wait_n, edge_wait_ratio,
        edge_posture_deg, inner_short_ratio, inner_short_travel_ratio``
        (``still_half`` to ``still_move_n`` for :func:`_still_threshold` and :func:`_trim_still`).
    amp_floor_m : float, smallest amplitude to scale the hysteresis by.
    holes_s : float64 (k, 2) the bridged holes (:func:`_reps_and_groups`).
    rec_edge : uint8 (2,) 1 when the stretch begins with the recording's first sample (ends
        with its last), see :func:`_reps_and_groups`.

    Returns
    -------
    a_up : float64 (m,) the input ``a_up``.
    amp_m : float, amplitude used.
    boundary : int, +1 / -1 kind of the rep-boundary turning points (the stretch's majority,
        or the majority over its groups' spans when ``boundary_span_ratio`` > 0 and that
        disagrees); 0 when fewer than two turning points (no reps).
    table : float64 (r, 7) from :func:`_rep_table`.
    gid : int64 (r,) from :func:`_group_reps`.
    still_thr : float, :func:`_still_threshold` of ``x`` (-1 when fewer than 3 reps are kept).
    edges : int64 (r, 4) :func:`_still_edges` ``a, b, a2, b2`` of the rows trimmed for the
        grouping at ``still_thr``, -1 for the others.
    """
    dt_s = prm[1]
    amp = _dsp._abs_percentile(z, prm[3])
    if amp_floor_m > amp:
        amp = amp_floor_m
    threshold = prm[4] * amp
    if prm[5] / 2 > threshold:
        threshold = prm[5] / 2
    idx, kind = _turning_points(z, threshold)
    if idx.shape[0] < 2:
        return a_up, amp, 0, np.zeros((0, 7)), np.zeros(0, np.int64), -1.0, np.zeros((0, 4), np.int64)
    n_max = 0
    for j in range(kind.shape[0]):
        if kind[j] == 1:
            n_max += 1
    n_min = idx.shape[0] - n_max
    boundary = 1 if n_max > n_min else -1 if n_min > n_max else kind[-1]
    table, gid, still_thr, edges = _reps_and_groups(t_s, x, z, idx, kind, boundary, prm, -1.0, holes_s, rec_edge)
    if prm[25] > 0.0 and gid.shape[0] > 0:
        # the stretch's majority (in effect its first and last turning points, often handling)
        # is counted again over each group's span, widened by prm[25] x its median rep on each
        # side: a set of n reps has n + 1 rest-end turning points there and n turnarounds,
        # whichever kind the first count chose
        other = _span_majority(t_s, idx, kind, table, gid, prm[25])
        if other != 0 and other != boundary:
            boundary = other
            table, gid, still_thr, edges = _reps_and_groups(t_s, x, z, idx, kind, boundary, prm, still_thr,
                                                             holes_s, rec_edge)
    return a_up, amp, boundary, table, gid, still_thr, edges


@njit(**JIT)
def _span_majority(t_s, idx, kind, table, gid, widen):
    """+1 / -1: the kind of turning point in the majority within the spans of the groups of
    ``gid`` with at least 3 reps (first rep's start to last rep's end, widened on each side by
    ``widen`` x the group's median rep duration), summed over the groups; 0 for none or a tie.
    (A group's rows follow one another in ``gid``, whose numbers never decrease.)"""
    r = gid.shape[0]
    n_max = 0
    n_min = 0
    buf = np.empty(48)  # scratch of _median_at
    rows = np.empty(r, np.int64)
    dur = table[:, 1] - table[:, 0]
    i = 0
    while i < r:
        g = gid[i]
        if g < 0:
            i += 1
            continue
        m = 0
        while i < r and (gid[i] == g or gid[i] < 0):
            if gid[i] == g:
                rows[m] = i
                m += 1
            i += 1
        if m < 3:
            continue
        w = widen * _median_at(dur, rows[:m], buf)
        lo_s = table[rows[0], 0] - w
        hi_s = table[rows[m - 1], 1] + w
        # the turning points j0 <= j < j1 whose times lie in [lo_s, hi_s]; their kinds
        # alternate, so the first one's kind has the extra one when there is an odd number
        j0 = _first_at_or_after(t_s, idx, lo_s, False)
        j1 = _first_at_or_after(t_s, idx, hi_s, True)
        n = j1 - j0
        if n > 0:
            first_max = n - n // 2 if kind[j0] == 1 else n // 2
            n_max += first_max
            n_min += n - first_max
    return 1 if n_max > n_min else -1 if n_min > n_max else 0


@njit(**JIT)
def _first_at_or_after(t_s, idx, v, strict):
    """The first ``j`` with ``t_s[idx[j]] >= v`` (``> v`` when ``strict``), ``len(idx)`` if
    none (``t_s[idx]`` ascending)."""
    lo = 0
    hi = idx.shape[0]
    while lo < hi:
        mid = (lo + hi) // 2
        tm = t_s[idx[mid]]
        if tm > v or (tm == v and not strict):
            hi = mid
        else:
            lo = mid + 1
    return lo


@njit(**JIT)
def _reps_and_groups(t_s, x, z, idx, kind, boundary, prm, known_thr, holes_s, rec_edge):
    """The rep table of turning points ``idx, kind`` with ``boundary`` turning points as rep
    boundaries, and its grouping (the rest of :func:`_analyse_displacement`): ``table, gid,
    still_thr, edges`` as it returns them. ``known_thr``: the stretch's :func:`_still_threshold`
    when already computed, else -1. ``holes_s``: float64 (k, 2) start and end times of the
    holes in the raw samples that the grid bridges (any; those outside are ignored).
    ``rec_edge``: uint8 (2,), 1 when the stretch begins with the recording's first sample
    (ends with its last); then a first (last) rep with no boundary turning point before
    (after) its turnaround is cut by the recording, and the grouping does not test its
    travel (:func:`_group_reps`)."""
    dt_s = prm[1]
    table = _rep_table(t_s, z, idx, kind, boundary, prm[6], dt_s, prm[7])
    r = table.shape[0]
    keep = np.zeros(r, np.int64)
    n_keep = 0
    for i in range(r):
        dur = table[i, 1] - table[i, 0]
        if table[i, 6] > 0 and dur >= prm[8] and dur <= prm[9]:
            keep[i] = 1
            n_keep += 1
    # the grouping's duration tests read the still-trimmed durations (a wait at the rest end
    # drifts into a rep through the high-passed displacement and is no part of its tempo),
    # except for the first and last rep of each rhythm, whose outer stillness is the rest
    # before or after the set and whose full span is what marks a set-up or rack move; the
    # gaps between reps stay untrimmed (a hole bridged by a straight line looks still)
    still_thr = -1.0
    g_dur = table[:, 1] - table[:, 0]
    edges = np.full((r, 4), -1, np.int64)
    # the kept reps in rhythms (_group_reps's first _rhythms) of >= 3 reps: the grouping reads
    # the rotation of no other rep (its groups are parts of these rhythms, and it reads the
    # rotation only in groups of >= 3)
    in3 = np.zeros(r, np.uint8)
    n_in3 = 0
    if n_keep >= 3:
        still_thr = known_thr if known_thr >= 0.0 else _still_threshold(x, int(prm[18]), prm[19], prm[20], prm[21],
                                                                        prm[22])
        rhythm = np.full(r, -1, np.int64)
        n_rhythms = _rhythms(table[:, 0], table[:, 1], keep, np.zeros(r, np.uint8), prm[11], rhythm)
        size = np.zeros(n_rhythms, np.int64)
        first = np.full(n_rhythms, -1, np.int64)
        last = np.empty(n_rhythms, np.int64)
        for i in range(r):
            g = rhythm[i]
            if g >= 0:
                size[g] += 1
                if first[g] < 0:
                    first[g] = i
                last[g] = i
        edge = np.zeros(r, np.uint8)  # the first and last rep of each rhythm
        for g in range(n_rhythms):
            edge[first[g]] = 1
            edge[last[g]] = 1
        for i in range(r):
            if rhythm[i] >= 0 and size[rhythm[i]] >= 3:
                in3[i] = 1
                n_in3 += 1
        # trim only the rows whose trimmed duration is read; their edges are kept for the
        # trim of the kept groups (the same rows, threshold and samples)
        for i in range(r):
            if keep[i] and not edge[i]:
                a, b, a2, b2 = _still_edges(t_s, x, int(prm[18]), still_thr, table[i, 0], table[i, 1], dt_s,
                                            int(prm[23]))
                edges[i, 0] = a
                edges[i, 1] = b
                edges[i, 2] = a2
                edges[i, 3] = b2
                if prm[26] > 0:
                    # for the duration tests only: a rep cut at the turning point of a sagging
                    # displacement starts (ends) with the tail of the movement before (after)
                    # it, then the wait; the still trim stops at that tail
                    sa = _past_edge_tail(x, int(prm[18]), still_thr, a, b, 1, int(prm[26]), int(prm[27])) \
                        if a2 == a else a
                    sb = _past_edge_tail(x, int(prm[18]), still_thr, b, a, -1, int(prm[26]), int(prm[27])) \
                        if b2 == b else b
                    if sa != a or sb != b:
                        a2, b2 = _still_walk(x, int(prm[18]), still_thr, sa, sb, int(prm[23]))
                if a2 != a or b2 != b:
                    g_dur[i] = (t_s[b2] + 0.5 * dt_s) - (t_s[a2] - 0.5 * dt_s)  # as _trim_row's end - start
        if prm[28] > 0:
            _edge_waits(t_s, x, table, rhythm, first, last, size, still_thr, prm, g_dur)
    # rotation of the kept reps in rhythms of >= 3 only (the grouping reads no other; 0 for those)
    lo_i = np.empty(n_in3, np.int64)
    hi_i = np.empty(n_in3, np.int64)
    q = 0
    for i in range(r):
        if in3[i]:
            lo_i[q] = _search_left(t_s, table[i, 0])
            hi_i[q] = max(_search_left(t_s, table[i, 1]), lo_i[q] + 1)
            q += 1
    rot_kept = _rep_rotation_deg(x, lo_i, hi_i, int(prm[10]))
    rotation_deg = np.zeros(r)
    q = 0
    for i in range(r):
        if in3[i]:
            rotation_deg[i] = rot_kept[q]
            q += 1
    # posture (mean gravity direction) of the same reps, for the edge test of non-rotating sets
    n_p = r if prm[30] > 0.0 else 0
    px = np.zeros(n_p)
    py = np.zeros(n_p)
    pz = np.zeros(n_p)
    if n_p > 0:
        post_kept = _rep_posture(x, lo_i, hi_i)
        q = 0
        for i in range(r):
            if in3[i]:
                px[i] = post_kept[q, 0]
                py[i] = post_kept[q, 1]
                pz[i] = post_kept[q, 2]
                q += 1
    # a rep the recording starts (ends) in: its displacement there is the filters' start-up
    # from a padded edge, its travel is not a travel (the first press of a set whose recording
    # starts overhead: 1.8x the set's travel)
    cut = np.zeros(r, np.uint8)
    if r > 0 and rec_edge[0] and kind[0] == -boundary:
        cut[0] = 1
    if r > 0 and rec_edge[1] and kind[kind.shape[0] - 1] == -boundary:
        cut[r - 1] = 1
    gid = _group_reps(table[:, 0].copy(), table[:, 1].copy(), g_dur, table[:, 5].copy(), keep, prm[11], prm[12], prm[13],
                      rotation_deg, prm[14], prm[15], prm[16], prm[24], px, py, pz, math.cos(math.radians(prm[30])),
                      prm[31], prm[32], _bridged(table, holes_s), cut)
    return table, gid, still_thr, edges


@njit(**JIT)
def _bridged(table, holes_s):
    """uint8 (r,): 1 for the rows of a rep table whose span a hole of ``holes_s`` (k, 2) overlaps."""
    r = table.shape[0]
    out = np.zeros(r, np.uint8)
    for h in range(holes_s.shape[0]):
        for i in range(r):
            if holes_s[h, 0] < table[i, 1] and holes_s[h, 1] > table[i, 0]:
                out[i] = 1
    return out


@njit(**JIT)
def _edge_waits(t_s, x, table, rhythm, first, last, size, still_thr, prm, g_dur):
    """In place on ``g_dur`` (the grouping's durations, the inner reps' already trimmed): the
    first (last) rep of each rhythm of >= 3 reps read up to (from) the wait it ends (starts)
    with, when that wait lasts at least ``prm[28]`` samples and the rhythm's inner reps were
    trimmed by at least ``prm[29]`` x that wait (median): a lifter who resets on the floor
    between every rep. The wait is the run of still samples on the rep's inner side, past the
    tail of the neighbouring movement (:func:`_inner_wait`)."""
    dt_s = prm[1]
    half = int(prm[18])
    tail_n = int(prm[26])
    hold_n = int(prm[27])
    run_n = int(prm[23])
    n_rhythms = size.shape[0]
    trims = np.empty(table.shape[0])
    for g in range(n_rhythms):
        if size[g] < 3:
            continue
        n_in = 0
        for i in range(first[g] + 1, last[g]):
            if rhythm[i] == g:
                trims[n_in] = (table[i, 1] - table[i, 0]) - g_dur[i]
                n_in += 1
        inner_trim_s = _median(trims[:n_in]) if n_in > 0 else 0.0
        i = first[g]  # its inner side is its end
        a, b = _row_samples(t_s[0], dt_s, table[i, 0], table[i, 1], t_s.shape[0])
        k, n = _inner_wait(x, half, still_thr, a, b, -1, tail_n, hold_n, run_n)
        if n >= prm[28] and inner_trim_s >= prm[29] * n * dt_s:
            g_dur[i] = (t_s[k] + 0.5 * dt_s) - table[i, 0]
        i = last[g]  # its inner side is its start
        a, b = _row_samples(t_s[0], dt_s, table[i, 0], table[i, 1], t_s.shape[0])
        k, n = _inner_wait(x, half, still_thr, a, b, 1, tail_n, hold_n, run_n)
        if n >= prm[28] and inner_trim_s >= prm[29] * n * dt_s:
            g_dur[i] = table[i, 1] - (t_s[k] - 0.5 * dt_s)


@njit(**JIT)
def _inner_wait(x, half, threshold, a, b, step, tail_n, hold_n, run_n):
    """The wait a rep spanning samples ``a`` to ``b`` starts (``step`` 1) or ends (``step``
    -1) with: past the tail of the neighbouring movement (:func:`_past_edge_tail`), the still
    samples up to its first (back to its last) run of >= ``run_n`` moving samples, as
    :func:`_still_walk` reads them. Returns ``k, n``: that run's first (last) sample and the
    wait's length in samples."""
    if step == 1:
        s0 = _past_edge_tail(x, half, threshold, a, b, 1, tail_n, hold_n)
        k, _b2 = _still_walk(x, half, threshold, s0, b, run_n)
        return k, k - s0
    s0 = _past_edge_tail(x, half, threshold, b, a, -1, tail_n, hold_n)
    _a2, k = _still_walk(x, half, threshold, a, s0, run_n)
    return k, s0 - k


@njit(**JIT)
def _signal_holes(t_s, t_prev_s, min_hole_s, max_hole_s):
    """Holes in the raw timestamps: intervals ``(t[i-1], t[i])`` with ``min <= t[i] - t[i-1] <= max``.

    ``t_prev_s`` is the last timestamp of the previous block (NaN for the first block), so a
    hole across a block boundary is found once. Longer intervals are breaks (the resampler
    restarts its grid there), not holes.

    Returns
    -------
    float64 (n_holes, 2): start and end time of each hole, in time order.
    """
    n = t_s.shape[0]
    # count first (a branch-free loop the compiler vectorises: ~0.5 ns/row), fill only if any
    m = 0
    prev = t_prev_s
    for i in range(n):
        gap = t_s[i] - prev
        m += (gap >= min_hole_s) & (gap <= max_hole_s)  # False for a NaN prev
        prev = t_s[i]
    out = np.empty((m, 2))
    if m == 0:
        return out
    k = 0
    prev = t_prev_s
    for i in range(n):
        gap = t_s[i] - prev
        if gap >= min_hole_s and gap <= max_hole_s:
            out[k, 0] = prev
            out[k, 1] = t_s[i]
            k += 1
        prev = t_s[i]
    return out


#: The noise floor of a stretch is taken from the window deviation at every 8th grid sample.
_NOISE_STEP = 8


@njit(**JIT)
def _window_sd(x, i, half):
    """Root sum over the three axes of the (population) variance of ``x`` (m, 3, in g) in the
    window ``[i - half, i + half]`` cut at the edges: how much the acceleration moves there."""
    return np.sqrt(_window_var(x, i, half))


@njit(**JIT)
def _still_bound(threshold):
    """The ``bound`` with ``_window_var(x, i, half) < bound`` exactly when ``_window_sd(x, i,
    half) < threshold``: the smallest float whose square root (correctly rounded, so never
    smaller for a larger float) is not below ``threshold`` (0 for a threshold <= 0, NaN for NaN:
    nothing is still). The walks compare the variance sums with it: no square root per sample."""
    if not threshold > 0.0:
        return 0.0 if threshold <= 0.0 else threshold
    c = threshold * threshold  # (inf when it overflows: every finite variance is below)
    while c > 0.0 and np.sqrt(np.nextafter(c, 0.0)) >= threshold:
        c = np.nextafter(c, 0.0)
    while np.sqrt(c) < threshold:
        c = np.nextafter(c, np.inf)
    return c


@njit(**JIT)
def _window_var(x, i, half):
    """The square of :func:`_window_sd` before its root: the sum over the axes of the positive
    (population) variances in the window."""
    m = x.shape[0]
    lo = max(0, i - half)
    hi = min(m, i + half + 1)
    # the three axes in the lanes of one vector (lane 3 is 0): the scalar operations per axis
    ref = load3(x, lo)
    s1 = splat4(0.0)
    s2 = splat4(0.0)
    for q in range(lo, hi):  # offsets from the window's first row: no cancellation near 1 g
        d = sub4(load3(x, q), ref)
        s1 = add4(s1, d)
        s2 = add4(s2, mul4(d, d))
    k = splat4(hi - lo)
    mean = div4(s1, k)
    v = sub4(div4(s2, k), mul4(mean, mean))
    total = 0.0
    v0 = lane4(v, 0)
    if v0 > 0.0:
        total += v0
    v1 = lane4(v, 1)
    if v1 > 0.0:
        total += v1
    v2 = lane4(v, 2)
    if v2 > 0.0:
        total += v2
    return total


@njit(**JIT)
def _still_threshold(x, half, rel, floor_g, cap_g, pct):
    """The still threshold of a stretch: ``min(max(rel x the pct-th percentile of
    :func:`_window_sd` over every ``_NOISE_STEP``-th sample, floor_g), cap_g)``, ``rel``
    times the stretch's own noise floor whatever the sensor's noise. A sample ``i`` is
    still when ``_window_sd(x, i, half)`` is below it."""
    m = x.shape[0]
    n = (m + _NOISE_STEP - 1) // _NOISE_STEP
    # The floor decides once hi + 1 deviations are clearly below floor_g / rel (hi: the
    # higher rank _abs_percentile interpolates from): the percentile is then at most the
    # hi-th smallest deviation (its interpolation rounds at most an ulp above it), rel x it
    # is below floor_g, and the threshold is floor_g whatever the other deviations are.
    # (A quiet sensor: the usual case.) Else every deviation is needed.
    hi = min(int(math.floor(pct / 100.0 * (n - 1))) + 1, n - 1)
    low_g = floor_g * (1.0 - 1e-9)
    n_low = 0
    sd = np.empty(n)
    for j in range(n):
        v = _window_sd(x, j * _NOISE_STEP, half)
        sd[j] = v
        if rel * v < low_g:
            n_low += 1
            if n_low > hi:
                return floor_g if floor_g <= cap_g else cap_g
    threshold = rel * _dsp._abs_percentile(sd, pct) if n > 0 else 0.0
    if threshold < floor_g:
        threshold = floor_g
    if threshold > cap_g:
        threshold = cap_g
    return threshold


@njit(**JIT)
def _still_edges(t_s, x, half, threshold, start_s, end_s, dt_s, run_n):
    """The samples a rep of the grid ``t_s`` / ``x`` spanning ``[start_s, end_s]`` (sample
    edges, as in the rep table) is trimmed to by :func:`_trim_still`.

    Returns
    -------
    a, b : int, its first and last sample.
    a2, b2 : int, the first and last samples of its first and last run of >= ``run_n``
        moving samples (``a2 == a and b2 == b``: nothing to trim).
    """
    a, b = _row_samples(t_s[0], dt_s, start_s, end_s, t_s.shape[0])
    a2, b2 = _still_walk(x, half, threshold, a, b, run_n)
    return a, b, a2, b2


@njit(**JIT)
def _still_walk(x, half, threshold, a, b, run_n):
    """``a2, b2`` of :func:`_still_edges` for the samples ``[a, b]``."""
    bound = _still_bound(threshold)  # a sample is still when _window_var(x, i, half) < bound
    # the first and last samples of a run of >= run_n moving samples (shorter blips of a
    # noisy still are passed over; a run cut by the rep's edge counts). The walks read a
    # sample's stillness again right after reading it: ``ci`` / ``cv`` keep the last one.
    ci = -1
    cv = False
    a2 = a
    while a2 < b:
        if ci != a2:
            ci = a2
            cv = _window_var(x, a2, half) < bound
        if cv:
            a2 += 1
            continue
        k = a2
        while k <= b and k - a2 < run_n:
            if ci != k:
                ci = k
                cv = _window_var(x, k, half) < bound
            if cv:
                break
            k += 1
        if k - a2 >= run_n or k > b:
            break
        a2 = k
    b2 = b
    while b2 > a2:
        if ci != b2:
            ci = b2
            cv = _window_var(x, b2, half) < bound
        if cv:
            b2 -= 1
            continue
        k = b2
        while k >= a2 and b2 - k < run_n:
            if ci != k:
                ci = k
                cv = _window_var(x, k, half) < bound
            if cv:
                break
            k -= 1
        if b2 - k >= run_n or k < a2:
            break
        b2 = k
    return a2, b2


@njit(**JIT)
def _past_edge_tail(x, half, threshold, a, b, step, tail_n, hold_n):
    """Where a rep's still part begins when it starts (``step`` 1, from sample ``a``
    towards ``b``) or ends (``step`` -1) with the tail of the neighbouring movement: a run
    of at most ``tail_n`` moving samples at the edge, then at least ``hold_n`` still ones.
    Returns the first sample after that tail, or ``a`` when the edge is not such a tail."""
    bound = _still_bound(threshold)  # a sample is still when _window_var(x, i, half) < bound
    n = 0
    k = a
    while n <= tail_n and (b - k) * step >= 0 and not (_window_var(x, k, half) < bound):
        n += 1
        k += step
    if n == 0 or n > tail_n:
        return a
    m = 0
    while m < hold_n and (b - k) * step >= 0 and _window_var(x, k, half) < bound:
        m += 1
        k += step
    return a + n * step if m >= hold_n else a


@njit(**JIT)
def _trim_row(t_s, rows, r, a, b, a2, b2, dt_s):
    """Row ``r`` of ``rows`` cut to the samples ``[a2, b2]`` of :func:`_still_edges` (in place)."""
    if a2 == a and b2 == b:
        return
    moving0 = (rows[r, 1] - rows[r, 0]) - rows[r, 4]
    frac = rows[r, 2] / moving0 if moving0 > 0.0 else 0.5
    start = t_s[a2] - 0.5 * dt_s
    end = t_s[b2] + 0.5 * dt_s
    pause = rows[r, 4]
    if pause > end - start:
        pause = end - start
    moving = (end - start) - pause
    rows[r, 0] = start
    rows[r, 1] = end
    rows[r, 2] = moving * frac
    rows[r, 3] = moving - rows[r, 2]
    rows[r, 4] = pause


@njit(**JIT)
def _trim_still(t_s, x, half, threshold, rows, dt_s, run_n, edges):
    """In place on rep-table rows (see :func:`_rep_table`) of the grid ``t_s`` / ``x``: a
    rep's start moves past the still samples it begins with and its end back before those
    it ends with (the wait at the rest end, which the high-passed displacement drifts
    through); still: ``_window_sd(x, i, half) < threshold``. Movement starts at the first
    run of ``run_n`` moving samples: shorter blips in a noisy still are passed over. The
    pause is kept (capped at the new duration), the moving time shrinks and keeps its phase
    split. ``edges`` (k, 4): the :func:`_still_edges` of each row when already known, else
    ``-1`` (found here)."""
    for r in range(rows.shape[0]):
        if edges[r, 0] >= 0:
            a, b, a2, b2 = edges[r, 0], edges[r, 1], edges[r, 2], edges[r, 3]
        else:
            a, b, a2, b2 = _still_edges(t_s, x, half, threshold, rows[r, 0], rows[r, 1], dt_s, run_n)
        _trim_row(t_s, rows, r, a, b, a2, b2, dt_s)


@njit(**JIT)
def _settle_reps(t_s, x, z, rows, edges, boundary, still_thr, prm):
    """The reps of a kept group once its count is settled, in place on its rep-table
    ``rows`` (stretch grid ``t_s``, ``x``, displacement ``z``): phases split by the velocity
    (:func:`_split_phases`), then still edges trimmed (:func:`_trim_still`, with the
    :func:`_still_edges` the grouping found: ``edges`` (k, 4) per row, ``-1`` when none).
    ``still_thr`` < 0: the stretch's threshold is computed here. Returns the threshold."""
    _split_phases(t_s, z, rows, boundary, prm[17], prm[1])
    if still_thr < 0.0:  # fewer than 3 kept reps in the stretch (min_reps < 3)
        still_thr = _still_threshold(x, int(prm[18]), prm[19], prm[20], prm[21], prm[22])
    _trim_still(t_s, x, int(prm[18]), still_thr, rows, prm[1], int(prm[23]), edges)
    return still_thr


@njit(**JIT)
def _analyse_stretches(buf_t, x, lo_i, hi_i, a_up, z, offsets, shift_s, prm, min_reps, rhythm_reps, short_ratio,
                       slowdown_frac, holes_s, rec_edge):
    """:func:`_analyse_displacement` of many stretches in one call, and the rep-count and
    rhythm filters of their groups (what ``SetAnalyzer.analyse`` does next, minus the checks
    that need the stretch's samples again).

    Parameters
    ----------
    buf_t : float64 (n,) grid times; x : float64 (n, 3) grid acceleration (g).
    lo_i, hi_i : int64 (s,) stretch ``j`` is ``[lo_i[j], hi_i[j])``, of >= 2 samples.
    a_up, z, offsets : the vertical acceleration and displacement of stretch ``j`` are
        ``a_up[offsets[j]:offsets[j + 1]]``, ``z[...]`` (from ``_vertical_displacements``).
    shift_s : float, subtracted from ``buf_t`` (the stretch's ``t_s`` is ``buf_t[lo:hi] - shift_s``).
    prm : float64 (33,) as :func:`_analyse_displacement`, with ``amp_floor_m`` 0.
    min_reps, rhythm_reps : int; short_ratio, slowdown_frac : float, as ``DetectorConfig``'s
        ``min_reps``, ``rhythm_reps``, ``short_set_duration_ratio``, ``slowdown_frac``.
    holes_s : float64 (k, 2) the bridged holes on the stretches' time base (``buf_t - shift_s``).
    rec_edge : uint8 (s, 2) per stretch, :func:`_analyse_displacement`'s ``rec_edge``.

    Returns
    -------
    rows : float64 (R, 7) the rep-table rows of the surviving groups, group after group,
        their phases split by the velocity (:func:`_split_phases`), then their still edges
        trimmed (:func:`_trim_still`). A group of fewer than ``rhythm_reps`` reps survives
        only if its longest rep lasts at most ``short_ratio`` x its shortest, both before and
        after the trim.
    groups : int64 (G, 5) per group, in stretch then time order: stretch ``j``, first and
        end row in ``rows``, 1 when the group has fewer than ``rhythm_reps`` reps (its
        vertical fraction is still to check), the stretch's ``boundary`` (+1 / -1).
    aggs : float64 (G, 6) per group, what ``reps.build_set`` sums from its reps, with the same
        operations in the same order: TUT, eccentric, concentric and pause time, mean tempo,
        concentric slow-down (NaN for one rep or a zero first mean).
    """
    s = lo_i.shape[0]
    # every stretch's t_s a view of one array (each value buf_t[k] - shift_s, as in an array of
    # its own): one subtraction pass and one allocation per call instead of one per stretch
    k_lo = lo_i.min() if s else 0
    t_all = buf_t[k_lo:hi_i.max() if s else 0] - shift_s
    n_rows = 0
    tables = []
    gids = []
    edge_tabs = []
    still_thr = np.empty(s)
    bounds = np.zeros(s, np.int64)
    for j in range(s):
        lo = lo_i[j]
        hi = hi_i[j]
        t_s = t_all[lo - k_lo:hi - k_lo]
        o0 = offsets[j]
        o1 = offsets[j + 1]
        _a, _amp, boundary, table, gid, thr_j, edges_j = _analyse_displacement(t_s, x[lo:hi], a_up[o0:o1], z[o0:o1],
                                                                               prm, 0.0, holes_s, rec_edge[j])
        bounds[j] = boundary
        tables.append(table)
        edge_tabs.append(edges_j)
        gids.append(gid)
        still_thr[j] = thr_j
        n_rows += table.shape[0]
    rows = np.empty((n_rows, 7))
    row_edges = np.empty((n_rows, 4), np.int64)
    groups = np.empty((n_rows, 5), np.int64)
    aggs = np.empty((n_rows, 6))
    q = 0
    n_g = 0
    for j in range(s):
        if bounds[j] == 0:
            continue
        table = tables[j]
        gid = gids[j]
        edges = edge_tabs[j]
        lo = lo_i[j]
        hi = hi_i[j]
        r = table.shape[0]
        i = 0
        while i < r:
            if gid[i] < 0:
                i += 1
                continue
            g = gid[i]
            # the group's rows (those with gid g, the dropped ones of -1 may sit between)
            n = 0
            last = i
            for k in range(i, r):
                if gid[k] == g:
                    n += 1
                    last = k
                elif gid[k] > g:
                    break
            first = i
            i = last + 1
            if n < min_reps:
                continue
            q0 = q
            for k in range(first, last + 1):
                if gid[k] == g:
                    for c in range(7):
                        rows[q, c] = table[k, c]
                    for c in range(4):
                        row_edges[q, c] = edges[k, c]
                    q += 1
            # a short group keeps one tempo, between its turning points and once its still edges
            # are trimmed (movements during a rest, bridged by stillness, pass the first only)
            check = 1 if n < rhythm_reps else 0
            if check and _spread_exceeds(rows[q0:q], short_ratio):
                q = q0
                continue
            still_thr[j] = _settle_reps(t_all[lo - k_lo:hi - k_lo], x[lo:hi], z[offsets[j]:offsets[j + 1]], rows[q0:q],
                                        row_edges[q0:q], bounds[j], still_thr[j], prm)
            if check and _spread_exceeds(rows[q0:q], short_ratio):
                q = q0
                continue
            groups[n_g, 0] = j
            groups[n_g, 1] = q0
            groups[n_g, 2] = q
            groups[n_g, 3] = check
            groups[n_g, 4] = bounds[j]
            _set_sums(rows[q0:q], bounds[j] == -1, slowdown_frac, aggs[n_g])
            n_g += 1
    return rows[:q], groups[:n_g], aggs[:n_g]


@njit(**JIT)
def _spread_exceeds(rows, ratio):
    """The longest of the rep-table ``rows`` (k >= 1) lasts more than ``ratio`` x the shortest."""
    d_min = np.inf
    d_max = -np.inf
    for k in range(rows.shape[0]):
        d = rows[k, 1] - rows[k, 0]
        d_min = min(d_min, d)
        d_max = max(d_max, d)
    return d_max > ratio * d_min


@njit(**JIT)
def _set_sums(rows, concentric_first, slowdown_frac, out):
    """``reps.build_set``'s sums over a group's rep-table rows (n >= 1) into ``out`` (6,):
    each a running sum from 0 in rep order, as Python's ``sum``; ``k = round(n * frac)``
    rounds half to even, as Python's ``round``."""
    n = rows.shape[0]
    i_con = 2 if concentric_first else 3
    i_ecc = 5 - i_con
    tut = 0.0
    ecc = 0.0
    con = 0.0
    pause = 0.0
    for i in range(n):
        tut += rows[i, 1] - rows[i, 0]
        ecc += rows[i, i_ecc]
        con += rows[i, i_con]
        pause += rows[i, 4]
    y = n * slowdown_frac
    k = math.floor(y)
    if y - k > 0.5 or (y - k == 0.5 and k % 2 == 1):
        k += 1
    k = max(1, int(k))
    first = 0.0
    for i in range(min(k, n)):
        first += rows[i, i_con]
    last = 0.0
    for i in range(max(n - k, 0), n):
        last += rows[i, i_con]
    first = first / k
    last = last / k
    out[0] = tut
    out[1] = ecc
    out[2] = con
    out[3] = pause
    out[4] = tut / n
    out[5] = last / first if n >= 2 and first > 0 else np.nan
