"""repsense: repetitions and time under tension from wearable accelerometers.

Public API (imported lazily, so ``import repsense`` stays cheap and has no side effects)::

    rec = repsense.read_recording("set_Accelerometer.csv")
    det = repsense.detect(rec)                       # or detect(t_s, accel_g, gyro_dps=None)
    for s in det.sets: print(s.start_s, len(s.reps), s.tut_s)
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from .types import Detection, Recording, RecordingMeta, Rep, RepSet, Stream

__version__ = "0.1.0"

_LAZY = {
    "read_recording": "repsense.io",
    "detect": "repsense.segment",
    "write_session": "repsense.store",
    "read_sessions": "repsense.store",
}

__all__ = ["Detection", "Recording", "RecordingMeta", "Rep", "RepSet", "Stream", "__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'repsense' has no attribute {name!r}")
    return getattr(import_module(module), name)
