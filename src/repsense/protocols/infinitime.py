"""InfiniTime (PineTime) motion service: one accelerometer sample per notification.

Facts and sources: ``firmware_notes/infinitime.md`` (protocol reference section 3). The watch
polls its BMA421/BMA425 every 100 ms and notifies only when (x, y, z) changed, so the rate is
at most 10 Hz, irregular, and there is **no device timestamp** (``t_device_s`` is None; use
host receive time). Values are "binary milli-g" since InfiniTime 1.15.0 (1 g = 1024).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

from repsense.protocols._frame import DecodedFrame, decode_error, require_length

KIND = "infinitime"
NAME_PREFIXES: tuple[str, ...] = ("InfiniTime",)
SERVICE_UUID = "00030000-78fc-48fe-8e23-433b3a1942d0"
STEP_COUNT_UUID = "00030001-78fc-48fe-8e23-433b3a1942d0"
MOTION_UUID = "00030002-78fc-48fe-8e23-433b3a1942d0"
DATA_UUID = MOTION_UUID
MIN_MTU = 23
FRAME_LEN = 6
POLL_PERIOD_S = 0.1
MAX_RATE_HZ = 10.0
_THREE_I16 = struct.Struct("<3h")


@dataclass(frozen=True, slots=True)
class InfiniTimeConfig:
    """Counts per g: 1024 since firmware 1.15.0. Before it, raw sensor counts (1024 per g only at +-2 g)."""

    lsb_per_g: float = 1024.0


def decode_frame(data: bytes, *, config: InfiniTimeConfig = InfiniTimeConfig(), state: None = None) -> DecodedFrame:
    """Decode one raw-motion notification ``x i16, y i16, z i16``.

    Raises
    ------
    DecodeError
        Length other than 6 bytes.
    """
    data = bytes(data)
    require_length(KIND, data, FRAME_LEN, "a motion sample (3 x i16)")
    if len(data) != FRAME_LEN:
        raise decode_error(KIND, FRAME_LEN, f"bad length: a motion sample is {FRAME_LEN} bytes, got {len(data)}")
    x, y, z = _THREE_I16.unpack(data)
    d = config.lsb_per_g
    return DecodedFrame(KIND, "motion", None, np.array(((x / d, y / d, z / d),), dtype=np.float32), None)


def quantise(accel_g: np.ndarray, lsb_per_g: float = 1024.0) -> np.ndarray:
    """int16 counts the watch reports for ``accel_g`` (the BMA421 saturates near +-2048 at +-2 g)."""
    return np.clip(np.rint(np.asarray(accel_g, dtype=np.float64) * lsb_per_g), -32768, 32767).astype(np.int16)


def encode_frame(accel_g: np.ndarray, *, config: InfiniTimeConfig = InfiniTimeConfig()) -> bytes:
    """The 6-byte notification for one sample."""
    a = np.asarray(accel_g, dtype=np.float64).reshape(-1)
    if a.shape != (3,):
        raise ValueError(f"one sample of 3 axes, got {np.shape(accel_g)}")
    return quantise(a, config.lsb_per_g).astype("<i2").tobytes()


def decode_step_count(data: bytes) -> int:
    """Step-count characteristic: ``u32`` steps today."""
    data = bytes(data)
    require_length(KIND, data, 4, "a step count (u32)")
    if len(data) != 4:
        raise decode_error(KIND, 4, f"bad length: step count is 4 bytes, got {len(data)}")
    return int.from_bytes(data, "little")


def encode_step_count(steps: int) -> bytes:
    """Step-count value an emulated watch serves."""
    return int(steps).to_bytes(4, "little")
