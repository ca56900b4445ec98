"""Numba kernels for set and rep segmentation (private: arrays in, arrays out).

Every kernel has a slow, obviously-correct twin in ``tests/naive.py`` and a differential test.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .._jit import JIT

# Layout of the activity state vector (float64), shared with the naive twin.
S_INIT, S_G0, S_G1, S_G2, S_MS, S_ACTIVE, S_KSTART, S_BELOW, S_SEGSTART, S_NEXTFIRST, S_K = range(11)
N_STATE = 11


@njit(**JIT)
def _activity_sets(x, breaks, k0, state, alpha_g, alpha_ms, enter_ms, exit_ms,
                   n_rest, n_pre, n_post, n_max):
    """Stateful set finder on uniform-grid acceleration (one sample at a time, causal).

    Gravity is tracked by a one-pole low-pass (``alpha_g``); the activity score is the
    one-pole mean square (``alpha_ms``) of the gravity-removed acceleration. A set opens
    when the score exceeds ``enter_ms`` and closes after ``n_rest`` samples below
    ``exit_ms`` (hysteresis), or after ``n_max`` samples, or at a grid break.

    Parameters
    ----------
    x : float64 (m, 3) grid samples of this block.
    breaks : int64 (b,) block-local indices where a new grid segment starts (sorted).
    k0 : int, global index of ``x[0]``.
    state : float64 (N_STATE,), updated in place; zeros before the first call.
    n_rest, n_pre, n_post, n_max : int, in grid samples.

    Returns
    -------
    events : int64 (e, 2) global ``[first, last]`` grid indices (inclusive) of each closed set,
        pre-roll and post-roll included, never overlapping and never crossing a break.
    """
    m = x.shape[0]
    ev = np.empty((2 * (m // max(min(n_rest, n_max), 1)) + breaks.shape[0] + 4, 2), np.int64)
    ne = 0
    bi = 0
    for i in range(m):
        k = k0 + i
        if bi < breaks.shape[0] and breaks[bi] == i:
            bi += 1
            if state[S_ACTIVE] == 1.0 and state[S_INIT] == 1.0:
                first = max(state[S_KSTART] - n_pre, state[S_SEGSTART], state[S_NEXTFIRST])
                last = state[S_K]
                if state[S_BELOW] >= 0.0:
                    last = min(last, state[S_BELOW] + n_post)
                if first <= last:
                    ev[ne, 0] = np.int64(first)
                    ev[ne, 1] = np.int64(last)
                    ne += 1
                    state[S_NEXTFIRST] = last + 1.0
            state[S_INIT] = 0.0
            state[S_ACTIVE] = 0.0
        if state[S_INIT] == 0.0:
            state[S_INIT] = 1.0
            state[S_G0] = x[i, 0]
            state[S_G1] = x[i, 1]
            state[S_G2] = x[i, 2]
            state[S_MS] = 0.0
            state[S_ACTIVE] = 0.0
            state[S_BELOW] = -1.0
            state[S_SEGSTART] = k
        state[S_G0] += alpha_g * (x[i, 0] - state[S_G0])
        state[S_G1] += alpha_g * (x[i, 1] - state[S_G1])
        state[S_G2] += alpha_g * (x[i, 2] - state[S_G2])
        d0 = x[i, 0] - state[S_G0]
        d1 = x[i, 1] - state[S_G1]
        d2 = x[i, 2] - state[S_G2]
        state[S_MS] += alpha_ms * (d0 * d0 + d1 * d1 + d2 * d2 - state[S_MS])
        ms = state[S_MS]
        state[S_K] = k
        if state[S_ACTIVE] == 0.0:
            if ms > enter_ms:
                state[S_ACTIVE] = 1.0
                state[S_KSTART] = k
                state[S_BELOW] = -1.0
        else:
            if ms < exit_ms:
                if state[S_BELOW] < 0.0:
                    state[S_BELOW] = k
                if k - state[S_BELOW] >= n_rest:
                    first = max(state[S_KSTART] - n_pre, state[S_SEGSTART], state[S_NEXTFIRST])
                    last = state[S_BELOW] + n_post
                    ev[ne, 0] = np.int64(first)
                    ev[ne, 1] = np.int64(last)
                    ne += 1
                    state[S_NEXTFIRST] = last + 1.0
                    state[S_ACTIVE] = 0.0
                    state[S_BELOW] = -1.0
            else:
                state[S_BELOW] = -1.0
            if state[S_ACTIVE] == 1.0 and k - state[S_KSTART] >= n_max:
                first = max(state[S_KSTART] - n_pre, state[S_SEGSTART], state[S_NEXTFIRST])
                ev[ne, 0] = np.int64(first)
                ev[ne, 1] = k
                ne += 1
                state[S_NEXTFIRST] = k + 1.0
                state[S_KSTART] = k + 1
                state[S_BELOW] = -1.0
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
    for i in range(n):
        v = y[i]
        if st == 0:
            if v > threshold:
                st = 1
                ext = i
            elif v < -threshold:
                st = -1
                ext = i
        elif st == 1:
            if v > y[ext]:
                ext = i
            if v < -threshold:
                idx[p] = ext
                kind[p] = 1
                p += 1
                st = -1
                ext = i
        else:
            if v < y[ext]:
                ext = i
            if v > threshold:
                idx[p] = ext
                kind[p] = -1
                p += 1
                st = 1
                ext = i
    if st != 0:
        idx[p] = ext
        kind[p] = st
        p += 1
    return idx[:p].copy(), kind[:p].copy()
