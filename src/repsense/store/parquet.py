"""Write and read the Hive-partitioned Parquet session store.

Layout (see ``docs/SCHEMA.md``)::

    OUT/<table>/participant=<P>/date=<YYYY-MM-DD>/<session_id>[-part-NNNNN].parquet
    OUT/_manifest/<session_id>.json      # what a session wrote, from which input and detector

Every file is written to a hidden ``.<name>.<host>.<pid>.<random>.tmp`` file in its final folder,
fsynced, then renamed over the final name (``os.replace``), and the folder is fsynced. A crash
leaves at most a hidden ``*.tmp`` file that pyarrow (names starting with ``.`` or ``_`` are
ignored), DuckDB and polars (``*.parquet`` globs) never read, and that the next write of the
same file removes. Nothing written depends on the wall clock, so the same input gives the same
bytes.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import secrets
import socket
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from ..errors import EmptyRecordingError, FormatError, RepsenseError, SchemaError
from ..types import (
    SCHEMA_VERSION,
    Detection,
    DropReason,
    ReadReport,
    Recording,
    RecordingMeta,
    RepSet,
    Stream,
)
from .paths import (
    UNKNOWN_PARTICIPANT,
    arrays_sha256,
    check_session_id,
    combine_sha256,
    partition_dir,
    session_id_from_hash,
)
from .schema import STREAM_UNITS, TABLES, check_schema, schema_for

__all__ = [
    "MANIFEST_DIR",
    "delete_session",
    "SAMPLES_ROWS_PER_PART",
    "SampleSpill",
    "SessionPaths",
    "atomic_write_table",
    "read_manifest",
    "read_recording_parquet",
    "read_sessions",
    "reps_table",
    "sets_table",
    "write_session",
    "write_session_streamed",
]

#: Rows of the samples table per file; longer sessions are split into ``-part-NNNNN`` files,
#: built and written one at a time (memory bounded by one part, not by the session).
SAMPLES_ROWS_PER_PART = 4_000_000
_ROW_GROUP_ROWS = 1_000_000
_ZSTD_LEVEL = 3
MANIFEST_DIR = "_manifest"

Pseudonymiser = Callable[[str], str]


@dataclass(frozen=True, slots=True)
class SessionPaths:
    """Files written for one session (absolute or relative to the caller's ``out_dir``)."""

    session_id: str
    participant: str
    date: str
    sessions: Path
    sets: Path
    reps: Path
    samples: tuple[Path, ...]
    manifest: Path

    @property
    def all(self) -> tuple[Path, ...]:
        return (self.sessions, self.sets, self.reps, *self.samples)


# --------------------------------------------------------------------------- atomic I/O


def _mkdirs_private(path: Path) -> None:
    """Create ``path`` and missing parents with mode 0700 (existing folders are left alone)."""
    missing = []
    p = path
    while not p.exists():
        missing.append(p)
        if p.parent == p:
            break
        p = p.parent
    for d in reversed(missing):
        try:
            os.mkdir(d, 0o700)
        except FileExistsError:
            continue
        os.chmod(d, 0o700)  # mkdir's mode is filtered by the umask; be explicit


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):  # some file systems refuse fsync on a folder
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _host() -> str:
    return "".join(c if c.isalnum() or c == "-" else "-" for c in socket.gethostname())[:64] or "host"


