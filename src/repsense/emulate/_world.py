"""The in-process radio: a bumble LocalLink, one emulated controller per band, one for the host.

Everything here runs inside one asyncio loop; bumble objects are created inside the running
loop (bumble needs it). Two fixes over bumble's emulated controller live in
:class:`_Controller`:

* **connection cancel**: bumble acknowledges ``LE Create Connection Cancel`` but never ends
  the pending connection, so a connect to an absent band would hang forever. Ours clears it
  and reports ``LE Connection Complete`` with status *Unknown Connection Identifier*, as the
  Core spec (Vol 4, Part E, 7.8.13) requires, so the host's connect times out cleanly.
* **RSSI**: bumble reports -50 dBm for everyone; ours reports each band's configured RSSI.

The ACL data length is 251 on every controller (bumble's default 27 makes 244-byte
notifications about 4x slower).
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import importlib
import itertools
import logging
from typing import TYPE_CHECKING, Any

from bumble import hci
from bumble.controller import Controller
from bumble.device import Device
from bumble.host import Host
from bumble.link import LocalLink

from repsense.emulate.faults import CONNECTION_TIMEOUT

if TYPE_CHECKING:
    from repsense.emulate._backend import BumbleClient, BumbleScanner
    from repsense.emulate._device import VirtualDevice

__all__ = ["VirtualWorld", "current_world", "DEVICE_KINDS", "ACL_DATA_LENGTH"]

logger = logging.getLogger(__name__)

ACL_DATA_LENGTH = 251
CENTRAL_ADDRESS = "C0:FF:EE:00:00:01"

# kind -> "module:Class"; the kind names are the protocol module names.
DEVICE_KINDS: dict[str, str] = {
    "polar_pmd": "repsense.emulate.devices.polar_pmd:VirtualPolar",
    "metawear": "repsense.emulate.devices.metawear:VirtualMetaWear",
    "diy": "repsense.emulate.devices.diy:VirtualDiyBand",
    "infinitime": "repsense.emulate.devices.infinitime:VirtualInfiniTime",
    "movesense": "repsense.emulate.devices.movesense:VirtualMovesense",
    "thingy52": "repsense.emulate.devices.thingy52:VirtualThingy52",
    "banglejs": "repsense.emulate.devices.banglejs:VirtualBangleJs",
}

_current_world: contextvars.ContextVar[VirtualWorld | None] = contextvars.ContextVar(
    "repsense_virtual_world", default=None)


def current_world() -> VirtualWorld | None:
    """The innermost :class:`VirtualWorld` entered in this task's context, if any."""
    return _current_world.get()


def resolve_device_class(kind: str | type[VirtualDevice]) -> type[VirtualDevice]:
    """Class of a virtual band from its kind name (see :data:`DEVICE_KINDS`) or the class itself."""
    if isinstance(kind, type):
        return kind
    try:
        target = DEVICE_KINDS[kind]
    except KeyError:
        raise ValueError(f"unknown device kind {kind!r}; known kinds: {', '.join(sorted(DEVICE_KINDS))}") from None
    module_name, _, class_name = target.partition(":")
    return getattr(importlib.import_module(module_name), class_name)  # type: ignore[no-any-return]


