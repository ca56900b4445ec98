"""Pickle what ``repsense.detect`` returns on a fixed set of inputs, and compare two pickles.

For speed work on the detector, whose output must not change: take a snapshot with the code
before the change, another after, and compare. The inputs are

* every record of the MetaMotion data set (``raw/<accelerometer>`` of ``labels.csv``, read
  with ``repsense.read_recording``), if the shared folder is found;
* the 40 simulated sessions of ``repsense.bench.accuracy.simulated_accuracy`` (seeds 0-9 at
  12.5, 25, 50 and 100 Hz, 3 sets each);
* one day (8.64 M rows) of the speed benchmark's recording (accel and gyro).

Usage::

    python benchmarks/detector_snapshot.py OUT.pkl [--compare REF.pkl] [--shared DIR] [--no-day]

``--shared`` defaults to ``$REPSENSE_SHARED`` or ``../shared`` next to the repository. The
comparison prints how many inputs are bit-identical, how many differ only in float fields by
at most 1e-9 (and the largest difference), and names those that differ more (set or rep counts,
flags); exit status 1 if any does.
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import pickle
import sys
import time
from pathlib import Path


def snapshot(shared: Path | None, with_day: bool) -> dict:
    from repsense import read_recording
    from repsense.bench.timing import make_long_recording
    from repsense.segment import detect
    from repsense.simulate import simulate_session

    out = {}
    ds = shared / "datasets" / "metamotion-barbell" if shared else None
    if ds is not None and (ds / "labels.csv").is_file():
        with open(ds / "labels.csv", newline="") as fh:
            for row in csv.DictReader(fh):
                out["metamotion:" + row["set_id"]] = detect(read_recording(ds / "raw" / row["accelerometer"]))
    else:
        print(f"MetaMotion data set not found under {ds}: skipped", file=sys.stderr)
    for rate in (12.5, 25.0, 50.0, 100.0):
        for seed in range(10):
            rec, _ = simulate_session(seed, sample_rate_hz=rate, n_sets=3)
            out[f"simulated:{seed}:{rate:g}Hz"] = detect(rec)
    if with_day:
        t, data = make_long_recording(8_640_000)
        t0 = time.process_time()
        out["bench-day"] = detect(t, data[:, :3], data[:, 3:])
        print(f"bench day: {time.process_time() - t0:.3f} s CPU", file=sys.stderr)
    return out


def _fields(det) -> list[tuple]:
    rows = [("rate", det.sample_rate_hz)]
    for s in det.sets:
        rows.append(("set", len(s.reps), s.start_s, s.end_s, s.tut_s, s.eccentric_s, s.concentric_s, s.pause_s,
                     s.mean_tempo_s, s.concentric_slowdown))
        rows += [("rep", r.start_s, r.end_s, r.eccentric_s, r.concentric_s, r.pause_s, r.concentric_first)
                 for r in s.reps]
    return rows


def compare(ref: dict, new: dict, tol: float = 1e-9) -> int:
    """Print the comparison; return the number of inputs that differ beyond ``tol``."""
    identical = close = 0
    worst = 0.0
    bad = []
    for key in sorted(set(ref) | set(new)):
        if key not in ref or key not in new:
            bad.append(f"{key}: only in {'the reference' if key in ref else 'the new snapshot'}")
            continue
        a, b = _fields(ref[key]), _fields(new[key])
        if a == b or all(_same(x, y, 0.0) for x, y in zip(a, b)) and len(a) == len(b):
            identical += 1
            continue
        if len(a) == len(b) and all(_same(x, y, tol) for x, y in zip(a, b)):
            close += 1
            worst = max(worst, max(_diff(x, y) for x, y in zip(a, b)))
            continue
        bad.append(f"{key}: sets/reps or flags differ (or floats by more than {tol:g})")
    n_sets = sum(len(d.sets) for d in ref.values())
    n_reps = sum(d.n_reps for d in ref.values())
    print(f"{len(ref)} inputs ({n_sets} sets, {n_reps} reps in the reference): {identical} bit-identical, "
          f"{close} within {tol:g} (largest difference {worst:.3g}), {len(bad)} different")
    for line in bad:
        print("  DIFFERENT", line)
    return len(bad)


def _same(x: tuple, y: tuple, tol: float) -> bool:
    if len(x) != len(y) or x[0] != y[0]:
        return False
    for u, v in zip(x[1:], y[1:]):
        if isinstance(u, float) and isinstance(v, float):
            if not (u == v or (math.isnan(u) and math.isnan(v)) or abs(u - v) <= tol):
                return False
        elif u != v:
            return False
    return True


def _diff(x: tuple, y: tuple) -> float:
    d = 0.0
    for u, v in zip(x[1:], y[1:]):
        if isinstance(u, float) and isinstance(v, float) and not (math.isnan(u) or math.isnan(v)):
            d = max(d, abs(u - v))
    return d


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out", type=Path, help="snapshot to write")
    ap.add_argument("--compare", type=Path, help="reference snapshot to compare the new one with")
    ap.add_argument("--shared", type=Path, default=None, help="the shared folder (datasets/metamotion-barbell)")
    ap.add_argument("--no-day", action="store_true", help="leave out the 8.64 M-row bench day")
    args = ap.parse_args()
    shared = args.shared or Path(os.environ.get("REPSENSE_SHARED", Path(__file__).resolve().parents[1].parent / "shared"))
    snap = snapshot(shared, not args.no_day)
    with open(args.out, "wb") as fh:
        pickle.dump(snap, fh)
    if args.compare:
        with open(args.compare, "rb") as fh:
            return 1 if compare(pickle.load(fh), snap) else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
