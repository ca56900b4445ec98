"""Fast, exact CSV parsing of a few typed columns, with per-line accounting of bad rows.

The common case (a well-formed file) is parsed block by block (64 MiB) with
:func:`pyarrow.csv.read_csv` on zero-copy slices of the memory-mapped file, while a worker
thread hashes it (SHA-256). A block that pyarrow rejects (a short row, a non-numeric cell, a
blank line...) is handled without leaving vectorised code in the usual cases, and every dropped
row carries its exact 1-based file line number.

Row-level reasons recorded here (see :class:`DropLog`):

``too_few_columns`` / ``too_many_columns``
    the row does not have as many fields as the header.
``truncated_last_line``
    the last line of the file has no line terminator and cannot be parsed, or its last cell
    has fewer decimals than in the line before (an interrupted write: ``0.1234`` -> ``0.12``).
    Otherwise an unterminated last line is kept.
``non_numeric``
    a needed cell is not a number (or not an ISO 8601 time for a time column), or is an
    integer or time outside the int64 range (e.g. a 20-digit epoch from a corrupted line), or
    the row's ``"`` quoting cannot be split.
``missing_value``
    a needed cell is empty.

Bytes that are not UTF-8 only matter in the cells that are read (then ``non_numeric``).

Paths: (1) pyarrow with typed columns, multi-threaded, for blocks without a problem;
(2) for a block pyarrow rejects: pyarrow again with the needed columns as strings (and, if a
row has a wrong field count, single-threaded with an invalid-row handler, which then reports
exact row numbers), then each column cast by pyarrow, masking or bisecting down to the few
failing cells; (3) line by line in Python, in sub-blocks of 1024 lines retried with (1)/(2)
first, for ISO 8601 time columns in a rejected block, bytes that are not UTF-8, or a quoted
field running across lines. (2) and (3) give identical results (tested).

``"`` quoting is honoured only in files whose header or first rows use it: pyarrow lets a
stray quote run a field across newlines, which would swallow every later row.
"""

from __future__ import annotations

import csv
import hashlib
import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from ..types import DropReason

ColumnKind = Literal["int", "float", "iso", "iso_tz"]

_MAX_FIRST_LINES = 5
_SUB_BLOCK_LINES = 1024
_VECTOR_FALLBACK = True  # tests switch it off to compare with the line-by-line path
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1


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


class RowLines:
    """1-based file line of each kept row, materialised only when asked for.

    The fast path stores a run ``(first_line, count)`` per block instead of an array, so a
    clean file of 60 M rows never allocates its line numbers; readers ask for them only to
    report dropped rows.
    """

    __slots__ = ("_array", "_pieces", "_n")

    def __init__(self, pieces: list[tuple[int, int] | np.ndarray]) -> None:
        self._pieces = pieces
        self._n = sum(p[1] if isinstance(p, tuple) else p.shape[0] for p in pieces)
        self._array: np.ndarray | None = None

    def __len__(self) -> int:
        return self._n

    def array(self) -> np.ndarray:
        """The line numbers as an int64 array (cached)."""
        if self._array is None:
            parts = [np.arange(p[0], p[0] + p[1], dtype=np.int64) if isinstance(p, tuple) else p
                     for p in self._pieces]
            self._array = np.concatenate(parts) if parts else np.empty(0, np.int64)
        return self._array

    def __getitem__(self, sel: object) -> np.ndarray:
        return self.array()[sel]  # type: ignore[index]

    def __array__(self, dtype: object = None, copy: object = None) -> np.ndarray:
        a = self.array()
        return a if dtype is None else a.astype(dtype)


@dataclass(frozen=True, slots=True)
class ParsedColumns:
    """Columns parsed from the data rows of one file.

    Attributes
    ----------
    arrays : list of ndarray
        One array per requested column: int64 for ``"int"``, float64 for ``"float"``,
        int64 nanoseconds since the Unix epoch for ``"iso"`` / ``"iso_tz"``.
    lines : RowLines
        1-based file line number of every kept row (``lines.array()``; indexable).
    n_rows : int
        Data rows seen (kept + dropped at parse level; blank lines are not rows).
    drops : DropLog
        Rows dropped while parsing, by reason.
    sha256 : str
        Hex SHA-256 of the whole file's bytes.
    blank_lines : ndarray
        Sorted 1-based file lines after the header that hold only whitespace (not rows).
        With them, ``lines - first_line - (blank lines before)`` is a row's index among all
        data rows (kept or dropped): its sample slot in a file read at a stated rate.
    """

    arrays: list[np.ndarray]
    lines: RowLines
    n_rows: int
    drops: DropLog
    sha256: str
    blank_lines: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))


