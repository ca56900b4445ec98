"""Read a recording as a sequence of clean blocks, in memory bounded by the block size.

:func:`read_recording_chunked` is :func:`repsense.io.read_recording` for recordings too long
to hold (a 7-day 100 Hz file is 60 M rows, ~1.9 GB as a Recording): iterating the returned
:class:`ChunkedRecording` yields :class:`Block` s of accelerometer and gyroscope samples, on
the same time base and with the same values as the whole-file read; once the iteration has
ended, ``meta`` and ``reports`` equal the whole-file read's ``Recording.meta`` and
``Recording.reports`` (drops per reason with their first lines, re-sorted rows, gaps).

Blocks of one stream come in time order; all of a stream's times are later than its previous
block's. Generic CSV yields accelerometer and gyroscope blocks of the same rows alternately;
a MetaBase set yields every accelerometer block, then every gyroscope block.

What is held at once: one block of the file (``block_bytes``, 16 MiB by default) and its
parsed columns, plus the rows the timeline policy holds back (see :mod:`repsense.io._stream`:
at least :data:`~repsense.io._stream.REORDER_LOOKAHEAD_ROWS` rows, at most
:data:`~repsense.io._stream.MAX_PENDING_ROWS`), and the distinct sample intervals (for the
median interval and the gaps). The file is read with ``read()``, not memory-mapped.

Where the stream cannot match the whole-file read (documented in :mod:`repsense.io._stream`),
iteration raises :class:`~repsense.io._stream.NotStreamable` before it ends, and the caller
reads the file whole. The project's own Parquet samples files (every part of a session)
stream one row group at a time.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping

import numpy as np

from ..errors import EmptyRecordingError, FormatError, InputError
from ..types import ReadReport, Recording, RecordingMeta, Stream
from ._common import scaled_float32, session_id_from
from ._csvparse import ColumnKind, ColumnStream, DropLog, ParsedBlock
from ._stream import GapTracker, NotStreamable, TimelineStream
from .generic_csv import ColumnPlan, check_accel_unit, column_plan, time_ns, time_unit_ns
from .metabase import MetaBaseFile, epoch_ns, find_pair, metabase_file, parse_name
from .sniff import Sniff, sniff_file

__all__ = ["Block", "ChunkedRecording", "NotStreamable", "collect", "read_recording_chunked"]

_UNIT_CHECK_ROWS = 100_000  # as the whole-file reader: the unit check looks at ~100 000 rows
_TIME_UNIT_ROWS = 100_000  # rows the time-unit inference looks at (first rows of the file)


@dataclass(frozen=True, slots=True)
class Block:
    """Clean samples of one stream: ``t_s`` (float64, s from ``meta.t0_utc_ns``), ``values`` (float32, (n, 3))."""

    stream: str  # "accel" or "gyro"
    t_s: np.ndarray
    values: np.ndarray


@dataclass(slots=True)
class _Out:
    """One stream's emitted samples: count, first and last time, intervals and gaps."""

    gaps: GapTracker
    n: int = 0
    first_s: float = math.nan
    last_s: float = math.nan

    def add(self, t_s: np.ndarray) -> None:
        if t_s.shape[0]:
            if self.n == 0:
                self.first_s = float(t_s[0])
            self.last_s = float(t_s[-1])
            self.n += int(t_s.shape[0])
            self.gaps.add(t_s)

    @property
    def median_interval_s(self) -> float:
        """``np.median(np.diff(t_s))`` of the stream (nan with fewer than 2 samples)."""
        return self.gaps.median


@dataclass(slots=True)
class ChunkedRecording:
    """A recording being read block by block; iterate once.

    Attributes (complete once the iteration has ended)
    ----------------------------------------------------
    meta : RecordingMeta
    reports : tuple of ReadReport
    accel, gyro : per-stream summaries (``n``, ``first_s``, ``last_s``, ``median_interval_s``);
        ``gyro`` is None without a gyroscope stream.
    n_late_rows, n_forced_cuts : int
        Rows dropped on arrival because they came after a cut row with an earlier time, and
        how often the held rows were cleaned without a cut row (see :mod:`repsense.io._stream`).
        Late rows are dropped the same way by the whole-file read except after a clock reset;
        ``n_forced_cuts == 0`` and no clock reset mean the result is the whole-file read's.
    """

    path: str
    _gen: Any = None
    meta: RecordingMeta | None = None
    reports: tuple[ReadReport, ...] = ()
    accel: _Out | None = None
    gyro: _Out | None = None
    n_late_rows: int = 0
    n_forced_cuts: int = 0
    done: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def __iter__(self) -> Iterator[Block]:
        if self._gen is None:
            raise RuntimeError("a ChunkedRecording can be iterated only once")
        gen, self._gen = self._gen, None
        yield from gen
        self.done = True


