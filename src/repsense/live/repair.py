"""Finalise live sessions a crash left unfinished (``OUT/_live/*.open`` markers).

For each marker whose writer process is gone (a marker records its pid and host; a session
another live process on this machine is still writing is left alone; a zombie, exited but not
yet reaped, is gone: see :func:`writer_alive`): read every samples part written so far (each is whole: parts are written
atomically), run the batch detector on them, and write the sets, reps and sessions rows and
the manifest through the same writer a clean stop uses; then remove the marker. A marker whose
session never flushed a sample is removed and reported as empty.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import RepsenseError
from .writer import LIVE_DIR, LiveSessionWriter, SessionInfo

__all__ = ["RepairResult", "find_unfinished", "repair", "writer_alive"]


@dataclass(frozen=True, slots=True)
class RepairResult:
    session_id: str
    status: str  # "finalised", "empty", "running" (its writer is alive: left alone), "failed"
    n_samples: int = 0
    n_reps: int = 0
    message: str = ""


def find_unfinished(out_dir: str | os.PathLike) -> list[Path]:
    """Markers of unfinished live sessions under ``out_dir``."""
    d = Path(out_dir) / LIVE_DIR
    return sorted(d.glob("*.open")) if d.is_dir() else []


def _proc_stat(pid: int) -> tuple[str, float] | None:
    """(state letter, start time in UTC seconds) of a Linux process from ``/proc``; None when
    ``/proc`` cannot tell (no such process, or not Linux)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        btime = next(float(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines()
                     if line.startswith("btime "))
    except (OSError, StopIteration, ValueError, IndexError):
        return None
    fields = stat[stat.rfind(")") + 2:].split()  # the command name may hold spaces and ')'
    try:
        return fields[0], btime + int(fields[19]) / os.sysconf("SC_CLK_TCK")
    except (IndexError, ValueError, OSError):
        return None


def writer_alive(info: SessionInfo, marker: Path) -> bool:
    """True when the process that wrote ``marker`` still runs (and so may still be writing).

    :meth:`SessionInfo.writer_alive` already counts a **zombie** as dead (``os.kill(pid, 0)``
    succeeds on one, and ``timeout -s KILL`` leaves exactly that: the dead writer is reparented to
    PID 1 and stays a zombie until PID 1 reaps it). Here, in addition, a pid that was reused by a
    process started after the marker was last written (the writer rewrites it at every flush, so
    it was alive then) is not the writer.
    """
    if not info.writer_alive():
        return False
    st = _proc_stat(info.pid)
    if st is None:
        return True  # no /proc: fall back on the signal check
    _, start_s = st
    try:
        written_s = marker.stat().st_mtime
    except OSError:
        return True
    return start_s <= written_s + 2.0  # /proc/stat btime has 1 s resolution


def _repair_one(out: Path, marker: Path) -> RepairResult:
    from ..segment import detect
    from ..store import read_recording_parquet

    info = SessionInfo.from_json(json.loads(marker.read_text()))
    if writer_alive(info, marker):
        return RepairResult(info.session_id, "running",
                            message=f"still being written by process {info.pid}: left alone")
    # parts on disk (a part may have landed after the marker's last rewrite)
    writer = LiveSessionWriter(out, info)
    sdir = writer._dir("samples")
    parts = sorted(sdir.glob(f"{info.session_id}-part-*.parquet"))
    info.parts = [p.relative_to(out).as_posix() for p in parts]
    if not parts:
        marker.unlink(missing_ok=True)
        return RepairResult(info.session_id, "empty", message="no samples were flushed before the crash")
    rec = read_recording_parquet(parts[0])
    writer.n_rows["accel"] = len(rec.accel)
    writer.n_rows["gyro"] = 0 if rec.gyro is None else len(rec.gyro)
    t_ns = rec.meta.t0_utc_ns + np.round(rec.accel.t_s[[0, -1]] * 1e9).astype(np.int64)
    writer.first_ns["accel"], writer.last_ns["accel"] = int(t_ns[0]), int(t_ns[1])
    det = detect(rec)
    quality = dict(info.quality)
    quality["repaired"] = True
    writer.finalise(det, quality)
    return RepairResult(info.session_id, "finalised", len(rec.accel), int(det.n_reps))


def repair(out_dir: str | os.PathLike) -> list[RepairResult]:
    """Finalise every unfinished live session in ``out_dir``; one result per marker."""
    out = Path(out_dir)
    results = []
    for marker in find_unfinished(out):
        try:
            results.append(_repair_one(out, marker))
        except (RepsenseError, OSError, ValueError, KeyError) as exc:
            results.append(RepairResult(marker.stem, "failed", message=f"{type(exc).__name__}: {exc}"))
    return results
