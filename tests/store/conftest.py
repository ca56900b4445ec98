"""Recordings and detections built by hand (the store is tested below the readers and detector)."""

from __future__ import annotations

import numpy as np
import pytest

from repsense.types import Detection, DropReason, ReadReport, Recording, RecordingMeta, Rep, RepSet, Stream

T0_NS = 1_547_476_020_784_000_123  # 2019-01-14T14:27:00.784000123Z


def make_recording(rng: np.random.Generator, n: int = 500, rate_hz: float = 12.5, gyro: bool = True,
                   participant: str = "A", t0_ns: int = T0_NS, source: str = "/some/where/A-bench.csv") -> Recording:
    t_s = np.arange(n) / rate_hz + rng.normal(0, 1e-3, n)
    t_s.sort()
    accel = Stream(t_s=t_s, values=rng.normal(0, 1, (n, 3)).astype(np.float32), unit="g")
    g = None
    if gyro:
        tg = np.arange(2 * n) / (2 * rate_hz) + 0.0037
        g = Stream(t_s=tg, values=(rng.normal(0, 50, (2 * n, 3))).astype(np.float32), unit="deg/s")
    meta = RecordingMeta(t0_utc_ns=t0_ns, device_kind="metawear", firmware="1.4.4", source_file=source,
                         participant=participant, extra={"mac": "C4:27:32:BE:25:5C"})
    reports = (ReadReport(source_file=source, n_rows=n + 3, n_kept=n,
                          dropped={"non_numeric": DropReason(2, (7, 9)), "backwards_time": DropReason(1, (12,))},
                          gaps=((10.0, 12.5),)),)
    return Recording(accel=accel, meta=meta, gyro=g, reports=reports)


def make_detection(version: str = "test-1") -> Detection:
    reps1 = (Rep(1.0, 3.0, 1.2, 0.8, 0.0, False), Rep(3.0, 5.5, 1.0, 1.0, 0.5, True))
    reps2 = (Rep(20.0, 22.0, 1.0, 1.0),)
    sets = (
        RepSet(0.9, 5.6, reps1, 4.5, 2.2, 1.8, 0.5, 2.25, 1.25),
        RepSet(19.9, 22.1, reps2, 2.0, 1.0, 1.0, 0.0, 2.0, float("nan")),
    )
    return Detection(sets=sets, sample_rate_hz=12.5, detector_version=version)


@pytest.fixture
def recording(rng: np.random.Generator) -> Recording:
    return make_recording(rng)


@pytest.fixture
def detection() -> Detection:
    return make_detection()
