"""Slow, obviously-correct twins of the numba kernels (``repsense.dsp._kernels``,
``repsense.segment._kernels``). Plain Python loops over lists; no numba, no vectorisation
tricks. Differential tests compare each kernel with its twin.
"""

from __future__ import annotations

import math

import numpy as np


def resample_linear(t_s, x, dt_grid_s, max_gap_s, tau_aa_s):
    """Twin of ``_resample_linear`` run over the whole input at once.

    Returns (grid_t, grid_x, breaks) as lists.
    """
    out_t, out_x, breaks = [], [], []
    xf = None
    t_prev = origin = None
    k = 0
    for i in range(len(t_s)):
        ti = float(t_s[i])
        xi = [float(v) for v in x[i]]
        if xf is None or ti - t_prev > max_gap_s:
            xf = list(xi)
            origin, k, t_prev = ti, 0, ti
            breaks.append(len(out_t))
            out_t.append(ti)
            out_x.append(list(xf))
            k = 1
            continue
        dt = ti - t_prev
        alpha = dt / (tau_aa_s + dt)
        new = [xf[j] + alpha * (xi[j] - xf[j]) for j in range(len(xi))]
        while origin + k * dt_grid_s <= ti:
            tg = origin + k * dt_grid_s
            w = (tg - t_prev) / dt
            out_t.append(tg)
            out_x.append([xf[j] + w * (new[j] - xf[j]) for j in range(len(xi))])
            k += 1
        xf = new
        t_prev = ti
    return out_t, out_x, breaks


def sos_pass(y, sos, backward):
    """Twin of ``_sos_pass`` (one direction, in pass order from rest after subtracting the
    first value; each section in turn, direct form I)."""
    sig = [float(v) for v in (y[::-1] if backward else y)]
    sig = [v - sig[0] for v in sig]
    for b0, b1, b2, _a0, a1, a2 in sos:
        out = []
        for i in range(len(sig)):
            xm1 = sig[i - 1] if i >= 1 else 0.0
            xm2 = sig[i - 2] if i >= 2 else 0.0
            ym1 = out[i - 1] if i >= 1 else 0.0
            ym2 = out[i - 2] if i >= 2 else 0.0
            out.append(b0 * sig[i] + b1 * xm1 + b2 * xm2 - a1 * ym1 - a2 * ym2)
        sig = out
    return sig[::-1] if backward else sig


def pad_odd(x, p):
    """Twin of ``_pad_odd``: the signal ``x`` with ``p`` odd-reflected samples each side."""
    x = [float(v) for v in x]
    n = len(x)
    return [2 * x[0] - x[p - i] for i in range(p)] + x + [2 * x[n - 1] - x[n - 2 - i] for i in range(p)]


def sosfilt_fb(x, sos, n_pad):
    """Twin of ``_sosfilt_fb``: odd-reflect pad, then each section forward, then backward."""
    x = [float(v) for v in x]
    n = len(x)
    p = min(n_pad, n - 1)
    y = pad_odd(x, p)
    y = sos_pass(sos_pass(y, sos, False), sos, True)
    return y[p:p + n]


def norm3(x):
    """Twin of ``_norm3``."""
    return [math.sqrt(sum(float(v) ** 2 for v in row)) for row in x]


def turning_points(y, threshold):
    """Twin of ``_turning_points``: walk the signal, confirm an extreme once the signal
    crosses the opposite threshold; the pending extreme is confirmed at the end."""
    idx, kind = [], []
    state, ext = 0, 0
    for i, v in enumerate(y):
        if state == 0:
            if v > threshold:
                state, ext = 1, i
            elif v < -threshold:
                state, ext = -1, i
        elif state == 1:
            if v > y[ext]:
                ext = i
            if v < -threshold:
                idx.append(ext), kind.append(1)
                state, ext = -1, i
        else:
            if v < y[ext]:
                ext = i
            if v > threshold:
                idx.append(ext), kind.append(-1)
                state, ext = 1, i
    if state != 0:
        idx.append(ext), kind.append(state)
    return idx, kind


