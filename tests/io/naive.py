"""Slow, obviously-correct twins of the reader kernels in ``repsense.io._kernels``."""

from __future__ import annotations

import numpy as np


def longest_increasing_length(t: np.ndarray) -> int:
    """Length of the longest strictly increasing subsequence, O(n^2) dynamic programming."""
    n = len(t)
    if n == 0:
        return 0
    best = [1] * n
    for i in range(n):
        for j in range(i):
            if t[j] < t[i] and best[j] + 1 > best[i]:
                best[i] = best[j] + 1
    return max(best)
