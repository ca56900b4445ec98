"""Fuzz the live consumer (``DeviceSession.handle``: decode -> clock -> ring) with notification
streams that are duplicated, reordered, dropped, corrupted and truncated at random.

The layer under test is the consumer on real DIY protocol bytes (sequence numbers, device
clock, CRC); the BLE link is below it and not needed. Properties, for any fault pattern:

* the ring holds strictly increasing times and never the same sample twice;
* every stored sample is a sample the band sent, with its exact value;
* malformed notifications (CRC, length) are counted exactly;
* samples that arrived intact but were not stored are at most the samples reported missing
  in the clock's gaps (nothing is lost without being reported).
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from repsense.ingest import DeviceSession, HostClock, driver_for
from repsense.protocols import diy

SCALE = float(os.environ.get("REPSENSE_RELIABILITY_SCALE", "1"))
RATE = 100.0
N = 10  # samples per frame


def _frames(n_frames: int) -> tuple[list[bytes], np.ndarray]:
    # sample j carries x = j (in counts): every sample is unique and identifiable by value
    k = np.arange(n_frames * N)
    acc = np.stack([(k % 30000) * 8 / 32768.0, np.zeros_like(k, float), np.full(k.shape, 0.5)], axis=1)
    frames = [diy.encode_frame(f, 5_000_000 + int(f * N * 1e6 / RATE), acc[f * N:(f + 1) * N], None,
                               sample_rate_hz=RATE) for f in range(n_frames)]
    return frames, acc


@st.composite
def arrival_orders(draw: st.DrawFn):
    n = draw(st.integers(5, 60))
    events = []  # (frame index, kind)
    for f in range(n):
        op = draw(st.sampled_from(["ok"] * 6 + ["drop", "dup", "swap", "corrupt", "truncate"]))
        events.append((f, op))
    return n, events


@given(arrival_orders())
@settings(max_examples=max(1, int(150 * SCALE)), deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
def test_consumer_under_random_notification_faults(case) -> None:
    n, events = case
    frames, acc = _frames(n)
    s = DeviceSession("D0:5E:00:00:00:01", driver_for("diy", RATE), HostClock())
    arrivals: list[bytes] = []
    malformed = 0
    intact_sent: set[int] = set()
    pending_swap: bytes | None = None
    for f, op in events:
        frame = frames[f]
        if op == "drop":
            continue
        if op == "corrupt":
            b = bytearray(frame)
            b[20] ^= 0xFF
            arrivals.append(bytes(b))
            malformed += 1
            continue
        if op == "truncate":
            arrivals.append(frame[:9])
            malformed += 1
            continue
        intact_sent.add(f)
        if op == "swap":  # this frame arrives after the next one
            pending_swap = frame
            continue
        arrivals.append(frame)
        if op == "dup":
            arrivals.append(frame)
        if pending_swap is not None:
            arrivals.append(pending_swap)
            pending_swap = None
    if pending_swap is not None:
        arrivals.append(pending_swap)
    t = 1_000_000_000
    for data in arrivals:
        t += int(N / RATE * 1e9)
        s.handle(t, diy.DATA_UUID, data)
    t_ns, vals = s.rings["accel"].read()
    assert (np.diff(t_ns) > 0).all(), "times not strictly increasing"
    idx = np.rint(vals[:, 0] * 32768 / 8).astype(np.int64)
    assert len(set(idx.tolist())) == len(idx), "a sample stored twice"
    np.testing.assert_allclose(vals, acc[idx].astype(np.float32), atol=1e-6)  # exact sent values
    assert s.counters.n_malformed == malformed
    stored_frames = set((idx // N).tolist())
    assert stored_frames <= intact_sent
    lost = sum(N for f in intact_sent if f not in stored_frames)
    reported = sum(g.n_missing for g in s.clocks["accel"].gaps)
    assert lost <= reported, f"{lost} intact samples not stored, only {reported} reported missing"


def test_swapped_first_notification_is_stored_or_reported_missing() -> None:
    frames, _ = _frames(5)
    s = DeviceSession("D0:5E:00:00:00:01", driver_for("diy", RATE), HostClock())
    t = 1_000_000_000
    for data in [frames[1], frames[0], *frames[2:]]:
        t += int(N / RATE * 1e9)
        s.handle(t, diy.DATA_UUID, data)
    stored = s.rings["accel"].n_written
    reported = sum(g.n_missing for g in s.clocks["accel"].gaps)
    assert stored + reported >= 5 * N, (stored, reported, s.clocks["accel"].n_duplicate)
