"""The timeline policy of :mod:`repsense.io._timeline`, applied block by block in bounded memory.

:class:`TimelineStream` takes a stream's parsed rows in blocks and emits clean blocks (strictly
increasing timestamps) with the same drops, counted per reason with the same first lines, as
:func:`~repsense.io._timeline.clean_samples` on the whole file.

How it stays exact
------------------
Steps 1 (non-finite) and 3-4 (duplicates, backbone, local re-sorting) of the policy decide
about a row from its neighbours, except through the backbone (a longest increasing
subsequence of the whole file). A row ``c`` whose time is later than every row before it and
earlier than every row after it lies on every longest increasing subsequence, and the
backbone kernel's choice splits there: cleaning the rows up to ``c`` and the rows from ``c``
on separately (``c`` in both) gives exactly the whole-file result. The stream holds rows back
until it sees such a *cut row* followed by at least :data:`REORDER_LOOKAHEAD_ROWS` rows that
are all later than it, cleans everything up to the cut and emits it; the cut row stays as the
first row of what is held (the *anchor*). A lone jump (a row later than each of the rows 9 to
:data:`REORDER_LOOKAHEAD_ROWS` after it, or earlier than each of as many rows before it) would
stop every row around it from being a cut row; it is dropped as soon as it is seen, as the
whole-file read drops it (too far from its place to be re-sorted).

Beyond the window
-----------------
The one assumption is that no row arrives more than :data:`REORDER_LOOKAHEAD_ROWS` rows after
a cut with a time earlier than the cut. Such a *late* row is dropped on arrival, as
``duplicate_timestamp`` when its time equals the anchor's or one of the last
:data:`RECENT_TIMES` emitted times, else as ``out_of_order_timestamp``. The whole-file read
drops it the same way (it is further than :data:`~repsense.io._timeline.REORDER_WINDOW_ROWS`
rows from its place) unless the disorder is so large that the file's longest increasing run
goes the other way (a clock reset followed by a longer run of earlier times: the whole-file
read keeps the longer run, the stream keeps the earlier one), or the late time repeats a row
dropped long before (a duplicate there, out of order here). If :data:`MAX_PENDING_ROWS` rows
pass without any cut row (times going back and forth everywhere), the held rows are cleaned
on their own and emitted, and the same late-row rule applies after them.

Packed MetaBase iOS epochs (step 2) are spread as the whole-file read does: the last run of
equal epochs is held until the next distinct epoch arrives; the per-sample step of the file's
last run (no next epoch) is the median step of all other runs, kept exactly as counts of
distinct values. A run followed by an *earlier* epoch in the middle of the file also needs
that whole-file median; the stream then raises :class:`NotStreamable` and the caller reads the
file whole.

:class:`ExactMedian` and :class:`GapTracker` give the whole-file ``np.median`` of the sample
intervals and :func:`~repsense.io._timeline.find_gaps` of the emitted times, without keeping
the times.
"""

from __future__ import annotations

import math

import numpy as np

from ._csvparse import DropLog
from ._timeline import GAP_PERIODS, REORDER_WINDOW_ROWS, clean_samples

__all__ = ["ExactMedian", "GapTracker", "MAX_PENDING_ROWS", "NotStreamable", "RECENT_TIMES",
           "REORDER_LOOKAHEAD_ROWS", "TimelineStream"]

REORDER_LOOKAHEAD_ROWS = 1024
MAX_PENDING_ROWS = 2_000_000
RECENT_TIMES = 4096
assert REORDER_LOOKAHEAD_ROWS > 4 * REORDER_WINDOW_ROWS


class NotStreamable(Exception):
    """The file cannot be cleaned block by block with the whole-file result; read it whole."""


