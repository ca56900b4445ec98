"""As-of join and weekly table against expectations worked out by hand."""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path

import pyarrow as pa
import pytest

from repsense.errors import SchemaError
from repsense.mood import baselines, import_mood_log, join_sessions_mood, read_mood, read_store_table, weekly_table

MOOD_CSV = """participant,timestamp,instrument,total
P01,2026-03-01T10:00:00Z,PHQ-9,10
P01,2026-03-02T09:00:00Z,FS,1
P01,2026-03-02T11:00:00Z,FS,3
P01,2026-03-02T12:00:00Z,FS,4
P01,2026-03-03T12:00:00Z,PHQ-9,8
P01,2026-03-04T08:00:00Z,FS,2
P01,2026-03-04T12:30:00.000001Z,FS,5
P01,2026-03-10T09:00:00+01:00,PHQ-9,6
P02,2026-03-02T10:30:00Z,FS,-1
"""


@pytest.fixture
def tables(tmp_path: Path, store: Path, h) -> tuple[pa.Table, pa.Table]:
    (tmp_path / "mood.csv").write_text(MOOD_CSV)
    rep = import_mood_log(tmp_path / "mood.csv", store)
    assert rep.rejects == [] and rep.n_added == 9
    u = h.utc
    sessions = h.make_sessions([
        dict(session_id="S1", participant="P01", start=u(2026, 3, 2, 10), end=u(2026, 3, 2, 11),
             n_sets=3, n_reps=30, tut_s=90.0),
        dict(session_id="S2", participant="P01", start=u(2026, 3, 4, 10), end=u(2026, 3, 4, 10, 30),
             n_sets=2, n_reps=16, tut_s=50.0),
        dict(session_id="S3", participant="P02", start=u(2026, 3, 2, 10), end=u(2026, 3, 2, 11),
             n_sets=1, n_reps=8, tut_s=20.0),
    ])
    return sessions, read_mood(store)


def _utc(v):
    return None if v is None else v.astimezone(timezone.utc).replace(tzinfo=None)


def test_pre_post_by_hand(tables) -> None:
    sessions, mood = tables
    out = join_sessions_mood(sessions, mood, {"fs": 2 * 3600, "phq9": 24 * 3600})
    got = {r["session_id"]: r for r in out.to_pylist()}
    assert out.column_names[:7] == ["session_id", "participant", "start_utc", "end_utc", "n_sets", "n_reps", "tut_s"]
    s1, s2, s3 = got["S1"], got["S2"], got["S3"]
    # S1 (10:00-11:00): FS pre is the nearest before (09:00, not nothing older); FS post exactly at the end.
    assert (s1["fs_pre_total"], s1["fs_pre_lag_s"], _utc(s1["fs_pre_utc"])) == (1.0, 3600.0, datetime(2026, 3, 2, 9))
    assert (s1["fs_post_total"], s1["fs_post_lag_s"]) == (3.0, 0.0)
    # PHQ-9 exactly 24 h before S1 matches (inclusive); the one 25 h after the end does not.
    assert (s1["phq9_pre_total"], s1["phq9_pre_lag_s"]) == (10.0, 86400.0)
    assert (s1["phq9_post_total"], s1["phq9_post_lag_s"]) == (None, None)
    # S2 (03-04 10:00-10:30): FS exactly 2 h before matches; FS 2 h + 1 us after the end does not.
    assert (s2["fs_pre_total"], s2["fs_pre_lag_s"]) == (2.0, 7200.0)
    assert (s2["fs_post_total"], s2["fs_post_utc"]) == (None, None)
    assert (s2["phq9_pre_total"], s2["phq9_pre_lag_s"]) == (8.0, 22 * 3600.0)
    # S3 (P02, same times as S1): P01's entries never leak in; P02's FS during the session is neither pre nor post.
    assert [s3[k] for k in ("fs_pre_total", "fs_post_total", "phq9_pre_total", "phq9_post_total")] == [None] * 4


def test_tolerance_is_inclusive_at_the_boundary_and_exclusive_beyond(tables) -> None:
    sessions, mood = tables
    just_under = join_sessions_mood(sessions, mood, {"fs": 2 * 3600 - 1e-6, "phq9": 0})
    s2 = {r["session_id"]: r for r in just_under.to_pylist()}["S2"]
    assert s2["fs_pre_total"] is None
    wide = join_sessions_mood(sessions, mood, {"fs": 2 * 3600 + 1e-6, "phq9": 0})
    s2 = {r["session_id"]: r for r in wide.to_pylist()}["S2"]
    assert (s2["fs_post_total"], s2["fs_post_lag_s"]) == (5.0, 7200.000001)
    # tolerance 0: only entries exactly at the start (pre) or end (post) match.
    s1 = {r["session_id"]: r for r in wide.to_pylist()}["S1"]
    assert (s1["phq9_pre_total"], s1["phq9_post_total"]) == (None, None)


def test_only_requested_instruments_and_empty_mood(tables) -> None:
    sessions, mood = tables
    out = join_sessions_mood(sessions, mood, 3600, instruments=["phq9"])
    assert not any(c.startswith("fs_") for c in out.column_names)
    empty = join_sessions_mood(sessions, mood.slice(0, 0), 3600)
    assert empty.num_rows == 3 and empty.num_columns == 7
    with pytest.raises(SchemaError, match="n_reps"):
        join_sessions_mood(sessions.drop_columns(["n_reps"]), mood, 3600)


