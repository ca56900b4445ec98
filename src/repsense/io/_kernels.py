"""Numba kernels of the readers (private: arrays in, arrays out; checked by the public callers).

Each kernel has a slow, obviously-correct twin in ``tests/io/naive.py``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .._jit import JIT


@njit(**JIT)
def _increasing_backbone(t: np.ndarray) -> np.ndarray:
    """Mask of a longest strictly increasing subsequence of ``t`` (int64, n).

    Patience sorting, O(n log n). Among the longest subsequences it returns the one whose
    elements are the smallest possible at every length, which keeps the earliest plausible
    samples and drops lone jumps forward or backward.
    """
    n = t.shape[0]
    keep = np.zeros(n, dtype=np.bool_)
    if n == 0:
        return keep
    tails = np.empty(n, dtype=np.int64)  # index into t of the smallest tail of each length
    prev = np.full(n, -1, dtype=np.int64)
    length = 0
    for i in range(n):
        x = t[i]
        lo, hi = 0, length
        while lo < hi:  # first tail >= x (strict increase)
            mid = (lo + hi) // 2
            if t[tails[mid]] < x:
                lo = mid + 1
            else:
                hi = mid
        if lo > 0:
            prev[i] = tails[lo - 1]
        tails[lo] = i
        if lo == length:
            length += 1
    k = tails[length - 1]
    while k >= 0:
        keep[k] = True
        k = prev[k]
    return keep
