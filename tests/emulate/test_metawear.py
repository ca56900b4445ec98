"""Virtual MetaMotion board through BleakClient and repsense.protocols.metawear."""

from __future__ import annotations

import asyncio
from collections import Counter

import numpy as np
import pytest
from bleak import BleakClient, BleakScanner

from repsense.emulate import Faults
from repsense.errors import DecodeError
from repsense.protocols import metawear as mw
from repsense.protocols.metawear import BMI160, BMI270, Module


def _decode(values, config):
    acc, gyr, reasons = [], [], Counter()
    for raw in values:
        try:
            f = mw.decode_frame(raw, config=config)
        except DecodeError as exc:
            reasons[exc.reason.split(":")[0]] += 1
            continue
        (acc if f.accel_g is not None else gyr).append(f.accel_g if f.accel_g is not None else f.gyro_dps)
    cat = lambda xs: np.concatenate(xs) if xs else np.zeros((0, 3))  # noqa: E731
    return cat(acc), cat(gyr), reasons


async def _write_all(client, commands):
    for cmd in commands:  # as the SDK: without response (macro module excepted)
        await client.write_gatt_char(mw.COMMAND_UUID, cmd, response=mw.write_with_response(cmd))


@pytest.mark.parametrize(("chip", "packed"), [(BMI160, False), (BMI160, True), (BMI270, True)])
async def test_discover_configure_stream_equals_replay(world, notes, motion, chip, packed):
    dev = world.add_device("metawear", chip=chip, recording=motion, speed=6.0)
    found = await BleakScanner.find_device_by_filter(
        lambda d, ad: mw.SERVICE_UUID in ad.service_uuids and (ad.local_name or "").startswith(mw.NAME_PREFIXES),
        timeout=2.0, backend=world.scanner_backend)
    assert found is not None and found.address == dev.address
    async with BleakClient(found, backend=world.client_backend) as client:
        assert client.mtu_size == 23
        model = (await client.read_gatt_char(mw.MODEL_NUMBER_UUID)).decode()
        assert model == ("5" if chip == BMI160 else "8")
        got = notes()
        await client.start_notify(mw.NOTIFY_UUID, got)
        await _write_all(client, [mw.encode_module_info_read(Module.ACCELEROMETER),
                                  mw.encode_module_info_read(Module.GYRO), mw.encode_module_info_read(Module.LED)])
        await got.wait_for(3)
        infos = [mw.parse_module_info(v) for v in got.values[:3]]
        assert mw.chip_from_module_info(infos[0]) == chip == mw.chip_from_module_info(infos[1])
        assert not infos[2].present
        got.values.clear()
        await _write_all(client, mw.stream_start_commands(chip=chip, accel_odr_hz=200.0, accel_range_g=4,
                                                          gyro_odr_hz=100.0, gyro_range_dps=500, packed=packed))
        await asyncio.wait_for(dev.finished.wait(), 10.0)
        await got.wait_quiet()
        assert {len(v) for v in got.values} == ({20} if packed else {8})
        acc, gyr, reasons = _decode(got.values, mw.MetaWearConfig(chip=chip, accel_range_g=4, gyro_range_dps=500))
        assert not reasons
        sent_acc, sent_gyr = dev.sent("acc"), dev.sent("gyro")
        n_due = int(np.floor(motion.accel.t_s[-1] * 200)) + 1
        assert sent_acc.k[0] == 0 and len(sent_acc.k) == (n_due // 3 * 3 if packed else n_due)
        np.testing.assert_array_equal(acc, sent_acc.values.astype(np.float32))
        np.testing.assert_array_equal(gyr, sent_gyr.values.astype(np.float32))
        truth = np.clip(dev.signal.accel_g(sent_acc.k / 200.0), -4.0, 32767 / 8192)  # saturates at +-4 g
        assert np.abs(sent_acc.values - truth).max() <= 0.5 / 8192 + 1e-7  # 8192 LSB/g
        await _write_all(client, mw.stream_stop_commands(chip=chip, packed=packed, gyro=True))


async def test_config_read_back_and_bad_commands_are_ignored(world, notes):
    dev = world.add_device("metawear")
    async with BleakClient(dev.address, backend=world.client_backend) as client:
        got = notes()
        await client.start_notify(mw.NOTIFY_UUID, got)
        await _write_all(client, [mw.encode_accel_config(50.0, 8), mw.encode_accel_read_config()])
        await got.wait_for(1)
        assert mw.parse_accel_config(got.values[0]) == (50.0, 8)
        # reserved ODR code 0 and an unknown range code: the firmware ignores both, no reply
        await _write_all(client, [bytes([0x03, 0x03, 0x20, 0x08]), bytes([0x03, 0x03, 0x27, 0x42]),
                                  bytes([0x03]), mw.encode_accel_read_config()])
        await got.wait_for(2)
        assert mw.parse_accel_config(got.values[1]) == (50.0, 8)  # unchanged
        assert sum(dev.ignored.values()) == 3 and dev.ignored["too short"] == 1


async def test_not_subscribed_means_no_data_and_corrupt_frames_are_counted(world, notes, motion):
    dev = world.add_device("metawear", recording=motion, speed=6.0, faults=Faults(corrupt_every=10, corrupt_byte=1))
    async with BleakClient(dev.address, backend=world.client_backend) as client:
        got = notes()
        await client.start_notify(mw.NOTIFY_UUID, got)
        cmds = mw.stream_start_commands(accel_odr_hz=100.0, accel_range_g=2)
        await _write_all(client, [c for c in cmds if c[:2] != bytes([0x03, 0x04])])  # no subscribe
        await asyncio.sleep(0.3)
        assert got.values == [] and len(dev.sent("acc").k) > 0 and not dev.sent("acc").delivered.any()
        await _write_all(client, [mw.encode_accel_subscribe()])
        await asyncio.wait_for(dev.finished.wait(), 10.0)
        await got.wait_quiet()
        acc, _, reasons = _decode(got.values, mw.MetaWearConfig())
        sent = dev.sent("acc")
        assert reasons == Counter({"module 0x03 register 0xFB": dev.tally["corrupted"]}) and dev.tally["corrupted"] > 0
        np.testing.assert_array_equal(acc, sent.values[sent.delivered].astype(np.float32))


@pytest.mark.shared
async def test_real_metamotion_set_replayed_through_a_virtual_board(world, notes, metamotion_dir, metamotion_labels):
    """A real MetaMotion bench set (12.5 Hz accel, 25 Hz gyro) replayed at its own rates, 40x real time."""
    from repsense import read_recording

    row = next(r for r in metamotion_labels if not r["duplicate_of"] and r["exercise"] == "bench")
    rec = read_recording(metamotion_dir / "raw" / row["accelerometer"])
    assert rec.gyro is not None
    dev = world.add_device("metawear", recording=rec, speed=40.0)
    async with BleakClient(dev.address, backend=world.client_backend) as client:
        got = notes()
        await client.start_notify(mw.NOTIFY_UUID, got)
        await _write_all(client, mw.stream_start_commands(accel_odr_hz=12.5, accel_range_g=8, gyro_odr_hz=25.0,
                                                          gyro_range_dps=500))
        await asyncio.wait_for(dev.finished.wait(), 30.0)
        await got.wait_quiet()
    acc, gyr, reasons = _decode(got.values, mw.MetaWearConfig(accel_range_g=8, gyro_range_dps=500))
    assert not reasons
    sa, sg = dev.sent("acc"), dev.sent("gyro")
    assert len(sa.k) == int(np.floor(rec.accel.duration_s * 12.5 + 1e-9)) + 1
    np.testing.assert_array_equal(acc, sa.values.astype(np.float32))
    np.testing.assert_array_equal(gyr, sg.values.astype(np.float32))
    # the band's samples are the recording (interpolated at the band's instants: the export's
    # clock jitters around 80 ms) within half an LSB of the +-8 g range
    t_band = sa.k / 12.5
    recorded = np.stack([np.interp(t_band, rec.accel.t_s - rec.accel.t_s[0], rec.accel.values[:, i])
                         for i in range(3)], axis=1)
    assert np.abs(sa.values - recorded).max() <= 0.5 / 4096 + 1e-6
