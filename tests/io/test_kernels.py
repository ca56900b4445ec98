"""Reader kernels against their slow twins (tests/io/naive.py)."""

from __future__ import annotations

from types import ModuleType

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from repsense.io._kernels import _increasing_backbone
from repsense.io._timeline import spread_packed


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=-50, max_value=50), max_size=60))
def test_backbone_is_a_longest_increasing_subsequence(naive: ModuleType, values: list[int]) -> None:
    t = np.asarray(values, dtype=np.int64)
    keep = _increasing_backbone(t)
    assert keep.dtype == np.bool_ and keep.shape == t.shape
    chosen = t[keep]
    assert np.all(np.diff(chosen) > 0)
    assert chosen.shape[0] == naive.longest_increasing_length(values)


def test_backbone_drops_a_lone_jump(rng: np.random.Generator) -> None:
    t = np.arange(100, dtype=np.int64) * 10
    t[40] = 10**9
    t[70] = -5
    keep = _increasing_backbone(t)
    assert np.flatnonzero(~keep).tolist() == [40, 70]


def test_spread_packed_matches_loop() -> None:
    t = np.array([0, 0, 0, 30, 30, 30, 60, 90, 90], dtype=np.int64)
    out = spread_packed(t)
    expected = []
    for i, v in enumerate(t):
        run = np.flatnonzero(t == v)
        nxt = t[t > v]
        step = (nxt[0] - v) / len(run) if nxt.size else 10.0  # median of the other runs' steps
        expected.append(v + round((i - run[0]) * step))
    assert out.tolist() == expected
