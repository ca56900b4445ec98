"""Overload: the central's event loop blocked mid-stream. The band may fall behind and, past its
queue (``fifo_s``), drop frames, but ``sent()`` must say exactly what reached the central."""

from __future__ import annotations

import asyncio
import time

import numpy as np
from bleak import BleakClient

from repsense.emulate import synthetic_recording
from repsense.protocols import diy

RATE_HZ = 200.0


async def _stream_with_blocked_loop(world, *, speed: float, fifo_s: float | None, block_s: float,
                                    disconnect_at_once: bool = False):
    rec = synthetic_recording(duration_s=12.0, sample_rate_hz=RATE_HZ, n_sets=2)
    dev = world.add_device("diy", recording=rec, speed=speed, rates_hz=(RATE_HZ,), fifo_s=fifo_s)
    frames: list[tuple[int, int, int]] = []  # (seq, sample index from device time, device_dropped)

    def on_data(_char, data: bytearray) -> None:
        f = diy.decode_frame(bytes(data))
        frames.append((f.seq, int(round(float(f.t_device_s[0]) * RATE_HZ)), f.device_dropped))

    client = BleakClient(dev.address, backend=world.client_backend)
    await client.connect()
    await client.start_notify(diy.DATA_UUID, on_data)
    # one sample per notification, accel only: the MetaWear-like worst case
    await client.write_gatt_char(diy.CONFIG_UUID, diy.encode_set_config(diy.DiyConfig(RATE_HZ, 8, 2000, False, 1)),
                                 response=True)
    await client.write_gatt_char(diy.CONFIG_UUID, diy.encode_start(), response=True)
    await asyncio.sleep(0.3)
    time.sleep(block_s)  # the central's loop (and with it this process's radio) blocked
    if disconnect_at_once:
        for _ in range(20):
            await asyncio.sleep(0)
        await client.disconnect()
    else:
        await asyncio.wait_for(dev.finished.wait(), 30.0)
        await client.disconnect()
    return dev, frames


async def test_blocked_central_loop_overflow_is_counted_and_ok_means_received(world):
    dev, frames = await _stream_with_blocked_loop(world, speed=8.0, fifo_s=0.5, block_s=1.5)
    sent = dev.sent("acc")
    status = sent.status
    received_k = np.array([k for _, k, _ in frames])
    # every sample the band calls 'ok' reached the client exactly once, and nothing else did
    ks, counts = np.unique(received_k, return_counts=True)
    assert (counts == 1).all()
    np.testing.assert_array_equal(ks, np.sort(sent.k[status == "ok"]))
    # the rest was dropped by the band's queue, and counted (one sample per notification)
    assert set(np.unique(status)) <= {"ok", "overflow"}
    n_overflow = int((status == "overflow").sum())
    assert n_overflow > 0  # a 1.5 s stall at 8x is 12 s of sensor time, far beyond the 0.5 s queue
    assert dev.tally.counts["overflow"] == n_overflow
    np.testing.assert_array_equal(sent.k, np.arange(len(sent.k)))  # every sample of the replay accounted for
    assert len(sent.k) >= 12.0 * RATE_HZ - 1
    assert not sent.delivered[status == "overflow"].any()
    # the receiver sees the loss: the DIY sequence number jumps over the dropped frames
    seqs = np.array([s for s, _, _ in frames])
    assert int((np.diff(seqs) - 1).sum()) == n_overflow - int(seqs[0])  # dropped ones before the first too
    # ... and the next frame reports the dropped samples in fifo_overflow, saturating at 255 (the spec's u8)
    gap = np.diff(seqs) - 1
    dropped_field = np.array([d for _, _, d in frames])[1:]
    np.testing.assert_array_equal(dropped_field, np.minimum(gap, 255))


async def test_in_flight_at_disconnect_is_lost_not_ok(world):
    dev, frames = await _stream_with_blocked_loop(world, speed=8.0, fifo_s=None, block_s=1.0,
                                                  disconnect_at_once=True)
    await asyncio.sleep(0.1)
    sent = dev.sent("acc")
    received_k = np.array([k for _, k, _ in frames])
    ks, counts = np.unique(received_k, return_counts=True)
    assert (counts == 1).all()
    np.testing.assert_array_equal(ks, np.sort(sent.k[sent.status == "ok"]))
    assert set(np.unique(sent.status)) <= {"ok", "lost", "offline"}
