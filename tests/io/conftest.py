"""Helpers for the reader tests: write small recording files into tmp_path."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Callable

import pytest

_HERE = Path(__file__).resolve().parent

METABASE_ANDROID_HEADER = "epoch (ms),time (-13:00),elapsed (s),x-axis (g),y-axis (g),z-axis (g)"


@pytest.fixture
def write_text(tmp_path: Path) -> Callable[..., Path]:
    """Write ``text`` (str or bytes) to ``tmp_path/name`` and return the path."""

    def _write(name: str, text: str | bytes) -> Path:
        p = tmp_path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, str):
            p.write_text(text, encoding="utf-8", newline="")
        else:
            p.write_bytes(text)
        return p

    return _write


def _android_rows(n: int, start_ms: int = 1515983969561, step_ms: int = 80) -> list[str]:
    rows = []
    for i in range(n):
        rows.append(f"{start_ms + i * step_ms},2018-01-14T18:39:29.561,{i * step_ms / 1000:.3f},"
                    f"{(i % 7) * 0.01 - 0.03:.3f},{(i % 5) * 0.02 - 0.04:.3f},{0.9 + (i % 3) * 0.05:.3f}")
    return rows


@pytest.fixture
def android_rows() -> Callable[..., list[str]]:
    """``android_rows(n, start_ms=..., step_ms=80)``: well-formed MetaBase Android accelerometer rows."""
    return _android_rows


@pytest.fixture(scope="session")
def naive() -> ModuleType:
    """The slow twins in ``tests/io/naive.py`` (loaded by path: tests run with importlib mode)."""
    spec = importlib.util.spec_from_file_location("repsense_tests_io_naive", _HERE / "naive.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod
