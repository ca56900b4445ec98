"""Reps inside one active stretch: vertical displacement proxy -> turning points -> reps and phases.

Physics. A wrist-worn accelerometer measures specific force ``f = a - g``. With the linear
acceleration ``a`` small next to gravity, ``|f| ~= 1 g + a . u`` where ``u`` is the unit
vertical (up): the magnitude is, to first order, the **vertical** acceleration of the
wrist, whatever the sensor's orientation on the wrist or its rotation during the lift.
Every barbell lift (press, squat, pull, row) moves the bar up and down, so the vertical
displacement, recovered by band-passing the magnitude and integrating twice (each
integration followed by a zero-phase high-pass that removes drift), is one cycle per rep.

Turning points of the displacement (with hysteresis relative to the set's amplitude) split
the movement into rep boundaries (where the bar rests between reps: top for bench/squat,
bottom for deadlift/row/overhead press) and turnarounds (one per rep). The more frequent
kind of turning point is the boundary; reps = turnarounds. A rep whose boundary is at the
top starts with the eccentric phase (load going down); at the bottom, with the concentric.
"""

from __future__ import annotations

import collections
import dataclasses
import math
from itertools import repeat

import numpy as np

from ..dsp import _kernels as _dsp
from ..dsp import _filtfilt_axes, bandpass_sos, highpass1_sos
from ..types import Rep, RepSet
from . import _kernels
from .config import DetectorConfig

G_M_S2 = 9.80665


