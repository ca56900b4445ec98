"""Fixtures for the emulator tests: skip cleanly without bumble; a running VirtualWorld; a minimal
echo peripheral for testing the bleak backend itself (a fake below the layer under test).

Echo service: ``control`` (write, write without response) echoes every write reversed on
``data`` (notify); ``secret`` is notify-only (reads must fail with Read Not Permitted);
``blob`` is a 300-byte readable value (needs ATT long reads at MTU 247).
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

pytest.importorskip("bumble", reason="bumble not installed: pip install 'repsense[emulate]'")

from repsense.emulate._device import Props, VirtualDevice  # noqa: E402

ECHO_SERVICE = "6e6f6f70-0000-4000-8000-00000000e000"
CONTROL = "6e6f6f70-0000-4000-8000-00000000e001"
DATA = "6e6f6f70-0000-4000-8000-00000000e002"
SECRET = "6e6f6f70-0000-4000-8000-00000000e003"
BLOB = "6e6f6f70-0000-4000-8000-00000000e004"
BLOB_VALUE = bytes(range(256)) + bytes(44)


class EchoBand(VirtualDevice):
    kind = "echo"
    default_name = "Echo Band"
    max_mtu = 247

    def build_services(self):
        self.data = self.characteristic(DATA, Props.NOTIFY)
        control = self.characteristic(CONTROL, Props.WRITE | Props.WRITE_WITHOUT_RESPONSE, write=self._on_write)
        secret = self.characteristic(SECRET, Props.NOTIFY)
        blob = self.characteristic(BLOB, Props.READ, value=BLOB_VALUE)
        from bumble.gatt import Service
        return [Service(ECHO_SERVICE, [control, self.data, secret, blob])]

    def advertised_service_uuids(self):
        return [ECHO_SERVICE]

    def _on_write(self, conn, data: bytes) -> None:
        self.later(self.notify(self.data, data[::-1], data=False))


@pytest.fixture
def echo():
    return SimpleNamespace(cls=EchoBand, SERVICE=ECHO_SERVICE, CONTROL=CONTROL, DATA=DATA, SECRET=SECRET,
                           BLOB=BLOB, BLOB_VALUE=BLOB_VALUE)


@pytest.fixture
async def world():
    from repsense.emulate import VirtualWorld

    async with VirtualWorld() as w:
        yield w