def _arrow_type(kind: ColumnKind) -> pa.DataType:
    return {
        "int": pa.int64(),
        "float": pa.float64(),
        "iso": pa.timestamp("ns"),
        "iso_tz": pa.timestamp("ns", "UTC"),
    }[kind]


def _py_value(text: str, kind: ColumnKind) -> float | int:
    """Convert one cell in the slow path.

    Raises ValueError when it is not a value of ``kind``, including an integer (or an ISO time
    in nanoseconds) outside the int64 range, which no output array could hold.
    """
    s = text.strip().strip('"').strip()
    if kind == "float":
        return float(s)
    if kind == "int":
        try:
            v = int(s)
        except ValueError:
            f = float(s)
            if not np.isfinite(f):
                raise ValueError(s) from None
            v = int(round(f))
    else:
        dt = datetime.fromisoformat(s)
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=timezone.utc)
        delta = dt - _EPOCH
        v = (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000
    if not _INT64_MIN <= v <= _INT64_MAX:
        raise ValueError(f"{s!r} is outside the int64 range")
    return v


_CAST_ERROR = re.compile(r"Failed to parse string: '(.*)' as a scalar of type", re.S)
_MAX_BAD_VALUES = 8


def _cast_cells(col: pa.Array, kind: ColumnKind) -> tuple[np.ndarray, np.ndarray]:
    """Cast a string column cell by cell: values and a mask of the cells that are numbers.

    pyarrow casts the column. When the cast fails, the failing text (named in pyarrow's
    error) is masked everywhere at once and the cast retried, for up to
    :data:`_MAX_BAD_VALUES` distinct bad texts; beyond that the column is bisected so the
    failing cells are found with O(log n) casts each. Only the masked or isolated cells are
    tried with the Python rules of the line-by-line path, so both paths accept exactly the
    same cells. Null cells come back as not ok (the caller tells empty from bad by nulls).
    """
    dtype = np.float64 if kind == "float" else np.int64
    typ = pa.float64() if kind == "float" else pa.int64()
    n = len(col)
    out = np.zeros(n, dtype=dtype)
    ok = np.zeros(n, dtype=bool)
    suspect = np.zeros(n, dtype=bool)
    current = col
    done = False
    for _ in range(_MAX_BAD_VALUES):
        try:
            cast = pc.cast(current, typ)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            m = _CAST_ERROR.search(str(exc))
            if not m:
                break
            same = np.asarray(pc.equal(current, m.group(1)).fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)
            if not same.any():
                break
            suspect |= same
            current = pc.if_else(pa.array(same), pa.scalar(None, pa.string()), current)
            continue
        out[:] = cast.fill_null(0).to_numpy(zero_copy_only=False)
        ok[:] = ~np.asarray(cast.is_null().to_numpy(zero_copy_only=False), dtype=bool)
        done = True
        break
    if not done:
        _bisect_cast(current, kind, typ, out, ok)
    checked: dict[str, tuple[bool, float | int]] = {}
    for i in np.flatnonzero(suspect):
        cell = col[int(i)].as_py()
        if cell not in checked:
            try:
                checked[cell] = (True, _py_value(cell, kind))
            except (ValueError, OverflowError):
                checked[cell] = (False, 0)
        ok[i], out[i] = checked[cell]
    return out, ok


def _bisect_cast(col: pa.Array, kind: ColumnKind, typ: pa.DataType, out: np.ndarray, ok: np.ndarray) -> None:
    """Cast by halves down to 16 cells, then cell by cell with the Python rules (fills out/ok)."""
    stack = [(0, len(col))]
    while stack:
        lo, hi = stack.pop()
        part = col.slice(lo, hi - lo)
        try:
            cast = pc.cast(part, typ)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            if hi - lo <= 16:
                for i in range(lo, hi):
                    cell = col[i].as_py()
                    if cell is None:
                        continue
                    try:
                        out[i] = _py_value(cell, kind)
                        ok[i] = True
                    except (ValueError, OverflowError):
                        pass
            else:
                mid = (lo + hi) // 2
                stack.extend(((mid, hi), (lo, mid)))
            continue
        out[lo:hi] = cast.fill_null(0).to_numpy(zero_copy_only=False)
        ok[lo:hi] = ~np.asarray(cast.is_null().to_numpy(zero_copy_only=False), dtype=bool)


class _Parser:
    """Parses blocks of complete lines; collects arrays, line numbers and drops."""

    def __init__(self, delimiter: str, n_fields: int, columns: Sequence[tuple[int, ColumnKind]],
                 decimal: str = ".", quoted: bool = False) -> None:
        self.delimiter = delimiter
        self.decimal = decimal
        # Quoting is honoured only for files that use it: pyarrow lets a stray quote run a field
        # across newlines to the end of the file, which would swallow every later row.
        self.quoted = quoted
        self.quote_char: str | bool = '"' if quoted else False
        self.n_fields = n_fields
        self.columns = list(columns)
        self.names = [f"f{i}" for i in range(n_fields)]
        self.include = [f"f{i}" for i, _ in self.columns]
        self.types = {f"f{i}": _arrow_type(k) for i, k in self.columns}
        self.out: list[list[np.ndarray]] = [[] for _ in self.columns]
        self.out_lines: list[tuple[int, int] | np.ndarray] = []
        self.drops = DropLog()
        self.n_rows = 0
        self.blank_lines: list[np.ndarray] = []  # 1-based lines holding only whitespace (not rows)

    # -- fast path ---------------------------------------------------------------------------
    def _arrow(self, block: bytes | memoryview, use_threads: bool) -> pa.Table:
        return pacsv.read_csv(
            pa.BufferReader(pa.py_buffer(block)),
            read_options=pacsv.ReadOptions(column_names=self.names, use_threads=use_threads,
                                           block_size=1 << 20),
            parse_options=pacsv.ParseOptions(delimiter=self.delimiter, ignore_empty_lines=False,
                                             quote_char=self.quote_char),
            convert_options=pacsv.ConvertOptions(column_types=self.types, include_columns=self.include,
                                                 null_values=[""], strings_can_be_null=False,
                                                 quoted_strings_can_be_null=True, decimal_point=self.decimal),
        )

    def _take_table(self, table: pa.Table, first_line: int) -> None:
        n = table.num_rows
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
        if valid.all():
            self.out_lines.append((first_line, n))
        else:
            lines = np.arange(first_line, first_line + n, dtype=np.int64)
            self.drops.add("missing_value", lines[~valid])
            self.out_lines.append(lines[valid])
            cols = [c[valid] for c in cols]
        for store, c in zip(self.out, cols):
            store.append(c)

    # -- slow path ---------------------------------------------------------------------------
    def _python_lines(self, block: bytes | memoryview, first_line: int, unterminated_last: bool) -> None:
        raw_lines = bytes(block).split(b"\n")
        if raw_lines and raw_lines[-1] == b"":
            raw_lines.pop()
        vals: list[list[float | int]] = [[] for _ in self.columns]
        kept: list[int] = []
        blank: list[int] = []
        last_index = len(raw_lines) - 1
        for j, raw in enumerate(raw_lines):
            line_no = first_line + j
            text = raw.decode("utf-8", errors="replace").rstrip("\r")
            if not text.strip():
                blank.append(line_no)
                continue
            self.n_rows += 1
            truncated = unterminated_last and j == last_index
            if self.quoted and '"' in text:
                try:
                    fields = next(csv.reader([text], delimiter=self.delimiter), [])
                except csv.Error:  # e.g. a bare CR next to a quote
                    self.drops.add("truncated_last_line" if truncated else "non_numeric", [line_no])
                    continue
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
                    row.append(_py_value(cell.replace(self.decimal, ".") if self.decimal != "." else cell, kind))
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
        self.blank_lines.append(np.asarray(blank, dtype=np.int64))

    # -- dispatch ----------------------------------------------------------------------------
    def _read_strings(self, block: bytes | memoryview, invalid: list[tuple[int | None, int, str]]) -> pa.Table:
        """The needed columns as strings; rows with a wrong field count go to ``invalid``."""

        def on_invalid(row: pacsv.InvalidRow) -> str:
            invalid.append((row.number, row.actual_columns, row.text))
            return "skip"

        threads = not invalid  # first try: threads, no handler; row numbers need one thread
        return pacsv.read_csv(
            pa.BufferReader(pa.py_buffer(block)),
            read_options=pacsv.ReadOptions(column_names=self.names, use_threads=threads,
                                           block_size=1 << 20 if threads else 1 << 24),
            parse_options=pacsv.ParseOptions(delimiter=self.delimiter, ignore_empty_lines=False,
                                             quote_char=self.quote_char,
                                             invalid_row_handler=None if threads else on_invalid),
            convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in self.include},
                                                 include_columns=self.include, null_values=[""],
                                                 strings_can_be_null=True, quoted_strings_can_be_null=True),
        )

    def _vector_fallback(self, block: bytes | memoryview, first_line: int, unterminated_last: bool) -> int | None:
        """Path (2): returns lines consumed, or None when this block needs the Python path."""
        if not _VECTOR_FALLBACK or any(k in ("iso", "iso_tz") for _, k in self.columns):
            return None
        try:  # pyarrow decodes an invalid row's text as UTF-8 before calling the handler
            if np.frombuffer(block, dtype=np.uint8).max(initial=0) >= 0x80:
                str(block, "utf-8")
        except UnicodeDecodeError:
            return None
        invalid: list[tuple[int | None, int, str]] = []
        try:
            try:
                table = self._read_strings(block, invalid)
            except pa.ArrowInvalid:  # a row with a wrong number of fields: find them, one thread
                invalid.append((None, 0, ""))
                table = self._read_strings(block, invalid)
                invalid.pop(0)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return None
        if any(num is None for num, _, _ in invalid):
            return None
        n_lines = table.num_rows + len(invalid)
        if self.quoted and n_lines != _count_lines(block):
            return None  # a quoted field ran across lines: only the line-by-line path is exact
        is_row = np.ones(n_lines, dtype=bool)
        if invalid:
            is_row[np.asarray([num for num, _, _ in invalid], dtype=np.int64) - 1] = False
        lines = first_line + np.flatnonzero(is_row).astype(np.int64)  # file line of each table row
        last_line = first_line + n_lines - 1
        ws_lines = []
        for num, actual, text in invalid:
            line_no = first_line + int(num) - 1  # type: ignore[arg-type]
            if not text.strip(" \t\r\x0b\x0c"):
                ws_lines.append(line_no)
                continue  # whitespace-only line: not a row
            self.n_rows += 1
            if unterminated_last and line_no == last_line:
                self.drops.add("truncated_last_line", [line_no])
            else:
                self.drops.add("too_few_columns" if actual < self.n_fields else "too_many_columns", [line_no])
        n = table.num_rows
        undecided = np.ones(n, dtype=bool)
        reason_missing = np.zeros(n, dtype=bool)
        reason_bad = np.zeros(n, dtype=bool)
        all_null = np.ones(n, dtype=bool)
        values: list[np.ndarray] = []
        for (_, kind), name in zip(self.columns, self.include):
            col = table.column(name).combine_chunks()
            null = np.asarray(col.is_null().to_numpy(zero_copy_only=False), dtype=bool)
            if self.decimal != ".":
                col = pc.replace_substring(col, self.decimal, ".")
            vals, ok = _cast_cells(col, kind)
            all_null &= null
            reason_missing |= undecided & null
            reason_bad |= undecided & ~null & ~ok
            undecided &= ~null & ok
            values.append(vals)
        blank = np.zeros(n, dtype=bool)
        if all_null.any():  # a blank line or a row of empty cells: look at the bytes
            data = bytes(block)
            ends = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10)
            starts = np.concatenate(([0], ends + 1))
            stops = np.concatenate((ends, [len(data)]))
            for r in np.flatnonzero(all_null):
                k = int(lines[r] - first_line)
                if not data[starts[k]:stops[k]].strip():
                    blank[r] = True
        reason_missing &= ~blank
        self.blank_lines.append(np.sort(np.concatenate((np.asarray(ws_lines, dtype=np.int64), lines[blank]))))
        self.n_rows += int(n - blank.sum())
        truncated = np.zeros(n, dtype=bool)
        if unterminated_last and n and lines[-1] == last_line and (reason_missing[-1] or reason_bad[-1]):
            truncated[-1] = True
            self.drops.add("truncated_last_line", lines[-1:])
        self.drops.add("missing_value", lines[reason_missing & ~truncated])
        self.drops.add("non_numeric", lines[reason_bad & ~truncated])
        keep = undecided & ~blank
        for store, vals in zip(self.out, values):
            store.append(vals[keep])
        self.out_lines.append(lines[keep])
        return n_lines

    def feed(self, block: bytes | memoryview, first_line: int, unterminated_last: bool,
             use_threads: bool = True) -> int:
        """Parse ``block`` (complete lines; the last may lack its terminator if ``unterminated_last``).

        Returns the number of lines consumed. pyarrow keeps blank lines as all-null rows, so
        in the fast path rows and lines correspond one to one without counting; a block that
        pyarrow rejects, or that has an all-null row (a blank line or a row of empty cells),
        goes to the careful path, which keeps line numbers exact.
        """
        if not len(block):
            return 0
        try:
            table = self._arrow(block, use_threads)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
        else:
            if not self._has_all_null_row(table) and (not self.quoted or table.num_rows == _count_lines(block)):
                self._take_table(table, first_line)
                return table.num_rows
        consumed = self._vector_fallback(block, first_line, unterminated_last)
        if consumed is not None:
            return consumed
        data = bytes(block)
        n_lines = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
        if n_lines <= _SUB_BLOCK_LINES:
            self._python_lines(data, first_line, unterminated_last)
            return n_lines
        # split into sub-blocks and retry each with pyarrow
        nl = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10)
        start, line = 0, first_line
        for k in range(0, len(nl), _SUB_BLOCK_LINES):
            end = int(nl[min(k + _SUB_BLOCK_LINES, len(nl)) - 1]) + 1
            line += self.feed(data[start:end], line, False, use_threads=False)
            start = end
        if start < len(data):
            self._python_lines(data[start:], line, unterminated_last)
        return n_lines

    def _has_all_null_row(self, table: pa.Table) -> bool:
        if not any(table.column(name).null_count for name in self.include):
            return False
        all_null = None
        for name in self.include:
            is_null = np.asarray(table.column(name).is_null().to_numpy(zero_copy_only=False), dtype=bool)
            all_null = is_null if all_null is None else all_null & is_null
        return bool(all_null is not None and all_null.any())

    def _fields(self, raw: bytes) -> list[str]:
        text = raw.decode("utf-8", errors="replace").rstrip("\r")
        if self.quoted and '"' in text:
            try:
                return next(csv.reader([text], delimiter=self.delimiter), [])
            except csv.Error:
                return []
        return text.split(self.delimiter)

    def _decimals(self, cell: str) -> int | None:
        c = cell.strip().strip('"')
        if not c or "e" in c.lower() or not c.lstrip("+-").replace(self.decimal, "", 1).isdigit():
            return None
        return len(c.split(self.decimal, 1)[1]) if self.decimal in c else 0

    def last_cell_cut(self, tail: bytes, previous: bytes) -> bool:
        """True if an unterminated last line looks cut inside its last value.

        A write interrupted mid-line leaves a last line without terminator whose last cell
        may still parse (``0.1234`` cut to ``0.12``). When that cell is read and has fewer
        decimals than the same cell of the line before, the line is taken as truncated.
        (A writer with variable precision can lose a good last sample to this rule, but only
        when its file also lacks the final newline.)
        """
        fields, before = self._fields(tail), self._fields(previous)
        last = len(fields) - 1
        if len(fields) != self.n_fields or len(before) != self.n_fields or last not in {i for i, _ in self.columns}:
            return False
        kind = next(k for i, k in self.columns if i == last)
        if kind not in ("int", "float"):
            return len(fields[last].strip()) < len(before[last].strip())
        now, then = self._decimals(fields[last]), self._decimals(before[last])
        return now is not None and then is not None and now < then

    def result(self, sha256: str) -> ParsedColumns:
        arrays = []
        for store, (_, kind) in zip(self.out, self.columns):
            dtype = np.float64 if kind == "float" else np.int64
            arr = store[0] if len(store) == 1 else (np.concatenate(store) if store else np.empty(0, dtype))
            arrays.append(arr.astype(dtype, copy=False))
        blank = np.concatenate(self.blank_lines) if self.blank_lines else np.empty(0, np.int64)
        return ParsedColumns(arrays, RowLines(self.out_lines), self.n_rows, self.drops, sha256, np.sort(blank))


