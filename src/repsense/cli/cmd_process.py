"""``repsense process``: recordings (files and folders) -> sets, reps and samples in a Parquet store."""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

NAME = "process"
HELP = "find sets and reps in recordings and store sessions as a Parquet dataset"
DESCRIPTION = (
    "Read every recording in INPUT (files and folders; MetaBase accelerometer+gyroscope files of "
    "a set are one input), find sets and reps, and write the sessions, sets, reps and samples "
    "tables to the Hive-partitioned Parquet dataset in --out. Inputs already stored from the same "
    "content by the same detector are skipped, so an interrupted run resumes where it stopped. "
    "Exit 0: all inputs stored; 1: some failed (listed); 2: usage error."
)


def _positive_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not v > 0 or v == float("inf"):
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return v


def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {text}")
    return v


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="recording files or folders (walked recursively)")
    p.add_argument("--out", required=True, metavar="DIR", help="dataset folder (created 0700 if absent)")
    p.add_argument("--participant", metavar="ID", help="participant id stored with every session (default: unknown)")
    p.add_argument("--rate", type=_positive_float, metavar="HZ", help="sample rate for files without a time column")
    p.add_argument("--workers", type=_positive_int, metavar="N", help="local worker processes (default: all cores; in-process below 16 MB of input)")
    p.add_argument("--scheduler", metavar="ADDR",
                   help="run on Dask: tcp://HOST:PORT, a scheduler file, or local:N (needs repsense[dask])")
    p.add_argument("--pseudonymise", action="store_true", help="store a keyed pseudonym instead of --participant")
    p.add_argument("--key-file", metavar="F", help="pseudonymisation key (created 0600 if absent; default "
                   "$REPSENSE_KEY_FILE or ~/.config/repsense/pseudonym.key)")
    p.add_argument("--force", action="store_true", help="reprocess inputs whose output is already stored")
    p.add_argument("--stream-above", type=_positive_float, default=256.0, metavar="MIB",
                   help="read inputs larger than this many MiB block by block, in bounded memory (default 256; "
                        "the stored files are the same either way)")


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    err = Console(stderr=True, highlight=False)
    out_dir = Path(args.out)
    if out_dir.exists() and not out_dir.is_dir():
        err.print(f"error: --out {args.out} exists and is not a folder")
        return 2
    if args.key_file and not args.pseudonymise:
        err.print("error: --key-file only makes sense with --pseudonymise")
        return 2
    if args.pseudonymise and not args.participant:
        err.print("error: --pseudonymise needs --participant (readers never take ids from file names)")
        return 2
    if args.scheduler and args.workers:
        err.print("error: give --workers or --scheduler, not both (Dask decides its workers)")
        return 2

    from ..batch import BatchOptions, SchedulerError, detector_version, make_tasks, run_batch
    from ..errors import RepsenseError

    participant = args.participant
    if args.pseudonymise:
        from ..mood import default_key_file, load_or_create_key, pseudonymise

        try:
            key = load_or_create_key(args.key_file or default_key_file())
        except RepsenseError as exc:
            err.print(f"error: {exc}")
            return 2
        participant = pseudonymise(participant, key)

    if args.scheduler:
        from ..batch.dask import check_scheduler

        try:
            check_scheduler(args.scheduler)
        except SchedulerError as exc:
            err.print(f"error: {exc}", soft_wrap=True)
            return 2
    try:
        detector_version()
    except (ImportError, AttributeError) as exc:
        err.print(f"error: the detector cannot be loaded ({exc})", soft_wrap=True)
        return 1

    try:
        out_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        err.print(f"error: cannot create --out {args.out}: {exc.strerror or exc}", soft_wrap=True)
        return 2
    if not os.access(out_dir, os.W_OK | os.X_OK):
        err.print(f"error: --out {args.out} is not writable", soft_wrap=True)
        return 2
    tasks = make_tasks(args.inputs)
    if not any(t.skip_reason is None for t in tasks) and not any(t.explicit or t.skip_reason == "no such file or folder"
                                                                 for t in tasks):
        err.print("error: no recording found in " + ", ".join(args.inputs))
        return 2
    opts = BatchOptions(out_dir=str(out_dir), participant=participant, sample_rate_hz=args.rate,
                        resume=not args.force, stream_above_bytes=int(args.stream_above * (1 << 20)))
    view = ProgressView(err, len(tasks))
    t0 = time.perf_counter()
    try:
        with view:
            results = run_batch(tasks, opts, workers=args.workers, scheduler=args.scheduler, on_result=view.update)
    except SchedulerError as exc:
        err.print(f"error: {exc}", soft_wrap=True)
        return 2
    elapsed = time.perf_counter() - t0
    print_summary(Console(highlight=False), results, elapsed, out_dir,
                  where=args.scheduler or f"{len({r.worker for r in results if r.status in ('written', 'unchanged')}) or 1} "
                        "local worker process(es)")
    return 1 if any(r.failed for r in results) else 0


