"""Run the live pipeline against emulated bands (``repsense live --emulate``); needs ``repsense[emulate]``.

The pipeline is the production one: the same scan, bleak client, drivers, clocks, rings,
segmenter and writer. Only bleak's backend differs (``repsense.emulate``'s bumble-backed one),
and the bands replay a recording at ``speed`` x real time.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Any

from ..errors import RepsenseError
from ..types import Recording

__all__ = ["EmulatedBand", "parse_emulate_spec", "run_emulated"]


class EmulationUnavailable(RepsenseError):
    """The emulation extra (bumble) is not installed."""


@dataclass(frozen=True, slots=True)
class EmulatedBand:
    kind: str
    recording_path: str | None = None


def parse_emulate_spec(spec: str) -> EmulatedBand:
    """``KIND`` or ``KIND:RECORDING`` (the recording may itself contain ':' on Windows drives)."""
    kind, _, path = spec.partition(":")
    return EmulatedBand(kind.strip(), path or None)


def load_recording(band: EmulatedBand, seed: int, sample_rate_hz: float) -> Recording:
    """The band's recording: a file read with ``repsense.read_recording``, else a simulated session."""
    if band.recording_path:
        from .. import read_recording
        return read_recording(band.recording_path)
    from ..simulate import simulate_session
    rec, _ = simulate_session(seed, sample_rate_hz=sample_rate_hz, n_sets=2, rest_s=(20.0, 30.0), lead_s=(3.0, 5.0))
    return rec


def import_emulate() -> Any:
    try:
        import repsense.emulate as emulate
    except ImportError as exc:
        raise EmulationUnavailable(
            f"--emulate needs the emulation extra: pip install 'repsense[emulate]' ({exc})") from None
    return emulate


async def run_emulated(bands: list[tuple[str, Recording]], build_and_run: Any, *, speed: float,
                       stop_when_replayed: bool = True) -> Any:
    """Start a VirtualWorld with the bands, then ``await build_and_run(world, addresses)``.

    When ``stop_when_replayed``, the capture's ``request_stop`` is called once every band has
    replayed its recording (``build_and_run`` receives a callback registrar for that).
    """
    emulate = import_emulate()
    async with emulate.VirtualWorld() as world:
        devices = [world.add_device(kind, recording=rec, speed=speed) for kind, rec in bands]
        await world.settle()

        async def all_finished() -> None:
            await asyncio.gather(*(d.finished.wait() for d in devices))

        watcher = asyncio.ensure_future(all_finished()) if stop_when_replayed else None
        try:
            return await build_and_run(world, [d.address for d in devices], watcher)
        finally:
            if watcher is not None and not watcher.done():
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher
