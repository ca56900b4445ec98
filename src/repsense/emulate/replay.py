"""What an emulated band measures: a :class:`~repsense.types.Recording` as a function of time.

The band samples the recorded motion at *its own* rate on *its own* clock
(:mod:`repsense.emulate.clock`), so the recording is resampled by linear interpolation at the
instants the band takes its samples. Quantisation to the band's integer units is the band's
job (it uses its protocol encoder). Pure numpy, no I/O.
"""

from __future__ import annotations

import numpy as np

from repsense.types import Recording, RecordingMeta, Stream

__all__ = ["ReplaySignal", "synthetic_recording"]


class ReplaySignal:
    """Accelerometer (g) and gyroscope (deg/s) of a recording, evaluated at true elapsed times.

    True elapsed time 0 is the recording's first accelerometer sample.

    Parameters
    ----------
    recording : the recording to replay. Without gyro, the gyro reads 0 deg/s.
    loop : if True the recording repeats forever; otherwise it ends after ``duration_s``.
    """

    def __init__(self, recording: Recording, *, loop: bool = False) -> None:
        acc = recording.accel
        if len(acc) < 2:
            raise ValueError(f"recording needs at least 2 accelerometer samples to replay, has {len(acc)}")
        self.recording = recording
        self.loop = loop
        self._t0_s = float(acc.t_s[0])
        self._acc_t_s = np.ascontiguousarray(acc.t_s - self._t0_s, dtype=np.float64)
        self._acc_g = np.ascontiguousarray(acc.values, dtype=np.float64)
        gyro = recording.gyro
        if gyro is not None and len(gyro) >= 2:
            self._gyr_t_s = np.ascontiguousarray(gyro.t_s - self._t0_s, dtype=np.float64)
            self._gyr_dps = np.ascontiguousarray(gyro.values, dtype=np.float64)
        else:
            self._gyr_t_s = None
            self._gyr_dps = None
        self.duration_s = float(self._acc_t_s[-1])

    @property
    def has_gyro(self) -> bool:
        return self._gyr_dps is not None

    def ended(self, true_s: float) -> bool:
        """True once ``true_s`` is past the end of a non-looping recording."""
        return (not self.loop) and true_s > self.duration_s

    def _wrap(self, t_s: np.ndarray) -> np.ndarray:
        if self.loop and self.duration_s > 0:
            return np.mod(t_s, self.duration_s)
        return t_s

    def accel_g(self, t_s: np.ndarray) -> np.ndarray:
        """Acceleration (n, 3) in g at true elapsed times ``t_s`` (linear interpolation)."""
        t = self._wrap(np.asarray(t_s, dtype=np.float64))
        return np.stack([np.interp(t, self._acc_t_s, self._acc_g[:, i]) for i in range(3)], axis=1)

    def gyro_dps(self, t_s: np.ndarray) -> np.ndarray:
        """Angular rate (n, 3) in deg/s at true elapsed times ``t_s``; zeros without gyro."""
        t = self._wrap(np.asarray(t_s, dtype=np.float64))
        if self._gyr_dps is None or self._gyr_t_s is None:
            return np.zeros((t.shape[0], 3), dtype=np.float64)
        return np.stack([np.interp(t, self._gyr_t_s, self._gyr_dps[:, i]) for i in range(3)], axis=1)


def synthetic_recording(*, duration_s: float = 60.0, sample_rate_hz: float = 100.0, n_sets: int = 3,
                        reps_per_set: int = 8, rep_s: float = 3.0, rest_s: float = 8.0,
                        t0_utc_ns: int = 1_700_000_000_000_000_000) -> Recording:
    """A plain curl-like recording for demos without a file: gravity on z, reps as smooth swings.

    Each rep is one period of a raised cosine on y (0.6 g peak) with a matching gyro x swing;
    sets of ``reps_per_set`` reps are separated by ``rest_s`` of stillness. The layout repeats
    until ``duration_s``.
    """
    if sample_rate_hz <= 0 or duration_s <= 0:
        raise ValueError(f"need sample_rate_hz > 0 and duration_s > 0, got {sample_rate_hz}, {duration_s}")
    n = int(round(duration_s * sample_rate_hz))
    t_s = np.arange(n, dtype=np.float64) / sample_rate_hz
    set_s = reps_per_set * rep_s
    cycle_s = set_s + rest_s
    in_cycle = np.mod(t_s, cycle_s)
    active = (in_cycle < set_s) & (np.floor_divide(t_s, cycle_s) < n_sets)
    phase = 2.0 * np.pi * np.mod(in_cycle, rep_s) / rep_s
    swing = np.where(active, 0.5 * (1.0 - np.cos(phase)), 0.0)
    acc = np.zeros((n, 3), dtype=np.float32)
    acc[:, 1] = 0.6 * swing
    acc[:, 2] = 1.0 - 0.3 * swing
    gyr = np.zeros((n, 3), dtype=np.float32)
    gyr[:, 0] = np.where(active, 120.0 * np.sin(phase), 0.0)
    meta = RecordingMeta(t0_utc_ns=t0_utc_ns, device_kind="simulated", source_file="<synthetic>")
    return Recording(accel=Stream(t_s, acc, "g"), meta=meta, gyro=Stream(t_s.copy(), gyr, "deg/s"))
