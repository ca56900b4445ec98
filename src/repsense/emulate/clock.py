"""Device clocks for emulated wearables: offset, drift (ppm) and jumps.

A real band samples on its own crystal. It believes it takes sample ``k`` at device time
``k / sample_rate_hz`` after it started; in true (host) time that instant is
``k / (sample_rate_hz * (1 + drift_ppm * 1e-6))``. Its timestamps also carry whatever offset
its clock was set to, plus any jump (a resync, a reset). :class:`DeviceClock` is that model,
pure arithmetic with no I/O, so tests can state the expected timestamps exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["DeviceClock", "ClockJump"]


@dataclass(frozen=True, slots=True)
class ClockJump:
    """The device clock steps by ``step_s`` once true elapsed time reaches ``at_true_s``."""

    at_true_s: float
    step_s: float


@dataclass(frozen=True, slots=True)
class DeviceClock:
    """Device time as a function of true elapsed time since streaming started.

    Attributes
    ----------
    offset_s : device time (seconds, device epoch) at true elapsed time 0.
    drift_ppm : crystal error; positive means the device clock runs fast.
    jumps : step changes of the device clock (resync, reset), applied from their instant on.
    """

    offset_s: float = 0.0
    drift_ppm: float = 0.0
    jumps: tuple[ClockJump, ...] = field(default_factory=tuple)

    @property
    def rate_factor(self) -> float:
        """Device seconds per true second."""
        return 1.0 + self.drift_ppm * 1e-6

    def device_s(self, true_s: float) -> float:
        """Device time (s) that the clock shows at true elapsed time ``true_s``."""
        step = sum(j.step_s for j in self.jumps if true_s >= j.at_true_s)
        return self.offset_s + true_s * self.rate_factor + step

    def true_s_of_sample(self, k: int, sample_rate_hz: float) -> float:
        """True elapsed time at which the device takes its sample ``k`` (its own nominal grid)."""
        return k / (sample_rate_hz * self.rate_factor)