def parse_columns(
    path: str | Path,
    *,
    data_offset: int,
    first_line: int,
    delimiter: str,
    n_fields: int,
    columns: Sequence[tuple[int, ColumnKind]],
    block_bytes: int = 1 << 26,
    decimal: str = ".",
    quoted: bool = False,
    newline: str = "\n",
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
    decimal : str, optional
        Decimal separator of the numbers (``","`` in files written with a comma locale).
    quoted : bool, optional
        Honour ``"`` quoting (for files whose header or first rows use it).
    newline : {"\\n", "\\r"}, optional
        ``"\\r"`` for old-Mac files whose lines end with a bare CR (see
        :attr:`~repsense.io.sniff.Sniff.newline`): the file is then read into memory and each CR
        taken as a line end (same byte offsets and line numbers; the hash is of the original
        bytes). Such files come from old tools and are small; LF/CRLF files are memory-mapped.

    Returns
    -------
    ParsedColumns
        Kept rows (arrays and line numbers), the row count and the drops by reason, and the
        SHA-256 of the whole file.
    """
    parser = _Parser(delimiter, n_fields, columns, decimal, quoted)
    digest = hashlib.sha256()
    if os.path.getsize(path) == 0:
        return parser.result(digest.hexdigest())
    if newline == "\r":
        raw = Path(path).read_bytes()
        digest.update(raw)
        data = raw.replace(b"\r", b"\n")
        del raw
        _feed_all(parser, memoryview(data), len(data), data_offset, first_line, block_bytes)
        return parser.result(digest.hexdigest())
    # The file is memory-mapped: blocks are zero-copy slices handed to pyarrow, and the whole
    # file is hashed in a worker thread (hashlib releases the GIL) while pyarrow parses.
    with pa.memory_map(str(path), "r") as mm, ThreadPoolExecutor(max_workers=1) as hasher:
        size = mm.size()
        view = memoryview(mm.read_buffer(size))
        hashed = hasher.submit(digest.update, view)
        _feed_all(parser, view, size, data_offset, first_line, block_bytes)
        hashed.result()
        del view
    return parser.result(digest.hexdigest())


def _feed_all(parser: _Parser, view: memoryview, size: int, data_offset: int, first_line: int,
              block_bytes: int) -> None:
    """Feed the data rows of ``view`` (LF line ends) to ``parser`` block by block."""
    line = first_line
    pos = min(data_offset, size)
    while pos < size:
        end = min(size, pos + block_bytes)
        cut = _line_end_before(view, pos, end)
        if cut <= pos:  # no line end in this block (a very long line, or the unterminated last one)
            nxt = _line_end_after(view, end, size)
            if nxt is None:
                break
            cut = nxt
        line += parser.feed(view[pos:cut], line, False)
        pos = cut
    if pos < size:
        tail = view[pos:size]
        prev_start = _line_end_before(view, data_offset, pos - 1) if pos > data_offset else pos
        if pos > data_offset and parser.last_cell_cut(bytes(tail), bytes(view[prev_start:pos - 1])):
            parser.n_rows += 1
            parser.drops.add("truncated_last_line", [line])
        else:
            parser.feed(tail, line, True)


def _count_lines(block: bytes | memoryview) -> int:
    """Lines in ``block`` (a last line without terminator counts)."""
    arr = np.frombuffer(block, dtype=np.uint8)
    n = int(np.count_nonzero(arr == 10))
    return n + (1 if arr.size and arr[-1] != 10 else 0)


def _line_end_before(view: memoryview, start: int, end: int) -> int:
    """Offset just after the last ``\\n`` in ``view[start:end]`` (``start`` if there is none)."""
    window = 1 << 16
    hi = end
    while hi > start:
        lo = max(start, hi - window)
        k = view[lo:hi].tobytes().rfind(b"\n")
        if k >= 0:
            return lo + k + 1
        hi = lo
        window *= 4
    return start


def _line_end_after(view: memoryview, start: int, size: int) -> int | None:
    """Offset just after the first ``\\n`` at or after ``start`` (None if there is none)."""
    window = 1 << 16
    lo = start
    while lo < size:
        hi = min(size, lo + window)
        k = view[lo:hi].tobytes().find(b"\n")
        if k >= 0:
            return lo + k + 1
        lo = hi
        window *= 4
    return None


@dataclass(frozen=True, slots=True)
class ParsedBlock:
    """Kept rows of one block of a file read by :class:`ColumnStream`.

    Attributes
    ----------
    arrays : list of ndarray
        One array per requested column (dtypes as in :class:`ParsedColumns`).
    lines : RowLines
        1-based file line of every kept row of the block.
    blank_lines : ndarray of int64
        Sorted whitespace-only lines of the block (not rows).
    """

    arrays: list[np.ndarray]
    lines: RowLines
    blank_lines: np.ndarray


class ColumnStream:
    """:func:`parse_columns` one block at a time, with plain reads (no memory map).

    Iterating yields a :class:`ParsedBlock` per block of about ``block_bytes`` bytes (complete
    lines; a line longer than a block is read whole). The rows, line numbers and drop reasons
    are those of :func:`parse_columns` on the same file: the parser is the same and its result
    does not depend on where blocks end (tested). ``n_rows``, ``drops`` and ``sha256`` (of the
    whole file's bytes, hashed in a worker thread while blocks are parsed) are complete once
    the iteration has ended.

    The file is read with ``read()`` into one block-sized buffer at a time rather than
    memory-mapped, so the process holds one block of the file, never pages of all of it.
    """

    def __init__(self, path: str | Path, *, data_offset: int, first_line: int, delimiter: str, n_fields: int,
                 columns: Sequence[tuple[int, ColumnKind]], block_bytes: int = 1 << 26, decimal: str = ".",
                 quoted: bool = False, newline: str = "\n") -> None:
        if block_bytes < 1:
            raise ValueError(f"block_bytes must be >= 1, got {block_bytes}")
        self.path = path
        self.parser = _Parser(delimiter, n_fields, columns, decimal, quoted)
        self._data_offset = data_offset
        self._first_line = first_line
        self._block_bytes = block_bytes
        self._newline = newline
        self.sha256 = ""
        self.done = False

    @property
    def n_rows(self) -> int:
        """Data rows seen so far (kept + dropped at parse level)."""
        return self.parser.n_rows

    @property
    def drops(self) -> DropLog:
        """Rows dropped while parsing, by reason (shared with the caller's later drops)."""
        return self.parser.drops

    def _drain(self) -> ParsedBlock | None:
        p = self.parser
        if not p.out_lines and not p.blank_lines:
            return None
        arrays = []
        for store, (_, kind) in zip(p.out, p.columns):
            dtype = np.float64 if kind == "float" else np.int64
            arr = store[0] if len(store) == 1 else (np.concatenate(store) if store else np.empty(0, dtype))
            arrays.append(arr.astype(dtype, copy=False))
            store.clear()
        lines = RowLines(p.out_lines)
        p.out_lines = []
        blank = np.sort(np.concatenate(p.blank_lines)) if p.blank_lines else np.empty(0, np.int64)
        p.blank_lines = []
        return ParsedBlock(arrays, lines, blank)

    def __iter__(self):  # type: ignore[no-untyped-def]
        digest = hashlib.sha256()
        parser = self.parser
        line = self._first_line
        with open(self.path, "rb") as fh, ThreadPoolExecutor(max_workers=1) as hasher:
            head = fh.read(self._data_offset)
            hashed = hasher.submit(digest.update, head)
            carry = b""
            prev_line = b""  # the last complete line fed (without its terminator)
            any_fed = False
            while True:
                chunk = fh.read(self._block_bytes)
                hashed.result()
                if not chunk:
                    break
                hashed = hasher.submit(digest.update, chunk)  # bytes are immutable: safe to share
                if self._newline == "\r":
                    chunk = chunk.replace(b"\r", b"\n")
                data = carry + chunk if carry else chunk
                cut = data.rfind(b"\n") + 1
                if cut == 0:  # no line end yet: a line longer than the block
                    carry = data
                    continue
                block, carry = data[:cut], data[cut:]
                del data, chunk
                k = block.rfind(b"\n", 0, cut - 1)
                prev_line = block[k + 1:cut - 1]
                line += parser.feed(memoryview(block), line, False)
                any_fed = True
                del block
                out = self._drain()
                if out is not None:
                    yield out
            hashed.result()
        self.sha256 = digest.hexdigest()
        if carry:
            if any_fed and parser.last_cell_cut(carry, prev_line):
                parser.n_rows += 1
                parser.drops.add("truncated_last_line", [line])
            else:
                parser.feed(carry, line, True)
                out = self._drain()
                if out is not None:
                    yield out
        self.done = True
