"""The unit of batch work: one input (file or MetaBase accel+gyro pair) -> one stored session.

:func:`process_input` is a plain top-level function of picklable arguments returning a
picklable :class:`FileResult`, so the same call runs in-process, in a spawned process pool or on
a Dask worker, and gives the same files. It never raises for a bad input: the failure is
isolated to its file and described in the result.
"""

from __future__ import annotations

import dataclasses
import os
import time
from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path
from typing import Any

from ..errors import InputError, RepsenseError
from ..types import SCHEMA_VERSION, Detection, Recording

__all__ = ["BatchOptions", "FileResult", "Task", "detect_in_chunks", "detector_version", "process_input", "warm_up"]

_DEFAULT_DETECTOR = "repsense.segment:detect"


@dataclass(frozen=True, slots=True)
class Task:
    """One input: ``path`` is what the reader opens, ``files`` every file the input is made of."""

    path: str
    files: tuple[str, ...]
    skip_reason: str | None = None
    explicit: bool = False  # named on the command line (a skip is then a failure)


@dataclass(frozen=True, slots=True)
class BatchOptions:
    """Everything a worker needs besides the task (picklable; no callables)."""

    out_dir: str
    participant: str | None = None  # already pseudonymised by the caller when requested
    sample_rate_hz: float | None = None
    detector: str = _DEFAULT_DETECTOR  # "module:function", imported on the worker
    samples_rows_per_part: int | None = None  # None: the store's default
    resume: bool = True
    detect_chunk_samples: int = 1_000_000  # longer recordings go through RepSegmenter in blocks
    stream_above_bytes: int = 256 << 20  # larger inputs are read block by block (bounded memory)
    stream_block_bytes: int = 1 << 24  # bytes of the file parsed at once when streaming (16 MiB)


@dataclass(frozen=True, slots=True)
class FileResult:
    """Outcome of one input.

    ``status``: ``written`` (processed and stored), ``unchanged`` (output already there from the
    same content and detector: skipped), ``ignored`` (not a recording, found in a folder),
    ``failed`` (reason in ``error``; ``line`` when known).
    """

    path: str
    status: str
    session_id: str = ""
    participant: str = ""
    n_samples: int = 0
    n_sets: int = 0
    n_reps: int = 0
    seconds: float = 0.0
    error: str = ""
    line: int | None = None
    worker: str = field(default="", compare=False)
    replaced: str = ""  # session id of this input's earlier content, removed from the store
    notes: tuple[str, ...] = ()  # what the user should know about a stored input (dropped rows, no clock)

    @property
    def failed(self) -> bool:
        return self.status == "failed"


def _load(spec: str) -> Any:
    module, _, attr = spec.partition(":")
    return getattr(import_module(module), attr)


def detector_version(detector: str = _DEFAULT_DETECTOR) -> str:
    """``DETECTOR_VERSION`` of the module holding ``detector`` (``""`` when it has none).

    Raises ImportError / AttributeError when the detector cannot be loaded.
    """
    _load(detector)
    module = import_module(detector.partition(":")[0])
    return str(getattr(module, "DETECTOR_VERSION", ""))


def detect_in_chunks(recording: Recording, chunk_samples: int) -> Detection:
    """:func:`repsense.segment.detect` on ``recording``, fed to ``RepSegmenter`` in blocks.

    Same result as ``detect(recording)`` (the segmenter's output does not depend on the
    chunking), but the detector's working arrays (float64 copies, resampled grid) are one
    block long instead of the whole recording.
    """
    import numpy as np

    from ..segment import DETECTOR_VERSION, RepSegmenter, detect

    n = len(recording.accel)
    if n <= chunk_samples:
        return detect(recording)
    t_s, accel_g = recording.accel.t_s, recording.accel.values
    d = np.diff(t_s)
    rate = float(1.0 / np.median(d, overwrite_input=True))  # as detect(): 1 / median interval
    del d
    seg = RepSegmenter(sample_rate_hz=rate)
    sets = []
    for lo in range(0, n, chunk_samples):
        sets += seg.update(t_s[lo:lo + chunk_samples], accel_g[lo:lo + chunk_samples])
    sets += seg.finish()
    return Detection(sets=tuple(sets), sample_rate_hz=rate, detector_version=DETECTOR_VERSION)


_INPUTS_DIR = "inputs"


def _input_key(task: Task) -> str:
    """Which input this is, independent of its content: a hash of its files' absolute paths."""
    import hashlib

    paths = "\n".join(str(Path(f).resolve()) for f in task.files)
    return hashlib.sha256(paths.encode()).hexdigest()[:32]