def activity_sets(x, breaks, alpha_g, alpha_ms, enter_ms, exit_ms, n_rest, n_pre, n_post, n_max, n_check):
    """Twin of ``_activity_sets`` over one whole array (global index = local index).

    Written as a plain state machine with named variables. Returns a list of
    (first, last, kind): kind 0 a closed set, 1 a checkpoint of the open set.
    """
    events = []
    g = None
    ms = 0.0
    active = False
    k_start = below = seg_start = 0
    below = -1
    last_end = -1
    k_last = -1
    breaks = set(int(b) for b in breaks)
    for k in range(len(x)):
        if k in breaks:
            if active and g is not None:
                first = max(k_start - n_pre, seg_start, last_end + 1)
                last = k_last if below < 0 else min(k_last, below + n_post)
                if first <= last:
                    events.append((first, last, 0))
                    last_end = last
            g = None
            active = False
        if g is None:
            g = [float(v) for v in x[k]]
            ms = 0.0
            active = False
            below = -1
            seg_start = k
        g = [g[j] + alpha_g * (float(x[k][j]) - g[j]) for j in range(3)]
        d = [float(x[k][j]) - g[j] for j in range(3)]
        ms = ms + alpha_ms * (sum(v * v for v in d) - ms)
        k_last = k
        if not active:
            if ms > enter_ms:
                active, k_start, below = True, k, -1
        else:
            if ms < exit_ms:
                if below < 0:
                    below = k
                if k - below >= n_rest:
                    first = max(k_start - n_pre, seg_start, last_end + 1)
                    last = below + n_post
                    events.append((first, last, 0))
                    last_end = last
                    active, below = False, -1
            else:
                below = -1
            if active and k > k_start and (k - k_start) % n_check == 0:
                events.append((max(k_start - n_pre, seg_start, last_end + 1), k, 1))
            if active and k - k_start >= n_max:
                first = max(k_start - n_pre, seg_start, last_end + 1)
                events.append((first, k, 0))
                last_end = k
                k_start, below = k + 1, -1
    return events


def as_array(rows) -> np.ndarray:
    return np.asarray(rows, dtype=np.float64)


def rep_table(t_s, z, idx, kind, boundary, still_rel, dt_s, open_ratio):
    """Twin of ``_rep_table``: one row per turnaround, walking the displacement by hand."""
    rows = []
    n, p = len(z), len(idx)
    for j in range(p):
        if kind[j] != -boundary:
            continue
        it = int(idx[j])
        zt = z[it]
        has_prev, has_next = j >= 1, j + 1 < p
        i0 = int(idx[j - 1]) if has_prev else (max(0, 2 * it - int(idx[j + 1])) if has_next else 0)
        i1 = int(idx[j + 1]) if has_next else (min(n - 1, 2 * it - int(idx[j - 1])) if has_prev else n - 1)
        travel0, travel1 = abs(z[i0] - zt), abs(z[i1] - zt)
        if travel0 <= 0 or travel1 <= 0:
            rows.append([0.0] * 7)
            continue
        if not has_prev or not has_next:
            side = z[:it + 1] if not has_prev else z[it:]
            # how far the open side moves away from the turnaround, towards the boundary side
            far = max([0.0] + [(v - zt) if boundary == 1 else (zt - v) for v in side])
            closed = 0.0 if (not has_prev and not has_next) else (travel1 if not has_prev else travel0)
            if far < open_ratio * closed:
                rows.append([0.0] * 7)
                continue
        s = i0
        while s < it and abs(z[s] - z[i0]) <= still_rel * travel0:
            s += 1
        e = i1
        while e > it and abs(z[e] - z[i1]) <= still_rel * travel1:
            e -= 1
        band_t = still_rel * min(travel0, travel1)
        p0 = it
        while p0 > s and abs(z[p0 - 1] - zt) <= band_t:
            p0 -= 1
        p1 = it
        while p1 < e and abs(z[p1 + 1] - zt) <= band_t:
            p1 += 1
        start, end = t_s[s] - dt_s / 2, t_s[e] + dt_s / 2
        travel = max(travel0 if has_prev else 0.0, travel1 if has_next else 0.0)
        rows.append([start, end, t_s[p0] - start, end - t_s[p1], t_s[p1] - t_s[p0], travel, 1.0])
    return rows


