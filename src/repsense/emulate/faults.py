"""Fault injection for emulated wearables: what to break, when, and a tally of what was broken.

A :class:`Faults` value is pure data; a virtual device reads it while it streams. Times are
**true seconds since streaming started** (the replay's time base, not wall time, so a test
at ``speed=20`` means the same thing as one at ``speed=1``). Every fault the device actually
applies is counted in :class:`FaultTally`, so a test can assert that the receiver counted
exactly what was injected.

Faults
------
``drop_link_at_s``      the link is lost (supervision timeout, HCI reason 0x08) at that instant.
``refuse_connections``  the device advertises but terminates every connection at once
                        (reason 0x0D, "limited resources"), like a band already bonded elsewhere.
``att_error_on_read`` / ``att_error_on_write``
                        ATT error code returned for reads / writes of the named characteristic UUID.
``truncate_every`` / ``corrupt_every`` / ``duplicate_every``
                        every n-th data notification is cut short / has a byte flipped / is sent twice.
``clock_jumps``         handled by :class:`repsense.emulate.clock.DeviceClock`.
``stall_at_s``          stop notifying (link stays up) from that instant for ``stall_for_s`` (inf = forever).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

__all__ = ["Faults", "FaultTally", "CONNECTION_TIMEOUT", "LIMITED_RESOURCES"]

CONNECTION_TIMEOUT = 0x08  # HCI reason: supervision timeout, i.e. link lost
LIMITED_RESOURCES = 0x0D  # HCI reason: connection rejected due to limited resources


@dataclass(frozen=True, slots=True)
class Faults:
    """What to break on one virtual device (all off by default)."""

    drop_link_at_s: float | None = None
    refuse_connections: bool = False
    att_error_on_read: dict[str, int] = field(default_factory=dict)
    att_error_on_write: dict[str, int] = field(default_factory=dict)
    truncate_every: int = 0
    truncate_to_bytes: int = 5
    corrupt_every: int = 0
    corrupt_byte: int = 0
    duplicate_every: int = 0
    stall_at_s: float | None = None
    stall_for_s: float = math.inf

    def __post_init__(self) -> None:
        for name in ("truncate_every", "corrupt_every", "duplicate_every"):
            if getattr(self, name) < 0:
                raise ValueError(f"Faults.{name} must be >= 0, got {getattr(self, name)}")

    def stalled(self, true_s: float) -> bool:
        """True while the device is silent at true elapsed time ``true_s``."""
        return self.stall_at_s is not None and self.stall_at_s <= true_s < self.stall_at_s + self.stall_for_s


@dataclass(slots=True)
class FaultTally:
    """How many faults a device applied, by name (``truncated``, ``corrupted``, ``duplicated``...)."""

    counts: Counter[str] = field(default_factory=Counter)

    def add(self, name: str, n: int = 1) -> None:
        self.counts[name] += n

    def __getitem__(self, name: str) -> int:
        return self.counts[name]
