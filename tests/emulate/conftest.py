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


class Notifications:
    """Collects notifications of one characteristic (the test's receiver); wait for a count or quiet."""

    def __init__(self) -> None:
        self.values: list[bytes] = []

    def __call__(self, _char, data: bytearray) -> None:
        self.values.append(bytes(data))

    async def wait_for(self, n: int, timeout_s: float = 5.0) -> None:
        import asyncio

        async with asyncio.timeout(timeout_s):
            while len(self.values) < n:
                await asyncio.sleep(0.005)

    async def wait_quiet(self, quiet_s: float = 0.15, timeout_s: float = 10.0) -> None:
        """Wait until no notification arrived for ``quiet_s``."""
        import asyncio

        async with asyncio.timeout(timeout_s):
            seen = -1
            while seen != len(self.values):
                seen = len(self.values)
                await asyncio.sleep(quiet_s)


@pytest.fixture
def notes():
    return Notifications


@pytest.fixture
def motion(rng):
    """A 3-s recording at 400 Hz with smooth random motion: accel in g (|a| up to ~3 g), gyro in deg/s."""
    import numpy as np

    from repsense.types import Recording, RecordingMeta, Stream

    n = 1200
    t_s = np.arange(n) / 400.0
    kernel = np.hanning(41)
    kernel /= kernel.sum()
    acc = np.stack([np.convolve(rng.normal(0, 6.0, n), kernel, "same") for _ in range(3)], axis=1)
    acc[:, 2] += 1.0
    gyr = np.stack([np.convolve(rng.normal(0, 900.0, n), kernel, "same") for _ in range(3)], axis=1)
    return Recording(accel=Stream(t_s, acc.astype(np.float32), "g"), meta=RecordingMeta(t0_utc_ns=0),
                     gyro=Stream(t_s.copy(), gyr.astype(np.float32), "deg/s"))
