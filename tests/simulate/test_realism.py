"""Simulated sets stay in the range of real ones: per-exercise signal levels vs the MetaMotion sets.

The comparison in docs/SIMULATOR.md comes from this test's statistics: acceleration in the
rep band (0.15-3 Hz), spread of |a| and gyro RMS, medians per exercise at 12.5 / 25 Hz.
Bounds are a factor of 2 either way: the simulator should look like real lifting, not match
five people exactly.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import butter, sosfiltfilt

from repsense.simulate import simulate_set

pytestmark = pytest.mark.shared

# MetaMotion label -> simulator profile (data, not control flow)
EXERCISE_NAMES = {"bench": "bench", "squat": "squat", "dead": "deadlift", "row": "row", "ohp": "ohp"}
RATE_HZ = 12.5
_SOS = butter(2, [0.15, 3.0], btype="band", fs=RATE_HZ, output="sos")


def _stats(accel_g: np.ndarray, gyro_dps: np.ndarray) -> np.ndarray:
    band = sosfiltfilt(_SOS, accel_g, axis=0)
    return np.array([
        np.sqrt((band**2).sum(axis=1).mean()),
        np.linalg.norm(accel_g, axis=1).std(),
        np.sqrt((gyro_dps**2).sum(axis=1).mean()),
    ])


def _load(path) -> np.ndarray:
    return np.loadtxt(path, delimiter=",", skiprows=1, usecols=(3, 4, 5))


def test_simulated_sets_look_like_real_sets(metamotion_dir, metamotion_labels) -> None:
    real: dict[str, list[np.ndarray]] = {}
    for row in metamotion_labels:
        if row["duplicate_of"] or int(row["reps"]) == 0 or row["exercise"] not in EXERCISE_NAMES:
            continue
        acc = _load(metamotion_dir / "raw" / row["accelerometer"])
        gyr = _load(metamotion_dir / "raw" / row["gyroscope"])
        real.setdefault(row["exercise"], []).append(_stats(acc, gyr))
    assert set(real) == set(EXERCISE_NAMES)
    for label, name in EXERCISE_NAMES.items():
        sims = []
        for seed in range(8):
            rec, truth = simulate_set(seed, exercise=name, n_reps=(5, 10), sample_rate_hz=RATE_HZ, gyro_rate_hz=25.0,
                                      lead_s=(1.0, 2.0))
            s = truth.sets[0]
            ta, tg = rec.accel.t_s, rec.gyro.t_s
            ma = (ta >= s.start_s - 1.0) & (ta <= s.end_s + 1.0)
            mg = (tg >= s.start_s - 1.0) & (tg <= s.end_s + 1.0)
            sims.append(_stats(rec.accel.values[ma].astype(np.float64), rec.gyro.values[mg].astype(np.float64)))
        ratio = np.median(sims, axis=0) / np.median(real[label], axis=0)
        assert np.all((ratio > 0.5) & (ratio < 2.0)), (label, ratio.round(2))
