"""Virtual Polar (Verity Sense / H10) through BleakScanner / BleakClient and repsense.protocols.polar_pmd."""

from __future__ import annotations

import asyncio
from collections import Counter

import numpy as np
import pytest
from bleak import BleakClient, BleakScanner

from repsense.emulate import ClockJump, DeviceClock, Faults
from repsense.errors import DecodeError
from repsense.protocols import polar_pmd as pmd
from repsense.protocols.polar_pmd import MeasurementType as MT
from repsense.protocols.polar_pmd import PmdError, SettingType

CP, DATA = pmd.CONTROL_POINT_UUID, pmd.DATA_UUID


async def _command(client, cp_notes, payload: bytes) -> pmd.ControlPointResponse:
    """Write a CP request and collect its (possibly multi-part) indicated response."""
    start = len(cp_notes.values)
    await client.write_gatt_char(CP, payload, response=True)
    parts = []
    while True:
        await cp_notes.wait_for(start + len(parts) + 1)
        parts.append(pmd.parse_cp_response(cp_notes.values[start + len(parts)]))
        if not parts[-1].more:
            return pmd.merge_cp_responses(parts)


def _decode_all(frames: list[bytes], config: pmd.PmdConfig):
    """The receiver: decode frames in order, skip and count bad ones by reason, drop duplicates."""
    state = None
    acc, gyr, acc_t, gyr_t = [], [], [], []
    reasons: Counter[str] = Counter()
    last_ts: dict[tuple[int, int], int] = {}
    jumps = 0
    for raw in frames:
        try:
            f = pmd.decode_frame(raw, config=config, state=state)
        except DecodeError as exc:
            reasons[exc.reason.split(":")[0]] += 1
            continue
        key = (raw[0] & 0x3F, raw[9])
        ts = int.from_bytes(raw[1:9], "little")
        if last_ts.get(key) == ts:
            reasons["duplicate"] += 1
            continue
        last_ts[key] = ts
        state = f.state
        jumps += f.clock_jump
        if f.accel_g is not None:
            acc.append(f.accel_g)
            acc_t.append(f.t_device_s)
        else:
            gyr.append(f.gyro_dps)
            gyr_t.append(f.t_device_s)
    cat = lambda xs, w: np.concatenate(xs) if xs else np.zeros((0, w))  # noqa: E731
    return cat(acc, 3), cat(acc_t, 1).ravel(), cat(gyr, 3), cat(gyr_t, 1).ravel(), reasons, jumps


async def _open(world, dev, notes, *, mtu=None):
    client = BleakClient(dev.address, backend=world.client_backend, **({"mtu": mtu} if mtu else {}))
    await client.connect()
    cp, data = notes(), notes()
    await client.start_notify(CP, cp)
    await client.start_notify(DATA, data)
    return client, cp, data


async def test_scan_by_name_and_by_service(world):
    dev = world.add_device("polar_pmd", address="D0:5E:00:B5:A3:F2")
    world.add_device("polar_pmd", model="h10")
    found = await BleakScanner.find_device_by_filter(
        lambda d, ad: (ad.local_name or "").startswith(pmd.NAME_PREFIXES[2]), timeout=2.0,
        backend=world.scanner_backend)
    assert found is not None and found.address == dev.address and found.name == "Polar Sense 00B5A3F2"
    seen = await BleakScanner.discover(timeout=0.3, service_uuids=[pmd.SERVICE_UUID], return_adv=True,
                                       backend=world.scanner_backend)
    assert len(seen) == 2 and all(pmd.SERVICE_UUID in ad.service_uuids for _, ad in seen.values())
    names = sorted(ad.local_name for _, ad in seen.values())
    assert names[0].startswith("Polar H10 ") and names[1].startswith("Polar Sense ")


