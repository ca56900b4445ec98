"""``repsense count`` end to end in a subprocess, on the project's own recordings/."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RECORDINGS = REPO / "recordings"


def _count(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "repsense", "count", *args], capture_output=True, text=True,
                          timeout=300, cwd=REPO)


def test_count_json_on_the_shipped_recordings():
    p = _count("--json", "recordings")
    assert p.returncode == 0, p.stderr
    lines = [json.loads(x) for x in p.stdout.splitlines()]
    with open(RECORDINGS / "labels.csv", newline="") as fh:
        truth: dict[str, int] = {}
        for row in csv.DictReader(fh):
            truth[row["file"]] = truth.get(row["file"], 0) + int(row["reps"])
    # a MetaBase accel/gyro pair counts once; README/labels/scripts are skipped quietly
    assert sorted(Path(x["file"]).name for x in lines) == sorted(truth)
    for rec in lines:
        assert set(rec) == {"file", "sample_rate_hz", "reps", "sets"}
        assert rec["reps"] == sum(s["reps"] for s in rec["sets"])
        for s in rec["sets"]:
            assert set(s) == {"start_s", "end_s", "reps", "reps_in_gaps", "tut_s", "concentric_s", "eccentric_s"}
            assert 0 <= s["reps_in_gaps"] <= s["reps"]
            assert 0 <= s["start_s"] < s["end_s"] and s["tut_s"] <= s["end_s"] - s["start_s"] + 1e-3
        # within two reps of the label on these simulated recordings, 0 on the rest one
        want = truth[Path(rec["file"]).name]
        assert abs(rec["reps"] - want) <= 2 if want else rec["reps"] == 0


def test_count_reports_a_bad_file_and_counts_the_others(tmp_path):
    bad = tmp_path / "broken.csv"
    bad.write_text("t,ax,ay,az\n")
    good = RECORDINGS / "P05_rest_2025-09-08_25Hz.csv"
    p = _count("--json", str(bad), str(good), str(tmp_path / "missing.csv"))
    assert p.returncode == 1
    assert "broken.csv" in p.stderr and "missing.csv" in p.stderr
    assert "Traceback" not in p.stderr
    assert [json.loads(x)["file"] for x in p.stdout.splitlines()] == [str(good)]


def test_count_table_output():
    p = _count(str(RECORDINGS / "P05_rest_2025-09-08_25Hz.csv"))
    assert p.returncode == 0, p.stderr
    assert "P05_rest" in p.stdout and "reps" in p.stdout
