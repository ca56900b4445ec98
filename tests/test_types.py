import numpy as np
import pytest

from repsense.types import Stream


def test_stream_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="timestamps"):
        Stream(np.zeros(3), np.zeros((4, 3), np.float32), "g")


def test_stream_rate_is_median_interval_despite_jitter_and_gap(rng):
    t = np.arange(200) / 50.0 + rng.normal(0, 1e-4, 200)
    t[100:] += 30.0  # a 30 s gap must not move the nominal rate
    s = Stream(np.sort(t), np.zeros((200, 3), np.float32), "g")
    assert s.sample_rate_hz == pytest.approx(50.0, rel=0.01)
