"""``repsense join --store DIR --out FILE``: sessions beside the nearest mood entries (as-of join)."""

from __future__ import annotations

import argparse

NAME = "join"
HELP = "join sessions with the mood entries before/after them; optional weekly dose-versus-mood table"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--store", required=True, metavar="DIR")
    parser.add_argument("--out", required=True, metavar="FILE", help="per-session table: .parquet or .csv")
    parser.add_argument("--weekly", metavar="FILE", help="also write the weekly table (.parquet or .csv)")
    parser.add_argument("--tolerance", action="append", default=[], metavar="[INSTRUMENT=]DURATION",
                        help="max distance of a pre/post entry, inclusive (e.g. 24h, 30min, phq9=14d); "
                             "repeatable; default 24h")
    parser.add_argument("--week-tz", default="UTC", metavar="TZ", help="IANA zone whose calendar defines weeks")


def parse_tolerances(specs: list[str]) -> dict[str, float]:
    from ..mood import parse_duration_s
    from ..mood.join import DEFAULT_TOLERANCE_S

    tol = {"*": DEFAULT_TOLERANCE_S}
    for spec in specs:
        name, _, value = spec.rpartition("=")
        tol[name.strip() or "*"] = parse_duration_s(value)
    return tol


def _resolve_names(tol: dict[str, float], stored: set[str]) -> dict[str, float]:
    """Map instrument names/aliases in per-instrument tolerances to keys; unknown names are an error."""
    from ..errors import InputError
    from ..mood.instruments import build_registry, normalise_name

    registry = {k: i.key for k, i in build_registry().items()}
    registry.update({normalise_name(k): k for k in stored})
    out = {}
    for name, value in tol.items():
        if name == "*":
            out[name] = value
            continue
        key = registry.get(normalise_name(name))
        if key is None:
            known = ", ".join(sorted({*registry.values()}))
            raise InputError(f"--tolerance names unknown instrument {name!r} (known: {known})")
        out[key] = value
    return out


def run(args: argparse.Namespace) -> int:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from rich.console import Console

    from ..errors import RepsenseError
    from ..mood import join_sessions_mood, read_mood, read_store_table, weekly_table
    from ..mood.storage import describe_os_error, write_table_file

    err = Console(stderr=True)
    try:
        tol = parse_tolerances(args.tolerance)
        try:
            ZoneInfo(args.week_tz)
        except (ZoneInfoNotFoundError, ValueError):
            err.print(f"error: unknown time zone {args.week_tz!r}", markup=False, highlight=False)
            return 2
        sessions = read_store_table(args.store, "sessions")
        if sessions.num_rows == 0:
            err.print("error: no sessions in the store; run `repsense process` first", markup=False)
            return 1
        mood = read_mood(args.store)
        tol = _resolve_names(tol, set(mood["instrument"].to_pylist()))
        joined = join_sessions_mood(sessions, mood, tol)
        write_table_file(joined, args.out)
        msg = f"{joined.num_rows} session(s), {mood.num_rows} mood entries -> {args.out}"
        if args.weekly:
            weekly = weekly_table(sessions, mood, tz=args.week_tz)
            write_table_file(weekly, args.weekly)
            msg += f"; {weekly.num_rows} participant-week(s) -> {args.weekly}"
    except RepsenseError as exc:  # an unwritable --out / --weekly arrives as OutputError, naming the path
        err.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
        return 1
    except OSError as exc:  # last resort: still one line, never a traceback
        where = f"{exc.filename}: " if exc.filename else ""
        err.print(f"error: {where}{describe_os_error(exc)}", markup=False, highlight=False, soft_wrap=True)
        return 1
    Console().print(msg, markup=False, highlight=False)
    return 0
