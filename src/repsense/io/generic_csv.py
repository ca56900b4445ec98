"""Generic delimited text: one time column (or a stated rate), accelerometer and optional gyroscope.

Columns are recognised by name, case-insensitively, with the unit taken from the header
(``ax (m/s^2)``, ``acc_x_ms2``, ``gyro_x_dps``, ``t_ns``, ``epoch (ms)``) or from ``units=``:

* time: ``t``, ``time``, ``timestamp``, ``ts``, ``epoch``, ``datetime``, ``elapsed``, ... in
  s, ms, us or ns (numbers) or ISO 8601 strings. Without a written unit, the magnitude decides
  when it is unambiguous: values like Unix epochs (>= 1e8) by their size; relative times by
  the median interval, which must give a plausible rate (1 Hz .. 5 kHz) in exactly one unit.
  Otherwise :class:`~repsense.errors.UnitError` asks for ``units={"time": ...}``.
* accelerometer: ``ax``/``acc_x``/``accel_x``/``accelerometer_x``/``x``/``x_axis`` (x, y, z).
* gyroscope: ``gx``/``gyr_x``/``gyro_x``/``gyroscope_x`` (x, y, z).

Unit-less accelerometer columns are taken as g, unless their median magnitude is near
9.8 (then a :class:`~repsense.errors.UnitError` asks to state ``m/s^2`` or ``g``);
unit-less gyroscope columns as deg/s. Naive ISO times are taken as UTC. Numeric times that
are not Unix epochs are relative: ``meta.t0_utc_ns`` is then 0 and ``meta.extra["absolute_time"]``
is False, and the origin ``meta.t0_utc_ns`` is the first sample's time read as if it were
an epoch time (so ``accel.t_s[0] == 0`` for every reader).
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any, Mapping, NamedTuple

import numpy as np

from ..errors import FormatError, SamplingRateError, UnitError
from ..types import Recording
from ._common import StreamRead, assemble, scaled_float32, stream_on
from ._csvparse import ColumnKind, DropLog, parse_columns
from ._timeline import CleanSamples, clean_samples
from .sniff import Sniff, is_number, sniff_file
from .units import ACCEL_TO_G, GYRO_TO_DPS, TIME_TO_NS, normalise_unit, split_unit

TIME_NAMES = ("t", "time", "timestamp", "ts", "epoch", "epoc", "datetime", "date_time", "utc", "t_utc",
              "time_utc", "elapsed", "elapsed_time", "seconds", "sample_time", "unix_time", "unixtime")
ACCEL_PREFIXES = ("", "a", "acc", "accel", "acceleration", "accelerometer", "acc_g", "accel_g")
GYRO_PREFIXES = ("g", "gyr", "gyro", "gyroscope", "w", "omega", "rot", "rotation_rate", "angular_velocity")
_AXIS = re.compile(r"^(?P<prefix>[a-z_]*?)_?(?P<axis>[xyz])(?:_axis)?$")
_ISO_TZ = re.compile(r"(Z|[+-]\d\d:?\d\d)$")
_INT = re.compile(r"^[+-]?\d+$")
_ISO_DATE = re.compile(r"^\d{4}-\d\d-\d\d([T ]\d\d:\d\d(:\d\d(\.\d+)?)?)?(Z|[+-]\d\d:?\d\d)?$")
_EPOCH_MIN = 1e8  # 1973-03-03 in seconds: smaller numbers are relative times


def _columns(path: str, sn: Sniff, units: Mapping[str, str]) -> dict[str, Any]:
    """Locate the time, accel and gyro columns and their units."""
    time_col: tuple[int, str | None] | None = None
    axes: dict[str, dict[str, tuple[int, str | None]]] = {"accel": {}, "gyro": {}}
    for i, h in enumerate(sn.header):
        base, unit = split_unit(h)
        if time_col is None and (base in TIME_NAMES or base.rstrip("_") in TIME_NAMES):
            time_col = (i, unit)
            continue
        m = _AXIS.match(base)
        if not m:
            continue
        prefix = m.group("prefix").rstrip("_")
        if prefix in GYRO_PREFIXES or (prefix == "" and unit in GYRO_TO_DPS):
            kind = "gyro"
        elif prefix in ACCEL_PREFIXES:
            kind = "accel"
        else:
            continue
        axes[kind].setdefault(m.group("axis"), (i, unit))
    found = {k: v for k, v in axes.items() if set(v) == {"x", "y", "z"}}
    if "accel" not in found:
        raise FormatError("no accelerometer columns (ax,ay,az / acc_x,acc_y,acc_z / x,y,z) in header "
                          f"{list(sn.header)}", path=path, line=sn.first_line - 1)
    return {"time": time_col, **found}


def _unit_factor(path: str, sn: Sniff, cols: dict[str, tuple[int, str | None]], kind: str,
                 stated: str | None) -> tuple[float, str | None]:
    table = ACCEL_TO_G if kind == "accel" else GYRO_TO_DPS
    written = {u for _, u in cols.values() if u is not None}
    if len(written) > 1:
        raise UnitError(f"{kind} columns have different units {sorted(written)}", path=path, line=sn.first_line - 1)
    unit = normalise_unit(stated) if stated else (written.pop() if written else None)
    if unit is None:
        return 1.0, None
    if unit not in table:
        col = sn.header[cols["x"][0]]
        raise UnitError(f"column {col!r}: unknown {kind} unit {unit!r} (known: {', '.join(table)})",
                        path=path, line=sn.first_line - 1)
    return table[unit], unit


def _time_kind(sn: Sniff, idx: int) -> ColumnKind:
    """Column type of the time column, by majority over the sniffed rows (garbage rows are outvoted)."""
    votes: dict[ColumnKind, int] = {"int": 0, "float": 0, "iso": 0, "iso_tz": 0}
    for row in sn.sample_rows:
        cell = row[idx].strip().strip('"') if len(row) > idx else ""
        if not cell:
            continue
        if is_number(cell.replace(sn.decimal, ".")):
            votes["int" if _INT.match(cell) else "float"] += 1
        elif _ISO_DATE.match(cell):
            votes["iso_tz" if _ISO_TZ.search(cell) else "iso"] += 1
    if votes["float"] and votes["int"]:  # "1", "1.5": floats
        votes["float"] += votes.pop("int")
    best = max(votes, key=lambda k: votes[k])
    return best if votes[best] else "float"


def _infer_time_unit(path: str, header: str, t: np.ndarray) -> str:
    finite = t[np.isfinite(t)] if t.dtype.kind == "f" else t
    if finite.size == 0:
        return "s"
    mag = float(np.median(np.abs(finite[:1000])))
    if mag >= _EPOCH_MIN:
        for unit, lo in (("ns", 1e17), ("us", 1e14), ("ms", 1e11), ("s", _EPOCH_MIN)):
            if mag >= lo:
                return unit
    steps = np.diff(finite[: 100_000].astype(np.float64))
    steps = steps[steps > 0]
    if steps.size == 0:
        raise UnitError(f"column {header!r}: cannot infer the time unit from fewer than two distinct times; "
                        "pass units={'time': 's'|'ms'|'us'|'ns'}", path=path)
    d = float(np.median(steps))
    fits = [u for u, ns in TIME_TO_NS.items() if 1 / 5000 <= d * ns / 1e9 <= 1.0]
    if len(fits) != 1:
        raise UnitError(f"column {header!r}: time unit is ambiguous (median step {d:g} fits "
                        f"{fits or 'no unit'}); name it (t_s, time_ms, t_ns, 'time (ms)') or pass "
                        "units={'time': ...}", path=path)
    return fits[0]


class ColumnPlan(NamedTuple):
    """Which columns a generic CSV file is read from, and how (see :func:`column_plan`)."""

    cols: dict[str, Any]  # from _columns: "time" -> (index, unit) or None, "accel"/"gyro" -> per axis
    spec: list[tuple[int, ColumnKind]]  # parser columns: the time column (if any), then the values
    t_kind: ColumnKind | None  # parse kind of the time column
    factors: list[float]  # per value column: file unit -> g or deg/s
    a_unit: str | None  # accelerometer unit written in the file (None: not written)
    g_unit: str | None


def column_plan(path: str, sn: Sniff, units: dict[str, str], sample_rate_hz: float | None) -> ColumnPlan:
    """Check ``units=`` and the header, and plan the columns to parse.

    Raises
    ------
    UnitError
        Unknown ``units=`` keys or units. ``SamplingRateError``: no time column and no rate.
    """
    unknown = sorted(set(units) - {"time", "accel", "gyro"})
    if unknown:
        raise UnitError(f"units= has unknown keys {unknown}; use 'time', 'accel', 'gyro'", path=path)
    cols = _columns(path, sn, units)
    a_factor, a_unit = _unit_factor(path, sn, cols["accel"], "accel", units.get("accel"))
    g_factor, g_unit = (1.0, None)
    if "gyro" in cols:
        g_factor, g_unit = _unit_factor(path, sn, cols["gyro"], "gyro", units.get("gyro"))
    spec: list[tuple[int, ColumnKind]] = []
    tcol = cols["time"]
    t_kind: ColumnKind | None = None
    if tcol is not None:
        t_kind = _time_kind(sn, tcol[0])
        spec.append((tcol[0], t_kind))
    elif not sample_rate_hz or sample_rate_hz <= 0 or not np.isfinite(sample_rate_hz):
        raise SamplingRateError(f"{path}: no time column in header {list(sn.header)}; pass sample_rate_hz "
                                "(--rate HZ) or add a time column")
    for kind in ("accel", "gyro"):
        if kind in cols:
            spec.extend((cols[kind][a][0], "float") for a in "xyz")
    factors = [a_factor] * 3 + ([g_factor] * 3 if "gyro" in cols else [])
    return ColumnPlan(cols, spec, t_kind, factors, a_unit, g_unit)


def time_unit_ns(path: str, sn: Sniff, tcol: tuple[int, str | None], t_kind: ColumnKind | None,
                 units: Mapping[str, str], t_first: np.ndarray, extra: dict[str, Any]) -> int:
    """ns per unit of the time column (0 for ISO times), decided from the stated unit or from the
    first rows ``t_first``; records ``time_unit`` / ``time_zone`` and ``absolute_time`` in ``extra``."""
    if t_kind in ("iso", "iso_tz"):
        extra["absolute_time"] = True
        extra["time_zone"] = "utc" if t_kind == "iso_tz" else "naive, taken as UTC"
        return 0
    header = sn.header[tcol[0]]
    stated = units.get("time") or tcol[1]
    unit = normalise_unit(stated) if stated else _infer_time_unit(path, header, t_first)
    if unit not in TIME_TO_NS:
        raise UnitError(f"column {header!r}: unknown time unit {unit!r} (known: s, ms, us, ns)",
                        path=path, line=sn.first_line - 1)
    extra["time_unit"] = unit
    mag = np.abs(t_first[:1000]).astype(np.float64)
    extra["absolute_time"] = bool(mag.size and np.median(mag) * TIME_TO_NS[unit] >= _EPOCH_MIN * 1e9)
    return TIME_TO_NS[unit]


def time_ns(t_raw: np.ndarray, t_kind: ColumnKind | None, ns_per_unit: int) -> tuple[np.ndarray, np.ndarray | None]:
    """int64 ns of a parsed time column, and the finite mask of a float column (else None)."""
    if t_kind in ("iso", "iso_tz"):
        return t_raw, None
    if t_raw.dtype.kind == "f":
        t_finite = np.isfinite(t_raw)
        return np.round(np.where(t_finite, t_raw, 0.0) * ns_per_unit).astype(np.int64), t_finite
    return t_raw * ns_per_unit, None


def check_accel_unit(path: str, sn: Sniff, accel: np.ndarray) -> None:
    """Unit-less accelerometer rows whose median magnitude is near 9.8 are m/s^2, not g: refuse them."""
    norm = float(np.nanmedian(np.sqrt(np.nansum(np.square(accel, dtype=np.float64), axis=1))))
    if 6.0 <= norm <= 14.0:
        raise UnitError(f"accelerometer columns have no unit and a median magnitude of {norm:.2f}, "
                        "which looks like m/s^2; write the unit in the header or pass "
                        "units={'accel': 'm/s^2'} (or 'g')", path=path, line=sn.first_line - 1)


def read_generic_csv(path: str | Path, sample_rate_hz: float | None = None, *, sn: Sniff | None = None,
                     participant: str | None = None, session_id: str | None = None,
                     units: Mapping[str, str] | None = None) -> Recording:
    """Read a generic CSV/TSV of accelerometer (and optional gyroscope) samples.

    Parameters
    ----------
    path : str or Path
    sample_rate_hz : float, optional
        Required when the file has no time column: data row k is then at k / rate seconds.
        Rows are counted with the dropped ones, so an unreadable row (non-numeric, short...)
        keeps its slot and leaves a one-sample hole, not a shift; blank (whitespace-only)
        lines are not rows and take no slot.
    sn : Sniff, optional
        The file's sniff result.
    participant, session_id : str, optional
    units : mapping, optional
        ``{"time": "s"|"ms"|"us"|"ns", "accel": "g"|"m/s^2", "gyro": "deg/s"|"rad/s"}``;
        overrides what the header says.

    Returns
    -------
    Recording
        ``device_kind="generic_csv"``.
    """
    p = str(path)
    sn = sn or sniff_file(path)
    units = dict(units or {})
    plan = column_plan(p, sn, units, sample_rate_hz)
    cols, tcol, t_kind = plan.cols, plan.cols["time"], plan.t_kind
    parsed = parse_columns(path, data_offset=sn.data_offset, first_line=sn.first_line, delimiter=sn.delimiter,
                           decimal=sn.decimal, quoted=sn.quoted, newline=sn.newline,
                           n_fields=len(sn.header), columns=plan.spec)
    extra: dict[str, Any] = {"reader": "generic_csv", "absolute_time": False}
    t_finite = None
    if tcol is None:
        period_ns = 1e9 / float(sample_rate_hz)  # type: ignore[arg-type]
        lines = parsed.lines.array()
        # slot = index among the data rows: blank lines are not rows and take no slot
        slot = lines - sn.first_line - np.searchsorted(parsed.blank_lines, lines)
        t_ns = np.round(slot * period_ns).astype(np.int64)
        values_at = 0
    else:
        values_at = 1
        t_raw = parsed.arrays[0]
        t_mult = time_unit_ns(p, sn, tcol, t_kind, units, t_raw, extra)
        t_ns, t_finite = time_ns(t_raw, t_kind, t_mult)
    has_gyro = "gyro" in cols
    samples = scaled_float32(parsed.arrays[values_at:], plan.factors)
    accel = samples[:, :3]
    if plan.a_unit is None and accel.shape[0]:
        check_accel_unit(p, sn, accel[:: max(1, accel.shape[0] // 100_000)])  # a spread-out sample
    extra["accel_unit_in_file"] = plan.a_unit or "g (assumed)"
    a_drops = parsed.drops
    if has_gyro:
        # one row feeds both streams: a row unusable for either is dropped from both
        extra["gyro_unit_in_file"] = plan.g_unit or "deg/s (assumed)"
        clean = clean_samples(t_ns, samples, parsed.lines, a_drops, t_finite=t_finite)
        a_clean = CleanSamples(clean.t_ns, clean.values[:, :3], clean.lines, clean.n_reordered)
        g_clean = CleanSamples(clean.t_ns, clean.values[:, 3:], clean.lines, clean.n_reordered)
    else:
        a_clean = clean_samples(t_ns, accel, parsed.lines, a_drops, t_finite=t_finite)
    period = 1.0 / float(sample_rate_hz) if sample_rate_hz and tcol is None else None
    a_read = StreamRead(p, a_clean, parsed.n_rows, a_drops, parsed.sha256, nominal_period_s=period)
    g_read = None
    if has_gyro:
        g_read = StreamRead(p, g_clean, parsed.n_rows, DropLog(), parsed.sha256, nominal_period_s=period)
    if tcol is None:
        extra["sample_rate_hz"] = float(sample_rate_hz)  # type: ignore[arg-type]
    rec = assemble(a_read, None, device_kind="generic_csv", participant=participant,
                   session_id=session_id, extra=extra)
    if g_read is not None and len(g_clean.t_ns):
        rec = replace(rec, gyro=stream_on(g_read, rec.meta.t0_utc_ns, "deg/s")[0])
    return rec
