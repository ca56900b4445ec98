"""Polar Measurement Data (PMD) service: H10, OH1, Verity Sense, Polar 360.

Pure codec for the PMD control point (CP) and data characteristics. Facts and sources are in
``firmware_notes/polar-pmd.md`` (from the project's protocol reference, section 1).

Time base of decoded frames: ``t_device_ns`` is exact int64 nanoseconds since
2000-01-01T00:00:00 on the **device clock** (which may hold local time, not UTC);
``t_device_s`` is the same in float64 seconds. Add :data:`POLAR_EPOCH_UNIX_NS` for Unix ns.

Per-sample timestamps follow the Polar SDK (``PmdTimeStampUtils``): the frame timestamp is
the time of the last sample; with a previous frame of the same (measurement type, frame type)
the samples are spread evenly from it, otherwise they are spaced at the selected sample rate.
Rounding is half-to-even on the exact rational value (the SDK rounds doubles half-to-even;
both agree wherever a double is exact). Unlike the SDK, a timestamp that does not advance is
not an error: the frame falls back to the rate rule and is flagged ``clock_jump``.

Accelerometer output follows the SDK: integer mG (truncated after FACTOR where FACTOR != 1),
divided by 1000 to give g. Gyro output is deg/s as float32.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Mapping, Sequence

import numpy as np

from repsense.protocols._frame import DecodedFrame, decode_error, require_length

KIND = "polar_pmd"
NAME_PREFIXES: tuple[str, ...] = ("Polar H10", "Polar OH1", "Polar Sense", "Polar 360", "Polar ")
SERVICE_UUID = "fb005c80-02e7-f387-1cad-8acd2d8df0c8"
CONTROL_POINT_UUID = "fb005c81-02e7-f387-1cad-8acd2d8df0c8"
DATA_UUID = "fb005c82-02e7-f387-1cad-8acd2d8df0c8"
MIN_MTU = 70  # H10; OH1 needs 140; the SDK uses 232 by default.
DEFAULT_MTU = 232

POLAR_EPOCH_UNIX_NS = 946_684_800_000_000_000
"""Nanoseconds from the Unix epoch to 2000-01-01T00:00:00Z (the PMD timestamp epoch)."""

HEADER_LEN = 10
RESPONSE_CODE = 0xF0


class MeasurementType(IntEnum):
    """PMD measurement type ids (bits 0-5 of the type byte)."""

    ECG = 0
    PPG = 1
    ACC = 2
    PPI = 3
    GYRO = 5
    MAGNETOMETER = 6
    SKIN_TEMP = 7
    SDK_MODE = 9
    LOCATION = 10
    PRESSURE = 11
    TEMPERATURE = 12
    OFFLINE_RECORDING = 13
    OFFLINE_HR = 14


class RecordingType(IntEnum):
    """Bit 7 of the type byte in CP requests."""

    ONLINE = 0
    OFFLINE = 1


class OpCode(IntEnum):
    """Control point request op codes."""

    GET_MEASUREMENT_SETTINGS = 0x01
    REQUEST_MEASUREMENT_START = 0x02
    STOP_MEASUREMENT = 0x03
    GET_SDK_MODE_MEASUREMENT_SETTINGS = 0x04
    GET_MEASUREMENT_STATUS = 0x05
    GET_SDK_MODE_STATUS = 0x06
    GET_OFFLINE_RECORDING_TRIGGER_STATUS = 0x07
    SET_OFFLINE_RECORDING_TRIGGER_MODE = 0x08
    SET_OFFLINE_RECORDING_TRIGGER_SETTINGS = 0x09


class PmdError(IntEnum):
    """Status / error codes in CP responses (byte 3)."""

    SUCCESS = 0
    INVALID_OP_CODE = 1
    INVALID_MEASUREMENT_TYPE = 2
    NOT_SUPPORTED = 3
    INVALID_LENGTH = 4
    INVALID_PARAMETER = 5
    ALREADY_IN_STATE = 6
    INVALID_RESOLUTION = 7
    INVALID_SAMPLE_RATE = 8
    INVALID_RANGE = 9
    INVALID_MTU = 10
    INVALID_NUMBER_OF_CHANNELS = 11
    INVALID_STATE = 12
    DEVICE_IN_CHARGER = 13
    DISK_FULL = 14


class SettingType(IntEnum):
    """Setting ids of the settings TLV encoding."""

    SAMPLE_RATE = 0
    RESOLUTION = 1
    RANGE = 2
    RANGE_MILLIUNIT = 3
    CHANNELS = 4
    FACTOR = 5
    SECURITY = 6


_SETTING_WIDTH = {
    SettingType.SAMPLE_RATE: 2,
    SettingType.RESOLUTION: 2,
    SettingType.RANGE: 2,
    SettingType.RANGE_MILLIUNIT: 4,
    SettingType.CHANNELS: 1,
    SettingType.FACTOR: 4,
    SettingType.SECURITY: 16,
}


class FrameType(IntEnum):
    """Data frame type byte (offset 9): bit 7 = delta compressed, bits 0-6 = sub-type."""

    RAW_0 = 0x00
    RAW_1 = 0x01
    RAW_2 = 0x02
    DELTA_0 = 0x80
    DELTA_1 = 0x81


# (measurement type, frame type) -> (name, channels, resolution bits) for the frames we decode.
_FRAME_LAYOUT: dict[tuple[int, int], tuple[str, int, int]] = {
    (MeasurementType.ACC, 0x00): ("acc_raw_0", 3, 8),
    (MeasurementType.ACC, 0x01): ("acc_raw_1", 3, 16),
    (MeasurementType.ACC, 0x02): ("acc_raw_2", 3, 24),
    (MeasurementType.ACC, 0x80): ("acc_delta_0", 3, 16),
    (MeasurementType.ACC, 0x81): ("acc_delta_1", 3, 16),
    (MeasurementType.GYRO, 0x80): ("gyro_delta_0", 3, 16),
    (MeasurementType.GYRO, 0x81): ("gyro_delta_1", 3, 32),
}

_FEATURE_BITS_1 = {
    MeasurementType.ECG: 0,
    MeasurementType.PPG: 1,
    MeasurementType.ACC: 2,
    MeasurementType.PPI: 3,
    MeasurementType.GYRO: 5,
    MeasurementType.MAGNETOMETER: 6,
    MeasurementType.SKIN_TEMP: 7,
}
_FEATURE_BITS_2 = {
    MeasurementType.SDK_MODE: 1,
    MeasurementType.LOCATION: 2,
    MeasurementType.PRESSURE: 3,
    MeasurementType.TEMPERATURE: 4,
    MeasurementType.OFFLINE_RECORDING: 5,
    MeasurementType.OFFLINE_HR: 6,
}
FEATURE_READ_MARKER = 0x0F


# --------------------------------------------------------------------------- config and state


@dataclass(frozen=True, slots=True)
class PmdConfig:
    """What the decoder needs from the START exchange.

    Attributes
    ----------
    acc_sample_rate_hz, gyro_sample_rate_hz : int
        Rate selected at START (used to space samples of the first frame).
    acc_factor, gyro_factor : float
        FACTOR from the START response (1.0 when the response had none).
    """

    acc_sample_rate_hz: int = 52
    acc_factor: float = 1.0
    gyro_sample_rate_hz: int = 52
    gyro_factor: float = 1.0

    def __post_init__(self) -> None:
        for name in ("acc_sample_rate_hz", "gyro_sample_rate_hz"):
            v = getattr(self, name)
            if int(v) != v or not 0 <= int(v) <= 0xFFFF:
                raise ValueError(f"{name} must be a whole number of Hz in 0..65535 (PMD sends u16), got {v!r}")
            object.__setattr__(self, name, int(v))

    def rate_for(self, mtype: int) -> int:
        return self.gyro_sample_rate_hz if mtype == MeasurementType.GYRO else self.acc_sample_rate_hz

    def factor_for(self, mtype: int) -> float:
        return self.gyro_factor if mtype == MeasurementType.GYRO else self.acc_factor


@dataclass(frozen=True, slots=True)
class PmdState:
    """Timestamp of the previous frame per (measurement type, frame type). Immutable.

    The SDK clears this when a stream stops; start a new stream with ``PmdState()``.
    """

    previous_ns: tuple[tuple[int, int, int], ...] = ()

    def previous(self, mtype: int, ftype: int) -> int | None:
        for m, f, t in self.previous_ns:
            if m == mtype and f == ftype:
                return t
        return None

    def updated(self, mtype: int, ftype: int, t_ns: int) -> PmdState:
        rest = tuple(e for e in self.previous_ns if not (e[0] == mtype and e[1] == ftype))
        return PmdState(rest + ((mtype, ftype, t_ns),))


# --------------------------------------------------------------------------- timestamps


def _round_half_even_div(num: int, den: int) -> int:
    """round(num / den) half-to-even, exact, for den > 0."""
    q, r = divmod(num, den)
    if 2 * r > den or (2 * r == den and q % 2 == 1):
        q += 1
    return q


def sample_times_ns(frame_ns: int, previous_ns: int | None, n: int, sample_rate_hz: int) -> list[int]:
    """Per-sample timestamps of a frame of ``n`` samples (Polar ``PmdTimeStampUtils``).

    Parameters
    ----------
    frame_ns : int
        Frame timestamp (time of the last sample), ns since 2000-01-01 device clock.
    previous_ns : int or None
        Timestamp of the previous frame of the same type, None on the first frame.
    n : int
        Number of samples, >= 1.
    sample_rate_hz : int
        Rate selected at START, used when ``previous_ns`` is None.

    Returns
    -------
    list of int
        ``n`` timestamps, the last equal to ``frame_ns``.

    Raises
    ------
    ValueError
        No previous timestamp and no sample rate, or the first sample would fall before the epoch.
    """
    if n < 1:
        raise ValueError("a frame has at least one sample")
    if previous_ns is not None and previous_ns > 0 and frame_ns > previous_ns:
        d = frame_ns - previous_ns
        return [previous_ns + _round_half_even_div(d * (i + 1), n) for i in range(n - 1)] + [frame_ns]
    if sample_rate_hz <= 0:
        raise ValueError("no previous frame timestamp and sample rate 0: cannot place samples")
    # t[i] = T - (n-1-i) * 1e9 / rate, exact rational, half-to-even.
    out = []
    for i in range(n - 1):
        num = frame_ns * sample_rate_hz - (n - 1 - i) * 1_000_000_000
        if num < 0:
            raise ValueError(f"first sample time would be negative (frame {frame_ns} ns, {n} samples at {sample_rate_hz} Hz)")
        out.append(_round_half_even_div(num, sample_rate_hz))
    out.append(frame_ns)
    return out


def _sample_times_array(frame_ns: int, previous_ns: int | None, n: int, rate: int) -> np.ndarray:
    # Vectorised int64 path when no intermediate can overflow; exact python ints otherwise.
    if previous_ns is not None and previous_ns > 0 and frame_ns > previous_ns:
        d = frame_ns - previous_ns
        if d * n < (1 << 62):
            k = np.arange(1, n, dtype=np.int64) * d
            q, r = np.divmod(k, n)
            q += (2 * r > n) | ((2 * r == n) & (q % 2 == 1))
            out = np.empty(n, dtype=np.int64)
            out[:-1] = previous_ns + q
            out[-1] = frame_ns
            return out
    elif rate > 0 and frame_ns < (1 << 62) // max(rate, 1) and n * 1_000_000_000 < (1 << 62):
        k = np.arange(n - 1, 0, -1, dtype=np.int64) * 1_000_000_000
        num = frame_ns * rate - k
        if n > 1 and num[0] < 0:
            raise ValueError(f"first sample time would be negative (frame {frame_ns} ns, {n} samples at {rate} Hz)")
        q, r = np.divmod(num, rate)
        q += (2 * r > rate) | ((2 * r == rate) & (q % 2 == 1))
        out = np.empty(n, dtype=np.int64)
        out[:-1] = q
        out[-1] = frame_ns
        return out
    return np.array(sample_times_ns(frame_ns, previous_ns, n, rate), dtype=np.uint64).astype(np.int64)


# --------------------------------------------------------------------------- delta codec


def _signed_from_le(raw: np.ndarray, nbytes: int) -> np.ndarray:
    """(m, nbytes) uint8 little-endian -> int64 sign-extended from 8*nbytes bits."""
    val = np.zeros(raw.shape[0], dtype=np.int64)
    for b in range(nbytes):
        val |= raw[:, b].astype(np.int64) << (8 * b)
    sign = np.int64(1) << (8 * nbytes - 1)
    return (val ^ sign) - sign


def _unpack_deltas(payload: np.ndarray, width: int, n_values: int) -> np.ndarray:
    bits = np.unpackbits(payload, bitorder="little")[: width * n_values].reshape(n_values, width)
    weights = np.left_shift(np.int64(1), np.arange(width, dtype=np.int64))
    vals = bits.astype(np.int64) @ weights
    sign = np.int64(1) << (width - 1)
    return (vals ^ sign) - sign


MAX_DELTA_BIT_WIDTH = 32


def decode_delta_content(content: bytes, channels: int, resolution: int, *, base_offset: int = HEADER_LEN) -> np.ndarray:
    """Decode delta-compressed frame content into int64 samples (n, channels).

    ``base_offset`` is the offset of ``content`` in the frame, used in error messages.
    """
    ref_bytes = (resolution + 7) // 8
    ref_len = channels * ref_bytes
    buf = np.frombuffer(content, dtype=np.uint8)
    if len(buf) < ref_len:
        raise decode_error(KIND, base_offset + len(buf), f"too short: delta reference sample needs {ref_len} bytes, got {len(buf)}")
    parts = [_signed_from_le(buf[:ref_len].reshape(channels, ref_bytes), ref_bytes).reshape(1, channels)]
    pos = ref_len
    end = len(buf)
    while pos < end:
        if pos + 2 > end:
            raise decode_error(KIND, base_offset + pos, "truncated delta block header (1 of 2 bytes)")
        width, count = int(buf[pos]), int(buf[pos + 1])
        if width == 0 or width > MAX_DELTA_BIT_WIDTH:
            raise decode_error(KIND, base_offset + pos, f"reserved delta bit width {width} (valid 1..{MAX_DELTA_BIT_WIDTH})")
        if count == 0:
            raise decode_error(KIND, base_offset + pos + 1, "empty delta block (sample count 0)")
        n_values = count * channels
        nbytes = (width * n_values + 7) // 8
        if pos + 2 + nbytes > end:
            raise decode_error(KIND, base_offset + pos + 2,
                               f"bad length: delta block of {count} x {width}-bit samples needs {nbytes} bytes, {end - pos - 2} left")
        parts.append(_unpack_deltas(buf[pos + 2: pos + 2 + nbytes], width, n_values).reshape(count, channels))
        pos += 2 + nbytes
    return np.cumsum(np.concatenate(parts, axis=0), axis=0)


def _bits_needed(values: np.ndarray) -> int:
    if values.size == 0:
        return 1
    hi = int(values.max())
    lo = int(values.min())
    need = max(hi.bit_length() + 1 if hi >= 0 else 1, (-lo - 1).bit_length() + 1 if lo < 0 else 1)
    return max(need, 1)


def _pack_deltas(values: np.ndarray, width: int) -> bytes:
    v = values.astype(np.int64) & ((np.int64(1) << width) - 1)
    bits = ((v[:, None] >> np.arange(width, dtype=np.int64)) & 1).astype(np.uint8).ravel()
    return np.packbits(bits, bitorder="little").tobytes()


def encode_delta_content(samples: np.ndarray, resolution: int, *, max_block_samples: int = 255,
                         wrap_bits: int | None = None) -> bytes:
    """Delta-compress integer samples (n, channels); one bit width per block, as narrow as fits.

    ``wrap_bits`` (32 for GYRO 0x81) makes deltas modular, so sums that overflow the
    channel width reproduce the original bit patterns.
    """
    s = np.asarray(samples, dtype=np.int64)
    if s.ndim != 2 or s.shape[0] < 1:
        raise ValueError(f"samples must be (n >= 1, channels), got {s.shape}")
    if not 1 <= max_block_samples <= 255:
        raise ValueError("max_block_samples must be in 1..255")
    ref_bytes = (resolution + 7) // 8
    lo, hi = -(1 << (8 * ref_bytes - 1)), (1 << (8 * ref_bytes - 1)) - 1
    if s[0].min() < lo or s[0].max() > hi:
        raise ValueError(f"reference sample {s[0].tolist()} does not fit {8 * ref_bytes} bits")
    out = bytearray()
    for v in s[0]:
        out += int(v).to_bytes(ref_bytes, "little", signed=True)
    d = np.diff(s, axis=0)
    if wrap_bits is not None:
        m = np.int64(1) << wrap_bits
        d = ((d + (m >> 1)) % m) - (m >> 1)
    for start in range(0, d.shape[0], max_block_samples):
        block = d[start:start + max_block_samples]
        width = _bits_needed(block)
        if width > MAX_DELTA_BIT_WIDTH:
            raise ValueError(f"delta needs {width} bits, more than {MAX_DELTA_BIT_WIDTH}")
        out += bytes((width, block.shape[0]))
        out += _pack_deltas(block.ravel(), width)
    return bytes(out)


# --------------------------------------------------------------------------- data frames


def _acc_mg(samples: np.ndarray, frame_type: int, factor: float) -> np.ndarray:
    """Integer mG as the Polar SDK computes it (float32 arithmetic, truncation toward zero)."""
    f = np.float32(factor)
    if frame_type == 0x80:
        return np.trunc(samples.astype(np.float32) * f * np.float32(1000.0)).astype(np.int64)
    if factor == 1.0:
        return samples
    return np.trunc(samples.astype(np.float32) * f).astype(np.int64)


def decode_frame(data: bytes, *, config: PmdConfig | None = PmdConfig(), state: PmdState | None = None) -> DecodedFrame:
    """Decode one PMD data notification (ACC or GYRO).

    Parameters
    ----------
    data : bytes
        The notification value from the PMD data characteristic.
    config : PmdConfig
        Sample rates and factors from the START exchange.
    state : PmdState or None
        State returned in the previous frame's ``DecodedFrame.state`` (None at stream start).

    Returns
    -------
    DecodedFrame
        ``accel_g`` or ``gyro_dps``, ``t_device_ns`` / ``t_device_s`` per sample, and the
        next ``state``.

    Raises
    ------
    DecodeError
        Too short, unsupported measurement or frame type, bad content length, bad delta block.
    """
    data = bytes(data)
    if config is None:
        # the factors and rates come from the START exchange: without them values would be wrong
        raise decode_error(KIND, 0, "data frame before the stream settings are known (no START response yet)")
    require_length(KIND, data, HEADER_LEN + 1, "a PMD data frame (10-byte header + content)")
    mtype = data[0] & 0x3F
    frame_ns = int.from_bytes(data[1:9], "little")
    ftype = data[9]
    if frame_ns >= (1 << 63):
        raise decode_error(KIND, 1, f"timestamp {frame_ns} ns is beyond int64 (year > 2292): corrupt frame")
    if mtype not in (MeasurementType.ACC, MeasurementType.GYRO):
        try:
            name = MeasurementType(mtype).name
        except ValueError:
            name = f"unknown id {mtype}"
        raise decode_error(KIND, 0, f"unsupported measurement type {name} (repsense decodes ACC and GYRO)")
    layout = _FRAME_LAYOUT.get((mtype, ftype))
    if layout is None:
        raise decode_error(KIND, 9, f"unknown frame type 0x{ftype:02X} for {MeasurementType(mtype).name}")
    name, channels, resolution = layout
    content = data[HEADER_LEN:]
    if ftype & 0x80:
        samples = decode_delta_content(content, channels, resolution)
    else:
        step = channels * (resolution // 8)
        if len(content) % step:
            n_full = len(content) // step
            raise decode_error(KIND, HEADER_LEN + n_full * step,
                               f"bad length: {len(content)} content bytes is not a multiple of {step} ({channels} x i{resolution})")
        nb = resolution // 8
        if nb in (1, 2):
            samples = np.frombuffer(content, dtype="<i1" if nb == 1 else "<i2").astype(np.int64).reshape(-1, channels)
        else:
            raw = np.frombuffer(content, dtype=np.uint8).reshape(-1, nb)
            samples = _signed_from_le(raw, nb).reshape(-1, channels)
    n = samples.shape[0]
    factor = config.factor_for(mtype)
    accel = gyro = None
    if mtype == MeasurementType.ACC:
        accel = (_acc_mg(samples, ftype, factor) / 1000.0).astype(np.float32)
    elif ftype == 0x81:
        bits = (samples & 0xFFFFFFFF).astype(np.uint32)
        gyro = bits.view(np.float32) * np.float32(factor)
    else:
        gyro = samples.astype(np.float32) * np.float32(factor)
    state = state if state is not None else PmdState()
    prev = state.previous(mtype, ftype)
    jump = prev is not None and frame_ns <= prev
    try:
        t_ns = _sample_times_array(frame_ns, None if jump else prev, n, config.rate_for(mtype))
    except ValueError as exc:
        raise decode_error(KIND, 1, f"timestamp: {exc}") from None
    return DecodedFrame(
        kind=KIND,
        frame_type=name,
        t_device_s=t_ns.astype(np.float64) / 1e9,
        accel_g=accel,
        gyro_dps=gyro,
        t_device_ns=t_ns,
        state=state.updated(mtype, ftype, frame_ns),
        clock_jump=bool(jump),
    )


def encode_frame(measurement_type: int, frame_type: int, timestamp_ns: int, samples: np.ndarray, *,
                 max_block_samples: int = 255) -> bytes:
    """Build a PMD data frame from device-domain samples.

    Parameters
    ----------
    measurement_type : int
        ``MeasurementType.ACC`` or ``MeasurementType.GYRO``.
    frame_type : int
        One of the frame types the decoder supports for that measurement.
    timestamp_ns : int
        Time of the last sample, ns since 2000-01-01 (device clock).
    samples : array (n, 3)
        Integers (ACC mG or raw counts; GYRO 0x80 counts), or float32 deg/s for GYRO 0x81.
    max_block_samples : int
        Largest delta block (<= 255); shorter blocks adapt the bit width more often.
    """
    key = (int(measurement_type), int(frame_type))
    if key not in _FRAME_LAYOUT:
        raise ValueError(f"unsupported (measurement type, frame type) {key}")
    if not 0 <= timestamp_ns < (1 << 64):
        raise ValueError("timestamp_ns must fit u64")
    _, channels, resolution = _FRAME_LAYOUT[key]
    header = bytes((key[0],)) + int(timestamp_ns).to_bytes(8, "little") + bytes((key[1],))
    arr = np.asarray(samples)
    if arr.ndim != 2 or arr.shape[1] != channels or arr.shape[0] < 1:
        raise ValueError(f"samples must be (n >= 1, {channels}), got {arr.shape}")
    if key == (MeasurementType.GYRO, 0x81):
        ints = np.ascontiguousarray(arr, dtype=np.float32).view(np.int32).astype(np.int64)
        return header + encode_delta_content(ints, 32, max_block_samples=max_block_samples, wrap_bits=32)
    if not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"samples for frame type 0x{frame_type:02X} must be integers, got {arr.dtype}")
    ints = arr.astype(np.int64)
    if frame_type & 0x80:
        return header + encode_delta_content(ints, resolution, max_block_samples=max_block_samples)
    nb = resolution // 8
    lo, hi = -(1 << (resolution - 1)), (1 << (resolution - 1)) - 1
    if ints.min() < lo or ints.max() > hi:
        raise ValueError(f"samples do not fit i{resolution}")
    u = ints.ravel() & ((1 << resolution) - 1)
    raw = ((u[:, None] >> (8 * np.arange(nb))) & 0xFF).astype(np.uint8)
    return header + raw.tobytes()


def quantise_acc(accel_g: np.ndarray, frame_type: int, factor: float = 1.0) -> np.ndarray:
    """Device-domain int64 samples that a Polar device would send for ``accel_g``.

    For raw and ``0x81`` frames the wire unit is mG (divided by FACTOR when FACTOR != 1); for
    ``0x80`` the wire value times FACTOR is g.
    """
    g = np.asarray(accel_g, dtype=np.float64)
    if frame_type == 0x80:
        return np.rint(g / factor).astype(np.int64)
    return np.rint(g * 1000.0 / factor).astype(np.int64)


def quantise_gyro(gyro_dps: np.ndarray, frame_type: int, factor: float = 1.0) -> np.ndarray:
    """Device-domain samples for ``gyro_dps``: int64 counts for ``0x80``, float32 for ``0x81``."""
    d = np.asarray(gyro_dps, dtype=np.float64) / factor
    if frame_type == 0x81:
        return d.astype(np.float32)
    return np.rint(d).astype(np.int64)


# --------------------------------------------------------------------------- settings TLV


def encode_settings(settings: Mapping[int, Sequence[float]]) -> bytes:
    """Serialise settings as ``[type u8][count u8][count x value]`` in the given order."""
    out = bytearray()
    for stype, values in settings.items():
        st = SettingType(stype)
        vals = list(values)
        if not 1 <= len(vals) <= 255:
            raise ValueError(f"{st.name}: 1..255 values, got {len(vals)}")
        out += bytes((st, len(vals)))
        width = _SETTING_WIDTH[st]
        for v in vals:
            if st == SettingType.FACTOR:
                out += np.float32(v).tobytes()
            elif st == SettingType.SECURITY:
                b = bytes(v) if not isinstance(v, int) else int(v).to_bytes(16, "little")
                if len(b) != 16:
                    raise ValueError("SECURITY values are 16 bytes")
                out += b
            elif st == SettingType.RANGE_MILLIUNIT:  # signed Int in the SDK
                iv = int(v)
                if iv != v or not -(1 << 31) <= iv < (1 << 31):
                    raise ValueError(f"{st.name} value {v!r} does not fit i32")
                out += iv.to_bytes(4, "little", signed=True)
            else:
                iv = int(v)
                if iv != v or not 0 <= iv < (1 << (8 * width)):
                    raise ValueError(f"{st.name} value {v!r} does not fit u{8 * width}")
                out += iv.to_bytes(width, "little")
    return bytes(out)


def encode_selected_settings(selected: Mapping[int, float]) -> bytes:
    """One value per setting, FACTOR dropped (the SDK's ``serializeSelected``: FACTOR is never sent)."""
    return encode_settings({k: [v] for k, v in selected.items() if SettingType(k) != SettingType.FACTOR})


def parse_settings(data: bytes, *, base_offset: int = 0) -> dict[SettingType, tuple]:
    """Parse a settings TLV block (GET response parameters or START request payload)."""
    data = bytes(data)
    out: dict[SettingType, tuple] = {}
    pos = 0
    while pos < len(data):
        if pos + 2 > len(data):
            raise decode_error(KIND, base_offset + pos, "truncated setting header (type, count)")
        try:
            st = SettingType(data[pos])
        except ValueError:
            raise decode_error(KIND, base_offset + pos, f"unknown setting type {data[pos]}") from None
        count = data[pos + 1]
        width = _SETTING_WIDTH[st]
        need = count * width
        if pos + 2 + need > len(data):
            raise decode_error(KIND, base_offset + pos + 2,
                               f"bad length: {st.name} with {count} values needs {need} bytes, {len(data) - pos - 2} left")
        body = data[pos + 2: pos + 2 + need]
        if st == SettingType.FACTOR:
            vals: tuple = tuple(float(x) for x in np.frombuffer(body, dtype="<f4"))
        elif st == SettingType.SECURITY:
            vals = tuple(body[i:i + 16] for i in range(0, need, 16))
        elif st == SettingType.RANGE_MILLIUNIT:
            vals = tuple(int.from_bytes(body[i:i + 4], "little", signed=True) for i in range(0, need, 4))
        else:
            vals = tuple(int.from_bytes(body[i:i + width], "little") for i in range(0, need, width))
        out[st] = vals
        pos += 2 + need
    return out


# --------------------------------------------------------------------------- control point


def _type_byte(mtype: int, recording: int = RecordingType.ONLINE) -> int:
    if not 0 <= int(mtype) <= 0x3F:
        raise ValueError(f"measurement type {mtype} out of 0..63")
    return (int(recording) << 7) | int(mtype)


def encode_get_settings(mtype: int, recording: int = RecordingType.ONLINE) -> bytes:
    """``01 <type>``: ask which settings a measurement supports."""
    return bytes((OpCode.GET_MEASUREMENT_SETTINGS, _type_byte(mtype, recording)))


def encode_get_sdk_mode_settings(mtype: int) -> bytes:
    """``04 <type>``: full settings, usable in any mode."""
    return bytes((OpCode.GET_SDK_MODE_MEASUREMENT_SETTINGS, _type_byte(mtype)))


def encode_start(mtype: int, *, sample_rate_hz: int, resolution_bits: int | None = 16, range_: int | None = None,
                 channels: int | None = None, recording: int = RecordingType.ONLINE) -> bytes:
    """``02 <type> <settings TLV>`` with count 1 per setting, in SDK order (rate, res, range, channels).

    FACTOR is never sent by the client. CHANNELS is 1 byte (Verity rejects 2).
    """
    selected: dict[int, float] = {SettingType.SAMPLE_RATE: sample_rate_hz}
    if resolution_bits is not None:
        selected[SettingType.RESOLUTION] = resolution_bits
    if range_ is not None:
        selected[SettingType.RANGE] = range_
    if channels is not None:
        selected[SettingType.CHANNELS] = channels
    return bytes((OpCode.REQUEST_MEASUREMENT_START, _type_byte(mtype, recording))) + encode_selected_settings(selected)


def encode_stop(mtype: int) -> bytes:
    """``03 <type>``."""
    return bytes((OpCode.STOP_MEASUREMENT, _type_byte(mtype)))


def encode_sdk_mode(enable: bool) -> bytes:
    """``02 09`` enables SDK mode (shuts sensors down, unlocks rates/ranges); ``03 09`` disables it."""
    op = OpCode.REQUEST_MEASUREMENT_START if enable else OpCode.STOP_MEASUREMENT
    return bytes((op, MeasurementType.SDK_MODE))


def encode_get_measurement_status() -> bytes:
    """``05``."""
    return bytes((OpCode.GET_MEASUREMENT_STATUS,))


def encode_get_sdk_mode_status() -> bytes:
    """``06``."""
    return bytes((OpCode.GET_SDK_MODE_STATUS,))


@dataclass(frozen=True, slots=True)
class ControlPointRequest:
    """A parsed CP write (what the device sees)."""

    op_code: OpCode
    measurement_type: int | None
    recording_type: RecordingType | None
    settings: dict = field(default_factory=dict)
    params: bytes = b""


def parse_cp_request(data: bytes) -> ControlPointRequest:
    """Parse a CP write as a device would; raises DecodeError on malformed requests.

    The error's ``status`` attribute is the :class:`PmdError` a device answers with: an unknown
    op code is ``INVALID_OP_CODE``, a missing type byte ``INVALID_LENGTH``, a bad settings TLV
    ``INVALID_PARAMETER``. Whether the measurement type or the settings are supported is the
    device's decision (``INVALID_MEASUREMENT_TYPE``, ``INVALID_SAMPLE_RATE``, ...).
    """
    data = bytes(data)

    def fail(offset: int, status: PmdError, reason: str) -> Exception:
        err = decode_error(KIND, offset, reason)
        err.status = status  # type: ignore[attr-defined]
        return err

    if not data:
        raise fail(0, PmdError.INVALID_LENGTH, "too short: empty CP request")
    try:
        op = OpCode(data[0])
    except ValueError:
        raise fail(0, PmdError.INVALID_OP_CODE, f"invalid op code 0x{data[0]:02X}") from None
    if op in (OpCode.GET_MEASUREMENT_STATUS, OpCode.GET_SDK_MODE_STATUS, OpCode.GET_OFFLINE_RECORDING_TRIGGER_STATUS):
        return ControlPointRequest(op, None, None, {}, data[1:])
    if len(data) < 2:
        raise fail(1, PmdError.INVALID_LENGTH, f"too short: {op.name} needs op code + type byte")
    mtype = data[1] & 0x3F
    rec = RecordingType(data[1] >> 7)
    settings: dict = {}
    if op == OpCode.REQUEST_MEASUREMENT_START:
        try:
            settings = parse_settings(data[2:], base_offset=2)
        except Exception as exc:
            raise fail(getattr(exc, "offset", 2), PmdError.INVALID_PARAMETER, getattr(exc, "reason", str(exc))) from None
    return ControlPointRequest(op, mtype, rec, settings, data[2:])


@dataclass(frozen=True, slots=True)
class ControlPointResponse:
    """A parsed CP indication ``F0 <op> <type> <status> <more> <params...>``."""

    op_code: int
    measurement_type: int
    status: PmdError
    more: bool
    parameters: bytes

    @property
    def ok(self) -> bool:
        return self.status == PmdError.SUCCESS

    @property
    def settings(self) -> dict[SettingType, tuple]:
        """Parameters parsed as settings TLV (GET settings and START responses)."""
        return parse_settings(self.parameters, base_offset=5)

    @property
    def factor(self) -> float:
        """FACTOR from a START response, 1.0 when absent."""
        if not self.parameters:
            return 1.0
        vals = self.settings.get(SettingType.FACTOR)
        return float(vals[0]) if vals else 1.0


@dataclass(frozen=True, slots=True)
class MeasurementStopped:
    """Unsolicited CP notification ``01 <types...>``: the device stopped these streams itself."""

    measurement_types: tuple[int, ...]


def parse_cp_notification(data: bytes) -> ControlPointResponse | MeasurementStopped:
    """Parse anything the device sends on the CP: a response (``F0``) or an unsolicited stop (``01``)."""
    data = bytes(data)
    require_length(KIND, data, 1, "a CP notification")
    if data[0] == RESPONSE_CODE:
        return parse_cp_response(data)
    if data[0] == 0x01:
        return MeasurementStopped(tuple(b & 0x3F for b in data[1:]))
    raise decode_error(KIND, 0, f"unknown CP notification code 0x{data[0]:02X} (want F0 or 01)")


def parse_cp_response(data: bytes) -> ControlPointResponse:
    """Parse a CP response indication. Unknown status codes raise DecodeError at offset 3."""
    data = bytes(data)
    if len(data) >= 1 and data[0] != RESPONSE_CODE:
        raise decode_error(KIND, 0, f"not a CP response: byte 0 is 0x{data[0]:02X}, want 0xF0")
    require_length(KIND, data, 4, "a CP response (F0, op, type, status)")
    try:
        status = PmdError(data[3])
    except ValueError:
        raise decode_error(KIND, 3, f"unknown CP status code {data[3]}") from None
    more = bool(data[4]) if len(data) > 4 else False
    return ControlPointResponse(data[1], data[2], status, more, data[5:])


def merge_cp_responses(parts: Sequence[ControlPointResponse]) -> ControlPointResponse:
    """Join a response split over several indications ("more" flag): parameters are concatenated."""
    if not parts:
        raise ValueError("no response parts")
    first = parts[0]
    for i, p in enumerate(parts[:-1]):
        if not p.more:
            raise ValueError(f"part {i} has no 'more' flag but more parts follow")
    if parts[-1].more:
        raise ValueError("last part still has the 'more' flag set")
    return ControlPointResponse(first.op_code, first.measurement_type, first.status, False,
                                b"".join(p.parameters for p in parts))


def encode_cp_response(op_code: int, measurement_type: int, status: int = PmdError.SUCCESS, parameters: bytes = b"",
                       more: bool = False) -> bytes:
    """Bytes a device indicates on the CP (used by emulated devices)."""
    return bytes((RESPONSE_CODE, int(op_code), int(measurement_type), int(status), 1 if more else 0)) + bytes(parameters)


# --------------------------------------------------------------------------- feature read


@dataclass(frozen=True, slots=True)
class Features:
    """Result of reading the CP: the measurement types and extras the device offers."""

    measurements: frozenset[MeasurementType]

    def supports(self, mtype: int) -> bool:
        return MeasurementType(mtype) in self.measurements


def parse_features(data: bytes) -> Features:
    """Parse the CP read value ``0F <bitmask1> <bitmask2> ...``."""
    data = bytes(data)
    require_length(KIND, data, 3, "a feature read (0F + 2 bitmask bytes)")
    if data[0] != FEATURE_READ_MARKER:
        raise decode_error(KIND, 0, f"not a feature read: byte 0 is 0x{data[0]:02X}, want 0x0F")
    found = {m for m, bit in _FEATURE_BITS_1.items() if data[1] >> bit & 1}
    found |= {m for m, bit in _FEATURE_BITS_2.items() if data[2] >> bit & 1}
    return Features(frozenset(found))


def encode_features(measurements: Sequence[int], *, total_length: int = 17) -> bytes:
    """Feature read value for an emulated device (17 bytes like the H10 capture)."""
    b1 = b2 = 0
    for m in measurements:
        mt = MeasurementType(m)
        if mt in _FEATURE_BITS_1:
            b1 |= 1 << _FEATURE_BITS_1[mt]
        elif mt in _FEATURE_BITS_2:
            b2 |= 1 << _FEATURE_BITS_2[mt]
        else:
            raise ValueError(f"{mt.name} has no feature bit")
    return bytes((FEATURE_READ_MARKER, b1, b2)) + bytes(max(0, total_length - 3))


def parse_measurement_status(parameters: bytes) -> dict[int, int]:
    """GET_MEASUREMENT_STATUS parameters -> {measurement type: state} (0 none, 1 online, 2 offline, 3 both)."""
    return {b & 0x3F: b >> 6 for b in bytes(parameters)}
