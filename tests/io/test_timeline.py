"""The timeline policy on arrays: non-finite, packed, duplicate, reordered, implausible, gaps."""

from __future__ import annotations

import numpy as np

from repsense.io._csvparse import DropLog
from repsense.io._timeline import GAP_PERIODS, clean_samples, find_gaps, spread_packed


def _vals(n: int) -> np.ndarray:
    return np.arange(n * 3, dtype=np.float64).reshape(n, 3)


def test_clean_input_passes_untouched() -> None:
    t = np.arange(10, dtype=np.int64) * 10_000_000
    drops = DropLog()
    c = clean_samples(t, _vals(10), np.arange(2, 12), drops)
    assert drops.total == 0 and c.n_reordered == 0
    np.testing.assert_array_equal(c.t_ns, t)


def test_replayed_block_counts_as_duplicates() -> None:
    # a logger that re-sends rows 3..5 after row 7: same times, so duplicates, first copy kept
    t = np.array([0, 1, 2, 3, 4, 5, 6, 7, 3, 4, 5, 8, 9], dtype=np.int64) * 10
    v = _vals(len(t))
    drops = DropLog()
    c = clean_samples(t, v, np.arange(2, 2 + len(t)), drops)
    d = drops.as_dict()
    assert d["duplicate_timestamp"].count == 3 and d["duplicate_timestamp"].first_lines == (10, 11, 12)
    np.testing.assert_array_equal(c.t_ns, np.arange(10) * 10)
    np.testing.assert_array_equal(c.values[3], v[3])


def test_nan_in_time_or_values_is_dropped() -> None:
    t = np.arange(6, dtype=np.int64)
    v = _vals(6)
    v[2, 1] = np.nan
    finite = np.ones(6, dtype=bool)
    finite[4] = False
    drops = DropLog()
    c = clean_samples(t, v, np.arange(2, 8), drops, t_finite=finite)
    assert drops.as_dict()["non_finite_value"].first_lines == (4, 6)
    assert c.t_ns.tolist() == [0, 1, 3, 5]


def test_packed_spread_is_not_a_duplicate() -> None:
    t = np.array([0, 0, 0, 0, 40, 40, 40, 40], dtype=np.int64)
    drops = DropLog()
    c = clean_samples(t, _vals(8), np.arange(2, 10), drops, packed=True)
    assert drops.total == 0
    assert c.t_ns.tolist() == [0, 10, 20, 30, 40, 50, 60, 70]
    unchanged = np.arange(5, dtype=np.int64)
    assert spread_packed(unchanged) is unchanged


def test_find_gaps() -> None:
    t = np.concatenate([np.arange(10) * 0.01, 5.0 + np.arange(10) * 0.01])
    assert find_gaps(t) == ((0.09, 5.0),)
    assert find_gaps(t, nominal_period_s=2.0) == ()  # 4.9 s < 5 periods of 2 s
    edge = np.array([0.0, 0.1, 0.2, 0.2 + GAP_PERIODS * 0.1 + 1e-9])
    assert len(find_gaps(edge)) == 1
    assert find_gaps(np.array([0.0])) == ()
