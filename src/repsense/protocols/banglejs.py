"""Bangle.js 2 (Espruino) over the Nordic UART service: text lines from a small streaming script.

Facts and sources: ``firmware_notes/banglejs.md`` (protocol reference section 5b). Nothing is
framed: the script's output is UTF-8 text on the TX characteristic, cut into notifications of
at most MTU - 3 bytes, so lines are reassembled on ``\\n`` with :func:`split_lines` (its state is
passed in and out explicitly) and each complete line is one "frame" for :func:`decode_frame`.

Line formats accepted:

* ``A,<t_s>,<x_mg>,<y_mg>,<z_mg>`` from :func:`stream_script` (``t_s`` = the watch's
  ``getTime()``, seconds since 1970 on the watch clock, 3 decimals);
* ``<x_mg>,<y_mg>,<z_mg>`` (the plain example script; no timestamp, ``t_device_s`` None).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from repsense.protocols._frame import DecodedFrame, decode_error

KIND = "banglejs"
NAME_PREFIXES: tuple[str, ...] = ("Bangle.js",)
SERVICE_UUID = "6e400001-b5a3-f393-e0a9-e50e24dcca9e"
RX_UUID = "6e400002-b5a3-f393-e0a9-e50e24dcca9e"  # central -> watch (JS console input)
TX_UUID = "6e400003-b5a3-f393-e0a9-e50e24dcca9e"  # watch -> central (console output)
DATA_UUID = TX_UUID
MIN_MTU = 23
MAX_MTU = 131  # Bangle.js 2 firmware build setting
DEFAULT_POLL_INTERVAL_MS = 80
DLE = b"\x10"  # run the line without echo
MAX_LINE_BYTES = 256
LINE_TAG = "A"

_NUM = re.compile(r"^[+-]?\d+(\.\d+)?$")


def stream_script(*, poll_interval_ms: int = DEFAULT_POLL_INTERVAL_MS, odr_25hz: bool = False) -> bytes:
    """The JS line to write to RX that streams ``A,<t_s>,<x_mg>,<y_mg>,<z_mg>`` lines.

    ``odr_25hz`` writes the KX023 ODR register for 25 Hz (``Bangle.accelWr(0x1B,1)``); the
    default is the firmware's 12.5 Hz ODR. The poll interval accepts 10-4000 ms.
    """
    if not 10 <= poll_interval_ms <= 4000:
        raise ValueError("poll_interval_ms must be 10..4000")
    js = ""
    if odr_25hz:
        js += "Bangle.accelWr(0x1B,1);"
    js += f"Bangle.setPollInterval({int(poll_interval_ms)});"
    js += ("Bangle.on('accel',function(a){Bluetooth.println('A,'+getTime().toFixed(3)+','+"
           "Math.round(a.x*1000)+','+Math.round(a.y*1000)+','+Math.round(a.z*1000));});")
    return DLE + js.encode("ascii") + b"\n"


def stop_script() -> bytes:
    """The JS line that stops streaming."""
    return DLE + b"Bangle.removeAllListeners('accel');\n"


def chunk_writes(data: bytes, mtu: int = MIN_MTU) -> list[bytes]:
    """Split ``data`` into writes (or notifications) of at most ``mtu - 3`` bytes."""
    size = mtu - 3
    if size < 1:
        raise ValueError("mtu must be > 3")
    return [data[i:i + size] for i in range(0, len(data), size)]


@dataclass(frozen=True, slots=True)
class LineState:
    """Bytes after the last newline, waiting for the rest of their line."""

    pending: bytes = b""


def split_lines(chunk: bytes, state: LineState | None = None) -> tuple[list[bytes], LineState, int]:
    """Reassemble notifications into lines.

    Returns
    -------
    lines : list of bytes
        Complete lines without ``\\r\\n``.
    state : LineState
        To pass with the next chunk.
    n_overflow : int
        Partial lines discarded because they grew past :data:`MAX_LINE_BYTES` without a newline.
    """
    buf = (state.pending if state else b"") + bytes(chunk)
    parts = buf.split(b"\n")
    pending = parts.pop()
    overflow = 0
    if len(pending) > MAX_LINE_BYTES:
        pending, overflow = b"", 1
    return [p.rstrip(b"\r") for p in parts], LineState(pending), overflow


def decode_frame(data: bytes, *, config: None = None, state: None = None) -> DecodedFrame:
    """Decode one complete text line (from :func:`split_lines`) into one accelerometer sample.

    Raises
    ------
    DecodeError
        Empty line, REPL noise, wrong number of fields, or a field that is not a number; the
        offset is the byte offset of the bad field within the line.
    """
    data = bytes(data).rstrip(b"\r\n")
    if not data:
        raise decode_error(KIND, 0, "empty line")
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError as exc:
        raise decode_error(KIND, exc.start, "non-ASCII byte in a data line") from None
    fields = text.split(",")
    if fields[0] == LINE_TAG:
        if len(fields) != 5:
            raise decode_error(KIND, 0, f"tagged line needs 5 fields (A,t_s,x,y,z), got {len(fields)}")
        if not _NUM.match(fields[1]):
            raise decode_error(KIND, 2, f"time field {fields[1]!r} is not a number")
        t = np.array([float(fields[1])], dtype=np.float64)
        idx = (2, 3, 4)
    elif len(fields) == 3:
        t = None
        idx = (0, 1, 2)
    else:
        raise decode_error(KIND, 0, f"not a data line ({len(fields)} fields): {text[:40]!r}")
    offsets = [0]
    for f in fields[:-1]:
        offsets.append(offsets[-1] + len(f) + 1)
    vals = []
    for i in idx:
        f = fields[i]
        digits = f[1:] if f[:1] in ("-", "+") else f
        if not (digits.isdigit() and digits.isascii()):
            raise decode_error(KIND, offsets[i], f"field {f!r} is not an integer mg value")
        vals.append(int(f) / 1000.0)
    accel = np.array((vals,), dtype=np.float32)
    return DecodedFrame(KIND, "accel_line" if t is not None else "accel_line_untimed", t, accel, None)


def encode_frame(accel_g: np.ndarray, t_s: float | None = None) -> bytes:
    """The line the streaming script prints for one sample (mg rounded like ``Math.round``)."""
    a = np.asarray(accel_g, dtype=np.float64).reshape(-1)
    if a.shape != (3,):
        raise ValueError("one sample of 3 axes")
    mg = [int(np.floor(v * 1000.0 + 0.5)) for v in a]  # JS Math.round rounds half up
    body = ",".join(str(v) for v in mg)
    if t_s is None:
        return body.encode("ascii") + b"\r\n"
    return f"{LINE_TAG},{t_s:.3f},{body}".encode("ascii") + b"\r\n"