class ProgressView:
    """Rich progress bar: files done of total, samples and reps so far, failures."""

    def __init__(self, console, n_files: int) -> None:  # type: ignore[no-untyped-def]
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.samples = self.reps = self.failed = 0
        self.progress = Progress(
            TextColumn("files"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[samples]:,} samples  {task.fields[reps]:,} reps  {task.fields[failed]} failed"),
            TimeElapsedColumn(), console=console, transient=False,
        )
        self.task = self.progress.add_task("process", total=n_files, samples=0, reps=0, failed=0)

    def __enter__(self) -> ProgressView:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def update(self, r) -> None:  # type: ignore[no-untyped-def]
        self.samples += r.n_samples
        self.reps += r.n_reps
        self.failed += r.failed
        self.progress.update(self.task, advance=1, samples=self.samples, reps=self.reps, failed=self.failed)


def print_summary(console, results, elapsed_s: float, out_dir: Path, where: str) -> None:  # type: ignore[no-untyped-def]
    from collections import Counter

    from rich.table import Table

    per_file = [r for r in results if r.status != "ignored"]
    if len(per_file) <= 40:
        t = Table(title="inputs", title_justify="left")
        for col, just in (("file", "left"), ("status", "left"), ("session", "left"), ("samples", "right"),
                          ("sets", "right"), ("reps", "right")):
            t.add_column(col, justify=just)  # type: ignore[arg-type]
        for r in per_file:
            t.add_row(Path(r.path).name, r.status, r.session_id, f"{r.n_samples:,}", str(r.n_sets), str(r.n_reps))
        console.print(t)
    counts = Counter(r.status for r in results)
    ok = [r for r in results if r.status in ("written", "unchanged")]
    n_samples = sum(r.n_samples for r in ok)
    s = Table(title=f"summary -> {out_dir}", title_justify="left", show_header=False)
    s.add_column(justify="left")
    s.add_column(justify="right")
    s.add_row("inputs", f"{len(results):,}")
    for status in ("written", "unchanged", "duplicate", "failed", "ignored"):
        if counts.get(status):
            s.add_row(f"  {status}", f"{counts[status]:,}")
    s.add_row("sessions stored", f"{len(ok):,}")
    n_replaced = sum(1 for r in results if r.replaced)
    if n_replaced:
        s.add_row("old sessions removed (input changed)", f"{n_replaced:,}")
    s.add_row("samples", f"{n_samples:,}")
    s.add_row("sets", f"{sum(r.n_sets for r in ok):,}")
    s.add_row("reps", f"{sum(r.n_reps for r in ok):,}")
    s.add_row("time", f"{elapsed_s:.1f} s ({where})")
    done = [r for r in results if r.status == "written"]
    if done and elapsed_s > 0:
        s.add_row("throughput", f"{len(done) / elapsed_s:.1f} files/s, "
                                f"{sum(r.n_samples for r in done) / elapsed_s:,.0f} samples/s")
    console.print(s)
    noted = [r for r in results if r.notes]
    if noted:
        console.print(f"[yellow]{len(noted)} stored input(s) with notes:[/]")
        for r in noted[:20]:
            for note in r.notes:
                console.print(f"  {Path(r.path).name}: {note}", markup=False, highlight=False, soft_wrap=True)
        if len(noted) > 20:
            console.print(f"  ... and {len(noted) - 20} more (see quality_json in the sessions table)")
    failed = [r for r in results if r.failed]
    if failed:
        console.print(f"[bold red]{len(failed)} input(s) failed[/] (skipped; the others were stored):")
        for r in failed:
            where_ = f"{r.path}, line {r.line}" if r.line is not None else r.path
            console.print(f"  {where_}: {r.error}", markup=False, highlight=False, soft_wrap=True)
    ignored = [r for r in results if r.status == "ignored"]
    if ignored:
        console.print(f"{len(ignored)} file(s) ignored (not recordings): "
                      + ", ".join(Path(r.path).name for r in ignored[:5]) + (" ..." if len(ignored) > 5 else ""),
                      markup=False, highlight=False, soft_wrap=True)
