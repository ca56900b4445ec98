"""Simulated wrist IMU recordings with exact rep, phase and set labels.

Real data sets give rep counts but no phase times; this generator gives both, with the
nuisances of real wearables (random strap orientation, calibration errors, noise, 16-bit
quantisation, timestamp jitter, dropped samples) and rests full of everyday motion. See
``docs/SIMULATOR.md`` for the model, its equations and what it leaves out.

    rec, truth = simulate_session(7, sample_rate_hz=100.0, n_sets=3)
    truth.sets[0].reps[0].concentric_s

Compute only: nothing here opens files or prints.
"""

from __future__ import annotations

from .motion import MotionTimeline, min_jerk
from .profiles import EXERCISES, PLACEMENTS, REST, ExerciseMotion, RestMotion
from .sensor import SensorModel, SensorRanges
from .session import (
    SIMULATOR_VERSION,
    Activity,
    SessionTruth,
    SetTruth,
    simulate_corpus,
    simulate_session,
    simulate_set,
)

__all__ = [
    "EXERCISES",
    "PLACEMENTS",
    "REST",
    "SIMULATOR_VERSION",
    "Activity",
    "ExerciseMotion",
    "MotionTimeline",
    "RestMotion",
    "SensorModel",
    "SensorRanges",
    "SessionTruth",
    "SetTruth",
    "min_jerk",
    "simulate_corpus",
    "simulate_session",
    "simulate_set",
]
