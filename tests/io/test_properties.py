"""Property tests: write random samples as CSV, read them back; garbage rows are counted exactly."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from repsense.io import read_recording

GARBAGE = ["abc,def,ghi,jkl", "1.0,2.0", "", "0.1,nan,0.2,0.3", "1,2,3,4,5", "--,,,", "\x00\x01"]
DECIMALS = 4


@st.composite
def recordings(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, list[tuple[int, str]]]:
    n = draw(st.integers(min_value=2, max_value=300))
    seed = draw(st.integers(min_value=0, max_value=2**32 - 1))
    rng = np.random.default_rng(seed)
    period_ms = draw(st.sampled_from([5, 10, 20, 40, 80]))
    steps = rng.integers(1, 3, n) * period_ms  # jittered but strictly increasing
    t_ms = 1_600_000_000_000 + np.cumsum(steps) - steps[0]
    accel = np.round(rng.uniform(-16, 16, (n, 3)), DECIMALS)
    k = draw(st.integers(min_value=0, max_value=10))
    bad = [(draw(st.integers(min_value=0, max_value=n)), draw(st.sampled_from(GARBAGE))) for _ in range(k)]
    return t_ms, accel, bad


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(recordings())
def test_roundtrip_and_garbage_rows(case: tuple[np.ndarray, np.ndarray, list[tuple[int, str]]]) -> None:
    t_ms, accel, bad = case
    lines = [(f"{t},{x:.{DECIMALS}f},{y:.{DECIMALS}f},{z:.{DECIMALS}f}", False) for t, (x, y, z) in zip(t_ms, accel)]
    for pos, text in sorted(bad, key=lambda b: -b[0]):
        lines.insert(pos, (text, True))
    garbage_lines = {k + 2 for k, (text, is_bad) in enumerate(lines) if is_bad and text}  # header is line 1
    body = "epoch (ms),ax (g),ay (g),az (g)\n" + "\n".join(text for text, _ in lines) + "\n"
    with tempfile.TemporaryDirectory() as d:
        f = Path(d) / "p.csv"
        f.write_text(body, encoding="utf-8", newline="")
        rec = read_recording(f)
    blank = sum(1 for _, text in bad if text == "")
    assert len(rec.accel) == len(t_ms)
    assert rec.n_dropped == len(bad) - blank  # a blank line is not a row
    assert rec.reports[0].n_rows == len(t_ms) + len(bad) - blank
    reported = [ln for d in rec.reports[0].dropped.values() for ln in d.first_lines]
    assert set(reported) <= garbage_lines  # exact line numbers, never a good row
    for d in rec.reports[0].dropped.values():
        assert list(d.first_lines) == sorted(d.first_lines) and len(d.first_lines) == min(5, d.count)
    np.testing.assert_allclose(rec.accel.values, accel, atol=10 ** -DECIMALS / 2 + 16 * 2**-23)
    np.testing.assert_array_equal(np.round(rec.accel.t_s * 1000).astype(np.int64), t_ms - t_ms[0])
    assert rec.meta.t0_utc_ns == int(t_ms[0]) * 10**6
