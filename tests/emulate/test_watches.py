"""Virtual InfiniTime, Thingy:52, Movesense and Bangle.js through BleakClient and their protocol modules."""

from __future__ import annotations

import asyncio
from collections import Counter

import numpy as np
import pytest
from bleak import BleakClient, BleakScanner
from bleak.exc import BleakGATTProtocolError

from repsense.errors import DecodeError
from repsense.protocols import banglejs as bj
from repsense.protocols import infinitime as it
from repsense.protocols import movesense as ms
from repsense.protocols import thingy52 as th
from repsense.types import Recording, RecordingMeta, Stream


def _decode_each(values, decode, **kw):
    frames, reasons = [], Counter()
    for raw in values:
        try:
            frames.append(decode(raw, **kw))
        except DecodeError as exc:
            reasons[exc.reason.split(":")[0]] += 1
    return frames, reasons


async def _scan_one(world, prefix: str, service: str):
    seen = await BleakScanner.discover(timeout=0.3, service_uuids=[service], return_adv=True,
                                       backend=world.scanner_backend)
    assert len(seen) == 1
    dev, ad = next(iter(seen.values()))
    assert ad.local_name.startswith(prefix) and service in ad.service_uuids
    return dev


# ------------------------------------------------------------------------------ InfiniTime
async def test_infinitime_streams_changes_only_at_10_hz(world, notes, motion):
    dev = world.add_device("infinitime", recording=motion, speed=6.0, steps=4321)
    world.add_device("thingy52")
    found = await _scan_one(world, it.NAME_PREFIXES[0], it.SERVICE_UUID)
    async with BleakClient(found, backend=world.client_backend) as client:
        assert it.decode_step_count(await client.read_gatt_char(it.STEP_COUNT_UUID)) == 4321
        got = notes()
        await client.start_notify(it.MOTION_UUID, got)
        await asyncio.wait_for(dev.finished.wait(), 10.0)
        await got.wait_quiet()
        frames, reasons = _decode_each(got.values, it.decode_frame)
        assert not reasons and all(f.t_device_s is None for f in frames)  # host time only
        sent = dev.sent("acc")
        assert len(sent.k) == int(np.floor(motion.accel.t_s[-1] * 10)) + 1  # 10 Hz polling
        np.testing.assert_array_equal(np.concatenate([f.accel_g for f in frames]),
                                      sent.values[sent.delivered].astype(np.float32))
        truth = np.clip(dev.signal.accel_g(sent.k / 10.0), -2.0, 2047 / 1024)  # BMA421 at +-2 g
        assert np.abs(sent.values - truth).max() <= 0.5 / 1024 + 1e-9
        assert it.decode_frame(await client.read_gatt_char(it.MOTION_UUID)).accel_g.tolist() == \
            frames[-1].accel_g.tolist()


async def test_infinitime_still_watch_sends_one_notification(world, notes):
    t_s = np.arange(100) / 100.0
    acc = np.tile(np.array([[0.0, 0.0, -1.0]], np.float32), (100, 1))
    still = Recording(accel=Stream(t_s, acc, "g"), meta=RecordingMeta(t0_utc_ns=0))
    dev = world.add_device("infinitime", recording=still, speed=5.0)
    async with BleakClient(dev.address, backend=world.client_backend) as client:
        got = notes()
        await client.start_notify(it.MOTION_UUID, got)
        await asyncio.wait_for(dev.finished.wait(), 10.0)
        await got.wait_quiet()
    assert got.values == [bytes.fromhex("00000000 00fc")]  # (0, 0, -1024): the worked example
    assert list(dev.sent("acc").status).count("unchanged") == 9


# ------------------------------------------------------------------------------ Thingy:52
async def test_thingy52_config_checks_and_raw_stream(world, notes, motion):
    dev = world.add_device("thingy52", recording=motion, speed=6.0)
    found = await _scan_one(world, th.NAME_PREFIXES[0], th.SERVICE_UUID)
    async with BleakClient(found, backend=world.client_backend) as client:
        assert th.parse_config(await client.read_gatt_char(th.CONFIG_UUID)) == th.MotionConfig()
        with pytest.raises(BleakGATTProtocolError) as err:  # 300 Hz: outside 5..200
            await client.write_gatt_char(th.CONFIG_UUID, bytes.fromhex("e803f401f4012c0101"), response=True)
        assert err.value.code == 0x03
        with pytest.raises(BleakGATTProtocolError):
            await client.write_gatt_char(th.CONFIG_UUID, b"\x01\x02", response=True)
        assert th.parse_config(await client.read_gatt_char(th.CONFIG_UUID)) == th.MotionConfig()
        await client.write_gatt_char(th.CONFIG_UUID, th.encode_config(th.MotionConfig(motion_freq_hz=100)),
                                     response=True)
        got = notes()
        await client.start_notify(th.RAW_UUID, got)
        await asyncio.wait_for(dev.finished.wait(), 10.0)
        await got.wait_quiet()
        frames, reasons = _decode_each(got.values, th.decode_frame)
        assert not reasons and {len(v) for v in got.values} == {18}
        sa, sg = dev.sent("acc"), dev.sent("gyro")
        assert len(sa.k) == int(np.floor(motion.accel.t_s[-1] * 100)) + 1
        np.testing.assert_array_equal(np.concatenate([f.accel_g for f in frames]), sa.values.astype(np.float32))
        np.testing.assert_array_equal(np.concatenate([f.gyro_dps for f in frames]), sg.values.astype(np.float32))
        truth = np.clip(dev.signal.accel_g(sa.k / 100.0), -2.0, 2.0)  # +-2 g, floored to Q6.10
        assert ((truth - sa.values) >= -1e-9).all() and ((truth - sa.values) < 1 / 1024 + 1e-9).all()
        await client.stop_notify(th.RAW_UUID)
        n = len(got.values)
        await asyncio.sleep(0.1)
        assert len(got.values) == n and "imu" not in dev.streams


