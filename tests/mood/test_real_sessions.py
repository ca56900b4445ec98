"""Mood entries joined with real MetaMotion sets stored by repsense.store (needs ../shared)."""

from __future__ import annotations

from datetime import timezone
from pathlib import Path

import pytest

import repsense
from repsense.mood import import_mood_log, join_sessions_mood, read_mood, read_store_table, weekly_table
from repsense.store import write_session

pytestmark = pytest.mark.shared

SETS = (  # recorded 2019-01-11 16:10:08 and 16:14:45 local time (UTC+01:00), participant A
    "A-bench-heavy2-rpe8_MetaWear_2019-01-11T16.10.08.270_C42732BE255C_Accelerometer_12.500Hz_1.4.4.csv",
    "A-bench-heavy3-rpe8_MetaWear_2019-01-11T16.14.45.178_C42732BE255C_Accelerometer_12.500Hz_1.4.4.csv",
)


def test_real_sets_beside_mood(metamotion_dir: Path, tmp_path: Path) -> None:
    store = tmp_path / "store"
    for name in SETS:
        rec = repsense.read_recording(metamotion_dir / "raw" / name, participant="P01")
        write_session(store, rec, repsense.detect(rec))
    sessions = read_store_table(store, "sessions").sort_by("start_utc")
    starts = [s.astimezone(timezone.utc) for s in sessions["start_utc"].to_pylist()]
    # The export's local clock (UTC+01:00) ends up as UTC 15:10 and 15:14 in the store.
    assert [(s.hour, s.minute) for s in starts] == [(15, 10), (15, 14)]
    log = tmp_path / "mood.csv"
    log.write_text("participant,timestamp,instrument,total\n"
                   "P01,2019-01-11T16:05:00,Feeling Scale,1\n"      # naive: read as Europe/Amsterdam (+01:00)
                   "P01,2019-01-11T17:00:00+01:00,Feeling Scale,3\n"
                   "P01,2019-01-10T20:00:00+01:00,PHQ-9,12\n")
    assert import_mood_log(log, store, timezone_name="Europe/Amsterdam").n_added == 3
    joined = {r["session_id"]: r for r in join_sessions_mood(sessions, read_mood(store), 3600).to_pylist()}
    first, second = (joined[s] for s in sessions["session_id"].to_pylist())
    entry_utc = starts[0].replace(hour=15, minute=5, second=0, microsecond=0)
    assert first["fs_pre_total"] == 1.0
    assert first["fs_pre_lag_s"] == pytest.approx((starts[0] - entry_utc).total_seconds(), abs=1e-6)
    assert 300 < first["fs_pre_lag_s"] < 320
    assert second["fs_pre_total"] == 1.0 and second["fs_post_total"] == 3.0
    assert first["phq9_pre_total"] is None  # 19 h before: outside the 1 h tolerance
    week = weekly_table(sessions, read_mood(store), tz="Europe/Amsterdam").to_pylist()
    assert [(w["week"], w["sessions"], w["reps"]) for w in week] == [
        ("2019-W02", 2, sum(sessions["n_reps"].to_pylist()))]
    assert week[0]["phq9_baseline"] == 12.0 and week[0]["fs_mean"] == 2.0