async def test_verity_sdk_mode_acc_and_gyro_stream_equals_replay(world, notes, motion):
    dev = world.add_device("polar_pmd", recording=motion, speed=6.0)
    client, cp, data = await _open(world, dev, notes)
    assert client.mtu_size == 232
    features = pmd.parse_features(await client.read_gatt_char(CP))
    assert features.supports(MT.ACC) and features.supports(MT.GYRO) and features.supports(MT.SDK_MODE)

    normal = await _command(client, cp, pmd.encode_get_settings(MT.ACC))
    assert normal.ok and normal.settings[SettingType.SAMPLE_RATE] == (52,)
    assert (await _command(client, cp, pmd.encode_sdk_mode(True))).ok
    sdk = await _command(client, cp, pmd.encode_get_settings(MT.ACC))
    assert sdk.settings[SettingType.SAMPLE_RATE] == (26, 52, 104, 208, 416)
    assert sdk.settings[SettingType.RANGE] == (2, 4, 8, 16)

    acc_start = await _command(client, cp, pmd.encode_start(MT.ACC, sample_rate_hz=208, range_=8, channels=3))
    gyr_start = await _command(client, cp, pmd.encode_start(MT.GYRO, sample_rate_hz=208, range_=2000, channels=3))
    assert acc_start.ok and acc_start.factor == 1.0
    assert gyr_start.ok and gyr_start.factor == pytest.approx(2000 / 32768, rel=1e-6)
    status = await _command(client, cp, pmd.encode_get_measurement_status())
    assert pmd.parse_measurement_status(status.parameters) == {MT.ACC: 1, MT.GYRO: 1}

    await asyncio.wait_for(dev.finished.wait(), 10.0)
    await data.wait_quiet()
    assert all(len(v) <= client.mtu_size - 3 for v in data.values)
    config = pmd.PmdConfig(acc_sample_rate_hz=208, acc_factor=acc_start.factor,
                           gyro_sample_rate_hz=208, gyro_factor=gyr_start.factor)
    acc, acc_t, gyr, gyr_t, reasons, jumps = _decode_all(data.values, config)
    assert not reasons and jumps == 0
    sent_acc, sent_gyr = dev.sent("acc"), dev.sent("gyro")
    n_expected = int(np.floor(motion.accel.t_s[-1] * 208)) + 1  # first sample at t=0, last <= the end
    assert sent_acc.k[0] == 0 and len(sent_acc.k) == n_expected and sent_acc.delivered.all()
    np.testing.assert_allclose(acc, sent_acc.values, rtol=0, atol=1e-6)  # exact mG
    np.testing.assert_allclose(gyr, sent_gyr.values, rtol=1e-6, atol=0)
    assert np.abs(acc_t - sent_acc.t_device_s).max() < 1 / 208
    assert np.abs(gyr_t - sent_gyr.t_device_s).max() < 1 / 208
    # what was sent is the recording, resampled at the band's instants, quantised to 1 mG
    truth = dev.signal.accel_g(sent_acc.k / 208.0)
    assert np.abs(sent_acc.values - truth).max() <= 0.0005 + 1e-9
    truth_g = dev.signal.gyro_dps(sent_gyr.k / 208.0)
    assert np.abs(sent_gyr.values - truth_g).max() <= 0.5 * 2000 / 32768 + 1e-4
    await client.disconnect()


