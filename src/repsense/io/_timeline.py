"""From parsed rows to a clean stream: finite values, unique increasing timestamps, gaps.

Policy (applied to every reader, in this order):

1. Rows with a NaN or infinite value or timestamp are dropped (``non_finite_value``).
2. Packed rows (MetaBase iOS writes several samples under one epoch) are spread evenly
   between their epoch and the next distinct one; only readers of packed dialects ask for it.
3. Rows whose timestamp equals an earlier row's are dropped, the first one is kept
   (``duplicate_timestamp``).
4. If timestamps still go backwards, the longest strictly increasing run of rows is the
   backbone. A row off the backbone is **re-sorted into place** when its timestamp falls inside
   the backbone's span and within :data:`REORDER_WINDOW_ROWS` rows of where it belongs (local
   reordering, as BLE packet reordering produces); otherwise its timestamp is implausible and
   the row is dropped (``out_of_order_timestamp``). Re-sorted rows are counted, not dropped.
5. Gaps: intervals longer than :data:`GAP_PERIODS` nominal sample periods (median interval)
   are reported as ``(start_s, end_s)``; samples around a gap are kept.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._csvparse import DropLog, RowLines
from ._kernels import _increasing_backbone

REORDER_WINDOW_ROWS = 8
GAP_PERIODS = 5.0


@dataclass(frozen=True, slots=True)
class CleanSamples:
    """Samples of one stream after the timeline policy.

    Attributes
    ----------
    t_ns : ndarray of int64
        Strictly increasing timestamps, nanoseconds (absolute or relative, as given).
    values : ndarray of float, shape (n, 3)
    lines : ndarray of int64 or RowLines
        1-based file line of each kept sample.
    n_reordered : int
        Rows kept but moved into time order.
    """

    t_ns: np.ndarray
    values: np.ndarray
    lines: np.ndarray | RowLines
    n_reordered: int


def spread_packed(t_ns: np.ndarray) -> np.ndarray:
    """Spread runs of equal consecutive timestamps evenly up to the next distinct timestamp.

    Parameters
    ----------
    t_ns : ndarray of int64
        Timestamps in row order; a run of k equal values is k samples packed under one time.

    Returns
    -------
    ndarray of int64
        Timestamps where the j-th row of a run of k starting at ``e`` followed by ``e_next``
        gets ``e + j * (e_next - e) / k``. The last run (and a run followed by an earlier
        time) uses the median per-sample step of the other runs.
    """
    n = t_ns.shape[0]
    if n < 2 or not np.any(t_ns[1:] == t_ns[:-1]):
        return t_ns
    starts = np.flatnonzero(np.concatenate(([True], t_ns[1:] != t_ns[:-1])))
    lengths = np.diff(np.append(starts, n))
    epochs = t_ns[starts]
    step = np.full(starts.shape[0], np.nan)
    nxt = np.diff(epochs).astype(np.float64)
    ok = nxt > 0
    step[:-1][ok] = nxt[ok] / lengths[:-1][ok]
    good = step[np.isfinite(step)]
    fallback = float(np.median(good)) if good.size else 0.0
    step[~np.isfinite(step)] = fallback
    run_of_row = np.repeat(np.arange(starts.shape[0]), lengths)
    j = np.arange(n) - starts[run_of_row]
    return t_ns + np.round(j * step[run_of_row]).astype(np.int64)


def clean_samples(t_ns: np.ndarray, values: np.ndarray, lines: np.ndarray | RowLines, drops: DropLog, *,
                  packed: bool = False, t_finite: np.ndarray | None = None) -> CleanSamples:
    """Apply the timeline policy of this module to one stream.

    Parameters
    ----------
    t_ns : ndarray of int64
        Timestamps in nanoseconds, in row order.
    values : ndarray of float, shape (n, 3)
    lines : ndarray of int64 or RowLines
        1-based file line of each row (materialised only if a row is dropped).
    drops : DropLog
        Receives the rows dropped here.
    packed : bool
        Spread runs of equal timestamps (MetaBase iOS) instead of dropping them as duplicates.
    t_finite : ndarray of bool, optional
        False where the timestamp was not finite in the file (float time columns).

    Returns
    -------
    CleanSamples
    """
    ok = np.isfinite(values).all(axis=1)
    if t_finite is not None:
        ok &= t_finite
    if not ok.all():
        drops.add("non_finite_value", lines[~ok])
        t_ns, values, lines = t_ns[ok], values[ok], np.asarray(lines)[ok]
    if packed:
        t_ns = spread_packed(t_ns)
    n_reordered = 0
    if t_ns.shape[0] > 1 and not np.all(t_ns[1:] > t_ns[:-1]):
        _, first = np.unique(t_ns, return_index=True)
        if first.shape[0] < t_ns.shape[0]:
            keep = np.zeros(t_ns.shape[0], dtype=bool)
            keep[first] = True
            drops.add("duplicate_timestamp", lines[~keep])
            t_ns, values, lines = t_ns[keep], values[keep], np.asarray(lines)[keep]
        if not np.all(t_ns[1:] > t_ns[:-1]):
            t_ns, values, lines, n_reordered = _reorder(t_ns, values, np.asarray(lines), drops)
    return CleanSamples(t_ns, values, lines, n_reordered)


def _reorder(t_ns: np.ndarray, values: np.ndarray, lines: np.ndarray,
             drops: DropLog) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Backbone + local re-sorting of unique timestamps (step 4 of the module policy)."""
    backbone = _increasing_backbone(np.ascontiguousarray(t_ns, dtype=np.int64))
    bb_idx = np.flatnonzero(backbone)
    off_idx = np.flatnonzero(~backbone)
    pos = np.searchsorted(t_ns[bb_idx], t_ns[off_idx])
    inside = (pos > 0) & (pos < bb_idx.shape[0])
    prev_row = bb_idx[np.clip(pos - 1, 0, bb_idx.shape[0] - 1)]
    next_row = bb_idx[np.clip(pos, 0, bb_idx.shape[0] - 1)]
    near = (np.abs(off_idx - prev_row) <= REORDER_WINDOW_ROWS) | (np.abs(off_idx - next_row) <= REORDER_WINDOW_ROWS)
    resort = inside & near
    drops.add("out_of_order_timestamp", lines[off_idx[~resort]])
    keep = backbone.copy()
    keep[off_idx[resort]] = True
    idx = np.flatnonzero(keep)
    order = idx[np.argsort(t_ns[idx], kind="stable")]
    return t_ns[order], values[order], lines[order], int(resort.sum())


def find_gaps(t_s: np.ndarray, nominal_period_s: float | None = None) -> tuple[tuple[float, float], ...]:
    """Intervals longer than ``GAP_PERIODS`` nominal periods.

    Parameters
    ----------
    t_s : ndarray of float64
        Strictly increasing times in seconds.
    nominal_period_s : float, optional
        Nominal sample period; the median interval when not given.

    Returns
    -------
    tuple of (start_s, end_s)
        Time of the last sample before and the first sample after each gap.
    """
    if t_s.shape[0] < 2:
        return ()
    dt = np.diff(t_s)
    period = nominal_period_s if nominal_period_s and nominal_period_s > 0 else float(np.median(dt))
    idx = np.flatnonzero(dt > GAP_PERIODS * period)
    return tuple((float(t_s[i]), float(t_s[i + 1])) for i in idx)
