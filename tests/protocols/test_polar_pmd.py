"""Polar PMD codec: vendor test vectors (polar-ble-sdk unit tests), the protocol reference's
worked examples, round trips, control point, and every malformed-frame class."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from repsense.errors import DecodeError
from repsense.protocols import polar_pmd as p

h = bytes.fromhex
ACC, GYRO = p.MeasurementType.ACC, p.MeasurementType.GYRO


def mg(frame) -> np.ndarray:
    return np.rint(frame.accel_g.astype(np.float64) * 1000).astype(np.int64)


# ----------------------------------------------------------------- vendor vectors (AccDataTest.kt)

ACC_RAW1_CONTENT = h(
    "F7 FF FF FF E7 03 F8 FF FE FF E5 03 F9 FF FF FF E5 03 FA FF FF FF E6 03 FA FF FE FF E6 03 F9 FF FF FF E5 03 "
    "F8 FF FF FF E6 03 F8 FF FE FF E6 03 FA FF FF FF E5 03 FA FF FF FF E7 03 FA FF FF FF E5 03 F8 FF FF FF E6 03 "
    "F7 FF FF FF E6 03 F8 FF FE FF E6 03 F9 FF FE FF E7 03 F9 FF 00 00 E6 03 F9 FF FF FF E6 03 F7 FF FE FF E5 03 "
    "F9 FF FF FF E5 03 F9 FF FF FF E5 03 FA FF 00 00 E6 03 F9 FF FE FF E6 03 F8 FF FF FF E6 03 F8 FF FF FF E5 03 "
    "F9 FF FF FF E6 03 F9 FF FF FF E5 03 FA FF FF FF E6 03 F9 FF FF FF E5 03 F9 FF FF FF E5 03 F8 FF FE FF E6 03 "
    "F9 FF FF FF E6 03 F9 FF FF FF E6 03 F9 FF 00 00 E5 03 F9 FF FE FF E6 03 F8 FF FE FF E6 03 F7 FF FE FF E6 03")

ACC_DELTA0_CONTENT = h(
    "71 07 F0 6A 9E 8D 0A 38 BE 5C BE BA 2F 96 B3 EE 4B E5 AD FB 42 B9 EB BE 4C FE BA 2F 92 BF EE 4B E4 B1 FB 12 "
    "B9 EC BD 3C 3E BB 2F 8F D3 DE 4B E3 B5 F7 D2 B8 ED BD 30 7E 7B 2F 8B E3 CE 8B E2 BA F7 A2 B8 EE BC 20 BE 7B "
    "2F 88 F3 CE CB E1 BD EF 52 F8 EF BC 18 FE 3B 2F 84 03 BF CB E0 C2 EF 32 B8 F0 BB 04 4E BC 2E 81 13 AF 0B E0 "
    "C6 EF F2 F7 F1 B9 FC 7D BC 2E 7D 27 9F 4B DF CA EB C2 F7 F2 B8 EC CD 7C 2E 7B 37 8F 4B DE CE E3 92 F7 F3 B8 "
    "E0 0D FD 2D 77 4B 7F CB DD D2 DF 62 37 F5 B7 D4 4D BD 2D 74 5B 6F CB DC D7 D7 32 37 F6 B5 C8 8D 7D 2D 71 6B "
    "4F 4B DC DC D3 F2 36 F7 B4 BC DD FD 2C 6F 7B 3F 4B DB E0 CF D2 36 F8 B2 B0 2D BE 2C 6C 8F 1F CB DA E3 C7 A2 "
    "76 F9")


def test_vendor_acc_raw_type1():
    frame = p.decode_frame(h("02 00 94 35 77 00 00 00 00 01") + ACC_RAW1_CONTENT, config=p.PmdConfig(acc_sample_rate_hz=52))
    assert frame.frame_type == "acc_raw_1"
    assert frame.n_samples == len(ACC_RAW1_CONTENT) // 6 == 36
    assert mg(frame)[:2].tolist() == [[-9, -1, 999], [-8, -2, 997]]
    assert frame.t_device_ns[-1] == 2_000_000_000
    assert frame.state.previous(ACC, 0x01) == 2_000_000_000


def test_vendor_acc_delta_type0_with_factor_and_timestamps():
    prev = 100
    state = p.PmdState().updated(ACC, 0x80, prev)
    frame = p.decode_frame(h("02 00 94 35 77 00 00 00 00 80") + ACC_DELTA0_CONTENT,
                           config=p.PmdConfig(acc_factor=2.44e-4, acc_sample_rate_hz=0), state=state)
    assert frame.n_samples == 1 + 56
    # SDK: (factor * sample * 1000f).toInt(), samples (1905, 27376, -29282) and + (190, -105, -85)
    assert mg(frame)[:2].tolist() == [[464, 6679, -7144], [511, 6654, -7165]]
    assert np.all(np.abs(mg(frame)) <= 8 * 1000)
    delta = (2_000_000_000 - prev) / 57
    assert frame.t_device_ns[0] == round(prev + delta)
    assert frame.t_device_ns[-1] == 2_000_000_000
    # the integer samples themselves: first delta (+190, -105, -85)
    raw = p.decode_delta_content(ACC_DELTA0_CONTENT, 3, 16)
    assert raw[0].tolist() == [1905, 27376, -29282]
    assert (raw[1] - raw[0]).tolist() == [190, -105, -85]


def test_vendor_acc_delta_type1_6bit_block():
    state = p.PmdState().updated(ACC, 0x81, 100)
    frame = p.decode_frame(h("02 65 00 00 00 00 00 00 00 81 F1 FF 14 00 F0 03 06 01 7B 0F 08"), state=state)
    assert mg(frame).tolist() == [[-15, 20, 1008], [-20, 17, 1008]]
    assert frame.t_device_ns.tolist() == [100, 101]  # half-to-even: round(100.5) == 100


def test_vendor_gyro_delta_type0():
    state = p.PmdState().updated(GYRO, 0x80, 100)
    frame = p.decode_frame(h("05 FF FF FF FF FF FF FF 7F 80 EA FF 08 00 0D 00 03 01 DF 00"), state=state)
    assert frame.gyro_dps.tolist() == [[-22.0, 8.0, 13.0], [-23.0, 11.0, 16.0]]
    assert frame.t_device_ns[-1] == 9223372036854775807
    assert frame.accel_g is None


GYRO_D1 = h("05 00 94 35 77 00 00 00 00 81 00 00 80 3F 00 00 20 41 00 00 A0 41 1C 01 00 00 A0 01 00 00 08 CD CC EC 0D")


def _f(bits: int) -> float:
    return float(np.array([bits & 0xFFFFFFFF], dtype=np.uint32).view(np.float32)[0])


@pytest.mark.parametrize("factor", [1.0, 0.5])
def test_vendor_gyro_delta_type1_float_bits(factor):
    state = p.PmdState().updated(GYRO, 0x81, 100)
    frame = p.decode_frame(GYRO_D1, config=p.PmdConfig(gyro_factor=factor), state=state)
    want0 = [_f(0x3F800000), _f(0x41200000), _f(0x41A00000)]
    want1 = [_f(0x3F800000 + 0x1A00000), _f(0x41200000 + 0x0800000), _f(0x41A00000 + 0xFDECCCCD)]
    f32 = np.float32(factor)
    assert frame.gyro_dps[0].tolist() == [float(np.float32(v) * f32) for v in want0]
    assert frame.gyro_dps[1].tolist() == [float(np.float32(v) * f32) for v in want1]
    assert frame.t_device_ns[-1] == 2_000_000_000


# ----------------------------------------------------------------- vendor vectors (PmdTimeStampUtilsTest.kt)

def test_vendor_timestamps_from_rate():
    assert p.sample_times_ns(10_000_000_000, None, 10, 1) == [i * 1_000_000_000 for i in range(1, 11)]
    assert p.sample_times_ns(1_000_000_000, None, 1, 1) == [1_000_000_000]


def test_vendor_timestamps_from_previous():
    assert p.sample_times_ns(11_000_000_000, 1_000_000_000, 10, 1) == [i * 1_000_000_000 for i in range(2, 12)]
    assert p.sample_times_ns(2_000_000_000, 100, 3, 1) == [round(666666733.33), round(1333333366.66), 2_000_000_000]
    assert p.sample_times_ns(2_000_000_000, 1_000_000_000, 1, 1) == [2_000_000_000]


def test_vendor_timestamp_errors():
    with pytest.raises(ValueError, match="sample rate 0"):
        p.sample_times_ns(100_000, None, 100, 0)
    with pytest.raises(ValueError, match="negative"):
        p.sample_times_ns(100_000, None, 100, 52)


@given(st.integers(1, 2**62), st.integers(1, 10**10), st.integers(1, 300), st.integers(1, 2000))
@settings(max_examples=200, deadline=None)
def test_vectorised_timestamps_equal_exact(prev, d, n, rate):
    frame_ns = prev + d
    assert p._sample_times_array(frame_ns, prev, n, rate).tolist() == p.sample_times_ns(frame_ns, prev, n, rate)
    if frame_ns * rate >= n * 1_000_000_000:
        assert p._sample_times_array(frame_ns, None, n, rate).tolist() == p.sample_times_ns(frame_ns, None, n, rate)


# ----------------------------------------------------------------- worked examples (protocol reference 1.9)

T_2023 = 725_846_400_000_000_000
EX_A = h("02 00 00 7F 81 74 B9 12 0A 01 F4 FF 08 00 EB 03 F7 FF 05 00 E9 03")
EX_B = h("02 00 00 7F 81 74 B9 12 0A 81 F4 FF 08 00 EB 03 05 04 A3 FB 4D 12 C9 B4 78 01")


def test_worked_example_a_raw_frame():
    frame = p.decode_frame(EX_A, config=p.PmdConfig(acc_sample_rate_hz=52))
    assert mg(frame).tolist() == [[-12, 8, 1003], [-9, 5, 1001]]
    assert frame.t_device_ns.tolist() == [T_2023 - 19_230_769, T_2023]
    assert p.encode_frame(ACC, 0x01, T_2023, np.array([[-12, 8, 1003], [-9, 5, 1001]])) == EX_A
    utc = dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(microseconds=T_2023 // 1000)
    assert utc == dt.datetime(2023, 1, 1, tzinfo=dt.timezone.utc)


def test_worked_example_b_delta_frame_decode_and_encode():
    frame = p.decode_frame(EX_B, config=p.PmdConfig(acc_sample_rate_hz=52))
    samples = [[-12, 8, 1003], [-9, 5, 1001], [-14, 9, 1010], [-10, 2, 998], [-5, 0, 1000]]
    assert mg(frame).tolist() == samples
    want_t = [T_2023 - round((4 - i) * 1e9 / 52) for i in range(5)]
    assert frame.t_device_ns.tolist() == want_t
    assert p.encode_frame(ACC, 0x81, T_2023, np.array(samples)) == EX_B


def test_issue_443_timestamp_and_reference_sample():
    t = 762028708863099136
    utc = dt.datetime.fromtimestamp((t + p.POLAR_EPOCH_UNIX_NS) // 10**9, tz=dt.timezone.utc)
    assert utc == dt.datetime(2024, 2, 23, 18, 38, 28, tzinfo=dt.timezone.utc)
    frame = p.decode_frame(b"\x02" + t.to_bytes(8, "little") + b"\x81" + h("EE 02 1F FE 82 FF"))
    assert mg(frame).tolist() == [[750, -481, -126]]


# ----------------------------------------------------------------- naive twin of the bit unpacker

def _naive_deltas(payload: bytes, width: int, n: int) -> list[int]:
    bits = [(byte >> k) & 1 for byte in payload for k in range(8)]
    out = []
    for v in range(n):
        val = sum(bits[v * width + k] << k for k in range(width))
        if val >= 1 << (width - 1):
            val -= 1 << width
        out.append(val)
    return out


@given(st.integers(1, 32), st.integers(1, 40), st.data())
@settings(max_examples=150, deadline=None)
def test_unpack_equals_naive_twin(width, n, data):
    payload = data.draw(st.binary(min_size=(width * n + 7) // 8, max_size=(width * n + 7) // 8))
    got = p._unpack_deltas(np.frombuffer(payload, dtype=np.uint8), width, n).tolist()
    assert got == _naive_deltas(payload, width, n)


def test_bleakheart_msb_first_would_differ():
    # Reference: an MSB-first reader gets (30, -16, -4) on the SDK's 6-bit block; LSB-first gives (-5, -3, 0).
    assert _naive_deltas(h("7B 0F 08"), 6, 3) == [-5, -3, 0]


# ----------------------------------------------------------------- round trips

int_samples = hnp.arrays(np.int64, st.tuples(st.integers(1, 300), st.just(3)), elements=st.integers(-32768, 32767))


@given(int_samples, st.integers(1, 255))
@settings(max_examples=60, deadline=None)
def test_roundtrip_acc_delta1(x, block):
    frame = p.decode_frame(p.encode_frame(ACC, 0x81, T_2023, x, max_block_samples=block))
    assert mg(frame).tolist() == x.tolist()
    assert frame.n_samples == x.shape[0]


@given(st.sampled_from([(0x00, 8), (0x01, 16), (0x02, 24)]), st.integers(1, 40), st.data())
@settings(max_examples=60, deadline=None)
def test_roundtrip_acc_raw(ft_res, n, data):
    ft, res = ft_res
    lim = 1 << (res - 1)
    x = data.draw(hnp.arrays(np.int64, (n, 3), elements=st.integers(-lim, lim - 1)))
    frame = p.decode_frame(p.encode_frame(ACC, ft, T_2023, x))
    assert frame.frame_type == f"acc_raw_{ft}"
    assert mg(frame).tolist() == x.tolist()


@given(st.integers(1, 60), st.data())
@settings(max_examples=60, deadline=None)
def test_roundtrip_gyro_float_bits(n, data):
    x = data.draw(hnp.arrays(np.float32, (n, 3), elements=st.floats(width=32, allow_nan=False, allow_infinity=False)))
    frame = p.decode_frame(p.encode_frame(GYRO, 0x81, T_2023, x))
    assert frame.gyro_dps.view(np.int32).tolist() == x.view(np.int32).tolist()


@given(st.integers(1, 4), st.sampled_from([8, 16, 22, 24]), st.integers(1, 80), st.integers(1, 255), st.data())
@settings(max_examples=60, deadline=None)
def test_roundtrip_delta_content_any_layout(channels, resolution, n, block, data):
    lim = 1 << (8 * ((resolution + 7) // 8) - 1)
    x = data.draw(hnp.arrays(np.int64, (n, channels), elements=st.integers(-lim // 2, lim // 2 - 1)))
    content = p.encode_delta_content(x, resolution, max_block_samples=block)
    assert p.decode_delta_content(content, channels, resolution).tolist() == x.tolist()


def test_quantise_acc_matches_decoder():
    g = np.array([[0.0123, -0.9876, 1.5], [2.0, -2.0, 0.0004]])
    for ft in (0x01, 0x81):
        frame = p.decode_frame(p.encode_frame(ACC, ft, T_2023, p.quantise_acc(g, ft)))
        assert np.array_equal(mg(frame), np.rint(g * 1000))


def test_quantise_gyro_matches_decoder():
    d = np.array([[12.5, -250.25, 0.0], [1999.0, -0.5, 3.0]])
    f80 = p.decode_frame(p.encode_frame(GYRO, 0x80, T_2023, p.quantise_gyro(d, 0x80, 0.5)), config=p.PmdConfig(gyro_factor=0.5))
    assert np.array_equal(f80.gyro_dps, (np.rint(d / 0.5) * 0.5).astype(np.float32))
    f81 = p.decode_frame(p.encode_frame(GYRO, 0x81, T_2023, p.quantise_gyro(d, 0x81)))
    assert np.array_equal(f81.gyro_dps, d.astype(np.float32))


def test_config_rates_are_whole_hz():
    assert p.PmdConfig(acc_sample_rate_hz=52.0).acc_sample_rate_hz == 52
    with pytest.raises(ValueError):
        p.PmdConfig(acc_sample_rate_hz=12.5)


def test_stream_of_frames_spreads_samples_between_frame_timestamps():
    state = None
    cfg = p.PmdConfig(acc_sample_rate_hz=52)
    times = []
    for k in range(5):
        t = T_2023 + k * 10 * 19_230_769
        frame = p.decode_frame(p.encode_frame(ACC, 0x81, t, np.zeros((10, 3), dtype=np.int64)), config=cfg, state=state)
        state = frame.state
        times.append(frame.t_device_ns)
        assert not frame.clock_jump
    allt = np.concatenate(times)
    assert np.all(np.diff(allt) > 0)
    assert np.all(np.abs(np.diff(allt) - 19_230_769) <= 1)
    assert state.previous(ACC, 0x81) == T_2023 + 40 * 19_230_769


def test_clock_going_back_falls_back_to_rate_and_is_flagged():
    cfg = p.PmdConfig(acc_sample_rate_hz=100)
    f1 = p.decode_frame(p.encode_frame(ACC, 0x01, T_2023, np.zeros((3, 3), dtype=np.int64)), config=cfg)
    f2 = p.decode_frame(p.encode_frame(ACC, 0x01, T_2023 - 5, np.zeros((3, 3), dtype=np.int64)), config=cfg, state=f1.state)
    assert f2.clock_jump and not f1.clock_jump
    assert f2.t_device_ns.tolist() == [T_2023 - 5 - 20_000_000, T_2023 - 5 - 10_000_000, T_2023 - 5]
    assert f2.state.previous(ACC, 0x01) == T_2023 - 5


def test_state_is_keyed_by_measurement_and_frame_type():
    s = p.PmdState().updated(ACC, 0x81, 10).updated(GYRO, 0x81, 20).updated(ACC, 0x81, 30)
    assert s.previous(ACC, 0x81) == 30 and s.previous(GYRO, 0x81) == 20 and s.previous(ACC, 0x01) is None


# ----------------------------------------------------------------- malformed frames

def _err(data: bytes, **kw) -> DecodeError:
    with pytest.raises(DecodeError) as info:
        p.decode_frame(data, **kw)
    return info.value


@pytest.mark.parametrize("data, offset, reason", [
    (h("02 00 00"), 3, "too short"),
    (EX_A[:10], 10, "too short"),
    (h("00") + EX_A[1:], 0, "unsupported measurement type ECG"),
    (h("04") + EX_A[1:], 0, "unknown id 4"),
    (EX_A[:9] + h("05") + EX_A[10:], 9, "unknown frame type 0x05"),
    (h("05") + EX_A[1:], 9, "unknown frame type 0x01 for GYRO"),
    (EX_A[:-1], 16, "bad length"),
    (EX_B[:15], 15, "too short: delta reference"),
    (EX_B[:17], 16, "truncated delta block header"),
    (EX_B[:16] + h("00 04") + EX_B[18:], 16, "reserved delta bit width 0"),
    (EX_B[:16] + h("21 04") + EX_B[18:], 16, "reserved delta bit width 33"),
    (EX_B[:16] + h("05 00"), 17, "empty delta block"),
    (EX_B[:-1], 18, "bad length: delta block"),
    (EX_B[:1] + (1 << 63).to_bytes(8, "little") + EX_B[9:], 1, "beyond int64"),
    (EX_A[:1] + (100).to_bytes(8, "little") + EX_A[9:], 1, "negative"),
])
def test_malformed_frames_raise_with_offset(data, offset, reason):
    err = _err(data, config=p.PmdConfig(acc_sample_rate_hz=52))
    assert err.offset == offset
    assert reason in str(err)
    assert f"byte {offset}" in str(err)


def test_no_rate_and_no_previous_frame_is_a_decode_error():
    err = _err(EX_A, config=p.PmdConfig(acc_sample_rate_hz=0))
    assert err.offset == 1 and "sample rate 0" in str(err)


# ----------------------------------------------------------------- control point

def test_settings_tlv_vendor_vector():
    block = h("00 01 34 00 01 01 10 00 02 04 F5 00 F4 01 E8 03 D0 07 04 01 03")
    s = p.parse_settings(block)
    assert s == {p.SettingType.SAMPLE_RATE: (52,), p.SettingType.RESOLUTION: (16,),
                 p.SettingType.RANGE: (245, 500, 1000, 2000), p.SettingType.CHANNELS: (3,)}
    assert p.encode_settings(s) == block


def test_settings_vendor_range_milliunit_signed():
    s = p.parse_settings(h("03 02 FF FF FF FF FF 00 00 00 01 01 0E 00"))
    assert s == {p.SettingType.RANGE_MILLIUNIT: (-1, 0xFF), p.SettingType.RESOLUTION: (14,)}


def test_settings_vendor_serialize_selected_drops_factor():
    selected = {p.SettingType.SAMPLE_RATE: 0x7FFF, p.SettingType.RESOLUTION: 0, p.SettingType.RANGE: 15,
                p.SettingType.RANGE_MILLIUNIT: 2**31 - 1, p.SettingType.CHANNELS: 4, p.SettingType.FACTOR: 15}
    s = p.parse_settings(p.encode_selected_settings(selected))
    assert len(s) == 5 and p.SettingType.FACTOR not in s
    assert s[p.SettingType.SAMPLE_RATE] == (0x7FFF,) and s[p.SettingType.RANGE_MILLIUNIT] == (2**31 - 1,)
    assert s[p.SettingType.CHANNELS] == (4,) and s[p.SettingType.RESOLUTION] == (0,) and s[p.SettingType.RANGE] == (15,)


def test_cp_response_vendor_vectors():
    r = p.parse_cp_response(h("F0 01 02 00 00 FF FF FF"))
    assert (r.op_code, r.measurement_type, r.status, r.more, r.parameters) == (1, 2, p.PmdError.SUCCESS, False, h("FF FF FF"))
    r = p.parse_cp_response(h("F0 01 06 07 00"))
    assert (r.op_code, r.measurement_type, r.status, r.more, r.parameters) == (1, 6, p.PmdError.INVALID_RESOLUTION, False, b"")
    assert not r.ok


def test_start_stop_commands_bytes():
    assert p.encode_get_settings(ACC) == h("01 02")
    assert p.encode_get_settings(ACC, p.RecordingType.OFFLINE) == h("01 82")
    assert p.encode_start(ACC, sample_rate_hz=52, resolution_bits=16, range_=8, channels=3) == \
        h("02 02 00 01 34 00 01 01 10 00 02 01 08 00 04 01 03")
    assert p.encode_start(ACC, sample_rate_hz=200, resolution_bits=16, range_=2) == \
        h("02 02 00 01 C8 00 01 01 10 00 02 01 02 00")
    assert p.encode_stop(ACC) == h("03 02")
    assert p.encode_sdk_mode(True) == h("02 09") and p.encode_sdk_mode(False) == h("03 09")
    assert p.encode_get_measurement_status() == h("05")
    assert p.encode_get_sdk_mode_settings(GYRO) == h("04 05")


def test_parse_start_request_as_device():
    req = p.parse_cp_request(h("02 02 00 01 34 00 01 01 10 00 02 01 08 00 04 01 03"))
    assert req.op_code == p.OpCode.REQUEST_MEASUREMENT_START and req.measurement_type == ACC
    assert req.recording_type == p.RecordingType.ONLINE
    assert req.settings[p.SettingType.CHANNELS] == (3,) and req.settings[p.SettingType.RANGE] == (8,)
    with pytest.raises(DecodeError) as e:
        p.parse_cp_request(h("02 02 04 02 03"))  # 2-byte CHANNELS (Verity rejects it) -> bad TLV length
    assert e.value.offset == 4 and e.value.status is p.PmdError.INVALID_PARAMETER
    with pytest.raises(DecodeError) as e:
        p.parse_cp_request(h("7F 02"))
    assert e.value.offset == 0 and "invalid op code" in str(e.value) and e.value.status is p.PmdError.INVALID_OP_CODE
    with pytest.raises(DecodeError) as e:
        p.parse_cp_request(h("01"))
    assert e.value.offset == 1 and e.value.status is p.PmdError.INVALID_LENGTH
    assert p.parse_cp_request(h("05")).op_code == p.OpCode.GET_MEASUREMENT_STATUS
    assert p.parse_cp_request(h("03 02")).measurement_type == ACC


def test_cp_responses_success():
    r = p.parse_cp_response(h("F0 02 02 00 00"))
    assert r.ok and r.op_code == 2 and r.measurement_type == 2 and r.factor == 1.0 and not r.more
    r = p.parse_cp_response(h("F0 01 03 00 00"))  # issue 249, PPI
    assert r.ok and r.measurement_type == p.MeasurementType.PPI
    r = p.parse_cp_response(h("F0 01 02 00 00 00 04 19 00 32 00 64 00 C8 00 01 01 10 00 02 03 02 00 04 00 08 00"))
    assert r.settings == {p.SettingType.SAMPLE_RATE: (25, 50, 100, 200), p.SettingType.RESOLUTION: (16,),
                          p.SettingType.RANGE: (2, 4, 8)}
    start = p.encode_cp_response(2, 2, 0, p.encode_settings({p.SettingType.FACTOR: [2.44e-4]}))
    assert p.parse_cp_response(start).factor == pytest.approx(2.44e-4, rel=1e-6)


@pytest.mark.parametrize("code", list(p.PmdError))
def test_cp_error_codes(code):
    r = p.parse_cp_response(bytes((0xF0, 0x02, 0x02, int(code), 0x00)))
    assert r.status is code and r.ok == (code == p.PmdError.SUCCESS)


def test_cp_error_names_and_bad_responses():
    assert p.PmdError(10).name == "INVALID_MTU" and p.PmdError(12).name == "INVALID_STATE"
    with pytest.raises(DecodeError) as e:
        p.parse_cp_response(h("F0 02 02 0F 00"))
    assert e.value.offset == 3
    with pytest.raises(DecodeError) as e:
        p.parse_cp_response(h("F0 02"))
    assert e.value.offset == 2
    with pytest.raises(DecodeError) as e:
        p.parse_cp_notification(h("7E 02"))
    assert e.value.offset == 0


def test_unsolicited_stop_and_more_flag():
    n = p.parse_cp_notification(h("01 02 05"))
    assert isinstance(n, p.MeasurementStopped) and n.measurement_types == (ACC, GYRO)
    parts = [p.parse_cp_response(h("F0 01 02 00 01 00 01 34 00")), p.parse_cp_response(h("F0 01 02 00 00 01 01 10 00"))]
    merged = p.merge_cp_responses(parts)
    assert merged.settings == {p.SettingType.SAMPLE_RATE: (52,), p.SettingType.RESOLUTION: (16,)}


def test_feature_read():
    f = p.parse_features(h("0F 05 00") + bytes(14))  # issue 360: ECG + ACC (H10)
    assert f.measurements == {p.MeasurementType.ECG, ACC}
    verity = p.encode_features([p.MeasurementType.PPG, ACC, p.MeasurementType.PPI, GYRO, p.MeasurementType.MAGNETOMETER,
                                p.MeasurementType.SDK_MODE])
    assert p.parse_features(verity).supports(GYRO) and p.parse_features(verity).supports(p.MeasurementType.SDK_MODE)
    with pytest.raises(DecodeError) as e:
        p.parse_features(h("0E 05 00"))
    assert e.value.offset == 0


def test_measurement_status():
    assert p.parse_measurement_status(h("42 05")) == {2: 1, 5: 0}


def test_epoch_constant():
    assert p.POLAR_EPOCH_UNIX_NS == int(dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc).timestamp()) * 10**9
    assert math.isclose(p.decode_frame(EX_A, config=p.PmdConfig()).t_device_s[-1], T_2023 / 1e9)


def test_data_frame_without_stream_settings_is_a_decode_error():
    # a frame that overtakes the START response (seen at high replay speed) must not crash the consumer
    from repsense.errors import DecodeError
    from repsense.protocols import polar_pmd

    frame = bytes([0x02]) + (10**15).to_bytes(8, "little") + bytes([0x01]) + bytes(6)
    with pytest.raises(DecodeError) as e:
        polar_pmd.decode_frame(frame, config=None)
    assert e.value.offset == 0 and "START" in str(e.value)
