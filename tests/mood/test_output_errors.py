"""Outputs that cannot be written (full disk, path below a file) and temp files of killed writers.

``mood import``, ``join`` and ``report`` must fail with one line naming the path, exit 1, leave
no temp file and leave an earlier output of the same name untouched. The full disk is a
file-size limit (``RLIMIT_FSIZE``) in a child process: writes fail with EFBIG part-way.
"""

from __future__ import annotations

import os
import resource
import socket
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from repsense.cli.main import main
from repsense.mood import import_mood_log, read_mood
from repsense.mood.storage import OutputError, atomic_write_bytes

MOOD = ("participant,timestamp,instrument,total\n"
        "P01,2026-03-02T07:00:00Z,PHQ-9,9\n"
        "P01,2026-03-02T07:05:00Z,FS,11\n"  # out of range: a rejects file is written
        "P02,2026-03-03T07:00:00Z,GAD-7,6\n")


def _store(store: Path, h) -> None:
    u = h.utc
    sessions = h.make_sessions([
        dict(session_id="s-a1", participant="P01", start=u(2026, 3, 2, 17), end=u(2026, 3, 2, 17, 5)),
        dict(session_id="s-b1", participant="P02", start=u(2026, 3, 3, 9), end=u(2026, 3, 3, 9, 5)),
    ])
    h.write_store_sessions(store, sessions)


def _leftovers(*roots: Path) -> list[Path]:
    return [p for r in roots if r.exists() for p in r.rglob("*") if p.is_file() and ".tmp" in p.name]


def _blames(line: str, path: Path, blocker: Path) -> bool:
    return (line.startswith(f"error: {path}: cannot ") and "Not a directory" in line
            and f"{blocker} is a regular file, not a folder" in line)


def _one_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in text, text
    return lines[0]


def test_outputs_below_a_regular_file(tmp_path: Path, h, capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "store"
    _store(store, h)
    log = tmp_path / "mood.csv"
    log.write_text(MOOD)
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    capsys.readouterr()

    assert main(["mood", "import", str(log), "--store", str(blocker / "store")]) == 1
    out = capsys.readouterr()
    line = _one_line(out.err)
    assert _blames(line, blocker / "store", blocker) and "cannot create folder" in line
    assert out.out == ""  # no empty summary table
    assert main(["mood", "import", str(log), "--store", str(blocker)]) == 1  # the store itself is a file
    assert f"{blocker} is a regular file, not a folder" in _one_line(capsys.readouterr().err)
    # the store is fine, the rejects file is not: entries stored, error names the rejects path
    assert main(["mood", "import", str(log), "--store", str(store), "--rejects",
                 str(blocker / "rejects.csv")]) == 1
    assert _blames(_one_line(capsys.readouterr().err), blocker / "rejects.csv", blocker)
    assert read_mood(store).num_rows == 2

    for args, named in ((["join", "--store", str(store), "--out", str(blocker / "j.csv")], blocker / "j.csv"),
                        (["join", "--store", str(store), "--out", str(blocker / "j.parquet")], blocker / "j.parquet"),
                        (["join", "--store", str(store), "--out", str(tmp_path / "j.csv"), "--weekly",
                          str(blocker / "sub" / "w.csv")], blocker / "sub")):
        assert main(args) == 1, args
        assert _blames(_one_line(capsys.readouterr().err), named, blocker), args
    assert (tmp_path / "j.csv").is_file()  # written before --weekly failed

    pytest.importorskip("matplotlib")
    assert main(["report", "--store", str(store), "--out", str(blocker / "r.html")]) == 1
    assert _blames(_one_line(capsys.readouterr().err), blocker / "r.html", blocker)
    assert _leftovers(tmp_path) == []


def _cli(args: list[str], fsize: int | None = None) -> subprocess.CompletedProcess[str]:
    def limit() -> None:
        if fsize is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))

    return subprocess.run([sys.executable, "-m", "repsense", *args], capture_output=True, text=True, timeout=120,
                          preexec_fn=limit)


