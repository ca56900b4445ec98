"""Sensor model: what a wrist IMU makes of the true kinematics.

Per stream: sampling instants on the sensor's own grid (gyro offset from the accelerometer),
an averaging anti-alias filter over each sample period, a random mounting rotation,
calibration errors (bias, scale, cross-axis), white + 1/f noise, saturation and 16-bit
quantisation at the full-scale range, host timestamp jitter, random and burst sample drops.
Every parameter has a default range in :class:`SensorRanges`; one :class:`SensorModel` is drawn
per recording and stored in the truth.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .motion import MotionTimeline


@dataclass(frozen=True, slots=True)
class SensorModel:
    """One drawn sensor. Units in the names; matrices act on column vectors in the sensor frame.

    ``mount`` maps sensor-frame vectors to the wrist frame (the strap's random orientation).
    ``accel_gain``/``gyro_gain`` = diag(1 + scale error) + cross-axis terms.
    Timestamps:

    * ``"host"``: reported time = true sampling time + U in [0, ``jitter_s``] (host-stamped
      latency), so ``0 <= t_reported - t_true <= jitter_s`` and timestamps stay increasing.
    * ``"counter"``: reported time = sample counter x nominal period (a perfect grid, as in
      MetaBase exports) while the sensor's oscillator runs off by ``clock_error``: the true
      period is ``(1 + clock_error)`` x nominal, so ``t_reported = t_true / (1 + clock_error)``.
    """

    mount: np.ndarray
    accel_bias_g: np.ndarray
    accel_gain: np.ndarray
    accel_white_g: float
    accel_pink_g: float
    accel_range_g: float
    accel_bits: int
    gyro_bias_dps: np.ndarray
    gyro_gain: np.ndarray
    gyro_white_dps: float
    gyro_pink_dps: float
    gyro_range_dps: float
    gyro_bits: int
    gyro_offset_s: float
    jitter_s: float
    gyro_jitter_s: float
    drop_prob: float
    burst_per_min: float
    burst_s: tuple[float, float]
    timestamps: str = "host"
    clock_error: float = 0.0

    @property
    def time_scale(self) -> float:
        """Reported seconds per true second (1 for host timestamps)."""
        return 1.0 / (1.0 + self.clock_error)

    @property
    def accel_lsb_g(self) -> float:
        return self.accel_range_g / 2 ** (self.accel_bits - 1)

    @property
    def gyro_lsb_dps(self) -> float:
        return self.gyro_range_dps / 2 ** (self.gyro_bits - 1)


@dataclass(frozen=True, slots=True)
class SensorRanges:
    """Ranges the sensor parameters are drawn from (see docs/SIMULATOR.md for the sources)."""

    accel_bias_g: float = 0.04  # sd per axis (zero-g offset, BMI160 typ. ±40 mg)
    accel_scale: float = 0.01  # sd of the sensitivity error (±1-2 % uncalibrated)
    accel_cross: float = 0.007  # sd of cross-axis sensitivity (typ. ±1 %)
    accel_white_g: tuple[float, float] = (0.0012, 0.006)  # per-sample RMS, log-uniform
    accel_pink_g: tuple[float, float] = (0.0005, 0.004)
    gyro_bias_dps: float = 1.5  # sd per axis (zero-rate offset typ. ±3 deg/s)
    gyro_scale: float = 0.01
    gyro_cross: float = 0.007
    gyro_white_dps: tuple[float, float] = (0.05, 0.3)
    gyro_pink_dps: tuple[float, float] = (0.02, 0.3)
    gyro_offset_s: tuple[float, float] = (0.001, 0.02)
    jitter_periods: tuple[float, float] = (0.02, 0.35)  # jitter bound as a fraction of the period
    drop_prob: tuple[float, float] = (0.0, 0.004)
    burst_per_min: tuple[float, float] = (0.0, 0.4)
    burst_s: tuple[float, float] = (0.05, 0.8)  # duration of a burst of lost samples
    clock_error: float = 0.005  # bound of the oscillator error of counter-timed sensors (assumed)


def random_rotation(rng: np.random.Generator) -> np.ndarray:
    """Uniformly distributed rotation matrix (normalised Gaussian quaternion)."""
    q = rng.normal(size=4)
    w, x, y, z = q / np.linalg.norm(q)
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


def draw_sensor_model(
    rng: np.random.Generator,
    sample_rate_hz: float,
    *,
    ranges: SensorRanges | None = None,
    accel_range_g: float = 8.0,
    gyro_range_dps: float = 2000.0,
    bits: int = 16,
    jitter_s: float | None = None,
    drops: bool = True,
    ideal: bool = False,
    timestamps: str = "host",
) -> SensorModel:
    """Draw one sensor. ``ideal=True`` keeps mount, sampling and quantisation but removes
    calibration errors, noise, jitter and drops (for physics tests)."""
    r = ranges or SensorRanges()
    period = 1.0 / sample_rate_hz
    if timestamps not in ("host", "counter"):
        raise ValueError(f"timestamps must be 'host' or 'counter', got {timestamps!r}")

    def gain(scale_sd: float, cross_sd: float) -> np.ndarray:
        g = np.diag(1.0 + rng.normal(0.0, scale_sd, 3))
        off = rng.normal(0.0, cross_sd, (3, 3))
        np.fill_diagonal(off, 0.0)
        return g + off

    def loguniform(lo_hi: tuple[float, float]) -> float:
        lo, hi = lo_hi
        return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))

    mount = random_rotation(rng)
    model = dict(
        mount=mount,
        accel_bias_g=rng.normal(0.0, r.accel_bias_g, 3),
        accel_gain=gain(r.accel_scale, r.accel_cross),
        accel_white_g=loguniform(r.accel_white_g),
        accel_pink_g=loguniform(r.accel_pink_g),
        accel_range_g=float(accel_range_g),
        accel_bits=int(bits),
        gyro_bias_dps=rng.normal(0.0, r.gyro_bias_dps, 3),
        gyro_gain=gain(r.gyro_scale, r.gyro_cross),
        gyro_white_dps=loguniform(r.gyro_white_dps),
        gyro_pink_dps=loguniform(r.gyro_pink_dps),
        gyro_range_dps=float(gyro_range_dps),
        gyro_bits=int(bits),
        gyro_offset_s=float(rng.uniform(*r.gyro_offset_s)),
        jitter_s=float(rng.uniform(*r.jitter_periods) * period) if jitter_s is None else float(jitter_s),
        gyro_jitter_s=float(rng.uniform(*r.jitter_periods) * period) if jitter_s is None else float(jitter_s),
        drop_prob=float(rng.uniform(*r.drop_prob)) if drops else 0.0,
        burst_per_min=float(rng.uniform(*r.burst_per_min)) if drops else 0.0,
        burst_s=r.burst_s,
        timestamps=timestamps,
        clock_error=float(rng.uniform(-r.clock_error, r.clock_error)) if timestamps == "counter" else 0.0,
    )
    if timestamps == "counter":  # counter-based time has no jitter
        model.update(jitter_s=0.0, gyro_jitter_s=0.0)
    if ideal:
        model.update(
            accel_bias_g=np.zeros(3),
            accel_gain=np.eye(3),
            accel_white_g=0.0,
            accel_pink_g=0.0,
            gyro_bias_dps=np.zeros(3),
            gyro_gain=np.eye(3),
            gyro_white_dps=0.0,
            gyro_pink_dps=0.0,
            jitter_s=0.0,
            gyro_jitter_s=0.0,
            drop_prob=0.0,
            burst_per_min=0.0,
            clock_error=0.0,
        )
    if not model["jitter_s"] < 0.5 * period or not model["gyro_jitter_s"] < 0.5 * period:
        raise ValueError(f"jitter_s must be < half the sample period ({0.5 * period:.4g} s)")
    return SensorModel(**model)


@dataclass(frozen=True, slots=True)
class SampledStream:
    """One simulated stream before it becomes a :class:`repsense.types.Stream`."""

    t_s: np.ndarray  # reported timestamps (float64)
    values: np.ndarray  # float32 (n, 3)
    t_true_s: np.ndarray  # true sampling instants of the kept samples
    dropped_index: np.ndarray  # grid indices of the samples that were dropped


def sample_streams(
    motion: MotionTimeline,
    model: SensorModel,
    rng: np.random.Generator,
    *,
    sample_rate_hz: float,
    gyro_rate_hz: float | None,
    start_s: float,
    end_s: float,
) -> tuple[SampledStream, SampledStream | None]:
    """Sample accelerometer (g) and, if ``gyro_rate_hz``, gyroscope (deg/s) from the motion."""
    accel = _sample_one(motion, model, rng, sample_rate_hz, start_s, end_s, gyro=False)
    gyro = None
    if gyro_rate_hz:
        gyro = _sample_one(motion, model, rng, gyro_rate_hz, start_s + model.gyro_offset_s, end_s, gyro=True)
    return accel, gyro


#: The sensor averages the signal over each output period with this many sub-samples
#: at least (a boxcar anti-alias filter, like the Bosch "averaging" modes).
_MIN_INTERNAL_HZ = 100.0


def _sample_one(
    motion: MotionTimeline,
    model: SensorModel,
    rng: np.random.Generator,
    rate_hz: float,
    start_s: float,
    end_s: float,
    *,
    gyro: bool,
) -> SampledStream:
    period = (1.0 + model.clock_error) / rate_hz  # the sensor's true sampling period
    n = int(np.floor((end_s - start_s) / period)) + 1
    t_true = start_s + np.arange(n) * period
    n_sub = max(1, int(np.ceil(_MIN_INTERNAL_HZ / rate_hz)))
    acc = np.zeros((n, 3))
    for k in range(n_sub):
        # sub-samples spread over the period that ends at each sample instant
        f_g, w_dps = motion.specific_force_and_rate(t_true - period * k / n_sub, force=not gyro, rate=gyro)
        acc += w_dps if gyro else f_g
    acc /= n_sub
    # wrist frame -> sensor frame: mount maps sensor -> wrist, so apply its transpose
    x = np.einsum("nk,kj->nj", acc, model.mount)
    if gyro:
        gain, bias, white, pink = model.gyro_gain, model.gyro_bias_dps, model.gyro_white_dps, model.gyro_pink_dps
        full, lsb, jitter = model.gyro_range_dps, model.gyro_lsb_dps, model.gyro_jitter_s
    else:
        gain, bias, white, pink = model.accel_gain, model.accel_bias_g, model.accel_white_g, model.accel_pink_g
        full, lsb, jitter = model.accel_range_g, model.accel_lsb_g, model.jitter_s
    x = np.einsum("nk,jk->nj", x, gain) + bias
    if white > 0.0:
        x += rng.normal(0.0, white, (n, 3))
    if pink > 0.0:
        x += pink * _pink_noise(rng, n)
    # saturate and quantise to the ADC grid (two's complement: -full .. full - lsb)
    x = np.clip(np.round(x / lsb), -full / lsb, full / lsb - 1.0) * lsb

    if model.timestamps == "counter":
        t_rep = t_true * model.time_scale  # = start / (1 + error) + i * nominal period
    else:
        # latency-like jitter in [0, jitter]: density 3(1 - x)^2 (Beta(1, 3)), mostly small
        t_rep = t_true + ((1.0 - np.cbrt(rng.random(n))) * jitter if jitter > 0.0 else 0.0)
        t_rep[0] = t_true[0]  # the first sample defines the stream's origin
    keep = _keep_mask(rng, n, rate_hz, model.drop_prob, model.burst_per_min, model.burst_s)
    return SampledStream(
        t_s=np.ascontiguousarray(t_rep[keep]),
        values=np.ascontiguousarray(x[keep], dtype=np.float32),
        t_true_s=t_true[keep],
        dropped_index=np.flatnonzero(~keep),
    )


def _keep_mask(
    rng: np.random.Generator, n: int, rate_hz: float, p: float, burst_per_min: float, burst_s: tuple[float, float]
) -> np.ndarray:
    keep = np.ones(n, dtype=bool)
    if p > 0.0:
        keep &= rng.random(n) >= p
    n_bursts = rng.poisson(burst_per_min * n / rate_hz / 60.0) if burst_per_min > 0.0 else 0
    if n_bursts:
        starts = rng.integers(0, n, n_bursts)
        lens = np.maximum(1, np.ceil(rng.uniform(burst_s[0], burst_s[1], n_bursts) * rate_hz)).astype(np.int64)
        cover = np.zeros(n + 1, dtype=np.int64)
        np.add.at(cover, starts, 1)
        np.add.at(cover, np.minimum(starts + lens, n), -1)
        keep &= np.cumsum(cover[:n]) == 0
    keep[0] = True  # the recording origin sample always arrives (t_s starts at 0)
    return keep


def _pink_noise(rng: np.random.Generator, n: int) -> np.ndarray:
    """(n, 3) noise with a 1/f power spectrum and unit RMS per axis (FFT shaping)."""
    if n < 4:
        return np.zeros((n, 3))
    m = 1 << int(np.ceil(np.log2(n)))  # power-of-two FFT, then keep the first n samples
    spec = rng.normal(size=(3, m // 2 + 1)) + 1j * rng.normal(size=(3, m // 2 + 1))
    f = np.arange(m // 2 + 1, dtype=np.float64)
    f[0] = 1.0
    spec /= np.sqrt(f)
    spec[:, 0] = 0.0
    x = np.fft.irfft(spec, n=m, axis=1)[:, :n].T
    x /= np.maximum(x.std(axis=0), 1e-12)
    return x
