"""write_session_streamed from SampleSpill: the same files and bytes as write_session from memory."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from repsense.errors import EmptyRecordingError
from repsense.store import write_session
from repsense.store.parquet import SampleSpill, write_session_streamed

from .conftest import make_detection, make_recording


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _spill(folder: Path, stream, rng: np.random.Generator) -> SampleSpill:  # type: ignore[no-untyped-def]
    sp = SampleSpill(folder)
    lo = 0
    while lo < len(stream):  # blocks of random sizes, as a reader emits them
        hi = min(len(stream), lo + int(rng.integers(1, 400)))
        sp.append(stream.t_s[lo:hi], stream.values[lo:hi])
        lo = hi
    return sp


@pytest.mark.parametrize("gyro", [True, False])
@pytest.mark.parametrize("rows_per_part", [4_000_000, 777])
def test_streamed_writer_bytes_equal_write_session(tmp_path: Path, rng: np.random.Generator, gyro: bool,
                                                   rows_per_part: int) -> None:
    rec = make_recording(rng, n=1500, gyro=gyro)
    det = make_detection()
    a, b = tmp_path / "memory", tmp_path / "spilled"
    write_session(a, rec, det, source_sha256="ab" * 32, samples_rows_per_part=rows_per_part)
    b.mkdir()
    with _spill(b, rec.accel, rng) as accel:
        g = _spill(b, rec.gyro, rng) if rec.gyro is not None else None
        assert os.listdir(b) == []  # the spill files have no name
        write_session_streamed(b, rec.meta, rec.reports, accel, g, det, source_sha256="ab" * 32,
                               gyro_sample_rate_hz=None if rec.gyro is None else rec.gyro.sample_rate_hz,
                               samples_rows_per_part=rows_per_part)
        if g is not None:
            t, v = g.rows(100, 250)
            np.testing.assert_array_equal(t, rec.gyro.t_s[100:250])  # type: ignore[union-attr]
            np.testing.assert_array_equal(v, rec.gyro.values[100:250])  # type: ignore[union-attr]
            g.close()
    ta, tb = _tree(a), _tree(b)
    assert len([k for k in ta if k.startswith("samples/")]) == (1 if rows_per_part > 10_000 else -(-(1500 + 3000 * gyro) // 777))
    assert ta.keys() == tb.keys() and [k for k in ta if ta[k] != tb[k]] == []


def test_spill_refuses_bad_shapes_and_an_empty_session(tmp_path: Path, rng: np.random.Generator) -> None:
    rec = make_recording(rng, n=10)
    with SampleSpill(tmp_path) as sp:
        with pytest.raises(ValueError, match="values"):
            sp.append(np.zeros(3), np.zeros((2, 3), np.float32))
        with pytest.raises(EmptyRecordingError):
            write_session_streamed(tmp_path / "out", rec.meta, rec.reports, sp, None, make_detection(),
                                   source_sha256="cd" * 32)
