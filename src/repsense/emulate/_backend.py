"""bleak backends over the emulated radio: ``BleakScanner(backend=BumbleScanner)`` and
``BleakClient(address, backend=BumbleClient)``.

They implement bleak 3.x's ``BaseBleakScanner`` / ``BaseBleakClient`` with a bumble host as
the "OS stack" and behave like bleak's BlueZ backend where it matters to an ingester:

* connect = LE connection (bounded by bleak's ``timeout``), then an ATT MTU exchange
  requesting 517 as BlueZ does (the band caps it), then full service discovery;
* ``mtu_size`` is the negotiated ATT MTU;
* ``disconnected_callback`` fires on *every* disconnection, including one asked for with
  ``disconnect()`` (BlueZ does the same);
* ATT error responses raise ``BleakGATTProtocolError`` with the ATT error code;
* addresses are ``AA:BB:CC:DD:EE:FF`` upper case, UUIDs are bleak-normalised lower case.

``BleakClient(..., mtu=23)`` (extra keyword passed through bleak) skips the MTU exchange, to
test what a band does with a stack that never raises the MTU.

The world is found, in order: a ``world=`` keyword passed through bleak, the class bound by
:attr:`VirtualWorld.client_backend`, a ``BLEDevice`` found by our scanner, the world entered
in the current task.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, ClassVar

from bleak.args import SizedBuffer
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, AdvertisementDataCallback, BaseBleakScanner
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakDeviceNotFoundError, BleakError, BleakGATTProtocolError
from bleak.uuids import normalize_uuid_str
from bumble import core, gatt_client, hci
from bumble.att import ATT_Error, Opcode
from bumble.core import AdvertisingData
from bumble.device import Advertisement, Connection, Peer
from bumble.gatt import Characteristic

from repsense.emulate._world import VirtualWorld, current_world

__all__ = ["BumbleClient", "BumbleScanner", "REQUESTED_MTU", "bleak_uuid", "bleak_address"]

logger = logging.getLogger(__name__)

REQUESTED_MTU = 517  # what BlueZ asks for in its MTU exchange

_UUID_LIST_TYPES = (
    AdvertisingData.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
    AdvertisingData.INCOMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
    AdvertisingData.COMPLETE_LIST_OF_32_BIT_SERVICE_CLASS_UUIDS,
    AdvertisingData.INCOMPLETE_LIST_OF_32_BIT_SERVICE_CLASS_UUIDS,
    AdvertisingData.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
    AdvertisingData.INCOMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
)
_SERVICE_DATA_TYPES = (
    AdvertisingData.SERVICE_DATA_16_BIT_UUID,
    AdvertisingData.SERVICE_DATA_32_BIT_UUID,
    AdvertisingData.SERVICE_DATA_128_BIT_UUID,
)
_PROPERTY_NAMES: tuple[tuple[Characteristic.Properties, Any], ...] = (
    (Characteristic.Properties.BROADCAST, "broadcast"),
    (Characteristic.Properties.READ, "read"),
    (Characteristic.Properties.WRITE_WITHOUT_RESPONSE, "write-without-response"),
    (Characteristic.Properties.WRITE, "write"),
    (Characteristic.Properties.NOTIFY, "notify"),
    (Characteristic.Properties.INDICATE, "indicate"),
    (Characteristic.Properties.AUTHENTICATED_SIGNED_WRITES, "authenticated-signed-writes"),
    (Characteristic.Properties.EXTENDED_PROPERTIES, "extended-properties"),
)


def bleak_uuid(uuid: core.UUID) -> str:
    """bumble UUID -> bleak's normalised lower-case 128-bit string."""
    return normalize_uuid_str(uuid.to_hex_str("-"))


def bleak_address(address: hci.Address) -> str:
    """bumble (typed) address -> bleak's ``AA:BB:CC:DD:EE:FF``."""
    return address.to_string(with_type_qualifier=False).upper()


def _resolve_world(owner: Any, explicit: VirtualWorld | None, ble_device: Any = None) -> VirtualWorld:
    world = explicit or getattr(owner, "bound_world", None)
    if world is None and isinstance(ble_device, BLEDevice):
        world = getattr(ble_device.details, "world", None)
    world = world or current_world()
    if world is None or not world.running:
        raise BleakError("no running VirtualWorld: create the client/scanner inside 'async with VirtualWorld()' "
                         "or pass backend=world.client_backend / world.scanner_backend")
    return world


