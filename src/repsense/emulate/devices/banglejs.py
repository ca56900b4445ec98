"""Virtual Bangle.js 2 (Espruino) on the Nordic UART service, running a streaming script.

Emulated, with :mod:`repsense.protocols.banglejs` for every byte:

* GATT: NUS with RX (write, write without response; JS console input) and TX (notify; console
  output); advertised as ``Bangle.js xxxx``; ATT MTU capped at 131 (the firmware build setting).
* A very small JS console: writes are reassembled into lines. Lines starting with DLE (0x10)
  run without echo; others are echoed with ``=undefined`` and a ``>`` prompt (REPL noise a
  receiver must skip). Understood statements: ``Bangle.setPollInterval(ms)`` (10-4000),
  ``Bangle.accelWr(0x1B,1)`` (25 Hz ODR), ``Bangle.on('accel', ...)`` printing either the tagged
  line of :func:`~repsense.protocols.banglejs.stream_script` or a plain ``x,y,z`` mg line, and
  ``Bangle.removeAllListeners('accel')``. Anything else prints ``Uncaught Error: ...`` as the
  console would print an error (the text is ours, not Espruino's).
* The accel event fires every poll interval (default 80 ms = 12.5 Hz), with the KX023 at +-4 g
  and 8192 counts per g; the script prints mg (``Math.round``) and, tagged, ``getTime()`` with
  3 decimals on the watch clock (Unix seconds). Output is cut into notifications of at most
  MTU - 3 bytes, so lines may be split across notifications.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
from bumble.gatt import Service

from repsense.emulate._device import Props, SensorStream, VirtualDevice
from repsense.emulate.clock import DeviceClock
from repsense.protocols import banglejs as bj

__all__ = ["VirtualBangleJs"]

KX023_COUNTS_PER_G = 8192.0
KX023_FS_G = 4.0


def _statements(js: str) -> list[str]:
    """Split a JS line on ``;`` outside quotes, parentheses and braces."""
    out, depth, quote, start = [], 0, "", 0
    for i, ch in enumerate(js):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "({[":
            depth += 1
        elif ch in ")}]":
            depth -= 1
        elif ch == ";" and depth == 0:
            out.append(js[start:i])
            start = i + 1
    out.append(js[start:])
    return [s.strip() for s in out if s.strip()]


class VirtualBangleJs(VirtualDevice):
    """A Bangle.js 2 on the virtual radio."""

    kind = "banglejs"
    default_name = "Bangle.js 7b1c"
    max_mtu = bj.MAX_MTU

    def __init__(self, world: Any, *, name: str | None = None, **options: Any) -> None:
        address = str(options.get("address", "00:00"))
        super().__init__(world, name=name or f"Bangle.js {address.replace(':', '')[-4:].lower()}", **options)
        self.poll_interval_ms = bj.DEFAULT_POLL_INTERVAL_MS
        self.odr_hz = 12.5
        self._rx = b""
        self.console: list[str] = []  # every line the console ran

    def build_services(self) -> list[Service]:
        rx = self.characteristic(bj.RX_UUID, Props.WRITE | Props.WRITE_WITHOUT_RESPONSE, write=self._on_rx)
        self.tx = self.characteristic(bj.TX_UUID, Props.NOTIFY)
        return [Service(bj.SERVICE_UUID, [rx, self.tx])]

    def advertised_service_uuids(self) -> Sequence[str]:
        return [bj.SERVICE_UUID]

    def default_clock(self) -> DeviceClock:
        return DeviceClock(offset_s=time.time())  # getTime(): Unix seconds, set by the phone

    def on_disconnect(self, connection: Any, reason: int) -> None:
        self._rx = b""  # the running script keeps running on a real watch; its output is lost

    # console -----------------------------------------------------------------------------
    async def _print(self, text: bytes, *, data: bool) -> None:
        for chunk in bj.chunk_writes(text, self.mtu):
            await self.notify(self.tx, chunk, data=data)

    def _on_rx(self, _conn: Any, data: bytes) -> None:
        self._rx += data
        while b"\n" in self._rx:
            line, self._rx = self._rx.split(b"\n", 1)
            self._run_line(line.rstrip(b"\r"))

    def _run_line(self, line: bytes) -> None:
        quiet = line.startswith(bj.DLE)
        text = line.lstrip(bj.DLE).decode("ascii", "replace")
        self.console.append(text)
        out = b"" if quiet else text.encode() + b"\r\n"
        error = self._execute(text)
        if error:
            out += f"Uncaught Error: {error}\r\n".encode()
        elif not quiet:
            out += b"=undefined\r\n"
        if not quiet:
            out += b">"
        if out:
            self.later(self._print(out, data=False))

    def _execute(self, js: str) -> str | None:
        for stmt in _statements(js):
            if m := re.fullmatch(r"Bangle\.setPollInterval\((\d+)\)", stmt):
                ms_ = int(m.group(1))
                if not 10 <= ms_ <= 4000:
                    return f"Invalid poll interval {ms_}"
                self.poll_interval_ms = ms_
            elif re.fullmatch(r"Bangle\.accelWr\(0x1B,\s*1\)", stmt):
                self.odr_hz = 25.0
            elif stmt.startswith("Bangle.on('accel'"):
                self._start(tagged="getTime()" in stmt)
            elif stmt == "Bangle.removeAllListeners('accel')":
                self.stop_stream("acc")
            else:
                return f"repsense emulator does not run {stmt[:40]!r}"
        return None

    def _start(self, *, tagged: bool) -> None:
        async def emit(k: np.ndarray, t_dev_s: np.ndarray, phys: np.ndarray) -> np.ndarray:
            counts = np.clip(np.rint(phys[0] * KX023_COUNTS_PER_G), -KX023_FS_G * KX023_COUNTS_PER_G,
                             KX023_FS_G * KX023_COUNTS_PER_G - 1)
            g = counts / KX023_COUNTS_PER_G  # a.x, a.y, a.z as the firmware reports them
            line = bj.encode_frame(g, float(t_dev_s[0]) if tagged else None)
            await self._print(line, data=True)
            return (np.floor(g * 1000.0 + 0.5) / 1000.0).reshape(1, 3)

        self.start_stream(SensorStream(name="acc", source="accel", sample_rate_hz=1000.0 / self.poll_interval_ms,
                                       batch=1, emit=emit))
