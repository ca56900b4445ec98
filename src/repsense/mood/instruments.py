"""Mood instruments as data: item count, item range, reverse-scored items, total range.

Scoring never branches on an instrument's name: :func:`score_items` reads the
:class:`Instrument` record. Add an instrument by adding a row to :data:`INSTRUMENTS`
(or, for a study-specific scale, with :func:`parse_scale_spec` / :func:`load_scales_toml`).
"""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Mapping, Sequence

from ..errors import InputError

SCORING_VERSION = "1"


@dataclass(frozen=True, slots=True)
class Instrument:
    """Scoring rules of one questionnaire or rating scale.

    Attributes
    ----------
    key : canonical short name stored in the ``instrument`` column (``phq9``, ``stai_y1``...).
    label : human-readable name for reports.
    version : instrument and form version stored with every entry.
    n_items : number of item responses; 0 for scales read as a single total only.
    item_min, item_max : allowed response range of every item (inclusive).
    reverse_items : 1-based item numbers scored as ``item_min + item_max - response``.
    total_min, total_max : allowed range of the total (inclusive).
    integer : responses and totals must be whole numbers.
    aliases : other spellings accepted on import (compared after :func:`normalise_name`).
    """

    key: str
    label: str
    version: str
    n_items: int
    item_min: int
    item_max: int
    reverse_items: tuple[int, ...]
    total_min: float
    total_max: float
    integer: bool = True
    aliases: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[a-z][a-z0-9_]{0,31}", self.key):
            raise ValueError(f"instrument key {self.key!r}: want lower-case letters, digits, '_' (max 32)")
        if not self.total_min < self.total_max:
            raise ValueError(f"instrument {self.key}: total_min {self.total_min} >= total_max {self.total_max}")
        if any(not 1 <= i <= self.n_items for i in self.reverse_items):
            raise ValueError(f"instrument {self.key}: reverse items {self.reverse_items} outside 1..{self.n_items}")


# Ranges and reverse-scored items from the instruments' manuals.
# STAI Form Y-1 (state): items 1, 2, 5, 8, 10, 11, 15, 16, 19, 20 are anxiety-absent and reverse scored.
INSTRUMENTS: Mapping[str, Instrument] = MappingProxyType({
    i.key: i for i in (
        Instrument("phq9", "PHQ-9", "PHQ-9 (Kroenke, Spitzer & Williams 2001); repsense scoring 1",
                   9, 0, 3, (), 0, 27, aliases=("phq-9", "phq")),
        Instrument("gad7", "GAD-7", "GAD-7 (Spitzer et al. 2006); repsense scoring 1",
                   7, 0, 3, (), 0, 21, aliases=("gad-7", "gad")),
        Instrument("stai_y1", "STAI-Y1", "STAI Form Y-1 state anxiety (Spielberger 1983); repsense scoring 1",
                   20, 1, 4, (1, 2, 5, 8, 10, 11, 15, 16, 19, 20), 20, 80,
                   aliases=("stai-y1", "staiy1", "stai y1", "stai-s", "stai state")),
        Instrument("fs", "Feeling Scale", "Feeling Scale (Hardy & Rejeski 1989), -5..+5; repsense scoring 1",
                   1, -5, 5, (), -5, 5, aliases=("feeling scale", "feeling_scale", "feelingscale")),
        Instrument("fas", "Felt Arousal Scale", "Felt Arousal Scale (Svebak & Murgatroyd 1985), 1..6; repsense scoring 1",
                   1, 1, 6, (), 1, 6, aliases=("felt arousal scale", "felt_arousal_scale", "feltarousalscale")),
    )
})


