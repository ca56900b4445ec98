"""Virtual DIY-profile band through BleakClient and repsense.protocols.diy."""

from __future__ import annotations

import asyncio
from collections import Counter

import numpy as np
import pytest
from bleak import BleakClient, BleakScanner

from repsense.emulate import Faults
from repsense.errors import DecodeError
from repsense.protocols import diy
from repsense.protocols.diy import ConfigStatus, DiyConfig


async def _config(client, cfg_notes, payload: bytes) -> diy.ConfigResponse:
    n = len(cfg_notes.values)
    await client.write_gatt_char(diy.CONFIG_UUID, payload, response=True)
    await cfg_notes.wait_for(n + 1)
    return diy.parse_config_response(cfg_notes.values[n])


def _receive(values):
    """The receiver: decode, skip bad frames by reason, drop duplicates, report loss from seq."""
    frames, reasons = [], Counter()
    for raw in values:
        try:
            f = diy.decode_frame(raw)
        except DecodeError as exc:
            reasons[exc.reason.split(":")[0]] += 1
            continue
        if frames:
            c = diy.check_continuity(frames[-1], f)
            if c.duplicate:
                reasons["duplicate"] += 1
                continue
            reasons["lost_frames"] += c.lost_frames
        frames.append(f)
    return frames, reasons


async def _open(world, dev, notes, **kw):
    client = BleakClient(dev.address, backend=world.client_backend, **kw)
    await client.connect()
    cfg, data = notes(), notes()
    await client.start_notify(diy.CONFIG_UUID, cfg)
    await client.start_notify(diy.DATA_UUID, data)
    return client, cfg, data


async def test_scan_configure_stream_equals_replay(world, notes, motion):
    dev = world.add_device("diy", recording=motion, speed=6.0, address="D0:5E:00:00:AB:CD")
    found = await BleakScanner.find_device_by_filter(
        lambda d, ad: (ad.local_name or "").startswith(diy.NAME_PREFIXES), timeout=2.0,
        service_uuids=[diy.SERVICE_UUID], backend=world.scanner_backend)
    assert found is not None and found.name == "repsense-diy-abcd"
    client, cfg, data = await _open(world, dev, notes)
    assert client.mtu_size == 247
    resp = await _config(client, cfg, diy.encode_set_config(DiyConfig(200.0, 8, 1000, True, 0)))
    assert resp.ok and resp.config == DiyConfig(200.0, 8, 1000, True, 0) and not resp.streaming
    start = await _config(client, cfg, diy.encode_start())
    assert start.ok and start.streaming
    assert diy.parse_config_response(await client.read_gatt_char(diy.CONFIG_UUID)).streaming
    await asyncio.wait_for(dev.finished.wait(), 10.0)
    await data.wait_quiet()
    frames, reasons = _receive(data.values)
    assert not +reasons
    assert max(f.n_samples for f in frames) == diy.max_samples_per_frame(247) == 18
    assert [f.seq for f in frames] == list(range(len(frames)))
    acc = np.concatenate([f.accel_g for f in frames])
    gyr = np.concatenate([f.gyro_dps for f in frames])
    t = np.concatenate([f.t_device_s for f in frames])
    sa, sg = dev.sent("acc"), dev.sent("gyro")
    np.testing.assert_array_equal(acc, sa.values.astype(np.float32))
    np.testing.assert_array_equal(gyr, sg.values.astype(np.float32))
    assert np.abs(t - sa.t_device_s).max() < 1 / 200
    truth = np.clip(dev.signal.gyro_dps(sg.k / 200.0), -1000, 32767 * 1000 / 32768)
    assert np.abs(sg.values - truth).max() <= 0.5 * 1000 / 32768 + 1e-4
    assert (await _config(client, cfg, diy.encode_stop())).ok
    await client.disconnect()


async def test_unknown_op_is_answered_with_its_echo(world, notes):
    dev = world.add_device("diy")
    client, cfg, _ = await _open(world, dev, notes)
    await client.write_gatt_char(diy.CONFIG_UUID, bytes([0x09]), response=True)
    await cfg.wait_for(1)
    # the spec echoes 0x80 | op; diy.parse_config_response refuses unknown ops, so check the bytes
    assert cfg.values[0] == bytes([0x89, ConfigStatus.UNKNOWN_OPCODE]) + DiyConfig().to_bytes()
    await client.disconnect()