def _to_s(t_ns: np.ndarray, t0_ns: int) -> np.ndarray:
    return (t_ns - np.int64(t0_ns)).astype(np.float64) / 1e9  # as _common.stream_on


def read_recording_chunked(path: str | os.PathLike[str] | Any, sample_rate_hz: float | None = None, *,
                           participant: str | None = None, session_id: str | None = None,
                           units: Mapping[str, str] | None = None, gyro: bool = True,
                           block_bytes: int = 1 << 24, lookahead_rows: int | None = None,
                           max_pending_rows: int | None = None) -> ChunkedRecording | None:
    """Open a recording for block-by-block reading (see the module doc).

    Parameters are those of :func:`repsense.io.read_recording`, plus ``block_bytes`` (bytes of
    the file parsed at once) and, for tests, the timeline stream's ``lookahead_rows`` and
    ``max_pending_rows``.

    Returns
    -------
    ChunkedRecording

    Raises
    ------
    The errors of :func:`repsense.io.read_recording`; header and unit errors here, errors about
    the rows (no usable sample, a unit inferred from the values) while iterating.
    """
    from . import _input_path

    p = _input_path(path, sample_rate_hz)
    opts = {k: v for k, v in (("lookahead_rows", lookahead_rows), ("max_pending_rows", max_pending_rows))
            if v is not None}
    try:
        if not p.exists() and p.parent.is_dir():
            return _metabase(p, participant, session_id, gyro, block_bytes, opts)
        if not p.exists():
            raise InputError("no such file", path=str(p))
        if p.is_dir():
            raise InputError("is a folder; use iter_recording_files() to list its recordings", path=str(p))
        sn = sniff_file(p)
        if sn.kind == "parquet":
            return _parquet(p, participant, session_id)
        if sn.kind == "metabase":
            return _metabase(p, participant, session_id, gyro, block_bytes, opts)
        return _generic(p, sn, sample_rate_hz, participant, session_id, units, gyro, block_bytes, opts)
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", path=str(getattr(exc, "filename", None) or p)) from None


def _guard(gen: Iterator[Block], path: str) -> Iterator[Block]:
    """Map I/O and pyarrow failures while iterating to errors naming the file, as read_recording does."""
    import pyarrow as pa

    try:
        yield from gen
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", path=str(getattr(exc, "filename", None) or path)) from None
    except pa.ArrowException as exc:  # as read_recording: a pyarrow failure still names the file
        raise FormatError(f"cannot parse: {exc}", path=path) from None


def _columns_of(path: Path, sn: Sniff, spec: list[tuple[int, ColumnKind]], block_bytes: int) -> ColumnStream:
    return ColumnStream(path, data_offset=sn.data_offset, first_line=sn.first_line, delimiter=sn.delimiter,
                        decimal=sn.decimal, quoted=sn.quoted, newline=sn.newline, n_fields=len(sn.header),
                        columns=spec, block_bytes=block_bytes)


def _empty_error(path: str, n_rows: int, drops: DropLog) -> EmptyRecordingError:
    dropped = ", ".join(f"{r}: {d.count} (first lines {list(d.first_lines)})" for r, d in drops.as_dict().items())
    return EmptyRecordingError(f"no usable accelerometer sample in {n_rows} data rows"
                               + (f" (dropped {dropped})" if dropped else ""), path=path)


# ----------------------------------------------------------------------------- generic CSV


