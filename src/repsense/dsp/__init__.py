"""Signal processing: validated public wrappers around the private numba kernels.

Functions here check dtype, shape, finiteness and rates, raise the project's errors with a
reason, then call :mod:`repsense.dsp._kernels`.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import InputError, SamplingRateError
from . import _kernels

__all__ = ["Resampler", "bandpass_sos", "check_finite", "check_samples", "check_shapes", "filtfilt_sos", "highpass1_sos"]


def check_samples(t_s: np.ndarray, x: np.ndarray, name: str, *, allow_empty: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Validate timestamps and (n, 3) samples; return C-contiguous float64 copies/views.

    Raises
    ------
    TypeError
        Non-numeric arrays.
    InputError
        Wrong shapes, non-finite values, or timestamps not strictly increasing.
    """
    t, a = check_shapes(t_s, x, name, allow_empty=allow_empty)
    a = np.ascontiguousarray(a, dtype=np.float64)
    if not np.isfinite(t).all():
        raise InputError(f"{name}: timestamp {int(np.flatnonzero(~np.isfinite(t))[0])} is not finite")
    if not np.isfinite(a).all():
        bad = int(np.flatnonzero(~np.isfinite(a).all(axis=1))[0])
        raise InputError(f"{name}: sample {bad} is not finite (NaN or inf)")
    if t.shape[0] > 1:
        dt = np.diff(t)
        if not (dt > 0).all():
            bad = int(np.flatnonzero(dt <= 0)[0]) + 1
            raise InputError(f"{name}: timestamps must strictly increase (sample {bad}: {t[bad]!r} after {t[bad - 1]!r})")
    return t, a


