"""Readers: recordings people already have -> :class:`~repsense.types.Recording`.

:func:`read_recording` sniffs the content (never just the extension) and dispatches to

* the project's own Parquet (``PAR1`` magic) -> :func:`repsense.store.read_recording_parquet`;
* MetaBase / MetaWear app CSV (:mod:`repsense.io.metabase`), accelerometer and gyroscope
  files of one set paired by name;
* generic CSV/TSV (:mod:`repsense.io.generic_csv`).

Bad rows never abort a read: they are dropped and counted per reason, with their first line
numbers, in ``Recording.reports`` (one :class:`~repsense.types.ReadReport` per file). Only a
file with no usable sample, or one that is not a recording at all, raises (an
:class:`~repsense.errors.InputError` subclass naming the file and, where known, the line).
See :mod:`repsense.io._timeline` for the duplicate / out-of-order / gap policy.

:func:`iter_recording_files` expands folders into the inputs to read, one per set.
:func:`read_recording_chunked` reads a long CSV recording as a sequence of clean blocks in
bounded memory, with the same samples, meta and reports (:mod:`repsense.io.chunked`).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterable, Mapping

import pyarrow as pa

from ..errors import EmptyRecordingError, FormatError, InputError, RepsenseError, SamplingRateError
from ..types import Recording
from .chunked import read_recording_chunked
from .generic_csv import read_generic_csv
from .metabase import find_pair, parse_name, read_metabase
from .sniff import Sniff, sniff_file

__all__ = ["RecordingInput", "iter_recording_files", "read_recording", "read_recording_chunked"]

_TEXT_SUFFIXES = {".csv", ".tsv", ".txt", ".dat"}
_PARQUET_SUFFIXES = {".parquet", ".pq"}


@dataclass(frozen=True, slots=True)
class RecordingInput:
    """One input found by :func:`iter_recording_files`.

    Attributes
    ----------
    path : Path
        What to pass to :func:`read_recording` (for a MetaBase set, its accelerometer file).
    files : tuple of Path
        Every file that makes up the input (accelerometer and gyroscope of a MetaBase set).
    skip_reason : str or None
        Why the file is not a recording (then ``path`` is the skipped file).
    """

    path: Path
    files: tuple[Path, ...]
    skip_reason: str | None = None

    @property
    def skipped(self) -> bool:
        """True when this entry is a file that will not be read."""
        return self.skip_reason is not None


def read_recording(path: str | os.PathLike[str] | RecordingInput, sample_rate_hz: float | None = None, *,
                   participant: str | None = None, session_id: str | None = None,
                   units: Mapping[str, str] | None = None, gyro: bool = True) -> Recording:
    """Read a recording file (or MetaBase set) into a :class:`~repsense.types.Recording`.

    Parameters
    ----------
    path : str, PathLike or RecordingInput
        A file; for MetaBase exports either file of a set or the set's shared name prefix.
    sample_rate_hz : float, optional
        Sample rate for files without a time column (ignored when the file has times).
    participant : str, optional
        Participant id to store; never inferred from file names.
    session_id : str, optional
        Overrides the deterministic id derived from the files' SHA-256.
    units : mapping, optional
        Units the file does not state (generic CSV): ``{"time": "ms", "accel": "m/s^2",
        "gyro": "rad/s"}``.
    gyro : bool
        Read the gyroscope (partner file or columns) when present.

    Returns
    -------
    Recording
        Accelerometer in g, gyroscope in deg/s, ``t_s`` relative to ``meta.t0_utc_ns`` (the
        first accelerometer sample), one ReadReport per file read.

    Raises
    ------
    EmptyRecordingError
        Empty file, header only, or no usable sample.
    FormatError
        Binary garbage, no header, no accelerometer columns, a gyroscope file without its
        accelerometer partner.
    UnitError
        A unit that is unknown or cannot be inferred (names the column).
    SamplingRateError
        No time column and no ``sample_rate_hz``, or a rate that is not a positive number.
    SchemaError
        A Parquet file that is not a repsense samples file (from :mod:`repsense.store`).

    Notes
    -----
    Every error derives from :class:`~repsense.errors.RepsenseError`; I/O failures and
    unexpected pyarrow errors are re-raised as :class:`~repsense.errors.InputError` /
    :class:`~repsense.errors.FormatError` naming the file.
    """
    p = _input_path(path, sample_rate_hz)
    try:
        rec = _dispatch(p, sample_rate_hz, participant=participant, session_id=session_id, units=units, gyro=gyro)
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", path=str(getattr(exc, "filename", None) or p)) from None
    except pa.ArrowException as exc:  # a pyarrow failure not mapped by a reader: still name the file
        raise FormatError(f"cannot parse: {exc}", path=str(p)) from None
    if not gyro and rec.gyro is not None:
        rec = replace(rec, gyro=None)
    return rec


def _input_path(path: str | os.PathLike[str] | RecordingInput, sample_rate_hz: float | None) -> Path:
    """The file to open, after the argument checks every reader entry point makes."""
    if isinstance(path, RecordingInput):
        if path.skip_reason:
            raise FormatError(f"not a recording: {path.skip_reason}", path=str(path.path))
        path = path.path
    if sample_rate_hz is not None and not (math.isfinite(sample_rate_hz) and sample_rate_hz > 0):
        raise SamplingRateError(f"sample_rate_hz must be a positive number, got {sample_rate_hz!r}")
    return Path(path)


def _dispatch(p: Path, sample_rate_hz: float | None, *, participant: str | None, session_id: str | None,
              units: Mapping[str, str] | None, gyro: bool) -> Recording:
    if not p.exists():
        if p.parent.is_dir():
            return read_metabase(p, participant=participant, session_id=session_id, gyro=gyro)
        raise InputError("no such file", path=str(p))
    if p.is_dir():
        raise InputError("is a folder; use iter_recording_files() to list its recordings", path=str(p))
    sn = sniff_file(p)
    if sn.kind == "parquet":
        rec = _read_parquet(p)
        overrides = {k: v for k, v in (("participant", participant), ("session_id", session_id)) if v is not None}
        return replace(rec, meta=replace(rec.meta, **overrides)) if overrides else rec
    if sn.kind == "metabase":
        return read_metabase(p, participant=participant, session_id=session_id, gyro=gyro)
    return read_generic_csv(p, sample_rate_hz, sn=sn, participant=participant, session_id=session_id, units=units)


def _read_parquet(path: Path) -> Recording:
    try:
        from ..store import read_recording_parquet
    except ImportError as exc:  # store not installed/implemented
        raise FormatError(f"Parquet reading needs repsense.store.read_recording_parquet ({exc})",
                          path=str(path)) from None
    return read_recording_parquet(path)


def _classify(path: Path) -> tuple[str, Sniff | None]:
    """('metabase'|'csv'|'parquet'|'skip: reason', sniff)."""
    if path.name.startswith("."):
        return "skip: hidden file", None
    suffix = path.suffix.lower()
    if suffix not in _TEXT_SUFFIXES | _PARQUET_SUFFIXES:
        return f"skip: not a recording file type ({suffix or 'no extension'})", None
    try:
        sn = sniff_file(path)
    except EmptyRecordingError as exc:
        # no data to lose (empty, blank, header only): skipped, with the reason
        return f"skip: {getattr(exc, 'reason', exc)}", None
    except (RepsenseError, OSError):
        # a .csv/.parquet that cannot even be sniffed (binary, not text, unreadable) is a damaged
        # recording, not "not a recording": keep it as an input so reading it fails loudly
        return "damaged", None
    if sn.kind == "parquet":
        reason = _parquet_skip_reason(path)
        if reason == _UNREADABLE_PARQUET:
            return "damaged", None
        return (f"skip: {reason}", None) if reason else ("parquet", sn)
    if sn.kind != "csv":
        return sn.kind, sn
    from .generic_csv import _columns  # header check only
    try:
        _columns(str(path), sn, {})
    except RepsenseError as exc:
        return f"skip: {getattr(exc, 'reason', exc)}", None
    return "csv", sn


_SAMPLES_COLUMNS = {"stream", "t_utc", "x", "y", "z"}
_UNREADABLE_PARQUET = "not a readable Parquet file"


def _parquet_skip_reason(path: Path) -> str | None:
    """Why a Parquet file is not a repsense samples file (None if it is one); reads the footer only."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        names = set(pq.read_schema(path).names)
    except (pa.ArrowInvalid, OSError):
        return _UNREADABLE_PARQUET
    if not _SAMPLES_COLUMNS <= names:
        return "Parquet file is not a repsense samples table (sessions, sets, reps or other data)"
    return None


