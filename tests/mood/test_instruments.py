"""Scoring rules: item ranges, reverse items, totals, custom scales."""

from __future__ import annotations

import pytest

from repsense.errors import InputError
from repsense.mood.instruments import (
    INSTRUMENTS, ScoreError, build_registry, check_total, load_scales_toml, parse_scale_spec, score_items,
)


def test_stai_reverse_items_by_hand() -> None:
    stai = INSTRUMENTS["stai_y1"]
    calm = [4, 4, 1, 1, 4, 1, 1, 4, 1, 4, 4, 1, 1, 1, 4, 4, 1, 1, 4, 4]  # 4 on every anxiety-absent item
    assert score_items(stai, calm) == 20
    assert score_items(stai, [5 - v for v in calm]) == 80
    # 1,2,3,4 repeating: reverse items 1,2,5,8,10,11,15,16,19,20 score 4,3,4,1,3,2,2,1,2,1 = 23,
    # the others 3,4,2,3,1,4,1,2,1,2 = 23; the raw sum (50) would be wrong.
    cycle = [(i % 4) + 1 for i in range(20)]
    assert score_items(stai, cycle) == 46


def test_phq9_gad7_plain_sums() -> None:
    assert score_items(INSTRUMENTS["phq9"], [0, 1, 2, 3, 0, 1, 2, 3, 3]) == 15
    assert score_items(INSTRUMENTS["gad7"], [3] * 7) == 21


@pytest.mark.parametrize(("key", "items", "kind"), [
    ("phq9", [1] * 8, "wrong item count"),
    ("phq9", [1] * 8 + [4], "out of range"),
    ("gad7", [0, 0, 0, -1, 0, 0, 0], "out of range"),
    ("stai_y1", [0] + [1] * 19, "out of range"),
    ("gad7", [0, 0, 0, 1.5, 0, 0, 0], "not a whole number"),
])
def test_bad_items(key: str, items: list[float], kind: str) -> None:
    with pytest.raises(ScoreError, match=kind):
        score_items(INSTRUMENTS[key], items)


def test_total_ranges() -> None:
    check_total(INSTRUMENTS["fs"], -5)
    check_total(INSTRUMENTS["fas"], 6)
    for key, bad in (("fs", 6), ("fas", 0), ("phq9", 28), ("stai_y1", 19)):
        with pytest.raises(ScoreError, match="out of range"):
            check_total(INSTRUMENTS[key], bad)


def test_registry_aliases_and_custom_scales(tmp_path) -> None:
    energy = parse_scale_spec("Energy VAS:0:100")
    reg = build_registry([energy])
    assert reg["phq9"] is INSTRUMENTS["phq9"] and reg["stai-y1".replace("-", "")] is INSTRUMENTS["stai_y1"]
    assert reg["feelingscale"] is INSTRUMENTS["fs"]
    assert reg["energyvas"].key == "energy_vas" and reg["energyvas"].total_max == 100
    check_total(energy, 37.5)  # custom scales keep decimals
    with pytest.raises(InputError, match="already taken"):
        build_registry([parse_scale_spec("PHQ-9:0:27")])
    with pytest.raises(InputError, match="MIN < MAX"):
        parse_scale_spec("x:5:1")
    with pytest.raises(InputError, match="NAME:MIN:MAX"):
        parse_scale_spec("x:5")
    toml = tmp_path / "scales.toml"
    toml.write_text('[scales.sleep_quality]\nmin = 1\nmax = 7\n[scales.rpe]\nmin = 6\nmax = 20\n')
    loaded = {s.key: s for s in load_scales_toml(toml)}
    assert (loaded["sleep_quality"].total_min, loaded["rpe"].total_max) == (1, 20)
    toml.write_text('[scales.bad]\nmin = 1\n')
    with pytest.raises(InputError, match="want 'min' and 'max'"):
        load_scales_toml(toml)


def test_instrument_versions_are_stored_strings() -> None:
    assert all(i.version and "scoring" in i.version for i in INSTRUMENTS.values())