class SetAnalyzer:
    """Turns the grid samples of one active stretch into its sets (:class:`RepSet` list).

    A deterministic function of its inputs: the batch and streaming drivers both call it on
    the same slices, so they agree exactly.
    """

    def __init__(self, config: DetectorConfig) -> None:
        self.config = c = config
        self.fs = c.grid_rate_hz
        self.dt_s = 1.0 / c.grid_rate_hz
        self.band_sos = bandpass_sos(c.band_low_hz, c.band_high_hz, c.grid_rate_hz)
        self.hp_sos = highpass1_sos(c.displacement_highpass_hz, c.grid_rate_hz)
        self.n_pad = int(round(c.grid_rate_hz / c.band_low_hz))
        self.n_half_gravity = int(round(c.rotation_window_s * c.grid_rate_hz / 2))
        self._lanes = bool(_dsp._sos_fast(self.band_sos) and _dsp._sos_fast(self.hp_sos))  # four-lane kernels apply
        self._prm = np.array([self.n_pad, self.dt_s, G_M_S2, c.amplitude_percentile, c.hysteresis_rel, c.min_travel_m,
                              c.still_rel, c.edge_open_ratio, c.min_rep_s, c.max_rep_s, self.n_half_gravity,
                              c.max_inter_rep_s, c.edge_travel_ratio, c.edge_duration_ratio, c.edge_rotation_ratio,
                              c.edge_rotation_min_deg, c.edge_reference_frac, c.phase_speed_rel,
                              int(round(c.still_window_s * c.grid_rate_hz)) // 2, c.still_noise_ratio, c.still_floor_g,
                              c.still_max_g, c.still_noise_percentile,
                              max(1, int(round(c.still_min_move_s * c.grid_rate_hz))),
                              c.inner_duration_ratio, c.boundary_span_ratio,
                              int(round(c.edge_tail_s * c.grid_rate_hz)),
                              int(round(c.edge_hold_s * c.grid_rate_hz)),
                              int(round(c.edge_wait_s * c.grid_rate_hz)), c.edge_wait_ratio, c.edge_posture_deg,
                              c.inner_short_ratio, c.inner_short_travel_ratio], dtype=np.float64)  # see _kernels._analyse_displacement

    def displacements(self, x_g: np.ndarray, bounds: list[tuple[int, int]]) -> dict[tuple[int, int], tuple]:
        """``{(lo, hi): (a_up, z)}``: the vertical acceleration and displacement of several
        stretches ``x_g[lo:hi]`` (those long enough to analyse), for :meth:`analyse`'s
        ``displacement`` argument. The same values, faster: the filter recursions of four
        stretches run side by side."""
        n_min = max(8, int(self.config.min_rep_s * self.fs))
        bounds = [(lo, hi) for lo, hi in bounds if 0 <= lo and hi - lo >= n_min and hi <= x_g.shape[0]]
        if not bounds:
            return {}
        x_g = np.ascontiguousarray(x_g, dtype=np.float64)
        if not self._lanes:  # other filter layouts (not the default ones): one by one
            return {(lo, hi): _dsp._vertical_displacement(x_g[lo:hi], self.band_sos, self.hp_sos, self.n_pad,
                                                          self.dt_s, G_M_S2) for lo, hi in bounds}
        lo_i = np.array([b[0] for b in bounds], np.int64)
        hi_i = np.array([b[1] for b in bounds], np.int64)
        order = np.argsort(hi_i - lo_i, kind="stable").astype(np.int64)
        a_up, z, offs = _dsp._vertical_displacements(x_g, lo_i, hi_i, order, self.band_sos, self.hp_sos, self.n_pad,
                                                     self.dt_s, G_M_S2)
        offs = offs.tolist()
        return {b: (a_up[offs[j]:offs[j + 1]], z[offs[j]:offs[j + 1]]) for j, b in enumerate(bounds)}

    def vertical_accel_m_s2(self, x_g: np.ndarray) -> np.ndarray:
        """Band-passed vertical acceleration proxy (m/s^2): band-passed ``|accel|``."""
        return _dsp._sosfilt_fb(_dsp._norm3(x_g), self.band_sos, self.n_pad) * G_M_S2

    def displacement_m(self, x_g: np.ndarray) -> np.ndarray:
        """Vertical displacement proxy (m) of (m, 3) grid acceleration in g (as :meth:`analyse` uses)."""
        return _dsp._vertical_displacement(np.ascontiguousarray(x_g, dtype=np.float64), self.band_sos, self.hp_sos,
                                           self.n_pad, self.dt_s, G_M_S2)[1]

    def vertical_fraction(self, x_g: np.ndarray, a_up: np.ndarray, lo: int, hi: int) -> float:
        """Share of the band-limited acceleration variance in ``[lo, hi)`` that is vertical."""
        total = 0.0
        band = _filtfilt_axes(x_g, self.band_sos, self.n_pad)
        for v in np.var(band[:, lo:hi], axis=1).tolist():  # per row as np.var of each row
            total += v
        return float(np.var(a_up[lo:hi] / G_M_S2)) / total if total > 0 else 0.0

    def analyse(self, t_s: np.ndarray, x_g: np.ndarray, amp_floor_m: float = 0.0,
                displacement: tuple[np.ndarray, np.ndarray] | None = None,
                holes_s: np.ndarray | None = None, rec_edge: tuple[bool, bool] = (False, False),
                bridged_s: np.ndarray | None = None) -> list[RepSet]:
        """Sets of one active stretch of grid samples (``t_s`` uniform, ``x_g`` (m, 3) in g).

        ``holes_s``: (k, 2) start and end times (same time base as ``t_s``) of holes in the
        raw samples that the grid bridges by interpolation; reps hidden in them are estimated
        (see ``DetectorConfig.hole_min_s``).

        ``amp_floor_m``: smallest displacement amplitude to scale the hysteresis by (the
        amplitude of sets already emitted from this stretch, so that the movements after
        them are judged as they would be with those sets in view). ``self.last_amp_m`` holds
        the amplitude used. ``displacement``: ``(a_up, z)`` of these samples from
        :meth:`displacements` (else computed here). ``rec_edge``: the stretch begins with the
        recording's first sample, and ends with its last (a rep the recording cuts is not
        judged by its travel, see ``_kernels._reps_and_groups``). ``bridged_s``: every bridged
        hole, for the grouping (a rep that a hole overlaps is never a fragment), when it is to
        see more holes than ``holes_s``, whose hidden reps are still to count (the streaming
        segmenter's holes already counted by an emitted set); None: ``holes_s``.
        """
        c = self.config
        self.last_amp_m = amp_floor_m
        if t_s.shape[0] < max(8, int(c.min_rep_s * self.fs)):
            return []
        if displacement is None:
            displacement = self.displacements(x_g, [(0, t_s.shape[0])])[(0, t_s.shape[0])]
        a_up, amp, boundary, table, gid, still_thr, edges = _kernels._analyse_displacement(
            t_s, x_g, displacement[0], displacement[1], self._prm, amp_floor_m,
            _holes_array(holes_s if bridged_s is None else bridged_s, 0.0),
            np.array(rec_edge, np.uint8))
        self.last_amp_m = amp
        if boundary == 0:
            return []
        concentric_first = boundary == -1
        members: list[list[int]] = [[] for _ in range(max(gid.max(initial=-1) + 1, 0))]
        for k, g in enumerate(gid.tolist()):  # table rows by group, in time order
            if g >= 0:
                members[g].append(k)
        x64 = np.ascontiguousarray(x_g, dtype=np.float64)
        kept = []
        for idx in members:
            if len(idx) < c.min_reps:
                continue
            short = len(idx) < c.rhythm_reps
            arr = table[idx]
            # a short group keeps one tempo, between its turning points and once its still edges
            # are trimmed (as _analyse_stretches): else a few unrelated movements
            if short and _kernels._spread_exceeds(arr, c.short_set_duration_ratio):
                continue
            # the count is settled: phases by the velocity, still edges trimmed (as _analyse_stretches)
            still_thr = _kernels._settle_reps(t_s, x64, displacement[1], arr, edges[idx], boundary, still_thr,
                                              self._prm)
            if short and _kernels._spread_exceeds(arr, c.short_set_duration_ratio):
                continue
            rows = arr.tolist()
            if short and not self._vertical_enough(t_s, x_g, a_up, rows[0][0], rows[-1][1]):
                continue
            kept.append((rows, None, None))
        return self.sets_of_groups(kept, concentric_first, holes_s)

    def _vertical_enough(self, t_s: np.ndarray, x_g: np.ndarray, a_up: np.ndarray, start_s: float,
                         end_s: float) -> bool:
        """A short group's movement (its first rep's start to its last rep's end) is vertical
        enough (``min_vertical_fraction``) to count."""
        lo = int(np.searchsorted(t_s, start_s))
        hi = int(np.searchsorted(t_s, end_s))
        return not self.vertical_fraction(x_g, a_up, lo, hi) < self.config.min_vertical_fraction

    def sets_of_groups(self, groups: list[tuple[list | None, list | None, tuple | None]], concentric_first: bool,
                       holes_s: np.ndarray | None) -> list[RepSet]:
        """The sets of a stretch's kept groups (the end of :meth:`analyse`): reps estimated in
        the holes ``holes_s``, phases, aggregates. Each group is ``(rows, None, None)``: its
        rep-table rows (lists; reps built and summed here), or ``(None, sums, reps)``: the sums
        of ``_kernels._set_sums`` and the :class:`Rep` tuple of its rows."""
        if holes_s is None or holes_s.shape[0] == 0:  # no holes (the usual case): no reps hidden
            frac = self.config.slowdown_frac
            return [_set_of_rows(rows, concentric_first, frac, 0) if sums is None
                    else _repset(reps[0].start_s, reps[-1].end_s, reps, *sums, 0) for rows, sums, reps in groups]
        out = []
        for rows, sums, reps in groups:
            n_hidden = 0
            if holes_s is not None and holes_s.shape[0]:
                if reps is None:
                    starts, end_s = [row[0] for row in rows], rows[-1][1]
                else:
                    starts, end_s = [r.start_s for r in reps], reps[-1].end_s
                n_hidden, used = reps_in_holes(np.array(starts), end_s, holes_s)
                holes_s = holes_s[~used]  # a hole's reps belong to one set only
            if sums is None:
                out.append(_set_of_rows(rows, concentric_first, self.config.slowdown_frac, n_hidden))
            else:
                out.append(_repset(reps[0].start_s, reps[-1].end_s, reps, *sums, int(n_hidden)))
        return out

    def analyse_many(self, buf_t: np.ndarray, buf_x: np.ndarray, bounds: list[tuple[int, int]],
                     shift_s: float, holes_s: np.ndarray | None = None, rec_lo: int = -1, rec_hi: int = -1,
                     bridged_s: np.ndarray | None = None) -> dict[tuple[int, int], list[tuple[None, list, tuple]]] | None:
        """What :meth:`analyse` finds in each stretch ``(lo, hi)`` of ``bounds`` (with ``t_s =
        buf_t[lo:hi] - shift_s``, ``x_g = buf_x[lo:hi]``, the holes ``holes_s - shift_s``
        (``holes_s`` on ``buf_t``'s time base), no amplitude floor, ``rec_edge`` from whether
        ``lo == rec_lo`` and ``hi == rec_hi``: the buffer rows of the recording's first sample
        and one past its last, -1 when not in the buffer; ``bridged_s`` as :meth:`analyse`'s, on
        ``buf_t``'s time base), up to the
        groups it keeps, in one kernel call: ``{(lo, hi): groups}`` (stretches too short to
        analyse have none), each group ``(None, sums, reps)``: the sums and reps of its rep-table
        rows, for :meth:`sets_of_groups`
        (the boundary kind is ``self.concentric_first_[(lo, hi)]``). None when the filter
        layout has no four-lane kernels (then call :meth:`analyse` on each stretch).
        Without holes (``holes_s`` None or empty), ``self.repsets_[(lo, hi)]`` is what
        :meth:`sets_of_groups` makes of each stretch's groups (else ``self.repsets_`` is None).
        """
        c = self.config
        if not self._lanes:
            return None
        n_min = max(8, int(c.min_rep_s * self.fs))
        bounds = [(lo, hi) for lo, hi in bounds if 0 <= lo and hi - lo >= n_min and hi <= buf_x.shape[0]]
        self.concentric_first_ = {}
        no_holes = holes_s is None or holes_s.shape[0] == 0
        self.repsets_ = {} if no_holes else None
        if not bounds:
            return {}
        buf_x = np.ascontiguousarray(buf_x, dtype=np.float64)
        lo_i = np.array([b[0] for b in bounds], np.int64)
        hi_i = np.array([b[1] for b in bounds], np.int64)
        order = np.argsort(hi_i - lo_i, kind="stable").astype(np.int64)
        a_up, z, offs = _dsp._vertical_displacements(buf_x, lo_i, hi_i, order, self.band_sos, self.hp_sos, self.n_pad,
                                                     self.dt_s, G_M_S2)
        rows, groups, sums = _kernels._analyse_stretches(buf_t, buf_x, lo_i, hi_i, a_up, z, offs, shift_s, self._prm,
                                                         c.min_reps, c.rhythm_reps, c.short_set_duration_ratio,
                                                         c.slowdown_frac,
                                                         _holes_array(holes_s if bridged_s is None else bridged_s,
                                                                      shift_s),
                                                         np.array([(lo == rec_lo, hi == rec_hi) for lo, hi in bounds],
                                                                  np.uint8).reshape(-1, 2))
        # every rep of every group at once, field by field (the groups' rows follow each other)
        all_reps = _reps_of_table(rows, np.repeat(groups[:, 4] == -1, groups[:, 2] - groups[:, 1]))
        out: dict[tuple[int, int], list[tuple[None, list, tuple]]] = {b: [] for b in bounds}
        reps_of = [tuple(all_reps[r0:r1]) for r0, r1 in groups[:, 1:3].tolist()]
        # without holes, each group's RepSet as sets_of_groups makes it, all at once
        repsets = _repsets_of_groups(rows, groups, sums, reps_of) if no_holes else None
        if no_holes:
            self.repsets_ = {b: [] for b in bounds}
        for q, ((j, _r0, _r1, check, boundary), s) in enumerate(zip(groups.tolist(), sums.tolist())):
            b = bounds[j]
            self.concentric_first_[b] = boundary == -1
            reps = reps_of[q]
            if check:
                lo, hi = b
                o0, o1 = int(offs[j]), int(offs[j + 1])
                if not self._vertical_enough(buf_t[lo:hi] - shift_s, buf_x[lo:hi], a_up[o0:o1], reps[0].start_s,
                                             reps[-1].end_s):
                    continue
            out[b].append((None, s, reps))
            if no_holes:
                self.repsets_[b].append(repsets[q])
        return out


