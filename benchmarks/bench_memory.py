"""Peak memory of ``repsense process`` on a long recording: whole-file read vs streamed read.

Generates a generic CSV (epoch ms, accelerometer in g, gyroscope in deg/s: 7 columns) of
``--days`` days at 100 Hz into a temporary folder (deleted afterwards; nothing is committed),
then stores it three ways, each in a fresh child process whose peak RSS (``ru_maxrss`` from
``wait4``) is the number reported:

* ``whole``: :func:`repsense.batch.run_batch` with ``stream_above_bytes`` set huge: the
  whole-file path (``read_recording`` -> Recording -> ``write_session``), as before the
  streamed path existed;
* ``streamed``: the same call with the default threshold (256 MiB): the file is read in
  16 MiB blocks (:mod:`repsense.io.chunked`) and the samples spilled to disk;
* ``cli``: ``python -m repsense process FILE --out DIR`` (default options: the streamed path);
* ``pq-whole`` / ``pq-streamed`` (``--parquet``): the stored samples (Parquet parts) processed
  again, as after a detector update, whole vs row group by row group.

Each peak is printed in MB and as a ratio to the in-memory Recording size
(rows x (8 + 12 + 12) bytes: float64 time, float32 accel and gyro), with the wall time, and
whether the stored files are byte-identical between the ways.

Usage::

    python benchmarks/bench_memory.py [--days 1 7] [--dir DIR] [--skip-whole-above-days 8] [--parquet]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

RATE_HZ = 100.0
T0_MS = 1_735_732_800_000  # 2025-01-01T12:00:00Z
ROWS_PER_CHUNK = 1_000_000


def generate(path: Path, days: float, seed: int = 1) -> int:
    """Write ``days`` of 100 Hz accel+gyro rows to ``path``; return the row count."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    n = int(round(days * 86_400 * RATE_HZ))
    rng = np.random.default_rng(seed)
    schema = pa.schema([("timestamp (ms)", pa.int64())] + [(f"a{a} (g)", pa.float64()) for a in "xyz"]
                       + [(f"g{a} (deg/s)", pa.float64()) for a in "xyz"])
    with pacsv.CSVWriter(str(path), schema, write_options=pacsv.WriteOptions(quoting_style="none")) as w:
        for lo in range(0, n, ROWS_PER_CHUNK):
            k = np.arange(lo, min(n, lo + ROWS_PER_CHUNK))
            t_s = k / RATE_HZ
            # a 10-rep set of 3 s reps at the start of every hour, rest (noise) otherwise
            in_set = (t_s % 3600.0) < 30.0
            rep = np.where(in_set, 0.4 * np.sin(2 * np.pi * t_s / 3.0), 0.0)
            noise = rng.normal(0.0, 0.01, (k.shape[0], 6))
            cols = [pa.array(T0_MS + k * 10)]
            cols += [pa.array(np.round(v, 4)) for v in (noise[:, 0], noise[:, 1] + 0.1 * rep, 1.0 + rep + noise[:, 2])]
            cols += [pa.array(np.round(v, 2)) for v in (30 * rep + 50 * noise[:, 3], 50 * noise[:, 4], 50 * noise[:, 5])]
            w.write_table(pa.Table.from_arrays(cols, schema=schema))
    return n


_CHILD = """
import sys
from repsense.batch import BatchOptions, make_tasks, run_batch
r = run_batch(make_tasks([sys.argv[1]]), BatchOptions(out_dir=sys.argv[2], stream_above_bytes=int(sys.argv[3])), workers=1)
assert [x.status for x in r] == ["written"], r
print(r[0].n_samples, r[0].n_sets, r[0].n_reps)
"""


