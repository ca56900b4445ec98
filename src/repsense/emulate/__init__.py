"""Emulated wearables on a real BLE stack, reached through the real bleak API.

Needs the optional extra: ``pip install 'repsense[emulate]'`` (Google's bumble, pinned).
Nothing outside this package imports bumble; importing :mod:`repsense.emulate` itself does
not either, the first use of a name below does.

Entry point::

    from bleak import BleakClient, BleakScanner
    from repsense.emulate import VirtualWorld

    async with VirtualWorld() as world:
        dev = world.add_device("polar_pmd", recording=rec, speed=10.0)   # rec: repsense.types.Recording
        found = await BleakScanner.find_device_by_name(dev.name, backend=world.scanner_backend)
        async with BleakClient(found or dev.address, backend=world.client_backend) as client:
            ...  # the band's own protocol: repsense.protocols.<kind>

Kinds (:data:`DEVICE_KINDS`): ``polar_pmd``, ``metawear``, ``diy``, ``infinitime``,
``movesense``, ``thingy52``, ``banglejs``. Each band advertises its real name and service,
answers its real commands (and errors), caps the ATT MTU as the device does, batches samples
into notifications as the device does, stamps them with its own clock
(:class:`~repsense.emulate.clock.DeviceClock`: offset, drift in ppm, jumps), and replays the
recording resampled to its rate and quantised to its units, at ``speed`` x real time.
Every sample sent is logged: ``dev.sent("acc")`` is the ground truth a receiver must decode.

Faults (:class:`~repsense.emulate.faults.Faults`): link drop at t, refused connections, ATT
errors on read/write, truncated / corrupted / duplicated notifications, clock jumps, stalls.
``dev.tally`` counts what was injected.

``BumbleScanner`` / ``BumbleClient`` also work without binding: inside
``async with VirtualWorld()``, ``backend=BumbleClient`` finds the world of the current task.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "VirtualWorld", "VirtualDevice", "BumbleClient", "BumbleScanner", "DEVICE_KINDS", "current_world",
    "Faults", "FaultTally", "DeviceClock", "ClockJump", "ReplaySignal", "synthetic_recording", "SentSamples",
]

_LAZY = {
    "VirtualWorld": "repsense.emulate._world",
    "DEVICE_KINDS": "repsense.emulate._world",
    "current_world": "repsense.emulate._world",
    "VirtualDevice": "repsense.emulate._device",
    "SentSamples": "repsense.emulate._device",
    "BumbleClient": "repsense.emulate._backend",
    "BumbleScanner": "repsense.emulate._backend",
    "Faults": "repsense.emulate.faults",
    "FaultTally": "repsense.emulate.faults",
    "DeviceClock": "repsense.emulate.clock",
    "ClockJump": "repsense.emulate.clock",
    "ReplaySignal": "repsense.emulate.replay",
    "synthetic_recording": "repsense.emulate.replay",
}


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'repsense.emulate' has no attribute {name!r}")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.split(".")[0] == "bumble":
            raise ImportError("repsense.emulate needs bumble: pip install 'repsense[emulate]'") from exc
        raise
    return getattr(module, name)


def __dir__() -> list[str]:
    return sorted(__all__)