def normalise_name(name: str) -> str:
    """Lower-case ``name`` and drop everything but letters and digits (``"PHQ-9"`` -> ``"phq9"``)."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


def build_registry(custom: Sequence[Instrument] = ()) -> dict[str, Instrument]:
    """Map every accepted spelling (normalised) to its instrument: built-ins plus ``custom``.

    Raises
    ------
    InputError
        A custom scale's name collides with a built-in instrument or another custom scale.
    """
    registry: dict[str, Instrument] = {}
    for inst in (*INSTRUMENTS.values(), *custom):
        for name in (inst.key, inst.label, *inst.aliases):
            norm = normalise_name(name)
            if norm in registry and registry[norm] is not inst:
                raise InputError(f"scale name {name!r} is already taken by {registry[norm].label}")
            registry[norm] = inst
    return registry


def custom_scale(name: str, minimum: float, maximum: float) -> Instrument:
    """A study-specific numeric scale read as one total between ``minimum`` and ``maximum``.

    The total may be fractional and is never rounded, so a visual analogue scale
    (0..100 mm) keeps its decimals.
    """
    key = re.sub(r"[^a-z0-9_]", "_", name.strip().lower()).strip("_")
    if not key or not key[0].isalpha():
        raise InputError(f"custom scale name {name!r}: must start with a letter")
    if not (math.isfinite(minimum) and math.isfinite(maximum)) or not minimum < maximum:
        raise InputError(f"custom scale {name!r}: want finite MIN < MAX, got {minimum} and {maximum}")
    return Instrument(key[:32], name.strip(), f"custom scale {name.strip()} [{minimum:g}, {maximum:g}]",
                      0, 0, 0, (), float(minimum), float(maximum), integer=False)


def parse_scale_spec(spec: str) -> Instrument:
    """Parse ``NAME:MIN:MAX`` (e.g. ``"energy:0:10"``) into a custom scale."""
    parts = spec.rsplit(":", 2)
    if len(parts) != 3:
        raise InputError(f"scale {spec!r}: want NAME:MIN:MAX")
    try:
        return custom_scale(parts[0], float(parts[1]), float(parts[2]))
    except ValueError as exc:
        if isinstance(exc, InputError):
            raise
        raise InputError(f"scale {spec!r}: MIN and MAX must be numbers") from None


def load_scales_toml(path: str | Path) -> list[Instrument]:
    """Read custom scales from TOML: ``[scales.NAME]`` tables with ``min`` and ``max``.

    Example::

        [scales.energy]
        min = 0
        max = 10
    """
    try:
        with open(path, "rb") as fh:
            doc = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"cannot read scales: {exc}", path=str(path)) from None
    scales = doc.get("scales", {})
    if not isinstance(scales, dict):
        raise InputError("[scales] must be a table of tables", path=str(path))
    out = []
    for name, spec in scales.items():
        if not isinstance(spec, dict) or not {"min", "max"} <= spec.keys():
            raise InputError(f"scale {name!r}: want 'min' and 'max'", path=str(path))
        try:
            out.append(custom_scale(name, float(spec["min"]), float(spec["max"])))
        except (TypeError, ValueError) as exc:
            if isinstance(exc, InputError):
                raise InputError(exc.reason, path=str(path)) from None
            raise InputError(f"scale {name!r}: min and max must be numbers", path=str(path)) from None
    return out


class ScoreError(ValueError):
    """A response set cannot be scored; the message is the reject reason (never holds an id)."""


def score_items(inst: Instrument, items: Sequence[float]) -> float:
    """Total score of ``items`` (item 1 first) for ``inst``, reverse items flipped.

    Raises
    ------
    ScoreError
        Wrong item count, a non-whole response where whole numbers are required, or an item
        out of ``[item_min, item_max]``.
    """
    if len(items) != inst.n_items:
        raise ScoreError(f"wrong item count: {inst.label} has {inst.n_items} items, got {len(items)}")
    total = 0.0
    for number, value in enumerate(items, start=1):
        check_value(inst, value, f"item {number}", inst.item_min, inst.item_max)
        total += (inst.item_min + inst.item_max - value) if number in inst.reverse_items else value
    return total


def check_total(inst: Instrument, total: float) -> None:
    """Raise :class:`ScoreError` when ``total`` is outside the instrument's range or not whole."""
    check_value(inst, total, "total", inst.total_min, inst.total_max)


def check_value(inst: Instrument, value: float, what: str, lo: float, hi: float) -> None:
    if not math.isfinite(value):
        raise ScoreError(f"non-numeric value: {what} is not a finite number")
    if inst.integer and value != int(value):
        raise ScoreError(f"not a whole number: {what} = {value:g} ({inst.label})")
    if not lo <= value <= hi:
        raise ScoreError(f"out of range: {what} = {value:g}, {inst.label} allows {lo:g}..{hi:g}")
