"""Shared fixtures: a seeded RNG and the real MetaMotion data set in ../shared (skipped when absent)."""

from __future__ import annotations

import csv
import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import settings

# Shared machines are slow and noisy: no per-example deadline anywhere. In CI (CI=true) every
# run sees the same examples, so a failure there is reproducible, not luck.
settings.register_profile("repsense", deadline=None)
settings.register_profile("ci", deadline=None, derandomize=True, database=None)
settings.load_profile("ci" if os.environ.get("CI") else "repsense")

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("REPSENSE_SHARED", REPO.parent / "shared"))
METAMOTION = SHARED / "datasets" / "metamotion-barbell"


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


@pytest.fixture(scope="session")
def metamotion_dir() -> Path:
    if not (METAMOTION / "labels.csv").is_file():
        pytest.skip(f"real MetaMotion data set not found at {METAMOTION} (set REPSENSE_SHARED to the shared/ folder)")
    return METAMOTION


@pytest.fixture(scope="session")
def metamotion_labels(metamotion_dir: Path) -> list[dict]:
    with open(metamotion_dir / "labels.csv", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="session")
def naive():
    """The slow, obviously-correct twins of the numba kernels (tests/naive.py)."""
    spec = importlib.util.spec_from_file_location("repsense_tests_naive", REPO / "tests" / "naive.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod
