"""A/B of ``repsense.detect`` speed: a git revision's code against the work tree's, in one process.

On a shared machine two runs minutes apart differ by more than most speed changes of the
detector; timing both versions in turns in one process, best of several rounds in CPU time,
puts a slow or fast moment of the machine on both. The revision's ``src/repsense`` is exported
(``git archive``) to a folder in the system's temporary directory named by its commit, as a
package of another name (the detection code imports relatively), so it is compiled once and
its numba cache reused by later runs; the work tree's ``repsense`` is the one on ``sys.path``
(e.g. ``PYTHONPATH=src``).

Usage::

    python benchmarks/detect_ab.py [--rev main] [--rows 8640000] [--rounds 9]

Prints whether both give the same sets and reps (every field, compared as ``repr``), then the
best CPU time of each in ms and the difference. The input is the speed benchmark's recording
(``repsense.bench.timing.make_long_recording``, accel and gyro); 8.64 M rows is one day at 100 Hz.
"""

from __future__ import annotations

import argparse
import importlib
import io
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path


def export_revision(rev: str) -> str:
    """Import name of the package holding ``rev``'s ``src/repsense`` (exported once per commit)."""
    root = Path(__file__).resolve().parent.parent
    sha = subprocess.run(["git", "rev-parse", "--verify", f"{rev}^{{commit}}"], cwd=root, check=True,
                         capture_output=True, text=True).stdout.strip()
    name = f"repsense_ab_{sha[:12]}"
    base = Path(tempfile.gettempdir()) / "repsense_detect_ab"
    if not (base / name / "__init__.py").exists():
        tar = subprocess.run(["git", "archive", "--format=tar", sha, "src/repsense"], cwd=root, check=True,
                             capture_output=True).stdout
        base.mkdir(exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=base))
        with tarfile.open(fileobj=io.BytesIO(tar)) as tf:
            tf.extractall(staging, filter="data")
        (staging / "src" / "repsense").rename(base / name)
        shutil.rmtree(staging)
    sys.path.insert(0, str(base))
    return name


def fields(det) -> str:
    """Every field of every set and rep, as text (the two versions' classes differ)."""
    return repr([(s.start_s, s.end_s, s.tut_s, s.eccentric_s, s.concentric_s, s.pause_s, s.mean_tempo_s,
                  s.concentric_slowdown, s.n_reps_in_gaps,
                  [(r.start_s, r.end_s, r.eccentric_s, r.concentric_s, r.pause_s, r.concentric_first) for r in s.reps])
                 for s in det.sets])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rev", default="main", help="git revision to compare against (default main)")
    ap.add_argument("--rows", type=int, default=8_640_000)
    ap.add_argument("--rounds", type=int, default=9)
    args = ap.parse_args()

    from repsense.bench.timing import make_long_recording
    from repsense.segment import detect as detect_new

    detect_old = importlib.import_module(export_revision(args.rev) + ".segment").detect
    t, data = make_long_recording(args.rows)
    accel, gyro = data[:, :3], data[:, 3:]
    versions = {args.rev: detect_old, "work tree": detect_new}
    outs = {}
    for name, detect in versions.items():
        detect(t[:20000], accel[:20000], gyro[:20000])  # compile / load the kernels outside the timing
        outs[name] = fields(detect(t, accel, gyro))
    same = outs[args.rev] == outs["work tree"]
    print(f"same sets and reps: {same}")
    best = dict.fromkeys(versions, float("inf"))
    for _ in range(args.rounds):
        for name, detect in versions.items():
            t0 = time.process_time()
            detect(t, accel, gyro)
            best[name] = min(best[name], time.process_time() - t0)
    old, new = best[args.rev] * 1e3, best["work tree"] * 1e3
    print(f"{args.rev}: {old:.2f} ms, work tree: {new:.2f} ms (CPU, best of {args.rounds}), "
          f"{old - new:+.2f} ms saved ({100 * (1 - new / old):+.1f} %)")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
