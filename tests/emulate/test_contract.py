"""Fails loudly when a bleak upgrade changes the backend API our emulator implements."""

from __future__ import annotations

import inspect
from importlib.metadata import version

from bleak.backends.client import BaseBleakClient
from bleak.backends.scanner import BaseBleakScanner

from repsense.emulate import BumbleClient, BumbleScanner

EXPECTED_CLIENT_ABSTRACT = {
    "mtu_size", "connect", "disconnect", "pair", "unpair", "is_connected", "read_gatt_char",
    "read_gatt_descriptor", "write_gatt_char", "write_gatt_descriptor", "start_notify", "stop_notify",
}
EXPECTED_SCANNER_ABSTRACT = {"start", "stop"}
EXPECTED_CLIENT_SIGNATURES = {
    "__init__": ["self", "address_or_ble_device", "disconnected_callback", "timeout", "kwargs"],
    "connect": ["self", "pair", "kwargs"],
    "read_gatt_char": ["self", "characteristic", "use_cached", "kwargs"],
    "read_gatt_descriptor": ["self", "descriptor", "use_cached", "kwargs"],
    "write_gatt_char": ["self", "characteristic", "data", "response"],
    "write_gatt_descriptor": ["self", "descriptor", "data"],
    "start_notify": ["self", "characteristic", "callback", "kwargs"],
    "stop_notify": ["self", "characteristic"],
}
EXPECTED_SCANNER_INIT = ["self", "detection_callback", "service_uuids"]


def _params(func) -> list[str]:
    return list(inspect.signature(func).parameters)


def test_bleak_version_is_in_the_supported_range():
    v = version("bleak")
    major_minor = tuple(int(p) for p in v.split(".")[:2])
    assert (3, 1) <= major_minor < (4, 0), f"emulator backend written for bleak >=3.1,<4; found {v}"


def test_abstract_methods_are_the_ones_we_implement():
    assert set(BaseBleakClient.__abstractmethods__) == EXPECTED_CLIENT_ABSTRACT
    assert set(BaseBleakScanner.__abstractmethods__) == EXPECTED_SCANNER_ABSTRACT
    assert not BumbleClient.__abstractmethods__ and not BumbleScanner.__abstractmethods__


def test_base_signatures_unchanged():
    for name, params in EXPECTED_CLIENT_SIGNATURES.items():
        assert _params(getattr(BaseBleakClient, name)) == params, f"BaseBleakClient.{name} signature changed"
    assert _params(BaseBleakScanner.__init__) == EXPECTED_SCANNER_INIT
    for name in ("register_detection_callback", "is_allowed_uuid", "call_detection_callbacks",
                 "create_or_update_device"):
        assert callable(getattr(BaseBleakScanner, name)), f"BaseBleakScanner.{name} is gone"


def test_our_overrides_accept_what_bleak_passes():
    # BleakClient passes services=, timeout=, bluez=, winrt= and any extra kwargs to the backend
    sig = inspect.signature(BumbleClient.__init__)
    assert "kwargs" in sig.parameters and "services" in sig.parameters and "timeout" in sig.parameters
    # BleakScanner passes (detection_callback, service_uuids, scanning_mode, bluez=, cb=, **kwargs)
    sig = inspect.signature(BumbleScanner.__init__)
    assert list(sig.parameters)[:4] == ["self", "detection_callback", "service_uuids", "scanning_mode"]
    assert "kwargs" in sig.parameters
    for name in EXPECTED_CLIENT_SIGNATURES:
        if name != "__init__":
            ours = [p for p in _params(getattr(BumbleClient, name)) if p != "kwargs"]
            theirs = [p for p in EXPECTED_CLIENT_SIGNATURES[name] if p != "kwargs"]
            assert ours == theirs, f"BumbleClient.{name} drifted from bleak's signature"
