"""Detector accuracy on recordings from a second, deliberately different generator.

`repsense.simulate` is the generator the detector was developed against. This one shares no
code or motion model with it, so a detector tuned to the first shows here:

- reps are pure vertical translations with **trapezoidal** velocity profiles (accelerate,
  cruise, brake; 20-50 % of each phase accelerating), not minimum-jerk;
- the rest position is the top or the bottom at random; pauses at the turnaround 0-0.5 s,
  waits between reps 0.2-1.5 s, the concentric phase slows by up to 40 % over the set;
- rests are stillness broken by **isolated vertical gestures** (0.5-1.5 s, 5-30 cm, every
  3-10 s), the hardest kind of non-exercise motion for a counter of vertical cycles;
- the sensor's up direction is random and wanders slowly; 0.015 g noise, 2 % of samples
  dropped, 25/50/100 Hz.

:func:`second_generator_accuracy` gives set F1 (IoU >= 0.5), rep-count MAE / exact /
within-one, and the median set TUT and eccentric/concentric split errors (as
:func:`repsense.bench.accuracy.simulated_accuracy` defines them) for the matched sets.
Compute only: nothing here prints or writes.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..segment import DetectorConfig, detect
from .accuracy import SetScores

G_M_S2 = 9.80665


def _trapezoid(n: int, travel_m: float, accel_frac: float) -> np.ndarray:
    """Position 0 -> ``travel_m`` in ``n`` samples, trapezoidal velocity."""
    u = np.linspace(0.0, 1.0, n)
    v = np.where(u < accel_frac, u / accel_frac, np.where(u > 1 - accel_frac, (1 - u) / accel_frac, 1.0))
    p = np.cumsum(v)
    return p / p[-1] * travel_m


def session(seed: int, rate_hz: float) -> tuple[np.ndarray, np.ndarray, list[tuple]]:
    """One session of 3 sets: ``(t_s, accel_g float32 (n, 3), [(start_s, end_s, n_reps, eccentric_s,
    concentric_s, pause_s), ...])`` (phase times summed over the set's reps)."""
    rng = np.random.default_rng(seed)
    parts: list[np.ndarray] = [np.zeros(int(rng.uniform(10, 20) * rate_hz))]
    truth = []
    for _ in range(3):
        n_reps = int(rng.integers(4, 13))
        travel = rng.uniform(0.3, 0.7)
        ecc_s, con_s = rng.uniform(1.0, 3.0), rng.uniform(0.6, 1.8)
        rest_at_top = rng.random() < 0.5
        start = sum(p.shape[0] for p in parts)
        n_ecc = n_con = n_pause = 0
        for r in range(n_reps):
            slow = 1 + 0.4 * r / n_reps
            e = int(ecc_s * rng.uniform(0.9, 1.1) * rate_hz)
            c = int(con_s * slow * rng.uniform(0.9, 1.1) * rate_hz)
            pause = int(rng.uniform(0, 0.5) * rate_hz)
            wait = int(rng.uniform(0.2, 1.5) * rate_hz)
            frac = rng.uniform(0.2, 0.5)
            down = travel - _trapezoid(e, travel, frac)
            up = _trapezoid(c, travel, frac)
            n_ecc, n_con, n_pause = n_ecc + e, n_con + c, n_pause + pause
            if rest_at_top:
                parts.append(np.concatenate([down - travel, np.full(pause, -travel), up - travel, np.zeros(wait)]))
            else:
                parts.append(np.concatenate([up, np.full(pause, travel), down, np.zeros(wait)]))
        end = sum(p.shape[0] for p in parts) - wait  # the last rep's end, not the wait after it
        truth.append((start / rate_hz, end / rate_hz, n_reps, n_ecc / rate_hz, n_con / rate_hz, n_pause / rate_hz))
        rest_s, k = rng.uniform(40, 90), 0.0
        while k < rest_s:
            still = rng.uniform(3, 10)
            parts.append(np.zeros(int(still * rate_hz)))
            dur = rng.uniform(0.5, 1.5)
            amp = rng.uniform(0.05, 0.3) * rng.choice([-1, 1])
            parts.append(amp * np.sin(np.linspace(0, math.pi, int(dur * rate_hz))) ** 2)
            k += still + dur
    z_m = np.concatenate(parts)
    n = z_m.shape[0]
    t_s = np.arange(n) / rate_hz
    a_up = np.gradient(np.gradient(z_m, 1 / rate_hz), 1 / rate_hz)
    k = max(1, int(0.1 * rate_hz))
    a_up = np.convolve(a_up, np.ones(k) / k, "same")
    up = rng.normal(size=3)
    up = up / np.linalg.norm(up) + np.cumsum(rng.normal(0, 0.002, (n, 3)), axis=0)
    up /= np.linalg.norm(up, axis=1)[:, None]
    side = np.cross(up, [0.0, 0.0, 1.0])
    side /= np.maximum(np.linalg.norm(side, axis=1)[:, None], 1e-9)
    accel = (1 + a_up / G_M_S2)[:, None] * up + side * (0.02 * np.sin(2 * math.pi * 0.3 * t_s))[:, None]
    accel += rng.normal(0, 0.015, accel.shape)
    keep = rng.random(n) > 0.02
    return t_s[keep], accel[keep].astype(np.float32), truth


def second_generator_accuracy(seeds: range, rates_hz: tuple[float, ...] = (25.0, 50.0, 100.0),
                              config: DetectorConfig | None = None) -> dict[str, Any]:
    """Set F1, rep counts (``counts``, and their ``mean_error``), TUT and split errors of
    ``detect`` on :func:`session` ``(seed, rate)`` for every seed and rate (3 sets per
    session), as :class:`repsense.bench.accuracy.SetScores` scores them."""
    scores = SetScores()
    for seed in seeds:
        for rate in rates_hz:
            t_s, accel_g, truth = session(seed, rate)
            scores.add([(s0, s1, n, ecc_s + con_s + pause_s, ecc_s, con_s) for s0, s1, n, ecc_s, con_s, pause_s in truth],
                       detect(t_s, accel_g, config=config))
    return {"n_sessions": len(seeds) * len(rates_hz), "seeds": [seeds.start, seeds.stop - 1] if len(seeds) else [],
            "rates_hz": list(rates_hz), **scores.summary(),
            "mean_error": float(np.asarray(scores.errors, dtype=float).mean()) if scores.errors else math.nan}