def peak_of(cmd: list[str]) -> tuple[float, float, str]:
    """Peak RSS (MB) of ``cmd`` measured with wait4 (the child is reaped here, not by subprocess)."""
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    # read the pipes in the background while waiting with wait4 for the rusage
    import threading

    bufs: dict[str, bytes] = {}
    threads = [threading.Thread(target=lambda k=k, f=f: bufs.__setitem__(k, f.read()))
               for k, f in (("out", proc.stdout), ("err", proc.stderr))]
    for th in threads:
        th.start()
    _, status, usage = os.wait4(proc.pid, 0)
    for th in threads:
        th.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t
    if proc.returncode:
        raise SystemExit(f"child failed ({proc.returncode}): {' '.join(cmd)}\n{bufs['err'].decode()[-2000:]}")
    return usage.ru_maxrss / 1024.0, wall, bufs["out"].decode().strip()


def tree_digest(root: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file() and not p.name.startswith("."):
            h.update(p.relative_to(root).as_posix().encode())
            h.update(hashlib.sha256(p.read_bytes()).digest())
    return h.hexdigest()[:16]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--days", type=float, nargs="+", default=[1.0, 7.0])
    ap.add_argument("--dir", help="where to generate (default: a temporary folder; deleted afterwards)")
    ap.add_argument("--skip-whole-above-days", type=float, default=8.0,
                    help="do not run the whole-file path above this many days (it needs ~6x the Recording)")
    ap.add_argument("--parquet", action="store_true", help="also reprocess the stored samples (Parquet) both ways")
    args = ap.parse_args()
    base = Path(tempfile.mkdtemp(prefix="repsense-bench-memory-", dir=args.dir))
    os.chmod(base, 0o700)
    py = sys.executable
    print(f"{'days':>5} {'rows':>11} {'CSV MB':>8} {'Recording MB':>13} {'way':>9} {'peak RSS MB':>12} "
          f"{'x Recording':>12} {'wall s':>8}  stored")
    try:
        for days in args.days:
            csv = base / f"long_{days:g}d.csv"
            t = time.perf_counter()
            n = generate(csv, days)
            gen_s = time.perf_counter() - t
            rec_mb = n * (8 + 12 + 12) / 1e6
            size_mb = csv.stat().st_size / 1e6
            print(f"# generated {csv.name}: {n} rows, {size_mb:.0f} MB in {gen_s:.0f} s", flush=True)
            ways = []
            if days <= args.skip_whole_above_days:
                ways.append(("whole", [py, "-c", _CHILD, str(csv), str(base / "out_whole"), str(1 << 62)]))
            ways.append(("streamed", [py, "-c", _CHILD, str(csv), str(base / "out_streamed"), str(256 << 20)]))
            ways.append(("cli", [py, "-m", "repsense", "process", str(csv), "--out", str(base / "out_cli")]))
            if args.parquet:
                stored = base / "stored"
                ways.append(("stored", [py, "-c", _CHILD, str(csv), str(stored), str(256 << 20)]))
                for way, limit in (("pq-whole", 1 << 62), ("pq-streamed", 256 << 20)):
                    ways.append((way, [py, "-c", _CHILD, str(stored / "samples"), str(base / f"out_{way}"), str(limit)]))
            digests = {}
            for way, cmd in ways:
                peak, wall, out = peak_of(cmd)
                out_dir = base / ("stored" if way == "stored" else f"out_{way}")
                digests[way] = tree_digest(out_dir)
                print(f"{days:>5g} {n:>11} {size_mb:>8.0f} {rec_mb:>13.0f} {way:>9} {peak:>12.0f} "
                      f"{peak / rec_mb:>12.2f} {wall:>8.0f}  {digests[way]}",
                      flush=True)
                if way != "stored":
                    shutil.rmtree(out_dir)
            shutil.rmtree(base / "stored", ignore_errors=True)
            if "pq-whole" in digests:
                same = digests["pq-whole"] == digests["pq-streamed"]
                print(f"# {days:g} d Parquet: whole vs streamed stored files byte-identical: {'yes' if same else 'NO'}")
            if "whole" in digests:
                same = digests["whole"] == digests["streamed"]
                print(f"# {days:g} d: whole vs streamed stored files byte-identical: {'yes' if same else 'NO'}")
            csv.unlink()
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