def _remember_input(task: Task, opts: BatchOptions, sid: str) -> str:
    """Record that this input now gives session ``sid``; drop the session of its old content.

    The old session is removed only when no other input of the store still maps to it (two
    files with the same bytes share a session). Returns the removed session id, or "".
    """
    import json

    from ..store import delete_session
    from ..store import MANIFEST_DIR, atomic_write_bytes

    index = Path(opts.out_dir) / MANIFEST_DIR / _INPUTS_DIR
    key = _input_key(task)
    entry = index / f"{key}.json"
    try:
        old = json.loads(entry.read_text()).get("session_id", "")
    except (FileNotFoundError, ValueError):
        old = ""
    if old == sid:
        return ""
    removed = ""
    if old:
        shared = False
        for other in index.glob("*.json"):
            if other.name == entry.name:
                continue
            try:
                if json.loads(other.read_text()).get("session_id") == old:
                    shared = True  # still the content of another input: keep it
                    break
            except (FileNotFoundError, ValueError):
                continue
        if not shared:
            delete_session(opts.out_dir, old)  # before the index moves on: a kill here is redone
            removed = old
    atomic_write_bytes((json.dumps({"session_id": sid}) + "\n").encode(), entry)
    return removed


def _expected_participant(task: Task, opts: BatchOptions) -> str | None:
    if opts.participant:
        return opts.participant
    if Path(task.path).suffix.lower() in (".parquet", ".pq"):
        return None  # the participant stored in the file comes back; not known before reading
    return "unknown"


def _is_done(task: Task, opts: BatchOptions, sha: str, sid: str, version: str) -> dict[str, Any] | None:
    from ..store import manifest_is_complete, read_manifest

    m = read_manifest(opts.out_dir, sid)
    if not m:
        return None
    want_participant = _expected_participant(task, opts)
    same = (
        m.get("source_sha256") == sha
        and m.get("detector_version") == version
        and m.get("schema_version") == SCHEMA_VERSION
        and (want_participant is None or m.get("participant") == want_participant)
        and (opts.samples_rows_per_part is None or m.get("samples_rows_per_part") == opts.samples_rows_per_part)
    )
    return m if same and manifest_is_complete(opts.out_dir, m) else None


def process_input(task: Task, opts: BatchOptions) -> FileResult:
    """Read, detect and store one input; skip it when its output is already there.

    Parameters
    ----------
    task : the input.
    opts : output folder, participant, rate, detector.

    Returns
    -------
    FileResult; never raises for a bad input (``status="failed"`` with the reason).
    """
    t_start = time.perf_counter()
    worker = f"{os.uname().nodename}:{os.getpid()}"

    def fail(message: str, line: int | None = None) -> FileResult:
        return FileResult(task.path, "failed", error=message, line=line,
                          seconds=time.perf_counter() - t_start, worker=worker)

    if task.skip_reason is not None:
        if task.explicit or task.skip_reason == "no such file or folder":
            return fail(task.skip_reason)
        return FileResult(task.path, "ignored", error=task.skip_reason, worker=worker)
    try:
        from ..store import SAMPLES_ROWS_PER_PART, combine_sha256, files_sha256, session_id_from_hash, write_session

        sha = files_sha256(task.files)
        sid = session_id_from_hash(sha)
        version = detector_version(opts.detector)
        detect = _load(opts.detector)
        if opts.resume:
            done = _is_done(task, opts, sha, sid, version)
            if done is not None:
                replaced = _remember_input(task, opts, sid)
                return FileResult(task.path, "unchanged", sid, done.get("participant", ""),
                                  int(done.get("n_samples", 0)), int(done.get("n_sets", 0)),
                                  int(done.get("n_reps", 0)), time.perf_counter() - t_start, worker=worker,
                                  replaced=replaced)

        if opts.detector == _DEFAULT_DETECTOR and _input_bytes(task) > opts.stream_above_bytes:
            streamed = _process_streamed(task, opts, sha, sid, version, t_start, worker)
            if streamed is not None:
                return streamed
            # None: the input cannot be streamed with the whole-file result: read it whole

        from ..io import read_recording

        rec = read_recording(task.path, sample_rate_hz=opts.sample_rate_hz,
                             participant=opts.participant, session_id=sid)
        meta = rec.meta
        read_digests = [str(meta.extra[k]) for k in ("source_sha256", "gyro_sha256") if meta.extra.get(k)]
        if len(read_digests) == len(task.files) and combine_sha256(read_digests) != sha:
            return fail("the input changed while it was being processed (still being copied?); run again")
        meta = dataclasses.replace(
            meta, session_id=sid, participant=opts.participant if opts.participant else meta.participant)
        rec = dataclasses.replace(rec, meta=meta)
        if opts.detector == _DEFAULT_DETECTOR:
            det = detect_in_chunks(rec, opts.detect_chunk_samples)
        else:
            det = detect(rec)
        if not det.detector_version:
            det = dataclasses.replace(det, detector_version=version)
        rows = opts.samples_rows_per_part or SAMPLES_ROWS_PER_PART
        paths = write_session(opts.out_dir, rec, det, source_sha256=sha, samples_rows_per_part=rows,
                              manifest_extra={"samples_rows_per_part": rows} if opts.samples_rows_per_part else None)
        replaced = _remember_input(task, opts, sid)
        return FileResult(task.path, "written", sid, paths.participant, len(rec.accel), len(det.sets),
                          int(det.n_reps), time.perf_counter() - t_start, worker=worker, replaced=replaced,
                          notes=_notes(rec.reports, rec.meta, task.path))
    except InputError as exc:
        msg = exc.reason
        if exc.offset is not None:
            msg = f"byte {exc.offset}: {msg}"
        if exc.path and Path(exc.path) != Path(task.path):  # e.g. the gyroscope partner
            msg = f"{exc.path}: {msg}"
        return fail(msg, exc.line)
    except RepsenseError as exc:
        return fail(str(exc))
    except OSError as exc:
        return fail(f"{exc.strerror or exc}" + (f" ({exc.filename})" if exc.filename else ""))
    except MemoryError:
        return fail("out of memory")
    except Exception as exc:  # a bug must not take the other files down; report it plainly
        return fail(f"internal error {type(exc).__name__}: {exc}")


