"""CLI (mood import, join, report) end to end on a hand-made store; report contents; privacy of outputs."""

from __future__ import annotations

import base64
import csv
import re
import stat
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from repsense.cli.main import main
from repsense.mood import load_or_create_key, pseudonymise

MOOD = """participant,timestamp,instrument,item1,item2,item3,item4,item5,item6,item7,item8,item9,total
{a},2026-03-01T20:00:00+01:00,PHQ-9,1,1,2,1,1,1,0,1,0,
{a},2026-03-01T20:05:00+01:00,GAD-7,1,1,1,1,1,1,1,,,
{a},2026-03-08T20:00:00+01:00,PHQ-9,1,1,1,1,0,0,0,1,0,
{b},2026-03-02T08:00:00+01:00,GAD-7,,,,,,,,,,5
{b},2026-03-02T08:00:00+01:00,HADS,,,,,,,,,,5
"""


def build_store(store: Path, h, a: str = "P01", b: str = "P02") -> None:
    """Three sessions (two of ``a``, one of ``b``) with sets and reps in the store layout."""
    u = h.utc
    sessions = h.make_sessions([
        dict(session_id="s-a1", participant=a, start=u(2026, 3, 2, 17), end=u(2026, 3, 2, 17, 5), n_sets=2,
             n_reps=5, tut_s=12.5),
        dict(session_id="s-a2", participant=a, start=u(2026, 3, 5, 17), end=u(2026, 3, 5, 17, 5), n_sets=1,
             n_reps=3, tut_s=7.5),
        dict(session_id="s-b1", participant=b, start=u(2026, 3, 3, 9), end=u(2026, 3, 3, 9, 5), n_sets=1,
             n_reps=2, tut_s=5.0),
    ])
    sets, reps = [], []
    layout = {"s-a1": [3, 2], "s-a2": [3], "s-b1": [2]}
    for sid, counts in layout.items():
        t = 10.0
        for si, n in enumerate(counts):
            sets.append(dict(session_id=sid, set_index=si, start_s=t, end_s=t + 2.5 * n, n_reps=n, tut_s=2.5 * n))
            for ri in range(n):
                reps.append(dict(session_id=sid, set_index=si, rep_index=ri, start_s=t, end_s=t + 2.5))
                t += 2.5
            t += 60.0
    sets_t = pa.Table.from_pylist(sets)
    reps_t = pa.Table.from_pylist(reps)
    h.write_store_sessions(store, sessions, sets_t, reps_t)


def imgs(html: str) -> list[bytes]:
    return [base64.b64decode(m) for m in re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)]


