"""``repsense repair``: finalise live sessions a crash left unfinished."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.markup import escape

NAME = "repair"
HELP = "finalise live sessions left unfinished by a crash (re-detects reps from the stored samples)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", required=True, help="dataset root folder")


def run(args: argparse.Namespace) -> int:
    from ..live import repair

    console = Console()
    out = Path(args.out)
    if not out.is_dir():
        what = "is not a directory" if out.exists() else "does not exist"
        console.print(f"[red]error[/]: --out {escape(str(out))} {what} (give the dataset root a live session wrote to)",
                      soft_wrap=True)
        return 2
    results = repair(out)
    if not results:
        console.print("no unfinished session")
        return 0
    for r in results:
        colour = {"finalised": "green", "empty": "yellow", "running": "cyan"}.get(r.status, "red")
        console.print(f"[{colour}]{r.status}[/] {r.session_id}: {r.n_samples} samples, {r.n_reps} reps {r.message}")
    return 1 if any(r.status == "failed" for r in results) else 0