class _Controller(Controller):
    """bumble's emulated controller with a working connection cancel and per-band RSSI."""

    world: VirtualWorld | None = None

    def on_hci_le_create_connection_cancel_command(self, _command: Any) -> Any:
        pending = self.pending_le_connection
        if pending is None:
            return hci.HCI_StatusReturnParameters(hci.HCI_ErrorCode.COMMAND_DISALLOWED_ERROR)
        self.pending_le_connection = None
        event = hci.HCI_LE_Connection_Complete_Event(
            status=hci.HCI_ErrorCode.UNKNOWN_CONNECTION_IDENTIFIER_ERROR, connection_handle=0,
            role=hci.Role.CENTRAL, peer_address_type=pending.peer_address_type,
            peer_address=pending.peer_address, connection_interval=0, peripheral_latency=0,
            supervision_timeout=0, central_clock_accuracy=0)
        # after the Command Complete of the cancel itself
        asyncio.get_running_loop().call_soon(self.send_hci_packet, event)
        return hci.HCI_StatusReturnParameters(hci.HCI_ErrorCode.SUCCESS)

    def create_le_connection(self, peer_address: hci.Address) -> None:
        # A CONNECT_IND only establishes a link if the band is still on the air.
        if self.link is not None and self.link.find_le_controller(peer_address) is None:
            return
        super().create_le_connection(peer_address)

    def on_hci_disconnect_command(self, command: hci.HCI_Disconnect_Command) -> None:
        conn = self.find_le_connection_by_handle(command.connection_handle)
        if conn is not None and self.link is not None and self.link.find_le_controller(conn.peer_address) is None:
            # the peer is gone from the air: nothing to tell it, just end our side
            self._send_hci_command_status(hci.HCI_COMMAND_STATUS_PENDING, command.op_code)
            self.on_le_disconnected(conn, hci.HCI_ErrorCode.CONNECTION_TERMINATED_BY_LOCAL_HOST_ERROR)
            return None
        return super().on_hci_disconnect_command(command)

    def send_hci_packet(self, packet: hci.HCI_Packet) -> None:
        world = self.world
        if isinstance(packet, (hci.HCI_AclDataPacket, hci.HCI_Number_Of_Completed_Packets_Event)):
            # data fast path: bumble formats every packet into a debug string even when debug
            # logging is off, which costs more than the emulated radio itself
            if self.host:
                asyncio.get_running_loop().call_soon(self.host.on_packet, bytes(packet))
            return
        if world is not None and isinstance(packet, hci.HCI_LE_Extended_Advertising_Report_Event):
            reports = [dataclasses.replace(r, rssi=world.rssi_of(r.address)) for r in packet.reports]
            packet = hci.HCI_LE_Extended_Advertising_Report_Event(reports)
        super().send_hci_packet(packet)

    def on_hci_packet(self, packet: hci.HCI_Packet) -> None:
        if isinstance(packet, hci.HCI_AclDataPacket):  # data fast path (see send_hci_packet)
            self.on_hci_acl_data_packet(packet)
        else:
            super().on_hci_packet(packet)


class _Host(Host):
    """bumble's host with a data fast path that skips building unused debug strings.

    It also counts L2CAP SDUs: ``tx_sdus`` handed to the controller by this host (a band's),
    and, on the world's host adapter, every SDU received from a band (``VirtualWorld.on_rx``).
    Both links ends are FIFO, so a band's n-th SDU of a connection reached the central iff the
    central received at least n SDUs on it: that is how ``sent()`` knows what was delivered.
    """

    tx_sdus = 0
    world: VirtualWorld | None = None
    is_central = False

    def send_acl_sdu(self, connection_handle: int, sdu: bytes) -> None:
        self.tx_sdus += 1
        super().send_acl_sdu(connection_handle, sdu)

    def on_l2cap_pdu(self, connection: Any, cid: int, pdu: bytes) -> None:
        if self.is_central and self.world is not None:
            self.world.on_rx(connection)
        super().on_l2cap_pdu(connection, cid, pdu)

    def send_hci_packet(self, packet: hci.HCI_Packet) -> None:
        if isinstance(packet, hci.HCI_AclDataPacket) and self.hci_sink and not self.snooper:
            self.hci_sink.on_packet(bytes(packet))
        else:
            super().send_hci_packet(packet)

    def on_hci_packet(self, packet: hci.HCI_Packet) -> None:
        if isinstance(packet, hci.HCI_AclDataPacket) and not self.snooper:
            self.on_hci_acl_data_packet(packet)
        elif isinstance(packet, hci.HCI_Number_Of_Completed_Packets_Event) and not self.snooper:
            self.on_hci_event_packet(packet)
        else:
            super().on_hci_packet(packet)