def test_cli_end_to_end(tmp_path: Path, store: Path, h, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("matplotlib")
    build_store(store, h)
    log = tmp_path / "mood.csv"
    log.write_text(MOOD.format(a="P01", b="P02"))
    assert main(["mood", "import", str(log), "--store", str(store)]) == 1  # one row rejected (HADS)
    out = capsys.readouterr()
    assert "rejected" in out.err and "mood_rejects" in out.err
    assert main(["mood", "import", str(log), "--store", str(store)]) == 1
    assert re.search(r"mood\.csv\s*│\s*5\s*│\s*0\s*│\s*4\s*│\s*1", capsys.readouterr().out)

    joined, weekly = tmp_path / "j.csv", tmp_path / "w.parquet"
    assert main(["join", "--store", str(store), "--out", str(joined), "--weekly", str(weekly),
                 "--tolerance", "24h", "--tolerance", "phq9=2d"]) == 0
    rows = {r["session_id"]: r for r in csv.DictReader(joined.read_text().splitlines())}
    # s-a1 starts 03-02 17:00Z: PHQ-9 (items sum 8) and GAD-7 (7) were taken 21-22 h before.
    assert (rows["s-a1"]["phq9_pre_total"], rows["s-a1"]["gad7_pre_total"]) == ("8", "7")
    # s-a2 starts 03-05 17:00Z: nothing within 24 h (GAD-7) or 2 d (PHQ-9) before; PHQ-9 of 03-08 is > 2 d after.
    assert (rows["s-a2"]["phq9_pre_total"], rows["s-a2"]["gad7_pre_total"], rows["s-a2"]["phq9_post_total"]) == \
        ("", "", "")
    w = pq.read_table(weekly).to_pylist()
    assert [(r["participant"], r["week"], r["sessions"], r["sets"], r["reps"], r["tut_s"]) for r in w] == [
        ("P01", "2026-W09", 0, 0, 0, 0.0), ("P01", "2026-W10", 2, 3, 8, 20.0), ("P02", "2026-W10", 1, 1, 2, 5.0)]

    report = tmp_path / "r.html"
    assert main(["report", "--store", str(store), "--out", str(report)]) == 0
    pngs = imgs(report.read_text())
    assert len(pngs) == 2 + 3 and all(p.startswith(b"\x89PNG\r\n\x1a\n") and len(p) > 2000 for p in pngs)
    assert main(["report", "--store", str(store), "--participant", "P02", "--out", str(report)]) == 0
    assert len(imgs(report.read_text())) == 1 + 1
    png = tmp_path / "r.png"
    assert main(["report", "--store", str(store), "--participant", "P01", "--out", str(png)]) == 0
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    for f in (joined, weekly, report, png):
        assert stat.S_IMODE(f.stat().st_mode) == 0o600
    assert main(["join", "--store", str(store), "--out", str(joined), "--tolerance", "PHQ-9=1h",
                 "--tolerance", "Feeling Scale=1h"]) == 0
    assert main(["join", "--store", str(store), "--out", str(joined), "--tolerance", "BDI=1h"]) == 1
    assert "unknown instrument 'BDI'" in capsys.readouterr().err
    assert main(["report", "--store", str(store), "--participant", "nobody", "--out", str(png)]) == 1
    assert main(["report", "--store", str(store), "--out", str(tmp_path / "r.pdf")]) == 1
    assert main(["join", "--store", str(store), "--out", str(tmp_path / "j.xlsx")]) == 1
    assert "want .parquet or .csv" in capsys.readouterr().err


def test_cli_custom_scales_from_flag_and_toml(tmp_path: Path, store: Path) -> None:
    log = tmp_path / "m.csv"
    log.write_text("participant,timestamp,instrument,total\n"
                   "P01,2026-03-02T07:00:00Z,energy,7.5\n"
                   "P01,2026-03-02T07:00:00Z,RPE,13\n")
    (tmp_path / "s.toml").write_text("[scales.rpe]\nmin = 6\nmax = 20\n")
    assert main(["mood", "import", str(log), "--store", str(store), "--scale", "energy:0:10",
                 "--scales", str(tmp_path / "s.toml")]) == 0
    from repsense.mood import read_mood
    assert sorted(read_mood(store)["instrument"].to_pylist()) == ["energy", "rpe"]


def test_cli_usage_errors(tmp_path: Path, store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "m.csv"
    log.write_text("participant,timestamp,instrument,total\n")
    assert main(["mood", "import", str(log), "--store", str(store), "--scale", "x:1"]) == 2
    assert main(["mood", "import", str(log), "--store", str(store), "--key-file", "k"]) == 2
    assert main(["mood", "import", str(tmp_path / "none.csv"), "--store", str(store)]) == 1
    assert main(["join", "--store", str(store), "--out", str(tmp_path / "j.csv")]) == 1  # no sessions
    assert main(["join", "--store", str(store), "--out", "j.csv", "--tolerance", "soon"]) == 1
    err = capsys.readouterr().err
    assert "NAME:MIN:MAX" in err and "Traceback" not in err and "duration 'soon'" in err


def test_pseudonymised_ids_never_reach_outputs_or_logs(tmp_path: Path, h) -> None:
    """A real process: import with --pseudonymise, join, report; no real id in any byte written or printed."""
    pytest.importorskip("matplotlib")
    store = tmp_path / "store"
    key_file = tmp_path / "secret" / "k.key"
    key = load_or_create_key(key_file)
    a, b = "ALICE-7731", "BOB-4410"
    pa_, pb = pseudonymise(a, key), pseudonymise(b, key)
    build_store(store, h, a=pa_, b=pb)  # sessions written by `process` with the same key
    log = tmp_path / "mood.csv"
    log.write_text(MOOD.format(a=a, b=b))
    env_run = [sys.executable, "-m", "repsense"]
    printed = []
    for args in (["mood", "import", str(log), "--store", str(store), "--pseudonymise", "--key-file", str(key_file)],
                 ["join", "--store", str(store), "--out", str(tmp_path / "out" / "j.csv"),
                  "--weekly", str(tmp_path / "out" / "w.csv")],
                 ["report", "--store", str(store), "--out", str(tmp_path / "out" / "r.html")],
                 ["report", "--store", str(store), "--participant", a, "--key-file", str(key_file),
                  "--out", str(tmp_path / "out" / "a.html")]):
        p = subprocess.run(env_run + args, capture_output=True, text=True, timeout=120)
        assert p.returncode in (0, 1), p.stderr
        printed.append(p.stdout + p.stderr)
    logs = "\n".join(printed)
    assert "Traceback" not in logs
    written = [f for d in (store, tmp_path / "out") for f in d.rglob("*") if f.is_file()]
    names_and_logs = "".join(map(str, written)).encode() + logs.encode()
    blob = b"".join(f.read_bytes() for f in written) + names_and_logs
    for real in (a, b):
        assert real.encode() not in blob
    # the bare names also in the text written and printed; not in compressed Parquet pages or
    # base64 images, where any 3 given letters turn up by chance (this test failed once on
    # b"BOB" that way, with a fresh random key)
    text = b"".join(re.sub(rb"data:image/[a-z]+;base64,[A-Za-z0-9+/=]+", b"", f.read_bytes())
                    for f in written if f.suffix != ".parquet") + names_and_logs
    for real in ("ALICE", "BOB"):
        assert real.encode() not in text
    assert key.hex().encode() not in blob
    assert pa_.encode() in (tmp_path / "out" / "w.csv").read_bytes()
    assert len(imgs((tmp_path / "out" / "a.html").read_text())) == 1 + 2
    for f in written:
        assert stat.S_IMODE(f.stat().st_mode) == 0o600, f
    assert {stat.S_IMODE(d.stat().st_mode) for d in store.rglob("*") if d.is_dir()} == {0o700}


def _ns_session(participant: str, t0_utc_ns: int):
    """A recording whose start is not a whole microsecond (as every real one) with one set of 3 reps."""
    import numpy as np

    from repsense.types import Detection, Recording, RecordingMeta, Rep, RepSet, Stream

    t_s = np.arange(1500) / 50.0
    accel = Stream(t_s=t_s, values=np.zeros((t_s.size, 3), np.float32) + np.float32([0, 0, 1]), unit="g")
    meta = RecordingMeta(t0_utc_ns=t0_utc_ns, device_kind="simulated", participant=participant,
                         source_file="x.csv")
    reps = tuple(Rep(start_s=5.0 + 2.5 * i + 1e-7, end_s=7.5 + 2.5 * i + 3e-9, eccentric_s=1.2, concentric_s=1.3)
                 for i in range(3))
    rep_set = RepSet(start_s=5.0, end_s=12.5, reps=reps, tut_s=7.5, eccentric_s=3.6, concentric_s=3.9)
    return Recording(accel=accel, meta=meta), Detection(sets=(rep_set,), sample_rate_hz=50.0, detector_version="t")


def test_report_on_a_store_written_by_write_session_with_ns_timestamps(tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """Regression: sessions/sets/reps written by the store (``repsense process``) carry timestamp[ns]
    values that are not whole microseconds; the report used to die converting them to datetime."""
    pytest.importorskip("matplotlib")
    from repsense.store import read_sessions, write_session

    store = tmp_path / "store"
    t0 = 1_772_438_400_123_456_789  # 2026-03-02 08:00:00.123456789 UTC
    write_session(store, *_ns_session("P01", t0))
    write_session(store, *_ns_session("P01", t0 + 3 * 86_400_000_000_000 + 1))
    start_ns = read_sessions(store)["start_utc"].cast(pa.int64()).to_pylist()
    assert sorted(v % 1000 for v in start_ns) == [789, 790]  # really sub-microsecond
    log = tmp_path / "mood.csv"
    log.write_text("participant,timestamp,instrument,total\nP01,2026-03-02T07:00:00Z,PHQ-9,9\n"
                   "P01,2026-03-05T07:00:00Z,GAD-7,6\n")
    assert main(["mood", "import", str(log), "--store", str(store)]) == 0
    report = tmp_path / "r.html"
    assert main(["report", "--store", str(store), "--out", str(report)]) == 0
    text = report.read_text()
    pngs = imgs(text)
    assert len(pngs) == 1 + 2 and all(p.startswith(b"\x89PNG\r\n\x1a\n") for p in pngs)
    assert "2026-W10" in text  # the weekly table
    assert main(["report", "--store", str(store), "--out", str(tmp_path / "r.png")]) == 0
    assert (tmp_path / "r.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert "Traceback" not in capsys.readouterr().err


def test_report_leaves_matplotlib_global_state_alone(tmp_path: Path, h) -> None:
    pytest.importorskip("matplotlib")
    store = tmp_path / "store"
    build_store(store, h)
    code = (
        "import sys, matplotlib\n"
        "raw = lambda: dict.__getitem__(matplotlib.rcParams, 'backend')  # reading rcParams['backend'] imports pyplot\n"
        "before = raw()\n"
        "from repsense.mood.report import write_report\n"
        f"s = write_report({str(store)!r}, {str(tmp_path / 'r.png')!r})\n"
        "print(s.n_plots, 'matplotlib.pyplot' in sys.modules, raw() == before)\n"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["1", "False", "True"]
