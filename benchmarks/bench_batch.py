"""Batch throughput, scaling, store speed and worker memory.

1. **Scaling**: a folder of ``--files`` (>= 200) generated recordings (generic CSV, 50 Hz,
   accelerometer, a few sets of sinusoidal reps in noise) processed with ``run_batch`` by
   1 worker (in-process), 2 local worker processes (spawned pool) and a Dask ``LocalCluster``
   of 2 worker processes made as ``--scheduler local:2`` makes it (started before timing, as a
   real cluster would be; its workers warm up in the first run, like the pool's), then a second
   batch on the same cluster (warm workers: a long-lived cluster). Each run
   writes to a fresh folder; pool start-up is included (the "1st result" column shows it), and
   the CPU seconds used are printed next to the wall time. Prints files/s, samples/s, the scaling
   ratio against 1 worker, a resume run (everything already stored) and whether the three
   datasets are byte-identical.
   A reference in the same run: the speed-up of two pure-CPU Python processes over one (2.0 on
   two idle cores), so the scaling can be read on a shared machine.
2. **Store speed**: ``write_session`` / ``read_recording_parquet`` of one long recording
   (accelerometer + gyroscope) in rows/s and MB/s, against plain ``pyarrow.parquet.write_table`` /
   ``read_table`` of the same samples table (reference: no atomic rename, no fsync).
3. **Memory** (``--memory``, Linux): in a child process holding a ``--long-hours`` recording
   at 100 Hz, the peak RSS above the recording itself (``/proc/self/clear_refs`` resets the
   peak after the recording is built) while detecting and storing it: (a) ``detect()`` on the
   whole recording and one samples file, vs (b) the batch path (RepSegmenter in 1M-sample
   blocks, 4M-row sample parts). The reader's own memory is not part of this.

Usage::

    python benchmarks/bench_batch.py [--files 200] [--seconds 120] [--dir DIR] [--memory --long-hours 12]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np


def make_signal(rng: np.random.Generator, n: int, rate_hz: float) -> np.ndarray:
    t = np.arange(n) / rate_hz
    a = rng.normal(0, 0.03, (n, 3))
    a[:, 2] += 1.0
    n_sets = 3
    for k in range(n_sets):  # sets of reps: 0.4 Hz, 0.5 g on the vertical axis
        lo, hi = (k + 0.2) * n / n_sets, (k + 0.6) * n / n_sets
        m = (np.arange(n) >= lo) & (np.arange(n) < hi)
        a[m, 2] += 0.5 * np.sin(2 * np.pi * 0.4 * t[m])
        a[m, 0] += 0.2 * np.sin(2 * np.pi * 0.4 * t[m] + 0.5)
    return a.astype(np.float32)


def write_folder(folder: Path, n_files: int, seconds: float, rate_hz: float = 50.0) -> int:
    rng = np.random.default_rng(0)
    n = int(seconds * rate_hz)
    total = 0
    for k in range(n_files):
        t_ns = 1_700_000_000_000_000_000 + k * 3_600 * 10**9 + np.round(np.arange(n) * 1e9 / rate_hz).astype(np.int64)
        a = make_signal(rng, n, rate_hz)
        body = "\n".join(f"{t},{x:.5f},{y:.5f},{z:.5f}" for t, (x, y, z) in zip(t_ns.tolist(), a.tolist()))
        (folder / f"rec{k:04d}.csv").write_text("time_ns,ax,ay,az\n" + body + "\n")
        total += n
    return total


def tree_hash(root: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file():
            h.update(p.relative_to(root).as_posix().encode())
            h.update(p.read_bytes())
    return h.hexdigest()


_SPIN = "import time\nt = time.perf_counter()\ns = 0\nfor i in range(20_000_000):\n    s += i\nprint(time.perf_counter() - t)"


def machine_scaling() -> float:
    """Reference: speed-up of 2 parallel pure-CPU processes over 1 on this machine right now."""
    def run(k: int) -> float:
        t0 = time.perf_counter()
        procs = [subprocess.Popen([sys.executable, "-c", _SPIN], stdout=subprocess.DEVNULL) for _ in range(k)]
        for p in procs:
            p.wait()
        return time.perf_counter() - t0

    one = run(1)
    two = run(2)
    return 2 * one / two


def _worker_cpu_s() -> float:
    """User+sys CPU seconds of the calling process (run on each Dask worker)."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def bench_scaling(work: Path, n_files: int, seconds: float) -> None:
    from repsense.batch import BatchOptions, make_tasks, run_batch

    src = work / "in"
    src.mkdir()
    t = time.perf_counter()
    n_samples = write_folder(src, n_files, seconds)
    print(f"generated {n_files} recordings, {n_samples:,} samples in {time.perf_counter() - t:.1f} s")
    tasks = make_tasks([src])
    # warm-up: numba cache and imports, so no run pays the first compilation
    run_batch(tasks[:1], BatchOptions(out_dir=str(work / "warm")), workers=1)

    rows = []
    ref_before = machine_scaling()

    def cpu_s() -> float:
        me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime

    def timed(label: str, out: Path, **kw: object) -> float:
        first: list[float] = []
        c0 = cpu_s()
        t0 = time.perf_counter()
        res = run_batch(tasks, BatchOptions(out_dir=str(out)), on_result=lambda r: first or first.append(
            time.perf_counter()), **kw)  # type: ignore[arg-type]
        dt = time.perf_counter() - t0
        bad = [r for r in res if r.status not in ("written", "unchanged")]
        assert not bad, bad[:3]
        rows.append((label, dt, first[0] - t0, cpu_s() - c0))
        return dt

    t1 = timed("1 worker (in-process)", work / "o1", workers=1)
    timed("2 workers (process pool)", work / "o2", workers=2)
    try:
        import distributed  # noqa: F401

        from repsense.batch.dask import connect

        client, cluster = connect("local:2")  # exactly the cluster of `repsense process --scheduler local:2`
        try:
            # Started before timing, as a real cluster would be; the workers' warm-up (imports, numba
            # cache) happens in the first run, as the pool's start-up does. The second run on the same
            # cluster is what a long-lived cluster gives every later batch.
            for label, out in (("Dask LocalCluster, 2 processes", "o3"), ("Dask, same cluster again", "o4")):
                c0 = client.run(_worker_cpu_s)
                timed(label, work / out, client=client)
                c1 = client.run(_worker_cpu_s)
                name, dt, first_s, cpu = rows[-1]
                rows[-1] = (name, dt, first_s, cpu + sum(c1[a] - c0[a] for a in c0 if a in c1))
        finally:
            client.close()
            cluster.close()
    except ImportError:
        print("dask not installed: LocalCluster skipped")
    timed("resume, all stored (1 worker)", work / "o1", workers=1)

    ref = (ref_before + machine_scaling()) / 2
    print(f"\nreference: 2 pure-CPU processes run {ref:.2f}x as fast as 1 on this machine now "
          "(2.00 on 2 idle cores; the rest is taken by other processes)")
    print(f"\n{'run':34} {'time s':>8} {'files/s':>9} {'samples/s':>12} {'vs 1 worker':>12} {'1st result s':>13}"
          f" {'CPU s':>7}")
    for label, dt, first_s, cpu in rows:
        print(f"{label:34} {dt:8.2f} {n_files / dt:9.1f} {n_samples / dt:12,.0f} {t1 / dt:11.2f}x {first_s:13.2f}"
              f" {cpu:7.1f}")
    two = next(dt for label, dt, _, _ in rows if label.startswith("2 workers"))
    print(f"2-worker scaling {t1 / two:.2f}x vs the machine's {ref:.2f}x: {t1 / two / ref:.0%} of what the cores allow")
    hashes = {p: tree_hash(work / p) for p in ("o1", "o2", "o3", "o4") if (work / p).exists()}
    print(f"datasets byte-identical across runs: {len(set(hashes.values())) == 1} ({', '.join(hashes)})")
    print(f"cores available: {len(os.sched_getaffinity(0))}, load average: {os.getloadavg()[0]:.1f} "
          "(other processes on the machine share the cores: scaling is only meaningful near load 0)")
    print("CPU s: user+sys of this process and its finished children (pool workers) during the run; for Dask "
          "runs plus the workers' own (scheduler and client run in this process)")


