"""The detector: one streaming algorithm, two drivers (this class, and :func:`detect`).

Samples -> uniform grid (:class:`repsense.dsp.Resampler`) -> causal set finder
(``_activity_sets``) -> each closed set's grid slice -> :class:`SetAnalyzer`. The only
memory is the resampler and set-finder state plus a lookback of grid samples long enough
for the longest set (``max_set_s`` + pre/post roll), so memory is bounded whatever the
recording length, and the result does not depend on how the input is chunked.
"""

from __future__ import annotations

import math

import numpy as np

from ..dsp import Resampler, check_shapes
from ..errors import InputError, SamplingRateError
from ..types import RepSet
from . import _kernels
from .config import DetectorConfig
from .reps import SetAnalyzer, holes_within

MIN_RATE_HZ = 5.0
MAX_RATE_HZ = 2000.0


class RepSegmenter:
    """Streaming set and rep detector fed blocks of any size.

    Parameters
    ----------
    sample_rate_hz : float, optional
        Nominal input rate, checked to be in the supported range (timestamps drive
        everything; the nominal rate is only validated).
    config : DetectorConfig, optional

    Attributes
    ----------
    sets_ : list of RepSet
        Every set emitted so far.
    emitted_at_s_ : list of float
        Time (input time base) of the grid sample whose arrival emitted each set of
        ``sets_``: with sample-by-sample feeding, the set is available this soon.
    """

    def __init__(self, sample_rate_hz: float | None = None, config: DetectorConfig | None = None) -> None:
        if sample_rate_hz is not None and not (MIN_RATE_HZ <= float(sample_rate_hz) <= MAX_RATE_HZ):
            raise SamplingRateError(f"sample_rate_hz {sample_rate_hz!r} outside the supported {MIN_RATE_HZ}-{MAX_RATE_HZ} Hz")
        self.config = c = config or DetectorConfig()
        self.sample_rate_hz = sample_rate_hz
        fs = c.grid_rate_hz
        # the resampler counts the holes in its pass; _signal_holes lists them only when there are some
        self._resampler = Resampler(fs, c.max_gap_s, c.anti_alias_tau_s, c.hole_min_s if c.hole_min_s > 0 else math.inf)
        self._analyzer = SetAnalyzer(c)
        self._state = np.zeros(_kernels.N_STATE)
        self._alpha_g = 1.0 - math.exp(-1.0 / (c.gravity_tau_s * fs))
        self._alpha_ms = 1.0 - math.exp(-1.0 / (c.activity_tau_s * fs))
        self._n_rest = max(1, int(round(c.min_rest_s * fs)))
        self._n_pre = int(round(c.pre_roll_s * fs))
        self._n_post = int(round(c.post_roll_s * fs))
        self._n_max = max(1, int(round(c.max_set_s * fs)))
        # checkpoint_s = 0: no checkpoints (a set is emitted when its stretch closes)
        self._n_check = max(1, int(round(c.checkpoint_s * fs))) if c.checkpoint_s > 0 else 2**62
        self._consumed_k = 0  # grid samples before this index belong to emitted sets
        self._amp_floor_m = 0.0  # amplitude of the sets already emitted from the open stretch
        self._keep = self._n_pre + self._n_max + self._n_rest + 2
        self._store_t = np.empty(0)  # the lookback buffer's memory: _buf_t, _buf_x are rows of it
        self._store_x = np.empty((0, 3))
        self._buf_t = self._store_t
        self._buf_x = self._store_x
        self._buf_at = 0  # row of the store where _buf_t starts
        self._buf_k0 = 0  # global grid index of _buf_t[0]
        self._finished = False
        self.sets_: list[RepSet] = []
        self.emitted_at_s_: list[float] = []
        self._t_last = math.nan
        self._holes_s = np.empty((0, 2))  # bridged holes of the raw samples still in the lookback
        # whose hidden reps no emitted set has counted
        self._bridged_s = np.empty((0, 2))  # every bridged hole still in the lookback

    @property
    def n_buffered(self) -> int:
        """Grid samples held for lookback (bounded by ``max_set_s`` and the rolls)."""
        return int(self._buf_t.shape[0])

    def update(self, t_s: np.ndarray, accel_g: np.ndarray, gyro_dps: np.ndarray | None = None) -> list[RepSet]:
        """Feed one block (timestamps in s, accel (n, 3) in g); return the sets completed by it.

        ``gyro_dps`` (same timestamps) is validated but not used by this detector version.
        """
        if self._finished:
            raise InputError("RepSegmenter.update after finish()")
        t, a = check_shapes(t_s, accel_g, "accel")
        gyro = check_shapes(t, gyro_dps, "gyro")[1] if gyro_dps is not None else None
        if t.shape[0] == 0:
            return []
        # the gyro's finite check runs in the resampler's pass over the rows (its error first)
        # one buffer, reused: the resampler writes the block's grid right after the lookback
        # (no joining copy, no fresh memory to page-fault per block); the lookback moves to
        # the front only when the space after it runs out
        n_old, at = self._buf_t.shape[0], self._buf_at
        need = n_old + self._resampler.max_grid_rows(t)
        cap = self._store_t.shape[0]
        if cap < need or cap > 4 * need:  # grow, or shrink after a much larger block
            store_t, store_x = np.empty(2 * need), np.empty((2 * need, 3))
            store_t[:n_old], store_x[:n_old] = self._buf_t, self._buf_x
            self._store_t, self._store_x = store_t, store_x
            at = 0
        elif at + need > cap:
            self._store_t[:n_old] = self._buf_t  # overlapping copy: numpy copies as if through a temporary
            self._store_x[:n_old] = self._buf_x
            at = 0
        self._buf_t, self._buf_x, self._buf_at = self._store_t[at:at + n_old], self._store_x[at:at + n_old], at
        t_new, _x_new, breaks = self._resampler.update(t, a, "accel", extra=gyro, extra_name="gyro",
                                                       out_t=self._store_t[at + n_old:],
                                                       out_x=self._store_x[at + n_old:])
        n_all = n_old + t_new.shape[0]
        buf_t, buf_x = self._store_t[at:at + n_all], self._store_x[at:at + n_all]
        if self.config.hole_min_s > 0 and self._resampler.n_holes_:
            holes = _kernels._signal_holes(t, self._t_last, self.config.hole_min_s, self.config.max_gap_s)
            if holes.shape[0]:
                self._holes_s = np.concatenate([self._holes_s, holes])
                self._bridged_s = np.concatenate([self._bridged_s, holes])
        self._t_last = float(t[-1])
        self._buf_t, self._buf_x = buf_t, buf_x
        return self._advance(buf_x[n_old:], breaks, final=False)

    def finish(self) -> list[RepSet]:
        """Close the open set (if any) at the end of the data and return what it completes."""
        if self._finished:
            return []
        self._finished = True
        return self._advance(np.empty((0, 3)), np.zeros(1, np.int64), final=True)

    def _advance(self, x_grid, breaks, final: bool) -> list[RepSet]:
        """Find and analyse the sets closed by the new grid samples ``x_grid`` (the tail of
        the lookback buffer, already joined to it; none when ``final``)."""
        k_block = self._buf_k0 + self._buf_t.shape[0] - x_grid.shape[0]
        c = self.config
        if final:
            # a break at the end closes the open set: feed a one-sample block with a break at 0
            events = _kernels._activity_sets(np.zeros((1, 3)), np.zeros(1, np.int64), k_block, self._state.copy(),
                                             self._alpha_g, self._alpha_ms, 0.0, 0.0, self._n_rest,
                                             self._n_pre, self._n_post, self._n_max, self._n_check)
            events = events[events[:, 2] == 0]
        else:
            events = _kernels._activity_sets(x_grid, breaks, k_block, self._state, self._alpha_g, self._alpha_ms,
                                             c.enter_g ** 2, c.exit_g ** 2, self._n_rest,
                                             self._n_pre, self._n_post, self._n_max, self._n_check)
        found = self._analyse_many(events, final)
        if found is not None and not self._holes_s.shape[0]:
            out = self._sets_of_many(found[1])  # (the loop below, for this case: no checkpoint, no hole)
            self._drop_lookback()
            return out
        many = found[0] if found is not None else None
        out = []
        shift = c.anti_alias_tau_s  # the anti-alias low-pass delays the signal by its tau
        # a rep that could still join a set starts within max_inter_rep_s of its end and lasts
        # at most max_rep_s; post_roll_s more keeps the filters' edge away from it
        settle_s = c.max_inter_rep_s + c.max_rep_s + c.post_roll_s
        k_last = self._buf_k0 + self._buf_t.shape[0] - 1
        for first, last, kind in events.tolist():
            last = min(last, k_last)
            first = max(first, self._consumed_k)
            if first > last:
                continue
            lo, hi = first - self._buf_k0, last - self._buf_k0 + 1
            if lo < 0:
                raise AssertionError("set start fell out of the lookback buffer")  # guarded by _keep
            groups = many.get((lo, hi)) if many is not None else None
            if many is not None and not groups:  # (kind 0) no group kept: no set
                self._consumed_k = last + 1
                self._amp_floor_m = 0.0
                continue
            now_s = float(self._buf_t[hi - 1])
            holes = self._holes_s
            if holes.shape[0]:
                holes = holes[holes_within(holes, self._buf_t[lo], self._buf_t[hi - 1])] - shift
            if many is None:
                t_slice = self._buf_t[lo:hi] - shift
                rec_edge = (first == 0, final and hi == self._buf_t.shape[0])
                # every hole for the grouping, counted or not, as _analyse_many passes them (one
                # that overlaps none of the stretch's reps marks none)
                sets = self._analyzer.analyse(t_slice, self._buf_x[lo:hi], self._amp_floor_m, None, holes, rec_edge,
                                              self._bridged_s - shift)
            else:  # kind 0 (amp_floor_m 0): analysed already, up to the holes
                sets = self._analyzer.sets_of_groups(groups, self._analyzer.concentric_first_.get((lo, hi), False),
                                                     holes)
            if kind == 1:
                # checkpoint: emit only sets no later rep can join any more
                sets = [rs for rs in sets if rs.end_s + shift <= now_s - settle_s]
                if sets:
                    self._amp_floor_m = self._analyzer.last_amp_m
            for rs in sets:
                if self._holes_s.shape[0]:  # its holes' reps are counted: no later set may count them
                    h = self._holes_s
                    self._holes_s = h[~holes_within(h, rs.start_s + shift, rs.end_s + shift)]
                out.append(rs)
                self.sets_.append(rs)
                self.emitted_at_s_.append(now_s - shift)
            if kind == 0:
                self._consumed_k = last + 1
                self._amp_floor_m = 0.0
            elif sets:
                self._consumed_k = first + int(np.searchsorted(t_slice, sets[-1].end_s, side="right"))
        self._drop_lookback()
        return out

    def _sets_of_many(self, spans: list[tuple[int, int, int]]) -> list[RepSet]:
        """What the loop in ``_advance`` emits when every event closed a stretch, all analysed by
        :meth:`_analyse_many` (``spans``: the buffer slice and last global index of each event
        that still has samples), and no hole is in view: the sets of the stretches' kept groups
        (the analyser's ``repsets_``), in order."""
        out: list[RepSet] = []
        shift = self.config.anti_alias_tau_s
        buf_t = self._buf_t
        repsets = self._analyzer.repsets_  # (no hole in view: the sets of each stretch's groups)
        for lo, hi, _last in spans:
            if lo < 0:
                raise AssertionError("set start fell out of the lookback buffer")  # guarded by _keep
            sets = repsets.get((lo, hi))
            if sets:
                out += sets
                self.emitted_at_s_ += [float(buf_t[hi - 1]) - shift] * len(sets)
        self.sets_ += out
        if spans:
            self._consumed_k = spans[-1][2] + 1
            self._amp_floor_m = 0.0
        return out

    def _drop_lookback(self) -> None:
        """Keep only the last ``_keep`` grid samples, and the holes still in view."""
        drop = self._buf_t.shape[0] - self._keep
        if drop > 0:  # views: the next update moves them to the buffer's front
            self._buf_t = self._buf_t[drop:]
            self._buf_at += drop
            self._buf_x = self._buf_x[drop:]
            self._buf_k0 += drop
        if self._holes_s.shape[0] and self._buf_t.shape[0]:
            self._holes_s = self._holes_s[self._holes_s[:, 1] > self._buf_t[0]]
        if self._bridged_s.shape[0] and self._buf_t.shape[0]:
            self._bridged_s = self._bridged_s[self._bridged_s[:, 1] > self._buf_t[0]]

    def _analyse_many(self, events: np.ndarray, final: bool) -> tuple[dict, list[tuple[int, int, int]]] | None:
        """The analyser's groups of this block's closed stretches, all found in one call
        (:meth:`SetAnalyzer.analyse_many`), keyed by the buffer slice the loop in ``_advance``
        takes, and those slices with the last global index of each (``lo, hi, last``: the events
        that still have samples, in order); None when some event is a checkpoint, or the open
        stretch had sets emitted at a checkpoint (its amplitude floor), i.e. when each is to be
        analysed on its own (or analyse_many declines)."""
        if events.shape[0] == 0 or (events[:, 2] != 0).any() or self._amp_floor_m != 0.0:
            return None
        spans, consumed, k0 = [], self._consumed_k, self._buf_k0
        k_last = k0 + self._buf_t.shape[0] - 1
        for first, last, _kind in events.tolist():
            last = min(last, k_last)
            first = max(first, consumed)
            if first <= last:
                spans.append((first - k0, last - k0 + 1, last))
                consumed = last + 1
        # the recording's first grid sample (global index 0) and its end, when in the buffer
        many = self._analyzer.analyse_many(self._buf_t, self._buf_x, [(lo, hi) for lo, hi, _last in spans],
                                           self.config.anti_alias_tau_s, self._holes_s,
                                           0 if k0 == 0 else -1, self._buf_t.shape[0] if final else -1,
                                           self._bridged_s)
        return None if many is None else (many, spans)
