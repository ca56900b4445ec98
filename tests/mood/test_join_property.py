"""The as-of join against a slow, obviously correct twin on random data (boundaries included)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from repsense.mood import join_sessions_mood

TS = pa.timestamp("ns", tz="UTC")
T0 = datetime(2026, 3, 28, tzinfo=timezone.utc)
PARTICIPANTS = ("P01", "P02")
INSTRUMENTS = ("fs", "phq9")


def naive_join(sessions: list[dict], entries: list[dict], tol_s: int) -> list[dict]:
    out = []
    for s in sessions:
        row = {"session_id": s["session_id"]}
        for inst in INSTRUMENTS:
            mine = [e for e in entries if e["participant"] == s["participant"] and e["instrument"] == inst]
            pre = [e for e in mine if s["start"] - tol_s <= e["t"] <= s["start"]]
            post = [e for e in mine if s["end"] <= e["t"] <= s["end"] + tol_s]
            best_pre = max(pre, key=lambda e: e["t"]) if pre else None
            best_post = min(post, key=lambda e: e["t"]) if post else None
            row[f"{inst}_pre_total"] = best_pre["total"] if best_pre else None
            row[f"{inst}_pre_lag_s"] = float(s["start"] - best_pre["t"]) if best_pre else None
            row[f"{inst}_post_total"] = best_post["total"] if best_post else None
            row[f"{inst}_post_lag_s"] = float(best_post["t"] - s["end"]) if best_post else None
        out.append(row)
    return sorted(out, key=lambda r: r["session_id"])


def ts(seconds: list[int]) -> pa.Array:
    return pa.array([T0 + timedelta(seconds=x) for x in seconds], TS)


sessions_st = st.lists(
    st.tuples(st.sampled_from(PARTICIPANTS), st.integers(0, 60), st.integers(0, 20)), min_size=1, max_size=8)
entries_st = st.lists(
    st.tuples(st.sampled_from(PARTICIPANTS), st.sampled_from(INSTRUMENTS), st.integers(-10, 90),
              st.integers(0, 3)), max_size=25, unique_by=lambda e: e[:3])


@settings(max_examples=150, deadline=None)
@given(sessions_st, entries_st, st.integers(0, 15))
def test_join_equals_naive_twin(sess: list, ents: list, tol_s: int) -> None:
    sessions = [dict(session_id=f"s{i:02d}", participant=p, start=a, end=a + d) for i, (p, a, d) in enumerate(sess)]
    entries = [dict(participant=p, instrument=i, t=t, total=float(v)) for p, i, t, v in ents]
    s_tab = pa.table({
        "session_id": [s["session_id"] for s in sessions], "participant": [s["participant"] for s in sessions],
        "start_utc": ts([s["start"] for s in sessions]), "end_utc": ts([s["end"] for s in sessions]),
        "n_sets": [1] * len(sessions), "n_reps": [1] * len(sessions), "tut_s": [1.0] * len(sessions),
    })
    m_tab = pa.table({
        "participant": pa.array([e["participant"] for e in entries], pa.string()),
        "instrument": pa.array([e["instrument"] for e in entries], pa.string()),
        "t_utc": ts([e["t"] for e in entries]), "total": pa.array([e["total"] for e in entries], pa.float64()),
    })
    got = join_sessions_mood(s_tab, m_tab, float(tol_s), instruments=list(INSTRUMENTS))
    keys = ["session_id"] + [f"{i}_{side}_{what}" for i in INSTRUMENTS for side in ("pre", "post")
                             for what in ("total", "lag_s")]
    rows = sorted(({k: r[k] for k in keys} for r in got.to_pylist()), key=lambda r: r["session_id"])
    assert rows == naive_join(sessions, entries, tol_s)