def _generic(p: Path, sn: Sniff, sample_rate_hz: float | None, participant: str | None, session_id: str | None,
             units: Mapping[str, str] | None, gyro: bool, block_bytes: int, opts: dict[str, int]) -> ChunkedRecording:
    path = str(p)
    units = dict(units or {})
    plan = column_plan(path, sn, units, sample_rate_hz)
    tcol = plan.cols["time"]
    has_gyro = "gyro" in plan.cols
    columns = _columns_of(p, sn, plan.spec, block_bytes)
    rec = ChunkedRecording(path)
    period = 1.0 / float(sample_rate_hz) if sample_rate_hz and tcol is None else None
    rec.accel = _Out(GapTracker(period))
    if has_gyro and gyro:
        rec.gyro = _Out(GapTracker(period))
    rec._gen = _guard(_generic_blocks(rec, p, sn, columns, plan, units, gyro, sample_rate_hz, participant,
                                      session_id, opts), path)
    return rec


def _generic_blocks(rec: ChunkedRecording, p: Path, sn: Sniff, columns: ColumnStream, plan: ColumnPlan,
                    units: dict[str, str], want_gyro: bool, sample_rate_hz: float | None,
                    participant: str | None, session_id: str | None, opts: dict[str, int]) -> Iterator[Block]:
    path = str(p)
    tcol, t_kind, a_unit, g_unit = plan.cols["time"], plan.t_kind, plan.a_unit, plan.g_unit
    has_gyro = "gyro" in plan.cols
    extra: dict[str, Any] = {"reader": "generic_csv", "absolute_time": False}
    it = iter(columns)
    # the time unit is inferred from the first rows: hold blocks until there are enough of them
    head: list[ParsedBlock] = []
    n_head = 0
    if tcol is not None and t_kind not in ("iso", "iso_tz"):
        for blk in it:
            head.append(blk)
            t = blk.arrays[0]
            n_head += int(np.isfinite(t).sum()) if t.dtype.kind == "f" else t.shape[0]
            if n_head >= _TIME_UNIT_ROWS and sum(b.arrays[0].shape[0] for b in head) >= 1000:
                break
    t_mult = 0
    if tcol is not None:
        t_first = (np.concatenate([b.arrays[0] for b in head]) if head
                   else np.empty(0, np.float64 if t_kind == "float" else np.int64))
        t_mult = time_unit_ns(path, sn, tcol, t_kind, units, t_first, extra)
        del t_first
    n_cols = len(plan.factors)
    cleaner = TimelineStream(columns.drops, n_cols, **opts)
    period_ns = 1e9 / float(sample_rate_hz) if tcol is None else 0.0  # type: ignore[arg-type]
    blanks_before = 0
    n_parsed = 0
    stride = 1  # the unit check's sample of rows: every stride-th parsed row
    norm_rows: list[np.ndarray] = []
    n_norm = 0
    t0: int | None = None

    def blocks() -> Iterator[ParsedBlock]:
        yield from head
        head.clear()
        yield from it

    def emit(chunks: list[tuple[np.ndarray, np.ndarray]]) -> Iterator[Block]:
        nonlocal t0
        for t_ns, vals in chunks:
            if t0 is None:
                t0 = int(t_ns[0])
            t_s = _to_s(t_ns, t0)
            rec.accel.add(t_s)  # type: ignore[union-attr]
            yield Block("accel", t_s, np.ascontiguousarray(vals[:, :3]))
            if rec.gyro is not None:
                rec.gyro.add(t_s)
                yield Block("gyro", t_s, np.ascontiguousarray(vals[:, 3:]))

    for blk in blocks():
        lines = blk.lines
        n = len(lines)
        t_finite = None
        if tcol is None:
            la = lines.array()
            slot = la - sn.first_line - (blanks_before + np.searchsorted(blk.blank_lines, la))
            t_ns = np.round(slot * period_ns).astype(np.int64)
            values_at = 0
        else:
            values_at = 1
            t_ns, t_finite = time_ns(blk.arrays[0], t_kind, t_mult)
        blanks_before += int(blk.blank_lines.shape[0])
        samples = scaled_float32(blk.arrays[values_at:], plan.factors)
        del blk
        if a_unit is None and n:
            take = (-n_parsed) % stride  # first row of this block on the global stride
            norm_rows.append(samples[take::stride, :3].copy())
            n_norm += norm_rows[-1].shape[0]
            if n_norm > 2 * _UNIT_CHECK_ROWS:  # thin to every other kept row: twice the stride
                allrows = np.concatenate(norm_rows)[::2]
                norm_rows, n_norm, stride = [allrows], allrows.shape[0], stride * 2
        n_parsed += n
        yield from emit(cleaner.push(t_ns, samples, lines, t_finite=t_finite))
    yield from emit(cleaner.finish())
    if a_unit is None and n_parsed:
        # the whole-file reader takes every (n // 100 000)-th row; here the stride is a power of two
        # (the same rows for files under 300 000 rows)
        check_accel_unit(path, sn, np.concatenate(norm_rows))
    extra["accel_unit_in_file"] = a_unit or "g (assumed)"
    if has_gyro:
        extra["gyro_unit_in_file"] = g_unit or "deg/s (assumed)"
    if rec.accel is None or rec.accel.n == 0 or t0 is None:
        raise _empty_error(path, columns.n_rows, columns.drops)
    if tcol is None:
        extra["sample_rate_hz"] = float(sample_rate_hz)  # type: ignore[arg-type]
    extra["source_sha256"] = columns.sha256
    extra["accel_reordered_rows"] = cleaner.n_reordered
    rec.n_late_rows, rec.n_forced_cuts = cleaner.n_late, cleaner.n_forced
    rec.reports = (ReadReport(source_file=path, n_rows=columns.n_rows, n_kept=rec.accel.n,
                              dropped=columns.drops.as_dict(), gaps=rec.accel.gaps.gaps()),)
    rec.meta = RecordingMeta(t0_utc_ns=t0, device_kind="generic_csv", firmware="", source_file=path,
                             participant=participant or "",
                             session_id=session_id or session_id_from(columns.sha256), extra=extra)