# ------------------------------------------------------------------------------ Movesense
async def test_movesense_gsp_hello_subscribe_stream(world, notes, motion):
    dev = world.add_device("movesense", recording=motion, speed=6.0)
    found = await _scan_one(world, ms.NAME_PREFIXES[0], ms.SERVICE_UUID)
    async with BleakClient(found, backend=world.client_backend) as client:
        assert client.mtu_size == 161
        got = notes()
        await client.start_notify(ms.DATA_UUID, got)
        await client.write_gatt_char(ms.COMMAND_UUID, ms.encode_hello(7), response=True)
        await got.wait_for(1)
        assert ms.decode_frame(got.values[0]).frame_type == "hello"
        got.values.clear()
        config = ms.MovesenseConfig("IMU6", 104)
        await client.write_gatt_char(ms.COMMAND_UUID, ms.encode_subscribe(99, config.path), response=True)
        await asyncio.wait_for(dev.finished.wait(), 10.0)
        await got.wait_quiet()
        frames, reasons = _decode_each(got.values, ms.decode_frame, config=config)
        assert not reasons and {f.stream_ref for f in frames} == {99}
        assert max(f.n_samples for f in frames) == (161 - 3 - 6) // 24 == 6
        sa, sg = dev.sent("acc"), dev.sent("gyro")
        np.testing.assert_array_equal(np.concatenate([f.accel_g for f in frames]), sa.values.astype(np.float32))
        np.testing.assert_array_equal(np.concatenate([f.gyro_dps for f in frames]), sg.values.astype(np.float32))
        t = np.concatenate([f.t_device_s for f in frames])
        assert np.abs(t - sa.t_device_s).max() < 1 / 104  # u32 ms of the first sample + i / rate
        await client.write_gatt_char(ms.COMMAND_UUID, ms.encode_unsubscribe(99), response=True)
        assert "imu" not in dev.streams


async def test_movesense_unserved_subscribe_is_silent_and_full_table_says_507(world, notes):
    dev = world.add_device("movesense", slots=1)
    async with BleakClient(dev.address, backend=world.client_backend) as client:
        got = notes()
        await client.start_notify(ms.DATA_UUID, got)
        await client.write_gatt_char(ms.COMMAND_UUID, ms.encode_subscribe(1, "/Meas/Acc/100"), response=True)
        await client.write_gatt_char(ms.COMMAND_UUID, bytes([0x07, 0x01]), response=True)
        await asyncio.sleep(0.1)
        assert got.values == [] and sum(dev.ignored.values()) == 2  # no answer, like the v1 sample
        await client.write_gatt_char(ms.COMMAND_UUID, ms.encode_subscribe(2, "/Meas/Acc/13"), response=True)
        await client.write_gatt_char(ms.COMMAND_UUID, ms.encode_subscribe(3, "/Meas/Gyro/13"), response=True)
        await got.wait_for(1)
        results = [f for f in _decode_each(got.values, ms.decode_frame, config=ms.MovesenseConfig("Acc", 13))[0]
                   if f.status is not None]
        assert [(f.stream_ref, f.status) for f in results] == [(3, 507)]


# ------------------------------------------------------------------------------ Bangle.js
def _lines(values):
    state, lines = None, []
    for chunk in values:
        new, state, _ = bj.split_lines(chunk, state)
        lines += new
    return lines


