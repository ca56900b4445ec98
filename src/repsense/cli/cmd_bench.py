"""``repsense bench [--out results.json] [--shared PATH] [--quick]``: accuracy and speed, ours vs references."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

NAME = "bench"
HELP = "benchmark accuracy (MetaMotion, simulated) and speed against the peer pipeline, np.copy and scipy"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", metavar="FILE", help="write the results as JSON here")
    parser.add_argument("--shared", metavar="PATH", help="folder with datasets/metamotion-barbell (default: ../shared)")
    parser.add_argument("--quick", action="store_true", help="1 day instead of 1 week of 100 Hz data; fewer simulations")


def _pct(v: float) -> str:
    return f"{100 * v:.1f}%" if v == v else "-"


def _target(name: str, value: float) -> str:
    from ..bench import TARGETS

    goal, op = TARGETS[name]
    ok = {">=": value >= goal, "<=": value <= goal, "==": value == goal}[op]
    return ("[green]met[/]" if ok else "[red]missed[/]") + f" ({op} {goal:g})"


def render(res: dict, console) -> None:
    from rich.table import Table

    for section, why in res["skipped"].items():
        console.print(f"[yellow]skipped {section}:[/] {why}")
    mm = res.get("metamotion")
    if mm:
        t = Table(title=f"MetaMotion: {mm['n_sets']} distinct exercise sets, {mm['n_rest']} rest recordings "
                        f"(detector {res['detector_version']}; peer = per-exercise tuned low-pass + argrelextrema)")
        for col in ("group", "n", "ours MAE", "ours exact", "ours ±1", "peer MAE", "peer exact", "peer ±1"):
            t.add_column(col)
        groups = [("overall", mm["ours"]["overall"], mm["peer"]["overall"])]
        groups += [(k, v, mm["peer"]["per_exercise"][k]) for k, v in mm["ours"]["per_exercise"].items()]
        groups += [(f"participant {k}", v, mm["peer"]["per_participant"][k]) for k, v in mm["ours"]["per_participant"].items()]
        for name, o, p in groups:
            t.add_row(name, str(o["n"]), f"{o['mae']:.2f}", _pct(o["exact"]), _pct(o["within1"]),
                      f"{p['mae']:.2f}", _pct(p["exact"]), _pct(p["within1"]))
        t.add_row("rest recordings (reps)", str(mm["n_rest"]), str(mm["ours"]["rest_reps"]), "", "",
                  str(mm["peer"]["rest_reps"]), "", "")
        console.print(t)
        o = mm["ours"]["overall"]
        console.print(f"targets: ±1 {_target('metamotion_within1', o['within1'])}, exact "
                      f"{_target('metamotion_exact', o['exact'])}, MAE {_target('metamotion_mae', o['mae'])}, "
                      f"rest {_target('rest_reps', max(mm['ours']['rest_reps'], default=0))}")
    for key, what in (("simulated", "Simulated, seeds 1000-1029 (used in tuning)"),
                      ("simulated_heldout", "Simulated, held-out seeds 2000-2029 (not used in tuning)"),
                      ("simulated_heldout2", "Simulated, held-out seeds 3000-3029 (not used in tuning)")):
        sim = res.get(key)
        if sim:
            _render_simulated(sim, what, console)
    g2 = res.get("second_generator")
    if g2:
        _render_second_generator(g2, console)
    sp = res.get("speed")
    if sp:
        t = Table(title=f"Speed: {sp['rows'] / 1e6:.2f} M rows of {sp['sample_rate_hz']:g} Hz 6-axis float32, single core")
        for col in ("what", "rows/s", "ratio", "target"):
            t.add_column(col)
        t.add_row("repsense detect (resample, sets, reps, TUT)", f"{sp['ours_rows_per_s'] / 1e6:.1f} M", "1", "")
        t.add_row("np.copy of the same array", f"{sp['copy_rows_per_s'] / 1e6:.1f} M",
                  f"ours = {_pct(sp['ours_vs_copy'])} of copy", _target("ours_vs_copy", sp["ours_vs_copy"]))
        t.add_row(f"scipy sosfiltfilt + find_peaks ({sp['scipy_rows'] / 1e6:.2f} M rows)", f"{sp['scipy_rows_per_s'] / 1e6:.2f} M",
                  f"ours = {sp['ours_vs_scipy']:.1f}x", _target("ours_vs_scipy", sp["ours_vs_scipy"]))
        t.add_row(f"streaming, {sp['stream_block_rows']}-sample blocks", f"{sp['stream_us_per_sample']:.2f} µs/sample", "",
                  _target("stream_us_per_sample", sp["stream_us_per_sample"]))
        for mode, m in sp.get("stream_modes", {}).items():
            lat, slat = m["rep_emit_latency_s"], m["set_emit_latency_s"]
            t.add_row(f"emission latency, {mode} (rep end / set end -> emitted)",
                      f"rep median {lat['median']:.1f} s (max {lat['max']:.1f}); set median {slat['median']:.1f} s "
                      f"(max {slat['max']:.1f})", f"{m['us_per_sample']:.2f} µs/sample", "")
        console.print(t)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from ..bench import run_bench

    console = Console()
    err = Console(stderr=True)
    shared = Path(args.shared) if args.shared else Path(os.getcwd()).parent / "shared"
    if args.shared and not Path(args.shared).is_dir():
        err.print(f"error: --shared {args.shared}: not a folder", markup=False, highlight=False)
        return 2
    with console.status("benchmarking...") as status:
        res = run_bench(shared, quick=args.quick, progress=lambda m: status.update(m))
    render(res, console)
    if args.out:
        Path(args.out).write_text(json.dumps(res, indent=1, default=float) + "\n")
        console.print(f"results -> {args.out}")
    return 0


def _render_simulated(sim: dict, what: str, console) -> None:
    t = _accuracy_table(f"{what}: {sim['n_sessions']} sessions at {sim['rates_hz']} Hz, {sim['true_sets']} true sets",
                        "target", sim, sim["counts"])
    for k, v in sim["per_exercise"].items():
        t.add_row(f"  {k}", f"±1 {_pct(v['within1'])}, exact {_pct(v['exact'])} (n {v['n']})", "")
    console.print(t)


def _render_second_generator(g2: dict, console) -> None:
    seeds = f"seeds {g2['seeds'][0]}-{g2['seeds'][1]}" if g2["seeds"] else "no seeds"
    rates = ", ".join(f"{r:g}" for r in g2["rates_hz"])
    console.print(_accuracy_table(
        f"Second generator (trapezoid reps, rests of isolated gestures; not repsense.simulate), {seeds}: "
        f"{g2['n_sessions']} sessions at {rates} Hz, {g2['true_sets']} true sets", "target (simulated)", g2, g2["counts"]))


def _accuracy_table(title: str, target_col: str, res: dict, counts: dict):
    """Set F1, rep counts (``counts``: within1, exact, mae), TUT and split errors of ``res``
    against the simulated targets."""
    from rich.table import Table

    t = Table(title=title)
    for col in ("metric", "value", target_col):
        t.add_column(col)
    t.add_row("set F1 (IoU >= 0.5)", f"{res['set_f1']:.3f} (tp {res['set_tp']}, fp {res['set_fp']}, fn {res['set_fn']})",
              _target("sim_set_f1", res["set_f1"]))
    t.add_row("reps ±1 / exact / MAE", f"{_pct(counts['within1'])} / {_pct(counts['exact'])} / {counts['mae']:.2f}",
              _target("sim_within1", counts["within1"]))
    t.add_row("median TUT error", _pct(res["tut_error_median"]), _target("sim_tut_error_median", res["tut_error_median"]))
    t.add_row("  on sets counted exactly", _pct(res["tut_error_median_exact_count"]), "")
    t.add_row("median ecc/con split error", _pct(res["split_error_median"]),
              _target("sim_split_error_median", res["split_error_median"]))
    return t
