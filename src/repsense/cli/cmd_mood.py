"""``repsense mood import FILE... --store DIR``: validate mood logs and add them to the store."""

from __future__ import annotations

import argparse
import sys

NAME = "mood"
HELP = "import mood logs (PHQ-9, GAD-7, STAI-Y1, Feeling Scale, Felt Arousal, custom scales)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="mood_command", metavar="ACTION")
    p = sub.add_parser("import", help="validate, score and store CSV / JSON Lines mood logs",
                       description="Rows that fail validation go to a rejects CSV (file, line, reason, raw row); "
                                   "importing the same file again adds nothing.")
    p.add_argument("files", nargs="+", metavar="FILE", help="mood log(s): .csv or .jsonl")
    p.add_argument("--store", required=True, metavar="DIR", help="store root (entries go to DIR/mood/)")
    p.add_argument("--timezone", metavar="TZ", help="IANA zone for timestamps without UTC offset, e.g. Europe/Amsterdam")
    p.add_argument("--pseudonymise", action="store_true", help="replace participant ids by keyed pseudonyms")
    p.add_argument("--key-file", metavar="F", help="pseudonymisation key (created 0600 if absent; default "
                   "$REPSENSE_KEY_FILE or ~/.config/repsense/pseudonym.key)")
    p.add_argument("--scale", action="append", default=[], metavar="NAME:MIN:MAX",
                   help="declare a custom numeric scale (repeatable)")
    p.add_argument("--scales", metavar="TOML", help="custom scales from TOML ([scales.NAME] min=, max=)")
    p.add_argument("--rejects", metavar="CSV", help="rejects file (default DIR/mood_rejects/<input hash>.csv; "
                   "one file only)")


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from ..errors import RepsenseError
    from ..mood import (default_key_file, import_mood_log, load_or_create_key, load_scales_toml,
                        parse_scale_spec)
    from ..mood.storage import describe_os_error

    err = Console(stderr=True)
    if args.mood_command != "import":
        err.print("usage: repsense mood import FILE --store DIR (see --help)")
        return 2
    if args.key_file and not args.pseudonymise:
        err.print("error: --key-file only makes sense with --pseudonymise")
        return 2
    if args.rejects and len(args.files) > 1:
        err.print("error: --rejects takes one input file")
        return 2
    try:
        scales = [parse_scale_spec(s) for s in args.scale]
        if args.scales:
            scales += load_scales_toml(args.scales)
        key = load_or_create_key(args.key_file or default_key_file()) if args.pseudonymise else None
    except RepsenseError as exc:
        err.print(f"error: {exc}", markup=False, highlight=False)
        return 2
    table = Table("file", "rows", "added", "already stored", "rejected", "reasons", title="mood import")
    status = 0
    for f in args.files:
        try:
            rep = import_mood_log(f, args.store, timezone_name=args.timezone, key=key, scales=scales,
                                  rejects_path=args.rejects)
        except RepsenseError as exc:  # storage failures arrive as OutputError, naming the path
            err.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
            status = 1
            continue
        except OSError as exc:  # last resort: still one line, never a traceback
            where = f"{exc.filename}: " if exc.filename else ""
            err.print(f"error: {where}{describe_os_error(exc)}", markup=False, highlight=False, soft_wrap=True)
            status = 1
            continue
        reasons = ", ".join(f"{k} x{n}" for k, n in sorted(rep.reject_counts().items()))
        table.add_row(rep.source_file, str(rep.n_rows), str(rep.n_added), str(rep.n_already_stored),
                      str(len(rep.rejects)), reasons)
        if rep.rejects_path is not None:
            err.print(f"{len(rep.rejects)} rejected row(s) of {rep.source_file} written to {rep.rejects_path}",
                      markup=False, highlight=False)
            status = 1
    if table.row_count:
        Console(file=sys.stdout).print(table)
    return status
