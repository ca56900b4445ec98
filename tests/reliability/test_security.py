"""Security and privacy across the commands that write: permissions, pseudonyms, path escapes.

* Every file written by ``process``, ``mood import``, ``join``, ``report`` and ``live`` is
  readable by its owner only (files 0600, folders 0700).
* With ``--pseudonymise`` the real participant id appears in no output, no log line and no
  error message, also when inputs fail.
* Participant ids and session ids coming from inputs (``--participant``, mood log contents,
  the Python API) cannot place a file outside the output folder: ``../``, absolute paths,
  NUL bytes, very long names, unicode and control characters.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

from repsense.errors import RepsenseError
from repsense.mood import import_mood_log, read_mood
from repsense.store import read_sessions, write_session
from repsense.types import Detection, Recording, RecordingMeta, Stream

SECRET = "Alice-Secret-4711"
HOSTILE = ["../../escape", "/abs/olute", "..", ".", "a/../../b", "a\\..\\..\\b", "a\x00b", "x" * 300, "\u202e\u0000",
           "\u00e9\u4e2d\U0001f600", "participant=evil/date=1999-01-01", "\n\r\t", "~root", "$HOME", "%2e%2e%2f"]


def _cli(*args: str, timeout: float = 180, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "repsense", *args], capture_output=True, text=True, timeout=timeout,
                          cwd=cwd)


def _csv_input(path: Path, seed: int = 900) -> Path:
    from repsense.simulate import simulate_session

    rec, _ = simulate_session(seed, sample_rate_hz=50.0, n_sets=1, gyro=False, lead_s=(2.0, 3.0))
    t_ns = rec.meta.t0_utc_ns + np.round(rec.accel.t_s * 1e9).astype(np.int64)
    rows = [f"{t},{a[0]:.5f},{a[1]:.5f},{a[2]:.5f}" for t, a in zip(t_ns.tolist(), rec.accel.values.tolist())]
    path.write_text("time_ns,ax (g),ay (g),az (g)\n" + "\n".join(rows) + "\n")
    return path


def _mood_log(path: Path, participants: list[str], bad: bool = True) -> Path:
    import csv

    t0 = datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)
    with open(path, "w", newline="", encoding="utf-8", errors="surrogatepass") as fh:
        w = csv.writer(fh)
        w.writerow(["participant", "timestamp", "instrument", "total"])
        for i, p in enumerate(participants):
            w.writerow([p, (t0 + timedelta(minutes=i)).isoformat(), "FS", "2"])
            if bad:
                w.writerow([p, "not-a-time", "FS", "2"])  # a rejected row carries the id too
                w.writerow([p, (t0 + timedelta(minutes=i, seconds=1)).isoformat(), "FS", "99"])
    return path


def _bad_modes(root: Path) -> list[str]:
    bad = []
    for p in [root, *root.rglob("*")]:
        mode = stat.S_IMODE(p.lstat().st_mode)
        if mode & 0o077:
            bad.append(f"{p.relative_to(root.parent)} {oct(mode)}")
    return bad


def _files_outside(root: Path, allowed: list[Path]) -> list[Path]:
    """Files under ``root`` that are not inside one of ``allowed``."""
    return [p for p in root.rglob("*") if p.is_file() and not any(a == p or a in p.parents for a in allowed)]


# --------------------------------------------------------------------------- permissions


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store filled by process + mood import + join + report (+ live when emulation is installed),
    with the umask of a careless shell (022)."""
    d = tmp_path_factory.mktemp("sec")
    old = os.umask(0o022)
    try:
        src = d / "in"
        src.mkdir()
        _csv_input(src / "a.csv")
        (src / "broken.csv").write_text("t_s,ax (g),ay (g),az (g)\nabc,def,ghi,jkl\n")  # fails: no usable sample
        out = d / "out"
        r = _cli("process", str(src / "a.csv"), str(src / "broken.csv"), "--out", str(out), "--participant", SECRET, "--pseudonymise", "--key-file",
                 str(d / "keys" / "key"), "--workers", "1")
        (d / "process.log").write_text(r.stdout + r.stderr)
        assert r.returncode == 1, r.stderr[-2000:]  # one input failed
        _mood_log(d / "mood.csv", [SECRET])
        r = _cli("mood", "import", str(d / "mood.csv"), "--store", str(out), "--pseudonymise", "--key-file",
                 str(d / "keys" / "key"))
        (d / "mood.log").write_text(r.stdout + r.stderr)
        assert r.returncode in (0, 1), r.stderr[-2000:]
        r = _cli("join", "--store", str(out), "--out", str(d / "exports" / "joined.csv"))
        (d / "join.log").write_text(r.stdout + r.stderr)
        r = _cli("report", "--store", str(out), "--out", str(d / "exports" / "report.html"))
        (d / "report.log").write_text(r.stdout + r.stderr)
        try:
            import bumble  # noqa: F401

            r = _cli("live", "--emulate", "diy", "--speed", "8", "--duration", "4", "--participant", "Bob",
                     "--out", str(d / "live"), "--no-view")
            (d / "live.log").write_text(r.stdout + r.stderr)
        except ImportError:
            pass
    finally:
        os.umask(old)
    return d


def test_no_file_or_folder_is_group_or_world_accessible(workdir: Path) -> None:
    written = [workdir / n for n in ("out", "keys", "exports", "live") if (workdir / n).exists()]
    assert (workdir / "out" / "sessions").is_dir() and (workdir / "out" / "mood").is_dir()
    assert (workdir / "keys" / "key").is_file()
    bad = [m for root in written for m in _bad_modes(root)]
    assert not bad, "readable by group/others:\n" + "\n".join(bad)


