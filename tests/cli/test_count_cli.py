"""`repsense count` tells the user what it dropped, and names a failing file once."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def _count(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "repsense", "count", *args], capture_output=True, text=True,
                          timeout=300)


def test_dropped_rows_are_reported_with_reasons_and_lines(tmp_path: Path):
    f = tmp_path / "bad.csv"
    f.write_text("t_s,ax,ay,az\n0.0,0,0,1\n0.1,0,0,1\n0.2,abc,0,1\n0.3,nan,0,1\n0.4,0,0,1\n0.5,0,0,1\n")
    r = _count("--json", str(f))
    assert r.returncode == 0, r.stderr
    record = json.loads(r.stdout)  # the JSON keeps the documented keys; the warning goes to stderr
    assert set(record) == {"file", "sample_rate_hz", "reps", "sets"}
    assert "dropped 2 of 6 rows" in r.stderr
    assert "line 4" in r.stderr and "line 5" in r.stderr


def test_error_names_the_file_once(tmp_path: Path):
    f = tmp_path / "norate.csv"
    f.write_text("a,b\n1,2\n")
    r = _count(str(f))
    assert r.returncode == 1
    line = next(ln for ln in r.stderr.splitlines() if ln.startswith("error:"))
    assert line.count("norate.csv") == 1
