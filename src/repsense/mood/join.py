"""Sessions beside mood: as-of join (pre/post entries per instrument) and the weekly dose table.

Matching rules (documented in docs/MOOD.md):

* ``pre``: the latest entry of the instrument with ``start_utc - tolerance <= t_utc <= start_utc``
  (an entry exactly at the session start counts as pre);
* ``post``: the earliest entry with ``end_utc <= t_utc <= end_utc + tolerance``;
* both bounds are inclusive: an entry exactly ``tolerance`` away matches.

The matching is done by Acero's as-of join (:meth:`pyarrow.Table.join_asof`), not by a loop.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from ..errors import InputError, SchemaError
from ..store import read_sessions

TS = pa.timestamp("ns", tz="UTC")
NS_PER_S = 1_000_000_000
DEFAULT_TOLERANCE_S = 24 * 3600.0
_FAR_S = 100 * 366 * 24 * 3600  # "any time before": 100 years, still far from int64 overflow in ns
SESSION_COLUMNS = ("session_id", "participant", "start_utc", "end_utc", "n_sets", "n_reps", "tut_s")

_DURATION = re.compile(r"^\s*(\d+(?:\.\d*)?)\s*(s|sec|min|m|h|d|w)?\s*$")
_UNIT_S = {None: 1.0, "s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}


def parse_duration_s(text: str) -> float:
    """Seconds in ``"90"``, ``"90s"``, ``"30min"``, ``"2h"``, ``"1.5d"`` or ``"2w"`` (``m`` = minutes)."""
    m = _DURATION.match(text.lower())
    if not m:
        raise InputError(f"duration {text!r}: want a number with s, min, h, d or w (e.g. 2h)")
    return float(m.group(1)) * _UNIT_S[m.group(2)]


def read_store_table(store: str | Path, name: str) -> pa.Table:
    """One table (``sessions``, ``sets``, ``reps``) of the store via :func:`repsense.store.read_sessions`."""
    return read_sessions(store, table=name)


def _sessions(sessions: pa.Table) -> pa.Table:
    missing = [c for c in SESSION_COLUMNS if c not in sessions.column_names]
    if missing:
        raise SchemaError(f"sessions table lacks column(s) {', '.join(missing)}")
    t = sessions.select(list(SESSION_COLUMNS))
    return t.cast(pa.schema([
        ("session_id", pa.string()), ("participant", pa.string()), ("start_utc", TS), ("end_utc", TS),
        ("n_sets", pa.int64()), ("n_reps", pa.int64()), ("tut_s", pa.float64()),
    ]))


def _tolerance_ns(inst: str, tolerance_s: float | Mapping[str, float]) -> int:
    if isinstance(tolerance_s, Mapping):
        value = tolerance_s.get(inst, tolerance_s.get("*", DEFAULT_TOLERANCE_S))
    else:
        value = tolerance_s
    if not value >= 0:
        raise InputError(f"tolerance for {inst} must be >= 0 s, got {value}")
    return int(round(value * NS_PER_S))


def _seconds_between(later: pa.ChunkedArray, earlier: pa.ChunkedArray) -> pa.ChunkedArray:
    diff = pc.subtract(later.cast(pa.int64()), earlier.cast(pa.int64()))
    return pc.divide(diff.cast(pa.float64()), float(NS_PER_S))


def join_sessions_mood(
    sessions: pa.Table,
    mood: pa.Table,
    tolerance_s: float | Mapping[str, float] = DEFAULT_TOLERANCE_S,
    instruments: list[str] | None = None,
) -> pa.Table:
    """Each session with the nearest entry of each instrument before (pre) and after (post) it.

    Parameters
    ----------
    sessions : store sessions (needs ``session_id, participant, start_utc, end_utc, n_sets, n_reps, tut_s``).
    mood : the mood table (:func:`~repsense.mood.read_mood`).
    tolerance_s : how far (seconds) an entry may lie from the session; one value for all instruments
        or a mapping instrument -> seconds with ``"*"`` as the default. Inclusive.
    instruments : instrument keys to join (default: every instrument present in ``mood``).

    Returns
    -------
    pyarrow.Table
        One row per session (sorted by participant, start) with, per instrument ``k``:
        ``k_pre_total, k_pre_utc, k_pre_lag_s`` (start - entry) and ``k_post_total, k_post_utc,
        k_post_lag_s`` (entry - end); nulls where nothing lies within the tolerance.
    """
    left = _sessions(sessions)
    if instruments is None:
        instruments = sorted(set(mood["instrument"].to_pylist()))
    for inst in instruments:
        tol_ns = _tolerance_ns(inst, tolerance_s)
        m = mood.filter(pc.equal(mood["instrument"], inst))
        for side, on, sign in (("pre", "start_utc", -1), ("post", "end_utc", 1)):
            right = pa.table({
                "participant": m["participant"].cast(pa.string()),
                "_t": m["t_utc"].cast(TS),
                f"{inst}_{side}_total": m["total"],
                f"{inst}_{side}_utc": m["t_utc"].cast(TS),
            }).sort_by("_t")
            left = left.sort_by(on).join_asof(right, on=on, by="participant", tolerance=sign * tol_ns,
                                              right_on="_t", right_by="participant")
            when = left[f"{inst}_{side}_utc"]
            lag = _seconds_between(left[on], when) if side == "pre" else _seconds_between(when, left[on])
            left = left.append_column(f"{inst}_{side}_lag_s", lag)
    return left.sort_by([("participant", "ascending"), ("start_utc", "ascending")])


def _week_start(ts: pa.ChunkedArray | pa.Array, tz: str) -> pa.Array:
    """Monday (local date in ``tz``) of the ISO week holding each UTC timestamp."""
    local = pc.local_timestamp(ts.cast(pa.timestamp("ns", tz=tz)))
    return pc.floor_temporal(local, unit="week", week_starts_monday=True).cast(pa.date32())


def baselines(sessions: pa.Table, mood: pa.Table) -> pa.Table:
    """Baseline per participant and instrument: ``participant, instrument, baseline_total, baseline_utc, baseline_rule``.

    Rule: the last entry at or before the participant's first session start (``pre-first-session``);
    a participant/instrument with no such entry falls back to its earliest entry (``first-entry``).
    """
    left = _sessions(sessions)
    first = left.group_by("participant").aggregate([("start_utc", "min")]).rename_columns(
        ["participant", "first_start_utc"]).sort_by("first_start_utc")
    parts = []
    for inst in sorted(set(mood["instrument"].to_pylist())):
        m = mood.filter(pc.equal(mood["instrument"], inst)).sort_by("t_utc")
        right = pa.table({"participant": m["participant"], "_t": m["t_utc"].cast(TS),
                          "pre_total": m["total"], "pre_utc": m["t_utc"].cast(TS)})
        pre = first.join_asof(right, on="first_start_utc", by="participant", tolerance=-_FAR_S * NS_PER_S,
                              right_on="_t", right_by="participant")
        earliest = m.group_by("participant", use_threads=False).aggregate(
            [("total", "first"), ("t_utc", "first")]).rename_columns(["participant", "first_total", "first_utc"])
        both = earliest.join(pre.select(["participant", "pre_total", "pre_utc"]), "participant", join_type="left outer")
        has_pre = pc.is_valid(both["pre_total"])
        parts.append(pa.table({
            "participant": both["participant"],
            "instrument": pa.array([inst] * both.num_rows, pa.string()),
            "baseline_total": pc.if_else(has_pre, both["pre_total"], both["first_total"]),
            "baseline_utc": pc.if_else(has_pre, both["pre_utc"], both["first_utc"].cast(TS)),
            "baseline_rule": pc.if_else(has_pre, "pre-first-session", "first-entry"),
        }))
    if not parts:
        return pa.table({"participant": pa.array([], pa.string()), "instrument": pa.array([], pa.string()),
                         "baseline_total": pa.array([], pa.float64()), "baseline_utc": pa.array([], TS),
                         "baseline_rule": pa.array([], pa.string())})
    return pa.concat_tables(parts).sort_by([("participant", "ascending"), ("instrument", "ascending")])


def weekly_table(sessions: pa.Table, mood: pa.Table, *, tz: str = "UTC") -> pa.Table:
    """Training dose and mood per participant-week.

    Weeks are ISO weeks (Monday start) of the local calendar in ``tz``. Columns: ``participant,
    week_start`` (date), ``week`` (``YYYY-Www``), ``sessions, sets, reps`` (int64), ``tut_s`` (total
    time under tension), ``mean_tut_per_set_s`` (null in weeks without sets), then per instrument
    ``k``: ``k_mean`` (mean total of the week's entries), ``k_n``, ``k_baseline`` and
    ``k_change`` (``k_mean - k_baseline``; see :func:`baselines`). Weeks with mood entries but no
    session appear with zero dose.
    """
    s = _sessions(sessions)
    s = s.append_column("week_start", _week_start(s["start_utc"], tz))
    dose = s.group_by(["participant", "week_start"]).aggregate(
        [("session_id", "count"), ("n_sets", "sum"), ("n_reps", "sum"), ("tut_s", "sum")]
    ).rename_columns(["participant", "week_start", "sessions", "sets", "reps", "tut_s"])
    keys = dose.select(["participant", "week_start"])
    m = mood.append_column("week_start", _week_start(mood["t_utc"], tz))
    means = m.group_by(["participant", "week_start", "instrument"]).aggregate([("total", "mean"), ("total", "count")])
    keys = pa.concat_tables([keys, means.select(["participant", "week_start"]).cast(keys.schema)])
    keys = keys.group_by(["participant", "week_start"]).aggregate([])
    out = keys.join(dose, ["participant", "week_start"], join_type="left outer")
    for c in ("sessions", "sets", "reps"):
        out = out.set_column(out.schema.get_field_index(c), c, pc.fill_null(out[c], 0).cast(pa.int64()))
    out = out.set_column(out.schema.get_field_index("tut_s"), "tut_s", pc.fill_null(out["tut_s"], 0.0))
    sets_or_null = pc.if_else(pc.greater(out["sets"], 0), out["sets"], pa.scalar(None, pa.int64()))
    out = out.append_column("mean_tut_per_set_s", pc.divide(out["tut_s"], sets_or_null.cast(pa.float64())))
    base = baselines(sessions, mood)
    for inst in sorted(set(mood["instrument"].to_pylist())):
        w = means.filter(pc.equal(means["instrument"], inst)).select(
            ["participant", "week_start", "total_mean", "total_count"]).rename_columns(
            ["participant", "week_start", f"{inst}_mean", f"{inst}_n"])
        b = base.filter(pc.equal(base["instrument"], inst)).select(["participant", "baseline_total"]).rename_columns(
            ["participant", f"{inst}_baseline"])
        out = out.join(w, ["participant", "week_start"], join_type="left outer")
        out = out.join(b, "participant", join_type="left outer")
        out = out.set_column(out.schema.get_field_index(f"{inst}_n"), f"{inst}_n",
                             pc.fill_null(out[f"{inst}_n"], 0))
        out = out.append_column(f"{inst}_change", pc.subtract(out[f"{inst}_mean"], out[f"{inst}_baseline"]))
    week_label = pc.binary_join_element_wise(
        pc.cast(pc.iso_year(out["week_start"]), pa.string()),
        pc.utf8_lpad(pc.cast(pc.iso_week(out["week_start"]), pa.string()), 2, "0"), "-W")
    out = out.add_column(2, "week", week_label)
    return out.sort_by([("participant", "ascending"), ("week_start", "ascending")])