def _part_group(path: Path) -> tuple[Path, str] | None:
    """(folder, session id) of a ``<session_id>-part-NNNNN.parquet`` samples file."""
    stem = path.name.removesuffix(".parquet")
    if "-part-" not in stem or not path.name.endswith(".parquet"):
        return None
    return path.parent, stem.rsplit("-part-", 1)[0]


def iter_recording_files(paths: Iterable[str | os.PathLike[str]]) -> list[RecordingInput]:
    """Expand files and folders into the inputs to read, one per recording.

    Folders are walked recursively in sorted order. The accelerometer and gyroscope files of
    a MetaBase set become ONE input (its accelerometer file; the gyroscope file is in
    ``files``). A file that is not a recording (README, ``labels.csv``, a magnetometer export,
    a gyroscope file without its accelerometer, an empty file) becomes an entry with a
    ``skip_reason``. A path that does not exist is reported the same way.

    Parameters
    ----------
    paths : iterable of str or PathLike

    Returns
    -------
    list of RecordingInput
        In input order (folder contents sorted), without duplicates.
    """
    files: list[Path] = []
    out: list[RecordingInput] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            for root, dirs, names in os.walk(p):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                files.extend(Path(root) / n for n in sorted(names))
        elif p.is_file():
            files.append(p)
        else:
            out.append(RecordingInput(p, (p,), "no such file or folder"))
    seen: set[Path] = set()
    parts_done: set[tuple[Path, str]] = set()
    for f in files:
        key = f.resolve()
        if key in seen:
            continue
        kind, _ = _classify(f)
        if kind.startswith("skip: "):
            seen.add(key)
            out.append(RecordingInput(f, (f,), kind[6:]))
            continue
        if kind == "metabase":
            name = parse_name(f)
            if name is not None and name.sensor not in ("Accelerometer", "Gyroscope"):
                seen.add(key)
                out.append(RecordingInput(f, (f,), f"MetaBase {name.sensor} export (only accelerometer and "
                                                    "gyroscope are used)"))
                continue
            try:
                accel, gyro = find_pair(f)
            except InputError as exc:
                seen.add(key)
                out.append(RecordingInput(f, (f,), exc.reason))
                continue
            group = (accel,) + ((gyro,) if gyro is not None else ())
            for g in group:
                seen.add(g.resolve())
            out.append(RecordingInput(accel, group))
            continue
        seen.add(key)
        group_key = _part_group(f) if kind == "parquet" else None
        if group_key is not None:
            if group_key in parts_done:
                continue
            parts_done.add(group_key)
            folder, sid = group_key
            parts = tuple(sorted(folder.glob(f"{sid}-part-*.parquet")))
            seen.update(p.resolve() for p in parts)
            out.append(RecordingInput(parts[0], parts))
            continue
        out.append(RecordingInput(f, (f,)))
    return out
