"""Fuzz the mood importer (``repsense.mood.import_mood_log``) with logs mixing good and bad rows.

A log is built from known good rows (PHQ-9 items, GAD-7 items + total, Feeling Scale totals;
participant ids drawn from ordinary and hostile strings) and known bad rows of every kind,
in random order, plus garbage lines, in CSV and JSON Lines. Properties:

* only project errors are raised;
* every good row is stored exactly once (participant, instrument, time, total);
* every bad row is in the rejects with its line and a reason; nothing else is rejected;
* ``n_rows == n_added + n_already_stored + len(rejects)``;
* a second import adds nothing;
* nothing is written outside the store.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from repsense.errors import RepsenseError
from repsense.mood import import_mood_log, read_mood

SCALE = float(os.environ.get("REPSENSE_RELIABILITY_SCALE", "1"))


def fuzz_settings(n: int) -> settings:
    return settings(max_examples=max(1, int(n * SCALE)), deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


HEADER = ["participant", "timestamp", "instrument"] + [f"item{i}" for i in range(1, 10)] + ["total"]
T0 = datetime(2026, 3, 2, 8, 0, tzinfo=timezone(timedelta(hours=1)))
HOSTILE_IDS = ["../../etc", "/abs/path", "..", ".", "a/b", "C:\\x", "P%2F01", "participant=x", "\u00e9\u00e8\u4e2d",
               "x" * 60, "P 01", "=cmd|' /C calc'!A0", "\u202eevil"]
ids = st.one_of(st.sampled_from(HOSTILE_IDS), st.from_regex(r"[A-Za-z0-9_-]{1,12}", fullmatch=True))

BAD_KINDS = ["unknown_instrument", "item_out_of_range", "wrong_item_count", "total_mismatch", "missing_participant",
             "bad_timestamp", "naive_timestamp", "non_numeric_item", "fs_out_of_range", "no_score",
             "total_nan", "total_inf", "fractional_item"]


def _good(draw: st.DrawFn, i: int) -> tuple[dict, tuple]:
    pid = draw(ids)
    ts = T0 + timedelta(minutes=i)
    kind = draw(st.sampled_from(["phq9", "gad7", "fs"]))
    row = {"participant": pid, "timestamp": ts.isoformat()}
    if kind == "phq9":
        items = draw(st.lists(st.integers(0, 3), min_size=9, max_size=9))
        row.update(instrument="PHQ-9", items=items, total=None)
        total = float(sum(items))
    elif kind == "gad7":
        items = draw(st.lists(st.integers(0, 3), min_size=7, max_size=7))
        row.update(instrument="GAD-7", items=items, total=str(sum(items)))
        total = float(sum(items))
    else:
        v = draw(st.integers(-5, 5))
        row.update(instrument="FS", items=[], total=str(v))
        total = float(v)
    key = (pid, {"phq9": "phq9", "gad7": "gad7", "fs": "fs"}[kind], int(ts.timestamp() * 1e9), total)
    return row, key


def _bad(draw: st.DrawFn, i: int) -> dict:
    kind = draw(st.sampled_from(BAD_KINDS))
    ts = (T0 + timedelta(minutes=i)).isoformat()
    row = {"participant": "P01", "timestamp": ts, "instrument": "GAD-7", "items": [1] * 7, "total": None}
    if kind == "unknown_instrument":
        row.update(instrument="BDI-II", items=[], total="10")
    elif kind == "item_out_of_range":
        row["items"] = [1] * 6 + [4]
    elif kind == "wrong_item_count":
        row["items"] = [1] * 6
    elif kind == "total_mismatch":
        row["total"] = "9"
    elif kind == "missing_participant":
        row["participant"] = draw(st.sampled_from(["", "   "]))
    elif kind == "bad_timestamp":
        row["timestamp"] = draw(st.sampled_from(["2026-02-30T08:00:00+01:00", "yesterday", "", "nan", "2026-13-01"]))
    elif kind == "naive_timestamp":
        row["timestamp"] = ts[:19]
    elif kind == "non_numeric_item":
        row["items"] = [1, 1, "x", 1, 1, 1, 1]
    elif kind == "fs_out_of_range":
        row.update(instrument="FS", items=[], total=draw(st.sampled_from(["6", "-6", "1e9"])))
    elif kind == "no_score":
        row.update(instrument="PHQ-9", items=[], total=None)
    elif kind == "total_nan":
        row.update(instrument="FS", items=[], total="nan")
    elif kind == "total_inf":
        row.update(instrument="FS", items=[], total=draw(st.sampled_from(["inf", "-inf", "Infinity"])))
    elif kind == "fractional_item":
        row["items"] = [1, 1, 1, 1.5, 1, 1, 1]
    row["kind"] = kind
    return row


def _csv_line(row: dict) -> str:
    items = [str(v) for v in row["items"]] + [""] * (9 - len(row["items"]))
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow([row["participant"], row["timestamp"], row["instrument"], *items,
                                                  row["total"] or ""])
    return buf.getvalue()


def _json_line(row: dict) -> str:
    obj = {"participant": row["participant"], "timestamp": row["timestamp"], "instrument": row["instrument"]}
    if row["items"]:
        obj["items"] = row["items"]
    if row["total"] is not None:
        obj["total"] = row["total"]
    return json.dumps(obj, ensure_ascii=False) + "\n"


GARBAGE = ["garbage", "1,2", "\x00\x01", "{not json", "[1,2,3]", '"unterminated,quote']


@st.composite
def mood_logs(draw: st.DrawFn):
    fmt = draw(st.sampled_from(["csv", "jsonl"]))
    n = draw(st.integers(1, 25))
    entries = []  # (is_good, row or garbage text, key)
    for i in range(n):
        choice = draw(st.sampled_from(["good", "good", "bad", "garbage"]))
        if choice == "good":
            row, key = _good(draw, i)
            entries.append(("good", row, key))
        elif choice == "bad":
            entries.append(("bad", _bad(draw, i), None))
        else:
            g = draw(st.sampled_from(GARBAGE[:-1]))  # a stray quote is tested on its own below
            entries.append(("garbage", g, None))
    return fmt, entries


def _render(fmt: str, entries: list) -> tuple[str, dict[int, str], list[tuple]]:
    lines = [",".join(HEADER) + "\n"] if fmt == "csv" else []
    bad_lines: dict[int, str] = {}
    good: list[tuple] = []
    for what, row, key in entries:
        if what == "garbage":
            text = row + "\n"
        else:
            text = _csv_line(row) if fmt == "csv" else _json_line(row)
        lines.append(text)
        line_no = len(lines)
        if what == "good":
            good.append(key)
        else:
            bad_lines[line_no] = row["kind"] if what == "bad" else "garbage"
    return "".join(lines), bad_lines, good


def _files_outside(root: Path, store: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and store not in p.parents and p.name not in ("log.csv", "log.jsonl")]


@given(mood_logs())
@fuzz_settings(80)
def test_good_rows_stored_bad_rows_rejected_with_line(case) -> None:
    fmt, entries = case
    text, bad_lines, good = _render(fmt, entries)
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        log = root / f"log.{fmt}"
        log.write_text(text, encoding="utf-8")
        store = root / "store"
        try:
            rep = import_mood_log(log, store)
        except RepsenseError as exc:
            # a whole-file error is only acceptable when no row was parsable (e.g. no header)
            pytest.fail(f"import raised {exc!r}")
        got_rejects = {r.line: r.reason for r in rep.rejects}
        assert set(got_rejects) == set(bad_lines), (got_rejects, bad_lines)
        assert all(r.reason and r.file for r in rep.rejects)
        assert rep.n_rows == rep.n_added + rep.n_already_stored + len(rep.rejects)
        assert rep.n_added == len(good)
        table = read_mood(store)
        stored = sorted(zip(table["participant"].to_pylist(), table["instrument"].to_pylist(),
                            table["t_utc"].cast("int64").to_pylist(), table["total"].to_pylist()))
        assert stored == sorted(good)
        again = import_mood_log(log, store)
        assert again.n_added == 0 and again.n_already_stored == len(good)
        assert read_mood(store).num_rows == len(good)
        assert _files_outside(root, store) == []


@given(data=st.binary(max_size=300), head=st.sampled_from([b"", (",".join(HEADER) + "\n").encode(), b"{", b"\xef\xbb\xbf"]),
       suffix=st.sampled_from([".csv", ".jsonl", ".txt"]))
@fuzz_settings(150)
def test_random_bytes_only_project_errors(data, head, suffix) -> None:
    with tempfile.TemporaryDirectory() as d:
        log = Path(d) / f"junk{suffix}"
        log.write_bytes(head + data)
        try:
            rep = import_mood_log(log, Path(d) / "store")
        except RepsenseError as exc:
            assert "junk" in str(exc), f"error does not name the file: {exc}"
            return
        except Exception as exc:  # noqa: BLE001
            pytest.fail(f"{type(exc).__name__}: {exc}")
        assert rep.n_rows == rep.n_added + rep.n_already_stored + len(rep.rejects)


def test_stray_quote_line_does_not_hide_the_rows_after_it(tmp_path: Path) -> None:
    """A lone quote opens a CSV field across newlines: later good rows must not vanish silently."""
    good = [_csv_line({"participant": f"P{i}", "timestamp": (T0 + timedelta(minutes=i)).isoformat(),
                       "instrument": "FS", "items": [], "total": "1"}) for i in range(5)]
    text = ",".join(HEADER) + "\n" + good[0] + '"oops,unterminated\n' + "".join(good[1:])
    log = tmp_path / "q.csv"
    log.write_text(text, encoding="utf-8")
    rep = import_mood_log(log, tmp_path / "store")
    # nothing silently dropped: every physical row is either added or rejected
    assert rep.n_added + len(rep.rejects) >= 1 + 1
    assert rep.n_rows == rep.n_added + rep.n_already_stored + len(rep.rejects)
    assert rep.n_added == 5, f"added {rep.n_added} of 5 good rows; rejects: {[(r.line, r.reason) for r in rep.rejects]}"


def test_damaged_mood_file_error_names_the_file(tmp_path: Path) -> None:
    import numpy as np

    lines = ["participant,timestamp,instrument,total"] + [
        f"P1,{(T0 + timedelta(minutes=i)).isoformat()},FS,{i % 11 - 5}" for i in range(300)]
    log = tmp_path / "log.csv"
    log.write_text("\n".join(lines) + "\n")
    store = tmp_path / "store"
    import_mood_log(log, store)
    f = next((store / "mood").rglob("*.parquet"))
    original = f.read_bytes()
    want = read_mood(store)
    rng = np.random.default_rng(0)
    unnamed = []
    for _ in range(60):
        buf = bytearray(original)
        buf[int(rng.integers(0, len(buf)))] ^= 1 << int(rng.integers(0, 8))
        f.write_bytes(bytes(buf))
        try:
            got = read_mood(store)
        except RepsenseError as exc:
            if f.name not in str(exc):
                unnamed.append(str(exc)[:120])
            continue
        assert got.equals(want), "a damaged mood file read back silently changed"
    assert not unnamed, f"{len(unnamed)} of 60 errors do not name the damaged file, e.g. {unnamed[0]}"
