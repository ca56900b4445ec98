"""Reader speed: ``repsense.io.read_recording`` vs ``pyarrow.csv.read_csv`` on the same file.

Generates a MetaBase-Android-style accelerometer CSV (100 Hz) and a generic ``t_s,ax,ay,az``
CSV, then times, best of ``--repeat`` runs:

* ``pyarrow``: ``pyarrow.csv.read_csv(path)`` with default options (type inference, all columns),
  the reference;
* ``repsense``: ``read_recording(path)`` (sniff, parse, timeline checks, SHA-256, Recording).
* ``metabase+bad``: the same kind of file with 0.01 % of rows holding a non-numeric cell
  (pyarrow infers that column as text; repsense drops those rows and keeps their line numbers).

Prints MB/s and the ratio repsense / pyarrow (1.0 = as fast as pyarrow; higher is faster).

Usage::

    python benchmarks/bench_readers.py [--rows 2000000] [--repeat 3] [--dir DIR]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow.csv as pacsv

from repsense.io import read_recording


def write_metabase(path: Path, n: int, rng: np.random.Generator, bad_every: int = 0) -> None:
    t_ms = 1_547_219_408_431 + np.arange(n, dtype=np.int64) * 10
    acc = np.round(rng.normal(0, 0.3, (n, 3)) + [0, 0, 1], 3)
    with open(path, "w", newline="") as fh:
        fh.write("epoch (ms),time (01:00),elapsed (s),x-axis (g),y-axis (g),z-axis (g)\n")
        step = 200_000
        for s in range(0, n, step):
            e = min(n, s + step)
            lines = [f"{t},2019-01-11T16:10:08.431,{(t - t_ms[0]) / 1000:.3f},{x:.3f},{y:.3f},{z:.3f}"
                     for t, (x, y, z) in zip(t_ms[s:e].tolist(), acc[s:e].tolist())]
            if bad_every:
                for k in range(0, len(lines), bad_every):
                    head, _, tail = lines[k].rpartition(",")
                    lines[k] = head + ",oops"  # a non-numeric cell: same column count
            fh.write("\n".join(lines) + "\n")


def write_generic(path: Path, n: int, rng: np.random.Generator) -> None:
    t_s = np.arange(n) / 100.0
    acc = rng.normal(0, 0.3, (n, 3)) + [0, 0, 1]
    np.savetxt(path, np.column_stack([t_s, acc]), fmt=["%.3f", "%.4f", "%.4f", "%.4f"], delimiter=",",
               header="t_s,ax,ay,az", comments="")


def best_of(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=2_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--dir", type=Path, default=None, help="where to write the generated files (default: a temp dir)")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory(dir=args.dir) as d:
        files = {
            "metabase": Path(d) / "metabase_Accelerometer.csv",
            "metabase+bad": Path(d) / "metabase_bad_Accelerometer.csv",
            "generic": Path(d) / "generic.csv",
        }
        write_metabase(files["metabase"], args.rows, rng)
        write_metabase(files["metabase+bad"], args.rows, rng, bad_every=10_000)
        write_generic(files["generic"], args.rows, rng)
        read_recording(files["generic"])  # warm imports and numba cache outside the timing
        print(f"rows={args.rows:,} repeat={args.repeat} (best of)  cpu_count={os.cpu_count()}")
        print(f"{'file':<14} {'MB':>7} {'pyarrow MB/s':>13} {'repsense MB/s':>14} {'ratio':>6}  dropped")
        for name, f in files.items():
            mb = f.stat().st_size / 1e6
            holder = {}

            def ours() -> None:
                holder["rec"] = read_recording(f)

            t_pa, t_rs = float("inf"), float("inf")
            for _ in range(args.repeat):  # interleaved, so load from other processes hits both alike
                t_pa = min(t_pa, best_of(lambda: pacsv.read_csv(f), 1))
                t_rs = min(t_rs, best_of(ours, 1))
            rec = holder["rec"]
            assert len(rec.accel) + rec.n_dropped == args.rows
            print(f"{name:<14} {mb:7.1f} {mb / t_pa:13.1f} {mb / t_rs:14.1f} {t_pa / t_rs:6.2f}  {rec.n_dropped}")


if __name__ == "__main__":
    main()
