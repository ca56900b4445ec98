"""Fast, exact CSV parsing of a few typed columns, with per-line accounting of bad rows.

The common case (a well-formed file) is parsed block by block with :func:`pyarrow.csv.read_csv`.
A block that pyarrow rejects (a short row, a non-numeric cell, a blank line...) is split into
small sub-blocks that are retried with pyarrow; only the sub-blocks that still fail are parsed
line by line in Python, so every dropped row carries its exact 1-based file line number while a
file with a handful of bad rows is still read at vectorised speed.

Row-level reasons recorded here (see :class:`DropLog`):

``too_few_columns`` / ``too_many_columns``
    the row does not have as many fields as the header.
``truncated_last_line``
    the last line of the file has no line terminator and cannot be parsed (an interrupted
    write). A complete unterminated last line is kept.
``non_numeric``
    a needed cell is not a number (or not an ISO 8601 time for a time column).
``missing_value``
    a needed cell is empty.
``undecodable``
    the line is not valid UTF-8.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from ..types import DropReason

ColumnKind = Literal["int", "float", "iso", "iso_tz"]

_MAX_FIRST_LINES = 5
_SUB_BLOCK_LINES = 1024
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class DropLog:
    """Count of dropped rows per reason, with the first few (smallest) 1-based line numbers."""

    def __init__(self) -> None:
        self._count: dict[str, int] = {}
        self._lines: dict[str, list[int]] = {}

    def add(self, reason: str, lines: Sequence[int] | np.ndarray) -> None:
        """Record that the rows at ``lines`` (1-based file lines) were dropped for ``reason``."""
        arr = np.asarray(lines, dtype=np.int64).ravel()
        if arr.size == 0:
            return
        self._count[reason] = self._count.get(reason, 0) + int(arr.size)
        first = np.sort(arr)[:_MAX_FIRST_LINES].tolist() if arr.size > _MAX_FIRST_LINES else sorted(arr.tolist())
        merged = sorted(set(self._lines.get(reason, [])) | set(int(x) for x in first))
        self._lines[reason] = merged[:_MAX_FIRST_LINES]

    @property
    def total(self) -> int:
        """Number of rows dropped for any reason."""
        return sum(self._count.values())

    def as_dict(self) -> dict[str, DropReason]:
        """The log as ``ReadReport.dropped``: reason -> :class:`~repsense.types.DropReason`."""
        return {r: DropReason(c, tuple(self._lines[r])) for r, c in sorted(self._count.items())}


@dataclass(frozen=True, slots=True)
class ParsedColumns:
    """Columns parsed from the data rows of one file.

    Attributes
    ----------
    arrays : list of ndarray
        One array per requested column: int64 for ``"int"``, float64 for ``"float"``,
        int64 nanoseconds since the Unix epoch for ``"iso"`` / ``"iso_tz"``.
    lines : ndarray of int64
        1-based file line number of every kept row.
    n_rows : int
        Data rows seen (kept + dropped at parse level; blank lines are not rows).
    drops : DropLog
        Rows dropped while parsing, by reason.
    sha256 : str
        Hex SHA-256 of the whole file's bytes.
    """

    arrays: list[np.ndarray]
    lines: np.ndarray
    n_rows: int
    drops: DropLog
    sha256: str


def _arrow_type(kind: ColumnKind) -> pa.DataType:
    return {
        "int": pa.int64(),
        "float": pa.float64(),
        "iso": pa.timestamp("ns"),
        "iso_tz": pa.timestamp("ns", "UTC"),
    }[kind]


def _py_value(text: str, kind: ColumnKind) -> float | int:
    """Convert one cell in the slow path; raises ValueError when it is not a value of ``kind``."""
    s = text.strip().strip('"').strip()
    if kind == "float":
        return float(s)
    if kind == "int":
        try:
            return int(s)
        except ValueError:
            v = float(s)
            if not np.isfinite(v):
                raise ValueError(s) from None
            return int(round(v))
    dt = datetime.fromisoformat(s)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    delta = dt - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000


class _Parser:
    """Parses blocks of complete lines; collects arrays, line numbers and drops."""

    def __init__(self, delimiter: str, n_fields: int, columns: Sequence[tuple[int, ColumnKind]]) -> None:
        self.delimiter = delimiter
        self.n_fields = n_fields
        self.columns = list(columns)
        self.names = [f"f{i}" for i in range(n_fields)]
        self.include = [f"f{i}" for i, _ in self.columns]
        self.types = {f"f{i}": _arrow_type(k) for i, k in self.columns}
        self.out: list[list[np.ndarray]] = [[] for _ in self.columns]
        self.out_lines: list[np.ndarray] = []
        self.drops = DropLog()
        self.n_rows = 0

    # -- fast path ---------------------------------------------------------------------------
    def _arrow(self, block: bytes, use_threads: bool) -> pa.Table:
        return pacsv.read_csv(
            pa.BufferReader(block),
            read_options=pacsv.ReadOptions(column_names=self.names, use_threads=use_threads,
                                           block_size=max(1 << 20, min(len(block) + 1, 1 << 26))),
            parse_options=pacsv.ParseOptions(delimiter=self.delimiter, ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(column_types=self.types, include_columns=self.include,
                                                 null_values=[""], strings_can_be_null=False,
                                                 quoted_strings_can_be_null=True),
        )

    def _take_table(self, table: pa.Table, first_line: int) -> None:
        n = table.num_rows
        lines = np.arange(first_line, first_line + n, dtype=np.int64)
        valid = np.ones(n, dtype=bool)
        cols = []
        for (_, kind), name in zip(self.columns, self.include):
            col = table.column(name)
            if col.null_count:
                valid &= ~np.asarray(col.is_null().to_numpy(zero_copy_only=False), dtype=bool)
                col = col.fill_null(0)
            if kind in ("iso", "iso_tz"):
                col = col.cast(pa.int64())
            cols.append(np.asarray(col.to_numpy()))
        self.n_rows += n
        if not valid.all():
            self.drops.add("missing_value", lines[~valid])
            lines = lines[valid]
            cols = [c[valid] for c in cols]
        for store, c in zip(self.out, cols):
            store.append(c)
        self.out_lines.append(lines)

    # -- slow path ---------------------------------------------------------------------------
    def _python_lines(self, block: bytes, first_line: int, unterminated_last: bool) -> None:
        raw_lines = block.split(b"\n")
        if raw_lines and raw_lines[-1] == b"":
            raw_lines.pop()
        vals: list[list[float | int]] = [[] for _ in self.columns]
        kept: list[int] = []
        last_index = len(raw_lines) - 1
        for j, raw in enumerate(raw_lines):
            line_no = first_line + j
            try:
                text = raw.decode("utf-8").rstrip("\r")
            except UnicodeDecodeError:
                self.n_rows += 1
                self.drops.add("undecodable", [line_no])
                continue
            if not text.strip():
                continue
            self.n_rows += 1
            truncated = unterminated_last and j == last_index
            if '"' in text:
                fields = next(csv.reader([text], delimiter=self.delimiter))
            else:
                fields = text.split(self.delimiter)
            if len(fields) != self.n_fields:
                reason = "too_few_columns" if len(fields) < self.n_fields else "too_many_columns"
                self.drops.add("truncated_last_line" if truncated else reason, [line_no])
                continue
            row: list[float | int] = []
            reason = ""
            for i, kind in self.columns:
                cell = fields[i].strip()
                if not cell or cell == '""':
                    reason = "missing_value"
                    break
                try:
                    row.append(_py_value(cell, kind))
                except (ValueError, OverflowError):
                    reason = "non_numeric"
                    break
            if reason:
                self.drops.add("truncated_last_line" if truncated else reason, [line_no])
                continue
            for store, v in zip(vals, row):
                store.append(v)
            kept.append(line_no)
        for store, (_, kind), v in zip(self.out, self.columns, vals):
            store.append(np.asarray(v, dtype=np.float64 if kind == "float" else np.int64))
        self.out_lines.append(np.asarray(kept, dtype=np.int64))

    # -- dispatch ----------------------------------------------------------------------------
    @staticmethod
    def _has_blank_line(block: bytes) -> bool:
        return block.startswith((b"\n", b"\r\n")) or b"\n\n" in block or b"\n\r\n" in block

    def feed(self, block: bytes, first_line: int, unterminated_last: bool, use_threads: bool = True) -> None:
        """Parse ``block`` (complete lines; the last may lack its terminator if ``unterminated_last``)."""
        if not block:
            return
        if not self._has_blank_line(block):
            try:
                table = self._arrow(block, use_threads)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                pass
            else:
                n_lines = block.count(b"\n") + (0 if block.endswith(b"\n") else 1)
                if table.num_rows == n_lines:
                    self._take_table(table, first_line)
                    return
        n_lines = block.count(b"\n") + (0 if block.endswith(b"\n") else 1)
        if n_lines <= _SUB_BLOCK_LINES:
            self._python_lines(block, first_line, unterminated_last)
            return
        # split into sub-blocks and retry each with pyarrow
        nl = np.flatnonzero(np.frombuffer(block, dtype=np.uint8) == 10)
        start, line = 0, first_line
        for k in range(0, len(nl), _SUB_BLOCK_LINES):
            end = int(nl[min(k + _SUB_BLOCK_LINES, len(nl)) - 1]) + 1
            sub = block[start:end]
            self.feed(sub, line, False, use_threads=False) if len(sub) else None
            line += sub.count(b"\n")
            start = end
        if start < len(block):
            self._python_lines(block[start:], line, unterminated_last)

    def result(self, sha256: str) -> ParsedColumns:
        arrays = []
        for store, (_, kind) in zip(self.out, self.columns):
            dtype = np.float64 if kind == "float" else np.int64
            arrays.append(np.concatenate(store).astype(dtype, copy=False) if store else np.empty(0, dtype))
        lines = np.concatenate(self.out_lines) if self.out_lines else np.empty(0, np.int64)
        return ParsedColumns(arrays, lines, self.n_rows, self.drops, sha256)


def parse_columns(
    path: str | Path,
    *,
    data_offset: int,
    first_line: int,
    delimiter: str,
    n_fields: int,
    columns: Sequence[tuple[int, ColumnKind]],
    block_bytes: int = 1 << 24,
) -> ParsedColumns:
    """Parse typed columns from the data rows of a delimited text file.

    Parameters
    ----------
    path : str or Path
        The file.
    data_offset : int
        Byte offset of the first data row (just after the header line).
    first_line : int
        1-based line number of the line starting at ``data_offset``.
    delimiter : str
        One-character field delimiter.
    n_fields : int
        Number of fields every row must have (the header's field count).
    columns : sequence of (field index, kind)
        The columns to return; ``kind`` is ``"int"``, ``"float"``, ``"iso"`` (naive ISO 8601,
        taken as UTC) or ``"iso_tz"`` (ISO 8601 with an offset).
    block_bytes : int, optional
        Bytes read per block; bounds memory use for very large files.

    Returns
    -------
    ParsedColumns
        Kept rows (arrays and line numbers), the row count and the drops by reason, and the
        SHA-256 of the whole file.
    """
    parser = _Parser(delimiter, n_fields, columns)
    digest = hashlib.sha256()
    line = first_line
    carry = b""
    pos = 0
    with open(path, "rb") as fh:
        while True:
            chunk = fh.read(block_bytes)
            if not chunk:
                break
            digest.update(chunk)
            if pos < data_offset:
                skip = min(len(chunk), data_offset - pos)
                pos += len(chunk)
                chunk = chunk[skip:]
            else:
                pos += len(chunk)
            data = carry + chunk if carry else chunk
            cut = data.rfind(b"\n") + 1
            if cut == 0:
                carry = data
                continue
            block, carry = data[:cut], data[cut:]
            parser.feed(block, line, False)
            line += block.count(b"\n")
    if carry:
        parser.feed(carry, line, True)
    return parser.result(digest.hexdigest())