def group_reps(start_s, end_s, dur_s, travel, keep, max_inter_rep_s, travel_ratio, duration_ratio,
               rotation_deg, rotation_ratio, rotation_min_deg, ref_frac=0.0, inner_duration_ratio=0.0,
               posture=None, posture_max_deg=0.0, short_ratio=0.0, short_travel_ratio=0.0, bridged=None,
               rec_cut=None):
    """Twin of ``_group_reps`` with Python lists and ``statistics.median`` (``posture``: a
    unit mean direction per rep, or None for no posture test; ``bridged``, ``rec_cut``: a
    flag per rep, or None for none)."""
    from statistics import median

    def rhythms(is_kept):
        out, last_end = [], None
        for i in range(len(start_s)):
            if not is_kept(i):
                continue
            if not out or start_s[i] - last_end > max_inter_rep_s:
                out.append([])
            out[-1].append(i)
            last_end = end_s[i]
        return out

    groups = rhythms(lambda i: keep[i])
    if rotation_ratio > 0 or inner_duration_ratio > 0 or short_ratio > 0:
        # inner handling moves split a rhythm; fragments are dropped from it
        splitters, fragments = set(), set()
        for members in groups:
            if len(members) < 3:
                continue
            cut = int(len(members) * ref_frac) if ref_frac > 0 and len(members) >= 6 else 0
            core = members[cut:len(members) - cut]
            if rotation_ratio > 0:
                limit = max(rotation_ratio * median([rotation_deg[m] for m in core]), rotation_min_deg)
                splitters |= {m for m in members[1:-1] if rotation_deg[m] > limit}
            if inner_duration_ratio > 0:
                limit = inner_duration_ratio * median([dur_s[m] for m in core])
                splitters |= {m for m in members[1:-1] if dur_s[m] > limit}
            if short_ratio > 0 and len(members) >= 6:
                short = short_ratio * median([dur_s[m] for m in core])
                small = short_travel_ratio * median([travel[m] for m in core])
                fragments |= {m for m in members[1:-1] if dur_s[m] < short and travel[m] < small
                              and not (bridged and bridged[m])}
        fragments -= splitters
        if splitters or fragments:
            groups, last_end, new = [], None, False
            for i in range(len(start_s)):
                if not keep[i]:
                    continue
                if i in splitters:
                    new = True
                elif i in fragments:
                    last_end = end_s[i]  # the rhythm goes on through a fragment
                else:
                    if not groups or new or start_s[i] - last_end > max_inter_rep_s:
                        groups.append([])
                        new = False
                    groups[-1].append(i)
                    last_end = end_s[i]
    gid = [-1] * len(start_s)

    def unlike(i, members):
        med_tr = median([travel[m] for m in members])
        med_d = median([dur_s[m] for m in members])
        d = dur_s[i]
        if posture is not None and median([rotation_deg[m] for m in members]) <= rotation_min_deg:
            ref = [median([posture[m][k] for m in members]) for k in range(3)]
            norm = math.sqrt(sum(v * v for v in ref))
            if norm > 0 and sum(posture[i][k] * ref[k] / norm for k in range(3)) < math.cos(
                    math.radians(posture_max_deg)):
                return True  # a set that does not turn the forearm: an edge rep in another posture
        if rotation_ratio > 0:
            med_rot = median([rotation_deg[m] for m in members])
            if rotation_deg[i] > max(rotation_ratio * med_rot, rotation_min_deg):
                return True
            if rotation_deg[i] < min(med_rot / rotation_ratio, med_rot - rotation_min_deg):
                return True  # a set that turns the forearm every rep: an edge move that does not
        travel_like = (rec_cut and rec_cut[i]) or med_tr / travel_ratio <= travel[i] <= med_tr * travel_ratio
        return not (travel_like and med_d / duration_ratio <= d <= med_d * duration_ratio)

    for g, members in enumerate(groups):
        members = list(members)
        cut = int(len(members) * ref_frac)
        reference = members[cut:len(members) - cut] if ref_frac > 0 and len(members) >= 6 else None
        while len(members) >= 3:
            if unlike(members[0], reference or members):
                members.pop(0)
            elif unlike(members[-1], reference or members):
                members.pop()
            else:
                break
        for m in members:
            gid[m] = g
    return gid


