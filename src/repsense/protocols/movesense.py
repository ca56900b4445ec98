"""Movesense GATT SensorData Protocol (GSP v1): subscribe to /Meas/... and decode DATA packets.

Facts and sources: ``firmware_notes/movesense.md`` (protocol reference section 4). The sensor
must run firmware that includes the GSP module (e.g. the ``gatt_sensordata_app`` sample).
A DATA packet holds a u32 millisecond timestamp of its **first** sample on the device clock,
then all accelerometer samples (f32 m/s^2), then all gyro samples (f32 deg/s), then (IMU9)
magnetometer. ``t_device_s`` is ``ts_ms / 1000 + i / rate`` (the rate is the subscribed one;
the u32 ms clock wraps after 49.7 days).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from repsense.protocols._frame import DecodedFrame, decode_error, require_length

KIND = "movesense"
NAME_PREFIXES: tuple[str, ...] = ("Movesense",)
SERVICE_UUID = "34802252-7185-4d5d-b431-630e7050e8f0"
COMMAND_UUID = "34800001-7185-4d5d-b431-630e7050e8f0"
DATA_UUID = "34800002-7185-4d5d-b431-630e7050e8f0"
MIN_MTU = 161  # the GSP sample sizes its buffers for an MTU of 161 [UNVERIFIED as a device minimum]
STANDARD_GRAVITY = 9.80665
SAMPLE_RATES_HZ = (13, 26, 52, 104, 208, 416, 833, 1666)  # seen in third-party code [UNVERIFIED]
HTTP_INSUFFICIENT_STORAGE = 507


class Command(IntEnum):
    """GSP v1 commands (byte 0 of a write)."""

    HELLO = 0
    SUBSCRIBE = 1
    UNSUBSCRIBE = 2


class ResponseType(IntEnum):
    """Byte 0 of a notification."""

    COMMAND_RESULT = 1
    DATA = 2


# resource -> (has acc, has gyro, has mag): arrays appear in this order
RESOURCES: dict[str, tuple[bool, bool, bool]] = {
    "Acc": (True, False, False),
    "Gyro": (False, True, False),
    "IMU6": (True, True, False),
    "IMU9": (True, True, True),
}


@dataclass(frozen=True, slots=True)
class MovesenseConfig:
    """Which resource was subscribed and at what rate (the packet does not say)."""

    resource: str = "IMU6"
    sample_rate_hz: float = 52.0

    def __post_init__(self) -> None:
        if self.resource not in RESOURCES:
            raise ValueError(f"resource {self.resource!r}: want one of {sorted(RESOURCES)}")
        if not self.sample_rate_hz > 0:
            raise ValueError("sample_rate_hz must be > 0")

    @property
    def path(self) -> str:
        return resource_path(self.resource, self.sample_rate_hz)


def resource_path(resource: str, sample_rate_hz: float) -> str:
    """``/Meas/<resource>/<rate>``, e.g. ``/Meas/IMU6/52``."""
    if resource not in RESOURCES:
        raise ValueError(f"resource {resource!r}: want one of {sorted(RESOURCES)}")
    rate = int(sample_rate_hz) if float(sample_rate_hz).is_integer() else sample_rate_hz
    return f"/Meas/{resource}/{rate}"


def _check_ref(ref: int) -> int:
    if not 1 <= int(ref) <= 255:
        raise ValueError(f"client reference must be 1..255 (non-zero), got {ref}")
    return int(ref)


def encode_hello(ref: int) -> bytes:
    """``00 <ref>``; the sensor answers ``01 <ref> 'Hello'``."""
    return bytes((Command.HELLO, _check_ref(ref)))


def encode_subscribe(ref: int, path: str) -> bytes:
    """``01 <ref> <ASCII path>`` (not NUL-terminated)."""
    return bytes((Command.SUBSCRIBE, _check_ref(ref))) + path.encode("ascii")


def encode_unsubscribe(ref: int) -> bytes:
    """``02 <ref>`` (the ref of the SUBSCRIBE)."""
    return bytes((Command.UNSUBSCRIBE, _check_ref(ref)))


@dataclass(frozen=True, slots=True)
class GspCommand:
    """A parsed command write (what the sensor sees)."""

    command: Command
    ref: int
    path: str | None = None


def parse_command(data: bytes) -> GspCommand:
    """Parse a command write; DecodeError for unknown commands, ref 0, or a non-ASCII path."""
    data = bytes(data)
    require_length(KIND, data, 2, "a GSP command (command, ref)")
    try:
        cmd = Command(data[0])
    except ValueError:
        raise decode_error(KIND, 0, f"unknown GSP command {data[0]}") from None
    if data[1] == 0:
        raise decode_error(KIND, 1, "client reference 0 is reserved (must be non-zero)")
    if cmd == Command.SUBSCRIBE:
        if len(data) == 2:
            raise decode_error(KIND, 2, "too short: SUBSCRIBE without a resource path")
        try:
            path = data[2:].decode("ascii")
        except UnicodeDecodeError as exc:
            raise decode_error(KIND, 2 + exc.start, "resource path is not ASCII") from None
        return GspCommand(cmd, data[1], path)
    if len(data) != 2:
        raise decode_error(KIND, 2, f"bad length: {cmd.name} takes no data, got {len(data) - 2} bytes")
    return GspCommand(cmd, data[1])


def parse_path(path: str) -> tuple[str, float]:
    """``/Meas/IMU6/52`` or ``Meas/IMU6/52`` -> (``"IMU6"``, 52.0); ValueError otherwise."""
    parts = path.strip("/").split("/")
    if len(parts) != 3 or parts[0] != "Meas" or parts[1] not in RESOURCES:
        raise ValueError(f"not a supported /Meas/<{'|'.join(RESOURCES)}>/<rate> path: {path!r}")
    try:
        rate = float(parts[2])
    except ValueError:
        raise ValueError(f"rate in {path!r} is not a number") from None
    return parts[1], rate


def decode_frame(data: bytes, *, config: MovesenseConfig = MovesenseConfig(), state: None = None) -> DecodedFrame:
    """Decode one notification: a DATA packet, or a COMMAND_RESULT (``status`` set, no samples).

    Raises
    ------
    DecodeError
        Too short, unknown response type, or a DATA length that is not a whole number of
        samples for the subscribed resource.
    """
    data = bytes(data)
    require_length(KIND, data, 2, "a GSP notification (type, ref)")
    rtype, ref = data[0], data[1]
    if rtype == ResponseType.COMMAND_RESULT:
        body = data[2:]
        if body == b"Hello":
            return DecodedFrame(KIND, "hello", None, None, None, stream_ref=ref)
        require_length(KIND, data, 4, "a COMMAND_RESULT status (u16 big-endian)")
        if len(data) != 4:
            raise decode_error(KIND, 4, f"bad length: COMMAND_RESULT is 4 bytes, got {len(data)}")
        return DecodedFrame(KIND, "command_result", None, None, None, stream_ref=ref,
                            status=int.from_bytes(body, "big"))
    if rtype != ResponseType.DATA:
        raise decode_error(KIND, 0, f"unknown GSP response type {rtype} (1 = COMMAND_RESULT, 2 = DATA)")
    require_length(KIND, data, 6, "a DATA packet header (type, ref, u32 timestamp)")
    has_acc, has_gyro, has_mag = RESOURCES[config.resource]
    stride = 12 * (has_acc + has_gyro + has_mag)
    body_len = len(data) - 6
    if body_len == 0 or body_len % stride:
        raise decode_error(KIND, 6 + (body_len // stride) * stride,
                           f"bad length: {body_len} body bytes is not a positive multiple of {stride} ({config.resource})")
    n = body_len // stride
    ts_ms = int.from_bytes(data[2:6], "little")
    arrays = np.frombuffer(data, dtype="<f4", offset=6).reshape(-1, n, 3)
    k = 0
    accel = gyro = None
    if has_acc:
        accel = (arrays[k].astype(np.float64) / STANDARD_GRAVITY).astype(np.float32)
        k += 1
    if has_gyro:
        gyro = arrays[k].astype(np.float32)
    t_s = ts_ms / 1000.0 + np.arange(n, dtype=np.float64) / config.sample_rate_hz
    return DecodedFrame(KIND, config.resource.lower(), t_s, accel, gyro, stream_ref=ref)


def encode_frame(ref: int, timestamp_ms: int, *, accel_g: np.ndarray | None = None, gyro_dps: np.ndarray | None = None,
                 magn: np.ndarray | None = None, config: MovesenseConfig = MovesenseConfig()) -> bytes:
    """A DATA packet for ``config.resource``: accel in g is sent as f32 m/s^2."""
    has_acc, has_gyro, has_mag = RESOURCES[config.resource]
    given = {"accel_g": accel_g, "gyro_dps": gyro_dps, "magn": magn}
    need = {"accel_g": has_acc, "gyro_dps": has_gyro, "magn": has_mag}
    arrays = []
    n = None
    for name, arr in given.items():
        if need[name] != (arr is not None):
            raise ValueError(f"{config.resource} {'needs' if need[name] else 'has no'} {name}")
        if arr is None:
            continue
        a = np.atleast_2d(np.asarray(arr, dtype=np.float64))
        if a.ndim != 2 or a.shape[1] != 3 or (n is not None and a.shape[0] != n):
            raise ValueError(f"{name} must be (n, 3) with the same n as the others, got {a.shape}")
        n = a.shape[0]
        arrays.append((a * STANDARD_GRAVITY if name == "accel_g" else a).astype("<f4"))
    return bytes((ResponseType.DATA, _check_ref(ref))) + (int(timestamp_ms) % (1 << 32)).to_bytes(4, "little") + \
        b"".join(a.tobytes() for a in arrays)


def encode_command_result(ref: int, status: int) -> bytes:
    """``01 <ref> <status u16 big-endian>``, e.g. ``01 63 01 FB`` for 507 (no free subscription slot)."""
    return bytes((ResponseType.COMMAND_RESULT, _check_ref(ref))) + int(status).to_bytes(2, "big")


def encode_hello_reply(ref: int) -> bytes:
    """``01 <ref> 'Hello'``."""
    return bytes((ResponseType.COMMAND_RESULT, _check_ref(ref))) + b"Hello"