@pytest.mark.parametrize("mtu", [None, 23])
async def test_banglejs_script_stream_lines(world, notes, motion, mtu):
    dev = world.add_device("banglejs", recording=motion, speed=6.0)
    found = await _scan_one(world, bj.NAME_PREFIXES[0], bj.SERVICE_UUID)
    async with BleakClient(found, backend=world.client_backend, **({"mtu": mtu} if mtu else {})) as client:
        assert client.mtu_size == (mtu or 131)
        got = notes()
        await client.start_notify(bj.TX_UUID, got)
        for chunk in bj.chunk_writes(bj.stream_script(poll_interval_ms=40, odr_25hz=True), client.mtu_size):
            await client.write_gatt_char(bj.RX_UUID, chunk, response=False)
        await asyncio.wait_for(dev.finished.wait(), 10.0)
        await got.wait_quiet()
        assert max(len(v) for v in got.values) <= client.mtu_size - 3
        frames, reasons = _decode_each(_lines(got.values), bj.decode_frame)
        assert not reasons  # DLE: no echo, no prompt
        sent = dev.sent("acc")
        assert len(sent.k) == int(np.floor(motion.accel.t_s[-1] * 25)) + 1
        np.testing.assert_array_equal(np.concatenate([f.accel_g for f in frames]), sent.values.astype(np.float32))
        t = np.concatenate([f.t_device_s for f in frames])
        assert np.abs(t - sent.t_device_s).max() <= 0.0005 + 1e-6  # getTime().toFixed(3)
        truth = np.clip(dev.signal.accel_g(sent.k / 25.0), -4.0, 4.0 - 1 / 8192)
        assert np.abs(sent.values - truth).max() <= 0.5 / 8192 + 0.0005 + 1e-9  # 1/8192 g, then mg


async def test_banglejs_repl_noise_and_errors_are_skipped_by_the_receiver(world, notes, motion):
    dev = world.add_device("banglejs", recording=motion, speed=6.0)
    async with BleakClient(dev.address, backend=world.client_backend) as client:
        got = notes()
        await client.start_notify(bj.TX_UUID, got)
        plain = b"Bangle.on('accel',a=>Bluetooth.println([Math.round(a.x*1000),Math.round(a.y*1000)," \
                b"Math.round(a.z*1000)].join()));\n"  # no DLE: echoed, then =undefined and a prompt
        await client.write_gatt_char(bj.RX_UUID, plain, response=True)
        await client.write_gatt_char(bj.RX_UUID, b"\x10digitalWrite(LED1,1);\n", response=True)
        await asyncio.wait_for(dev.finished.wait(), 10.0)
        await got.wait_quiet()
        lines = _lines(got.values)
        frames, reasons = _decode_each(lines, bj.decode_frame)
        assert any(b"Uncaught Error: " in line for line in lines)  # may follow the ">" prompt
        assert sum(reasons.values()) >= 3  # echo, =undefined, the error line (the prompt joins a data line)
        good = [f for f in frames if f.t_device_s is None]
        sent = dev.sent("acc")
        assert len(good) >= len(sent.k) - 1  # at most the line glued to the ">" prompt is lost
        np.testing.assert_array_equal(np.concatenate([f.accel_g for f in good])[-100:],
                                      sent.values[-100:].astype(np.float32))


@pytest.mark.parametrize("kind", ["infinitime", "thingy52", "movesense"])
async def test_truncated_and_duplicated_notifications_are_counted(world, notes, motion, kind):
    from repsense.emulate import Faults

    dev = world.add_device(kind, recording=motion, speed=6.0, faults=Faults(truncate_every=4, truncate_to_bytes=5,
                                                                            duplicate_every=5))
    async with BleakClient(dev.address, backend=world.client_backend) as client:
        got = notes()
        if kind == "infinitime":
            await client.start_notify(it.MOTION_UUID, got)
            decode, kw = it.decode_frame, {}
        elif kind == "thingy52":
            await client.start_notify(th.RAW_UUID, got)
            decode, kw = th.decode_frame, {}
        else:
            await client.start_notify(ms.DATA_UUID, got)
            config = ms.MovesenseConfig("Acc", 52)
            await client.write_gatt_char(ms.COMMAND_UUID, ms.encode_subscribe(5, config.path), response=True)
            decode, kw = ms.decode_frame, {"config": config}
        await asyncio.wait_for(dev.finished.wait(), 10.0)
        await got.wait_quiet()
    frames, reasons = _decode_each(got.values, decode, **kw)
    n = dev.n_notifications
    truncated = [i for i in range(1, n + 1) if i % 4 == 0]
    assert dev.tally["truncated"] == len(truncated) > 0
    # a truncated notification that is also duplicated arrives twice; each copy is rejected
    assert sum(reasons.values()) == sum(2 if i % 5 == 0 else 1 for i in truncated)
    assert all(r.startswith(("too short", "bad length")) for r in reasons)
    # these bands send no sequence number: a duplicated good notification decodes twice and only a
    # timestamp/arrival check downstream can tell (Movesense: same device ms; others: nothing)
    good_dups = [i for i in range(1, n + 1) if i % 5 == 0 and i % 4 != 0]
    assert len(frames) == n - len(truncated) + len(good_dups)