def rep_rotation_deg(x, lo, hi, half_window):
    """Twin of ``_rep_rotation_deg``: direct window sums and angles, one sample at a time."""
    m = len(x)

    def direction(k):
        g = [0.0, 0.0, 0.0]
        for q in range(max(k - half_window, 0), min(k + half_window + 1, m)):
            for j in range(3):
                g[j] += float(x[q][j])
        return g

    out = []
    for a, b in zip(lo, hi):
        if m == 0:
            out.append(0.0)
            continue
        k0 = min(max(int(a), 0), m - 1)
        ref = direction(k0)
        nr = math.sqrt(sum(v * v for v in ref))
        worst = 0.0
        for k in range(k0, min(int(b), m)):
            g = direction(k)
            ng = math.sqrt(sum(v * v for v in g))
            if nr == 0.0 or ng == 0.0:
                continue
            cross = np.cross(ref, g)
            dot = sum(u * v for u, v in zip(ref, g))
            worst = max(worst, math.degrees(math.atan2(math.sqrt(float(cross @ cross)), dot)))
        out.append(worst)
    return out


def abs_percentile(x, q):
    """Twin of ``_abs_percentile``: sort |x| and interpolate linearly between neighbours."""
    a = sorted(abs(float(v)) for v in x)
    if not a:
        return math.nan
    pos = q / 100.0 * (len(a) - 1)
    lo = int(math.floor(pos))
    hi = min(lo + 1, len(a) - 1)
    return a[lo] + (a[hi] - a[lo]) * (pos - lo)


def order_stats2(a, k):
    """Twin of ``_order_stats2``: the k-th and (k+1)-th (or again the k-th) of the sorted values."""
    srt = sorted(float(v) for v in a)
    return srt[k], srt[min(k + 1, len(srt) - 1)]


def vertical_displacement(x, band_sos, hp_sos, n_pad, dt_s, g_m_s2):
    """Twin of ``_vertical_displacement``: |x| band-passed, then integrate + high-pass twice."""
    a_up = [v * g_m_s2 for v in sosfilt_fb(norm3(x), band_sos, n_pad)]
    sig = a_up
    for _ in range(2):
        acc, integ = 0.0, []
        for v in sig:
            acc += v
            integ.append(acc * dt_s)
        sig = sosfilt_fb(integ, hp_sos, n_pad)
    return a_up, sig