class ExactMedian:
    """``np.median`` of a growing multiset of float64 values, kept as distinct value -> count.

    Memory is one entry per distinct value: sample intervals of a recording take few distinct
    values (a clock's ticks), whatever the recording's length. (Times written with random
    sub-microsecond jitter would make every interval distinct: 16 bytes per sample, still less
    than the whole-file read holds.)
    """

    __slots__ = ("values", "counts", "n")

    def __init__(self) -> None:
        self.values = np.empty(0, np.float64)
        self.counts = np.empty(0, np.int64)
        self.n = 0

    def add(self, x: np.ndarray) -> None:
        """Add the values of ``x``."""
        if x.size == 0:
            return
        u, c = np.unique(x, return_counts=True)
        if self.values.size:
            allv = np.concatenate((self.values, u))
            allc = np.concatenate((self.counts, c))
            u, inv = np.unique(allv, return_inverse=True)
            c = np.bincount(inv, weights=allc, minlength=u.shape[0]).astype(np.int64)
        self.values, self.counts = u, c
        self.n += int(x.size)

    def _at(self, k: int) -> float:
        """The k-th smallest value (0-based)."""
        return float(self.values[int(np.searchsorted(np.cumsum(self.counts), k, side="right"))])

    def median(self) -> float:
        """Same value as ``np.median`` of every value added (nan when empty)."""
        if self.n == 0:
            return float("nan")
        if self.n % 2:
            return self._at(self.n // 2)
        return float(np.mean(np.array([self._at(self.n // 2 - 1), self._at(self.n // 2)], dtype=np.float64)))

    def count_above(self, limit: float) -> int:
        """How many values are > ``limit``."""
        return int(self.counts[self.values > limit].sum())


class GapTracker:
    """Intervals and gaps of one stream's emitted times (``t_s``, float64), block by block.

    ``median`` is ``np.median(np.diff(t_s))`` of the whole stream and :meth:`gaps` equals
    ``find_gaps(t_s, nominal_period_s)``. Without a nominal period the gap limit (5 median
    intervals) is known only at the end: intervals longer than 2.5 times the lowest running
    median so far are kept as candidates, and :meth:`gaps` checks with the exact counts that
    no gap was missed (it raises :class:`NotStreamable` when the median fell by more than half
    during the file).
    """

    def __init__(self, nominal_period_s: float | None = None) -> None:
        self.nominal = nominal_period_s if nominal_period_s and nominal_period_s > 0 else None
        self.intervals = ExactMedian()
        self.last: float | None = None
        self.n = 0
        self._limit = math.inf
        self._cand: list[np.ndarray] = []  # rows of (start_s, end_s, dt)

    def add(self, t_s: np.ndarray) -> None:
        """Add the next emitted times of the stream."""
        if t_s.shape[0] == 0:
            return
        self.n += int(t_s.shape[0])
        x = t_s if self.last is None else np.concatenate(([self.last], t_s))
        self.last = float(t_s[-1])
        if x.shape[0] < 2:
            return
        dt = np.diff(x)
        self.intervals.add(dt)
        if self.nominal is not None:
            limit = GAP_PERIODS * self.nominal
        else:
            self._limit = min(self._limit, 0.5 * GAP_PERIODS * self.intervals.median())
            limit = self._limit
        idx = np.flatnonzero(dt > limit)
        if idx.size:
            self._cand.append(np.stack((x[idx], x[idx + 1], dt[idx]), axis=1))

    @property
    def median(self) -> float:
        """Median interval of the stream so far (nan with fewer than 2 samples)."""
        return self.intervals.median()

    def gaps(self) -> tuple[tuple[float, float], ...]:
        """``find_gaps`` of every time added."""
        if self.n < 2:
            return ()
        period = self.nominal if self.nominal is not None else self.median
        limit = GAP_PERIODS * period
        cand = np.concatenate(self._cand) if self._cand else np.empty((0, 3))
        sel = cand[cand[:, 2] > limit]
        if self.nominal is None and sel.shape[0] != self.intervals.count_above(limit):
            raise NotStreamable("the median sample interval fell by more than half during the file")
        return tuple((float(a), float(b)) for a, b in sel[:, :2])


class TimelineStream:
    """Block-by-block :func:`~repsense.io._timeline.clean_samples` of one stream (see module doc).

    Parameters
    ----------
    drops : DropLog
        Receives the dropped rows (the parser's log, as in the whole-file read).
    n_cols : int
        Value columns per row.
    packed : bool
        Spread runs of equal timestamps (MetaBase iOS).
    lookahead_rows, max_pending_rows : int
        See :data:`REORDER_LOOKAHEAD_ROWS` and :data:`MAX_PENDING_ROWS` (tests make them small).
    """

    def __init__(self, drops: DropLog, n_cols: int, *, packed: bool = False,
                 lookahead_rows: int = REORDER_LOOKAHEAD_ROWS, max_pending_rows: int = MAX_PENDING_ROWS) -> None:
        self.drops = drops
        self.packed = packed
        if lookahead_rows < 2 * (REORDER_WINDOW_ROWS + 1):
            raise ValueError(f"lookahead_rows must be >= {2 * (REORDER_WINDOW_ROWS + 1)}, got {lookahead_rows}")
        self.lookahead = int(lookahead_rows)
        self.max_pending = max(int(max_pending_rows), self.lookahead + 2)
        self.n_reordered = 0
        self.n_late = 0
        self.n_forced = 0
        self.n_outliers = 0
        self._t = np.empty(0, np.int64)
        self._v = np.empty((0, n_cols), np.float32)
        self._l = np.empty(0, np.int64)
        self._anchor = False
        self._recent = np.empty(0, np.int64)
        self._early = np.empty(0, np.int64)  # times of rows dropped as lone jumps forward
        # packed spreading: the trailing run of equal epochs, and the steps of finished runs
        self._held = (np.empty(0, np.int64), np.empty((0, n_cols), np.float32), np.empty(0, np.int64))
        self._steps = ExactMedian()

    # -- input ----------------------------------------------------------------------------------
    def push(self, t_ns: np.ndarray, values: np.ndarray, lines: np.ndarray | object,
             t_finite: np.ndarray | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
        """Add rows in file order; returns the clean ``(t_ns, values)`` blocks now final."""
        ok = np.isfinite(values).all(axis=1)
        if t_finite is not None:
            ok &= t_finite
        lines = np.asarray(lines, dtype=np.int64)
        if not ok.all():
            self.drops.add("non_finite_value", lines[~ok])
            t_ns, values, lines = t_ns[ok], values[ok], lines[ok]
        if self.packed:
            t_ns, values, lines = self._spread(t_ns, values, lines, final=False)
        return self._timeline(t_ns, values, lines)

    def finish(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """The remaining clean blocks (end of the file)."""
        out: list[tuple[np.ndarray, np.ndarray]] = []
        if self.packed:
            t, v, l = self._spread(np.empty(0, np.int64), self._held[1][:0], np.empty(0, np.int64), final=True)
            out += self._timeline(t, v, l)
        if self._t.shape[0]:
            out += self._emit(self._t.shape[0] - 1)
        return out

    # -- step 2: packed epochs ------------------------------------------------------------------
    def _spread(self, t: np.ndarray, v: np.ndarray, l: np.ndarray,
                final: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        ht, hv, hl = self._held
        if ht.shape[0]:
            t, v, l = np.concatenate((ht, t)), np.concatenate((hv, v)), np.concatenate((hl, l))
        n = t.shape[0]
        if n == 0:
            self._held = (t, v, l)
            return t, v, l
        starts = np.flatnonzero(np.concatenate(([True], t[1:] != t[:-1])))
        if final:
            cut, next_epoch = n, None
        else:  # hold the trailing run: its step needs the next distinct epoch
            cut = int(starts[-1])
            next_epoch = int(t[cut])
            starts = starts[:-1]
            self._held = (t[cut:], v[cut:], l[cut:])
            if cut == 0:
                return t[:0], v[:0], l[:0]
        t, v, l = t[:cut], v[:cut], l[:cut]
        lengths = np.diff(np.append(starts, cut))
        epochs = t[starts]
        nxt_epochs = epochs[1:] if next_epoch is None else np.append(epochs[1:], next_epoch)
        nxt = (nxt_epochs - epochs[:nxt_epochs.shape[0]]).astype(np.float64)
        step = np.full(starts.shape[0], np.nan)
        ok = nxt > 0
        step[:nxt.shape[0]][ok] = nxt[ok] / lengths[:nxt.shape[0]][ok]
        self._steps.add(step[np.isfinite(step)])
        bad = ~np.isfinite(step)
        if bad.any():
            if np.any(bad & (lengths > 1) & (np.arange(starts.shape[0]) < nxt.shape[0])):
                raise NotStreamable("a run of packed epochs is followed by an earlier epoch")
            # the file's last run: the median step of all the other runs (0 when there is none)
            fallback = self._steps.median() if self._steps.n else 0.0
            step[bad] = fallback if lengths[bad].max() > 1 else 0.0
        if np.all(lengths == 1):
            return t, v, l
        run_of_row = np.repeat(np.arange(starts.shape[0]), lengths)
        j = np.arange(cut) - starts[run_of_row]
        return t + np.round(j * step[run_of_row]).astype(np.int64), v, l

    # -- steps 3-4: duplicates, backbone, local re-sorting ---------------------------------------
    def _timeline(self, t: np.ndarray, v: np.ndarray, l: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        if t.shape[0] == 0:
            return []
        if self._anchor:
            late = t <= self._t[0]
            if late.any():
                self._drop_late(t[late], l[late])
                t, v, l = t[~late], v[~late], l[~late]
        self._t = np.concatenate((self._t, t))
        self._v = np.concatenate((self._v, v))
        self._l = np.concatenate((self._l, l))
        self._drop_early()
        out: list[tuple[np.ndarray, np.ndarray]] = []
        c = self._find_cut()
        if c is not None:
            out += self._emit(c)
        elif self._t.shape[0] > self.max_pending:
            self.n_forced += 1
            out += self._emit(self._t.shape[0] - 1, forced=True)
        return out

    def _drop_late(self, t: np.ndarray, l: np.ndarray) -> None:
        self.n_late += int(t.shape[0])
        known = np.concatenate((self._recent, self._early, self._t[:1]))
        known.sort()
        pos = np.clip(np.searchsorted(known, t), 0, known.shape[0] - 1)
        dup = known[pos] == t
        _, first = np.unique(t, return_index=True)  # a late time repeated among late rows
        again = np.ones(t.shape[0], dtype=bool)
        again[first] = False
        dup |= again
        self.drops.add("duplicate_timestamp", l[dup])
        self.drops.add("out_of_order_timestamp", l[~dup])

    def _drop_early(self) -> None:
        """Drop held rows far out of place: a lone jump forward or backward.

        A row later than each of the rows 9 to :attr:`lookahead` after it, or earlier than
        each of the rows 9 to lookahead before it (beyond the re-sorting window), is off the
        whole file's backbone and more than the re-sorting window from its place, so the
        whole-file read drops it too
        (``out_of_order_timestamp``, or ``duplicate_timestamp`` if an earlier row has its
        time); left in place it would stop every row around it from being a cut row.
        """
        for _ in range(16):  # a jump hidden behind a larger one shows once the larger one is gone
            if not self._drop_early_once():
                break

    def _drop_early_once(self) -> bool:
        t = self._t
        n = t.shape[0]
        w = self.lookahead
        g = REORDER_WINDOW_ROWS + 1  # rows within the re-sorting window are not compared
        lo = 1 if self._anchor else 0
        found = []
        hi = n - 1 - w
        if hi >= lo:  # jumps forward: later than each of rows s+g .. s+w
            cand = np.flatnonzero(t[lo:hi + 1] > t[lo + g:hi + 1 + g]) + lo
            if cand.size:
                win = np.lib.stride_tricks.sliding_window_view(t[g:], w - g + 1)  # win[s] = t[s+g : s+w+1]
                found += [d[t[d] > win[d].max(axis=1)] for d in np.array_split(cand, max(1, cand.size // 256))]
        first = max(lo, w)
        if n - 1 >= first:  # jumps backward: earlier than each of rows s-w .. s-g
            cand = np.flatnonzero(t[first:] < t[first - g:n - g]) + first
            if cand.size:
                win = np.lib.stride_tricks.sliding_window_view(t, w - g + 1)  # win[s-w] = t[s-w : s-g+1]
                found += [d[t[d] < win[d - w].min(axis=1)] for d in np.array_split(cand, max(1, cand.size // 256))]
        idx = np.unique(np.concatenate(found)) if found else np.empty(0, np.int64)
        if idx.size == 0:
            return False
        dup = np.isin(t[idx], self._recent) | np.isin(t[idx], self._early)
        for k, i in enumerate(idx):  # an equal time earlier among the held rows (rare: a few rows)
            dup[k] |= bool(np.any(t[:i] == t[i]))
        self.drops.add("duplicate_timestamp", self._l[idx[dup]])
        self.drops.add("out_of_order_timestamp", self._l[idx[~dup]])
        self.n_outliers += int(idx.size)
        self._early = np.union1d(self._early, t[idx])[-RECENT_TIMES:]
        keep = np.ones(n, dtype=bool)
        keep[idx] = False
        self._t, self._v, self._l = t[keep], self._v[keep], self._l[keep]
        return True

    def _find_cut(self) -> int | None:
        t = self._t
        n = t.shape[0]
        lo = 1 if self._anchor else 0
        hi = n - 1 - self.lookahead  # a cut needs lookahead rows after it
        if hi < lo:
            return None
        if np.all(t[1:] > t[:-1]):  # the usual case: already in order
            return hi
        prev_max = np.concatenate(([np.iinfo(np.int64).min], np.maximum.accumulate(t)[:-1]))
        next_min = np.concatenate((np.minimum.accumulate(t[::-1])[::-1][1:], [np.iinfo(np.int64).max]))
        cand = (t > prev_max) & (t < next_min)
        idx = np.flatnonzero(cand[lo:hi + 1])
        return int(idx[-1]) + lo if idx.size else None

    def _emit(self, c: int, forced: bool = False) -> list[tuple[np.ndarray, np.ndarray]]:
        """Clean rows 0..c (row 0 is the anchor when there is one), emit them, keep c on as anchor."""
        if self._early.size:  # a row with the time of an early-dropped row is its duplicate
            again = np.isin(self._t[:c + 1], self._early)
            if self._anchor:
                again[0] = False
            if again.any():
                self.drops.add("duplicate_timestamp", self._l[:c + 1][again])
                keep = np.ones(self._t.shape[0], dtype=bool)
                keep[:c + 1][again] = False
                c -= int(again.sum())
                self._t, self._v, self._l = self._t[keep], self._v[keep], self._l[keep]
                if c < 0:
                    return []
        seg = clean_samples(self._t[:c + 1], self._v[:c + 1], self._l[:c + 1], self.drops)
        self.n_reordered += seg.n_reordered
        t, v = seg.t_ns, seg.values
        if self._anchor:
            t, v = t[1:], v[1:]
        if forced:  # the new anchor is the last kept row; later rows up to its time are late
            keep = slice(c + 1, None)
            anchor_t = seg.t_ns[-1:]
            anchor_v = seg.values[-1:]
            anchor_l = np.asarray(seg.lines)[-1:]
            self._t = np.concatenate((anchor_t, self._t[keep]))
            self._v = np.concatenate((anchor_v, self._v[keep]))
            self._l = np.concatenate((anchor_l, self._l[keep]))
        else:
            self._t, self._v, self._l = self._t[c:], self._v[c:], self._l[c:]
        self._anchor = True
        if t.shape[0]:
            self._recent = np.concatenate((self._recent, t[-RECENT_TIMES:]))[-RECENT_TIMES:]
            return [(t, np.ascontiguousarray(v))]
        return []