def _holes_array(holes_s: np.ndarray | None, shift_s: float) -> np.ndarray:
    """``holes_s - shift_s`` as the kernels take it: C-contiguous float64 (k, 2); (0, 2) for None."""
    if holes_s is None or holes_s.shape[0] == 0:
        return np.empty((0, 2))
    return np.ascontiguousarray(holes_s, dtype=np.float64) - shift_s


def holes_within(holes_s: np.ndarray, start_s: float, end_s: float) -> np.ndarray:
    """bool (k,): which of the (k, 2) holes overlap the interval ``(start_s, end_s)``."""
    return (holes_s[:, 1] > start_s) & (holes_s[:, 0] < end_s)


def reps_in_holes(starts_s: np.ndarray, end_s: float, holes_s: np.ndarray) -> tuple[int, np.ndarray]:
    """Reps estimated inside the signal holes that overlap a set's span, and which holes those are.

    A set's rhythm goes on while the signal is missing: a hole of ``h`` seconds overlapping
    ``[starts_s[0], end_s]`` hides ``round(h / cycle)`` reps, ``cycle`` being the median
    interval between consecutive rep starts of the set (a rep is counted at its turnaround,
    and the interpolated bridge across a hole has none). Known bias: when a hole cuts two
    reps whose turnarounds both stay visible at its edges, one rep too many is added; a hole
    near half a cycle long is a coin flip. See docs/TUT.md.

    Returns
    -------
    n : int
    overlapping : bool (k,), the holes that overlap the span.
    """
    overlapping = holes_within(holes_s, starts_s[0], end_s)
    if starts_s.shape[0] < 2 or not overlapping.any():
        return 0, overlapping
    cycle_s = float(np.median(np.diff(starts_s)))
    if not cycle_s > 0:
        return 0, overlapping
    n = sum(int(math.floor((h1 - h0) / cycle_s + 0.5)) for h0, h1 in holes_s[overlapping].tolist())
    return n, overlapping


