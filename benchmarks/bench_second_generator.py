"""Detector accuracy on the second generator (:mod:`repsense.bench.second_generator`), as
``repsense bench`` reports it: ``python benchmarks/bench_second_generator.py [--seeds N]``."""

from __future__ import annotations

import argparse

from repsense.bench.second_generator import second_generator_accuracy, session  # noqa: F401 (scripts import session)


def score(n_seeds: int, rates_hz: tuple[float, ...] = (25.0, 50.0, 100.0)) -> dict:
    """:func:`second_generator_accuracy` of seeds ``0 .. n_seeds - 1``."""
    return second_generator_accuracy(range(n_seeds), rates_hz)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=20)
    r = score(ap.parse_args().seeds)
    print(f"second generator, {r['n_sessions']} sessions, {r['true_sets']} true sets")
    print(f"  sets: TP {r['set_tp']}  FP {r['set_fp']}  FN {r['set_fn']}  F1 {r['set_f1']:.3f}")
    c = r["counts"]
    print(f"  reps on matched sets: MAE {c['mae']:.2f}  exact {c['exact']:.1%}  within one {c['within1']:.1%}  "
          f"mean error {r['mean_error']:+.2f}")
    print(f"  phases on matched sets: median TUT error {r['tut_error_median']:.1%} "
          f"({r['tut_error_median_exact_count']:.1%} on the sets counted exactly)  "
          f"median eccentric/concentric split error {r['split_error_median']:.1%}")
