"""Nordic Thingy:52 motion service (TMS): raw accelerometer, gyro and compass notifications.

Facts and sources: ``firmware_notes/thingy52.md`` (protocol reference section 5a). One sample
per notification at ``motion_freq_hz`` (5-200 Hz, default 10), **no device timestamp**
(``t_device_s`` is None). Fixed-point: accel Q6.10 g, gyro Q11.5 deg/s, compass Q12.4 uT.
The MPU-9250 runs at its eMPL defaults, +-2 g and +-2000 deg/s.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

from repsense.protocols._frame import DecodedFrame, decode_error, require_length

KIND = "thingy52"
NAME_PREFIXES: tuple[str, ...] = ("Thingy",)
_BASE = "-9b35-4933-9b10-52ffa9740042"
SERVICE_UUID = "ef680400" + _BASE
CONFIG_UUID = "ef680401" + _BASE
TAP_UUID = "ef680402" + _BASE
ORIENTATION_UUID = "ef680403" + _BASE
QUATERNION_UUID = "ef680404" + _BASE
PEDOMETER_UUID = "ef680405" + _BASE
RAW_UUID = "ef680406" + _BASE
DATA_UUID = RAW_UUID
EULER_UUID = "ef680407" + _BASE
ROTATION_MATRIX_UUID = "ef680408" + _BASE
HEADING_UUID = "ef680409" + _BASE
GRAVITY_UUID = "ef68040a" + _BASE
MIN_MTU = 23  # BLE_TMS_MAX_DATA_LEN = ATT_MTU_default - 3 = 20 bytes
FRAME_LEN = 18
ACCEL_LSB_PER_G = 1024.0  # Q6.10
GYRO_LSB_PER_DPS = 32.0  # Q11.5
COMPASS_LSB_PER_UT = 16.0  # Q12.4
CONFIG_LEN = 9
_NINE_I16 = struct.Struct("<9h")
_SCALES = np.array([[1.0 / ACCEL_LSB_PER_G], [1.0 / GYRO_LSB_PER_DPS]], dtype=np.float32)


def decode_frame(data: bytes, *, config: None = None, state: None = None) -> DecodedFrame:
    """Decode one raw-data notification (accel, gyro; the compass is :func:`decode_compass_ut`).

    Raises
    ------
    DecodeError
        Length other than 18 bytes.
    """
    data = bytes(data)
    require_length(KIND, data, FRAME_LEN, "a raw motion sample (9 x i16)")
    if len(data) != FRAME_LEN:
        raise decode_error(KIND, FRAME_LEN, f"bad length: a raw motion sample is {FRAME_LEN} bytes, got {len(data)}")
    v = _NINE_I16.unpack(data)
    # power-of-two scales: float32 products are exact
    both = np.array((v[0:3], v[3:6]), dtype=np.float32) * _SCALES
    return DecodedFrame(KIND, "raw", None, both[0:1], both[1:2])


def decode_compass_ut(data: bytes) -> np.ndarray:
    """Compass (x, y, z) in uT from a raw-data notification (firmware swaps x/y, inverts one axis)."""
    decode_frame(data)
    return (np.frombuffer(bytes(data), dtype="<i2")[6:9] / COMPASS_LSB_PER_UT).astype(np.float32)


def _fixed(values: np.ndarray, lsb: float) -> np.ndarray:
    # The firmware shifts 16Q16 right (floor) after clamping to the representable range.
    return np.clip(np.floor(np.asarray(values, dtype=np.float64) * lsb), -32768, 32767).astype(np.int16)


def encode_frame(accel_g: np.ndarray, gyro_dps: np.ndarray, compass_ut: np.ndarray | None = None) -> bytes:
    """The 18-byte notification for one sample (values floored to the fixed-point grid, clamped)."""
    a = np.asarray(accel_g, dtype=np.float64).reshape(-1)
    g = np.asarray(gyro_dps, dtype=np.float64).reshape(-1)
    c = np.zeros(3) if compass_ut is None else np.asarray(compass_ut, dtype=np.float64).reshape(-1)
    if a.shape != (3,) or g.shape != (3,) or c.shape != (3,):
        raise ValueError("one sample of 3 axes each")
    out = np.concatenate([_fixed(a, ACCEL_LSB_PER_G), _fixed(g, GYRO_LSB_PER_DPS), _fixed(c, COMPASS_LSB_PER_UT)])
    return out.astype("<i2").tobytes()


@dataclass(frozen=True, slots=True)
class MotionConfig:
    """``ble_tms_config_t`` (9 bytes). Defaults are the firmware's: 1000/500/500/10/1."""

    pedo_interval_ms: int = 1000
    temp_interval_ms: int = 500
    compass_interval_ms: int = 500
    motion_freq_hz: int = 10
    wake_on_motion: bool = True

    LIMITS = {"pedo_interval_ms": (100, 5000), "temp_interval_ms": (100, 5000),
              "compass_interval_ms": (100, 1000), "motion_freq_hz": (5, 200)}

    def problems(self) -> list[tuple[int, str]]:
        """(byte offset, reason) for every field out of the firmware's accepted range."""
        out = []
        for off, (name, (lo, hi)) in zip((0, 2, 4, 6), self.LIMITS.items()):
            v = getattr(self, name)
            if not lo <= v <= hi:
                out.append((off, f"{name} {v} out of {lo}..{hi}"))
        return out


def encode_config(config: MotionConfig = MotionConfig()) -> bytes:
    """Bytes to write to the config characteristic; ValueError for out-of-range fields."""
    bad = config.problems()
    if bad:
        raise ValueError("; ".join(r for _, r in bad))
    return b"".join(int(v).to_bytes(2, "little") for v in (config.pedo_interval_ms, config.temp_interval_ms,
                                                          config.compass_interval_ms, config.motion_freq_hz)) + \
        bytes((1 if config.wake_on_motion else 0,))


def parse_config(data: bytes) -> MotionConfig:
    """Parse a config read or write; DecodeError on bad length, out-of-range fields, or wake flag > 1."""
    data = bytes(data)
    require_length(KIND, data, CONFIG_LEN, "a motion config")
    if len(data) != CONFIG_LEN:
        raise decode_error(KIND, CONFIG_LEN, f"bad length: motion config is {CONFIG_LEN} bytes, got {len(data)}")
    if data[8] > 1:
        raise decode_error(KIND, 8, f"wake_on_motion must be 0 or 1, got {data[8]}")
    vals = [int.from_bytes(data[i:i + 2], "little") for i in (0, 2, 4, 6)]
    cfg = MotionConfig(*vals, wake_on_motion=bool(data[8]))
    bad = cfg.problems()
    if bad:
        raise decode_error(KIND, bad[0][0], bad[0][1])
    return cfg