# ----------------------------------------------------------------------------- MetaBase


def _metabase(p: Path, participant: str | None, session_id: str | None, gyro: bool, block_bytes: int,
              opts: dict[str, int]) -> ChunkedRecording:
    accel_path, gyro_path = find_pair(p)
    a_file = metabase_file(accel_path, sniff_file(accel_path))
    rec = ChunkedRecording(str(accel_path))
    rec.accel = _Out(GapTracker(None))
    rec._gen = _guard(_metabase_blocks(rec, a_file, gyro_path if gyro else None, participant, session_id,
                                       block_bytes, opts), str(accel_path))
    return rec


def _metabase_stream(rec: ChunkedRecording, f: MetaBaseFile, out: _Out, name: str, t0: list[int],
                     block_bytes: int, opts: dict[str, int]) -> Iterator[Block]:
    """Blocks of one file; sets ``f.extra['_columns']`` and ``['_cleaner']`` for the caller."""
    columns = _columns_of(f.path, f.sn, f.columns, block_bytes)  # type: ignore[arg-type]
    cleaner = TimelineStream(columns.drops, 3, packed=f.dialect == "ios", **opts)
    f.extra["_columns"], f.extra["_cleaner"] = columns, cleaner

    def emit(chunks: list[tuple[np.ndarray, np.ndarray]]) -> Iterator[Block]:
        for t_ns, vals in chunks:
            if not t0:
                t0.append(int(t_ns[0]))
            t_s = _to_s(t_ns, t0[0])
            out.add(t_s)
            yield Block(name, t_s, vals)

    for blk in columns:
        t_ns, t_finite = epoch_ns(blk.arrays[0])
        values = scaled_float32(blk.arrays[1:], [f.factor] * 3)
        lines = blk.lines
        del blk
        yield from emit(cleaner.push(t_ns, values, lines, t_finite=t_finite))
    yield from emit(cleaner.finish())