def _new_controller(name: str, link: LocalLink, world: VirtualWorld | None) -> _Controller:
    controller = _Controller(name, link=link)
    controller.world = world
    controller.le_acl_data_packet_length = ACL_DATA_LENGTH
    controller.acl_data_packet_length = ACL_DATA_LENGTH
    controller.supported_max_tx_octets = ACL_DATA_LENGTH
    controller.supported_max_rx_octets = ACL_DATA_LENGTH
    controller.suggested_max_tx_octets = ACL_DATA_LENGTH
    return controller


def new_host(name: str, address: str, link: LocalLink, world: VirtualWorld | None) -> tuple[Device, _Controller]:
    """A bumble host (Device) wired to its own emulated controller on ``link``."""
    controller = _new_controller(name, link, world)
    host = _Host(controller_source=controller, controller_sink=controller)
    host.world = world
    host.is_central = address == (world.central_address if world is not None else CENTRAL_ADDRESS)
    device = Device(name=name, address=hci.Address(address, hci.Address.RANDOM_DEVICE_ADDRESS), host=host)
    return device, controller


class VirtualWorld:
    """An in-process BLE radio with a host adapter and any number of emulated bands.

    Use as ``async with VirtualWorld() as world:``; inside, bleak's ``BleakScanner`` and
    ``BleakClient`` reach the bands with ``backend=world.scanner_backend`` /
    ``backend=world.client_backend`` (or the plain :class:`~repsense.emulate.BumbleScanner` /
    :class:`~repsense.emulate.BumbleClient`, which find the world entered in the current task).

    Parameters
    ----------
    central_address : the host adapter's (static random) address.
    """

    def __init__(self, *, central_address: str = CENTRAL_ADDRESS) -> None:
        self.central_address = central_address
        self.devices: dict[str, VirtualDevice] = {}
        self._addresses = (f"D0:5E:{(n >> 24) & 0xFF:02X}:{(n >> 16) & 0xFF:02X}:{(n >> 8) & 0xFF:02X}:{n & 0xFF:02X}"
                           for n in itertools.count(1))
        self._start_tasks: list[asyncio.Task[None]] = []
        self._token: contextvars.Token[VirtualWorld | None] | None = None
        self._scanners = 0
        self._running = False
        self.link: LocalLink | None = None
        self.central: Device | None = None
        self._central_controller: _Controller | None = None
        self.connect_lock: asyncio.Lock | None = None
        self._client_backend: type[BumbleClient] | None = None
        self._scanner_backend: type[BumbleScanner] | None = None

    # lifecycle ---------------------------------------------------------------------------
    async def __aenter__(self) -> VirtualWorld:
        await self.start()
        self._token = _current_world.set(self)
        return self

    async def __aexit__(self, *exc: object) -> None:
        try:
            await self.close()
        finally:
            if self._token is not None:
                try:
                    _current_world.reset(self._token)
                except ValueError:  # exited from another context; nothing to restore there
                    pass
                self._token = None

    async def start(self) -> None:
        """Create the link and the host adapter (inside the running loop)."""
        if self._running:
            return
        self.link = LocalLink()
        self.central, self._central_controller = new_host("repsense-host", self.central_address, self.link, self)
        self.connect_lock = asyncio.Lock()
        await self.central.power_on()
        self._running = True

    async def close(self) -> None:
        """Stop every band, drop every link, power everything off."""
        if not self._running:
            return
        self._running = False
        for task in self._start_tasks:
            if not task.done():
                task.cancel()
        await asyncio.gather(*self._start_tasks, return_exceptions=True)
        for dev in list(self.devices.values()):
            await dev.power_off()
        if self.central is not None:
            try:
                await self.central.power_off()
            except Exception:  # pragma: no cover - best effort teardown
                logger.debug("central power off failed", exc_info=True)

    @property
    def running(self) -> bool:
        return self._running

    # bands -------------------------------------------------------------------------------
    def add_device(self, kind: str | type[VirtualDevice], *, name: str | None = None, address: str | None = None,
                   **options: Any) -> VirtualDevice:
        """Power on and start advertising a virtual band; returns it at once.

        The band finishes booting in the background; scanners and clients of this world wait
        for it. ``options`` go to the band's class (``recording=``, ``speed=``, ``faults=``,
        ``clock=``, ``rssi_dbm=``, ``loop=`` and per-kind settings).
        """
        if not self._running or self.link is None:
            raise RuntimeError("VirtualWorld is not running: use 'async with VirtualWorld() as world:'")
        cls = resolve_device_class(kind)
        address = (address or next(self._addresses)).upper()
        if address in self.devices:
            raise ValueError(f"a virtual band with address {address} already exists")
        dev = cls(self, name=name, address=address, **options)
        self.devices[address] = dev
        self._start_tasks.append(asyncio.get_running_loop().create_task(dev.power_on()))
        return dev

    async def settle(self) -> None:
        """Wait until every band added so far has booted (raises a band's boot error)."""
        pending = [t for t in self._start_tasks if not t.done()]
        if pending:
            await asyncio.gather(*pending)
        for task in self._start_tasks:
            if task.done() and not task.cancelled() and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]

    def device(self, address: str) -> VirtualDevice | None:
        return self.devices.get(address.upper())

    def on_rx(self, connection: Any) -> None:
        """The host adapter received one L2CAP SDU on ``connection`` (counted for its band)."""
        dev = getattr(connection, "_repsense_band", None)
        if dev is None:
            address = connection.peer_address.to_string(with_type_qualifier=False).upper()
            dev = self.devices.get(address)
            if dev is None:
                return
            connection._repsense_band = dev
        dev.rx_sdus += 1

    def rssi_of(self, address: hci.Address) -> int:
        dev = self.devices.get(address.to_string(with_type_qualifier=False).upper())
        return dev.rssi_dbm if dev is not None else -127

    # radio events ------------------------------------------------------------------------
    def drop_link(self, address: str, reason: int = CONNECTION_TIMEOUT) -> bool:
        """Lose the link to a band without any LL exchange, as a supervision timeout does.

        Both controllers report *Disconnection Complete* with ``reason``. Returns False if the
        band had no link.
        """
        dev = self.devices.get(address.upper())
        central = self._central_controller
        if dev is None or central is None or dev.controller is None:
            return False
        dropped = False
        for controller, peer in ((central, dev.controller.random_address),
                                 (dev.controller, central.random_address)):
            conn = controller.le_connections.get(peer)
            if conn is None:
                for c in list(controller.le_connections.values()):
                    if c.peer_address == peer:
                        conn = c
            if conn is not None:
                controller.on_le_disconnected(conn, reason)
                dropped = True
        return dropped

    # scanning (shared by every scanner of this world) -------------------------------------
    async def acquire_scan(self) -> None:
        assert self.central is not None
        self._scanners += 1
        if self._scanners == 1:
            await self.central.start_scanning(filter_duplicates=False)

    async def release_scan(self) -> None:
        assert self.central is not None
        self._scanners = max(0, self._scanners - 1)
        if self._scanners == 0 and self.central.is_scanning and self._running:
            await self.central.stop_scanning()

    # bleak backends bound to this world ---------------------------------------------------
    @property
    def client_backend(self) -> type[BumbleClient]:
        """A :class:`~repsense.emulate.BumbleClient` subclass bound to this world (for ``backend=``)."""
        if self._client_backend is None:
            from repsense.emulate._backend import BumbleClient
            self._client_backend = type("BumbleClient", (BumbleClient,), {"bound_world": self})
        return self._client_backend

    @property
    def scanner_backend(self) -> type[BumbleScanner]:
        """A :class:`~repsense.emulate.BumbleScanner` subclass bound to this world (for ``backend=``)."""
        if self._scanner_backend is None:
            from repsense.emulate._backend import BumbleScanner
            self._scanner_backend = type("BumbleScanner", (BumbleScanner,), {"bound_world": self})
        return self._scanner_backend
