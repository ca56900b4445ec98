"""Dose-versus-mood report: rep timelines per session, weekly TUT beside PHQ-9 / GAD-7.

matplotlib (extra ``report``) is imported only when a report is drawn, and only its
object-oriented API is used (``Figure`` + ``FigureCanvasAgg``): no pyplot, no global
backend switch, no state left behind.
"""

from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from ..errors import InputError
from .join import read_store_table, weekly_table
from .storage import atomic_write_bytes, read_mood

MAX_SESSIONS_HTML = 200
MAX_SESSIONS_PNG = 24
WEEKLY_MOOD = (("phq9", "PHQ-9", "tab:red"), ("gad7", "GAD-7", "tab:purple"))


@dataclass(frozen=True, slots=True)
class ReportSummary:
    """What went into a report: its path, number of plots, sessions drawn and left out."""

    path: Path
    n_plots: int
    n_sessions: int
    n_sessions_omitted: int
    participants: tuple[str, ...]


def _matplotlib() -> tuple[Any, Any]:
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ModuleNotFoundError:
        raise InputError("reports need matplotlib: pip install 'repsense[report]'") from None
    return Figure, FigureCanvasAgg


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
    return buf.getvalue()


def _pylist(table: pa.Table) -> list[dict[str, Any]]:
    """Rows as dicts, timestamps as ``datetime`` truncated to the microsecond.

    The store keeps timestamp[ns]; a value that is not a whole microsecond (any real recording)
    cannot become a ``datetime`` (pyarrow raises unless pandas is installed). Drawing needs no
    finer time than a microsecond, so timestamps are cast to µs first (truncating).
    """
    fields = [pa.field(f.name, pa.timestamp("us", tz=f.type.tz), f.nullable, f.metadata)
              if pa.types.is_timestamp(f.type) and f.type.unit == "ns" else f for f in table.schema]
    return table.cast(pa.schema(fields, table.schema.metadata), safe=False).to_pylist()


def _rows(table: pa.Table, column: str, value: str) -> list[dict[str, Any]]:
    if table.num_rows == 0 or column not in table.column_names:
        return []
    return _pylist(table.filter(pc.equal(table[column].cast(pa.string()), value)))


def _draw_timeline(ax: Any, session: dict[str, Any], reps: list[dict[str, Any]], sets: list[dict[str, Any]]) -> None:
    """Reps as bars on one row per set, x = seconds since the recording origin, TUT per set written beside."""
    start = session["start_utc"]
    local = start.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    ax.set_title(f"{session['participant']} · session {str(session['session_id'])[:12]} · {local}", fontsize=9)
    ax.set_xlabel("time since recording start (s)")
    ax.set_ylabel("set")
    if not reps:
        ax.text(0.5, 0.5, "no reps detected", ha="center", va="center", transform=ax.transAxes)
        ax.set_yticks([])
        return
    t0 = min(0.0, min(r["start_s"] for r in reps))
    set_indices = sorted({int(r["set_index"]) for r in reps})
    row = {s: i for i, s in enumerate(set_indices)}
    for r in reps:
        y = row[int(r["set_index"])]
        ax.broken_barh([(r["start_s"] - t0, r["end_s"] - r["start_s"])], (y - 0.35, 0.7),
                       facecolors="tab:blue", edgecolors="white", linewidth=0.5)
    tut = {int(s["set_index"]): s["tut_s"] for s in sets}
    n_reps = {s: sum(1 for r in reps if int(r["set_index"]) == s) for s in set_indices}
    for s in set_indices:
        end = max(r["end_s"] for r in reps if int(r["set_index"]) == s) - t0
        label = f"{n_reps[s]} reps" + (f", TUT {tut[s]:.1f} s" if s in tut and tut[s] is not None else "")
        ax.text(end, row[s], "  " + label, va="center", fontsize=8)
    ax.set_yticks(range(len(set_indices)), [str(s + 1) for s in set_indices])
    ax.set_ylim(-0.6, len(set_indices) - 0.4)
    ax.invert_yaxis()
    xmax = max(r["end_s"] for r in reps) - t0
    ax.set_xlim(0, xmax * 1.25 + 1)


def _draw_weekly(ax: Any, participant: str, weeks: list[dict[str, Any]]) -> None:
    """Weekly TUT as bars spanning each ISO week, PHQ-9 and GAD-7 weekly means as points mid-week."""
    ax.set_title(f"{participant} · weekly time under tension and mood", fontsize=9)
    starts = [datetime(w["week_start"].year, w["week_start"].month, w["week_start"].day) for w in weeks]
    mid = [d + timedelta(days=3.5) for d in starts]
    ax.bar(starts, [w["tut_s"] for w in weeks], width=6.5, align="edge", color="tab:blue", alpha=0.5,
           label="TUT (s)")
    ax.set_ylabel("TUT per week (s)")
    ax.set_xticks(mid, [w["week"] for w in weeks], fontsize=8)
    if starts:
        ax.set_xlim(starts[0] - timedelta(days=1), starts[-1] + timedelta(days=8))
    mood_ax = ax.twinx()
    mood_ax.set_ylabel("weekly mean score")
    drawn = False
    for key, label, color in WEEKLY_MOOD:
        col = f"{key}_mean"
        pts = [(xi, w[col]) for xi, w in zip(mid, weeks) if w.get(col) is not None]
        if pts:
            mood_ax.plot([p[0] for p in pts], [p[1] for p in pts], "o-", color=color, label=label)
            drawn = True
    if drawn:
        mood_ax.legend(loc="upper right", fontsize=8)
    else:
        mood_ax.text(0.5, 0.9, "no PHQ-9 / GAD-7 entries", ha="center", transform=ax.transAxes, fontsize=8)
    ax.legend(loc="upper left", fontsize=8)


