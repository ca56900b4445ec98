"""Accuracy: the real MetaMotion data set (ours vs the peer baseline) and simulated sessions."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..segment import DetectorConfig, detect
from .peer import peer_count


def count_metrics(errors: list[int]) -> dict[str, float]:
    """MAE, exact-count rate and within-one rate of count errors (found - true)."""
    e = np.asarray(errors, dtype=float)
    if e.size == 0:
        return {"n": 0, "mae": float("nan"), "exact": float("nan"), "within1": float("nan")}
    return {"n": int(e.size), "mae": float(np.abs(e).mean()), "exact": float((e == 0).mean()),
            "within1": float((np.abs(e) <= 1).mean())}


def metamotion_accuracy(dataset_dir: Path, config: DetectorConfig | None = None,
                        progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Score the distinct records (empty ``duplicate_of``) of the MetaMotion data set.

    Returns per-set rows, overall and per-exercise and per-participant metrics for our
    detector and the peer baseline, and the reps counted on the rest recordings.
    """
    from ..io import read_recording

    with open(dataset_dir / "labels.csv", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if not r["duplicate_of"]]
    sets = []
    for r in rows:
        rec = read_recording(dataset_dir / "raw" / r["accelerometer"])
        det = detect(rec, config=config)
        sets.append({"set_id": r["set_id"], "participant": r["participant"], "exercise": r["exercise"],
                     "true": int(r["reps"]), "ours": det.n_reps, "ours_sets": len(det.sets),
                     "peer": peer_count(rec, r["exercise"]),
                     "tut_s": round(sum(s.tut_s for s in det.sets), 3)})
        if progress:
            progress(r["set_id"])
    ex = [s for s in sets if s["exercise"] != "rest"]
    out: dict[str, Any] = {"n_sets": len(ex), "n_rest": len(sets) - len(ex)}
    for who in ("ours", "peer"):
        res = {"overall": count_metrics([s[who] - s["true"] for s in ex]), "per_exercise": {}, "per_participant": {}}
        for key, group in (("per_exercise", "exercise"), ("per_participant", "participant")):
            for name in sorted({s[group] for s in ex}):
                res[key][name] = count_metrics([s[who] - s["true"] for s in ex if s[group] == name])
        res["rest_reps"] = [s[who] for s in sets if s["exercise"] == "rest"]
        out[who] = res
    out["sets"] = sets
    return out


def _iou(a0: float, a1: float, b0: float, b1: float) -> float:
    inter = max(0.0, min(a1, b1) - max(a0, b0))
    union = max(a1, b1) - min(a0, b0)
    return inter / union if union > 0 else 0.0


def match_sets(truth_spans: list[tuple[float, float]], found_spans: list[tuple[float, float]],
               min_iou: float = 0.5) -> list[int]:
    """For each true set in turn, the index of the unused found set of highest IoU (at least
    ``min_iou``), or -1: the matching behind set F1."""
    used: set[int] = set()
    out = []
    for t0, t1 in truth_spans:
        best, best_j = 0.0, -1
        for j, (f0, f1) in enumerate(found_spans):
            v = _iou(t0, t1, f0, f1)
            if v > best and j not in used:
                best, best_j = v, j
        if best < min_iou:
            best_j = -1
        else:
            used.add(best_j)
        out.append(best_j)
    return out


def phase_errors(found: Any, tut_s: float, eccentric_s: float, concentric_s: float) -> tuple[float, float]:
    """TUT and eccentric/concentric split errors of a matched set ``found`` (a ``RepSet``)
    against its true TUT and phase times: ``|TUT - true| / true`` and ``|share - true share|
    / true share``, the share being ``con / (con + ecc)`` (0 for a set with no phase time)."""
    share_t = concentric_s / (concentric_s + eccentric_s)
    denom = found.concentric_s + found.eccentric_s
    share_d = found.concentric_s / denom if denom > 0 else 0.0
    return abs(found.tut_s - tut_s) / tut_s, abs(share_d - share_t) / share_t