def test_full_disk_is_one_line_and_leaves_earlier_outputs_whole(tmp_path: Path, h) -> None:
    store = tmp_path / "store"
    _store(store, h)
    log = tmp_path / "mood.csv"
    log.write_text(MOOD)
    r = _cli(["mood", "import", str(log), "--store", str(store)], fsize=3000)  # a mood file is ~7 kB
    line = _one_line(r.stdout + r.stderr)
    assert r.returncode == 1 and "cannot write: File too large (disk full or file-size limit reached)" in line
    assert str(store / "mood" / "participant=P01") in line  # names the file, not a temp file
    assert read_mood(store).num_rows == 0 and _leftovers(store) == []
    assert import_mood_log(log, store).n_added == 2  # space back: the import completes

    joined = tmp_path / "j.parquet"
    assert main(["join", "--store", str(store), "--out", str(joined)]) == 0
    before = joined.read_bytes()
    r = _cli(["join", "--store", str(store), "--out", str(joined), "--tolerance", "1h"], fsize=1000)
    assert r.returncode == 1
    assert f"{joined}: cannot write: File too large" in _one_line(r.stdout + r.stderr)
    assert joined.read_bytes() == before and pq.read_table(joined).num_rows == 2

    pytest.importorskip("matplotlib")
    report = tmp_path / "r.html"
    report.write_text("<html>earlier report</html>")
    r = _cli(["report", "--store", str(store), "--out", str(report)], fsize=4000)  # plots are ~20 kB each
    assert r.returncode == 1
    assert f"{report}: cannot write: File too large" in _one_line(r.stdout + r.stderr)
    assert report.read_text() == "<html>earlier report</html>"
    assert _leftovers(tmp_path) == []


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def _host() -> str:
    return "".join(c if c.isalnum() or c == "-" else "-" for c in socket.gethostname())[:64] or "host"


def test_temp_files_of_dead_writers_are_removed_live_ones_kept(tmp_path: Path) -> None:
    target = tmp_path / "out" / "rejects.csv"
    target.parent.mkdir()
    dead = _dead_pid()
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        stale = [target.with_name(f".{target.name}.{dead}.tmp"),                     # earlier mood writer
                 target.with_name(f".{target.name}.{_host()}.{dead}.0badc0de.tmp")]  # the store's writer
        kept = [target.with_name(f".{target.name}.{live.pid}.tmp"),
                target.with_name(f".{target.name}.{_host()}.{live.pid}.12345678.tmp"),
                target.with_name(f".{target.name}.otherhost.{dead}.12345678.tmp"),  # maybe alive elsewhere
                target.with_name(f".other.csv.{dead}.tmp")]                          # another file's
        for p in stale + kept:
            p.write_bytes(b"half a file")
        atomic_write_bytes(b"file,line\n", target)
        assert target.read_bytes() == b"file,line\n" and oct(target.stat().st_mode & 0o777) == "0o600"
        assert [p for p in stale if p.exists()] == []
        assert [p for p in kept if not p.exists()] == []
    finally:
        live.kill()
        live.wait()


def test_import_removes_a_killed_imports_rejects_temp_file(tmp_path: Path) -> None:
    log = tmp_path / "mood.csv"
    log.write_text(MOOD)
    store = tmp_path / "store"
    rep = import_mood_log(log, store)
    assert rep.rejects_path is not None and rep.rejects_path.parent == store / "mood_rejects"
    stale = rep.rejects_path.with_name(f".{rep.rejects_path.name}.{_dead_pid()}.tmp")
    stale.write_bytes(b"half a rejects file")
    again = import_mood_log(log, store)
    assert (again.n_already_stored, len(again.rejects)) == (2, 1)
    assert not stale.exists() and _leftovers(store) == []


def test_output_error_is_an_input_error_with_the_path(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    with pytest.raises(OutputError) as info:
        atomic_write_bytes(b"x", tmp_path / "f" / "a" / "b.csv")
    assert info.value.path == str(tmp_path / "f" / "a") and isinstance(info.value, ValueError)
    assert os.listdir(tmp_path) == ["f"]