def pid_alive(pid: int) -> bool:
    """True when process ``pid`` runs on this host (a zombie, exited but not yet reaped, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    # os.kill succeeds on a zombie: where /proc tells, a Z (or dying X) state is a dead process
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat[stat.rfind(")") + 2:].split()[:1] not in (["Z"], ["X"], ["x"])


def _remove_stale_tmp(path: Path) -> None:
    """Remove hidden temp files that a dead writer on this host left for ``path``.

    Temp files are named ``.<name>.<host>.<pid>.<random>.tmp``; one of a live process (another
    worker writing the same session right now) or of another host (shared file system) is left
    alone. Readers ignore temp files in any case.
    """
    host = _host()
    for tmp in path.parent.glob(f".{path.name}.*.tmp"):
        parts = tmp.name[len(path.name) + 2:-4].rsplit(".", 2)
        if len(parts) != 3 or parts[0] != host or not parts[1].isdigit():
            continue
        if int(parts[1]) != os.getpid() and pid_alive(int(parts[1])):
            continue
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


@contextlib.contextmanager
def _atomic_target(path: Path) -> Iterator[Path]:
    """Yield a private temp path next to ``path``; on success fsync it and rename it over ``path``."""
    _mkdirs_private(path.parent)
    _remove_stale_tmp(path)
    tmp = path.parent / f".{path.name}.{_host()}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)
    try:
        yield tmp
        os.chmod(tmp, 0o600)
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    _fsync_dir(path.parent)


def atomic_write_table(table: pa.Table, path: str | os.PathLike, *, row_group_rows: int = _ROW_GROUP_ROWS) -> Path:
    """Write ``table`` to ``path`` as zstd Parquet, atomically, mode 0600.

    The bytes depend only on the table (schema, metadata, values) and the pyarrow version: no
    write time is recorded. Missing folders are created with mode 0700.

    Parameters
    ----------
    table : pyarrow.Table to write (its schema metadata is kept).
    path : final file name; a hidden ``.<name>.*.tmp`` file in the same folder is written first.
    row_group_rows : rows per Parquet row group.

    Returns
    -------
    The final path.
    """
    path = Path(path)
    with _atomic_target(path) as tmp:
        pq.write_table(
            table,
            tmp,
            compression="zstd",
            compression_level=_ZSTD_LEVEL,
            row_group_size=row_group_rows,
            write_page_checksum=True,
        )
    return path


def atomic_write_bytes(data: bytes, path: Path) -> None:
    with _atomic_target(path) as tmp, open(tmp, "wb") as fh:
        fh.write(data)


# --------------------------------------------------------------------------- building tables


def _ns(t0_utc_ns: int, t_s: np.ndarray | float) -> np.ndarray:
    """Absolute int64 ns UTC from seconds relative to ``t0_utc_ns`` (rounded to the nearest ns)."""
    return np.int64(t0_utc_ns) + np.round(np.asarray(t_s, dtype=np.float64) * 1e9).astype(np.int64)


def _ts(values: np.ndarray) -> pa.Array:
    return pa.array(np.asarray(values, dtype=np.int64), type=pa.int64()).cast(pa.timestamp("ns", tz="UTC"))


def _basename(name: str) -> str:
    parts = [p for p in str(name).replace("\\", "/").split(";") if p]
    return ";".join(p.rstrip("/").rsplit("/", 1)[-1] for p in parts)


def _quality_of(reports: Iterable[ReadReport]) -> str:
    files = []
    for r in reports:
        files.append({
            "source_file": _basename(r.source_file),
            "n_rows": int(r.n_rows),
            "n_kept": int(r.n_kept),
            "dropped": {k: {"count": int(v.count), "first_lines": [int(x) for x in v.first_lines]}
                        for k, v in sorted(r.dropped.items())},
            "gaps": [[float(a), float(b)] for a, b in r.gaps],
        })
    return json.dumps({"files": files}, sort_keys=True, separators=(",", ":"), allow_nan=True)


def _reports_from_quality(text: str) -> tuple[ReadReport, ...]:
    data = json.loads(text) if text else {"files": []}
    return tuple(
        ReadReport(
            source_file=f["source_file"],
            n_rows=f["n_rows"],
            n_kept=f["n_kept"],
            dropped={k: DropReason(v["count"], tuple(v["first_lines"])) for k, v in f["dropped"].items()},
            gaps=tuple((float(a), float(b)) for a, b in f["gaps"]),
        )
        for f in data.get("files", [])
    )


def _reader_sha256(meta: RecordingMeta) -> str:
    """The input hash from what :mod:`repsense.io` recorded (per-file digests in ``extra``)."""
    digests = [str(meta.extra[k]) for k in ("source_sha256", "gyro_sha256") if meta.extra.get(k)]
    return combine_sha256(digests) if digests else ""


def _portable_extra(extra: dict[str, Any]) -> dict[str, Any]:
    """Reader extras without folders of this machine: paths reduced to their file names."""
    out = {}
    for k, v in extra.items():
        if k in ("source_sha256", "gyro_sha256"):
            continue
        if isinstance(v, os.PathLike) or (isinstance(v, str) and (k.endswith(("file", "path")) and "/" in v)):
            v = _basename(os.fspath(v))
        out[k] = _jsonable(v)
    return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


def _constant(value: str, n: int) -> pa.Array:
    return pa.array([value] * n, type=pa.string()) if n < 64 else pa.repeat(pa.scalar(value, pa.string()), n)


def _table(name: str, columns: dict[str, Any], extra_metadata: dict[str, str] | None = None) -> pa.Table:
    schema = schema_for(name, extra_metadata)
    arrays = []
    for field in schema:
        col = columns[field.name]
        arrays.append(col if isinstance(col, pa.Array) else pa.array(col, type=field.type))
    return pa.Table.from_arrays(arrays, schema=schema)


def sets_table(session_id: str, participant: str, t0: int, sets: Sequence[RepSet]) -> pa.Table:
    """The ``sets`` table rows of one session's sets (times relative to ``t0`` ns UTC)."""
    n = len(sets)
    start_s = np.array([s.start_s for s in sets], dtype=np.float64)
    end_s = np.array([s.end_s for s in sets], dtype=np.float64)
    return _table("sets", {
        "session_id": [session_id] * n,
        "participant": [participant] * n,
        "set_index": np.arange(n, dtype=np.int32),
        "start_utc": _ts(_ns(t0, start_s)),
        "end_utc": _ts(_ns(t0, end_s)),
        "start_s": start_s,
        "end_s": end_s,
        "n_reps": np.array([s.n_reps for s in sets], dtype=np.int32),
        "tut_s": np.array([s.tut_s for s in sets], dtype=np.float64),
        "eccentric_s": np.array([s.eccentric_s for s in sets], dtype=np.float64),
        "concentric_s": np.array([s.concentric_s for s in sets], dtype=np.float64),
        "pause_s": np.array([s.pause_s for s in sets], dtype=np.float64),
        "mean_tempo_s": np.array([s.mean_tempo_s for s in sets], dtype=np.float64),
        "concentric_slowdown": np.array([s.concentric_slowdown for s in sets], dtype=np.float64),
        "n_reps_in_gaps": np.array([s.n_reps_in_gaps for s in sets], dtype=np.int32),
    })


