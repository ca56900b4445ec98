"""Import mood logs (CSV or JSON Lines): parse, score, validate, deduplicate, store.

Every row ends up in exactly one of: added to the store, already stored (same key and
values: this makes import idempotent), or rejected with a reason in the rejects file.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator, Sequence
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pyarrow as pa

from ..errors import FormatError, InputError
from .instruments import Instrument, ScoreError, build_registry, check_total, score_items
from .pseudonymise import pseudonymise
from .storage import MOOD_SCHEMA, atomic_write_bytes, partition_value, read_mood, write_mood

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_NS_MIN, _NS_MAX = -(2**63), 2**63 - 1
_ITEM_KEY = re.compile(r"item_?(\d+)$")

# Accepted column names (lower case) for each field.
_ALIASES = {
    "participant": ("participant", "participant_id", "pid", "subject", "subject_id"),
    "timestamp": ("timestamp", "time", "datetime", "date_time", "t"),
    "instrument": ("instrument", "scale", "questionnaire"),
    "total": ("total", "score", "value"),
}


@dataclass(frozen=True, slots=True)
class Reject:
    """A row that was not stored: where it was and why. ``raw`` holds no real id when pseudonymising."""

    file: str
    line: int
    reason: str
    raw: str


@dataclass(slots=True)
class ImportReport:
    """Outcome of one import. ``n_rows == n_added + n_already_stored + len(rejects)``."""

    source_file: str
    source_sha256: str
    n_rows: int = 0
    n_added: int = 0
    n_already_stored: int = 0
    rejects: list[Reject] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)
    rejects_path: Path | None = None

    def reject_counts(self) -> dict[str, int]:
        """Number of rejects per kind of reason (the text before the first ':')."""
        counts: dict[str, int] = {}
        for r in self.rejects:
            kind = r.reason.split(":", 1)[0]
            counts[kind] = counts.get(kind, 0) + 1
        return counts


class _RowError(Exception):
    """Reason a row is rejected."""


# --------------------------------------------------------------------------------------- reading


def _detect_format(path: Path, data: bytes) -> str:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    head = data.lstrip()[:1]
    if head == b"{":
        return "jsonl"
    if head:
        return "csv"
    raise FormatError("empty mood log", path=str(path))


def _iter_csv(text: str) -> Iterator[tuple[int, dict[str, Any] | None, list[str], str | None]]:
    """Yield (line, fields, raw values, error) per record; header names lower-cased.

    Each physical line is parsed on its own: a mood log has no multi-line fields, and a stray
    quote in one bad line must not swallow every line after it into one quoted field.
    """
    header: list[str] | None = None
    for line, raw in enumerate(text.splitlines(), start=1):
        try:
            values = next(csv.reader([raw], strict=True), [])
        except csv.Error as exc:
            if header is None:
                yield line, None, [raw], f"bad CSV header: {exc}"
                return
            yield line, None, [raw], f"bad CSV: {exc}"
            continue
        if not values or all(not v.strip() for v in values):
            continue
        if header is None:
            header = [h.strip().lower() for h in values]
            continue
        if len(values) != len(header):
            yield line, None, values, f"wrong field count: {len(values)} fields, header has {len(header)}"
            continue
        yield line, dict(zip(header, values)), values, None


def _iter_jsonl(text: str) -> Iterator[tuple[int, dict[str, Any] | None, str, str | None]]:
    for line, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as exc:
            yield line, None, raw, f"bad JSON: {exc.msg} at column {exc.colno}"
            continue
        if not isinstance(obj, dict):
            yield line, None, raw, "bad JSON: line is not an object"
            continue
        yield line, {str(k).strip().lower(): v for k, v in obj.items()}, raw, None


# --------------------------------------------------------------------------------------- parsing


def _field(row: dict[str, Any], name: str) -> Any:
    for alias in _ALIASES[name]:
        if alias in row:
            value = row[alias]
            if isinstance(value, str):
                value = value.strip()
            if value is not None and value != "":
                return value
    return None


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise _RowError(f"non-numeric value: {what} = {str(value)[:40]!r}")
    try:
        number = float(value)
    except ValueError:
        raise _RowError(f"non-numeric value: {what} = {str(value)[:40]!r}") from None
    if not math.isfinite(number):
        raise _RowError(f"non-numeric value: {what} = {str(value)[:40]!r} is not finite")
    return number


def _items(row: dict[str, Any]) -> list[float]:
    """Item responses from an ``items`` list or ``item1..itemN`` fields (empty fields ignored)."""
    listed = row.get("items")
    if isinstance(listed, str) and listed.strip():
        try:
            listed = json.loads(listed)
        except json.JSONDecodeError:
            raise _RowError("non-numeric value: items is not a JSON list") from None
    numbered: dict[int, Any] = {}
    for key, value in row.items():
        m = _ITEM_KEY.fullmatch(key)
        if m and value is not None and not (isinstance(value, str) and not value.strip()):
            numbered[int(m.group(1))] = value
    if listed not in (None, "") and numbered:
        raise _RowError("wrong item count: both an items list and item columns given")
    if listed not in (None, ""):
        if not isinstance(listed, list):
            raise _RowError("non-numeric value: items is not a list")
        return [_number(v, f"item {i}") for i, v in enumerate(listed, start=1)]
    if not numbered:
        return []
    n = max(numbered)
    missing = [i for i in range(1, n + 1) if i not in numbered]
    if missing:
        raise _RowError(f"wrong item count: item {missing[0]} missing, item {n} given")
    return [_number(numbered[i], f"item {i}") for i in range(1, n + 1)]


def _timestamp(value: Any, zone: ZoneInfo | None) -> tuple[int, int, str]:
    """(UTC ns, original UTC offset s, zone name used) of an ISO 8601 timestamp."""
    if value is None:
        raise _RowError("bad timestamp: missing")
    text = str(value).strip()
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        raise _RowError(f"bad timestamp: {text[:40]!r} is not ISO 8601") from None
    zone_name = ""
    if dt.tzinfo is None:
        if zone is None:
            raise _RowError(f"naive timestamp: {text[:40]!r} has no UTC offset; give one or pass --timezone")
        early = dt.replace(tzinfo=zone, fold=0)
        late = dt.replace(tzinfo=zone, fold=1)
        if early.utcoffset() != late.utcoffset():
            # Either a wall time that happens twice (fold) or never (gap) in this zone.
            back = early.astimezone(timezone.utc).astimezone(zone).replace(tzinfo=None)
            kind = "does not exist (clocks jump forward)" if back != dt else "happens twice (clocks go back)"
            raise _RowError(f"naive timestamp: {text[:40]!r} {kind} in {zone.key}; give the UTC offset")
        dt, zone_name = early, zone.key
    offset = dt.utcoffset()
    assert offset is not None
    ns = (dt - _EPOCH) // timedelta(microseconds=1) * 1000
    if not _NS_MIN <= ns <= _NS_MAX:
        raise _RowError(f"bad timestamp: {text[:40]!r} outside the nanosecond range (1677..2262)")
    return ns, int(offset.total_seconds()), zone_name


def _score(inst: Instrument, items: list[float], given: float | None) -> tuple[float, str]:
    try:
        if items:
            if inst.n_items == 0:
                raise ScoreError(f"wrong item count: {inst.label} takes a total only, got {len(items)} items")
            total = score_items(inst, items)
            check_total(inst, total)
            if given is None:
                return total, "items"
            if abs(given - total) > 1e-9:
                raise ScoreError(f"total mismatch: given {given:g}, items score {total:g}")
            return total, "items+given"
        if given is None:
            raise ScoreError("no score: neither item responses nor a total")
        check_total(inst, given)
        return given, "given"
    except ScoreError as exc:
        raise _RowError(str(exc)) from None


# --------------------------------------------------------------------------------------- import


def entry_id(participant: str, instrument: str, t_utc_ns: int) -> str:
    """Row key of a mood entry: sha256 over (participant, instrument, UTC ns), 32 hex chars."""
    return hashlib.sha256(f"{participant}\x1f{instrument}\x1f{t_utc_ns}".encode()).hexdigest()[:32]


def import_mood_log(
    path: str | Path,
    store: str | Path,
    *,
    timezone_name: str | None = None,
    key: bytes | None = None,
    scales: Sequence[Instrument] = (),
    rejects_path: str | Path | None = None,
) -> ImportReport:
    """Read a CSV or JSON Lines mood log, score and validate every row, add new entries to the store.

    Parameters
    ----------
    path : the mood log. Columns/keys: ``participant``, ``timestamp`` (ISO 8601), ``instrument``,
        and ``item1..itemN`` (or ``items`` as a JSON list) and/or ``total``.
    store : store root; entries go to ``store/mood/participant=<P>/``.
    timezone_name : IANA zone for timestamps without a UTC offset (else such rows are rejected).
    key : pseudonymisation key; when given, participant ids are replaced by
        :func:`~repsense.mood.pseudonymise` before anything is written.
    scales : custom scales accepted besides the built-in instruments.
    rejects_path : where rejected rows go (CSV: file, line, reason, raw); default
        ``store/mood_rejects/<sha256 of the input>.csv``. Written only when something was rejected.

    Returns
    -------
    ImportReport

    Raises
    ------
    InputError
        The file cannot be read, is not UTF-8, the zone is unknown, or the CSV has no header.
    OutputError
        (:class:`repsense.mood.storage.OutputError`, an InputError) the store or the rejects file
        cannot be written (disk full, below a regular file, no permission). Only whole files are
        left; entries stored before the failure are skipped when the file is imported again.
    """
    path = Path(path)
    store = Path(store)
    zone = None
    if timezone_name:
        try:
            zone = ZoneInfo(timezone_name)
        except (ZoneInfoNotFoundError, ValueError):
            raise InputError(f"unknown time zone {timezone_name!r} (want an IANA name like Europe/Amsterdam)") from None
    registry = build_registry(scales)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read mood log: {exc.strerror}", path=str(path)) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FormatError(f"not UTF-8 text ({exc.reason})", path=str(path), offset=exc.start) from None
    sha = hashlib.sha256(data).hexdigest()
    shown_name = "" if key is not None else path.name
    report = ImportReport(source_file=path.name if key is None else f"sha256:{sha[:16]}", source_sha256=sha)
    fmt = _detect_format(path, data)

    def hide(pid: str) -> str:
        return pseudonymise(pid, key) if key is not None else pid

    def raw_text(fields: dict[str, Any] | None, raw: Any) -> str:
        if fmt == "csv":
            values = list(raw)
            if key is not None and header_index is not None and header_index < len(values) \
                    and values[header_index].strip():
                values[header_index] = hide(values[header_index])
            buf = io.StringIO()
            csv.writer(buf, lineterminator="").writerow(values)
            return buf.getvalue()
        if key is None:
            return str(raw)
        if fields is None:
            return f"<unparsable line withheld while pseudonymising: {len(str(raw))} characters>"
        shown = {k: (hide(str(v)) if k in _ALIASES["participant"] and v not in (None, "") else v)
                 for k, v in fields.items()}
        return json.dumps(shown, ensure_ascii=False)

    header_index: int | None = None
    if fmt == "csv":
        first = next((r for r in csv.reader(io.StringIO(text, newline="")) if any(v.strip() for v in r)), None)
        if first is None:
            raise FormatError("mood log has no header line", path=str(path))
        lowered = [h.strip().lower() for h in first]
        missing = [f for f in ("participant", "timestamp", "instrument") if not set(_ALIASES[f]) & set(lowered)]
        if not (set(_ALIASES["total"]) & set(lowered) or "items" in lowered
                or any(_ITEM_KEY.fullmatch(h) for h in lowered)):
            missing.append("total or item1..itemN")
        if missing:
            raise FormatError(f"header lacks column(s): {', '.join(missing)} (see docs/MOOD.md)", path=str(path),
                              line=1)
        header_index = next((lowered.index(a) for a in _ALIASES["participant"] if a in lowered), None)
        rows: Iterator[tuple[int, dict[str, Any] | None, Any, str | None]] = _iter_csv(text)
    else:
        rows = _iter_jsonl(text)

    stored = read_mood(store)
    stored_by_id = {eid: (total, items, f, ln) for eid, total, items, f, ln in zip(
        stored["entry_id"].to_pylist(), stored["total"].to_pylist(), stored["items"].to_pylist(),
        stored["source_file"].to_pylist(), stored["source_line"].to_pylist())}
    seen: dict[str, tuple[float, list[int] | None, int]] = {}
    new: list[dict[str, Any]] = []

    for line, fields, raw, error in rows:
        report.n_rows += 1
        try:
            if error is not None:
                raise _RowError(error)
            assert fields is not None
            pid = _field(fields, "participant")
            if pid is None:
                raise _RowError("missing participant: no participant id")
            pid = str(pid).strip()
            participant = hide(pid)
            try:
                partition_value(participant)  # the store's folder name: too long -> this row only
            except InputError as exc:
                raise _RowError(f"bad participant: id too long for a store folder name ({exc.reason})") from None
            name = _field(fields, "instrument")
            if name is None:
                raise _RowError("unknown instrument: no instrument given")
            inst = registry.get(re.sub(r"[^a-z0-9]", "", str(name).lower()))
            if inst is None:
                known = ", ".join(sorted({i.label for i in registry.values()}))
                raise _RowError(f"unknown instrument: {str(name)[:40]!r} (known: {known}; declare others with --scale)")
            t_ns, offset_s, zone_used = _timestamp(_field(fields, "timestamp"), zone)
            items = _items(fields)
            given_raw = _field(fields, "total")
            given = None if given_raw is None else _number(given_raw, "total")
            total, source = _score(inst, items, given)
        except _RowError as exc:
            report.rejects.append(Reject(report.source_file, line, str(exc), raw_text(fields, raw)))
            continue
        eid = entry_id(participant, inst.key, t_ns)
        item_values = [int(v) for v in items] if items and inst.integer else None
        if eid in seen:
            prev_total, prev_items, prev_line = seen[eid]
            same = prev_total == total and prev_items == item_values
            reason = (f"duplicate: same participant, instrument and time as line {prev_line}" if same else
                      f"duplicate: conflicts with line {prev_line} (same participant, instrument and time, other score)")
            report.rejects.append(Reject(report.source_file, line, reason, raw_text(fields, raw)))
            continue
        seen[eid] = (total, item_values, line)
        if eid in stored_by_id:
            s_total, s_items, s_file, s_line = stored_by_id[eid]
            if s_total == total and (s_items or None) == item_values:
                report.n_already_stored += 1
            else:
                where = f"{s_file or 'a pseudonymised file'} line {s_line}"
                report.rejects.append(Reject(report.source_file, line,
                                             f"duplicate: conflicts with the stored entry from {where}",
                                             raw_text(fields, raw)))
            continue
        new.append(dict(
            entry_id=eid, participant=participant, t_utc=t_ns, utc_offset_s=offset_s, timezone=zone_used,
            instrument=inst.key, instrument_version=inst.version, items=item_values, total=float(total),
            total_source=source, source_file=shown_name, source_sha256=sha, source_line=line,
            pseudonymised=key is not None,
        ))

    if new:
        table = pa.Table.from_pylist(new, schema=MOOD_SCHEMA)
        report.written = write_mood(store, table)
        report.n_added = table.num_rows
    if report.rejects:
        report.rejects_path = Path(rejects_path) if rejects_path else store / "mood_rejects" / f"{sha[:32]}.csv"
        write_rejects(report.rejects, report.rejects_path)
    return report


def write_rejects(rejects: Sequence[Reject], path: Path) -> None:
    """Write rejected rows as CSV (file, line, reason, raw), atomically, mode 0600."""
    buf = io.StringIO(newline="")
    w = csv.writer(buf)
    w.writerow(["file", "line", "reason", "raw"])
    for r in rejects:
        w.writerow([r.file, r.line, r.reason, r.raw])
    atomic_write_bytes(buf.getvalue().encode("utf-8"), path)