def simulated_accuracy(seeds: range, rates_hz: tuple[float, ...] = (12.5, 25.0, 50.0, 100.0), n_sets: int = 3,
                       config: DetectorConfig | None = None) -> dict[str, Any]:
    """Set F1 (IoU >= 0.5), rep-count accuracy, TUT and phase-split errors on simulated
    sessions (:class:`SetScores`), also per exercise and per rate."""
    from ..simulate import simulate_session

    scores = SetScores()
    per_ex: dict[str, list[int]] = {}
    per_rate: dict[str, list[int]] = {}
    for rate in rates_hz:
        for seed in seeds:
            rec, truth = simulate_session(seed, sample_rate_hz=rate, n_sets=n_sets)
            found = scores.add([(ts.start_s, ts.end_s, ts.n_reps, ts.tut_s, ts.eccentric_s, ts.concentric_s)
                                for ts in truth.sets], detect(rec, config=config))
            for ts, e in zip(truth.sets, found):
                if e is not None:
                    per_ex.setdefault(ts.exercise, []).append(e)
                    per_rate.setdefault(f"{rate:g}", []).append(e)
    return {"n_sessions": len(seeds) * len(rates_hz), "rates_hz": list(rates_hz), **scores.summary(),
            "per_exercise": {k: count_metrics(v) for k, v in sorted(per_ex.items())},
            "per_rate_hz": {k: count_metrics(v) for k, v in per_rate.items()}}


class SetScores:
    """Detected sets matched to the true sets of sessions (:func:`match_sets`), and the count,
    TUT and phase-split errors of the matched ones, session after session: what the simulated
    benchmarks report (:meth:`summary`).

    The split error is the absolute difference of the concentric share ``con / (con + ecc)``
    between detection and truth, relative to the true share (per matched set). The TUT
    error is also given over the sets counted exactly with no reps estimated in holes
    (``tut_error_median_exact_count``): a missed or extra rep moves a set's TUT by about
    1/n, so that figure isolates the rep timing from the count.
    """

    def __init__(self) -> None:
        self.tp = self.fp = self.fn = 0
        self.errors: list[int] = []
        self.tut_err: list[float] = []
        self.tut_err_exact: list[float] = []  # sets counted exactly, every rep timed: the timing alone
        self.split_err: list[float] = []

    def add(self, truth: list[tuple[float, float, int, float, float, float]], det: Any) -> list[int | None]:
        """One session: ``truth`` rows ``(start_s, end_s, n_reps, tut_s, eccentric_s, concentric_s)``,
        ``det`` its ``Detection``. Returns each true set's count error (found - true), None
        when no detected set matches it."""
        matches = match_sets([row[:2] for row in truth], [(ds.start_s, ds.end_s) for ds in det.sets])
        out: list[int | None] = []
        for (_s, _e, n_reps, tut_s, eccentric_s, concentric_s), j in zip(truth, matches):
            if j < 0:
                self.fn += 1
                out.append(None)
                continue
            self.tp += 1
            ds = det.sets[j]
            e = ds.n_reps - n_reps
            self.errors.append(e)
            tut, split = phase_errors(ds, tut_s, eccentric_s, concentric_s)
            self.tut_err.append(tut)
            self.split_err.append(split)
            if e == 0 and ds.n_reps_in_gaps == 0:
                self.tut_err_exact.append(tut)
            out.append(e)
        self.fp += len(det.sets) - sum(j >= 0 for j in matches)
        return out

    def summary(self) -> dict[str, Any]:
        """Set F1 (IoU >= 0.5) and its counts, :func:`count_metrics` of the count errors
        (``counts``), and the median TUT and split errors (NaN for no matched set)."""
        tp, fp, fn = self.tp, self.fp, self.fn
        nan = float("nan")
        return {"true_sets": tp + fn, "set_tp": tp, "set_fp": fp, "set_fn": fn,
                "set_f1": 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else nan,
                "counts": count_metrics(self.errors),
                "tut_error_median": float(np.median(self.tut_err)) if self.tut_err else nan,
                "tut_error_median_exact_count": float(np.median(self.tut_err_exact)) if self.tut_err_exact else nan,
                "split_error_median": float(np.median(self.split_err)) if self.split_err else nan}
