"""``repsense count FILE... [--rate HZ] [--json]``: reps and sets per recording."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

NAME = "count"
HELP = "count sets, reps and time under tension in recordings"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE", help="recordings or folders (a MetaBase accel/gyro pair counts once)")
    parser.add_argument("--rate", type=float, metavar="HZ", help="sample rate for files without a time column")
    parser.add_argument("--json", action="store_true", help="one JSON object per input per line")


def summarise(path: str, rec, det) -> dict:
    """The JSON record of one input: times in seconds from the file's first sample."""
    t0 = float(rec.accel.t_s[0])
    return {
        "file": path,
        "sample_rate_hz": round(float(rec.sample_rate_hz), 6),
        "reps": det.n_reps,
        "sets": [{"start_s": round(s.start_s - t0, 3), "end_s": round(s.end_s - t0, 3), "reps": s.n_reps,
                  "reps_in_gaps": s.n_reps_in_gaps, "tut_s": round(s.tut_s, 3), "concentric_s": round(s.concentric_s, 3),
                  "eccentric_s": round(s.eccentric_s, 3)} for s in det.sets],
    }


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from ..errors import RepsenseError
    from ..io import iter_recording_files, read_recording
    from ..segment import detect

    err = Console(stderr=True)
    if args.rate is not None and not args.rate > 0:
        err.print(f"error: --rate must be > 0, got {args.rate}", markup=False, highlight=False, soft_wrap=True)
        return 2
    failed = 0
    table = Table()
    table.add_column("file", overflow="fold", ratio=3)
    for heading in ("rate Hz", "sets", "reps", "TUT s"):
        table.add_column(heading, justify="right", no_wrap=True)
    table.add_column("per set (reps @ start s)", ratio=2)
    named = {str(Path(f)) for f in args.files}
    for item in iter_recording_files(args.files):
        name = str(item.path)
        if item.skipped:
            # a file named on the command line must be a recording; files found in folders
            # that are not recordings (README, labels.csv) are skipped quietly
            if name in named or item.skip_reason == "no such file or folder":
                err.print(f"error: {name}: {item.skip_reason}", markup=False, highlight=False, soft_wrap=True)
                failed += 1
            continue
        try:
            rec = read_recording(item, sample_rate_hz=args.rate)
            det = detect(rec)
        except RepsenseError as exc:
            # project errors that know their file already start with it
            message = str(exc) if getattr(exc, "path", None) else f"{name}: {exc}"
            err.print(f"error: {message}", markup=False, highlight=False, soft_wrap=True)
            failed += 1
            continue
        for report in rec.reports:
            if report.n_dropped:
                reasons = "; ".join(
                    f"{why}: {d.count} (line {', '.join(map(str, d.first_lines))}{', ...' if d.count > len(d.first_lines) else ''})"
                    for why, d in report.dropped.items())
                err.print(f"warning: {report.source_file}: dropped {report.n_dropped} of {report.n_rows} rows, kept "
                          f"the rest: {reasons}", markup=False, highlight=False, soft_wrap=True)
        rec_json = summarise(name, rec, det)
        if args.json:
            sys.stdout.write(json.dumps(rec_json) + "\n")
            sys.stdout.flush()
        else:
            table.add_row(Path(name).name, f"{rec_json['sample_rate_hz']:.1f}", str(len(det.sets)),
                          str(det.n_reps), f"{sum(s['tut_s'] for s in rec_json['sets']):.1f}",
                          ", ".join(f"{s['reps']}{f' ({g} in gaps)' if (g := s['reps_in_gaps']) else ''} @ {s['start_s']:.1f}"
                                    for s in rec_json["sets"]) or "-")
    if not args.json and table.row_count:
        Console().print(table)
    return 1 if failed else 0
