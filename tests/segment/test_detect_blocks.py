"""detect() feeds the detector in blocks and checks the gyro in the resampler's pass: the
result and every error are those of one block with a separate gyro check before it."""

from __future__ import annotations

import numpy as np
import pytest

import repsense.segment as segment
from repsense.errors import InputError, SamplingRateError
from repsense.segment import RepSegmenter, detect


def _session(rate_hz: float = 25.0):
    from repsense.simulate import simulate_session

    rec, _ = simulate_session(3, sample_rate_hz=rate_hz, n_sets=2)
    t = rec.accel.t_s
    gyro = np.random.default_rng(0).normal(0, 20, (t.shape[0], 3)).astype(np.float32)
    return t, rec.accel.values, gyro


def _one_block(t, a, g):
    seg = RepSegmenter()
    return seg.update(t, a, g) + seg.finish()


@pytest.mark.parametrize("block_rows", [7, 1000, 1 << 18])
def test_blocks_give_the_one_block_result(monkeypatch, block_rows):
    t, a, g = _session()
    ref = _one_block(t, a, g)
    assert ref and sum(s.n_reps for s in ref) > 0
    monkeypatch.setattr(segment, "BLOCK_ROWS", block_rows)
    assert list(detect(t, a, g).sets) == ref


@pytest.mark.parametrize("what,row,match", [
    ("gyro", 3000, "gyro: sample 3000 is not finite"),
    ("accel", 3000, "accel: sample 3000 is not finite"),
    ("time", 3000, "timestamp 3000 is not finite"),
    ("order", 3000, "sample 3000: .* after "),
    ("gyro+accel", 3000, "gyro: sample 3001 is not finite"),  # the gyro is checked before the accel
])
def test_errors_name_the_row_of_the_whole_input(monkeypatch, what, row, match):
    t, a, g = _session()
    t, a, g = t.copy(), a.copy(), g.copy()
    if what.startswith("gyro"):
        g[row + (1 if what == "gyro+accel" else 0), 1] = np.inf
    if what.endswith("accel"):
        a[row, 2] = np.nan
    if what == "time":
        t[row] = np.nan
    if what == "order":
        t[row] = t[row - 1]
    monkeypatch.setattr(segment, "BLOCK_ROWS", 256)  # the bad row is deep inside a later block
    with pytest.raises(InputError, match=match):
        detect(t, a, g)
    with pytest.raises(InputError, match=match):
        _one_block(t, a, g)


def test_a_bad_gyro_is_reported_before_a_bad_rate():
    t = np.arange(50) * 1.0  # 1 Hz: outside the supported rates
    g = np.zeros((50, 3))
    g[40, 0] = np.nan
    with pytest.raises(InputError, match="gyro: sample 40 is not finite"):
        detect(t, np.zeros((50, 3)), g)
    with pytest.raises(SamplingRateError):
        detect(t, np.zeros((50, 3)), np.zeros((50, 3)))


def test_streaming_gyro_check_leaves_the_block_unconsumed():
    t, a, g = _session()
    bad = g[:500].copy()
    bad[123, 2] = np.nan
    seg = RepSegmenter()
    seg.update(t[:100], a[:100], g[:100])
    with pytest.raises(InputError, match="gyro: sample 23 is not finite"):
        seg.update(t[100:500], a[100:500], bad[100:500])
    rest = seg.update(t[100:], a[100:], g[100:]) + seg.finish()
    assert rest == _one_block(t, a, g)


def test_a_large_block_then_small_ones_gives_the_one_block_result():
    """The lookback buffer is reused across blocks, grown for a large block and shrunk
    again after it; neither changes the result, nor does a refused (bad) block."""
    t, a, g = _session(100.0)
    ref = _one_block(t, a, g)
    seg = RepSegmenter()
    cut = (2 * t.shape[0]) // 3
    got = seg.update(t[:cut], a[:cut], g[:cut])
    cap_large = seg._store_t.shape[0]
    bad = a[cut:cut + 50].copy()
    bad[10, 1] = np.nan
    with pytest.raises(InputError, match="sample 10 is not finite"):
        seg.update(t[cut:cut + 50], bad)
    for lo in range(cut, t.shape[0], 100):
        got += seg.update(t[lo:lo + 100], a[lo:lo + 100], g[lo:lo + 100])
    assert seg._store_t.shape[0] < cap_large  # shrunk for the small blocks
    assert got + seg.finish() == ref and sum(s.n_reps for s in ref) > 0