def analyse_stretch(t_s, x, band_sos, hp_sos, prm, amp_floor_m, holes_s=(), rec_edge=(False, False)):
    """Twin of ``_vertical_displacement`` then ``_analyse_displacement``: the naive steps one
    after the other, as the analyser used to call the separate kernels. Returns (a_up, amp,
    boundary, table rows, gid, still threshold or -1)."""
    (n_pad, dt_s, g, pct, hyst, min_travel, still, open_ratio, min_rep, max_rep, n_half, max_gap,
     travel_ratio, dur_ratio, rot_ratio, rot_min, ref_frac, phase_rel) = [float(v) for v in prm[:18]]
    a_up, z = vertical_displacement(x, band_sos, hp_sos, int(n_pad), dt_s, g)
    amp = max(abs_percentile(z, pct), amp_floor_m)
    idx, kind = turning_points(z, max(hyst * amp, min_travel / 2))
    if len(idx) < 2:
        return a_up, amp, 0, [], [], -1.0
    n_max = kind.count(1)
    n_min = len(kind) - n_max
    boundary = 1 if n_max > n_min else -1 if n_min > n_max else kind[-1]
    rows, gid, quiet = _reps_and_groups(t_s, x, z, idx, kind, boundary, prm, holes_s, rec_edge)
    if prm[25] > 0:  # count the turning points again over the spans of the groups of >= 3 reps
        n_max = n_min = 0
        for grp in sorted(set(gid) - {-1}):
            mine = [rows[i] for i in range(len(rows)) if gid[i] == grp]
            if len(mine) < 3:
                continue
            widen = prm[25] * float(np.median([r[1] - r[0] for r in mine]))
            inside = [k for i, k in zip(idx, kind) if mine[0][0] - widen <= t_s[i] <= mine[-1][1] + widen]
            n_max, n_min = n_max + inside.count(1), n_min + inside.count(-1)
        other = 1 if n_max > n_min else -1 if n_min > n_max else 0
        if other not in (0, boundary):
            boundary = other
            rows, gid, quiet = _reps_and_groups(t_s, x, z, idx, kind, boundary, prm, holes_s, rec_edge)
    return a_up, amp, boundary, rows, gid, quiet


