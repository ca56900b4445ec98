"""The peer baseline: the per-exercise tuned low-pass + ``argrelextrema`` rep counter copied
across many public MetaMotion repositories, re-implemented from its description.

Accelerometer (and gyroscope) averaged into 200 ms bins (5 Hz), Butterworth low-pass of
order 10 (``filtfilt``) on the acceleration magnitude, or on gyro x for the row, with the
cut-off of the exercise; every local maximum is a rep. The per-exercise cut-offs are the
peer's method (data, below), not ours: our detector never sees the exercise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..types import Recording


@dataclass(frozen=True, slots=True)
class PeerProfile:
    """Peer settings of one exercise: signal column and low-pass cut-off (Hz)."""

    column: str  # "acc_r" (accel magnitude) or "gyr_x"
    cutoff_hz: float


PEER_PROFILES: dict[str, PeerProfile] = {
    "bench": PeerProfile("acc_r", 0.4),
    "squat": PeerProfile("acc_r", 0.35),
    "ohp": PeerProfile("acc_r", 0.35),
    "dead": PeerProfile("acc_r", 0.4),
    "row": PeerProfile("gyr_x", 0.65),
    "rest": PeerProfile("acc_r", 0.4),
}
PEER_RATE_HZ = 5.0
PEER_ORDER = 10


def _bin_mean(t_s: np.ndarray, x: np.ndarray, t0_s: float, n_bins: int, bin_s: float) -> np.ndarray:
    idx = np.floor((t_s - t0_s) / bin_s).astype(np.int64)
    ok = (idx >= 0) & (idx < n_bins)
    out = np.full(n_bins, np.nan)
    sums = np.bincount(idx[ok], weights=x[ok], minlength=n_bins)
    counts = np.bincount(idx[ok], minlength=n_bins)
    np.divide(sums, counts, out=out, where=counts > 0)
    return out


def peer_count(rec: Recording, exercise: str) -> int:
    """Reps counted by the peer pipeline on one recording of ``exercise``."""
    from scipy.signal import argrelextrema, butter, filtfilt

    prof = PEER_PROFILES[exercise]
    bin_s = 1.0 / PEER_RATE_HZ
    t0 = float(rec.accel.t_s[0])
    n_bins = int((rec.accel.t_s[-1] - t0) / bin_s) + 1
    if prof.column == "gyr_x":
        if rec.gyro is None:
            raise ValueError("peer baseline for this exercise needs the gyroscope")
        sig = _bin_mean(rec.gyro.t_s, rec.gyro.values[:, 0].astype(np.float64), t0, n_bins, bin_s)
    else:
        mag = np.linalg.norm(rec.accel.values.astype(np.float64), axis=1)
        sig = _bin_mean(rec.accel.t_s, mag, t0, n_bins, bin_s)
    good = ~np.isnan(sig)
    sig = np.interp(np.arange(n_bins), np.flatnonzero(good), sig[good])  # pandas-style gap fill
    b, a = butter(PEER_ORDER, prof.cutoff_hz / (PEER_RATE_HZ / 2), btype="low")
    low = filtfilt(b, a, sig)
    return int(argrelextrema(low, np.greater)[0].shape[0])