_WARM = False


def warm_up() -> float:
    """Make this process ready for :func:`process_input`: imports and numba kernels loaded.

    A fresh worker process pays ~1 s of imports and ~1.5 s for its first input (numba loads
    every kernel from its on-disk cache on first call, and with it numba's own typing
    registries). This does it once, ahead of the real work, by processing a small generated
    generic CSV (reps in noise, 50 Hz) into a private temporary folder that is removed again:
    the same read, detect and store path a real input takes. Later calls return at once.

    Returns
    -------
    Seconds taken (0.0 when the process was already warm).
    """
    global _WARM
    if _WARM:
        return 0.0
    import shutil
    import tempfile

    import numpy as np

    t_start = time.perf_counter()
    rate_hz, n = 50.0, 4_500
    t_s = np.arange(n) / rate_hz
    accel_g = np.random.default_rng(0).normal(0.0, 0.02, (n, 3))
    accel_g[:, 2] += 1.0
    reps = (t_s >= 20.0) & (t_s < 60.0)  # ten 2.5 s reps of 0.5 g, then rest
    accel_g[reps, 2] += 0.5 * np.sin(2 * np.pi * 0.4 * t_s[reps])
    t_ns = 1_700_000_000_000_000_000 + np.round(t_s * 1e9).astype(np.int64)
    folder = tempfile.mkdtemp(prefix="repsense-warm-up-")
    try:
        path = os.path.join(folder, "warm_up.csv")
        with open(path, "w") as fh:
            fh.write("time_ns,ax,ay,az\n")
            fh.writelines(f"{t},{x:.5f},{y:.5f},{z:.5f}\n" for t, (x, y, z) in zip(t_ns.tolist(), accel_g.tolist()))
        result = process_input(Task(path=path, files=(path,)), BatchOptions(out_dir=os.path.join(folder, "out")))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if result.status != "written":  # pragma: no cover - would be a bug in the generated input
        raise RuntimeError(f"warm-up input was not processed: {result.status} {result.error}")
    _WARM = True
    return time.perf_counter() - t_start


def _notes(reports: Any, meta: Any, input_path: str) -> tuple[str, ...]:
    """What a stored recording's user should hear about: rows dropped, and a missing wall clock."""
    notes = []
    for report in reports:
        if report.n_dropped:
            why = ", ".join(f"{reason} {d.count}" for reason, d in report.dropped.items())
            which = "" if Path(report.source_file).name == Path(input_path).name else f"{Path(report.source_file).name}: "
            notes.append(f"{which}{report.n_dropped} of {report.n_rows} rows dropped ({why}); the reasons and "
                         "first lines are in the session's quality_json")
    if meta.extra.get("absolute_time") is False:
        notes.append("times are relative (no date in the file): the session is stored on 1970-01-01 and cannot "
                     "be joined with mood logs; export absolute times (epoch or ISO 8601) to fix")
    return tuple(notes)