def _reps_and_groups(t_s, x, z, idx, kind, boundary, prm, holes_s, rec_edge):
    (n_pad, dt_s, g, pct, hyst, min_travel, still, open_ratio, min_rep, max_rep, n_half, max_gap,
     travel_ratio, dur_ratio, rot_ratio, rot_min, ref_frac, phase_rel) = [float(v) for v in prm[:18]]
    rows = rep_table(list(t_s), z, idx, kind, boundary, still, dt_s, open_ratio)
    keep = [int(r[6] > 0 and min_rep <= r[1] - r[0] <= max_rep) for r in rows]
    lo = [int(np.searchsorted(t_s, r[0])) for r in rows]
    hi = [max(int(np.searchsorted(t_s, r[1])), a + 1) for r, a in zip(rows, lo)]
    rot = rep_rotation_deg(np.asarray(x).tolist(), lo, hi, int(n_half))
    durs = [r[1] - r[0] for r in rows]
    quiet = -1.0
    kept = [i for i in range(len(rows)) if keep[i]]
    if len(kept) >= 3:  # inner reps of each rhythm are judged by their still-trimmed span
        quiet = still_threshold(x, int(prm[18]), prm[19], prm[20], prm[21], prm[22])
        still = still_mask(x, int(prm[18]), quiet)
        trimmed = trim_still(list(t_s), still, [r for r in rows], dt_s, int(prm[23]))
        rhythms = []
        for i in kept:
            if not rhythms or rows[i][0] - rows[rhythms[-1][-1]][1] > max_gap:
                rhythms.append([])
            rhythms[-1].append(i)
        tail_n, hold_n = int(prm[26]), int(prm[27])

        def samples(row):  # a rep's first and last grid sample
            return int(round((row[0] + dt_s / 2 - t_s[0]) / dt_s)), int(round((row[1] - dt_s / 2 - t_s[0]) / dt_s))

        for rh in rhythms:
            for i in rh[1:-1]:
                durs[i] = trimmed[i][1] - trimmed[i][0]
                if tail_n <= 0:
                    continue
                a, b = samples(rows[i])
                sa = past_tail(still, a, b, tail_n, hold_n) if trimmed[i][0] == rows[i][0] else a
                sb = (len(still) - 1 - past_tail(still[::-1], len(still) - 1 - b, len(still) - 1 - a, tail_n, hold_n)
                      if trimmed[i][1] == rows[i][1] else b)
                if (sa, sb) != (a, b):
                    cut = trim_still(list(t_s), still, [[t_s[sa] - dt_s / 2, t_s[sb] + dt_s / 2, 0.0, 0.0, 0.0]],
                                     dt_s, int(prm[23]))[0]
                    durs[i] = cut[1] - cut[0]
        wait_n, wait_ratio = int(prm[28]), float(prm[29])
        for rh in rhythms if wait_n > 0 else []:  # resets on the floor: the edge reps' inner waits
            if len(rh) < 3:
                continue
            inner_s = float(np.median([(rows[i][1] - rows[i][0]) - durs[i] for i in rh[1:-1]]))
            for i, forward in ((rh[0], False), (rh[-1], True)):
                a, b = samples(rows[i])
                if forward:  # the last rep: from its start, past the tail, to its first moving run
                    s0 = past_tail(still, a, b, tail_n, hold_n)
                    cut = trim_still(list(t_s), still, [[t_s[s0] - dt_s / 2, t_s[b] + dt_s / 2, 0.0, 0.0, 0.0]],
                                     dt_s, int(prm[23]))[0]
                    n = int(round((cut[0] - (t_s[s0] - dt_s / 2)) / dt_s))
                    if n >= wait_n and inner_s >= wait_ratio * n * dt_s:
                        durs[i] = rows[i][1] - cut[0]
                else:  # the first rep: back from its end
                    last = len(still) - 1
                    s0 = last - past_tail(still[::-1], last - b, last - a, tail_n, hold_n)
                    cut = trim_still(list(t_s), still, [[t_s[a] - dt_s / 2, t_s[s0] + dt_s / 2, 0.0, 0.0, 0.0]],
                                     dt_s, int(prm[23]))[0]
                    n = int(round(((t_s[s0] + dt_s / 2) - cut[1]) / dt_s))
                    if n >= wait_n and inner_s >= wait_ratio * n * dt_s:
                        durs[i] = cut[1] - rows[i][0]
    posture = None
    if prm[30] > 0:  # each rep's unit mean direction over its samples
        posture = []
        for a, b in zip(lo, hi):
            mean = [sum(float(x[k][j]) for k in range(a, min(b, len(x)))) for j in range(3)]
            norm = math.sqrt(sum(v * v for v in mean))
            posture.append([v / norm for v in mean] if norm > 0 else [0.0, 0.0, 0.0])
    gid = group_reps([r[0] for r in rows], [r[1] for r in rows], durs, [r[5] for r in rows], keep, max_gap,
                     travel_ratio, dur_ratio, rot, rot_ratio, rot_min, ref_frac, float(prm[24]), posture,
                     float(prm[30]), float(prm[31]), float(prm[32]),
                     [any(h0 < r[1] and h1 > r[0] for h0, h1 in holes_s) for r in rows],
                     # the first (last) turnaround with no boundary before (after) it, in a
                     # stretch the recording starts (ends) with
                     [(i == 0 and rec_edge[0] and kind[0] == -boundary)
                      or (i == len(rows) - 1 and rec_edge[1] and kind[-1] == -boundary) for i in range(len(rows))])
    return rows, gid, quiet


def first_bad_sample(t_s, x, extra, t_prev=None):
    """Twin of the resampler's checks: the first row with a non-finite extra value (code 4;
    the extra is checked first, as a separate check before the block), else the first row
    with a non-finite time (1) or value (3), or a time not after the previous one (2), in
    that order within a row. Returns (row, code) or (-1, 0)."""
    for i in range(len(t_s)):
        if extra is not None and not all(math.isfinite(float(v)) for v in extra[i]):
            return i, 4
    for i in range(len(t_s)):
        if not math.isfinite(float(t_s[i])):
            return i, 1
        if not all(math.isfinite(float(v)) for v in x[i]):
            return i, 3
        if t_prev is not None and not float(t_s[i]) > t_prev:
            return i, 2
        t_prev = float(t_s[i])
    return -1, 0