def test_dst_changes_europe_amsterdam(tmp_path: Path, store: Path, h) -> None:
    # Naive local times in Europe/Amsterdam around both 2026 clock changes.
    (tmp_path / "dst.csv").write_text(
        "participant,timestamp,instrument,total\n"
        "P01,2026-03-29T01:30:00,FS,2\n"    # CET: 00:30Z, 30 min before the session
        "P01,2026-10-25T03:30:00,FAS,5\n"   # CET again (after the fold): 02:30Z, 45 min after the session
    )
    import_mood_log(tmp_path / "dst.csv", store, timezone_name="Europe/Amsterdam")
    u = h.utc
    sessions = h.make_sessions([
        dict(session_id="spring", participant="P01", start=u(2026, 3, 29, 1), end=u(2026, 3, 29, 1, 40)),
        dict(session_id="autumn", participant="P01", start=u(2026, 10, 25, 1), end=u(2026, 10, 25, 1, 45)),
    ])
    out = {r["session_id"]: r for r in join_sessions_mood(sessions, read_mood(store), 3600).to_pylist()}
    assert (out["spring"]["fs_pre_total"], out["spring"]["fs_pre_lag_s"]) == (2.0, 1800.0)
    assert (out["autumn"]["fas_post_total"], out["autumn"]["fas_post_lag_s"]) == (5.0, 2700.0)
    assert out["autumn"]["fs_pre_total"] is None and out["spring"]["fas_post_total"] is None


def test_baselines(tables) -> None:
    sessions, mood = tables
    got = {(r["participant"], r["instrument"]): (r["baseline_total"], r["baseline_rule"])
           for r in baselines(sessions, mood).to_pylist()}
    assert got == {("P01", "fs"): (1.0, "pre-first-session"), ("P01", "phq9"): (10.0, "pre-first-session"),
                   ("P02", "fs"): (-1.0, "first-entry")}


def test_weekly_table_by_hand(tables) -> None:
    sessions, mood = tables
    w = weekly_table(sessions, mood)
    rows = [{k: r[k] for k in ("participant", "week_start", "week", "sessions", "sets", "reps", "tut_s",
                               "mean_tut_per_set_s", "phq9_mean", "phq9_n", "phq9_change", "fs_mean", "fs_change")}
            for r in w.to_pylist()]
    assert rows == [
        # Sunday 03-01 belongs to the ISO week starting Monday 02-23: the PHQ-9 baseline week, no sessions.
        dict(participant="P01", week_start=date(2026, 2, 23), week="2026-W09", sessions=0, sets=0, reps=0,
             tut_s=0.0, mean_tut_per_set_s=None, phq9_mean=10.0, phq9_n=1, phq9_change=0.0, fs_mean=None,
             fs_change=None),
        # S1 + S2: 2 sessions, 3+2 sets, 30+16 reps, 90+50 s TUT, 140/5 = 28 s per set;
        # PHQ-9 8 (baseline 10 -> -2); FS (1+3+4+2+5)/5 = 3 (baseline 1 -> +2).
        dict(participant="P01", week_start=date(2026, 3, 2), week="2026-W10", sessions=2, sets=5, reps=46,
             tut_s=140.0, mean_tut_per_set_s=28.0, phq9_mean=8.0, phq9_n=1, phq9_change=-2.0, fs_mean=3.0,
             fs_change=2.0),
        dict(participant="P01", week_start=date(2026, 3, 9), week="2026-W11", sessions=0, sets=0, reps=0,
             tut_s=0.0, mean_tut_per_set_s=None, phq9_mean=6.0, phq9_n=1, phq9_change=-4.0, fs_mean=None,
             fs_change=None),
        dict(participant="P02", week_start=date(2026, 3, 2), week="2026-W10", sessions=1, sets=1, reps=8,
             tut_s=20.0, mean_tut_per_set_s=20.0, phq9_mean=None, phq9_n=0, phq9_change=None, fs_mean=-1.0,
             fs_change=0.0),
    ]


def test_weeks_follow_the_local_calendar(h) -> None:
    # Sunday 2026-03-08 23:30Z is Monday 00:30 in Amsterdam: another week there.
    u = h.utc
    sessions = h.make_sessions([dict(session_id="late", participant="P01", start=u(2026, 3, 8, 23, 30),
                                     end=u(2026, 3, 8, 23, 59))])
    empty = read_mood(Path("/nonexistent-store"))
    assert weekly_table(sessions, empty)["week_start"].to_pylist() == [date(2026, 3, 2)]
    assert weekly_table(sessions, empty, tz="Europe/Amsterdam")["week_start"].to_pylist() == [date(2026, 3, 9)]


def test_store_layout_round_trip(tables, store: Path, h) -> None:
    sessions, mood = tables
    h.write_store_sessions(store, sessions)
    back = read_store_table(store, "sessions")
    assert sorted(back["session_id"].to_pylist()) == ["S1", "S2", "S3"]
    a = join_sessions_mood(back, mood, 7200)
    b = join_sessions_mood(sessions, mood, 7200)
    assert a.to_pylist() == b.to_pylist()
