"""repsense open DIY profile: spec example bytes, CRC, round trips, continuity, config, malformed frames."""

from __future__ import annotations

import binascii

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from repsense.errors import DecodeError
from repsense.protocols import diy
from repsense.protocols._frame import crc16_ccitt

h = bytes.fromhex

# The worked example of firmware_notes/diy-open-profile.md: seq 1, t0 = 1 s, 2 samples at 100 Hz,
# +-8 g, +-2000 deg/s: (0, 0, 1 g | 10, 0, 0 deg/s) and (0.5, -0.25, 1 g | 0, 0, -10 deg/s).
SPEC_EXAMPLE = h("01 01 01 00 40 42 0F 00 00 00 00 00 02 06 42 00"
                 " 00 00 00 00 00 10 A4 00 00 00 00 00"
                 " 00 08 00 FC 00 10 00 00 00 00 5C FF"
                 " 02 DD")


def _naive_crc(data: bytes) -> int:
    crc = 0xFFFF
    for b in data:
        crc ^= b << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
    return crc


def test_crc_check_value_and_stdlib_reference():
    assert crc16_ccitt(b"123456789") == 0x29B1
    assert binascii.crc_hqx(b"123456789", 0xFFFF) == 0x29B1


@given(st.binary(max_size=300))
@settings(max_examples=100, deadline=None)
def test_crc_equals_twins(data):
    assert crc16_ccitt(data) == _naive_crc(data) == binascii.crc_hqx(data, 0xFFFF)


def test_spec_example_bytes():
    acc = np.array([[0, 0, 1.0], [0.5, -0.25, 1.0]])
    gyr = np.array([[10.0, 0, 0], [0, 0, -10.0]])
    frame = diy.encode_frame(1, 1_000_000, acc, gyr, sample_rate_hz=100, accel_range_g=8, gyro_range_dps=2000)
    assert frame == SPEC_EXAMPLE
    f = diy.decode_frame(SPEC_EXAMPLE)
    assert f.seq == 1 and f.sample_rate_hz == 100.0 and f.frame_type == "imu6" and f.device_dropped == 0
    assert f.t_device_s.tolist() == [1.0, 1.01]
    assert f.accel_g.tolist() == acc.tolist()
    assert f.gyro_dps.tolist() == [[164 * 2000 / 32768, 0, 0], [0, 0, -164 * 2000 / 32768]]


@given(st.integers(0, 70000), st.integers(0, 2**42), st.sampled_from(sorted(diy.RATE_HZ.values())),
       st.sampled_from([2, 4, 8, 16]), st.sampled_from([125, 250, 500, 1000, 2000]), st.booleans(),
       st.integers(1, 30), st.data())
@settings(max_examples=80, deadline=None)
def test_roundtrip(seq, t0, rate, arng, grng, with_gyro, n, data):
    acc = data.draw(hnp.arrays(np.int16, (n, 3))).astype(np.float64) * arng / 32768
    gyr = data.draw(hnp.arrays(np.int16, (n, 3))).astype(np.float64) * grng / 32768 if with_gyro else None
    raw = diy.encode_frame(seq, t0, acc, gyr, sample_rate_hz=rate, accel_range_g=arng, gyro_range_dps=grng)
    assert len(raw) == 18 + n * (12 if with_gyro else 6)
    f = diy.decode_frame(raw)
    assert f.seq == seq % 65536 and f.n_samples == n
    assert np.array_equal(f.accel_g, acc.astype(np.float32))
    assert (f.gyro_dps is None) if gyr is None else np.array_equal(f.gyro_dps, gyr.astype(np.float32))
    assert f.t_device_s[0] == t0 / 1e6
    assert np.allclose(np.diff(f.t_device_s), 1 / rate, rtol=0, atol=1e-6)


def test_mtu_capacity():
    assert diy.max_samples_per_frame(247) == 18 and diy.max_samples_per_frame(247, gyro=False) == 37
    assert diy.max_samples_per_frame(diy.MIN_MTU) == 1 and diy.max_samples_per_frame(23) == 0
    assert len(diy.encode_frame(0, 0, np.zeros((18, 3)), np.zeros((18, 3)))) <= 247 - 3


# ----------------------------------------------------------------- continuity: loss, duplicates, reordering, drift

def _frame(seq: int, t0_us: int, n: int = 10, rate: float = 100.0):
    return diy.decode_frame(diy.encode_frame(seq, t0_us, np.zeros((n, 3)), sample_rate_hz=rate))


def test_consecutive_frames():
    c = diy.check_continuity(_frame(7, 1_000_000), _frame(8, 1_100_000))
    assert c.lost_frames == 0 and not c.duplicate and not c.reordered
    assert c.gap_s == pytest.approx(0, abs=1e-9) and c.drift_ppm == pytest.approx(0, abs=1e-3)


def test_sequence_wrap_is_consecutive():
    c = diy.check_continuity(_frame(65535, 0), _frame(0, 100_000))
    assert c.lost_frames == 0 and not c.reordered


def test_loss_detected_from_sequence_and_time():
    c = diy.check_continuity(_frame(10, 0), _frame(13, 300_000))
    assert c.lost_frames == 2 and c.gap_s == pytest.approx(0.2) and np.isnan(c.drift_ppm)


def test_duplicate_and_reorder():
    a, b = _frame(20, 2_000_000), _frame(21, 2_100_000)
    assert diy.check_continuity(a, a).duplicate
    c = diy.check_continuity(b, a)
    assert c.reordered and c.lost_frames == 0 and not c.duplicate