def signal_holes(t_s, t_prev_s, min_hole_s, max_hole_s):
    """Twin of ``segment._kernels._signal_holes``: every interval between consecutive times."""
    times = ([t_prev_s] if t_prev_s == t_prev_s else []) + [float(x) for x in t_s]
    rows = [(a, b) for a, b in zip(times, times[1:]) if min_hole_s <= b - a <= max_hole_s]
    return np.array(rows, dtype=float).reshape(-1, 2)


def seq_sum(values):
    """Left-to-right sum from 0.0 (Python's ``sum`` up to 3.11; 3.12 compensates)."""
    total = 0.0
    for v in values:
        total += v
    return total


def set_sums(rows, concentric_first, slowdown_frac):
    """Twin of ``_set_sums``: ``build_set``'s sums (left to right) and Python's round."""
    con = [r[2] if concentric_first else r[3] for r in rows]
    ecc = [r[3] if concentric_first else r[2] for r in rows]
    n = len(rows)
    tut = seq_sum(r[1] - r[0] for r in rows)
    k = max(1, int(round(n * slowdown_frac)))
    first, last = seq_sum(con[:k]) / k, seq_sum(con[-k:]) / k
    return [tut, seq_sum(ecc), seq_sum(con), seq_sum(r[4] for r in rows), tut / n,
            last / first if n >= 2 and first > 0 else math.nan]


def analyse_stretches(buf_t, x, bounds, band_sos, hp_sos, prm, shift_s, min_reps, rhythm_reps, short_ratio,
                      slowdown_frac, holes_s=(), rec_edges=None):
    """Twin of ``_vertical_displacements`` then ``_analyse_stretches``: each stretch through
    :func:`analyse_stretch`, its reps grouped by group number, the groups with too few reps
    or (fewer than ``rhythm_reps``) too unlike durations dropped. Returns (rows, groups, sums) as lists."""
    rows, groups, sums = [], [], []
    for j, (lo, hi) in enumerate(bounds):
        _a, _amp, boundary, table, gid, _still = analyse_stretch(np.asarray(buf_t[lo:hi]) - shift_s, x[lo:hi],
                                                                 band_sos, hp_sos, prm, 0.0,
                                                                 [(h0 - shift_s, h1 - shift_s) for h0, h1 in holes_s],
                                                                 rec_edges[j] if rec_edges else (False, False))
        if boundary == 0:
            continue
        for g in sorted(set(v for v in gid if v >= 0)):
            members = [row for row, v in zip(table, gid) if v == g]
            dur = [row[1] - row[0] for row in members]
            if len(members) < min_reps:
                continue
            if len(members) < rhythm_reps and max(dur) > short_ratio * min(dur):
                continue
            _a_up, z_j = vertical_displacement(x[lo:hi], band_sos, hp_sos, int(prm[0]), prm[1], prm[2])
            members = split_phases(list(np.asarray(buf_t[lo:hi]) - shift_s), z_j, members, boundary, prm[17], prm[1])
            thr = still_threshold(x[lo:hi], int(prm[18]), prm[19], prm[20], prm[21], prm[22])
            members = trim_still(list(np.asarray(buf_t[lo:hi]) - shift_s), still_mask(x[lo:hi], int(prm[18]), thr),
                                 members, prm[1], int(prm[23]))
            cut = [row[1] - row[0] for row in members]
            if len(members) < rhythm_reps and max(cut) > short_ratio * min(cut):
                continue  # the same test once the still edges are trimmed
            groups.append([j, len(rows), len(rows) + len(members), int(len(members) < rhythm_reps), boundary])
            sums.append(set_sums(members, boundary == -1, slowdown_frac))
            rows += [list(row) for row in members]
    return rows, groups, sums