class _GattClient(gatt_client.Client):
    """bumble's GATT client with a notification fast path (no unused debug string per PDU)."""

    def on_gatt_pdu(self, att_pdu: Any) -> None:
        if att_pdu.op_code == Opcode.ATT_HANDLE_VALUE_NOTIFICATION:
            self.on_att_handle_value_notification(att_pdu)
        else:
            super().on_gatt_pdu(att_pdu)


class _Details:
    """``BLEDevice.details`` of an emulated band: the world it lives in and its raw advertisement."""

    __slots__ = ("world", "advertisement")

    def __init__(self, world: VirtualWorld, advertisement: Advertisement) -> None:
        self.world = world
        self.advertisement = advertisement


class BumbleScanner(BaseBleakScanner):
    """bleak scanner backend listening on the emulated radio."""

    bound_world: ClassVar[VirtualWorld | None] = None

    def __init__(self, detection_callback: AdvertisementDataCallback | None, service_uuids: list[str] | None,
                 scanning_mode: str = "active", *, world: VirtualWorld | None = None, **kwargs: Any) -> None:
        super().__init__(detection_callback, service_uuids)
        self._explicit_world = world
        self._world: VirtualWorld | None = None
        self._scanning = False

    async def start(self) -> None:
        world = _resolve_world(self, self._explicit_world)
        await world.settle()
        assert world.central is not None
        self._world = world
        self.seen_devices = {}
        world.central.on("advertisement", self._on_advertisement)
        await world.acquire_scan()
        self._scanning = True

    async def stop(self) -> None:
        world = self._world
        if world is None or not self._scanning:
            return
        self._scanning = False
        assert world.central is not None
        world.central.remove_listener("advertisement", self._on_advertisement)
        await world.release_scan()

    def _on_advertisement(self, adv: Advertisement) -> None:
        assert self._world is not None
        data = adv.data
        uuids: list[str] = []
        for ad_type in _UUID_LIST_TYPES:
            for group in data.get_all(ad_type):
                for u in group:  # type: ignore[union-attr]
                    if bleak_uuid(u) not in uuids:  # the host merges scan responses: no repeats
                        uuids.append(bleak_uuid(u))
        service_data: dict[str, bytes] = {}
        for ad_type in _SERVICE_DATA_TYPES:
            for uuid, payload in data.get_all(ad_type):  # type: ignore[misc]
                service_data[bleak_uuid(uuid)] = bytes(payload)
        manufacturer: dict[int, bytes] = {}
        for raw in data.get_all(AdvertisingData.MANUFACTURER_SPECIFIC_DATA, raw=True):
            manufacturer[int.from_bytes(raw[:2], "little")] = bytes(raw[2:])
        name = data.get(AdvertisingData.COMPLETE_LOCAL_NAME) or data.get(AdvertisingData.SHORTENED_LOCAL_NAME)
        tx = data.get(AdvertisingData.TX_POWER_LEVEL)
        if not self.is_allowed_uuid(uuids):
            return
        address = bleak_address(adv.address)
        ad = AdvertisementData(local_name=name, manufacturer_data=manufacturer, service_data=service_data,
                               service_uuids=uuids, tx_power=tx, rssi=adv.rssi, platform_data=(adv,))
        device = self.create_or_update_device(address, address, name, _Details(self._world, adv), ad)
        self.call_detection_callbacks(device, ad)


