"""Shared fixtures: a seeded RNG and the real MetaMotion data set in ../shared (skipped when absent)."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np
import pytest

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