def reps_table(session_id: str, participant: str, t0: int, sets: Sequence[RepSet]) -> pa.Table:
    """The ``reps`` table rows of one session's sets (times relative to ``t0`` ns UTC)."""
    rows = [(i, j, r) for i, s in enumerate(sets) for j, r in enumerate(s.reps)]
    n = len(rows)
    start_s = np.array([r.start_s for _, _, r in rows], dtype=np.float64)
    end_s = np.array([r.end_s for _, _, r in rows], dtype=np.float64)
    return _table("reps", {
        "session_id": [session_id] * n,
        "participant": [participant] * n,
        "set_index": np.array([i for i, _, _ in rows], dtype=np.int32),
        "rep_index": np.array([j for _, j, _ in rows], dtype=np.int32),
        "start_utc": _ts(_ns(t0, start_s)),
        "end_utc": _ts(_ns(t0, end_s)),
        "start_s": start_s,
        "end_s": end_s,
        "eccentric_s": np.array([r.eccentric_s for _, _, r in rows], dtype=np.float64),
        "concentric_s": np.array([r.concentric_s for _, _, r in rows], dtype=np.float64),
        "pause_s": np.array([r.pause_s for _, _, r in rows], dtype=np.float64),
        "concentric_first": pa.array([bool(r.concentric_first) for _, _, r in rows], type=pa.bool_()),
    })


class _StreamRows:
    """Row ranges of an in-memory :class:`~repsense.types.Stream` (a samples row source)."""

    def __init__(self, stream: Stream) -> None:
        self.stream = stream

    def __len__(self) -> int:
        return len(self.stream)

    def rows(self, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
        return self.stream.t_s[lo:hi], self.stream.values[lo:hi]


def _row_sources(rec: Recording) -> list[tuple[str, Any]]:
    return [("accel", _StreamRows(rec.accel))] + ([("gyro", _StreamRows(rec.gyro))] if rec.gyro is not None else [])


def _samples_rows(session_id: str, participant: str, t0: int, streams: list[tuple[str, Any]], lo: int, hi: int,
                  file_meta: dict[str, str]) -> pa.Table:
    """Rows ``lo``..``hi`` of the session's samples table (accel rows first, then gyro)."""
    pieces = []
    off = 0
    for name, stream in streams:
        a, b = max(lo - off, 0), min(hi - off, len(stream))
        off += len(stream)
        if a >= b:
            continue
        t_s, vals = stream.rows(a, b)
        n = b - a
        pieces.append(_table("samples", {
            "session_id": _constant(session_id, n),
            "participant": _constant(participant, n),
            "stream": _constant(name, n),
            "t_utc": _ts(_ns(t0, t_s)),
            "x": pa.array(np.ascontiguousarray(vals[:, 0], dtype=np.float32), type=pa.float32()),
            "y": pa.array(np.ascontiguousarray(vals[:, 1], dtype=np.float32), type=pa.float32()),
            "z": pa.array(np.ascontiguousarray(vals[:, 2], dtype=np.float32), type=pa.float32()),
        }, file_meta))
    return pieces[0] if len(pieces) == 1 else pa.concat_tables(pieces).combine_chunks()


_META_DIGEST = "repsense.meta_sha256"


def _meta_digest(meta: dict[str, str] | dict[bytes, bytes]) -> str:
    """sha256 of the ``repsense.*`` file metadata (Parquet checksums cover data pages, not the footer)."""
    import hashlib

    items = sorted((k if isinstance(k, bytes) else k.encode(), v if isinstance(v, bytes) else v.encode())
                   for k, v in meta.items())
    h = hashlib.sha256()
    for k, v in items:
        if k.startswith(b"repsense.") and k != _META_DIGEST.encode():
            h.update(len(k).to_bytes(4, "little") + k + len(v).to_bytes(4, "little") + v)
    return h.hexdigest()


def _write_samples_part(path: Path, session_id: str, participant: str, t0: int, streams: list[tuple[str, Any]],
                        lo: int, hi: int, file_meta: dict[str, str]) -> Path:
    """Write rows ``lo``..``hi`` as one file, one row group at a time (memory: one row group)."""
    full = {k.decode(): v.decode() for k, v in schema_for("samples", file_meta).metadata.items()
            if k.startswith(b"repsense.")}
    file_meta = {**file_meta, _META_DIGEST: _meta_digest(full)}
    schema = schema_for("samples", file_meta)
    with _atomic_target(path) as tmp:
        with pq.ParquetWriter(tmp, schema, compression="zstd", compression_level=_ZSTD_LEVEL,
                              write_page_checksum=True) as writer:
            for g in range(lo, hi, _ROW_GROUP_ROWS):
                rows = _samples_rows(session_id, participant, t0, streams, g, min(hi, g + _ROW_GROUP_ROWS), file_meta)
                writer.write_table(rows, row_group_size=_ROW_GROUP_ROWS)
                del rows
    return path


# --------------------------------------------------------------------------- manifest


def read_manifest(out_dir: str | os.PathLike, session_id: str) -> dict[str, Any] | None:
    """The manifest of ``session_id`` in ``out_dir``, or None when absent or unreadable."""
    path = Path(out_dir) / MANIFEST_DIR / f"{check_session_id(session_id)}.json"
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return None


def manifest_is_complete(out_dir: str | os.PathLike, manifest: dict[str, Any]) -> bool:
    """True when every file a manifest lists exists."""
    return all((Path(out_dir) / p).is_file() for p in manifest.get("files", []))


def delete_session(out_dir: str | os.PathLike, session_id: str) -> list[Path]:
    """Remove every file the manifest of ``session_id`` lists, then the manifest.

    Only ``*.parquet`` files inside ``out_dir`` are removed. Returns the files removed (empty
    when the session has no manifest).
    """
    out = Path(out_dir)
    m = read_manifest(out, session_id)
    if m is None:
        return []
    removed = []
    root = out.resolve()
    for rel in m.get("files", []):
        p = (out / rel).resolve()
        if root in p.parents and p.suffix == ".parquet":
            with contextlib.suppress(FileNotFoundError):
                p.unlink()
                removed.append(p)
    with contextlib.suppress(FileNotFoundError):
        (out / MANIFEST_DIR / f"{check_session_id(session_id)}.json").unlink()
    return removed


# --------------------------------------------------------------------------- write


def write_session(
    out_dir: str | os.PathLike,
    recording: Recording,
    detection: Detection,
    *,
    source_sha256: str | None = None,
    pseudonymize: Pseudonymiser | None = None,
    samples_rows_per_part: int = SAMPLES_ROWS_PER_PART,
    manifest_extra: dict[str, Any] | None = None,
) -> SessionPaths:
    """Write one session (samples, reps, sets, sessions rows) into the dataset at ``out_dir``.

    Atomic per file and idempotent: the same recording and detection give the same file names
    and bytes, and replace what an earlier run wrote. The sessions file and the manifest
    (``OUT/_manifest/<session_id>.json``) are written last, so a session with a sessions row
    has all its other files. Files an earlier write of the same session listed but this one
    does not (e.g. fewer sample parts) are removed.

    Parameters
    ----------
    out_dir : dataset root.
    recording : the samples and metadata; ``meta.t0_utc_ns`` anchors every ``*_s`` time.
    detection : sets and reps found in ``recording`` (times on the recording's time base).
    source_sha256 : content hash of the input file(s) (batch; see
        :func:`repsense.store.files_sha256`). Default: combined from the per-file digests
        :mod:`repsense.io` leaves in ``meta.extra``, else a hash of the sample arrays.
    pseudonymize : optional ``str -> str`` applied to ``meta.participant`` before it is stored
        (e.g. a keyed hash). Not applied to an empty id, which is stored as ``unknown``.
    samples_rows_per_part : rows per samples file; more rows give ``-part-NNNNN`` files.
    manifest_extra : JSON-able items added to the manifest (e.g. what the batch needs to resume).

    Returns
    -------
    SessionPaths of the files written.

    Raises
    ------
    EmptyRecordingError : the recording has no accelerometer sample.
    SchemaError : ``meta.session_id`` is not usable as a file name.
    """
    out = Path(out_dir)
    meta = recording.meta
    participant = _checked_participant(meta, len(recording.accel), pseudonymize, samples_rows_per_part)
    sha = source_sha256 or _reader_sha256(meta) or arrays_sha256(
        np.array([meta.t0_utc_ns], dtype=np.int64), recording.accel.t_s, recording.accel.values,
        None if recording.gyro is None else recording.gyro.t_s,
        None if recording.gyro is None else recording.gyro.values,
    )
    gyro = recording.gyro
    return _write_session(
        out, meta, recording.reports, _row_sources(recording), detection, sha=sha, participant=participant,
        accel_first_last_s=(float(recording.accel.t_s[0]), float(recording.accel.t_s[-1])),
        gyro_sample_rate_hz=None if gyro is None or len(gyro) < 2 else float(gyro.sample_rate_hz),
        samples_rows_per_part=samples_rows_per_part, manifest_extra=manifest_extra)


def _checked_participant(meta: RecordingMeta, n_accel: int, pseudonymize: Pseudonymiser | None,
                         samples_rows_per_part: int) -> str:
    """The participant id to store (pseudonymised when asked), after the checks both writers make.

    Raises
    ------
    EmptyRecordingError : no accelerometer sample. ValueError : ``samples_rows_per_part`` < 1.
    """
    if n_accel == 0:
        raise EmptyRecordingError("no accelerometer sample to store", path=meta.source_file or None)
    if samples_rows_per_part < 1:
        raise ValueError(f"samples_rows_per_part must be >= 1, got {samples_rows_per_part}")
    participant = meta.participant
    if participant and pseudonymize is not None:
        participant = str(pseudonymize(participant))
    return participant or UNKNOWN_PARTICIPANT


def _write_session(out: Path, meta: RecordingMeta, reports: tuple[ReadReport, ...], streams: list[tuple[str, Any]],
                   detection: Detection, *, sha: str, participant: str, accel_first_last_s: tuple[float, float],
                   gyro_sample_rate_hz: float | None, samples_rows_per_part: int,
                   manifest_extra: dict[str, Any] | None) -> SessionPaths:
    """The files of one session from its row sources (``streams``: accel first, then gyro)."""
    session_id = check_session_id(meta.session_id) if meta.session_id else session_id_from_hash(sha)
    t0 = int(meta.t0_utc_ns)
    accel_ns = _ns(t0, np.array(accel_first_last_s, dtype=np.float64))
    start_ns, end_ns = int(accel_ns[0]), int(accel_ns[1])
    date = (_dt.datetime(1970, 1, 1) + _dt.timedelta(microseconds=start_ns // 1000)).date().isoformat()
    quality = _quality_of(reports)

    file_meta = {
        "repsense.session_id": session_id,
        "repsense.t0_utc_ns": str(t0),
        "repsense.recording_meta": json.dumps(
            {
                "device_kind": meta.device_kind,
                "firmware": meta.firmware,
                "source_file": _basename(meta.source_file),
                "participant": participant,
                "session_id": session_id,
                "extra": _portable_extra(meta.extra),
            },
            sort_keys=True, separators=(",", ":"),
        ),
        "repsense.quality_json": quality,
        "repsense.units": json.dumps(STREAM_UNITS, sort_keys=True),
    }

    dirs = {t: partition_dir(out, t, participant, date) for t in TABLES}
    old = read_manifest(out, session_id)

    # samples first (largest, built one part at a time), then reps, sets, sessions, manifest.
    sample_paths = []
    total = sum(len(src) for _, src in streams)
    n_parts = max(1, -(-total // samples_rows_per_part))
    for k in range(n_parts):
        name = f"{session_id}.parquet" if n_parts == 1 else f"{session_id}-part-{k:05d}.parquet"
        lo, hi = k * samples_rows_per_part, min(total, (k + 1) * samples_rows_per_part)
        sample_paths.append(_write_samples_part(dirs["samples"] / name, session_id, participant, t0, streams,
                                                lo, hi, {**file_meta, "repsense.part": f"{k}/{n_parts}"}))

    reps_path = atomic_write_table(reps_table(session_id, participant, t0, detection.sets),
                                   dirs["reps"] / f"{session_id}.parquet")
    sets_path = atomic_write_table(sets_table(session_id, participant, t0, detection.sets),
                                   dirs["sets"] / f"{session_id}.parquet")

    n_accel = len(streams[0][1])
    n_gyro = sum(len(src) for name, src in streams if name == "gyro")
    sessions = _table("sessions", {
        "session_id": [session_id],
        "participant": [participant],
        "start_utc": _ts(np.array([start_ns])),
        "end_utc": _ts(np.array([end_ns])),
        "t0_utc": _ts(np.array([t0])),
        "device_kind": [meta.device_kind],
        "firmware": [meta.firmware],
        "source_file": [_basename(meta.source_file)],
        "source_sha256": [sha],
        "detector_version": [detection.detector_version],
        "sample_rate_hz": [float(detection.sample_rate_hz)],
        "gyro_sample_rate_hz": [gyro_sample_rate_hz],
        "n_samples": [n_accel],
        "n_gyro_samples": [n_gyro],
        "n_dropped": [int(sum(r.n_dropped for r in reports))],
        "n_sets": [len(detection.sets)],
        "n_reps": [int(detection.n_reps)],
        "tut_s": [float(sum(s.tut_s for s in detection.sets))],
        "quality_json": [quality],
    }, {"repsense.session_id": session_id})
    sessions_path = atomic_write_table(sessions, dirs["sessions"] / f"{session_id}.parquet")

    written = [sessions_path, sets_path, reps_path, *sample_paths]
    rel = sorted(p.relative_to(out).as_posix() for p in written)
    manifest_path = out / MANIFEST_DIR / f"{session_id}.json"
    manifest = {
        "session_id": session_id,
        "participant": participant,
        "date": date,
        "source_sha256": sha,
        "detector_version": detection.detector_version,
        "schema_version": SCHEMA_VERSION,
        "files": rel,
        "n_samples": n_accel,
        "n_sets": len(detection.sets),
        "n_reps": int(detection.n_reps),
        **(manifest_extra or {}),
    }
    # Files of an earlier write of this session that this one did not produce (other partition,
    # fewer parts) go before the new manifest replaces the old one: killed in between, the old
    # manifest still lists them and the next run cleans up.
    if old:
        for stale in sorted(set(old.get("files", [])) - set(rel)):
            p = (out / stale).resolve()
            if out.resolve() in p.parents and p.suffix == ".parquet":
                with contextlib.suppress(FileNotFoundError):
                    p.unlink()
    atomic_write_bytes((json.dumps(manifest, sort_keys=True, indent=1) + "\n").encode(), manifest_path)

    return SessionPaths(session_id, participant, date, sessions_path, sets_path, reps_path,
                        tuple(sample_paths), manifest_path)


class SampleSpill:
    """One stream's samples appended block by block, kept on disk until the session is written.

    The streaming half of :func:`write_session_streamed`: a long recording is read in blocks,
    and its samples go here as they come instead of into memory. They live in two anonymous
    temporary files (``O_TMPFILE``, mode 0600, no name: nothing is left behind if the process
    dies) in ``folder`` (the store, so they never leave its file system), and are read back one
    row group at a time when the parts are written, in the same rows and row groups as
    :func:`write_session` writes from memory.

    Parameters
    ----------
    folder : where the temporary files go (created 0700 if missing).
    """

    def __init__(self, folder: str | os.PathLike) -> None:
        import tempfile

        _mkdirs_private(Path(folder))
        self._t = tempfile.TemporaryFile(dir=folder)
        self._v = tempfile.TemporaryFile(dir=folder)
        self.n = 0
        self.first_s = float("nan")
        self.last_s = float("nan")

    def append(self, t_s: np.ndarray, values: np.ndarray) -> None:
        """Add samples: ``t_s`` float64 (n,), ``values`` float32 (n, 3), in time order."""
        t_s = np.ascontiguousarray(t_s, dtype=np.float64)
        values = np.ascontiguousarray(values, dtype=np.float32)
        if values.shape != (t_s.shape[0], 3):
            raise ValueError(f"spill: values {values.shape} for {t_s.shape[0]} times")
        if t_s.shape[0] == 0:
            return
        if self.n == 0:
            self.first_s = float(t_s[0])
        self.last_s = float(t_s[-1])
        self._t.write(memoryview(t_s).cast("B"))
        self._v.write(memoryview(values).cast("B"))
        self.n += int(t_s.shape[0])

    def __len__(self) -> int:
        return self.n

    def rows(self, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
        """Samples ``lo``..``hi`` read back from disk."""
        n = max(0, min(hi, self.n) - lo)
        self._t.flush()
        self._v.flush()
        t = _pread_exact(self._t.fileno(), 8 * n, 8 * lo)
        v = _pread_exact(self._v.fileno(), 12 * n, 12 * lo)
        return np.frombuffer(t, dtype=np.float64), np.frombuffer(v, dtype=np.float32).reshape(n, 3)

    def close(self) -> None:
        """Free the disk space (the files have no name; closing deletes them)."""
        self._t.close()
        self._v.close()

    def __enter__(self) -> "SampleSpill":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _pread_exact(fd: int, n: int, offset: int) -> bytearray:
    """``n`` bytes at ``offset`` (pread may return fewer at once)."""
    buf = bytearray(n)
    view = memoryview(buf)
    got = 0
    while got < n:
        k = os.preadv(fd, [view[got:]], offset + got)
        if k <= 0:
            raise RepsenseError(f"spill file read back short ({got} of {n} bytes)")
        got += k
    return buf


def write_session_streamed(
    out_dir: str | os.PathLike,
    meta: RecordingMeta,
    reports: tuple[ReadReport, ...],
    accel: SampleSpill,
    gyro: SampleSpill | None,
    detection: Detection,
    *,
    source_sha256: str,
    gyro_sample_rate_hz: float | None = None,
    pseudonymize: Pseudonymiser | None = None,
    samples_rows_per_part: int = SAMPLES_ROWS_PER_PART,
    manifest_extra: dict[str, Any] | None = None,
) -> SessionPaths:
    """:func:`write_session` for a recording whose samples were spilled block by block.

    Writes the same files with the same bytes as ``write_session`` on the Recording made of
    the same samples, meta and reports (same parts, row groups and metadata), holding one
    row group (1 M rows) in memory at a time.

    Parameters
    ----------
    out_dir, detection, pseudonymize, samples_rows_per_part, manifest_extra :
        As :func:`write_session`.
    meta, reports : the recording's ``meta`` and ``reports``.
    accel, gyro : the spilled streams (gyro None without a gyroscope stream).
    source_sha256 : content hash of the input file(s).
    gyro_sample_rate_hz : ``1 / median interval`` of the gyro stream (the sessions table's
        ``gyro_sample_rate_hz``; None with fewer than 2 gyro samples).
    """
    participant = _checked_participant(meta, len(accel), pseudonymize, samples_rows_per_part)
    streams: list[tuple[str, Any]] = [("accel", accel)] + ([("gyro", gyro)] if gyro is not None else [])
    return _write_session(
        Path(out_dir), meta, tuple(reports), streams, detection, sha=source_sha256, participant=participant,
        accel_first_last_s=(accel.first_s, accel.last_s),
        gyro_sample_rate_hz=None if gyro is None or len(gyro) < 2 else gyro_sample_rate_hz,
        samples_rows_per_part=samples_rows_per_part, manifest_extra=manifest_extra)


# --------------------------------------------------------------------------- read


def read_sessions(out_dir: str | os.PathLike, table: str = "sessions", filter: pc.Expression | None = None,
                  columns: list[str] | None = None) -> pa.Table:
    """Read one table of the store as a pyarrow Table (``participant`` and ``date`` included).

    Parameters
    ----------
    out_dir : dataset root.
    table : ``sessions``, ``sets``, ``reps``, ``samples`` (or ``mood``).
    filter : optional pyarrow compute expression, e.g. ``pc.field("participant") == "A"``.
    columns : optional subset of columns.

    Returns
    -------
    pyarrow.Table; empty with the table's schema when nothing was written yet.

    Raises
    ------
    SchemaError : a file of the table has another schema version or lacks columns.
    """
    root = Path(out_dir) / table
    if table not in (*TABLES, "mood"):
        raise SchemaError(f"unknown table {table!r}; valid: {', '.join((*TABLES, 'mood'))}")
    # Only `date` comes from the path: `participant` is a real column of every file (exact,
    # never inferred as a number); the partition folder is its sanitised form.
    part = ds.partitioning(pa.schema([("date", pa.string())]), flavor="hive") if table != "mood" else None
    if not root.is_dir():
        if table == "mood":
            return pa.table({})
        schema = schema_for(table).append(pa.field("date", pa.string()))
        return schema.empty_table().select(columns) if columns else schema.empty_table()
    fmt = ds.ParquetFileFormat(
        default_fragment_scan_options=ds.ParquetFragmentScanOptions(page_checksum_verification=True))
    try:
        dataset = ds.dataset(root, format=fmt, partitioning=part)
        if table != "mood":
            for frag in dataset.get_fragments():
                try:
                    physical = frag.physical_schema
                except _ARROW_READ_ERRORS as e:
                    raise FormatError(f"not a readable Parquet file ({e})", path=frag.path) from None
                check_schema(physical, table, frag.path)
        return dataset.to_table(columns=columns, filter=filter)
    except RepsenseError:
        raise
    except _ARROW_READ_ERRORS as exc:
        raise _locate_damage(root, exc) from None


#: What pyarrow raises for a damaged file (thrift, decompression, checksum, empty file...).
_ARROW_READ_ERRORS = (pa.ArrowException, OSError, ValueError)


def find_damaged_file(files: Iterable[str | os.PathLike]) -> tuple[Path, BaseException] | None:
    """The first of ``files`` that does not read back whole (page checksums verified), with its error.

    For error paths only: it reads every file until one fails. Used by :func:`read_sessions`
    and by the mood table's reader to name the damaged file after a whole-dataset read failed.
    """
    for f in files:
        try:
            with pq.ParquetFile(f, page_checksum_verification=True) as pf:
                pf.read()
        except _ARROW_READ_ERRORS as e:
            return Path(f), e
    return None


def _locate_damage(root: Path, exc: BaseException) -> FormatError:
    """Find which file of a dataset folder is damaged (error path only: reads every file)."""
    files = [f for f in sorted(root.rglob("*.parquet"))
             if not any(part.startswith((".", "_")) for part in f.relative_to(root).parts)]  # as dataset discovery
    hit = find_damaged_file(files)
    if hit is not None:
        return FormatError(f"damaged or not a Parquet file ({hit[1]})", path=str(hit[0]))
    return FormatError(f"cannot read the dataset ({exc})", path=str(root))


def _samples_files(path: Path) -> list[Path]:
    stem = path.name.removesuffix(".parquet")
    if "-part-" in stem:
        sid = stem.rsplit("-part-", 1)[0]
        return sorted(path.parent.glob(f"{sid}-part-*.parquet"))
    return [path]


def read_recording_parquet(path: str | os.PathLike) -> Recording:
    """Read a samples file of the store back into a :class:`Recording`.

    Given one ``-part-NNNNN`` file, every part of that session in the same folder is read.
    ``t_s`` is rebuilt on the stored ``t0_utc_ns`` (exact to the nanosecond), values are the
    stored float32 exactly, and the metadata and drop reports come back from the file metadata.

    Raises
    ------
    FormatError : truncated or corrupt Parquet (names the file).
    SchemaError : not a repsense samples file, other schema version, missing columns.
    EmptyRecordingError : no accelerometer row.
    """
    path = Path(path)
    tables = []
    file_meta: dict[bytes, bytes] = {}
    for f in _samples_files(path):
        try:
            pf = pq.ParquetFile(f, page_checksum_verification=True)
        except _ARROW_READ_ERRORS as e:
            raise FormatError(f"not a readable Parquet file ({e})", path=str(f)) from None
        with pf:
            try:
                schema = pf.schema_arrow
            except _ARROW_READ_ERRORS as e:
                raise FormatError(f"not a readable Parquet file ({e})", path=str(f)) from None
            check_schema(schema, "samples", str(f))
            file_meta = schema.metadata or {}
            digest = file_meta.get(_META_DIGEST.encode())
            if digest is not None and digest != _meta_digest(file_meta).encode():
                raise SchemaError(f"{f}: damaged repsense metadata (digest mismatch)")
            try:
                tables.append(pf.read(columns=["stream", "t_utc", "x", "y", "z"]))
            except _ARROW_READ_ERRORS as e:
                raise FormatError(f"corrupt Parquet data ({e})", path=str(f)) from None
    if b"repsense.t0_utc_ns" not in file_meta or b"repsense.recording_meta" not in file_meta:
        raise SchemaError(f"{path}: samples file without repsense.t0_utc_ns / repsense.recording_meta metadata")
    try:
        t0 = int(file_meta[b"repsense.t0_utc_ns"])
        m = json.loads(file_meta[b"repsense.recording_meta"])
        reports = _reports_from_quality(file_meta.get(b"repsense.quality_json", b"").decode())
        if not isinstance(m, dict):
            raise ValueError("recording metadata is not an object")
    except (ValueError, KeyError, TypeError) as e:
        raise SchemaError(f"{path}: damaged repsense metadata ({e})") from None
    try:
        table = pa.concat_tables(tables)
    except _ARROW_READ_ERRORS as e:
        raise SchemaError(f"{path}: its parts do not match ({e})") from None

    n = table.num_rows
    t_s = (table["t_utc"].cast(pa.int64()).to_numpy() - np.int64(t0)).astype(np.float64) / 1e9
    values = np.empty((n, 3), dtype=np.float32)
    for j, c in enumerate(("x", "y", "z")):
        values[:, j] = table[c].to_numpy()

    def stream(name: str) -> Stream | None:
        mask = pc.equal(table["stream"], name).to_numpy(zero_copy_only=False)
        k = int(mask.sum())
        if k == 0:
            return None
        first = int(np.argmax(mask))
        if mask[first:first + k].all():  # the writer stores each stream as one block: views, no copy
            return Stream(t_s=t_s[first:first + k], values=values[first:first + k], unit=STREAM_UNITS[name])
        return Stream(t_s=t_s[mask], values=values[mask], unit=STREAM_UNITS[name])

    accel = stream("accel")
    if accel is None:
        raise EmptyRecordingError("no accelerometer rows in the samples file", path=str(path))
    meta = RecordingMeta(
        t0_utc_ns=t0,
        device_kind=m.get("device_kind", "unknown"),
        firmware=m.get("firmware", ""),
        source_file=str(path),
        participant=m.get("participant", ""),
        session_id=m.get("session_id", ""),
        extra={**m.get("extra", {}), "stored_source_file": m.get("source_file", "")},
    )
    return Recording(accel=accel, meta=meta, gyro=stream("gyro"), reports=reports)
