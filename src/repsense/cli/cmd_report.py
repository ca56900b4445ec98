"""``repsense report --store DIR [--participant ID] --out FILE``: HTML or PNG dose-versus-mood report."""

from __future__ import annotations

import argparse

NAME = "report"
HELP = "draw rep timelines per session and weekly TUT against PHQ-9 / GAD-7 (HTML or PNG)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--store", required=True, metavar="DIR")
    parser.add_argument("--out", required=True, metavar="FILE", help=".html (self-contained) or .png")
    parser.add_argument("--participant", metavar="ID", help="only this participant (id as stored)")
    parser.add_argument("--key-file", metavar="F", help="pseudonymise --participant with this key first")
    parser.add_argument("--week-tz", default="UTC", metavar="TZ", help="IANA zone whose calendar defines weeks")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from rich.console import Console

    from ..errors import RepsenseError
    from ..mood import load_or_create_key, pseudonymise
    from ..mood.report import write_report
    from ..mood.storage import describe_os_error

    err = Console(stderr=True)
    participant = args.participant
    try:
        if args.key_file:
            if participant is None:
                err.print("error: --key-file needs --participant")
                return 2
            if not Path(args.key_file).is_file():
                err.print("error: key file not found", markup=False)
                return 2
            participant = pseudonymise(participant, load_or_create_key(args.key_file))
        summary = write_report(args.store, args.out, participant=participant, tz=args.week_tz)
    except RepsenseError as exc:  # an unwritable --out arrives as OutputError, naming the path
        err.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
        return 1
    except OSError as exc:  # last resort: still one line, never a traceback
        where = f"{exc.filename}: " if exc.filename else ""
        err.print(f"error: {where}{describe_os_error(exc)}", markup=False, highlight=False, soft_wrap=True)
        return 1
    omitted = f", {summary.n_sessions_omitted} not drawn" if summary.n_sessions_omitted else ""
    Console().print(f"{summary.n_plots} plot(s), {summary.n_sessions} session(s){omitted} -> {summary.path}",
                    markup=False, highlight=False)
    return 0
