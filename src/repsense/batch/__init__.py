"""Batch processing: many recordings -> the Parquet store, in parallel, resumable.

``run_batch(make_tasks(paths), BatchOptions(out_dir=...), workers=N | scheduler=...)``; the
per-input work is :func:`~repsense.batch.work.process_input`. See ``docs/BATCH.md``.
"""

from __future__ import annotations

from .runner import SchedulerError, default_workers, make_tasks, run_batch
from .work import BatchOptions, FileResult, Task, detect_in_chunks, detector_version, process_input

__all__ = [
    "BatchOptions",
    "FileResult",
    "SchedulerError",
    "Task",
    "default_workers",
    "detect_in_chunks",
    "detector_version",
    "make_tasks",
    "process_input",
    "run_batch",
]
