"""Units in column headers: split ``name (unit)`` / ``name_unit``, normalise, convert.

Accelerometer values are returned in g, gyroscope values in deg/s, times in nanoseconds.
"""

from __future__ import annotations

import math
import re

STANDARD_GRAVITY_MS2 = 9.80665

ACCEL_TO_G = {"g": 1.0, "m/s^2": 1.0 / STANDARD_GRAVITY_MS2, "mg": 1e-3}
GYRO_TO_DPS = {"deg/s": 1.0, "rad/s": 180.0 / math.pi, "mdeg/s": 1e-3}
TIME_TO_NS = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}

_ALIASES = {
    "g": "g", "gs": "g", "gee": "g", "mg": "mg",
    "m/s^2": "m/s^2", "m/s2": "m/s^2", "ms2": "m/s^2", "ms^2": "m/s^2", "m/s/s": "m/s^2", "mps2": "m/s^2",
    "ms-2": "m/s^2", "m*s^-2": "m/s^2", "mss": "m/s^2",
    "deg/s": "deg/s", "dps": "deg/s", "°/s": "deg/s", "degs": "deg/s", "deg/sec": "deg/s", "degps": "deg/s",
    "mdeg/s": "mdeg/s", "mdps": "mdeg/s",
    "rad/s": "rad/s", "rads": "rad/s", "rad/sec": "rad/s", "radps": "rad/s", "rads-1": "rad/s",
    "s": "s", "sec": "s", "secs": "s", "seconds": "s", "second": "s",
    "ms": "ms", "msec": "ms", "millis": "ms", "milliseconds": "ms",
    "us": "us", "µs": "us", "μs": "us", "usec": "us", "micros": "us", "microseconds": "us",
    "ns": "ns", "nsec": "ns", "nanos": "ns", "nanoseconds": "ns",
}
# suffixes accepted after an underscore (``acc_x_ms2``); bracketed units accept anything
_SUFFIX_UNITS = ("ms2", "mps2", "m_s2", "m_s_2", "g", "mg", "dps", "degs", "deg_s", "rads", "rad_s",
                 "s", "sec", "ms", "us", "ns")
_BRACKET = re.compile(r"^(?P<base>.*?)\s*[\(\[](?P<unit>[^\)\]]*)[\)\]]\s*$")


def normalise_unit(unit: str) -> str:
    """Canonical spelling of ``unit`` (``"m/s²"`` -> ``"m/s^2"``); unknown units are returned lower-cased."""
    u = unit.strip().lower().replace("²", "^2").replace("**2", "^2").replace(" ", "").replace("_", "")
    u = u.replace("degrees", "deg").replace("degree", "deg")
    return _ALIASES.get(u, _ALIASES.get(u.replace("^", ""), u))


def split_unit(header: str) -> tuple[str, str | None]:
    """Split a header into a normalised base name and its unit (``None`` if none is written).

    Examples: ``"x-axis (g)"`` -> ``("x_axis", "g")``, ``"acc_x_ms2"`` -> ``("acc_x", "m/s^2")``,
    ``"t_ns"`` -> ``("t", "ns")``, ``"ax"`` -> ``("ax", None)``.
    """
    h = header.strip().strip('"')
    m = _BRACKET.match(h)
    unit: str | None = None
    if m:
        h, unit = m.group("base"), m.group("unit")
    base = re.sub(r"[\s\-\.]+", "_", h.strip().lower()).strip("_")
    if unit is None:
        for suf in sorted(_SUFFIX_UNITS, key=len, reverse=True):
            if base.endswith("_" + suf) and len(base) > len(suf) + 1:
                base, unit = base[: -len(suf) - 1], suf.replace("_", "")
                if unit in ("ms2", "mps2", "ms2"):
                    unit = "m/s^2"
                break
    return base, (normalise_unit(unit) if unit is not None else None)