def _table_html(weekly: pa.Table) -> str:
    cols = [c for c in weekly.column_names if c != "week_start"]
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    body = []
    for row in _pylist(weekly.select(cols)):
        cells = []
        for c in cols:
            v = row[c]
            text = "" if v is None else (f"{v:.2f}" if isinstance(v, float) else str(v))
            cells.append(f"<td>{html.escape(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def write_report(store: str | Path, out: str | Path, *, participant: str | None = None, tz: str = "UTC") -> ReportSummary:
    """Draw the report of ``store`` (one participant or all) to ``out``: ``.html`` (self-contained,
    plots embedded as base64 PNG) or ``.png`` (one tall figure). Written 0600, atomically.

    Raises
    ------
    InputError
        Unknown suffix, matplotlib missing, or nothing to report for the selection.
    """
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in (".html", ".htm", ".png"):
        raise InputError(f"report suffix {out.suffix!r}: want .html or .png", path=str(out))
    Figure, FigureCanvasAgg = _matplotlib()
    sessions = read_store_table(store, "sessions")
    reps = read_store_table(store, "reps")
    sets = read_store_table(store, "sets")
    mood = read_mood(store)
    if participant is not None:
        sessions = sessions.filter(pc.equal(sessions["participant"].cast(pa.string()), participant)) \
            if sessions.num_rows else sessions
        mood = mood.filter(pc.equal(mood["participant"], participant))
    if sessions.num_rows == 0:
        raise InputError("no sessions in the store" + (" for that participant" if participant is not None else ""))
    weekly = weekly_table(sessions, mood, tz=tz)
    sess_rows = _pylist(sessions.sort_by([("participant", "ascending"), ("start_utc", "ascending")]))
    participants = tuple(sorted({str(r["participant"]) for r in sess_rows}))
    cap = MAX_SESSIONS_PNG if suffix == ".png" else MAX_SESSIONS_HTML
    shown, omitted = sess_rows[:cap], max(0, len(sess_rows) - cap)

    def session_parts(s: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        sid = str(s["session_id"])
        return _rows(reps, "session_id", sid), _rows(sets, "session_id", sid)

    if suffix == ".png":
        n = len(participants) + len(shown)
        fig = Figure(figsize=(10, 2.8 * n + 0.6), layout="constrained")
        FigureCanvasAgg(fig)
        axes = fig.subplots(n, 1, squeeze=False)[:, 0]
        for ax, p in zip(axes, participants):
            _draw_weekly(ax, p, _rows(weekly, "participant", p))
        for ax, s in zip(axes[len(participants):], shown):
            _draw_timeline(ax, s, *session_parts(s))
        if omitted:
            fig.suptitle(f"{omitted} later session(s) not drawn (PNG limit {cap}); use .html for all")
        payload = _png(fig)
        n_plots = 1
    else:
        images: list[tuple[str, bytes]] = []
        for p in participants:
            fig = Figure(figsize=(10, 3.6), layout="constrained")
            FigureCanvasAgg(fig)
            _draw_weekly(fig.add_subplot(), p, _rows(weekly, "participant", p))
            images.append((f"weekly TUT and mood, {p}", _png(fig)))
        for s in shown:
            r, st = session_parts(s)
            n_sets = len({int(x["set_index"]) for x in r}) or 1
            fig = Figure(figsize=(10, 1.2 + 0.45 * n_sets), layout="constrained")
            FigureCanvasAgg(fig)
            _draw_timeline(fig.add_subplot(), s, r, st)
            images.append((f"rep timeline, session {s['session_id']}", _png(fig)))
        parts = [
            "<!DOCTYPE html><html><head><meta charset='utf-8'><title>repsense report</title>",
            "<style>body{font-family:sans-serif;max-width:1100px;margin:auto}table{border-collapse:collapse;"
            "font-size:12px}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}</style></head><body>",
            "<h1>repsense: training dose and mood</h1>",
            f"<p>{len(sess_rows)} session(s), {len(participants)} participant(s); weeks are ISO weeks in "
            f"{html.escape(tz)}.</p>",
            "<h2>Weekly table</h2>", _table_html(weekly), "<h2>Plots</h2>",
        ]
        if omitted:
            parts.append(f"<p>{omitted} later session(s) not drawn (limit {cap}).</p>")
        for caption, png in images:
            b64 = base64.b64encode(png).decode("ascii")
            parts.append(f"<figure><img src=\"data:image/png;base64,{b64}\" alt=\"{html.escape(caption)}\">"
                         f"<figcaption>{html.escape(caption)}</figcaption></figure>")
        parts.append("</body></html>")
        payload = "\n".join(parts).encode("utf-8")
        n_plots = len(images)
    atomic_write_bytes(payload, out)
    return ReportSummary(out, n_plots, len(shown), omitted, participants)