def split_phases(t_s, z, rows, boundary, phase_rel, dt_s):
    """Twin of ``_split_phases``: new rows, each rep's moving time shared by the samples whose
    velocity (np.gradient) moves away from / back to the boundary beyond phase_rel x its peak."""
    grad = np.gradient(np.asarray(z, dtype=float))
    out = []
    for row in rows:
        start, end, first, second, pause = row[:5]
        a = min(range(len(t_s)), key=lambda i: abs((t_s[i] - dt_s / 2) - start))
        b = min(range(len(t_s)), key=lambda i: abs((t_s[i] + dt_s / 2) - end))
        away = [-boundary * g for g in grad[a:b + 1]]
        top_away, top_back = max([0.0] + away), max([0.0] + [-w for w in away])
        n_away = sum(1 for w in away if top_away > 0 and w > phase_rel * top_away)
        n_back = sum(1 for w in away if top_back > 0 and -w > phase_rel * top_back)
        if n_away + n_back:
            first = (end - start - pause) * n_away / (n_away + n_back)
            second = (end - start - pause) - first
        out.append([start, end, first, second, pause] + list(row[5:]))
    return out


def window_sd(x, i, half):
    """Twin of ``_window_sd``: root sum of the axes' np.var in the window cut at the edges."""
    x = np.asarray(x, dtype=float)
    win = x[max(0, i - half):min(len(x), i + half + 1)]
    return math.sqrt(sum(float(np.var(win[:, c])) for c in range(3)))


def still_threshold(x, half, rel, floor_g, cap_g, pct, step=8):
    """Twin of ``_still_threshold``: rel x the percentile of the window deviation at every
    ``step``-th sample, clamped to [floor_g, cap_g]."""
    sd = [window_sd(x, i, half) for i in range(0, len(x), step)]
    return min(max(rel * abs_percentile(sd, pct) if sd else 0.0, floor_g), cap_g)


def still_mask(x, half, threshold):
    """Per sample: 1 when its window deviation is below ``threshold``."""
    return [int(window_sd(x, i, half) < threshold) for i in range(len(x))]


def past_tail(still, a, b, tail_n, hold_n):
    """Twin of ``_past_edge_tail`` going forward from ``a`` (to ``b``) in the still mask."""
    n = 0
    while a + n <= b and not still[a + n]:
        n += 1
    if n == 0 or n > tail_n:
        return a
    held = still[a + n:min(a + n + hold_n, b + 1)]
    return a + n if len(held) == hold_n and all(held) else a


def trim_still(t_s, still, rows, dt_s, run_n=1):
    """Twin of ``_trim_still``: returns new rows, each rep cut to its first and last run of
    ``run_n`` moving samples (a run cut by the rep's edge counts)."""
    out = []
    for row in rows:
        start, end, first, second, pause = row[:5]
        a = min(range(len(t_s)), key=lambda i: abs((t_s[i] - dt_s / 2) - start))  # the sample it starts on
        b = min(range(len(t_s)), key=lambda i: abs((t_s[i] + dt_s / 2) - end))
        a2 = next((i for i in range(a, b + 1) if not any(still[i:min(i + run_n, b + 1)])
                   and (min(i + run_n, b + 1) - i == run_n or i + run_n > b + 1)), b)
        b2 = next((i for i in range(b, a2, -1) if not any(still[max(a2, i - run_n + 1):i + 1])
                   and (i + 1 - max(a2, i - run_n + 1) == run_n or i - run_n + 1 < a2)), a2)
        if (a2, b2) == (a, b):
            out.append(list(row))
            continue
        frac = first / (end - start - pause) if end - start - pause > 0 else 0.5
        start, end = t_s[a2] - dt_s / 2, t_s[b2] + dt_s / 2
        pause = min(pause, end - start)
        moving = end - start - pause
        out.append([start, end, moving * frac, moving - moving * frac, pause] + list(row[5:]))
    return out
