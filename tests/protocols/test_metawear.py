"""MetaWear codec: MetaWear-SDK-Cpp unit-test bytes, scaling, round trips, malformed packets."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from repsense.errors import DecodeError
from repsense.protocols import metawear as mw

h = bytes.fromhex
BMI160, BMI270 = mw.BMI160, mw.BMI270


# ----------------------------------------------------------------- SDK test vectors: data and scaling

def test_sdk_acc_unpacked_4g():
    f = mw.decode_frame(h("03 04 16 C4 94 A2 2A D0"), config=mw.MetaWearConfig(accel_range_g=4))
    assert f.frame_type == "acc" and f.t_device_s is None and f.gyro_dps is None
    assert f.accel_g[0].tolist() == pytest.approx([-15338 / 8192, -2.919, -1.495], abs=5e-4)
    assert f.accel_g[0, 0] == np.float32(-15338 / 8192)


def test_sdk_gyro_unpacked_500dps_bmi160():
    f = mw.decode_frame(h("13 05 3E 43 FF 7F 00 80"), config=mw.MetaWearConfig(gyro_range_dps=500))
    assert f.frame_type == "gyro"
    assert f.gyro_dps[0].tolist() == pytest.approx([262.409, 499.497, -499.512], abs=5e-4)


def test_sdk_acc_packed_bmi160_8g():
    f = mw.decode_frame(h("03 1C 62 B7 53 0D E9 FD 16 D0 4D 0E 57 02 8A FF A1 05 0A 01"),
                        config=mw.MetaWearConfig(accel_range_g=8))
    assert f.frame_type == "acc_packed" and f.n_samples == 3
    want = [[-4.539, 0.833, -0.131], [-2.995, 0.894, 0.146], [-0.029, 0.352, 0.065]]
    assert np.allclose(f.accel_g, want, atol=5e-4)


def test_derived_flat_16g():
    f = mw.decode_frame(h("03 04 00 00 00 00 00 08"), config=mw.MetaWearConfig(accel_range_g=16))
    assert f.accel_g.tolist() == [[0.0, 0.0, 1.0]]


def test_register_map_differs_by_chip():
    packed_bmi270 = h("03 05") + bytes(18)
    assert mw.decode_frame(packed_bmi270, config=mw.MetaWearConfig(chip=BMI270)).frame_type == "acc_packed"
    with pytest.raises(DecodeError):
        mw.decode_frame(packed_bmi270, config=mw.MetaWearConfig(chip=BMI160))
    g_bmi270 = h("13 04 01 00 02 00 03 00")
    assert mw.decode_frame(g_bmi270, config=mw.MetaWearConfig(chip=BMI270)).frame_type == "gyro"
    g_packed_bmi270 = h("13 05") + bytes(18)
    assert mw.decode_frame(g_packed_bmi270, config=mw.MetaWearConfig(chip=BMI270)).frame_type == "gyro_packed"
    assert mw.decode_frame(h("13 07") + bytes(18)).frame_type == "gyro_packed"


# ----------------------------------------------------------------- SDK test vectors: commands

@pytest.mark.parametrize("odr, rng, chip, want", [
    (50, 2, BMI160, "03 03 27 03"),
    (200, 8, BMI160, "03 03 29 08"),
    (100, 16, BMI160, "03 03 28 0C"),
    (200, 8, BMI270, "03 03 A9 02"),
    (100, 16, BMI270, "03 03 A8 03"),
    (100, 8, BMI270, "03 03 A8 02"),
])
def test_accel_config_bytes(odr, rng, chip, want):
    assert mw.encode_accel_config(odr, rng, chip=chip) == h(want)
    assert mw.parse_accel_config(h(want), chip=chip) == (odr, rng)


def test_accel_config_below_12_5_hz():
    # BMI160: bwp 0, us 1; BMI270: filter_perf 0 and start with 03 01 02
    assert mw.encode_accel_config(6.25, 2, chip=BMI160) == h("03 03 84 03")
    assert mw.encode_accel_config(6.25, 2, chip=BMI270) == h("03 03 24 00")
    assert mw.encode_accel_start(chip=BMI270, odr_hz=6.25) == h("03 01 02")
    assert mw.encode_accel_start(chip=BMI270, odr_hz=100) == h("03 01 01")
    assert mw.encode_accel_start(chip=BMI160, odr_hz=6.25) == h("03 01 01")


@pytest.mark.parametrize("odr, rng, want", [(200, 2000, "13 03 29 00"), (50, 125, "13 03 27 04")])
def test_gyro_config_bytes(odr, rng, want):
    assert mw.encode_gyro_config(odr, rng) == h(want)
    assert mw.parse_gyro_config(h(want)) == (odr, rng)


def test_connection_parameters():
    assert mw.encode_connection_parameters(750, 1000, 128, 16384) == h("11 09 58 02 20 03 80 00 66 06")
    assert mw.encode_connection_parameters() == h("11 09 06 00 06 00 00 00 58 02")


def test_subscribe_enable_start_bytes():
    assert mw.encode_accel_subscribe() == h("03 04 01")
    assert mw.encode_accel_subscribe(enable=False) == h("03 04 00")
    assert mw.encode_accel_subscribe(packed=True, chip=BMI160) == h("03 1C 01")
    assert mw.encode_accel_subscribe(packed=True, chip=BMI270) == h("03 05 01")
    assert mw.encode_accel_sampling(True) == h("03 02 01 00") and mw.encode_accel_sampling(False) == h("03 02 00 01")
    assert mw.encode_accel_stop() == h("03 01 00") and mw.encode_accel_read_config() == h("03 83")
    assert mw.encode_gyro_subscribe(chip=BMI160) == h("13 05 01") and mw.encode_gyro_subscribe(chip=BMI270) == h("13 04 01")
    assert mw.encode_gyro_subscribe(packed=True, chip=BMI160) == h("13 07 01")
    assert mw.encode_gyro_subscribe(packed=True, chip=BMI270) == h("13 05 01")
    assert mw.encode_gyro_sampling(True) == h("13 02 01 00") and mw.encode_gyro_sampling(False) == h("13 02 00 01")
    assert mw.encode_gyro_start() == h("13 01 01") and mw.encode_gyro_stop() == h("13 01 00")


def test_stream_command_order():
    cmds = mw.stream_start_commands(chip=BMI160, accel_odr_hz=100, accel_range_g=16)
    assert cmds == [h("11 09 06 00 06 00 00 00 58 02"), h("03 03 28 0C"), h("03 04 01"), h("03 02 01 00"), h("03 01 01")]
    assert mw.stream_stop_commands() == [h("03 01 00"), h("03 02 00 01"), h("03 04 00")]
    assert not any(mw.write_with_response(c) for c in cmds) and mw.write_with_response(h("0F 02"))


def test_module_discovery():
    assert mw.encode_module_info_read(mw.Module.ACCELEROMETER) == h("03 80")
    info = mw.parse_module_info(h("03 80 04 00"))
    assert info.present and mw.chip_from_module_info(info) == BMI270
    assert mw.chip_from_module_info(mw.parse_module_info(h("13 80 00 01"))) == BMI160
    absent = mw.parse_module_info(h("15 80"))
    assert not absent.present
    assert mw.parse_module_info(mw.encode_module_info(3, 1, 2, b"\x03")) == mw.ModuleInfo(3, True, 1, 2, b"\x03")
    with pytest.raises(DecodeError):
        mw.chip_from_module_info(mw.parse_module_info(h("03 80 03 00")))  # BMA255, dropped


def test_bad_config_values_raise():
    with pytest.raises(ValueError, match="ODR"):
        mw.encode_accel_config(120, 2)
    with pytest.raises(ValueError, match="range"):
        mw.encode_gyro_config(100, 300)
    with pytest.raises(DecodeError) as e:
        mw.parse_accel_config(h("03 83 2F 03"))
    assert e.value.offset == 2
    with pytest.raises(DecodeError) as e:
        mw.parse_accel_config(h("03 83 28 07"))
    assert e.value.offset == 3


# ----------------------------------------------------------------- round trips

@given(st.sampled_from([2, 4, 8, 16]), st.sampled_from([1, 3]), st.sampled_from([BMI160, BMI270]),
       hnp.arrays(np.float64, (3, 3), elements=st.floats(-20, 20)))
@settings(max_examples=80, deadline=None)
def test_roundtrip_accel(rng, n, chip, g):
    cfg = mw.MetaWearConfig(chip=chip, accel_range_g=rng)
    x = g[:n]
    f = mw.decode_frame(mw.encode_frame(accel_g=x, config=cfg), config=cfg)
    assert np.array_equal(f.accel_g, (mw.quantise_accel(x, rng) / mw.ACC_LSB_PER_G[rng]).astype(np.float32))
    assert np.all(np.abs(f.accel_g - np.clip(x, -rng, rng * 32767 / 32768)) <= 0.5 / mw.ACC_LSB_PER_G[rng] + 1e-6)


@given(st.sampled_from([125, 250, 500, 1000, 2000]), st.sampled_from([1, 3]), st.sampled_from([BMI160, BMI270]),
       hnp.arrays(np.int16, (3, 3)))
@settings(max_examples=80, deadline=None)
def test_roundtrip_gyro_counts(rng, n, chip, counts):
    cfg = mw.MetaWearConfig(chip=chip, gyro_range_dps=rng)
    f = mw.decode_frame(mw.encode_frame(gyro_dps=counts[:n] / mw.GYRO_LSB_PER_DPS[rng], config=cfg), config=cfg)
    assert np.array_equal(mw.quantise_gyro(f.gyro_dps, rng), counts[:n])


# ----------------------------------------------------------------- malformed packets

@pytest.mark.parametrize("data, offset, reason", [
    (h("03"), 1, "too short"),
    (h("03 83 28 03"), 1, "read response"),
    (h("04 04 00 00 00 00 00 00"), 1, "not an accelerometer/gyro data register"),
    (h("03 04 00 00 00 00 00"), 7, "bad length"),
    (h("03 04 00 00 00 00 00 00 00"), 8, "bad length"),
    (h("03 1C") + bytes(17), 19, "bad length: packed acc"),
])
def test_malformed(data, offset, reason):
    with pytest.raises(DecodeError) as e:
        mw.decode_frame(data)
    assert e.value.offset == offset and reason in str(e.value)