@pytest.mark.parametrize(("payload", "status"), [
    (bytes([0x01, 0x06]), ConfigStatus.BAD_LENGTH),
    (bytes([0x01, 0x00, 0x42, 0x01, 0x00]), ConfigStatus.UNSUPPORTED_RATE),
    (bytes([0x01, 0x06, 0x47, 0x01, 0x00]), ConfigStatus.UNSUPPORTED_RANGE),
    (bytes([0x01, 0x06, 0x42, 0x03, 0x00]), ConfigStatus.RESERVED_BITS),
    (diy.encode_set_config(DiyConfig(sample_rate_hz=1600.0)), ConfigStatus.UNSUPPORTED_RATE),  # not this IMU
    (diy.encode_stop(), ConfigStatus.ALREADY_IN_STATE),
])
async def test_bad_commands_get_the_device_status(world, notes, payload, status):
    dev = world.add_device("diy")
    client, cfg, _ = await _open(world, dev, notes)
    resp = await _config(client, cfg, payload)
    assert resp.status == status and resp.config == DiyConfig()  # configuration in force is unchanged
    await client.disconnect()


async def test_busy_while_streaming_and_too_small_mtu(world, notes):
    dev = world.add_device("diy")
    client, cfg, _ = await _open(world, dev, notes)
    assert (await _config(client, cfg, diy.encode_start())).ok
    assert (await _config(client, cfg, diy.encode_start())).status == ConfigStatus.ALREADY_IN_STATE
    assert (await _config(client, cfg, diy.encode_set_config(DiyConfig(50.0)))).status == ConfigStatus.BUSY
    await client.disconnect()
    small, cfg2, _ = await _open(world, dev, notes, mtu=23)
    resp = await _config(small, cfg2, diy.encode_start())
    assert resp.status == ConfigStatus.BAD_LENGTH and not resp.streaming  # disconnect stopped the stream
    await small.disconnect()


async def test_loss_duplicates_corruption_and_fifo_overflow_are_detected(world, notes, motion):
    faults = Faults(corrupt_every=6, truncate_every=11, duplicate_every=4)
    dev = world.add_device("diy", recording=motion, speed=6.0, faults=faults, fifo_overflow_every=5)
    client, cfg, data = await _open(world, dev, notes)
    assert (await _config(client, cfg, diy.encode_set_config(DiyConfig(100.0, 8, 2000, True, 10)))).ok
    assert (await _config(client, cfg, diy.encode_start())).ok
    await asyncio.wait_for(dev.finished.wait(), 10.0)
    await data.wait_quiet()
    frames, reasons = _receive(data.values)
    n = dev.n_notifications
    bad = [i for i in range(1, n + 1) if i % 6 == 0 or i % 11 == 0]
    bad_copies = sum(2 if i % 4 == 0 else 1 for i in bad)
    assert reasons["CRC mismatch"] + reasons["too short"] == bad_copies > 0
    assert reasons["duplicate"] == len([i for i in range(1, n + 1) if i % 4 == 0 and i not in bad]) > 0
    # bad frames show up as sequence gaps; consecutive bad frames count once per missing frame
    assert reasons["lost_frames"] == len(bad) - (n in bad)
    overflowed = [i for i in range(1, n + 1) if i % 5 == 0]
    assert dev.tally["fifo_overflow"] == 3 * len(overflowed)
    assert sum(f.device_dropped for f in frames) == 3 * len([i for i in overflowed if i not in bad]) > 0
    sa = dev.sent("acc")
    np.testing.assert_array_equal(np.concatenate([f.accel_g for f in frames]),
                                  sa.values[sa.delivered].astype(np.float32))
    await client.disconnect()


async def test_stall_keeps_the_link_but_sends_nothing(world, notes, motion):
    dev = world.add_device("diy", recording=motion, speed=4.0, faults=Faults(stall_at_s=1.0, stall_for_s=1.0))
    client, cfg, data = await _open(world, dev, notes)
    assert (await _config(client, cfg, diy.encode_set_config(DiyConfig(100.0, 8, 2000, True, 5)))).ok
    assert (await _config(client, cfg, diy.encode_start())).ok
    await asyncio.wait_for(dev.finished.wait(), 10.0)
    await data.wait_quiet()
    assert client.is_connected  # a stall is silence, not a disconnect
    frames, reasons = _receive(data.values)
    sa = dev.sent("acc")
    stalled = sa.status == "stalled"
    assert dev.tally["stalled"] == reasons["lost_frames"] == stalled.sum() // 5 > 0
    t_stalled = sa.k[stalled] / 100.0
    assert t_stalled.min() >= 1.0 - 0.05 and t_stalled.max() < 2.0  # frame = 5 samples = 50 ms
    np.testing.assert_array_equal(np.concatenate([f.accel_g for f in frames]),
                                  sa.values[sa.delivered].astype(np.float32))
    await client.disconnect()
