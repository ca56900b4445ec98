"""The decoder benchmark still runs and covers every protocol (no timing is asserted here)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from repsense.protocols import PROTOCOLS

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_decoders.py"


def test_bench_decoders_runs_on_every_protocol():
    spec = importlib.util.spec_from_file_location("bench_decoders", BENCH)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up
    try:
        spec.loader.exec_module(mod)
    finally:
        sys.modules.pop(spec.name, None)
    rows = mod.run_benchmark(seconds=0.025, repeat=1)
    kinds = {r["protocol"].split()[0] for r in rows}
    assert kinds == set(PROTOCOLS)
    for r in rows:
        assert r["samples"] > 0 and r["ours_sps"] > 0 and r["ref_sps"] > 0 and r["core_pct_200hz"] > 0
