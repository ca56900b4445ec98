"""``repsense bench``: accuracy (real MetaMotion sets, ours vs the peer baseline; simulated
sessions) and speed (batch vs ``np.copy`` and scipy; streaming), as one JSON-able dict.

Compute only: nothing here prints or writes; the CLI renders the tables and writes the JSON.
"""

from __future__ import annotations

import os
import platform
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable

from ..segment import DETECTOR_VERSION, DetectorConfig
from .accuracy import count_metrics, metamotion_accuracy, simulated_accuracy
from .peer import PEER_PROFILES, peer_count
from .second_generator import second_generator_accuracy
from .timing import WEEK_ROWS_100HZ, make_long_recording, scipy_equivalent, speed

__all__ = ["PEER_PROFILES", "TARGETS", "WEEK_ROWS_100HZ", "count_metrics", "make_long_recording",
           "metamotion_accuracy", "peer_count", "run_bench", "scipy_equivalent", "second_generator_accuracy",
           "simulated_accuracy", "speed"]

#: Targets of issue 3, checked in the report (value, comparison).
TARGETS = {
    "metamotion_within1": (0.97, ">="), "metamotion_exact": (0.80, ">="), "metamotion_mae": (0.30, "<="),
    "rest_reps": (0, "=="), "sim_set_f1": (0.97, ">="), "sim_within1": (0.97, ">="),
    "sim_tut_error_median": (0.05, "<="), "sim_split_error_median": (0.10, "<="),
    "ours_vs_copy": (0.25, ">="), "ours_vs_scipy": (20.0, ">="), "stream_us_per_sample": (2.0, "<="),
}


def metamotion_dir(shared: Path) -> Path:
    return shared / "datasets" / "metamotion-barbell"


def run_bench(shared: Path | None, *, quick: bool = False, config: DetectorConfig | None = None,
              progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Run every section; a missing input skips its section with the reason in ``skipped``.

    Parameters
    ----------
    shared : folder holding ``datasets/metamotion-barbell`` (the project's ``../shared``), or None.
    quick : shorter speed slice (1 day of 100 Hz instead of a week) and fewer simulated sessions.
    """
    say = progress or (lambda _msg: None)
    out: dict[str, Any] = {
        "detector_version": DETECTOR_VERSION, "config": asdict(config or DetectorConfig()), "quick": quick, "python": platform.python_version(),
        "machine": platform.machine(), "cpu_count": os.cpu_count(), "started_unix_s": time.time(),
        "skipped": {},
    }
    mm = metamotion_dir(shared) if shared is not None else None
    if mm is not None and (mm / "labels.csv").is_file():
        say("MetaMotion accuracy (ours and peer)")
        out["metamotion"] = metamotion_accuracy(mm, config)
    else:
        out["skipped"]["metamotion"] = f"data set not found at {mm}" if mm else "no --shared folder given"
    try:
        import repsense.simulate  # noqa: F401
    except ImportError as exc:  # pragma: no cover - the simulator ships with the package
        out["skipped"]["simulated"] = f"repsense.simulate unavailable: {exc}"
    else:
        say("simulated sessions")
        # 30 sessions x 4 rates: 10 gave numbers 10-15 points apart from one seed block to the next
        seeds = range(1000, 1004) if quick else range(1000, 1030)
        out["simulated"] = simulated_accuracy(seeds, config=config)
        # seeds 1000-1029 have been looked at while tuning the detector; these had not been
        # before detector 1.8.0 (2000-2029) and 1.9.0 (3000-3029), and give the numbers to expect
        # on recordings it never saw. Two blocks: one block's within-one rate differs from
        # another's by up to ~8 points, so the two give a range rather than one number
        say("simulated sessions, held-out seeds")
        out["simulated_heldout"] = simulated_accuracy(range(2000, 2004) if quick else range(2000, 2030), config=config)
        out["simulated_heldout2"] = simulated_accuracy(range(3000, 3004) if quick else range(3000, 3030), config=config)
        # a generator that shares no code or motion model with repsense.simulate (trapezoid
        # velocity profiles, rests of isolated vertical gestures): what tuning to one
        # simulator hides
        say("second generator")
        out["second_generator"] = second_generator_accuracy(range(3) if quick else range(20), config=config)
        say("speed")
        n = 8_640_000 if quick else WEEK_ROWS_100HZ
        out["speed"] = speed(n, scipy_rows=min(n, 8_640_000), stream_rows=360_000, config=config)
    out["finished_unix_s"] = time.time()
    return out
