#!/usr/bin/env python3
"""Regenerate the small demo recordings in this folder and their labels (deterministic).

    python recordings/make_recordings.py            # writes next to this script
    python recordings/make_recordings.py --out DIR

Every file comes from :mod:`repsense.simulate` with a fixed seed, written in a format that
:func:`repsense.read_recording` accepts: MetaBase Android CSV pairs (accelerometer + gyroscope),
a generic 6-axis CSV with relative seconds, a generic CSV in m/s² with ISO 8601 UTC times and a
rest-only recording. ``labels.csv`` has one row per true set (and one row with 0 reps for the
rest recording). Times in ``labels.csv`` are seconds from the file's first accelerometer sample.

This is a script, not library code: the simulator computes, this file writes.
"""

from __future__ import annotations

import argparse
import csv
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

import numpy as np

from repsense.simulate import SessionTruth, simulate_session
from repsense.types import Recording

HERE = Path(__file__).resolve().parent
G0 = 9.80665
MAC = "D4A1C3E8F217"  # made-up device address


def utc_ns(text: str) -> int:
    """'2025-03-04T17:12:31.204' (UTC) -> int ns since the epoch."""
    dt = datetime.fromisoformat(text).replace(tzinfo=timezone.utc)
    return int(round(dt.timestamp() * 1000)) * 1_000_000


def epoch_ms(rec: Recording, t_s: np.ndarray) -> np.ndarray:
    return np.round((rec.meta.t0_utc_ns + np.round(t_s * 1e9)) / 1e6).astype(np.int64)


def _local_iso(ms: np.ndarray, offset_min: int, sep: str = "T") -> list[str]:
    base = datetime(1970, 1, 1) + timedelta(minutes=offset_min)
    return [(base + timedelta(milliseconds=int(m))).strftime(f"%Y-%m-%d{sep}%H:%M:%S.%f")[:-3] for m in ms]


def _write(path: Path, header: str, lines: list[str]) -> None:
    with open(path, "w", newline="") as fh:
        fh.write(header + "\n")
        fh.write("\n".join(lines))
        fh.write("\n")


def write_metabase_pair(rec: Recording, truth: SessionTruth, out: Path, label: str, tz_offset_min: int) -> list[str]:
    """MetaBase Android export: ``epoch (ms),time (HH:MM),elapsed (s),x-axis (g),...`` with rows
    ``%d,%s,%.3f,%.3f,%.3f,%.3f`` (``PROTOCOLS.md`` §2.5 a), one file per sensor, paired by name."""
    assert rec.gyro is not None
    start_ms = int(epoch_ms(rec, rec.accel.t_s[:1])[0]) - 417  # the app names the file just before streaming
    start = _local_iso(np.array([start_ms]), tz_offset_min)[0].replace(":", ".")
    sign = "-" if tz_offset_min < 0 else ""
    tz = f"{sign}{abs(tz_offset_min) // 60:02d}:{abs(tz_offset_min) % 60:02d}"
    names = []
    for stream, sensor, unit, rate in ((rec.accel, "Accelerometer", "g", truth.sample_rate_hz),
                                       (rec.gyro, "Gyroscope", "deg/s", truth.gyro_rate_hz)):
        name = f"{label}_MetaWear_{start}_{MAC}_{sensor}_{rate:.3f}Hz_1.4.4.csv"
        ms = epoch_ms(rec, stream.t_s)
        local = _local_iso(ms, tz_offset_min)
        el = (ms - ms[0]) / 1000.0
        v = stream.values
        lines = [
            "%d,%s,%.3f,%.3f,%.3f,%.3f" % (ms[i], local[i], el[i], v[i, 0], v[i, 1], v[i, 2]) for i in range(len(ms))
        ]
        _write(out / name, f"epoch (ms),time ({tz}),elapsed (s),x-axis ({unit}),y-axis ({unit}),z-axis ({unit})",
               lines)
        names.append(name)
    return names


def write_generic_relative(rec: Recording, truth: SessionTruth, out: Path, name: str) -> list[str]:
    """``t_s,ax,ay,az,gx,gy,gz``: relative seconds, accel in g, gyro in deg/s."""
    assert rec.gyro is not None
    # the logger writes one row per accelerometer sample with the nearest gyro sample
    j = np.clip(np.searchsorted(rec.gyro.t_s, rec.accel.t_s), 0, len(rec.gyro) - 1)
    a, g = rec.accel.values, rec.gyro.values[j]
    t = rec.accel.t_s
    lines = [
        "%.4f,%.4f,%.4f,%.4f,%.2f,%.2f,%.2f" % (t[i], a[i, 0], a[i, 1], a[i, 2], g[i, 0], g[i, 1], g[i, 2])
        for i in range(len(t))
    ]
    _write(out / name, "t_s,ax,ay,az,gx,gy,gz", lines)
    return [name]