def _input_bytes(task: Task) -> int:
    total = 0
    for f in task.files:
        try:
            total += os.path.getsize(f)
        except OSError:
            pass
    return total


def _process_streamed(task: Task, opts: BatchOptions, sha: str, sid: str, version: str, t_start: float,
                      worker: str) -> FileResult | None:
    """:func:`process_input` for a long input, read block by block (bounded memory).

    The reader's clean blocks go to disk as they come (:class:`repsense.store.SampleSpill`,
    nameless temporary files in the output folder); at the end the detector reads the
    accelerometer back in ``detect_chunk_samples`` blocks (it needs the whole recording's
    median sample interval first, known only once every block was read) and the session is
    written from the spill: the same files and bytes as the whole-file path. Returns None
    when the input cannot be streamed with the whole-file result (see
    :mod:`repsense.io._stream`); the caller then reads it whole. Raises what
    process_input maps to a failed result.
    """
    import numpy as np

    from ..io.chunked import NotStreamable, read_recording_chunked
    from ..segment import DETECTOR_VERSION, RepSegmenter, detect
    from ..store import SAMPLES_ROWS_PER_PART, combine_sha256
    from ..store.parquet import SampleSpill, write_session_streamed
    from ..types import Stream

    chunked = read_recording_chunked(task.path, sample_rate_hz=opts.sample_rate_hz, participant=opts.participant,
                                     session_id=sid, block_bytes=opts.stream_block_bytes)
    if chunked is None:
        return None
    accel = SampleSpill(opts.out_dir)
    gyro: SampleSpill | None = None
    try:
        try:
            for block in chunked:
                if block.stream == "accel":
                    accel.append(block.t_s, block.values)
                else:
                    if gyro is None:
                        gyro = SampleSpill(opts.out_dir)
                    gyro.append(block.t_s, block.values)
        except NotStreamable:
            return None
        meta = chunked.meta
        assert meta is not None and chunked.accel is not None
        read_digests = [str(meta.extra[k]) for k in ("source_sha256", "gyro_sha256") if meta.extra.get(k)]
        if len(read_digests) == len(task.files) and combine_sha256(read_digests) != sha:
            return FileResult(task.path, "failed", error="the input changed while it was being processed (still "
                              "being copied?); run again", seconds=time.perf_counter() - t_start, worker=worker)
        meta = dataclasses.replace(
            meta, session_id=sid, participant=opts.participant if opts.participant else meta.participant)
        if chunked.gyro is None and gyro is not None:  # a gyro stream without a kept sample
            gyro.close()
            gyro = None
        n = len(accel)
        if n <= opts.detect_chunk_samples:  # as detect_in_chunks: detect() on the whole (short) recording
            t_s, values = accel.rows(0, n)
            g = None if gyro is None else Stream(*gyro.rows(0, len(gyro)), unit="deg/s")
            det = detect(Recording(accel=Stream(t_s, values, "g"), meta=meta, gyro=g, reports=chunked.reports))
        else:  # as detect_in_chunks: the rate from the whole recording's median interval, then blocks
            rate = float(1.0 / chunked.accel.median_interval_s)
            seg = RepSegmenter(sample_rate_hz=rate)
            sets = []
            for lo in range(0, n, opts.detect_chunk_samples):
                sets += seg.update(*accel.rows(lo, lo + opts.detect_chunk_samples))
            sets += seg.finish()
            det = Detection(sets=tuple(sets), sample_rate_hz=rate, detector_version=DETECTOR_VERSION)
        if not det.detector_version:
            det = dataclasses.replace(det, detector_version=version)
        gyro_rate = None
        if gyro is not None and chunked.gyro is not None and len(gyro) >= 2:
            gyro_rate = float(1.0 / np.float64(chunked.gyro.median_interval_s))
        rows = opts.samples_rows_per_part or SAMPLES_ROWS_PER_PART
        paths = write_session_streamed(
            opts.out_dir, meta, chunked.reports, accel, gyro, det, source_sha256=sha, gyro_sample_rate_hz=gyro_rate,
            samples_rows_per_part=rows,
            manifest_extra={"samples_rows_per_part": rows} if opts.samples_rows_per_part else None)
        replaced = _remember_input(task, opts, sid)
        return FileResult(task.path, "written", sid, paths.participant, n, len(det.sets), int(det.n_reps),
                          time.perf_counter() - t_start, worker=worker, replaced=replaced,
                          notes=_notes(chunked.reports, meta, task.path))
    finally:
        accel.close()
        if gyro is not None:
            gyro.close()
