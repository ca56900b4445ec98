"""The frame-result type every protocol decoder returns, and small shared helpers.

Decoders are pure: ``decode_frame(data, *, config=..., state=None) -> DecodedFrame``.
Anything a protocol needs from earlier frames (Polar's previous frame timestamp, Bangle.js's
partial text line) travels in and out explicitly through ``state``; nothing is hidden in a
module or a BLE object.
"""

from __future__ import annotations

import binascii
from typing import Any, NamedTuple

import numpy as np

from repsense.errors import DecodeError

__all__ = ["DecodedFrame", "DecodeError", "decode_error", "require_length", "crc16_ccitt"]


class DecodedFrame(NamedTuple):
    """Samples from one BLE notification (or one text line for Bangle.js). Immutable.

    A named tuple rather than a frozen dataclass: it is built once per notification and a
    frozen dataclass's ``__init__`` alone costs several microseconds.

    Attributes
    ----------
    kind : str
        Protocol kind, the key in :data:`repsense.protocols.PROTOCOLS`.
    frame_type : str
        Human-readable frame type, e.g. ``"acc_delta_1"``, ``"acc_packed"``, ``"imu6"``.
    t_device_s : float64 array (n,) or None
        Per-sample device time in seconds on the device's own clock and epoch (see each
        protocol module), or None when the device sends no timestamp (use host receive time).
    accel_g : float32 array (n, 3) or None
        Acceleration in g, None when the frame carries none.
    gyro_dps : float32 array (n, 3) or None
        Angular rate in deg/s, None when the frame carries none.
    seq : int or None
        Frame sequence number where the protocol has one (DIY profile).
    sample_rate_hz : float or None
        Nominal rate stated by the frame itself (DIY profile), else None.
    t_device_ns : int64 array (n,) or None
        Exact integer device time in ns where the device gives ns (Polar), else None.
    stream_ref : int or None
        Client reference of the subscription (Movesense GSP).
    status : int or None
        Status code when the notification is a command result instead of data.
    state : object or None
        State to pass to the next ``decode_frame`` call of the same stream (None when the
        protocol is stateless).
    clock_jump : bool
        True when the device timestamp went backwards or stalled and per-sample times were
        rebuilt from the nominal rate instead of the previous frame.
    device_dropped : int
        Samples the device reports it dropped before this frame (DIY FIFO overflow count).
    """

    kind: str
    frame_type: str
    t_device_s: np.ndarray | None
    accel_g: np.ndarray | None
    gyro_dps: np.ndarray | None
    seq: int | None = None
    sample_rate_hz: float | None = None
    t_device_ns: np.ndarray | None = None
    stream_ref: int | None = None
    status: int | None = None
    state: Any = None
    clock_jump: bool = False
    device_dropped: int = 0

    @property
    def n_samples(self) -> int:
        """Number of samples in the frame (0 for command results)."""
        for arr in (self.accel_g, self.gyro_dps, self.t_device_s):
            if arr is not None:
                return int(arr.shape[0])
        return 0


def decode_error(kind: str, offset: int, reason: str) -> DecodeError:
    """Build a :class:`DecodeError` carrying ``offset`` and ``reason`` attributes."""
    err = DecodeError(f"{kind}: byte {offset}: {reason}")
    err.offset = offset  # type: ignore[attr-defined]
    err.reason = reason  # type: ignore[attr-defined]
    err.kind = kind  # type: ignore[attr-defined]
    return err


def require_length(kind: str, data: bytes, n: int, what: str) -> None:
    """Raise a DecodeError at the end of ``data`` when it is shorter than ``n`` bytes."""
    if len(data) < n:
        raise decode_error(kind, len(data), f"too short: {what} needs {n} bytes, got {len(data)}")


def crc16_ccitt(data: bytes | bytearray | memoryview, init: int = 0xFFFF) -> int:
    """CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, no reflection, no final xor.

    Check value: ``crc16_ccitt(b"123456789") == 0x29B1``. Computed by the standard library's
    ``binascii.crc_hqx`` (the same CRC, in C); tests compare it with a bit-by-bit twin.
    """
    return binascii.crc_hqx(bytes(data), init)