# Rep and RepSet are frozen slotted dataclasses; their generated __init__ sets each field
# through object.__setattr__. Setting the slots through their descriptors makes the same
# objects (no __post_init__ to run; tests/segment/test_fast_paths.py) in half the time, which
# counts at thousands of reps per day of data.
_new = object.__new__
_set_rep = tuple(Rep.__dict__[f.name].__set__ for f in dataclasses.fields(Rep))
_set_repset = tuple(RepSet.__dict__[f.name].__set__ for f in dataclasses.fields(RepSet))


def _rep(start_s: float, end_s: float, eccentric_s: float, concentric_s: float, pause_s: float,
         concentric_first: bool, _s=_set_rep) -> Rep:
    """``Rep(start_s, end_s, eccentric_s, concentric_s, pause_s, concentric_first)``, faster."""
    r = _new(Rep)
    _s[0](r, start_s)
    _s[1](r, end_s)
    _s[2](r, eccentric_s)
    _s[3](r, concentric_s)
    _s[4](r, pause_s)
    _s[5](r, concentric_first)
    return r


def _repset(start_s: float, end_s: float, reps: tuple, tut_s: float, eccentric_s: float, concentric_s: float,
            pause_s: float, mean_tempo_s: float, concentric_slowdown: float, n_reps_in_gaps: int,
            _s=_set_repset) -> RepSet:
    """``RepSet(...)`` with every field given (positionally), faster."""
    r = _new(RepSet)
    _s[0](r, start_s)
    _s[1](r, end_s)
    _s[2](r, reps)
    _s[3](r, tut_s)
    _s[4](r, eccentric_s)
    _s[5](r, concentric_s)
    _s[6](r, pause_s)
    _s[7](r, mean_tempo_s)
    _s[8](r, concentric_slowdown)
    _s[9](r, n_reps_in_gaps)
    return r