def bench_store(work: Path, n: int) -> None:
    import pyarrow.parquet as pq

    from repsense.store import read_recording_parquet, write_session
    from repsense.types import Detection, Recording, RecordingMeta, Stream

    rng = np.random.default_rng(1)
    t = np.arange(n) / 100.0
    rec = Recording(accel=Stream(t, make_signal(rng, n, 100.0), "g"),
                    gyro=Stream(t + 0.003, rng.normal(0, 30, (n, 3)).astype(np.float32), "deg/s"),
                    meta=RecordingMeta(t0_utc_ns=1_700_000_000_000_000_000, participant="bench"))
    det = Detection(sets=(), sample_rate_hz=100.0, detector_version="bench")
    rows = 2 * n
    best_w = best_r = best_pw = best_pr = float("inf")
    for rep in range(3):
        out = work / f"store{rep}"
        t0 = time.perf_counter()
        paths = write_session(out, rec, det)
        best_w = min(best_w, time.perf_counter() - t0)
        t0 = time.perf_counter()
        back = read_recording_parquet(paths.samples[0])
        best_r = min(best_r, time.perf_counter() - t0)
        assert len(back.accel) == n
        table = pq.read_table(paths.samples[0])
        t0 = time.perf_counter()
        pq.write_table(table, work / f"plain{rep}.parquet", compression="zstd")
        best_pw = min(best_pw, time.perf_counter() - t0)
        t0 = time.perf_counter()
        pq.read_table(work / f"plain{rep}.parquet")
        best_pr = min(best_pr, time.perf_counter() - t0)
    mb = sum(p.stat().st_size for p in paths.samples) / 1e6
    raw_mb = rows * (8 + 12) / 1e6
    print(f"\nstore: one session, {rows:,} sample rows (accel + gyro), {mb:.1f} MB on disk "
          f"({raw_mb:.0f} MB of t_utc + xyz in memory)")
    print(f"  write_session          {best_w:6.2f} s  {rows / best_w:12,.0f} rows/s  {raw_mb / best_w:7.1f} MB/s")
    print(f"  pq.write_table (ref)   {best_pw:6.2f} s  {rows / best_pw:12,.0f} rows/s   ratio ours/ref {best_pw / best_w:.2f}")
    print(f"  read_recording_parquet {best_r:6.2f} s  {rows / best_r:12,.0f} rows/s  {raw_mb / best_r:7.1f} MB/s")
    print(f"  pq.read_table (ref)    {best_pr:6.2f} s  {rows / best_pr:12,.0f} rows/s   ratio ours/ref {best_pr / best_r:.2f}")


