"""Tell what a file is from its content: repsense Parquet, MetaBase CSV, or generic CSV.

Only the first :data:`SNIFF_BYTES` bytes are read. The extension is never trusted.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ..errors import EmptyRecordingError, FormatError

SNIFF_BYTES = 1 << 16
SAMPLE_ROWS = 50
PARQUET_MAGIC = b"PAR1"
_DELIMITERS = (",", ";", "\t", "|")
_COMMA_NUMBER = re.compile(r"^[+-]?\d+,\d+$")
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
METABASE_FIRST = {"epoch (ms)": "ms", "epoc (ms)": "ms", "epoch": "s"}

Kind = Literal["parquet", "metabase", "csv"]


@dataclass(frozen=True, slots=True)
class Sniff:
    """What :func:`sniff_file` found.

    Attributes
    ----------
    kind : {"parquet", "metabase", "csv"}
    header : tuple of str
        Header fields, stripped (empty for Parquet).
    delimiter : str
    data_offset : int
        Byte offset of the line after the header.
    first_line : int
        1-based line number of that line.
    first_row : tuple of str
        Fields of the first non-blank data row (for type sniffing); empty if none in the sample.
    sample_rows : tuple of tuple of str
        Fields of up to :data:`SAMPLE_ROWS` non-blank data rows from the start of the file.
    decimal : str
        Decimal separator: ``","`` when the delimiter is not a comma and the numbers are
        written like ``0,981`` (comma locales), else ``"."``.
    quoted : bool
        The header or the first rows use ``"`` quoting.
    newline : str
        Line terminator: ``"\\n"`` (LF or CRLF), or ``"\\r"`` for old-Mac files whose lines end
        with a bare CR (no LF in the sniffed bytes); readers pass it on to the parser.
    """

    kind: Kind
    header: tuple[str, ...] = ()
    delimiter: str = ","
    data_offset: int = 0
    first_line: int = 2
    first_row: tuple[str, ...] = ()
    sample_rows: tuple[tuple[str, ...], ...] = ()
    decimal: str = "."
    quoted: bool = False
    newline: str = "\n"


def is_number(text: str) -> bool:
    """True if ``text`` is a plain decimal number (no nan/inf)."""
    return bool(_NUMBER.match(text.strip()))


def _split(line: str, delimiter: str, path: str, line_no: int) -> list[str]:
    if '"' in line:
        try:
            return [f.strip() for f in next(csv.reader([line], delimiter=delimiter), [])]
        except csv.Error as exc:  # e.g. a bare CR inside the line next to a quote
            raise FormatError(f"malformed quoted field ({exc}); a stray carriage return or quote in the line",
                              path=path, line=line_no) from None
    return [f.strip() for f in line.split(delimiter)]


def _split_row(line: str, delimiter: str) -> tuple[str, ...] | None:
    """A data row's fields for sniffing; None for a row the csv module cannot split (the parser drops it)."""
    try:
        return tuple(_split(line, delimiter, "", 0))
    except FormatError:
        return None


def _pick_delimiter(header: str, sample_lines: list[str]) -> str:
    best, best_score = ",", -1
    for d in _DELIMITERS:
        n = header.count(d)
        if n == 0:
            continue
        agree = sum(1 for ln in sample_lines if ln.count(d) == n)
        score = agree * 1000 + n
        if score > best_score:
            best, best_score = d, score
    return best


def _reconcile_trailing_delimiter(header: tuple[str, ...], rows: tuple[tuple[str, ...], ...]) -> tuple[str, ...]:
    """Some exporters end every data row (or only the header) with a delimiter: match the field count."""
    if not rows:
        return header
    n = len(header)
    plus = sum(1 for r in rows if len(r) == n + 1 and r[-1] == "")
    if plus * 2 > len(rows):
        return header + ("",)
    minus = sum(1 for r in rows if len(r) == n - 1)
    if header and header[-1] == "" and minus * 2 > len(rows):
        return header[:-1]
    return header