def _reps_of_rows(rows: list, concentric_first: bool) -> tuple[Rep, ...]:
    """The reps of ``_kernels._rep_table`` rows (lists; columns 2, 3: first and second phase)."""
    if concentric_first:
        return tuple([_rep(s, e, sec, fst, p, True) for s, e, fst, sec, p, _tr, _ok in rows])
    return tuple([_rep(s, e, fst, sec, p, False) for s, e, fst, sec, p, _tr, _ok in rows])


_consume = collections.deque(maxlen=0).extend  # runs an iterator to its end


def _reps_of_table(rows: np.ndarray, concentric_first: np.ndarray) -> list[Rep]:
    """The reps of ``_kernels._rep_table`` rows (float64 (R, 7)), row ``i`` with
    ``concentric_first[i]`` (bool (R,)): the objects :func:`_reps_of_rows` makes, with the same
    values, built field by field over all rows (the slot setters called by ``map``; no row
    lists, no Python-level call per rep)."""
    n = rows.shape[0]
    reps = list(map(_new, repeat(Rep, n)))
    eccentric = np.where(concentric_first, rows[:, 3], rows[:, 2])
    concentric = np.where(concentric_first, rows[:, 2], rows[:, 3])
    columns = (rows[:, 0].tolist(), rows[:, 1].tolist(), eccentric.tolist(), concentric.tolist(),
               rows[:, 4].tolist(), concentric_first.tolist())
    for setter, values in zip(_set_rep, columns):
        _consume(map(setter, reps, values))
    return reps


