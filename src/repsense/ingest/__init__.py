"""BLE ingestion: scan, connect, configure, stream, reconnect (bleak lives in ``transport_bleak`` only)."""

from __future__ import annotations

from .drivers import DRIVERS, Driver, driver_for, known_kinds
from .session import DeviceSession, HostClock, LinkState, SessionOptions
from .transport_bleak import BleakLink, FoundDevice, scan

__all__ = ["DRIVERS", "BleakLink", "DeviceSession", "Driver", "FoundDevice", "HostClock", "LinkState",
           "SessionOptions", "driver_for", "known_kinds", "scan"]
