"""repsense open DIY profile v1: a BLE IMU stream for home-built bands (ESP32-S3, nRF52840).

The normative spec with byte tables and a reference firmware sketch is
``firmware_notes/diy-open-profile.md``; this module is its reference codec. Summary:

* Data frame (notify): 16-byte header (version, flags, u16 sequence, u64 device time of the
  first sample in microseconds, sample count, rate code, range codes, device FIFO overflow
  count), then interleaved int16 samples (ax ay az [gx gy gz]), then CRC-16/CCITT-FALSE.
* The sequence number detects loss, duplicates and reordering; the device time of the first
  sample detects gaps and clock drift (see :func:`check_continuity`); the CRC detects
  corruption; the overflow count reports samples the device itself dropped.
* Config characteristic (read, write with response, indicate): SET_CONFIG / START / STOP /
  GET_CONFIG, each answered by a 6-byte response with a status code.

Decoded ``t_device_s`` is seconds on the device's monotonic clock since its boot.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from repsense.protocols._frame import DecodedFrame, crc16_ccitt, decode_error, require_length

KIND = "diy"
NAME_PREFIXES: tuple[str, ...] = ("repsense-diy",)
SERVICE_UUID = "e44be100-d9ec-40db-9e7b-bf772be820a6"
DATA_UUID = "e44be101-d9ec-40db-9e7b-bf772be820a6"
CONFIG_UUID = "e44be102-d9ec-40db-9e7b-bf772be820a6"
MIN_MTU = 33  # 18 bytes of header + CRC and one accel+gyro sample need a 30-byte notification
RECOMMENDED_MTU = 247

VERSION = 1
HEADER_LEN = 16
CRC_LEN = 2
FLAG_GYRO = 0x01
RESERVED_FLAGS = 0xFE
SEQ_MODULO = 1 << 16

RATE_HZ: dict[int, float] = {1: 12.5, 2: 25.0, 3: 26.0, 4: 50.0, 5: 52.0, 6: 100.0, 7: 104.0, 8: 200.0, 9: 208.0,
                             10: 400.0, 11: 416.0, 12: 800.0, 13: 833.0, 14: 1600.0, 15: 1666.0}
ACCEL_RANGE_G: dict[int, int] = {0: 2, 1: 4, 2: 8, 3: 16}
GYRO_RANGE_DPS: dict[int, int] = {0: 125, 1: 250, 2: 500, 3: 1000, 4: 2000}


def rate_code(sample_rate_hz: float) -> int:
    """Code of a nominal rate in :data:`RATE_HZ`; ValueError for other rates."""
    for code, hz in RATE_HZ.items():
        if hz == sample_rate_hz:
            return code
    raise ValueError(f"rate {sample_rate_hz} Hz not in the profile; choose one of {sorted(RATE_HZ.values())}")


def _code(table: dict[int, int], value: int, what: str) -> int:
    for code, v in table.items():
        if v == value:
            return code
    raise ValueError(f"{what} {value} not in the profile; choose one of {sorted(table.values())}")


def max_samples_per_frame(mtu: int, *, gyro: bool = True) -> int:
    """Most samples one notification can carry at ATT MTU ``mtu`` (notification = MTU - 3)."""
    stride = 12 if gyro else 6
    return max(0, min(255, (mtu - 3 - HEADER_LEN - CRC_LEN) // stride))


# --------------------------------------------------------------------------- data frames


def decode_frame(data: bytes, *, config: None = None, state: None = None) -> DecodedFrame:
    """Decode one DIY data notification. Stateless: the frame states its own rate and ranges.

    Raises
    ------
    DecodeError
        Too short, CRC mismatch, unknown version, reserved flag bits, unknown rate or range
        code, sample count 0, or a length that does not match the sample count.
    """
    data = bytes(data)
    require_length(KIND, data, HEADER_LEN + CRC_LEN, "a DIY frame (16-byte header + CRC)")
    want_crc = int.from_bytes(data[-2:], "little")
    got_crc = crc16_ccitt(data[:-2])
    if want_crc != got_crc:
        raise decode_error(KIND, len(data) - 2, f"CRC mismatch: frame says 0x{want_crc:04X}, bytes give 0x{got_crc:04X}")
    if data[0] != VERSION:
        raise decode_error(KIND, 0, f"unknown version {data[0]} (this decoder reads version {VERSION})")
    flags = data[1]
    if flags & RESERVED_FLAGS:
        raise decode_error(KIND, 1, f"reserved flag bits set: 0x{flags & RESERVED_FLAGS:02X}")
    seq = int.from_bytes(data[2:4], "little")
    t0_us = int.from_bytes(data[4:12], "little")
    n = data[12]
    if data[13] not in RATE_HZ:
        raise decode_error(KIND, 13, f"unknown rate code {data[13]}")
    acc_code, gyr_code = data[14] & 0x0F, data[14] >> 4
    if acc_code not in ACCEL_RANGE_G:
        raise decode_error(KIND, 14, f"unknown accel range code {acc_code}")
    has_gyro = bool(flags & FLAG_GYRO)
    if has_gyro and gyr_code not in GYRO_RANGE_DPS:
        raise decode_error(KIND, 14, f"unknown gyro range code {gyr_code}")
    if not has_gyro and gyr_code:
        raise decode_error(KIND, 14, f"gyro range code {gyr_code} set without the gyro flag (reserved, must be 0)")
    if n == 0:
        raise decode_error(KIND, 12, "bad length: sample count 0")
    stride = 12 if has_gyro else 6
    want = HEADER_LEN + n * stride + CRC_LEN
    if len(data) != want:
        raise decode_error(KIND, 12, f"bad length: {n} samples x {stride} bytes need a {want}-byte frame, got {len(data)}")
    raw = np.frombuffer(data, dtype="<i2", count=n * stride // 2, offset=HEADER_LEN).reshape(n, stride // 2)
    accel = (raw[:, :3] * (ACCEL_RANGE_G[acc_code] / 32768.0)).astype(np.float32)
    gyro = (raw[:, 3:] * (GYRO_RANGE_DPS[gyr_code] / 32768.0)).astype(np.float32) if has_gyro else None
    rate = RATE_HZ[data[13]]
    t_s = t0_us / 1e6 + np.arange(n, dtype=np.float64) / rate
    return DecodedFrame(KIND, "imu6" if has_gyro else "acc", t_s, accel, gyro, seq=seq, sample_rate_hz=rate,
                        device_dropped=data[15])


def quantise(values: np.ndarray, full_scale: float) -> np.ndarray:
    """int16 counts for ``values`` at +-``full_scale`` (value = count * full_scale / 32768)."""
    return np.clip(np.rint(np.asarray(values, dtype=np.float64) * (32768.0 / full_scale)), -32768, 32767).astype(np.int16)


def encode_frame(seq: int, t0_us: int, accel_g: np.ndarray, gyro_dps: np.ndarray | None = None, *,
                 sample_rate_hz: float = 100.0, accel_range_g: int = 8, gyro_range_dps: int = 2000,
                 fifo_overflow: int = 0) -> bytes:
    """Build a DIY data frame (what a reference firmware sends)."""
    acc = np.atleast_2d(np.asarray(accel_g))
    n = acc.shape[0]
    if acc.shape[1:] != (3,) or not 1 <= n <= 255:
        raise ValueError(f"accel_g must be (1..255, 3), got {acc.shape}")
    cols = [quantise(acc, accel_range_g)]
    flags = 0
    gyr_code = 0
    if gyro_dps is not None:
        gyr = np.atleast_2d(np.asarray(gyro_dps))
        if gyr.shape != acc.shape:
            raise ValueError(f"gyro_dps shape {gyr.shape} != accel_g shape {acc.shape}")
        cols.append(quantise(gyr, gyro_range_dps))
        flags |= FLAG_GYRO
        gyr_code = _code(GYRO_RANGE_DPS, gyro_range_dps, "gyro range")
    acc_code = _code(ACCEL_RANGE_G, accel_range_g, "accel range")
    header = bytes((VERSION, flags)) + (int(seq) % SEQ_MODULO).to_bytes(2, "little") + int(t0_us).to_bytes(8, "little")
    header += bytes((n, rate_code(sample_rate_hz), acc_code | (gyr_code << 4), min(int(fifo_overflow), 255)))
    body = header + np.hstack(cols).astype("<i2").tobytes()
    return body + crc16_ccitt(body).to_bytes(2, "little")


# --------------------------------------------------------------------------- continuity


@dataclass(frozen=True, slots=True)
class Continuity:
    """How frame ``cur`` follows frame ``prev`` of the same stream.

    Attributes
    ----------
    lost_frames : int
        Frames missing between them (sequence gap - 1), 0 when consecutive.
    duplicate : bool
        Same sequence number and device time: a repeated notification.
    reordered : bool
        ``cur`` is older than ``prev`` (sequence went back by less than half the range).
    gap_s : float
        Device time between the expected and the actual first sample of ``cur``
        (negative: overlap); non-zero with ``lost_frames == 0`` means clock trouble.
    drift_ppm : float
        Device-clock rate error implied by the two frames, assuming the nominal sample rate
        and no loss (nan when frames were lost, duplicated or reordered).
    """

    lost_frames: int
    duplicate: bool
    reordered: bool
    gap_s: float
    drift_ppm: float


def check_continuity(prev: DecodedFrame, cur: DecodedFrame) -> Continuity:
    """Compare two consecutive-in-arrival DIY frames (see :class:`Continuity`)."""
    if prev.seq is None or cur.seq is None or prev.t_device_s is None or cur.t_device_s is None:
        raise ValueError("check_continuity needs DIY frames (with seq and device time)")
    step = (cur.seq - prev.seq) % SEQ_MODULO
    expected_t0 = prev.t_device_s[0] + prev.n_samples / float(prev.sample_rate_hz or np.nan)
    gap_s = float(cur.t_device_s[0] - expected_t0)
    duplicate = step == 0 and cur.t_device_s[0] == prev.t_device_s[0]
    reordered = step >= SEQ_MODULO // 2 or (step == 0 and not duplicate)
    lost = 0 if (duplicate or reordered) else step - 1
    if lost == 0 and not duplicate and not reordered:
        nominal = prev.n_samples / float(prev.sample_rate_hz or np.nan)
        drift = (float(cur.t_device_s[0] - prev.t_device_s[0]) / nominal - 1.0) * 1e6
    else:
        drift = float("nan")
    return Continuity(lost, duplicate, reordered, gap_s, drift)


# --------------------------------------------------------------------------- config characteristic


class ConfigOp(IntEnum):
    """Config characteristic op codes (byte 0 of a write)."""

    SET_CONFIG = 0x01
    START = 0x02
    STOP = 0x03
    GET_CONFIG = 0x04


class ConfigStatus(IntEnum):
    """Status byte of a config response."""

    OK = 0
    UNKNOWN_OPCODE = 1
    BAD_LENGTH = 2
    UNSUPPORTED_RATE = 3
    UNSUPPORTED_RANGE = 4
    BUSY = 5  # SET_CONFIG while streaming
    RESERVED_BITS = 6
    ALREADY_IN_STATE = 7


RESPONSE_BIT = 0x80
CONFIG_FLAG_GYRO = 0x01
CONFIG_FLAG_STREAMING = 0x80  # set in responses while streaming; must be 0 in SET_CONFIG


@dataclass(frozen=True, slots=True)
class DiyConfig:
    """Stream configuration: rate, ranges, gyro on/off, samples per frame (0 = fill the MTU)."""

    sample_rate_hz: float = 100.0
    accel_range_g: int = 8
    gyro_range_dps: int = 2000
    gyro: bool = True
    frame_samples: int = 0

    def to_bytes(self, *, streaming: bool = False) -> bytes:
        ranges = _code(ACCEL_RANGE_G, self.accel_range_g, "accel range") | (_code(GYRO_RANGE_DPS, self.gyro_range_dps, "gyro range") << 4)
        flags = (CONFIG_FLAG_GYRO if self.gyro else 0) | (CONFIG_FLAG_STREAMING if streaming else 0)
        if not 0 <= self.frame_samples <= 255:
            raise ValueError("frame_samples must be 0..255")
        return bytes((rate_code(self.sample_rate_hz), ranges, flags, self.frame_samples))


def _parse_config_body(body: bytes, base: int, *, allow_streaming_flag: bool) -> tuple[DiyConfig, bool]:
    if body[0] not in RATE_HZ:
        raise decode_error(KIND, base, f"unsupported rate code {body[0]}")
    acc, gyr = body[1] & 0x0F, body[1] >> 4
    if acc not in ACCEL_RANGE_G:
        raise decode_error(KIND, base + 1, f"unsupported accel range code {acc}")
    if gyr not in GYRO_RANGE_DPS:
        raise decode_error(KIND, base + 1, f"unsupported gyro range code {gyr}")
    reserved = 0x7E | (0 if allow_streaming_flag else CONFIG_FLAG_STREAMING)
    if body[2] & reserved:
        raise decode_error(KIND, base + 2, f"reserved config flag bits set: 0x{body[2] & reserved:02X}")
    cfg = DiyConfig(RATE_HZ[body[0]], ACCEL_RANGE_G[acc], GYRO_RANGE_DPS[gyr], bool(body[2] & CONFIG_FLAG_GYRO), body[3])
    return cfg, bool(body[2] & CONFIG_FLAG_STREAMING)


def encode_set_config(config: DiyConfig) -> bytes:
    """``01 <rate code> <acc | gyr << 4> <flags> <frame samples>``."""
    return bytes((ConfigOp.SET_CONFIG,)) + config.to_bytes()


def encode_start() -> bytes:
    """``02``."""
    return bytes((ConfigOp.START,))


def encode_stop() -> bytes:
    """``03``."""
    return bytes((ConfigOp.STOP,))


def encode_get_config() -> bytes:
    """``04``."""
    return bytes((ConfigOp.GET_CONFIG,))


@dataclass(frozen=True, slots=True)
class ConfigRequest:
    """A parsed config write (what the device sees)."""

    op: ConfigOp
    config: DiyConfig | None = None


def parse_config_request(data: bytes) -> ConfigRequest:
    """Parse a config write; the DecodeError ``status`` attribute holds the status to answer with."""
    data = bytes(data)

    def fail(offset: int, status: ConfigStatus, reason: str) -> Exception:
        err = decode_error(KIND, offset, reason)
        err.status = status  # type: ignore[attr-defined]
        return err

    if not data:
        raise fail(0, ConfigStatus.BAD_LENGTH, "too short: empty config write")
    try:
        op = ConfigOp(data[0])
    except ValueError:
        raise fail(0, ConfigStatus.UNKNOWN_OPCODE, f"unknown config op code 0x{data[0]:02X}") from None
    want = 5 if op == ConfigOp.SET_CONFIG else 1
    if len(data) != want:
        raise fail(min(len(data), want), ConfigStatus.BAD_LENGTH, f"bad length: {op.name} is {want} bytes, got {len(data)}")
    if op != ConfigOp.SET_CONFIG:
        return ConfigRequest(op)
    try:
        cfg, _ = _parse_config_body(data[1:], 1, allow_streaming_flag=False)
    except Exception as exc:
        off = getattr(exc, "offset", 1)
        status = {1: ConfigStatus.UNSUPPORTED_RATE, 2: ConfigStatus.UNSUPPORTED_RANGE}.get(off, ConfigStatus.RESERVED_BITS)
        raise fail(off, status, getattr(exc, "reason", str(exc))) from None
    return ConfigRequest(op, cfg)


@dataclass(frozen=True, slots=True)
class ConfigResponse:
    """``<0x80 | op> <status> <rate> <ranges> <flags> <frame samples>`` (indication or read value)."""

    op: ConfigOp | int  # an int only in an UNKNOWN_OPCODE reply
    status: ConfigStatus
    config: DiyConfig
    streaming: bool

    @property
    def ok(self) -> bool:
        return self.status == ConfigStatus.OK


def encode_config_response(op: int, status: int, config: DiyConfig, *, streaming: bool) -> bytes:
    """Response a device indicates after a config write (also the read value, with op GET_CONFIG)."""
    return bytes((RESPONSE_BIT | int(op), int(status))) + config.to_bytes(streaming=streaming)


def parse_config_response(data: bytes) -> ConfigResponse:
    """Parse a config response indication or a read of the config characteristic."""
    data = bytes(data)
    require_length(KIND, data, 6, "a config response")
    if len(data) != 6:
        raise decode_error(KIND, 6, f"bad length: config response is 6 bytes, got {len(data)}")
    if not data[0] & RESPONSE_BIT:
        raise decode_error(KIND, 0, f"not a config response: byte 0 = 0x{data[0]:02X} lacks bit 7")
    try:
        status = ConfigStatus(data[1])
    except ValueError:
        raise decode_error(KIND, 1, f"unknown config status {data[1]}") from None
    op: ConfigOp | int
    try:
        op = ConfigOp(data[0] & 0x7F)
    except ValueError:
        if status is not ConfigStatus.UNKNOWN_OPCODE:
            raise decode_error(KIND, 0, f"unknown op 0x{data[0] & 0x7F:02X} in config response") from None
        op = data[0] & 0x7F  # the band echoes the op it did not know, as the spec says
    cfg, streaming = _parse_config_body(data[2:], 2, allow_streaming_flag=True)
    return ConfigResponse(op, status, cfg, streaming)
