"""The shipped recordings/ are what make_recordings.py makes, and the readers read them right."""

from __future__ import annotations

import csv
import functools
import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from repsense.io import read_recording

RECORDINGS = Path(__file__).resolve().parents[2] / "recordings"


@functools.cache
def _load_script():
    name = "repsense_recordings_make_recordings"
    spec = importlib.util.spec_from_file_location(name, RECORDINGS / "make_recordings.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod  # dataclasses look their module up while the class is created
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("recordings")
    _load_script().make(out)
    return out


def test_committed_recordings_are_reproducible(regenerated: Path) -> None:
    made = sorted(p.name for p in regenerated.iterdir())
    shipped = sorted(p.name for p in RECORDINGS.iterdir() if p.suffix == ".csv")
    assert made == shipped
    for name in made:
        assert (regenerated / name).read_bytes() == (RECORDINGS / name).read_bytes(), (
            f"recordings/{name} differs from what recordings/make_recordings.py makes now; rerun it"
        )
    total = sum((RECORDINGS / n).stat().st_size for n in made)
    assert total < 700_000  # small enough to ship in the repo


def _labels() -> list[dict[str, str]]:
    with open(RECORDINGS / "labels.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def test_labels_cover_every_recording() -> None:
    rows = _labels()
    files = {r["file"] for r in rows}
    accel_files = {p.name for p in RECORDINGS.glob("*.csv") if p.name != "labels.csv" and "_Gyroscope_" not in p.name}
    assert files == accel_files
    assert {r["participant"] for r in rows} == {"P01", "P02", "P03", "P04", "P05"}
    for r in rows:
        if r["exercise"] == "rest":
            assert int(r["reps"]) == 0 and float(r["tut_s"]) == 0.0
        else:
            assert int(r["reps"]) >= 1
            assert float(r["tut_s"]) == pytest.approx(
                float(r["concentric_s"]) + float(r["eccentric_s"]) + float(r["pause_s"]), abs=2e-3)
            assert float(r["tut_s"]) <= float(r["end_s"]) - float(r["start_s"]) + 1e-3


@pytest.mark.parametrize("name", sorted({r["file"] for r in _labels()}))
def test_readers_read_the_shipped_files(name: str, regenerated: Path) -> None:
    mod = _load_script()
    spec = next(s for s in mod.SPECS if s.participant == next(r["participant"] for r in _labels() if r["file"] == name))
    rec_true, truth = mod.simulate_session(spec.seed, participant=spec.participant, **spec.sim)
    rec = read_recording(RECORDINGS / name)
    assert rec.n_dropped == 0
    assert len(rec.accel) == len(rec_true.accel)
    assert rec.accel.t_s[0] == 0.0
    # timestamps survive the round trip to ms / 0.1 ms precision
    np.testing.assert_allclose(rec.accel.t_s, rec_true.accel.t_s, atol=1.5e-3)
    # values in g whatever the file's unit, to the file's written precision (1 mg, or 1 mm/s²)
    np.testing.assert_allclose(rec.accel.values, rec_true.accel.values, atol=6e-4)
    assert (rec.gyro is not None) == (rec_true.gyro is not None)
    if rec.gyro is not None and "_Accelerometer_" in name:
        assert len(rec.gyro) == len(rec_true.gyro)
        np.testing.assert_allclose(rec.gyro.values, rec_true.gyro.values, atol=6e-4)
    if rec.meta.extra.get("absolute_time", True) and spec.sim.get("t0_utc_ns"):
        assert rec.meta.t0_utc_ns == spec.sim["t0_utc_ns"]
    assert rec.accel.sample_rate_hz == pytest.approx(truth.sample_rate_hz, rel=0.05)
