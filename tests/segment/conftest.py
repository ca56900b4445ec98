"""Loads the naive kernel twins (tests/naive.py) as a fixture."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest


def load_naive():
    spec = importlib.util.spec_from_file_location("repsense_tests_naive", Path(__file__).resolve().parents[1] / "naive.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="session")
def naive():
    return load_naive()