def test_clock_drift_in_ppm():
    # device clock runs 100 ppm fast: each 10-sample frame at 100 Hz is stamped 100.01 ms apart
    c = diy.check_continuity(_frame(1, 0), _frame(2, 100_010))
    assert c.drift_ppm == pytest.approx(100, abs=0.5) and c.lost_frames == 0


def test_fifo_overflow_count_reported():
    f = diy.decode_frame(diy.encode_frame(1, 0, np.zeros((1, 3)), fifo_overflow=7))
    assert f.device_dropped == 7


# ----------------------------------------------------------------- malformed frames

def _recrc(body: bytes) -> bytes:
    return body + crc16_ccitt(body).to_bytes(2, "little")


def _mut(i: int, value: int) -> bytes:
    b = bytearray(SPEC_EXAMPLE[:-2])
    b[i] = value
    return _recrc(bytes(b))


@pytest.mark.parametrize("data, offset, reason", [
    (SPEC_EXAMPLE[:17], 17, "too short"),
    (SPEC_EXAMPLE[:20] + bytes([SPEC_EXAMPLE[20] ^ 0x04]) + SPEC_EXAMPLE[21:], 40, "CRC mismatch"),
    (SPEC_EXAMPLE[:-1] + bytes([SPEC_EXAMPLE[-1] ^ 0xFF]), 40, "CRC mismatch"),
    (_mut(0, 2), 0, "unknown version 2"),
    (_mut(1, 0x03), 1, "reserved flag bits"),
    (_mut(13, 0), 13, "unknown rate code 0"),
    (_mut(13, 16), 13, "unknown rate code 16"),
    (_mut(14, 0x44), 14, "unknown accel range code 4"),
    (_mut(14, 0x52), 14, "unknown gyro range code 5"),
    (_mut(12, 0), 12, "sample count 0"),
    (_mut(12, 3), 12, "bad length"),
    (_recrc(SPEC_EXAMPLE[:-4]), 12, "bad length"),
])
def test_malformed(data, offset, reason):
    with pytest.raises(DecodeError) as e:
        diy.decode_frame(data)
    assert e.value.offset == offset and reason in str(e.value)


def test_gyro_range_without_gyro_flag_is_reserved():
    body = bytearray(diy.encode_frame(0, 0, np.zeros((1, 3)))[:-2])
    body[14] = 0x42
    with pytest.raises(DecodeError) as e:
        diy.decode_frame(_recrc(bytes(body)))
    assert e.value.offset == 14


# ----------------------------------------------------------------- config characteristic

def test_config_commands_bytes():
    cfg = diy.DiyConfig(sample_rate_hz=200, accel_range_g=16, gyro_range_dps=1000, gyro=True, frame_samples=0)
    assert diy.encode_set_config(cfg) == h("01 08 33 01 00")
    assert diy.encode_start() == h("02") and diy.encode_stop() == h("03") and diy.encode_get_config() == h("04")
    req = diy.parse_config_request(h("01 08 33 01 00"))
    assert req.op == diy.ConfigOp.SET_CONFIG and req.config == cfg


def test_config_response_roundtrip_and_statuses():
    cfg = diy.DiyConfig()
    for status in diy.ConfigStatus:
        raw = diy.encode_config_response(diy.ConfigOp.SET_CONFIG, status, cfg, streaming=True)
        r = diy.parse_config_response(raw)
        assert r.status is status and r.config == cfg and r.streaming and r.ok == (status == 0)
    assert diy.encode_config_response(diy.ConfigOp.GET_CONFIG, 0, cfg, streaming=False) == h("84 00 06 42 01 00")


@pytest.mark.parametrize("data, status, offset", [
    (b"", diy.ConfigStatus.BAD_LENGTH, 0),
    (h("09"), diy.ConfigStatus.UNKNOWN_OPCODE, 0),
    (h("01 08 33 01"), diy.ConfigStatus.BAD_LENGTH, 4),
    (h("02 00"), diy.ConfigStatus.BAD_LENGTH, 1),
    (h("01 00 33 01 00"), diy.ConfigStatus.UNSUPPORTED_RATE, 1),
    (h("01 08 37 01 00"), diy.ConfigStatus.UNSUPPORTED_RANGE, 2),
    (h("01 08 33 81 00"), diy.ConfigStatus.RESERVED_BITS, 3),
])
def test_bad_config_writes_map_to_status(data, status, offset):
    with pytest.raises(DecodeError) as e:
        diy.parse_config_request(data)
    assert e.value.status is status and e.value.offset == offset


def test_bad_config_responses():
    for raw, off in [(h("84 00 06 42 01"), 5), (h("04 00 06 42 01 00"), 0), (h("84 09 06 42 01 00"), 1),
                     (h("84 00 06 42 01 00 00"), 6)]:
        with pytest.raises(DecodeError) as e:
            diy.parse_config_response(raw)
        assert e.value.offset == off


def test_unknown_opcode_reply_parses_with_the_echoed_op():
    # the band answers an op it does not know with 0x80 | op and UNKNOWN_OPCODE (spec, config table)
    r = diy.parse_config_response(h("89 01 06 42 01 00"))
    assert r.status is diy.ConfigStatus.UNKNOWN_OPCODE and r.op == 0x09 and not r.ok
    # an unknown op under any other status is still a malformed reply
    with pytest.raises(DecodeError) as e:
        diy.parse_config_response(h("89 00 06 42 01 00"))
    assert e.value.offset == 0
