"""One band's capture session: connect (bounded retries, backoff), start, consume, reconnect.

Data path per notification: bleak callback -> ``(t_host_mono_ns, uuid, bytes)`` on a queue ->
consumer task: driver decode -> :class:`~repsense.buffer.StreamClock` (UTC stamps, gaps,
duplicates) -> :class:`~repsense.buffer.RingBuffer` per stream. Non-data notifications (command
responses) are forwarded to the driver's response queue.

The session survives link loss: on an unexpected disconnect, or when no notification came for
``stall_s`` while connected, it reconnects with exponential backoff, reconfigures the device
and resumes. The clocks are told about the outage, so the gap is recorded and samples a device
resends are dropped as duplicates: the capture stays one session.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..buffer import RingBuffer, StreamClock
from ..errors import DecodeError, DeviceError
from .drivers import Driver
from .transport_bleak import BleakLink, FoundDevice, LinkError

__all__ = ["DeviceSession", "HostClock", "LinkState", "SessionOptions"]


class HostClock:
    """UTC from ``time.monotonic_ns()`` with one anchor: immune to NTP steps during a session."""

    def __init__(self) -> None:
        self.wall0_ns = time.time_ns()
        self.mono0_ns = time.monotonic_ns()

    def to_utc_ns(self, mono_ns: int) -> int:
        return self.wall0_ns + (mono_ns - self.mono0_ns)

    def now_utc_ns(self) -> int:
        return self.to_utc_ns(time.monotonic_ns())


class LinkState:
    SCANNING = "scanning"
    CONNECTING = "connecting"
    STREAMING = "streaming"
    RECONNECTING = "reconnecting"
    STOPPED = "stopped"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class SessionOptions:
    """Tunables of a capture session (all times in host seconds)."""

    ring_s: float = 60.0  # ring capacity per stream
    connect_timeout_s: float = 10.0
    connect_attempts: int = 5  # first connection
    reconnect_attempts: int = 30  # per outage
    backoff_s: float = 0.25
    backoff_max_s: float = 8.0
    stall_s: float = 5.0  # connected but silent this long -> reconnect
    queue_max: int = 20_000  # notifications waiting for the consumer
    speed: float = 1.0  # replay speed of an emulated band (rescales host time in the clocks)
    sample_rate_hz: float | None = None
    gyro: bool = True


@dataclass
class SessionCounters:
    n_notifications: int = 0
    n_malformed: int = 0
    malformed: Counter = field(default_factory=Counter)
    n_reconnects: int = 0
    n_stalls: int = 0
    n_connect_failures: int = 0
    last_error: str = ""


class DeviceSession:
    """Capture from one band until ``stop`` is set.

    Parameters
    ----------
    target : address or a scanned :class:`FoundDevice`.
    driver : the device kind's driver.
    host_clock : shared UTC anchor of this capture.
    backend : bleak client backend (None: the real one).
    options : :class:`SessionOptions`.
    """

    def __init__(self, target: str | FoundDevice, driver: Driver, host_clock: HostClock, *,
                 backend: Any = None, options: SessionOptions = SessionOptions()) -> None:
        self.target = target
        self.address = target.address if isinstance(target, FoundDevice) else str(target).upper()
        self.name = target.name if isinstance(target, FoundDevice) else ""
        self.driver = driver
        self.host_clock = host_clock
        self.options = options
        self.state = LinkState.CONNECTING
        self.counters = SessionCounters()
        self.queue: asyncio.Queue[tuple[int, str, bytes] | None] = asyncio.Queue(options.queue_max)
        self.responses: asyncio.Queue[tuple[int, str, bytes] | None] = asyncio.Queue(256)
        self.rings: dict[str, RingBuffer] = {}
        self.clocks: dict[str, StreamClock] = {}
        self._disconnected = asyncio.Event()
        self._last_rx_mono = 0
        self._link = BleakLink(target, self.queue, on_disconnect=self._disconnected.set, backend=backend)
        self.first_connected = asyncio.Event()

    # ---------------------------------------------------------------- state for views/stores
    @property
    def n_duplicate(self) -> int:
        return sum(c.n_duplicate for c in self.clocks.values())

    @property
    def n_lost(self) -> int:
        return sum(c.n_lost for c in self.clocks.values())

    @property
    def n_overflow(self) -> int:
        return sum(r.n_overflow for r in self.rings.values())

    @property
    def n_queue_full(self) -> int:
        return self._link.n_queue_full

    def n_samples(self, stream: str = "accel") -> int:
        c = self.clocks.get(stream)
        return c.n_samples if c else 0

    def _stream(self, name: str) -> tuple[StreamClock, RingBuffer]:
        if name not in self.clocks:
            rate = self.driver.rate_of(name)
            self.clocks[name] = StreamClock(rate, device_time=self.driver.device_time, speed=self.options.speed,
                                            seq_modulo=self.driver.seq_modulo)
            self.rings[name] = RingBuffer.for_duration(self.options.ring_s * self.options.speed, rate)
        return self.clocks[name], self.rings[name]

    # ---------------------------------------------------------------- consumer
    def handle(self, t_mono_ns: int, uuid: str, data: bytes) -> None:
        """Decode one notification into the rings (also the unit under test for malformed input)."""
        try:
            frame = self.driver.decode(uuid, data)
        except DecodeError as exc:
            self.counters.n_malformed += 1
            self.counters.malformed[str(getattr(exc, "reason", exc)).split(":")[0][:60]] += 1
            return
        finally:
            errors = getattr(self.driver, "errors", None)
            if errors:  # text protocols: bad lines inside an otherwise good notification
                self.counters.n_malformed += len(errors)
                self.counters.malformed.update(errors)
                errors.clear()
        if frame is None:
            try:
                self.responses.put_nowait((t_mono_ns, uuid, data))
            except asyncio.QueueFull:
                pass
            return
        n = frame.n_samples
        if n == 0:
            return
        self.counters.n_notifications += 1
        host_ns = self.host_clock.to_utc_ns(t_mono_ns)
        dev_ns = None
        if self.driver.device_time:
            if frame.t_device_ns is not None:
                dev_ns = np.asarray(frame.t_device_ns, dtype=np.int64)
            elif frame.t_device_s is not None:
                dev_ns = np.round(np.asarray(frame.t_device_s) * 1e9).astype(np.int64)
        for name, values in (("accel", frame.accel_g), ("gyro", frame.gyro_dps)):
            if values is None:
                continue
            clock, ring = self._stream(name)
            if clock.device_time and dev_ns is None:
                self.counters.n_malformed += 1
                self.counters.malformed["no device time"] += 1
                continue
            st = clock.stamp(host_ns, values.shape[0], dev_ns, frame.seq)
            if st.t_utc_ns.shape[0]:
                ring.write(st.t_utc_ns, values[st.first_kept:])

    async def _consume(self) -> None:
        while True:
            item = await self.queue.get()
            if item is None:
                return
            self._last_rx_mono = item[0]
            self.handle(*item)

    # ---------------------------------------------------------------- link
    async def _connect_once(self) -> None:
        link = self._link
        self._disconnected.clear()
        await link.connect(self.options.connect_timeout_s)
        self.name = self.name or link.name
        self.driver.reset_stream_state()
        while not self.responses.empty():
            self.responses.get_nowait()
        if self.driver.configure_first:
            await self.driver.start(link, self.responses)
        for uuid in self.driver.data_uuids:
            await link.subscribe(uuid)
        if not self.driver.configure_first:
            await self.driver.start(link, self.responses)
        self._last_rx_mono = time.monotonic_ns()

    async def _connect(self, attempts: int, stop: asyncio.Event) -> bool:
        delay = self.options.backoff_s
        for attempt in range(attempts):
            if stop.is_set():
                return False
            try:
                await self._connect_once()
                return True
            except (*LinkError, DeviceError) as exc:
                self.counters.n_connect_failures += 1
                self.counters.last_error = f"{type(exc).__name__}: {exc}"
                await self._link.disconnect()
            if attempt + 1 < attempts:
                try:
                    await asyncio.wait_for(stop.wait(), delay)
                    return False
                except TimeoutError:
                    pass
                delay = min(delay * 2, self.options.backoff_max_s)
        return False

    async def _watch(self, stop: asyncio.Event) -> str:
        """Wait while streaming; return why it ended: 'stop', 'disconnect' or 'stall'."""
        stall_ns = int(self.options.stall_s * 1e9)
        while True:
            if stop.is_set():
                return "stop"
            if self._disconnected.is_set():
                return "disconnect"
            if time.monotonic_ns() - self._last_rx_mono > stall_ns:
                return "stall"
            waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._disconnected.wait())]
            try:
                await asyncio.wait(waiters, timeout=min(0.5, self.options.stall_s / 4),
                                   return_when=asyncio.FIRST_COMPLETED)
            finally:
                for w in waiters:
                    w.cancel()

    async def run(self, stop: asyncio.Event) -> None:
        """Capture until ``stop`` is set. Raises DeviceError when the first connection fails."""
        consumer = asyncio.create_task(self._consume(), name=f"consume-{self.address}")
        try:
            self.state = LinkState.CONNECTING
            if not await self._connect(self.options.connect_attempts, stop):
                if stop.is_set():
                    return
                self.state = LinkState.FAILED
                raise DeviceError(f"could not connect to {self.address} after {self.options.connect_attempts} "
                                  f"attempts ({self.counters.last_error})")
            self.first_connected.set()
            while True:
                self.state = LinkState.STREAMING
                why = await self._watch(stop)
                if why == "stop":
                    break
                if why == "stall":
                    self.counters.n_stalls += 1
                self.counters.n_reconnects += 1
                self.state = LinkState.RECONNECTING
                for clock in self.clocks.values():
                    clock.mark_disconnect()
                await self._link.disconnect()
                if not await self._connect(self.options.reconnect_attempts, stop):
                    if stop.is_set():
                        break
                    self.state = LinkState.FAILED
                    return
        finally:
            if self._link.is_connected:
                try:
                    await asyncio.wait_for(self.driver.stop(self._link), 2.0)
                except (*LinkError, DeviceError):
                    pass
                await self._link.disconnect()
            await self.queue.put(None)
            await consumer
            if self.state != LinkState.FAILED:
                self.state = LinkState.STOPPED