def sniff_file(path: str | Path) -> Sniff:
    """Sniff ``path``.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    Sniff

    Raises
    ------
    EmptyRecordingError
        The file is empty, blank, or has a header and no data row.
    FormatError
        The file is binary (and not Parquet), or has no header line.
    """
    p = str(path)
    with open(path, "rb") as fh:
        head = fh.read(SNIFF_BYTES)
        more = bool(fh.read(1))
    if head.startswith(PARQUET_MAGIC):
        return Sniff("parquet")
    if not head:
        raise EmptyRecordingError("file is empty (0 bytes)", path=p)
    if not head.strip() and not more:
        raise EmptyRecordingError("file is blank (only whitespace)", path=p)
    # Old-Mac files end lines with a bare CR: read them as LF (same byte offsets, same lines).
    newline = "\r" if b"\n" not in head and b"\r" in head else "\n"
    if newline == "\r":
        head = head.replace(b"\r", b"\n")
    bom = 3 if head.startswith(b"\xef\xbb\xbf") else 0
    body = head if not more else head[: head.rfind(b"\n") + 1] or head
    raw_b = body[bom:].split(b"\n")
    offsets, offset = [], bom
    for ln in raw_b:
        offsets.append(offset)
        offset += len(ln) + 1
    header_idx = next((i for i, ln in enumerate(raw_b) if ln.strip()), -1)
    if header_idx < 0:
        raise EmptyRecordingError("file is blank (only whitespace)", path=p)
    header_b = raw_b[header_idx]
    nul = header_b.find(b"\x00")
    if nul >= 0:
        at = offsets[header_idx] + nul
        raise FormatError(f"binary content (NUL byte at offset {at}); not a CSV or repsense Parquet file",
                          path=p, offset=at)
    try:
        header_b.decode("utf-8")
    except UnicodeDecodeError as exc:
        at = offsets[header_idx] + exc.start
        raise FormatError(f"not UTF-8 text (bad byte at offset {at}); not a CSV or repsense Parquet file",
                          path=p, offset=at) from None
    text = body[bom:].decode("utf-8", errors="replace")
    bad = text.count("\ufffd") + text.count("\x00")
    if bad > 0.3 * max(len(text), 1):
        raise FormatError(f"binary content ({bad} of {len(text)} characters in the first {len(body)} bytes are "
                          "not text); not a CSV or repsense Parquet file", path=p, offset=0)
    raw_lines = [ln.decode("utf-8", errors="replace") for ln in raw_b]
    header_line = raw_lines[header_idx].rstrip("\r")
    rest = [ln.rstrip("\r") for ln in raw_lines[header_idx + 1:]]
    numbered = [(header_idx + 2 + k, ln) for k, ln in enumerate(rest) if ln.strip()]
    data_lines = [ln for _, ln in numbered]
    delimiter = _pick_delimiter(header_line, data_lines[:20])
    line_no = header_idx + 1
    header = tuple(_split(header_line, delimiter, p, line_no))
    if header and all(is_number(h) for h in header if h) and any(header):
        raise FormatError("no header line (the first line holds numbers); add a header naming the columns",
                          path=p, line=line_no)
    if not data_lines and not more:
        raise EmptyRecordingError("header only, no data rows", path=p, line=line_no)
    voters = numbered
    if not more and not body.endswith(b"\n") and len(numbered) > 1:
        voters = numbered[:-1]  # an unterminated last line may be cut: it does not vote on column types
    sample_rows = tuple(row for row in (_split_row(ln, delimiter) for _, ln in voters[:SAMPLE_ROWS]) if row is not None)
    header = _reconcile_trailing_delimiter(header, sample_rows)
    first_row = sample_rows[0] if sample_rows else ()
    data_offset = offsets[header_idx + 1] if header_idx + 1 < len(offsets) else len(head)
    kind: Kind = "csv"
    if header and header[0].lower() in METABASE_FIRST and len(header) >= 6 and header[2].lower().startswith("elapsed"):
        kind = "metabase"
    decimal = "."
    if delimiter != ",":
        cells = [c for row in sample_rows for c in row if c]
        comma = sum(1 for c in cells if _COMMA_NUMBER.match(c))
        dot = sum(1 for c in cells if is_number(c) and "." in c)
        if comma > dot:
            decimal = ","
    quoted = '"' in header_line or any('"' in ln for ln in data_lines[:SAMPLE_ROWS])
    return Sniff(kind, header, delimiter, data_offset, line_no + 1, first_row, sample_rows, decimal, quoted, newline)
