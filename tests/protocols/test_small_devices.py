"""InfiniTime, Thingy:52, Movesense GSP, Bangle.js: reference examples, round trips, malformed frames."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from repsense.errors import DecodeError
from repsense.protocols import banglejs as bj
from repsense.protocols import infinitime as it
from repsense.protocols import movesense as ms
from repsense.protocols import thingy52 as th

h = bytes.fromhex


def _offset(fn, data, **kw) -> tuple[int, str]:
    with pytest.raises(DecodeError) as e:
        fn(data, **kw)
    return e.value.offset, str(e.value)


# ----------------------------------------------------------------- InfiniTime

def test_infinitime_flat_face_up():
    f = it.decode_frame(h("00 00 00 00 00 FC"))
    assert f.accel_g.tolist() == [[0.0, 0.0, -1.0]] and f.t_device_s is None and f.gyro_dps is None
    assert it.encode_frame(np.array([0.0, 0.0, -1.0])) == h("00 00 00 00 00 FC")


def test_infinitime_pre_1_15_counts_config():
    f = it.decode_frame(h("00 02 00 00 00 00"), config=it.InfiniTimeConfig(lsb_per_g=512.0))
    assert f.accel_g[0, 0] == 1.0


@given(hnp.arrays(np.int16, 3))
@settings(max_examples=60, deadline=None)
def test_infinitime_roundtrip(counts):
    g = counts / 1024.0
    f = it.decode_frame(it.encode_frame(g))
    assert np.array_equal(f.accel_g[0], g.astype(np.float32))


@pytest.mark.parametrize("data, offset", [(h("00 00 00 00 00"), 5), (h("00 00 00 00 00 00 00"), 6), (b"", 0)])
def test_infinitime_malformed(data, offset):
    assert _offset(it.decode_frame, data)[0] == offset


def test_infinitime_step_count():
    assert it.decode_step_count(h("10 27 00 00")) == 10000 and it.encode_step_count(10000) == h("10 27 00 00")
    with pytest.raises(DecodeError):
        it.decode_step_count(h("10 27 00"))


# ----------------------------------------------------------------- Thingy:52

def test_thingy_worked_example():
    data = h("00 00 00 00 00 04 20 00 00 00 00 00 00 00 00 00 00 00")
    f = th.decode_frame(data)
    assert f.accel_g.tolist() == [[0.0, 0.0, 1.0]] and f.gyro_dps.tolist() == [[1.0, 0.0, 0.0]] and f.t_device_s is None
    assert th.encode_frame([0, 0, 1.0], [1.0, 0, 0]) == data


def test_thingy_compass_and_floor_quantisation():
    data = th.encode_frame([0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [1.0, -2.5, 40.0])
    assert th.decode_compass_ut(data).tolist() == [1.0, -2.5, 40.0]
    # firmware shifts right: floor, not round
    assert th.decode_frame(th.encode_frame([-0.0001, 0.0009, 0], [0.031, -0.001, 0])).accel_g.tolist() == [[-1 / 1024, 0.0, 0.0]]
    # clamp at the Q6.10 limit
    assert th.decode_frame(th.encode_frame([40.0, -40.0, 0], [0, 0, 0])).accel_g[0, :2].tolist() == [32767 / 1024, -32.0]


@given(hnp.arrays(np.int16, 6))
@settings(max_examples=60, deadline=None)
def test_thingy_roundtrip(counts):
    a, g = counts[:3] / 1024.0, counts[3:] / 32.0
    f = th.decode_frame(th.encode_frame(a, g))
    assert np.array_equal(f.accel_g[0], a.astype(np.float32)) and np.array_equal(f.gyro_dps[0], g.astype(np.float32))


@pytest.mark.parametrize("data, offset", [(bytes(17), 17), (bytes(19), 18), (bytes(20), 18)])
def test_thingy_malformed(data, offset):
    assert _offset(th.decode_frame, data)[0] == offset


def test_thingy_config():
    assert th.encode_config() == h("E8 03 F4 01 F4 01 0A 00 01")
    cfg = th.MotionConfig(motion_freq_hz=200, wake_on_motion=False)
    assert th.parse_config(th.encode_config(cfg)) == cfg
    with pytest.raises(ValueError, match="motion_freq_hz 201"):
        th.encode_config(th.MotionConfig(motion_freq_hz=201))
    for raw, off in [(h("E8 03 F4 01 F4 01 04 00 01"), 6), (h("E8 03 F4 01 F4 01 0A 00 02"), 8),
                     (h("63 00 F4 01 F4 01 0A 00 01"), 0), (h("E8 03 F4 01 E9 03 0A 00 01"), 4), (bytes(8), 8)]:
        assert _offset(th.parse_config, raw)[0] == off


# ----------------------------------------------------------------- Movesense GSP

MS_EXAMPLE = h("02 63 E8 03 00 00 00 00 00 00 00 00 00 00 60 E5 1C 41 00 00 00 00 00 00 00 00 00 00 00 00")


def test_movesense_worked_example():
    f = ms.decode_frame(MS_EXAMPLE, config=ms.MovesenseConfig("IMU6", 52))
    assert f.stream_ref == 0x63 and f.frame_type == "imu6" and f.n_samples == 1
    assert f.t_device_s.tolist() == [1.0]
    assert f.accel_g[0].tolist() == pytest.approx([0, 0, 9.806 / 9.80665], rel=1e-6)
    assert f.gyro_dps.tolist() == [[0.0, 0.0, 0.0]]
    assert np.float32(9.806).tobytes() == h("60 E5 1C 41")


def test_movesense_commands():
    assert ms.encode_subscribe(99, ms.resource_path("IMU6", 52)) == h("01 63 2F 4D 65 61 73 2F 49 4D 55 36 2F 35 32")
    assert ms.encode_unsubscribe(99) == h("02 63") and ms.encode_hello(5) == h("00 05")
    assert ms.encode_subscribe(99, "/Meas/Acc/13") == bytes([1, 99]) + b"/Meas/Acc/13"
    cmd = ms.parse_command(h("01 63 2F 4D 65 61 73 2F 49 4D 55 36 2F 35 32"))
    assert cmd.command == ms.Command.SUBSCRIBE and cmd.ref == 99 and ms.parse_path(cmd.path) == ("IMU6", 52.0)
    assert ms.parse_path("Meas/Gyro/104") == ("Gyro", 104.0)
    with pytest.raises(ValueError):
        ms.encode_hello(0)
    for raw, off in [(h("03 01"), 0), (h("01 00 2F"), 1), (h("01 05"), 2), (h("02 05 00"), 2), (h("01 05 FF"), 2)]:
        assert _offset(ms.parse_command, raw)[0] == off


def test_movesense_command_results():
    r = ms.decode_frame(h("01 63 01 FB"))
    assert r.frame_type == "command_result" and r.status == 507 and r.stream_ref == 99 and r.n_samples == 0
    assert ms.encode_command_result(99, 507) == h("01 63 01 FB")
    hello = ms.decode_frame(ms.encode_hello_reply(7))
    assert hello.frame_type == "hello" and hello.stream_ref == 7


@given(st.sampled_from(["Acc", "Gyro", "IMU6", "IMU9"]), st.integers(1, 8), st.integers(0, 2**32 - 1),
       st.sampled_from([13, 26, 52, 104, 208]), st.data())
@settings(max_examples=60, deadline=None)
def test_movesense_roundtrip(resource, n, ts, rate, data):
    cfg = ms.MovesenseConfig(resource, rate)
    has_acc, has_gyro, has_mag = ms.RESOURCES[resource]
    arr = lambda: data.draw(hnp.arrays(np.float64, (n, 3), elements=st.floats(-100, 100)))  # noqa: E731
    acc, gyr, mag = (arr() if has_acc else None), (arr() if has_gyro else None), (arr() if has_mag else None)
    raw = ms.encode_frame(3, ts, accel_g=acc, gyro_dps=gyr, magn=mag, config=cfg)
    f = ms.decode_frame(raw, config=cfg)
    assert f.n_samples == n
    assert np.allclose(f.t_device_s, ts / 1000 + np.arange(n) / rate)
    if has_acc:  # wire is f32 m/s^2: equal to the device's float32 within float32 rounding
        assert np.allclose(f.accel_g, acc, rtol=3e-7, atol=1e-6)
    else:
        assert f.accel_g is None
    if has_gyro:
        assert np.array_equal(f.gyro_dps, gyr.astype(np.float32))


@pytest.mark.parametrize("data, offset, reason", [
    (h("02"), 1, "too short"),
    (h("02 63 E8 03"), 4, "too short"),
    (h("02 63 E8 03 00 00"), 6, "bad length"),
    (MS_EXAMPLE[:-1], 6, "bad length"),
    (MS_EXAMPLE + bytes(12), 30, "bad length"),
    (h("05 63 00 00"), 0, "unknown GSP response type"),
    (h("01 63 01"), 3, "too short"),
    (h("01 63 01 FB 00"), 4, "bad length"),
])
def test_movesense_malformed(data, offset, reason):
    off, msg = _offset(ms.decode_frame, data)
    assert off == offset and reason in msg


# ----------------------------------------------------------------- Bangle.js

def test_bangle_script_bytes():
    s = bj.stream_script()
    assert s.startswith(b"\x10Bangle.setPollInterval(80);Bangle.on('accel',") and s.endswith(b"\n")
    assert b"Math.round(a.x*1000)" in s and b"getTime().toFixed(3)" in s and s.count(b"\n") == 1
    assert bj.stream_script(odr_25hz=True, poll_interval_ms=40).startswith(b"\x10Bangle.accelWr(0x1B,1);Bangle.setPollInterval(40);")
    assert bj.stop_script() == b"\x10Bangle.removeAllListeners('accel');\n"
    assert all(len(c) <= 20 for c in bj.chunk_writes(s, 23)) and b"".join(bj.chunk_writes(s, 23)) == s
    with pytest.raises(ValueError):
        bj.stream_script(poll_interval_ms=5)


def test_bangle_reference_line_and_tagged_line():
    f = bj.decode_frame(b"-12,8,1003\r\n")
    assert f.accel_g.tolist() == [[np.float32(-0.012), np.float32(0.008), np.float32(1.003)]] and f.t_device_s is None
    g = bj.decode_frame(b"A,1732560000.125,-12,8,1003")
    assert g.t_device_s.tolist() == [1732560000.125] and np.array_equal(g.accel_g, f.accel_g)
    assert bj.encode_frame([-0.012, 0.008, 1.003]) == b"-12,8,1003\r\n"
    assert bj.encode_frame([-0.012, 0.008, 1.003], 1732560000.125) == b"A,1732560000.125,-12,8,1003\r\n"
    assert bj.encode_frame([0.0005, -0.0005, 0], None) == b"1,0,0\r\n"  # JS Math.round: half up


def test_bangle_lines_split_across_notifications():
    text = b"".join(bj.encode_frame([i / 1000, 0, 1], 100 + i / 12.5) for i in range(20))
    state, lines = None, []
    for chunk in bj.chunk_writes(text, 23):
        got, state, overflow = bj.split_lines(chunk, state)
        lines += got
        assert overflow == 0
    assert state.pending == b"" and len(lines) == 20
    assert [bj.decode_frame(line).accel_g[0, 0] for line in lines] == [np.float32(i / 1000) for i in range(20)]


def test_bangle_overlong_partial_line_is_dropped():
    lines, state, overflow = bj.split_lines(b"x" * (bj.MAX_LINE_BYTES + 1))
    assert lines == [] and state.pending == b"" and overflow == 1


@given(hnp.arrays(np.int32, 3, elements=st.integers(-8000, 8000)), st.one_of(st.none(), st.integers(0, 2**41)))
@settings(max_examples=60, deadline=None)
def test_bangle_roundtrip(mg, t_ms):
    t_s = None if t_ms is None else t_ms / 1000
    f = bj.decode_frame(bj.encode_frame(mg / 1000.0, t_s))
    assert np.array_equal(f.accel_g[0], (mg / 1000.0).astype(np.float32))
    assert (f.t_device_s is None) if t_s is None else f.t_device_s[0] == pytest.approx(t_s, abs=5e-4)


@pytest.mark.parametrize("line, offset, reason", [
    (b"", 0, "empty line"),
    (b">", 0, "not a data line"),
    (b"=undefined", 0, "not a data line"),
    (b"A,12.5,1,2", 0, "5 fields"),
    (b"A,x,1,2,3", 2, "time field"),
    (b"A,1.0,1,2.5,3", 8, "not an integer"),
    (b"-12,8,", 6, "not an integer"),
    (b"1,\xff,3", 2, "non-ASCII"),
])
def test_bangle_malformed(line, offset, reason):
    off, msg = _offset(bj.decode_frame, line)
    assert off == offset and reason in msg