def test_join_export_exists(workdir: Path) -> None:
    """join ran (otherwise the permission test above would prove little about it)."""
    assert (workdir / "exports" / "joined.csv").is_file(), (workdir / "join.log").read_text()[-1500:]


def test_report_export_exists(workdir: Path) -> None:
    log = (workdir / "report.log").read_text()
    assert "Traceback" not in log, log[-1500:]
    assert (workdir / "exports" / "report.html").is_file(), log[-1500:]


def test_pseudonymised_id_appears_nowhere(workdir: Path) -> None:
    needle = SECRET.encode()
    hits = [p for p in workdir.rglob("*") if p.is_file() and p.name not in ("mood.csv",)
            and needle in p.read_bytes()]
    assert not hits, f"the real participant id is in: {hits}"
    assert read_sessions(workdir / "out")["participant"].to_pylist()[0].startswith("ps-")
    # the logs include the failed input's error message
    assert "broken.csv" in (workdir / "process.log").read_text()


# --------------------------------------------------------------------------- path escapes


def _tiny_recording(participant: str, session_id: str = "") -> tuple[Recording, Detection]:
    t = np.arange(200) / 50.0
    acc = Stream(t_s=t, values=np.zeros((200, 3), np.float32) + np.float32([0, 0, 1]), unit="g")
    meta = RecordingMeta(t0_utc_ns=1_700_000_000_000_000_000, device_kind="diy", participant=participant,
                         session_id=session_id, source_file="x.csv")
    return Recording(accel=acc, meta=meta), Detection(sets=(), sample_rate_hz=50.0, detector_version="sec-1")


@pytest.mark.parametrize("pid", HOSTILE)
def test_write_session_participant_cannot_escape(tmp_path: Path, pid: str) -> None:
    out = tmp_path / "store"
    rec, det = _tiny_recording(pid)
    try:
        write_session(out, rec, det)
    except RepsenseError:
        pass  # refused with a project error (e.g. too long): fine
    assert _files_outside(tmp_path, [out]) == []
    for p in out.rglob("*"):
        rel = p.relative_to(out).parts
        assert ".." not in rel and all("\x00" not in part for part in rel)
        if len(rel) >= 2 and rel[0] in ("sessions", "sets", "reps", "samples"):
            assert rel[1].startswith("participant=")
    if (out / "sessions").is_dir():
        assert read_sessions(out)["participant"].to_pylist() == [pid]  # stored exactly, path sanitised


@pytest.mark.parametrize("sid", ["../../evil", "/abs", "a/b", "..", "x" * 300, "a\x00b", "\u00e9"])
def test_write_session_session_id_cannot_escape(tmp_path: Path, sid: str) -> None:
    out = tmp_path / "store"
    rec, det = _tiny_recording("P1", sid)
    try:
        write_session(out, rec, det)
    except RepsenseError:
        pass
    assert _files_outside(tmp_path, [out]) == []
    assert not any(".." in p.relative_to(out).parts for p in out.rglob("*"))


def test_mood_participant_ids_cannot_escape(tmp_path: Path) -> None:
    # (an id too long for a folder name is tested on its own: test_mood_one_overlong_id_...)
    ids = [h for h in HOSTILE if h.strip() and "\x00" not in h and len(h) < 100]
    log = _mood_log(tmp_path / "log.csv", ids, bad=False)
    store = tmp_path / "store"
    rep = import_mood_log(log, store)
    assert _files_outside(tmp_path, [store, log]) == []
    # every id is either stored exactly or rejected with a reason (e.g. too long for a folder name)
    stored = set(read_mood(store)["participant"].to_pylist())
    rejected = {r.line for r in rep.rejects}
    assert len(stored) + len(rejected) == len(ids), (stored, [(r.line, r.reason) for r in rep.rejects])
    for p in (store / "mood").rglob("*"):
        rel = p.relative_to(store / "mood").parts
        assert rel[0].startswith("participant=") and ".." not in rel


def test_mood_nul_byte_in_participant(tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    log.write_text('{"participant": "a\\u0000/../../b", "timestamp": "2026-03-02T08:00:00+00:00", '
                   '"instrument": "FS", "total": 1}\n', encoding="utf-8")
    store = tmp_path / "store"
    try:
        import_mood_log(log, store)
    except RepsenseError:
        pass
    assert _files_outside(tmp_path, [store, log]) == []


@pytest.mark.parametrize("pid", ["../../escape", "/abs/olute", "x" * 300, "\u00e9\u4e2d", "participant=x/date=y"])
def test_process_participant_cannot_escape(tmp_path: Path, pid: str) -> None:
    src = _csv_input(tmp_path / "a.csv")
    out = tmp_path / "out"
    r = _cli("process", str(src), "--out", str(out), "--participant", pid, "--workers", "1")
    assert "Traceback" not in r.stderr, r.stderr[-2000:]
    assert r.returncode in (0, 1, 2)
    assert _files_outside(tmp_path, [out, src]) == []
    if r.returncode == 0:
        assert read_sessions(out)["participant"].to_pylist() == [pid]


def test_mood_one_overlong_id_is_rejected_and_the_other_rows_stored(tmp_path: Path) -> None:
    log = _mood_log(tmp_path / "log.csv", ["P01", "x" * 300, "P02"], bad=False)
    rep = import_mood_log(log, tmp_path / "store")
    assert rep.n_added == 2 and len(rep.rejects) == 1
