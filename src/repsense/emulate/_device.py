"""Base of every virtual band: a bumble peripheral with a GATT server, a replayed recording,
a device clock, notification batching and fault injection.

A subclass declares its GATT layout (:meth:`VirtualDevice.build_services`), its advertising
(name, service UUIDs), its ATT MTU cap, and reacts to commands by starting / stopping
:class:`SensorStream` s whose ``emit`` turns due samples into notifications using the
device's protocol encoder (from :mod:`repsense.protocols`). The base class owns timing:

* the replay starts when the first stream starts and then runs in true time (``speed`` x wall
  time), connected or not: samples due while nobody listens are lost, as on a real band;
* sample ``k`` of a stream is taken on the band's own grid at true time
  ``k / (rate * (1 + drift))`` and stamped ``clock.device_s(...)``;
* every sample actually sent is logged (:meth:`VirtualDevice.sent`) in physical units after
  the band's quantisation: the ground truth a receiver must reproduce.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from bumble.att import ATT_CID, ATT_Error, ATT_Handle_Value_Notification
from bumble.core import UUID, AdvertisingData
from bumble.device import AdvertisingEventProperties, AdvertisingParameters, Connection, Device
from bumble.gatt import Characteristic, CharacteristicValue, Service

from repsense.emulate._world import new_host
from repsense.emulate.clock import DeviceClock
from repsense.emulate.faults import LIMITED_RESOURCES, Faults, FaultTally
from repsense.emulate.replay import ReplaySignal, synthetic_recording
from repsense.types import Recording

if TYPE_CHECKING:
    from repsense.emulate._world import VirtualWorld

__all__ = ["VirtualDevice", "SensorStream", "SentSamples", "Props"]

logger = logging.getLogger(__name__)

Props = Characteristic.Properties
ADVERTISING_INTERVAL_MS = 50.0


@dataclass(slots=True)
class SentSamples:
    """Samples a band sent on one stream: index on its grid, device time, values in physical units."""

    k: np.ndarray
    t_device_s: np.ndarray
    values: np.ndarray
    unit: str
    status: np.ndarray  # per sample: "ok", "duplicated", "truncated", "corrupted", "stalled", "offline",
    # "overflow" (the band's queue was full: never sent), "lost" (sent, link ended before it
    # reached the central), "queued" (sent, not yet at the central)

    @property
    def delivered(self) -> np.ndarray:
        """Mask of samples that reached the central intact (a duplicate counts once).

        Samples the band itself lost before sending (e.g. DIY FIFO overflow) are NaN.
        """
        return np.isin(self.status, ("ok", "duplicated")) & np.isfinite(self.values).all(axis=1)


@dataclass(slots=True)
class SensorStream:
    """One running sensor stream (e.g. Polar ACC, MetaWear gyro) of a virtual band.

    ``emit(k, t_device_s, values_phys)`` is called with the samples that became due, in
    batches of ``batch`` (the last one may be shorter when the replay ends); it returns the
    quantised values actually put on the air (same shape) so the band can log them.
    ``source`` is ``"accel"`` (g), ``"gyro"`` (deg/s) or ``"imu"`` (values (n, 6): accel then gyro,
    logged as two streams ``acc`` and ``gyro``).
    """

    name: str
    source: str
    sample_rate_hz: float
    batch: int
    emit: Callable[[np.ndarray, np.ndarray, np.ndarray], Awaitable[np.ndarray]]
    unit: str = "g"
    flush_partial: bool = True  # at the end of the replay, send a last short batch (False: hold it)
    next_k: int = 0
    task: asyncio.Task[None] | None = None

    @property
    def log_names(self) -> tuple[tuple[str, str, slice], ...]:
        """(log name, unit, columns) of what this stream logs."""
        if self.source == "imu":
            return (("acc", "g", slice(0, 3)), ("gyro", "deg/s", slice(3, 6)))
        return ((self.name, self.unit, slice(0, 3)),)


class VirtualDevice:
    """A virtual band on the world's radio. Subclasses implement one protocol.

    Parameters
    ----------
    world : the :class:`~repsense.emulate.VirtualWorld` it lives in.
    name : advertised local name (default: the kind's default name).
    address : static random address ``AA:BB:CC:DD:EE:FF``.
    recording : what to replay (default: :func:`~repsense.emulate.replay.synthetic_recording`).
    speed : true seconds per wall second (1 = real time, 10 = ten times faster).
    faults : faults to inject (:class:`~repsense.emulate.faults.Faults`).
    clock : the band's clock (default: the kind's :meth:`default_clock`).
    rssi_dbm : RSSI the host sees in advertisements.
    loop : replay the recording forever.
    fifo_s : how far (in true seconds) the band may fall behind its sensor before its queue
        overflows. A band that cannot send as fast as it samples (this process too slow, or its
        event loop blocked) sends late; beyond ``fifo_s`` of backlog the oldest samples' frames
        are encoded and dropped, as a firmware queue overflow does: status ``overflow``,
        ``tally["overflow"]`` counts the notifications. ``None``: never (latency grows).
    """

    kind: ClassVar[str] = "generic"
    default_name: ClassVar[str] = "repsense virtual band"
    max_mtu: ClassVar[int] = 247  # ATT MTU the band accepts at most

    def __init__(self, world: VirtualWorld, *, name: str | None = None, address: str, recording: Recording | None = None,
                 speed: float = 1.0, faults: Faults | None = None, clock: DeviceClock | None = None,
                 rssi_dbm: int = -60, loop: bool = False, fifo_s: float | None = 10.0) -> None:
        if not speed > 0:
            raise ValueError(f"speed must be > 0, got {speed}")
        self.world = world
        self.name = name or self.default_name
        self.address = address.upper()
        self.signal = ReplaySignal(recording if recording is not None else synthetic_recording(), loop=loop)
        self.speed = float(speed)
        self.faults = faults or Faults()
        self.clock = clock or self.default_clock()
        self.rssi_dbm = int(rssi_dbm)
        if fifo_s is not None and not fifo_s > 0:
            raise ValueError(f"fifo_s must be > 0 or None, got {fifo_s}")
        self.fifo_s = fifo_s
        # delivery accounting: SDUs the central received from this band (counted by the world),
        # and per connection [tx_start, rx_start, tx_end, rx_end] (-1: still open)
        self.rx_sdus = 0
        self._epochs: list[list[int]] = []
        self._batch_tx = 0
        self._overflowing = False
        self.tally = FaultTally()
        self.host: Device | None = None
        self.controller: Any = None
        self.connection: Connection | None = None
        self.streams: dict[str, SensorStream] = {}
        self.finished = asyncio.Event()  # the replay ended and its last notification reached the central
        self.connected = asyncio.Event()
        self.n_connections = 0
        self.n_notifications = 0  # data notifications attempted (before faults)
        self._data_counter = 0
        self._origin_wall_s: float | None = None
        self._dropped_link = False
        # per stream: k, device time, values (per batch), status, size and last SDU index per batch, unit
        self._logs: dict[str, tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray], list[str], list[int],
                                    list[int], str]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._status = "ok"
        self._cache: dict[str, tuple[Any, int, np.ndarray, np.ndarray, np.ndarray]] = {}

    # ----------------------------------------------------------------------------------
    # subclass API
    def build_services(self) -> list[Service]:
        """The band's GATT services (called once at boot)."""
        raise NotImplementedError

    def advertised_service_uuids(self) -> Sequence[str]:
        """128-bit service UUIDs put in the advertisement."""
        return ()

    def default_clock(self) -> DeviceClock:
        """The band's clock when none is given: starts at 0 s (time since boot), no drift."""
        return DeviceClock()

    def on_connect(self, connection: Connection) -> None:
        """Called when a central connects."""

    def on_disconnect(self, connection: Connection, reason: int) -> None:
        """Called after a disconnection (streams are already stopped)."""

    # ----------------------------------------------------------------------------------
    # GATT helpers for subclasses
    def characteristic(self, uuid: str, properties: Characteristic.Properties, *,
                       read: Callable[[Connection], bytes] | None = None,
                       write: Callable[[Connection, bytes], Any] | None = None,
                       value: bytes = b"") -> Characteristic[bytes]:
        """A characteristic whose reads / writes go through fault injection then ``read`` / ``write``.

        Without ``read`` a READ property returns ``value``; a characteristic without the READ
        property answers *Read Not Permitted* (bumble does not enforce properties itself).
        """
        key = uuid.lower()
        can_read = bool(properties & Props.READ)

        def do_read(conn: Connection) -> bytes:
            code = self.faults.att_error_on_read.get(key)
            if code is not None:
                self.tally.add("att_error_read")
                raise ATT_Error(code)
            if not can_read:
                raise ATT_Error(0x02)  # Read Not Permitted
            return read(conn) if read is not None else value

        def do_write(conn: Connection, data: bytes) -> Any:
            code = self.faults.att_error_on_write.get(key)
            if code is not None:
                self.tally.add("att_error_write")
                raise ATT_Error(code)
            if write is None:
                raise ATT_Error(0x03)  # Write Not Permitted
            return write(conn, bytes(data))

        perms = Characteristic.READABLE | Characteristic.WRITEABLE
        return Characteristic(uuid, properties, perms, CharacteristicValue(read=do_read, write=do_write))

    def on_subscription(self, char: Characteristic[bytes], callback: Callable[[bool], None]) -> None:
        """Call ``callback(enabled)`` when the central writes the CCCD of ``char``."""
        char.on(Characteristic.EVENT_SUBSCRIPTION, lambda _bearer, notify, indicate: callback(bool(notify or indicate)))

    @property
    def mtu(self) -> int:
        """ATT MTU of the current connection (23 when not connected)."""
        return self.connection.att_mtu if self.connection is not None else 23

    def _mark(self, status: str) -> None:
        if self._status == "ok" or status != "duplicated":
            self._status = status

    async def notify(self, char: Characteristic[bytes], payload: bytes, *, data: bool = True) -> None:
        """Notify the connected central. ``data`` notifications go through fault injection."""
        conn = self.connection
        if conn is None or self.host is None:
            if data:
                self._mark("offline")
            return
        copies = 1
        if data:
            self.n_notifications += 1
            if self._overflowing:  # the band's queue is full: the frame is dropped, never sent
                self.tally.add("overflow")
                self._mark("overflow")
                return
            self._data_counter += 1
            n = self._data_counter
            f = self.faults
            if f.stalled(self.true_now_s()):
                self.tally.add("stalled")
                self._mark("stalled")
                return
            if f.truncate_every and n % f.truncate_every == 0:
                payload = payload[: f.truncate_to_bytes]
                self.tally.add("truncated")
                self._mark("truncated")
            if f.corrupt_every and n % f.corrupt_every == 0:
                b = bytearray(payload)
                b[f.corrupt_byte % len(b)] ^= 0xFF
                payload = bytes(b)
                self.tally.add("corrupted")
                self._mark("corrupted")
            if f.duplicate_every and n % f.duplicate_every == 0:
                copies = 2
                self.tally.add("duplicated")
                self._mark("duplicated")
        if len(payload) > conn.att_mtu - 3:  # a real stack refuses; bumble would silently truncate
            raise ValueError(f"{self.kind}: notification of {len(payload)} bytes exceeds ATT MTU {conn.att_mtu} - 3")
        cccd = self.host.gatt_server.subscribers.get(conn, {}).get(char.handle)
        if not cccd or not cccd[0] & 0x01:  # the central did not enable notifications
            if data:
                self._mark("offline")
            return
        pdu = bytes(ATT_Handle_Value_Notification(attribute_handle=char.handle, attribute_value=payload))
        for _ in range(copies):  # what GATT Server.notify_subscriber sends, without its debug formatting
            self.host.send_l2cap_pdu(conn.handle, ATT_CID, pdu)
        if data:
            self._batch_tx = self.host.host.tx_sdus  # index of its last SDU: delivered iff the central got it

    async def indicate(self, char: Characteristic[bytes], payload: bytes) -> None:
        """Indicate to the connected central (waits for the confirmation)."""
        conn = self.connection
        if conn is None or self.host is None:
            return
        await self.host.gatt_server.indicate_subscriber(conn, char, payload)

    def later(self, coro: Awaitable[None]) -> None:
        """Run ``coro`` after the current ATT exchange completes (e.g. a response indication)."""
        task = asyncio.get_running_loop().create_task(coro)  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ----------------------------------------------------------------------------------
    # boot / radio
    async def power_on(self) -> None:
        world = self.world
        assert world.link is not None
        self.host, self.controller = new_host(self.name, self.address, world.link, world)
        self.host.gatt_server.max_mtu = self.max_mtu
        for service in self.build_services():
            self.host.add_service(service)
        self.host.on("connection", self._on_connection)
        await self.host.power_on()
        await self._advertise()

    async def _advertise(self) -> None:
        assert self.host is not None
        structures: list[tuple[int, bytes]] = [(AdvertisingData.FLAGS, bytes([0x06]))]
        uuids = b"".join(bytes(UUID(u)) for u in self.advertised_service_uuids())
        if uuids:
            structures.append((AdvertisingData.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS, uuids))
        structures.append((AdvertisingData.COMPLETE_LOCAL_NAME, self.name.encode()))
        # Real bands split name and UUIDs between advertisement and scan response (31 bytes
        # each); bumble's emulated controller does not carry scan responses, so one extended
        # advertisement carries both. What bleak reports is the same merged view.
        await self.host.create_advertising_set(
            advertising_parameters=AdvertisingParameters(
                advertising_event_properties=AdvertisingEventProperties(
                    is_connectable=True, is_scannable=False, is_legacy=False),
                primary_advertising_interval_min=ADVERTISING_INTERVAL_MS,
                primary_advertising_interval_max=ADVERTISING_INTERVAL_MS),
            advertising_data=bytes(AdvertisingData(structures)), auto_restart=True)

    def set_in_range(self, in_range: bool) -> None:
        """Walk the band out of radio range (its link is lost, nobody hears it) or back."""
        link, ctrl = self.world.link, self.controller
        if link is None or ctrl is None:
            return
        if not in_range and ctrl in link.controllers:
            self.world.drop_link(self.address)
            link.remove_controller(ctrl)
        elif in_range and ctrl not in link.controllers:
            link.add_controller(ctrl)

    async def power_off(self) -> None:
        for stream in list(self.streams.values()):
            self.stop_stream(stream.name)
        for task in list(getattr(self, "_tasks", ())):
            task.cancel()
        if self.host is not None:
            try:
                await self.host.power_off()
            except Exception:  # pragma: no cover - best effort teardown
                logger.debug("power off of %s failed", self.address, exc_info=True)

    def _on_connection(self, connection: Connection) -> None:
        self.n_connections += 1
        tx = self.host.host.tx_sdus if self.host is not None else 0
        if self._epochs and self._epochs[-1][2] < 0:  # SDUs of the previous link can no longer arrive
            self._epochs[-1][2:] = [tx, self.rx_sdus]
        self._epochs.append([tx, self.rx_sdus, -1, -1])
        if self.faults.refuse_connections:
            self.tally.add("refused")
            self.later(connection.disconnect(LIMITED_RESOURCES))
            return
        self.connection = connection
        self.connected.set()
        connection.on("disconnection", lambda reason: self._on_disconnection(connection, reason))
        self.on_connect(connection)

    def _on_disconnection(self, connection: Connection, reason: int) -> None:
        if self.connection is connection:
            self.connection = None
            self.connected.clear()
        for stream in list(self.streams.values()):
            self.stop_stream(stream.name)
        self.on_disconnect(connection, reason)

    # ----------------------------------------------------------------------------------
    # timing and streaming
    def true_now_s(self) -> float:
        """True seconds since the replay started (0 before the first stream starts)."""
        if self._origin_wall_s is None:
            return 0.0
        return (asyncio.get_running_loop().time() - self._origin_wall_s) * self.speed

    def start_stream(self, stream: SensorStream) -> None:
        """Start sampling ``stream`` now (replacing a stream of the same name)."""
        if stream.name in self.streams:
            self.stop_stream(stream.name)
        rate = stream.sample_rate_hz * self.clock.rate_factor
        if self._origin_wall_s is None:  # the replay starts with the first stream, at its sample 0
            self._origin_wall_s = asyncio.get_running_loop().time()
            stream.next_k = 0
        else:
            stream.next_k = int(math.ceil(self.true_now_s() * rate - 1e-9))
        self.streams[stream.name] = stream
        for log_name, unit, _ in stream.log_names:
            self._logs.setdefault(log_name, ([], [], [], [], [], [], unit))
        stream.task = asyncio.get_running_loop().create_task(self._run(stream))

    def stop_stream(self, name: str) -> None:
        stream = self.streams.pop(name, None)
        if stream is not None and stream.task is not None and stream.task is not asyncio.current_task():
            stream.task.cancel()

    async def _run(self, stream: SensorStream) -> None:
        loop = asyncio.get_running_loop()
        rate = stream.sample_rate_hz * self.clock.rate_factor  # samples per true second
        logs = [(self._logs[name], cols) for name, _, cols in stream.log_names]
        fifo_k = None if self.fifo_s is None else max(stream.batch, int(math.ceil(self.fifo_s * rate)))
        try:
            while self.streams.get(stream.name) is stream:
                now = self.true_now_s()
                f = self.faults
                if f.drop_link_at_s is not None and not self._dropped_link and now >= f.drop_link_at_s:
                    self._dropped_link = True
                    self.tally.add("link_dropped")
                    self.world.drop_link(self.address)
                    return
                k_due = int(math.floor(now * rate + 1e-9)) + 1  # samples 0..k_due-1 are due
                k_end = int(math.floor(self.signal.duration_s * rate + 1e-9)) + 1
                if not stream.flush_partial:  # whole batches only
                    k_end = stream.next_k + (k_end - stream.next_k) // stream.batch * stream.batch
                if not self.signal.loop:
                    k_due = min(k_due, k_end)
                while k_due - stream.next_k >= stream.batch or (
                        not self.signal.loop and k_due == k_end and stream.next_k < k_end):

                    n = min(stream.batch, k_due - stream.next_k)
                    # more than fifo_s behind the sensor: the band's queue is full, this frame is dropped
                    self._overflowing = fifo_k is not None and k_due - stream.next_k > fifo_k
                    k, t_dev, phys = self._samples(stream, rate, n)
                    stream.next_k += n
                    self._status = "ok"
                    self._batch_tx = 0
                    try:
                        sent = np.asarray(await stream.emit(k, t_dev, phys), dtype=np.float64)
                    finally:
                        self._overflowing = False
                    for (log_k, log_t, log_v, log_s, log_n, log_tx, _), cols in logs:
                        log_k.append(k)
                        log_t.append(np.asarray(t_dev, dtype=np.float64))
                        log_v.append(sent[:, cols])
                        log_s.append(self._status)
                        log_n.append(n)
                        log_tx.append(self._batch_tx)
                    if self.streams.get(stream.name) is not stream:
                        return
                    if k_due - stream.next_k >= stream.batch and self._status != "overflow":
                        # catching up after a stall of the loop: let the radio move (a dropped frame
                        # never reached the radio, so dropping runs on: it must outpace the sensor)
                        await asyncio.sleep(0)
                        if self.streams.get(stream.name) is not stream:
                            return
                if not self.signal.loop and stream.next_k >= k_end:
                    await self._flush_radio()
                    self.finished.set()
                    return
                next_due_true = (stream.next_k + stream.batch) / rate
                if f.drop_link_at_s is not None and not self._dropped_link:
                    next_due_true = min(next_due_true, f.drop_link_at_s)
                if not self.signal.loop:
                    next_due_true = min(next_due_true, (k_end - 1) / rate)
                assert self._origin_wall_s is not None
                wake = self._origin_wall_s + next_due_true / self.speed
                await asyncio.sleep(max(0.0, wake - loop.time()))
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("%s stream %s crashed", self.kind, stream.name)
            raise

    def _samples(self, stream: SensorStream, rate: float, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Samples next_k .. next_k + n - 1 of ``stream``: index, device time, physical values.

        Resampled a few seconds ahead at a time (one np.interp per axis per block, not per
        notification); the cache is keyed by the stream object, so a restarted stream starts afresh.
        """
        cache = self._cache.get(stream.name)
        k0 = stream.next_k
        if cache is None or cache[0] is not stream or not (cache[1] <= k0 and k0 + n <= cache[1] + len(cache[2])):
            block = max(n, int(rate * 2.0) + 1)
            k = np.arange(k0, k0 + block, dtype=np.int64)
            t_true = k / rate
            if self.clock.jumps:
                t_dev = np.array([self.clock.device_s(t) for t in t_true])
            else:
                t_dev = self.clock.offset_s + k / stream.sample_rate_hz
            if stream.source == "accel":
                phys = self.signal.accel_g(t_true)
            elif stream.source == "gyro":
                phys = self.signal.gyro_dps(t_true)
            else:
                phys = np.hstack([self.signal.accel_g(t_true), self.signal.gyro_dps(t_true)])
            cache = (stream, k0, k, t_dev, phys)
            self._cache[stream.name] = cache
        i = k0 - cache[1]
        return cache[2][i:i + n], cache[3][i:i + n], cache[4][i:i + n]

    async def _flush_radio(self) -> None:
        """Wait until the last notification has left this band and crossed the link."""
        conn = self.connection
        if conn is not None:
            try:
                async with asyncio.timeout(2.0):
                    await conn.drain()
            except TimeoutError:  # pragma: no cover - a link gone mid-drain
                pass
        for _ in range(8):  # controller -> link -> central controller -> host -> GATT client: a few loop turns
            await asyncio.sleep(0)
        if self.host is None or not self._epochs:
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10.0
        while (self.connection is conn and conn is not None and loop.time() < deadline
               and self.host.host.tx_sdus - self._epochs[-1][0] > self.rx_sdus - self._epochs[-1][1]):
            await asyncio.sleep(0.002)

    def sent(self, stream: str) -> SentSamples:
        """Every sample sent on ``stream`` so far (ground truth after quantisation)."""
        if stream not in self._logs:
            raise KeyError(f"{self.kind} has no stream {stream!r}; streams so far: {sorted(self._logs)}")
        ks, ts, vs, ss, ns, txs, unit = self._logs[stream]
        if not ks:
            return SentSamples(np.zeros(0, np.int64), np.zeros(0), np.zeros((0, 3)), unit, np.zeros(0, "<U10"))
        status = np.array(ss, dtype="<U10")
        tx = np.array(txs, dtype=np.int64)
        sent_ok = np.isin(status, ("ok", "duplicated")) & (tx > 0)
        arrived = np.zeros(len(tx), dtype=bool)
        open_link = np.zeros(len(tx), dtype=bool)
        for i, (tx0, rx0, tx1, rx1) in enumerate(self._epochs):
            live = tx1 < 0
            in_epoch = (tx > tx0) & ((tx <= tx1) if not live else True)
            arrived |= in_epoch & (tx - tx0 <= (self.rx_sdus if live else rx1) - rx0)
            if live and i == len(self._epochs) - 1 and self.connection is not None:
                open_link |= in_epoch
        missing = sent_ok & ~arrived
        status[missing & open_link] = "queued"
        status[missing & ~open_link] = "lost"
        return SentSamples(np.concatenate(ks), np.concatenate(ts), np.concatenate(vs), unit,
                           np.repeat(status, np.array(ns, dtype=np.int64)))