class Resampler:
    """Stateful resampler of irregular 3-axis samples onto a uniform grid (any block sizes).

    Feeding the samples in one block or in many gives bit-identical output.

    Parameters
    ----------
    grid_rate_hz : float
        Output rate.
    max_gap_s : float
        Holes longer than this restart the grid at the next sample (reported as a break).
    anti_alias_tau_s : float
        Time constant of the one-pole anti-alias low-pass applied before interpolation.
    hole_min_s : float, optional
        After each :meth:`update`, ``n_holes_`` is the number of intervals between
        consecutive samples (from the previous block's last one on) of ``hole_min_s`` to
        ``max_gap_s`` seconds: holes the grid bridges by interpolation. Default: none counted.
    """

    def __init__(self, grid_rate_hz: float, max_gap_s: float, anti_alias_tau_s: float,
                 hole_min_s: float = math.inf) -> None:
        if not (grid_rate_hz > 0 and math.isfinite(grid_rate_hz)):
            raise SamplingRateError(f"grid_rate_hz must be > 0, got {grid_rate_hz!r}")
        self.dt_grid_s = 1.0 / grid_rate_hz
        self.max_gap_s = float(max_gap_s)
        self.anti_alias_tau_s = float(anti_alias_tau_s)
        self.hole_min_s = float(hole_min_s)
        self.n_holes_ = 0
        self._state = np.zeros(4 + 2 * 3)

    def max_grid_rows(self, t_s: np.ndarray) -> int:
        """Most grid samples :meth:`update` can write for the block of timestamps ``t_s``."""
        if t_s.shape[0] == 0:
            return 0
        t_prev = self._state[3] if self._state[0] else t_s[0]
        span = max(0.0, float(t_s[-1]) - float(t_prev))  # Python floats: no warning for inf - inf
        return int(min(span, self.max_gap_s * t_s.shape[0]) / self.dt_grid_s) + t_s.shape[0] + 2

    def update(self, t_s: np.ndarray, x: np.ndarray, name: str = "samples", extra: np.ndarray | None = None,
               extra_name: str = "extra", out_t: np.ndarray | None = None,
               out_x: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Resample one block; returns ``(t_grid_s, x_grid, breaks)``.

        ``breaks`` are indices into this block's output where a new grid segment starts.
        Timestamps must be finite and strictly increasing (also across blocks), values
        finite; otherwise :class:`~repsense.errors.InputError` names the sample and the block
        is not consumed. ``extra`` (optional, (n, c) on the same timestamps, e.g. the gyro)
        is checked to be finite in the same pass, as :func:`check_finite` (named
        ``extra_name``) would before the block: its error comes first.

        ``out_t``, ``out_x`` (optional, C-contiguous float64 (m,) and (m, 3) with ``m >=
        max_grid_rows(t_s)``): write the grid there (the returned arrays are their first
        rows), e.g. right after a lookback kept in the same buffer, which saves a copy and
        reuses memory that is already mapped.
        """
        self.n_holes_ = 0
        t, a = check_shapes(t_s, x, name)
        if t.shape[0] == 0:
            return np.empty(0), np.empty((0, 3)), np.empty(0, np.int64)
        if extra is not None and (extra.ndim != 2 or extra.shape[0] != t.shape[0] or extra.dtype.kind != "f"):
            raise InputError(f"{extra_name}: want ({t.shape[0]}, c) float samples, got {extra.shape} {extra.dtype}")
        if a.strides[1] != a.itemsize:  # the kernel reads a row's 3 values in one vector load
            a = np.ascontiguousarray(a)
        if extra is not None and extra.shape[1] == 3 and not (extra.dtype in (np.float32, np.float64)
                                                              and extra.strides[1] == extra.itemsize):
            extra = np.ascontiguousarray(extra, dtype=np.float64)
        # the kernel checks 3 extra columns in its pass; other counts are checked here (an
        # extra problem is reported first, wherever it is, as check_finite before the block)
        extra3 = extra is not None and extra.shape[1] == 3
        bad_extra = -1
        if extra is not None and not extra3 and t.shape[0]:
            bad_extra = int(_kernels._first_nonfinite_row(extra))
        m = self.max_grid_rows(t)
        if out_t is None or out_x is None:
            out_t = np.empty(m)
            out_x = np.empty((m, 3))
        elif not (out_t.shape[0] >= m and out_x.shape[0] >= m and out_x.shape[1:] == (3,)
                  and out_t.dtype == out_x.dtype == np.float64
                  and out_t.flags.c_contiguous and out_x.flags.c_contiguous):
            raise InputError(f"{name}: output buffers {out_t.shape} {out_x.shape} cannot hold {m} grid rows "
                             "(C-contiguous float64 wanted)")
        saved = self._state.copy()
        # (no extra stream: the samples themselves stand in, the same array type as a gyro view
        # of the same rows, so the kernel is not compiled once more)
        n, breaks, bad, code, n_holes = _kernels._resample_linear(t, a, extra if extra3 else a, 3 if extra3 else 0,
                                                                  self._state, out_t, out_x, self.dt_grid_s,
                                                                  self.max_gap_s, self.anti_alias_tau_s,
                                                                  self.hole_min_s)
        if bad_extra >= 0:
            code, bad = 4, bad_extra
        if code:
            self._state[:] = saved
            if code == 4:
                raise InputError(f"{extra_name}: sample {bad} is not finite (NaN or inf)")
            if extra is not None:
                check_finite(extra, extra_name)
            raise_bad_sample(name, t, bad, code)
        self.n_holes_ = int(n_holes)
        return out_t[:n], out_x[:n], breaks


def check_finite(x: np.ndarray, name: str) -> None:
    """Raise :class:`InputError` naming the first row of ``x`` with a NaN or infinity."""
    bad = _kernels._first_nonfinite_row(x) if x.shape[0] else -1
    if bad >= 0:
        raise InputError(f"{name}: sample {bad} is not finite (NaN or inf)")


def raise_bad_sample(name: str, t: np.ndarray, i: int, code: int) -> None:
    """Raise the :class:`InputError` for a sample a kernel rejected (see ``_resample_linear``)."""
    if code == 1:
        raise InputError(f"{name}: timestamp {i} is not finite")
    if code == 2:
        prev = f"{float(t[i - 1])!r}" if i > 0 else "the previous block's last timestamp"
        raise InputError(f"{name}: timestamps must strictly increase (sample {i}: {float(t[i])!r} after {prev})")
    raise InputError(f"{name}: sample {i} is not finite (NaN or inf)")


def check_shapes(t_s: np.ndarray, x: np.ndarray, name: str, *, allow_empty: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Check dtypes and shapes only; return C-contiguous float64 times and float32/float64 samples
    (float32 and float64 arrays are passed through without a copy, even as strided views)."""
    t = np.asarray(t_s)
    a = np.asarray(x)
    if not (np.issubdtype(t.dtype, np.number) and np.issubdtype(a.dtype, np.number)):
        raise TypeError(f"{name}: timestamps and samples must be numeric, got {t.dtype} and {a.dtype}")
    if t.ndim != 1 or a.ndim != 2 or a.shape[1] != 3 or a.shape[0] != t.shape[0]:
        raise InputError(f"{name}: want t_s (n,) and samples (n, 3), got {t.shape} and {a.shape}")
    if t.shape[0] == 0 and not allow_empty:
        raise InputError(f"{name}: no samples")
    t = np.ascontiguousarray(t, dtype=np.float64)
    if a.dtype not in (np.float32, np.float64):  # float32/64 views (even strided) go to the kernels as they are
        a = np.ascontiguousarray(a, dtype=np.float64)
    return t, a


def _filtfilt_axes(x: np.ndarray, sos: np.ndarray, n_pad: int) -> np.ndarray:
    """``_kernels._sosfilt_fb`` of each column of float64 ``x`` (n, c), n >= 2: C-contiguous
    (c, n), bit-identical. Up to 4 columns with the analyser's sections go through the
    four-lane passes that its displacement kernel has compiled already (no other kernel to
    compile, e.g. inside a timed run); the padding here does the kernel's arithmetic."""
    n, c = x.shape
    if c > 4 or not _kernels._sos_fast(sos):
        return np.stack([_kernels._sosfilt_fb(np.ascontiguousarray(x[:, j], dtype=np.float64), sos, n_pad)
                         for j in range(c)])
    p = min(int(n_pad), n - 1)
    m = n + 2 * p
    y = np.empty((m, 4))
    y[p:p + n, :c] = x
    y[p:p + n, c:] = x[:, :1]  # spare lanes
    y[:p] = 2.0 * y[p] - y[2 * p:p:-1]  # odd reflection, as _kernels._pad_odd
    y[p + n:] = 2.0 * y[p + n - 1] - y[p + n - 2:n - 2:-1]
    m_lane = np.full(4, m, np.int64)
    sos = np.ascontiguousarray(sos, dtype=np.float64)
    _kernels._fb4x2(y, np.empty((m, 4)), m_lane, y[:0], y[:0], m_lane, 0, 0, sos)  # no second group
    return np.ascontiguousarray(y[p:p + n, :c].T)


def bandpass_sos(low_hz: float, high_hz: float, sample_rate_hz: float) -> np.ndarray:
    """Second-order high-pass at ``low_hz`` cascaded with a second-order low-pass at ``high_hz``.

    Butterworth (Q = 1/sqrt 2) biquads from the bilinear transform (RBJ cookbook), as (2, 6)
    sections ``b0 b1 b2 1 a1 a2``.
    """
    if not 0 < low_hz < high_hz < sample_rate_hz / 2:
        raise SamplingRateError(f"band {low_hz}-{high_hz} Hz does not fit below Nyquist of {sample_rate_hz} Hz")
    q = 1 / math.sqrt(2)
    rows = []
    for f, kind in ((low_hz, "hp"), (high_hz, "lp")):
        w0 = 2 * math.pi * f / sample_rate_hz
        cw, al = math.cos(w0), math.sin(w0) / (2 * q)
        a0 = 1 + al
        if kind == "hp":
            b = [(1 + cw) / 2, -(1 + cw), (1 + cw) / 2]
        else:
            b = [(1 - cw) / 2, 1 - cw, (1 - cw) / 2]
        rows.append([b[0] / a0, b[1] / a0, b[2] / a0, 1.0, -2 * cw / a0, (1 - al) / a0])
    return np.array(rows)


def highpass1_sos(cutoff_hz: float, sample_rate_hz: float) -> np.ndarray:
    """First-order Butterworth high-pass (bilinear transform) as one (1, 6) section."""
    if not 0 < cutoff_hz < sample_rate_hz / 2:
        raise SamplingRateError(f"cut-off {cutoff_hz} Hz does not fit below Nyquist of {sample_rate_hz} Hz")
    k = math.tan(math.pi * cutoff_hz / sample_rate_hz)
    b0 = 1 / (1 + k)
    return np.array([[b0, -b0, 0.0, 1.0, (k - 1) / (k + 1), 0.0]])


def filtfilt_sos(x: np.ndarray, sos: np.ndarray, n_pad: int) -> np.ndarray:
    """Zero-phase filtering of a 1-d float64 signal by DC-blocking sections (odd-reflection padding)."""
    x = np.ascontiguousarray(x, dtype=np.float64)
    if x.ndim != 1 or x.shape[0] < 2:
        raise InputError(f"filtfilt_sos: need a 1-d signal of >= 2 samples, got shape {x.shape}")
    if not np.isfinite(x).all():
        raise InputError("filtfilt_sos: signal has non-finite values")
    return _kernels._sosfilt_fb(x, np.ascontiguousarray(sos, dtype=np.float64), int(n_pad))
