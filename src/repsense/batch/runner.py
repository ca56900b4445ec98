"""Run :func:`~repsense.batch.work.process_input` over many inputs: in-process, on a spawned
process pool (one machine), or on a Dask distributed cluster (``repsense[dask]``).

The executor only decides *where* each input runs; the work and the files it writes are the
same, so the dataset is identical whatever the workers. Results come back as they complete
(``on_result`` drives a progress bar) and are returned in input order.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace
from pathlib import Path

from ..errors import RepsenseError
from .work import BatchOptions, FileResult, Task, process_input

__all__ = ["SchedulerError", "default_workers", "make_tasks", "run_batch"]


#: With the default worker count, less input than this runs in-process: starting worker
#: processes (imports, numba cache) costs more than it saves.
SMALL_BATCH_BYTES = 16 * 2**20


def _input_bytes(tasks: Iterable[Task]) -> int:
    total = 0
    for t in tasks:
        for f in t.files:
            with contextlib.suppress(OSError):
                total += os.stat(f).st_size
    return total


class SchedulerError(RepsenseError, ValueError):
    """A ``--scheduler`` value cannot be used (bad form, Dask missing, cluster unreachable)."""


def default_workers() -> int:
    """Cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def make_tasks(paths: Sequence[str | os.PathLike]) -> list[Task]:
    """Expand files and folders with :func:`repsense.io.iter_recording_files` into tasks."""
    from ..io import iter_recording_files

    named = {Path(p).resolve() for p in paths if not Path(p).is_dir()}
    tasks = []
    for item in iter_recording_files(paths):
        tasks.append(Task(
            path=str(item.path),
            files=tuple(str(f) for f in item.files),
            skip_reason=item.skip_reason,
            explicit=item.path.resolve() in named,
        ))
    return tasks


def _mark_duplicates(results: list[FileResult]) -> list[FileResult]:
    """Inputs with identical content map to one session: keep the first, flag the others."""
    first: dict[str, str] = {}
    out = []
    for r in results:
        if r.session_id and r.status in ("written", "unchanged"):
            if r.session_id in first:
                r = replace(r, status="duplicate", error=f"same content as {first[r.session_id]}")
            else:
                first[r.session_id] = r.path
        out.append(r)
    return out


def run_batch(
    tasks: Sequence[Task],
    opts: BatchOptions,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    on_result: Callable[[FileResult], None] | None = None,
    client: object | None = None,
) -> list[FileResult]:
    """Process every task; return one FileResult per task, in task order.

    Parameters
    ----------
    tasks : from :func:`make_tasks`.
    opts : output folder and per-file options.
    workers : local worker processes (default: all cores, or 1 when the inputs total less than
        :data:`SMALL_BATCH_BYTES`; 1 = in this process). Ignored with ``scheduler``.
    scheduler : Dask scheduler: ``tcp://HOST:PORT`` (or ``tls://``), a scheduler JSON file,
        or ``local:N`` for a local cluster of N worker processes.
    on_result : called in this process with each result as it completes.
    client : an existing ``distributed.Client`` to use instead of ``scheduler``.

    Raises
    ------
    SchedulerError : bad ``scheduler`` or Dask missing.
    """
    tasks = list(tasks)
    results: list[FileResult | None] = [None] * len(tasks)

    def done(i: int, r: FileResult) -> None:
        results[i] = r
        if on_result is not None:
            on_result(r)

    # Entries that are not recordings need no worker.
    todo = []
    for i, t in enumerate(tasks):
        if t.skip_reason is not None:
            done(i, process_input(t, opts))
        else:
            todo.append(i)

    if scheduler or client is not None:
        from .dask import run_on_dask

        run_on_dask(scheduler or "", [tasks[i] for i in todo], opts, lambda k, r: done(todo[k], r), client=client)
    else:
        if workers is None:
            n = default_workers() if _input_bytes(tasks[i] for i in todo) >= SMALL_BATCH_BYTES else 1
        else:
            n = workers
        if n < 1:
            raise ValueError(f"workers must be >= 1, got {n}")
        n = min(n, len(todo)) or 1
        if n == 1:
            for i in todo:
                done(i, process_input(tasks[i], opts))
        else:
            _run_pool(n, [(i, tasks[i]) for i in todo], opts, done)
    return _mark_duplicates([r for r in results if r is not None])


def _ignore_sigint() -> None:
    """Pool worker initializer: Ctrl-C is the parent's to handle (no traceback per worker)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _stop_workers(pool: ProcessPoolExecutor) -> None:
    """Stop a pool now (Ctrl-C): pending work is cancelled and running workers terminated.

    Safe for the dataset: every file is written atomically, so a terminated worker leaves at
    most a hidden temp file, and a rerun resumes.
    """
    procs = list((getattr(pool, "_processes", None) or {}).values())
    for proc in procs:
        with contextlib.suppress(Exception):
            proc.kill()
    pool.shutdown(wait=False, cancel_futures=True)


def _run_pool(n: int, items: Iterable[tuple[int, Task]], opts: BatchOptions,
              done: Callable[[int, FileResult], None], max_attempts: int = 3) -> None:
    """Spawned process pool (no fork: safe with threads, numba and BLAS), bounded in-flight work.

    A worker process that dies (killed, out of memory, crash in native code) breaks the pool,
    and every input then in flight is suspect. Suspects are retried one at a time on a fresh
    pool, so the input that kills its worker is found: it is reported failed after
    ``max_attempts`` deaths; the others are stored as usual.
    """
    queue = [(i, t) for i, t in items]
    queue.reverse()  # pop() from the end keeps input order
    suspects: list[tuple[int, Task, int]] = []  # (index, task, deaths so far)
    ctx = multiprocessing.get_context("spawn")
    max_in_flight = 4 * n

    def died(i: int, t: Task, deaths: int) -> None:
        if deaths >= max_attempts:
            done(i, FileResult(t.path, "failed", error=(
                f"worker process died {deaths} times on this input (killed, out of memory or a crash); "
                "run again to retry")))
        else:
            suspects.append((i, t, deaths))

    while queue or suspects:
        with ProcessPoolExecutor(max_workers=n, mp_context=ctx, initializer=_ignore_sigint) as pool:
            pending: dict[Future, tuple[int, Task, int]] = {}
            solo = False
            try:
                while True:
                    if suspects:
                        if not pending:  # a suspect runs alone, so a death points at it
                            i, t, deaths = suspects.pop(0)
                            pending[pool.submit(process_input, t, opts)] = (i, t, deaths)
                            solo = True
                    else:
                        solo = False
                        while queue and len(pending) < max_in_flight:
                            i, t = queue.pop()
                            pending[pool.submit(process_input, t, opts)] = (i, t, 0)
                    if not pending:
                        break
                    finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                    broken = False
                    for fut in finished:
                        i, t, deaths = pending.pop(fut)
                        exc = fut.exception()
                        if exc is None:
                            done(i, fut.result())
                        elif isinstance(exc, BrokenProcessPool):
                            broken = True
                            died(i, t, deaths + 1 if solo else max(deaths, 1))
                        else:  # pragma: no cover - process_input catches everything else
                            done(i, FileResult(t.path, "failed", error=f"internal error {type(exc).__name__}: {exc}"))
                    if broken:
                        for fut, (i, t, deaths) in list(pending.items()):
                            died(i, t, max(deaths, 1))  # was in flight: suspect, not charged alone
                        pending.clear()
                        break  # a broken pool takes no more work: start a fresh one
            except BaseException:
                _stop_workers(pool)
                raise