class BumbleClient(BaseBleakClient):
    """bleak client backend talking GATT to an emulated band."""

    bound_world: ClassVar[VirtualWorld | None] = None
    requested_mtu: ClassVar[int] = REQUESTED_MTU

    def __init__(self, address_or_ble_device: BLEDevice | str, *, disconnected_callback: Callable[[], None] | None,
                 timeout: float = 10.0, services: set[str] | None = None, world: VirtualWorld | None = None,
                 mtu: int | None = None, **kwargs: Any) -> None:
        super().__init__(address_or_ble_device, disconnected_callback=disconnected_callback, timeout=timeout)
        self.address = self.address.upper()
        self._world = _resolve_world(self, world, address_or_ble_device)
        self._service_filter = services
        self._requested_mtu = int(mtu) if mtu is not None else self.requested_mtu
        if not 23 <= self._requested_mtu <= 517:
            raise ValueError(f"mtu must be in 23..517, got {mtu}")
        self._connection: Connection | None = None
        self._peer: Peer | None = None
        self._mtu = 23
        self._notify: dict[int, tuple[Any, Callable[[bytes], None]]] = {}
        self._disconnected = asyncio.Event()
        self._disconnected.set()

    # info ------------------------------------------------------------------------------
    @property
    def name(self) -> str:
        dev = self._world.device(self.address)
        return dev.name if dev is not None else self.address.replace(":", "-")

    @property
    def mtu_size(self) -> int:
        return self._mtu

    @property
    def is_connected(self) -> bool:
        return self._connection is not None

    # connection ------------------------------------------------------------------------
    async def connect(self, pair: bool, **kwargs: Any) -> None:
        if self._connection is not None:
            return
        world = self._world
        await world.settle()
        if world.device(self.address) is None:
            raise BleakDeviceNotFoundError(self.address, f"Device with address {self.address} was not found.")
        assert world.central is not None and world.connect_lock is not None
        timeout = float(kwargs.get("timeout", self._timeout))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            async with asyncio.timeout(timeout):  # waiting for another client's connect counts too
                await world.connect_lock.acquire()
        except TimeoutError:
            raise TimeoutError(f"connect to {self.address} timed out after {timeout:.1f} s (adapter busy)") from None
        try:  # the adapter allows one pending LE connect at a time
            remaining = max(0.05, deadline - loop.time())
            connect = asyncio.ensure_future(world.central.connect(
                hci.Address(self.address, hci.Address.RANDOM_DEVICE_ADDRESS), timeout=remaining))
            try:
                connection = await asyncio.shield(connect)
            except asyncio.CancelledError:
                # our caller gave up: bumble must still cancel the pending connection
                if not connect.done():
                    await asyncio.shield(world.central.cancel_connection())
                    await asyncio.gather(connect, return_exceptions=True)
                raise
            except (core.TimeoutError, core.ConnectionError) as exc:
                raise TimeoutError(f"connect to {self.address} timed out after {timeout:.1f} s") from exc
        finally:
            world.connect_lock.release()
        connection.gatt_client = _GattClient(connection)  # before any GATT traffic on this link
        self._connection = connection
        self._disconnected.clear()
        connection.on("disconnection", self._on_disconnection)
        if not self._alive(connection):  # the band hung up before we even listened
            self._on_disconnection(hci.HCI_ErrorCode.REMOTE_USER_TERMINATED_CONNECTION_ERROR)
            raise BleakError(f"{self.address} disconnected during connection setup")
        try:
            async with asyncio.timeout(max(1.0, deadline - loop.time())):
                self._peer = Peer(connection)
                if self._requested_mtu > 23:  # 23: behave like a stack that never exchanges the MTU
                    self._mtu = await self._peer.request_mtu(self._requested_mtu)
                self.services = await self._discover()
        except (core.BaseBumbleError, asyncio.CancelledError, TimeoutError, ATT_Error) as exc:
            lost = self._connection is None
            await self._teardown()
            if lost:
                raise BleakError(f"{self.address} disconnected during connection setup") from exc
            raise
        if self._connection is None:
            raise BleakError(f"{self.address} disconnected during connection setup")

    async def _discover(self) -> BleakGATTServiceCollection:
        assert self._peer is not None
        peer = self._peer
        wanted = None
        if self._service_filter:
            wanted = [core.UUID(u) for u in self._service_filter]
        services = await peer.discover_services(wanted or ())  # the filtered list, not peer.services
        collection = BleakGATTServiceCollection()
        for service in services:
            bservice = BleakGATTService(service, service.handle, bleak_uuid(service.uuid))
            collection.add_service(bservice)
            for char in await service.discover_characteristics():
                props = [name for flag, name in _PROPERTY_NAMES if char.properties & flag]
                bchar = BleakGATTCharacteristic(char, char.handle, bleak_uuid(char.uuid), props,
                                                lambda: self._mtu - 3, bservice)
                collection.add_characteristic(bchar)
                for desc in await char.discover_descriptors():
                    collection.add_descriptor(BleakGATTDescriptor(desc, desc.handle, bleak_uuid(desc.type), bchar))
        return collection

    def _on_disconnection(self, reason: int) -> None:
        logger.debug("%s disconnected, reason 0x%02X", self.address, reason)
        self._connection = None
        self._peer = None
        self._notify.clear()
        self.services = None
        self._mtu = 23
        self._disconnected.set()
        if self._disconnected_callback is not None:
            asyncio.get_running_loop().call_soon(self._disconnected_callback)

    def _alive(self, connection: Connection) -> bool:
        central = self._world.central
        return central is not None and central.lookup_connection(connection.handle) is connection

    async def _teardown(self) -> None:
        conn = self._connection
        if conn is None:
            return
        if self._alive(conn):
            try:
                async with asyncio.timeout(5.0):
                    await conn.disconnect()
            except (Exception, TimeoutError):  # the link may already be gone
                logger.debug("disconnect of %s failed", self.address, exc_info=True)
        try:
            async with asyncio.timeout(5.0):
                await self._disconnected.wait()
        except TimeoutError:  # never hang on teardown; forget the link
            self._on_disconnection(hci.HCI_ErrorCode.CONNECTION_TERMINATED_BY_LOCAL_HOST_ERROR)

    async def disconnect(self) -> None:
        if self._connection is None:
            return
        async with asyncio.timeout(10):
            await self._teardown()

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError("pairing is not emulated (the emulated bands need none)")

    async def unpair(self) -> None:
        raise NotImplementedError("pairing is not emulated (the emulated bands need none)")

    # GATT I/O --------------------------------------------------------------------------
    def _require_peer(self) -> Peer:
        if self._peer is None:
            raise BleakError("Not connected")
        return self._peer

    async def read_gatt_char(self, characteristic: BleakGATTCharacteristic, *, use_cached: bool = False,
                             **kwargs: Any) -> bytearray:
        peer = self._require_peer()
        try:
            return bytearray(await peer.read_value(characteristic.obj))
        except ATT_Error as exc:
            raise BleakGATTProtocolError(exc.error_code) from exc

    async def read_gatt_descriptor(self, descriptor: BleakGATTDescriptor, *, use_cached: bool = False,
                                   **kwargs: Any) -> bytearray:
        peer = self._require_peer()
        try:
            return bytearray(await peer.read_value(descriptor.handle))
        except ATT_Error as exc:
            raise BleakGATTProtocolError(exc.error_code) from exc

    async def write_gatt_char(self, characteristic: BleakGATTCharacteristic, data: SizedBuffer,
                              response: bool) -> None:
        peer = self._require_peer()
        payload = bytes(data)
        if not response and len(payload) > self._mtu - 3:
            raise BleakError(f"write without response of {len(payload)} bytes exceeds MTU - 3 = {self._mtu - 3}")
        try:
            await peer.write_value(characteristic.obj, payload, with_response=response)
        except ATT_Error as exc:
            raise BleakGATTProtocolError(exc.error_code) from exc

    async def write_gatt_descriptor(self, descriptor: BleakGATTDescriptor, data: SizedBuffer) -> None:
        peer = self._require_peer()
        try:
            await peer.write_value(descriptor.handle, bytes(data), with_response=True)
        except ATT_Error as exc:
            raise BleakGATTProtocolError(exc.error_code) from exc

    async def start_notify(self, characteristic: BleakGATTCharacteristic, callback: NotifyCallback,
                           **kwargs: Any) -> None:
        peer = self._require_peer()
        if characteristic.handle in self._notify:
            raise BleakError(f"notifications already started on {characteristic.uuid}")

        def on_value(value: bytes) -> None:
            callback(bytearray(value))

        try:
            await peer.subscribe(characteristic.obj, on_value, prefer_notify=True)
        except ATT_Error as exc:
            raise BleakGATTProtocolError(exc.error_code) from exc
        self._notify[characteristic.handle] = (characteristic.obj, on_value)

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        peer = self._require_peer()
        entry = self._notify.pop(characteristic.handle, None)
        if entry is None:
            return
        try:
            await peer.unsubscribe(entry[0], entry[1])
        except ATT_Error as exc:
            raise BleakGATTProtocolError(exc.error_code) from exc