def _repsets_of_groups(rows: np.ndarray, groups: np.ndarray, sums: np.ndarray,
                       reps_of: list[tuple]) -> list[RepSet]:
    """The RepSet of each of ``_kernels._analyse_stretches``' groups (rows ``groups[q, 1]`` to
    ``groups[q, 2]`` of ``rows``, sums ``sums[q]``, reps ``reps_of[q]``), none of its reps in a
    hole: ``_repset(reps[0].start_s, reps[-1].end_s, reps, *sums, 0)`` of each (the same values),
    built field by field over all groups."""
    n = groups.shape[0]
    sets = list(map(_new, repeat(RepSet, n)))
    columns = (rows[groups[:, 1], 0].tolist(), rows[groups[:, 2] - 1, 1].tolist(), reps_of, *sums.T.tolist(),
               [0] * n)
    for setter, values in zip(_set_repset, columns):
        _consume(map(setter, sets, values))
    return sets


def _set_of_rows(rows: list, concentric_first: bool, slowdown_frac: float, n_reps_in_gaps: int) -> RepSet:
    """:func:`build_set` of the reps of ``_kernels._rep_table`` rows (lists), with the same
    arithmetic in the same order (so bit-identical), without reading back the Rep objects."""
    n = len(rows)
    reps = _reps_of_rows(rows, concentric_first)
    i_con = 2 if concentric_first else 3
    tut = ecc = con = pause = 0.0  # left to right, as _seq_sum
    for row in rows:
        tut += row[1] - row[0]
        pause += row[4]
    for row in rows:
        ecc += row[5 - i_con]
        con += row[i_con]
    k = max(1, int(round(n * slowdown_frac)))
    first = _seq_sum(row[i_con] for row in rows[:k]) / k
    last = _seq_sum(row[i_con] for row in rows[-k:]) / k
    slowdown = last / first if n >= 2 and first > 0 else math.nan
    return _repset(rows[0][0], rows[-1][1], reps, tut, ecc, con, pause, tut / n, slowdown, int(n_reps_in_gaps))


def _seq_sum(values) -> float:
    """Left-to-right float sum from 0: what ``sum`` does up to Python 3.11 (3.12 compensates
    the rounding), so that this module and ``_kernels._set_sums`` agree on every version."""
    total = 0.0
    for v in values:
        total += v
    return total


def build_set(reps: list[Rep], slowdown_frac: float, n_reps_in_gaps: int = 0) -> RepSet:
    """Aggregate reps into a :class:`RepSet` (TUT = sum of rep durations; see docs/TUT.md).

    ``n_reps_in_gaps``: reps estimated in signal holes (counted, not timed).
    """
    n = len(reps)
    tut = _seq_sum(r.duration_s for r in reps)
    k = max(1, int(round(n * slowdown_frac)))
    first = _seq_sum(r.concentric_s for r in reps[:k]) / k
    last = _seq_sum(r.concentric_s for r in reps[-k:]) / k
    slowdown = last / first if n >= 2 and first > 0 else math.nan
    return RepSet(start_s=reps[0].start_s, end_s=reps[-1].end_s, reps=tuple(reps), tut_s=tut,
                  eccentric_s=_seq_sum(r.eccentric_s for r in reps), concentric_s=_seq_sum(r.concentric_s for r in reps),
                  pause_s=_seq_sum(r.pause_s for r in reps), mean_tempo_s=tut / n, concentric_slowdown=slowdown,
                  n_reps_in_gaps=int(n_reps_in_gaps))