async def test_h10_raw_frames_and_first_frame_timestamps(world, notes, motion):
    dev = world.add_device("polar_pmd", model="h10", recording=motion, speed=6.0)
    client, cp, data = await _open(world, dev, notes)
    assert (await _command(client, cp, pmd.encode_start(MT.ACC, sample_rate_hz=200, range_=8))).ok
    await asyncio.wait_for(dev.finished.wait(), 10.0)
    await data.wait_quiet()
    assert {v[9] for v in data.values} == {0x01}  # raw 16-bit frames
    assert max(len(v) for v in data.values) == 10 + 6 * ((232 - 3 - 10) // 6)  # as many samples as fit
    acc, acc_t, _, _, reasons, _ = _decode_all(data.values, pmd.PmdConfig(acc_sample_rate_hz=200))
    sent = dev.sent("acc")
    np.testing.assert_allclose(acc, sent.values, rtol=0, atol=1e-6)
    assert np.abs(acc_t - sent.t_device_s).max() < 1 / 200
    await client.disconnect()


@pytest.mark.parametrize(("payload", "status"), [
    (bytes([0x0A, 0x02]), PmdError.INVALID_OP_CODE),
    (bytes([0x01]), PmdError.INVALID_LENGTH),
    (bytes([0x02, 0x02, 0x00, 0x01, 0x34]), PmdError.INVALID_PARAMETER),  # TLV cut short
    (bytes([0x01, 0x3F]), PmdError.INVALID_MEASUREMENT_TYPE),
    (pmd.encode_get_settings(MT.ECG), PmdError.NOT_SUPPORTED),  # Verity has no ECG
    (pmd.encode_start(MT.ACC, sample_rate_hz=104, range_=8), PmdError.INVALID_SAMPLE_RATE),  # needs SDK mode
    (pmd.encode_start(MT.ACC, sample_rate_hz=52, range_=16), PmdError.INVALID_RANGE),
    (pmd.encode_start(MT.ACC, sample_rate_hz=52, resolution_bits=24), PmdError.INVALID_RESOLUTION),
    (pmd.encode_start(MT.ACC, sample_rate_hz=52, channels=4), PmdError.INVALID_NUMBER_OF_CHANNELS),
    (pmd.encode_stop(MT.ACC), PmdError.ALREADY_IN_STATE),
    (pmd.encode_sdk_mode(False), PmdError.ALREADY_IN_STATE),
])
async def test_bad_commands_get_the_device_error(world, notes, payload, status):
    dev = world.add_device("polar_pmd")
    client, cp, _ = await _open(world, dev, notes)
    resp = await _command(client, cp, payload)
    assert resp.status == status and resp.op_code == payload[0]
    await client.disconnect()


async def test_state_errors_while_streaming_and_small_mtu(world, notes):
    dev = world.add_device("polar_pmd")
    client, cp, _ = await _open(world, dev, notes)
    assert (await _command(client, cp, pmd.encode_start(MT.ACC, sample_rate_hz=52, range_=8))).ok
    again = await _command(client, cp, pmd.encode_start(MT.ACC, sample_rate_hz=52, range_=8))
    assert again.status == PmdError.ALREADY_IN_STATE
    assert (await _command(client, cp, pmd.encode_sdk_mode(True))).status == PmdError.INVALID_STATE
    assert (await _command(client, cp, pmd.encode_stop(MT.ACC))).ok
    await client.disconnect()
    small, cp2, _ = await _open(world, dev, notes, mtu=23)
    assert small.mtu_size == 23
    resp = await _command(small, cp2, pmd.encode_start(MT.ACC, sample_rate_hz=52, range_=8))
    assert resp.status == PmdError.INVALID_MTU
    await small.disconnect()


async def test_malformed_and_duplicated_frames_are_counted_and_skipped(world, notes, motion):
    faults = Faults(corrupt_every=5, truncate_every=7, duplicate_every=3)
    dev = world.add_device("polar_pmd", recording=motion, speed=6.0, faults=faults)
    client, cp, data = await _open(world, dev, notes)
    assert (await _command(client, cp, pmd.encode_sdk_mode(True))).ok
    assert (await _command(client, cp, pmd.encode_start(MT.ACC, sample_rate_hz=416, range_=8))).ok
    await asyncio.wait_for(dev.finished.wait(), 10.0)
    await data.wait_quiet()
    acc, acc_t, _, _, reasons, _ = _decode_all(data.values, pmd.PmdConfig(acc_sample_rate_hz=416))
    sent = dev.sent("acc")
    n_frames = dev.n_notifications
    bad = [n for n in range(1, n_frames + 1) if n % 5 == 0 or n % 7 == 0]
    dup = [n for n in range(1, n_frames + 1) if n % 3 == 0 and n not in bad]
    bad_copies = sum(2 if n % 3 == 0 else 1 for n in bad)  # a bad frame can be duplicated too
    assert sum(v for k, v in reasons.items() if k != "duplicate") == bad_copies > 0
    assert reasons["duplicate"] == len(dup) > 0
    assert reasons["unsupported measurement type unknown id 61 (repsense decodes ACC and GYRO)"] > 0  # 0x02 ^ 0xFF
    assert all(r == "duplicate" or r.startswith(("too short", "unsupported")) for r in reasons)
    np.testing.assert_allclose(acc, sent.values[sent.delivered], rtol=0, atol=1e-6)
    assert dev.tally["corrupted"] + dev.tally["truncated"] - len([n for n in bad if n % 35 == 0]) == len(bad)
    await client.disconnect()


async def test_link_drop_then_reconnect_resumes_with_a_gap(world, notes, motion):
    dropped = asyncio.Event()
    dev = world.add_device("polar_pmd", model="h10", recording=motion, speed=4.0, faults=Faults(drop_link_at_s=1.0))
    client = BleakClient(dev.address, disconnected_callback=lambda _c: dropped.set(), backend=world.client_backend)
    await client.connect()
    cp, data = notes(), notes()
    await client.start_notify(CP, cp)
    await client.start_notify(DATA, data)
    assert (await _command(client, cp, pmd.encode_start(MT.ACC, sample_rate_hz=200, range_=8))).ok
    await asyncio.wait_for(dropped.wait(), 5.0)
    assert dev.tally["link_dropped"] == 1 and not client.is_connected
    await asyncio.sleep(0.1)
    await client.connect()  # the SDK reconnects, re-subscribes and restarts the stream
    cp2, data2 = notes(), notes()
    await client.start_notify(CP, cp2)
    await client.start_notify(DATA, data2)
    assert (await _command(client, cp2, pmd.encode_start(MT.ACC, sample_rate_hz=200, range_=8))).ok
    await asyncio.wait_for(dev.finished.wait(), 10.0)
    await data2.wait_quiet()
    sent = dev.sent("acc")
    gap = np.diff(sent.k)
    assert sent.k[0] == 0 and sent.k[np.argmax(gap)] < 200  # samples before the drop at 1 s were sent
    assert gap.max() > 1 and np.count_nonzero(gap > 1) == 1  # one gap, no sample sent twice
    acc1 = _decode_all(data.values, pmd.PmdConfig(acc_sample_rate_hz=200))[0]
    acc2 = _decode_all(data2.values, pmd.PmdConfig(acc_sample_rate_hz=200))[0]
    delivered = sent.values[sent.delivered]
    np.testing.assert_allclose(np.concatenate([acc1, acc2]), delivered, rtol=0, atol=1e-6)
    await client.disconnect()


async def test_clock_drift_offset_and_jump(world, notes, motion):
    clock = DeviceClock(offset_s=7.25e8, drift_ppm=400.0, jumps=(ClockJump(1.5, -2.0),))
    dev = world.add_device("polar_pmd", recording=motion, speed=6.0, clock=clock)
    client, cp, data = await _open(world, dev, notes)
    assert (await _command(client, cp, pmd.encode_start(MT.ACC, sample_rate_hz=52, range_=8))).ok
    await asyncio.wait_for(dev.finished.wait(), 10.0)
    await data.wait_quiet()
    _, acc_t, _, _, reasons, jumps = _decode_all(data.values, pmd.PmdConfig(acc_sample_rate_hz=52))
    sent = dev.sent("acc")
    assert jumps == 1 and not reasons  # the decoder saw the clock go back once
    # a fast clock: the band takes 52 * (1 + 400e-6) samples per true second on its own grid
    assert len(sent.k) == int(np.floor(motion.accel.t_s[-1] * 52 * (1 + 400e-6))) + 1
    after = sent.k / 52.0 >= 1.5 * (1 + 400e-6) + 1 / 52
    np.testing.assert_allclose(sent.t_device_s[~after][:5], 7.25e8 + sent.k[:5] / 52.0, rtol=0, atol=1e-6)
    np.testing.assert_allclose(sent.t_device_s[after], 7.25e8 + sent.k[after] / 52.0 - 2.0, rtol=0, atol=1e-6)
    assert np.abs(acc_t - sent.t_device_s)[after].max() < 1 / 52
    await client.disconnect()
