"""Fuzz every BLE protocol decoder and parser in ``repsense.protocols``.

Inputs: random bytes, and truncations, extensions, byte substitutions and bit flips of valid
frames built by the protocols' own encoders. Property: a decoder either returns a well-formed
result or raises :class:`repsense.errors.DecodeError` (a documented project error); never
IndexError, struct.error, a bare ValueError, OverflowError... Where an encoder exists,
``decode(encode(x)) == x`` on the device grid.

Budget: ``REPSENSE_RELIABILITY_SCALE`` multiplies the number of hypothesis examples (default 1:
CI-sized, derandomised so every CI run sees the same cases).
"""

from __future__ import annotations

import os
from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from repsense.errors import DecodeError, RepsenseError
from repsense.protocols import PROTOCOLS, banglejs, diy, infinitime, metawear, movesense, polar_pmd, thingy52

SCALE = float(os.environ.get("REPSENSE_RELIABILITY_SCALE", "1"))


def fuzz_settings(n: int) -> settings:
    return settings(max_examples=max(1, int(n * SCALE)), deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# --------------------------------------------------------------------------- valid frames


def _acc(rng: np.random.Generator, n: int, g: float = 1.9) -> np.ndarray:
    return rng.uniform(-g, g, size=(n, 3))


def _valid_frames(seed: int) -> dict[str, list[bytes]]:
    """A few valid frames per target, from the encoders (deterministic)."""
    r = np.random.default_rng(seed)
    out: dict[str, list[bytes]] = {}
    out["diy.decode_frame"] = [
        diy.encode_frame(int(r.integers(0, 65536)), int(r.integers(0, 2**40)), _acc(r, n, 7.9),
                         r.uniform(-1900, 1900, (n, 3)) if gy else None, sample_rate_hz=rate)
        for n, gy, rate in ((1, True, 100.0), (9, False, 12.5), (18, True, 200.0))]
    out["diy.parse_config_request"] = [diy.encode_set_config(diy.DiyConfig()), diy.encode_start(), diy.encode_stop(),
                                       diy.encode_get_config()]
    out["diy.parse_config_response"] = [diy.encode_config_response(diy.ConfigOp.SET_CONFIG, diy.ConfigStatus.OK,
                                                                   diy.DiyConfig(), streaming=True)]
    acc_mg = np.rint(_acc(r, 30) * 1000).astype(np.int64)
    out["polar_pmd.decode_frame"] = [
        polar_pmd.encode_frame(polar_pmd.MeasurementType.ACC, 0x01, 10**18, acc_mg),
        polar_pmd.encode_frame(polar_pmd.MeasurementType.ACC, 0x81, 10**18 + 5, acc_mg, max_block_samples=7),
        polar_pmd.encode_frame(polar_pmd.MeasurementType.ACC, 0x00, 10**17, np.clip(acc_mg // 20, -127, 127)),
        polar_pmd.encode_frame(polar_pmd.MeasurementType.ACC, 0x02, 10**17, acc_mg * 100),
        polar_pmd.encode_frame(polar_pmd.MeasurementType.GYRO, 0x80, 10**18, acc_mg),
        polar_pmd.encode_frame(polar_pmd.MeasurementType.GYRO, 0x81, 10**18, acc_mg.astype(np.float32) / 7),
    ]
    out["polar_pmd.parse_settings"] = [polar_pmd.encode_settings({0: [26, 52, 104], 1: [16], 2: [2, 4, 8], 5: [0.5],
                                                                  4: [3], 3: [-2000, 2000]})]
    out["polar_pmd.parse_cp_request"] = [polar_pmd.encode_start(2, sample_rate_hz=52, range_=8),
                                         polar_pmd.encode_stop(2), polar_pmd.encode_get_settings(5),
                                         polar_pmd.encode_get_measurement_status()]
    resp = polar_pmd.encode_cp_response(2, 2, 0, polar_pmd.encode_settings({5: [0.25]}))
    out["polar_pmd.parse_cp_response"] = [resp, polar_pmd.encode_cp_response(1, 5, 0, out["polar_pmd.parse_settings"][0])]
    out["polar_pmd.parse_cp_notification"] = [resp, bytes((1, 2, 5))]
    out["polar_pmd.parse_features"] = [polar_pmd.encode_features([2, 5, 9])]
    out["polar_pmd.parse_measurement_status"] = [bytes((0x42, 0x85))]
    out["metawear.decode_frame"] = [metawear.encode_frame(accel_g=_acc(r, 1)), metawear.encode_frame(accel_g=_acc(r, 3)),
                                    metawear.encode_frame(gyro_dps=r.uniform(-1900, 1900, (3, 3))),
                                    metawear.encode_frame(gyro_dps=r.uniform(-1900, 1900, (1, 3)))]
    out["metawear.parse_accel_config"] = [metawear.encode_accel_config(100.0, 8)]
    out["metawear.parse_gyro_config"] = [metawear.encode_gyro_config(100.0, 500)]
    out["metawear.parse_module_info"] = [metawear.encode_module_info(3, 1, 1, b"\x03"), metawear.encode_module_info(3, None)]
    out["movesense.decode_frame"] = [movesense.encode_frame(7, 123456, accel_g=_acc(r, 4), gyro_dps=_acc(r, 4, 500)),
                                     movesense.encode_command_result(7, 200), movesense.encode_hello_reply(9)]
    out["movesense.parse_command"] = [movesense.encode_subscribe(3, "/Meas/IMU6/52"), movesense.encode_hello(4),
                                      movesense.encode_unsubscribe(3)]
    out["thingy52.decode_frame"] = [thingy52.encode_frame(_acc(r, 1)[0], _acc(r, 1, 900)[0], _acc(r, 1, 40)[0])]
    out["thingy52.parse_config"] = [thingy52.encode_config()]
    out["infinitime.decode_frame"] = [infinitime.encode_frame(_acc(r, 1)[0])]
    out["infinitime.decode_step_count"] = [infinitime.encode_step_count(12345)]
    out["banglejs.decode_frame"] = [banglejs.encode_frame(_acc(r, 1)[0]), banglejs.encode_frame(_acc(r, 1)[0], 1234.5)]
    return out


VALID = _valid_frames(0)


def _cp_response_all(data: bytes) -> Any:
    resp = polar_pmd.parse_cp_response(data)
    return resp, resp.settings, resp.factor  # the lazily parsed parameters are decoding too


TARGETS: dict[str, list[Callable[[bytes], Any]]] = {
    "diy.decode_frame": [diy.decode_frame],
    "diy.parse_config_request": [diy.parse_config_request],
    "diy.parse_config_response": [diy.parse_config_response],
    "polar_pmd.decode_frame": [
        lambda b: polar_pmd.decode_frame(b),
        lambda b: polar_pmd.decode_frame(b, config=polar_pmd.PmdConfig(200, 0.24, 208, 0.061)),
        lambda b: polar_pmd.decode_frame(b, config=polar_pmd.PmdConfig(0, 1.0, 0, 1.0)),
        lambda b: polar_pmd.decode_frame(b, state=polar_pmd.PmdState(((2, b[9] if len(b) > 9 else 1, 10**18 - 10**7),))),
    ],
    "polar_pmd.parse_settings": [polar_pmd.parse_settings],
    "polar_pmd.parse_cp_request": [polar_pmd.parse_cp_request],
    "polar_pmd.parse_cp_response": [_cp_response_all],
    "polar_pmd.parse_cp_notification": [polar_pmd.parse_cp_notification],
    "polar_pmd.parse_features": [polar_pmd.parse_features],
    "polar_pmd.parse_measurement_status": [polar_pmd.parse_measurement_status],
    "metawear.decode_frame": [
        lambda b: metawear.decode_frame(b),
        lambda b: metawear.decode_frame(b, config=metawear.MetaWearConfig(metawear.BMI270, 16, 125)),
    ],
    "metawear.parse_accel_config": [lambda b: metawear.parse_accel_config(b),
                                    lambda b: metawear.parse_accel_config(b, chip=metawear.BMI270)],
    "metawear.parse_gyro_config": [metawear.parse_gyro_config],
    "metawear.parse_module_info": [metawear.parse_module_info],
    "movesense.decode_frame": [lambda b, res=res: movesense.decode_frame(b, config=movesense.MovesenseConfig(res, 104.0))
                               for res in movesense.RESOURCES],
    "movesense.parse_command": [movesense.parse_command],
    "thingy52.decode_frame": [thingy52.decode_frame, thingy52.decode_compass_ut],
    "thingy52.parse_config": [thingy52.parse_config],
    "infinitime.decode_frame": [infinitime.decode_frame],
    "infinitime.decode_step_count": [infinitime.decode_step_count],
    "banglejs.decode_frame": [banglejs.decode_frame],
}


def _check_frame(f: Any) -> None:
    """A returned DecodedFrame is well formed: (n, 3) float32 arrays, n per-sample times."""
    if not isinstance(f, polar_pmd.DecodedFrame):
        return
    n = f.n_samples
    for arr in (f.accel_g, f.gyro_dps):
        if arr is not None:
            assert arr.dtype == np.float32 and arr.shape == (n, 3)
    if f.t_device_s is not None:
        assert f.t_device_s.shape == (n,) and np.all(np.isfinite(f.t_device_s))
    if f.t_device_ns is not None:
        assert f.t_device_ns.shape == (n,)
    if f.accel_g is not None and f.kind != movesense.KIND:
        # integer wire formats can never give nan/inf (Movesense sends float32: a corrupted
        # payload can carry nan/inf, see test_movesense_float_payload_nan_is_passed_through)
        assert np.all(np.isfinite(f.accel_g))


def _run(name: str, data: bytes) -> None:
    for fn in TARGETS[name]:
        try:
            result = fn(data)
        except DecodeError as exc:
            assert str(exc), f"{name}: DecodeError without a message"
            continue
        except RepsenseError:
            continue
        except Exception as exc:  # noqa: BLE001 - the property under test
            pytest.fail(f"{name}({data.hex()}) raised {type(exc).__name__}: {exc}")
        _check_frame(result[0] if isinstance(result, tuple) and result and
                     isinstance(result[0], polar_pmd.DecodedFrame) else result)


def test_every_protocol_has_a_fuzz_target():
    kinds = {name.split(".")[0] for name in TARGETS}
    assert kinds == set(PROTOCOLS), f"protocols without a fuzz target: {set(PROTOCOLS) - kinds}"
    assert set(TARGETS) == set(VALID)


# Each test below covers all targets; ~60 targets x 4 mutation kinds, per-example cost is microseconds.

@pytest.mark.parametrize("name", sorted(TARGETS))
@given(data=st.binary(max_size=300))
@fuzz_settings(150)
def test_random_bytes(name: str, data: bytes) -> None:
    _run(name, data)


@st.composite
def _mutation(draw: st.DrawFn, name: str) -> bytes:
    base = bytearray(draw(st.sampled_from(VALID[name])))
    kind = draw(st.sampled_from(["truncate", "flip", "substitute", "extend", "splice"]))
    if kind == "truncate":
        return bytes(base[: draw(st.integers(0, max(0, len(base) - 1)))])
    if kind == "flip":
        for _ in range(draw(st.integers(1, 4))):
            i = draw(st.integers(0, len(base) - 1))
            base[i] ^= 1 << draw(st.integers(0, 7))
        return bytes(base)
    if kind == "substitute":
        i = draw(st.integers(0, len(base) - 1))
        base[i] = draw(st.sampled_from([0x00, 0x7F, 0x80, 0xFF, 0x01, 0xFE]))
        return bytes(base)
    if kind == "extend":
        return bytes(base) + draw(st.binary(min_size=1, max_size=40))
    other = draw(st.sampled_from(VALID[name]))
    cut = draw(st.integers(0, len(base)))
    return bytes(base[:cut]) + other[draw(st.integers(0, len(other))):]


@pytest.mark.parametrize("name", sorted(TARGETS))
@given(data=st.data())
@fuzz_settings(200)
def test_mutated_valid_frames(name: str, data: st.DataObject) -> None:
    _run(name, data.draw(_mutation(name)))


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_every_truncation_and_every_single_bit_flip(name: str) -> None:
    """Exhaustive over the valid seed frames: all prefixes and all 8 x len single-bit flips."""
    for frame in VALID[name]:
        for cut in range(len(frame)):
            _run(name, frame[:cut])
        buf = bytearray(frame)
        for i in range(len(buf)):
            for bit in range(8):
                buf[i] ^= 1 << bit
                _run(name, bytes(buf))
                buf[i] ^= 1 << bit


def test_valid_seed_frames_decode():
    """The seeds themselves decode (otherwise mutation fuzzing would test only error paths)."""
    for name, frames in VALID.items():
        for frame in frames:
            TARGETS[name][0](frame)


# --------------------------------------------------------------------------- stateful streams


@given(frames=st.lists(st.tuples(st.integers(0, 5), st.integers(1, 2**62), st.integers(1, 40)), min_size=1, max_size=12),
       shuffle=st.randoms(use_true_random=False))
@fuzz_settings(150)
def test_polar_state_chain_survives_reordered_duplicated_jumping_frames(frames, shuffle) -> None:
    """Frames of a stream decoded with the state threaded through, in any order, with any timestamps
    (backwards, equal, huge jumps): every frame decodes to n samples, times are finite int64 ns."""
    layouts = [(2, 0x01), (2, 0x81), (2, 0x00), (5, 0x80), (5, 0x81), (2, 0x02)]
    rng = np.random.default_rng(1)
    encoded = []
    for k, ts, n in frames:
        mt, ft = layouts[k]
        s = rng.integers(-100, 100, size=(n, 3))
        if (mt, ft) == (5, 0x81):
            s = s.astype(np.float32)
        encoded.append((polar_pmd.encode_frame(mt, ft, ts, s), n))
    encoded += encoded[: len(encoded) // 2]  # duplicates
    shuffle.shuffle(encoded)
    state = None
    for data, n in encoded:
        try:
            f = polar_pmd.decode_frame(data, config=polar_pmd.PmdConfig(52, 1.0, 52, 1.0), state=state)
        except DecodeError:
            continue  # e.g. a first sample before the Polar epoch after a jump: reported, not crashed
        except Exception as exc:  # noqa: BLE001
            pytest.fail(f"{type(exc).__name__}: {exc} on {data.hex()}")
        assert f.n_samples == n and f.t_device_ns.dtype == np.int64
        state = f.state


@given(chunks=st.lists(st.binary(max_size=60), max_size=20))
@fuzz_settings(200)
def test_banglejs_line_reassembly_then_decode(chunks) -> None:
    """Arbitrary notification chunks: split_lines never raises, a pending line never exceeds the
    limit, every complete line decodes or raises DecodeError."""
    state = None
    for chunk in chunks:
        lines, state, overflow = banglejs.split_lines(chunk, state)
        assert len(state.pending) <= banglejs.MAX_LINE_BYTES and overflow in (0, 1)
        for line in lines:
            _run("banglejs.decode_frame", line)


# --------------------------------------------------------------------------- round trips


@given(seq=st.integers(0, 65535), t0=st.integers(0, 2**63 - 1), n=st.integers(1, 20), gyro=st.booleans(),
       counts=st.data())
@fuzz_settings(150)
def test_diy_roundtrip_exact_on_the_int16_grid(seq, t0, n, gyro, counts) -> None:
    acc_c = np.array(counts.draw(st.lists(st.integers(-32768, 32767), min_size=3 * n, max_size=3 * n))).reshape(n, 3)
    gyr_c = np.array(counts.draw(st.lists(st.integers(-32768, 32767), min_size=3 * n, max_size=3 * n))).reshape(n, 3)
    acc = acc_c * (8 / 32768.0)
    gyr = gyr_c * (2000 / 32768.0) if gyro else None
    f = diy.decode_frame(diy.encode_frame(seq, t0, acc, gyr, sample_rate_hz=100.0))
    assert f.seq == seq and f.n_samples == n
    np.testing.assert_array_equal(f.accel_g, acc.astype(np.float32))
    if gyro:
        np.testing.assert_array_equal(f.gyro_dps, gyr.astype(np.float32))
    assert f.t_device_s[0] == t0 / 1e6


@given(counts=st.lists(st.integers(-32768, 32767), min_size=3, max_size=3), rng_g=st.sampled_from([2, 4, 8, 16]),
       chip=st.sampled_from([metawear.BMI160, metawear.BMI270]))
@fuzz_settings(100)
def test_metawear_roundtrip(counts, rng_g, chip) -> None:
    cfg = metawear.MetaWearConfig(chip, rng_g, 2000)
    acc = np.array([counts]) / metawear.ACC_LSB_PER_G[rng_g]
    f = metawear.decode_frame(metawear.encode_frame(accel_g=acc, config=cfg), config=cfg)
    np.testing.assert_array_equal(f.accel_g, acc.astype(np.float32))


@given(ts=st.integers(10**12, 2**62), k=st.integers(0, 3), n=st.integers(1, 60), data=st.data())
@fuzz_settings(150)
def test_polar_roundtrip(ts, k, n, data) -> None:
    mt, ft = [(2, 0x01), (2, 0x81), (5, 0x80), (5, 0x81)][k]
    if (mt, ft) == (5, 0x81):
        s = np.array(data.draw(st.lists(st.floats(-4000, 4000, width=32), min_size=3 * n, max_size=3 * n)),
                     dtype=np.float32).reshape(n, 3)
    else:
        s = np.array(data.draw(st.lists(st.integers(-32768, 32767), min_size=3 * n, max_size=3 * n))).reshape(n, 3)
    f = polar_pmd.decode_frame(polar_pmd.encode_frame(mt, ft, ts, s), config=polar_pmd.PmdConfig(52, 1.0, 52, 1.0))
    if mt == 2:  # ACC: wire unit mG, decoded g
        np.testing.assert_array_equal(f.accel_g, (s / 1000.0).astype(np.float32))
    else:
        np.testing.assert_array_equal(f.gyro_dps, s.astype(np.float32))
    assert int(f.t_device_ns[-1]) == ts


@given(ref=st.integers(1, 255), ts=st.integers(0, 2**32 - 1), n=st.integers(1, 8), data=st.data())
@fuzz_settings(100)
def test_movesense_roundtrip(ref, ts, n, data) -> None:
    floats = st.floats(-1e4, 1e4, width=32)
    acc = np.array(data.draw(st.lists(floats, min_size=3 * n, max_size=3 * n)), dtype=np.float32).reshape(n, 3)
    gyr = np.array(data.draw(st.lists(floats, min_size=3 * n, max_size=3 * n)), dtype=np.float32).reshape(n, 3)
    cfg = movesense.MovesenseConfig("IMU6", 52.0)
    f = movesense.decode_frame(movesense.encode_frame(ref, ts, accel_g=acc, gyro_dps=gyr, config=cfg), config=cfg)
    assert f.stream_ref == ref and f.t_device_s[0] == ts / 1000.0
    np.testing.assert_array_equal(f.gyro_dps, gyr)
    np.testing.assert_allclose(f.accel_g, acc, rtol=1e-6, atol=1e-6)


@given(counts=st.lists(st.integers(-32768, 32767), min_size=9, max_size=9))
@fuzz_settings(100)
def test_thingy_and_infinitime_roundtrip(counts) -> None:
    c = np.array(counts)
    f = thingy52.decode_frame(thingy52.encode_frame(c[:3] / 1024.0, c[3:6] / 32.0, c[6:] / 16.0))
    np.testing.assert_array_equal(f.accel_g[0], (c[:3] / 1024.0).astype(np.float32))
    np.testing.assert_array_equal(f.gyro_dps[0], (c[3:6] / 32.0).astype(np.float32))
    g = infinitime.decode_frame(infinitime.encode_frame(c[:3] / 1024.0))
    np.testing.assert_array_equal(g.accel_g[0], (c[:3] / 1024.0).astype(np.float32))


@given(mg=st.lists(st.integers(-16000, 16000), min_size=3, max_size=3), t=st.one_of(st.none(), st.integers(0, 10**9)))
@fuzz_settings(100)
def test_banglejs_roundtrip(mg, t) -> None:
    acc = np.array(mg) / 1000.0
    f = banglejs.decode_frame(banglejs.encode_frame(acc, None if t is None else t / 1000.0))
    np.testing.assert_array_equal(f.accel_g[0], acc.astype(np.float32))
    if t is not None:
        assert f.t_device_s[0] == float(f"{t / 1000.0:.3f}")


def test_movesense_float_payload_nan_is_passed_through() -> None:
    """Documents current behaviour: Movesense sends IEEE float32, so a NaN on the wire decodes to
    a NaN sample (no DecodeError). Downstream consumers must drop non-finite samples."""
    cfg = movesense.MovesenseConfig("Acc", 52.0)
    frame = movesense.encode_frame(1, 0, accel_g=np.array([[np.nan, 0.0, 1.0]]), config=cfg)
    f = movesense.decode_frame(frame, config=cfg)
    assert np.isnan(f.accel_g[0, 0])