def write_generic_ms2_iso(rec: Recording, truth: SessionTruth, out: Path, name: str) -> list[str]:
    """``timestamp,ax (m/s^2),ay (m/s^2),az (m/s^2)``: ISO 8601 UTC times, accel in m/s²."""
    ms = epoch_ms(rec, rec.accel.t_s)
    iso = [s + "Z" for s in _local_iso(ms, 0)]
    a = rec.accel.values.astype(np.float64) * G0
    lines = ["%s,%.3f,%.3f,%.3f" % (iso[i], a[i, 0], a[i, 1], a[i, 2]) for i in range(len(ms))]
    _write(out / name, "timestamp,ax (m/s^2),ay (m/s^2),az (m/s^2)", lines)
    return [name]


def write_generic_epoch_g(rec: Recording, truth: SessionTruth, out: Path, name: str) -> list[str]:
    """``epoch (ms),x,y,z``: Unix epoch milliseconds, unit-less accelerometer columns in g."""
    ms = epoch_ms(rec, rec.accel.t_s)
    a = rec.accel.values
    lines = ["%d,%.4f,%.4f,%.4f" % (ms[i], a[i, 0], a[i, 1], a[i, 2]) for i in range(len(ms))]
    _write(out / name, "epoch (ms),x,y,z", lines)
    return [name]


@dataclass(frozen=True)
class Spec:
    """One recording: who, the simulator arguments and how it is written."""

    participant: str
    seed: int
    sim: dict[str, Any]
    writer: Callable[..., list[str]]
    writer_args: dict[str, Any] = field(default_factory=dict)


SPECS = (
    # MetaBase rebuilds time from the sample counter: exact 80 / 40 ms grids, sensor clock slightly off
    Spec("P01", 101, dict(sample_rate_hz=12.5, gyro_rate_hz=25.0, n_sets=1, exercises="bench", reps=8,
                          lead_s=(4.0, 8.0), t0_utc_ns=utc_ns("2025-03-04T17:12:31.621"), timestamps="counter"),
         write_metabase_pair, dict(label="P01-bench", tz_offset_min=60)),
    Spec("P02", 202, dict(sample_rate_hz=12.5, gyro_rate_hz=25.0, n_sets=1, exercises="deadlift", reps=5,
                          lead_s=(4.0, 8.0), t0_utc_ns=utc_ns("2025-06-12T16:47:05.090"), timestamps="counter"),
         write_metabase_pair, dict(label="P02-deadlift", tz_offset_min=120)),
    Spec("P03", 303, dict(sample_rate_hz=50.0, n_sets=2, exercises=["curl", "lateral_raise"], reps=(5, 7),
                          rest_s=(20.0, 25.0), lead_s=(3.0, 4.0), t0_utc_ns=utc_ns("2025-05-20T06:31:44.512")),
         write_generic_relative, dict(name="P03_arms_2025-05-20_50Hz.csv")),
    Spec("P04", 404, dict(sample_rate_hz=25.0, gyro=False, n_sets=2, exercises=["squat", "ohp"], reps=(5, 8),
                          rest_s=(45.0, 60.0), lead_s=(5.0, 10.0), t0_utc_ns=utc_ns("2025-09-08T18:05:12.003")),
         write_generic_ms2_iso, dict(name="P04_squat_ohp_2025-09-08_ms2.csv")),
    Spec("P05", 505, dict(sample_rate_hz=25.0, gyro=False, n_sets=0, lead_s=(80.0, 90.0),
                          t0_utc_ns=utc_ns("2025-09-08T18:40:27.770")),
         write_generic_epoch_g, dict(name="P05_rest_2025-09-08_25Hz.csv")),
)

LABEL_FIELDS = ("file", "participant", "set", "exercise", "reps", "tut_s", "start_s", "end_s",
                "concentric_s", "eccentric_s", "pause_s", "sample_rate_hz", "seed")


def make(out: Path) -> list[dict[str, Any]]:
    out.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    for spec in SPECS:
        rec, truth = simulate_session(spec.seed, participant=spec.participant, **spec.sim)
        files = spec.writer(rec, truth, out, **spec.writer_args)
        base = dict(file=files[0], participant=spec.participant, sample_rate_hz=truth.sample_rate_hz,
                    seed=spec.seed)
        if not truth.sets:
            rows.append(dict(base, set=0, exercise="rest", reps=0, tut_s="0.000", start_s="", end_s="",
                             concentric_s="0.000", eccentric_s="0.000", pause_s="0.000"))
        for i, s in enumerate(truth.sets, start=1):
            rows.append(dict(base, set=i, exercise=s.exercise, reps=s.n_reps, tut_s=f"{s.tut_s:.3f}",
                             start_s=f"{s.start_s:.3f}", end_s=f"{s.end_s:.3f}",
                             concentric_s=f"{s.concentric_s:.3f}", eccentric_s=f"{s.eccentric_s:.3f}",
                             pause_s=f"{s.pause_s:.3f}"))
    with open(out / "labels.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=LABEL_FIELDS, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=HERE, help="output folder (default: this script's folder)")
    args = ap.parse_args()
    for row in make(args.out):
        print(f"{row['file']}: set {row['set']} {row['exercise']} reps={row['reps']} tut_s={row['tut_s']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