def _metabase_blocks(rec: ChunkedRecording, a_file: MetaBaseFile, gyro_path: Path | None,
                     participant: str | None, session_id: str | None, block_bytes: int,
                     opts: dict[str, int]) -> Iterator[Block]:
    accel_path = a_file.path
    if a_file.kind != "accel":
        raise FormatError("expected an accelerometer export but the columns are angular rates; "
                          "pass the accelerometer file of the set", path=str(accel_path))
    t0: list[int] = []
    yield from _metabase_stream(rec, a_file, rec.accel, "accel", t0, block_bytes, opts)  # type: ignore[arg-type]
    a_cols: ColumnStream = a_file.extra.pop("_columns")
    a_clean: TimelineStream = a_file.extra.pop("_cleaner")
    if not t0:
        raise _empty_error(str(accel_path), a_cols.n_rows, a_cols.drops)
    extra: dict[str, Any] = {"reader": "metabase"}
    g_file = None
    if gyro_path is not None:
        try:
            g_file = metabase_file(gyro_path)
            if g_file.kind != "gyro":
                raise FormatError("the gyroscope partner holds accelerations", path=str(gyro_path))
        except InputError as exc:
            g_file = None
            extra["gyro_file"] = str(gyro_path)
            extra["gyro_error"] = str(exc)
    g_cols = g_clean = None
    if g_file is not None:
        rec.gyro = _Out(GapTracker(None))
        yield from _metabase_stream(rec, g_file, rec.gyro, "gyro", t0, block_bytes, opts)
        g_cols, g_clean = g_file.extra.pop("_columns"), g_file.extra.pop("_cleaner")
    name = parse_name(accel_path)
    if name is not None:
        extra.update({k: v for k, v in (("mac", name.mac), ("device_name", name.device),
                                        ("file_label", name.label), ("file_start", name.start)) if v})
    # as _common.assemble
    extra["source_sha256"] = a_cols.sha256
    extra["accel_reordered_rows"] = a_clean.n_reordered
    extra.update({f"accel_{k}": v for k, v in a_file.extra.items()})
    digests = [a_cols.sha256]
    reports = [ReadReport(source_file=str(accel_path), n_rows=a_cols.n_rows, n_kept=rec.accel.n,  # type: ignore[union-attr]
                          dropped=a_cols.drops.as_dict(), gaps=rec.accel.gaps.gaps())]  # type: ignore[union-attr]
    rec.n_late_rows, rec.n_forced_cuts = a_clean.n_late, a_clean.n_forced
    if g_file is not None and g_cols is not None and g_clean is not None and rec.gyro is not None:
        digests.append(g_cols.sha256)
        extra["gyro_file"] = str(g_file.path)
        extra["gyro_sha256"] = g_cols.sha256
        extra["gyro_reordered_rows"] = g_clean.n_reordered
        extra.update({f"gyro_{k}": v for k, v in g_file.extra.items()})
        reports.append(ReadReport(source_file=str(g_file.path), n_rows=g_cols.n_rows, n_kept=rec.gyro.n,
                                  dropped=g_cols.drops.as_dict(),
                                  gaps=rec.gyro.gaps.gaps() if rec.gyro.n else ()))
        rec.n_late_rows += g_clean.n_late
        rec.n_forced_cuts += g_clean.n_forced
        if rec.gyro.n == 0:
            rec.gyro = None
    rec.reports = tuple(reports)
    rec.meta = RecordingMeta(t0_utc_ns=t0[0], device_kind="metawear", firmware=name.firmware if name else "",
                             source_file=str(accel_path), participant=participant or "",
                             session_id=session_id or session_id_from(*digests), extra=extra)


# ----------------------------------------------------------------------------- our Parquet


