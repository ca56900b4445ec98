"""The live terminal view (rich): one row per band, refreshed a few times per second."""

from __future__ import annotations

import math
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.table import Table

__all__ = ["LiveView", "render_rows"]

_LINK_STYLE = {"streaming": "green", "reconnecting": "yellow", "connecting": "cyan", "failed": "red",
               "stopped": "dim"}


def render_rows(rows: list[Any], title: str = "repsense live") -> Table:
    """A table of the rows (:class:`repsense.live.pipeline.ViewRow`)."""
    table = Table(title=title, expand=False)
    for col, just in (("device", "left"), ("kind", "left"), ("link", "left"), ("samples/s", "right"),
                      ("lost", "right"), ("set", "right"), ("reps", "right"), ("last tempo", "right"),
                      ("TUT", "right")):
        table.add_column(col, justify=just)  # type: ignore[arg-type]
    for r in rows:
        style = _LINK_STYLE.get(r.link, "")
        tempo = "-" if math.isnan(r.last_tempo_s) else f"{r.last_tempo_s:.1f} s"
        table.add_row(r.device, r.kind, f"[{style}]{r.link}[/]" if style else r.link, f"{r.samples_per_s:.0f}",
                      f"{r.lost}", f"{r.set_index}", f"{r.reps_in_set} ({r.n_reps})", tempo, f"{r.tut_s:.1f} s")
    return table


class LiveView:
    """Context manager around ``rich.live.Live``; ``update(rows)`` redraws at most ``fps`` a second."""

    def __init__(self, console: Console | None = None, fps: float = 4.0) -> None:
        self.console = console or Console(stderr=True)
        self._live = Live(render_rows([]), console=self.console, refresh_per_second=fps, transient=False)

    def __enter__(self) -> LiveView:
        self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._live.__exit__(*exc)  # type: ignore[arg-type]

    def update(self, rows: list[Any]) -> None:
        self._live.update(render_rows(rows))
