"""The only module of repsense that imports bleak: scanning and one GATT link per band.

The notification callback does two things and nothing else: stamp the host arrival time
(``time.monotonic_ns()``, immune to NTP steps; the consumer turns it into UTC with one anchor
taken at start) and ``queue.put_nowait((t_host_ns, uuid, bytes))``. Decoding, clock mapping and
storage happen in the consumer task of :class:`repsense.ingest.session.DeviceSession`.

``backend`` is passed straight to bleak (``BleakScanner(backend=...)``, ``BleakClient(backend=...)``):
None is the platform's real Bluetooth stack, ``repsense.emulate`` provides an emulated one.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from bleak import BleakClient, BleakScanner
from bleak.exc import BleakError

from ..errors import DeviceError

__all__ = ["BleakLink", "FoundDevice", "LinkError", "scan"]

#: Errors of a link that a reconnect may cure (bleak's, the OS's, timeouts).
LinkError = (BleakError, OSError, TimeoutError, asyncio.TimeoutError, EOFError)


@dataclass(frozen=True, slots=True)
class FoundDevice:
    """One advertiser seen by :func:`scan`."""

    address: str
    name: str
    service_uuids: tuple[str, ...]
    rssi_dbm: int | None
    handle: Any = None  # bleak's BLEDevice (connect by it: faster than by address on some OSes)


def _matches(dev: Any, adv: Any, *, name: str | None, address: str | None) -> bool:
    if address is not None and dev.address.upper() != address.upper():
        return False
    if name is not None:
        adv_name = adv.local_name or dev.name or ""
        if name.lower() not in adv_name.lower():
            return False
    return True


async def scan(timeout_s: float = 5.0, *, name: str | None = None, address: str | None = None,
               service_uuids: Iterable[str] | None = None, backend: Any = None,
               stop_after: int | None = None,
               stop_when: Callable[[list[FoundDevice]], bool] | None = None) -> list[FoundDevice]:
    """Scan for advertisers, filtered by name substring, address and advertised services.

    Parameters
    ----------
    timeout_s : how long to listen.
    name : case-insensitive substring of the advertised (or cached) name.
    address : exact address (case-insensitive).
    service_uuids : only advertisers of at least one of these services (filtered by the OS).
    backend : bleak scanner backend class; None for the real one.
    stop_after : return as soon as this many matching devices were seen.
    stop_when : return as soon as this is true of the devices seen so far.

    Returns
    -------
    Matching devices, strongest signal first.
    """
    found: dict[str, FoundDevice] = {}
    enough = asyncio.Event()
    uuids = [u.lower() for u in service_uuids] if service_uuids else None

    def on_adv(dev: Any, adv: Any) -> None:
        if not _matches(dev, adv, name=name, address=address):
            return
        services = tuple(sorted(u.lower() for u in (adv.service_uuids or ())))
        if uuids and not set(services) & set(uuids):
            return
        prev = found.get(dev.address.upper())
        found[dev.address.upper()] = FoundDevice(
            dev.address.upper(), adv.local_name or dev.name or (prev.name if prev else ""),
            tuple(sorted(set(services) | set(prev.service_uuids if prev else ()))), adv.rssi, dev)
        if (stop_after is not None and len(found) >= stop_after) or \
                (stop_when is not None and stop_when(list(found.values()))):
            enough.set()

    kwargs: dict[str, Any] = {"detection_callback": on_adv, "service_uuids": uuids}
    if backend is not None:
        kwargs["backend"] = backend
    async with BleakScanner(**kwargs):
        try:
            await asyncio.wait_for(enough.wait(), timeout_s)
        except TimeoutError:
            pass
    return sorted(found.values(), key=lambda d: -(d.rssi_dbm if d.rssi_dbm is not None else -999))


Notification = tuple[int, str, bytes]  # (host monotonic ns, characteristic uuid, payload)


class BleakLink:
    """One GATT connection to one band through bleak.

    Parameters
    ----------
    target : address string or a :class:`FoundDevice`.
    queue : where notifications go as ``(t_host_monotonic_ns, uuid, bytes)``.
    on_disconnect : called (from the loop) when the link drops, expected or not.
    backend : bleak client backend class; None for the real one.
    """

    def __init__(self, target: str | FoundDevice, queue: asyncio.Queue[Notification | None], *,
                 on_disconnect: Callable[[], None] | None = None, backend: Any = None) -> None:
        self.address = target.address if isinstance(target, FoundDevice) else str(target).upper()
        self._target = target.handle if isinstance(target, FoundDevice) and target.handle is not None else self.address
        self._queue = queue
        self._on_disconnect = on_disconnect
        self._backend = backend
        self._client: BleakClient | None = None
        self.n_queue_full = 0

    @property
    def is_connected(self) -> bool:
        return self._client is not None and self._client.is_connected

    @property
    def name(self) -> str:
        return self._client.name if self._client is not None else ""

    @property
    def mtu(self) -> int:
        return int(self._client.mtu_size) if self._client is not None else 23

    @property
    def service_uuids(self) -> tuple[str, ...]:
        if self._client is None or self._client.services is None:
            return ()
        return tuple(sorted(s.uuid.lower() for s in self._client.services))

    def _disconnected(self, _client: Any) -> None:
        if self._on_disconnect is not None:
            self._on_disconnect()

    async def connect(self, timeout_s: float = 10.0) -> None:
        """Connect and discover services (raises a :data:`LinkError` on failure)."""
        kwargs: dict[str, Any] = {"disconnected_callback": self._disconnected, "timeout": timeout_s}
        if self._backend is not None:
            kwargs["backend"] = self._backend
        client = BleakClient(self._target, **kwargs)
        await client.connect()
        self._client = client

    async def disconnect(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            try:
                await client.disconnect()
            except LinkError:
                pass

    def _require(self) -> BleakClient:
        if self._client is None or not self._client.is_connected:
            raise DeviceError(f"{self.address}: not connected")
        return self._client

    async def write(self, uuid: str, data: bytes, *, response: bool = True) -> None:
        await self._require().write_gatt_char(uuid, data, response=response)

    async def read(self, uuid: str) -> bytes:
        return bytes(await self._require().read_gatt_char(uuid))

    async def subscribe(self, uuid: str) -> None:
        """Start notifications of ``uuid`` into the queue."""
        queue, key = self._queue, uuid.lower()
        mono = time.monotonic_ns

        def on_notify(_char: Any, data: bytearray) -> None:
            try:
                queue.put_nowait((mono(), key, bytes(data)))
            except asyncio.QueueFull:
                self.n_queue_full += 1

        await self._require().start_notify(uuid, on_notify)

    async def unsubscribe(self, uuid: str) -> None:
        try:
            await self._require().stop_notify(uuid)
        except (*LinkError, DeviceError):
            pass