def _parquet(p: Path, participant: str | None, session_id: str | None) -> ChunkedRecording:
    """A samples file of the store (all parts of its session), one row group at a time.

    The same checks, samples, meta and reports as :func:`repsense.store.read_recording_parquet`:
    every part's schema and metadata digest are checked before the first block.
    """
    import json

    import pyarrow.parquet as pq

    from ..errors import SchemaError
    from ..store import parquet as store
    from ..store.schema import check_schema

    files = store._samples_files(p)
    file_meta: dict[bytes, bytes] = {}
    for f in files:
        try:
            with pq.ParquetFile(f) as pf:
                schema = pf.schema_arrow
        except store._ARROW_READ_ERRORS as e:
            raise FormatError(f"not a readable Parquet file ({e})", path=str(f)) from None
        check_schema(schema, "samples", str(f))
        file_meta = schema.metadata or {}
        digest = file_meta.get(store._META_DIGEST.encode())
        if digest is not None and digest != store._meta_digest(file_meta).encode():
            raise SchemaError(f"{f}: damaged repsense metadata (digest mismatch)")
    if b"repsense.t0_utc_ns" not in file_meta or b"repsense.recording_meta" not in file_meta:
        raise SchemaError(f"{p}: samples file without repsense.t0_utc_ns / repsense.recording_meta metadata")
    try:
        t0 = int(file_meta[b"repsense.t0_utc_ns"])
        m = json.loads(file_meta[b"repsense.recording_meta"])
        reports = store._reports_from_quality(file_meta.get(b"repsense.quality_json", b"").decode())
        if not isinstance(m, dict):
            raise ValueError("recording metadata is not an object")
    except (ValueError, KeyError, TypeError) as e:
        raise SchemaError(f"{p}: damaged repsense metadata ({e})") from None
    meta = RecordingMeta(
        t0_utc_ns=t0, device_kind=m.get("device_kind", "unknown"), firmware=m.get("firmware", ""),
        source_file=str(p), participant=m.get("participant", ""), session_id=m.get("session_id", ""),
        extra={**m.get("extra", {}), "stored_source_file": m.get("source_file", "")})
    if participant is not None or session_id is not None:  # as read_recording's overrides
        meta = RecordingMeta(meta.t0_utc_ns, meta.device_kind, meta.firmware, meta.source_file,
                             participant if participant is not None else meta.participant,
                             session_id if session_id is not None else meta.session_id, meta.extra)
    rec = ChunkedRecording(str(p))
    rec.accel = _Out(GapTracker(None))
    rec._gen = _guard(_parquet_blocks(rec, files, meta, reports, t0), str(p))
    return rec


def _parquet_blocks(rec: ChunkedRecording, files: list[Path], meta: RecordingMeta, reports: tuple[ReadReport, ...],
                    t0: int) -> Iterator[Block]:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from ..store import parquet as store

    gyro = _Out(GapTracker(None))
    for f in files:
        try:
            pf = pq.ParquetFile(f, page_checksum_verification=True)
        except store._ARROW_READ_ERRORS as e:
            raise FormatError(f"not a readable Parquet file ({e})", path=str(f)) from None
        with pf:
            for g in range(pf.num_row_groups):
                try:
                    table = pf.read_row_group(g, columns=["stream", "t_utc", "x", "y", "z"])
                except store._ARROW_READ_ERRORS as e:
                    raise FormatError(f"corrupt Parquet data ({e})", path=str(f)) from None
                t_s = (table["t_utc"].cast(pa.int64()).to_numpy() - np.int64(t0)).astype(np.float64) / 1e9
                values = np.empty((table.num_rows, 3), dtype=np.float32)
                for j, c in enumerate(("x", "y", "z")):
                    values[:, j] = table[c].to_numpy()
                for name, out in (("accel", rec.accel), ("gyro", gyro)):
                    mask = pc.equal(table["stream"], name).to_numpy(zero_copy_only=False)
                    if mask.any():
                        out.add(t_s[mask])  # type: ignore[union-attr]
                        yield Block(name, t_s[mask], values[mask])
                del table
    if rec.accel is None or rec.accel.n == 0:
        raise EmptyRecordingError("no accelerometer rows in the samples file", path=str(rec.path))
    rec.gyro = gyro if gyro.n else None
    rec.reports = reports
    rec.meta = meta


# ----------------------------------------------------------------------------- helpers


def collect(chunked: ChunkedRecording) -> Recording:
    """Iterate ``chunked`` and put its blocks together as a :class:`~repsense.types.Recording`.

    For tests and small inputs: the result equals ``read_recording`` on the same file (and
    holds the whole recording in memory).
    """
    parts: dict[str, list[Block]] = {"accel": [], "gyro": []}
    for b in chunked:
        parts[b.stream].append(b)

    def stream(name: str, unit: str) -> Stream | None:
        bl = parts[name]
        if not bl:
            return None
        return Stream(np.concatenate([b.t_s for b in bl]), np.concatenate([b.values for b in bl]), unit)

    accel = stream("accel", "g")
    assert accel is not None and chunked.meta is not None
    return Recording(accel=accel, meta=chunked.meta, gyro=stream("gyro", "deg/s"), reports=chunked.reports)