_MEM_CHILD = textwrap.dedent("""
    import sys, numpy as np
    sys.path.insert(0, sys.argv[4])
    from bench_batch import make_signal
    from repsense.types import Recording, RecordingMeta, Stream
    import repsense.segment, repsense.store, repsense.batch
    n, mode, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    rng = np.random.default_rng(2)
    t = np.arange(n) / 100.0
    rec = Recording(accel=Stream(t, make_signal(rng, n, 100.0), "g"),
                    gyro=Stream(t + 0.003, rng.normal(0, 30, (n, 3)).astype(np.float32), "deg/s"),
                    meta=RecordingMeta(t0_utc_ns=1_700_000_000_000_000_000))
    def status(key):
        for line in open("/proc/self/status"):
            if line.startswith(key):
                return int(line.split()[1])
    import dataclasses
    small = dataclasses.replace(rec, accel=Stream(t[:60000], rec.accel.values[:60000], "g"), gyro=None)
    repsense.store.write_session(out + "-warm", small, repsense.segment.detect(small))  # JIT + imports
    with open("/proc/self/clear_refs", "w") as fh:  # reset the peak (VmHWM) to the current RSS
        fh.write("5")
    base = status("VmRSS:")
    if mode == "whole":
        det = repsense.segment.detect(rec)
        repsense.store.write_session(out, rec, det, samples_rows_per_part=4 * n)
    else:
        det = repsense.batch.detect_in_chunks(rec, 1_000_000)
        repsense.store.write_session(out, rec, det)
    peak = status("VmHWM:")
    print(base, peak, det.n_reps)
""")


def bench_memory(work: Path, hours: float) -> None:
    n = int(hours * 3600 * 100)
    rec_mb = 2 * n * 20 / 1e6
    print(f"\nmemory: {hours:g} h at 100 Hz = {n:,} accel + {n:,} gyro samples ({rec_mb:.0f} MB as a Recording)")
    here = str(Path(__file__).resolve().parent)
    for mode in ("whole", "batch"):
        r = subprocess.run([sys.executable, "-c", _MEM_CHILD, str(n), mode, str(work / f"mem-{mode}"), here],
                           capture_output=True, text=True, check=True)
        base_kb, peak_kb, reps = map(int, r.stdout.split())
        print(f"  {mode:5}: RSS with the recording {base_kb / 1024:7.0f} MB, peak {peak_kb / 1024:7.0f} MB, "
              f"extra {(peak_kb - base_kb) / 1024:7.0f} MB = {(peak_kb - base_kb) / 1024 / rec_mb:.2f}x the recording"
              f" ({reps} reps)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=120.0, help="length of each generated recording")
    ap.add_argument("--store-rows", type=int, default=2_000_000, help="samples per stream for the store test")
    ap.add_argument("--memory", action="store_true", help="also measure worker memory on a long recording")
    ap.add_argument("--long-hours", type=float, default=12.0)
    ap.add_argument("--dir", help="work folder (default: a temporary one)")
    args = ap.parse_args()
    os.umask(0o077)
    with tempfile.TemporaryDirectory(dir=args.dir) as d:
        work = Path(d)
        bench_scaling(work, args.files, args.seconds)
        bench_store(work, args.store_rows)
        if args.memory:
            bench_memory(work, args.long_hours)
    print(f"\nbenchmark process peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
