"""repair: a dead writer is dead even while a zombie or after its pid was reused; bad --out is a usage error."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from repsense.live import LiveSessionWriter, SessionInfo, find_unfinished, live_session_id, repair
from repsense.simulate import simulate_session

T0 = 1_764_000_000_123_000_000
LINUX_PROC = Path("/proc/self/stat").exists()


def _flushed_session(tmp_path: Path, pid: int) -> LiveSessionWriter:
    """A session whose marker names ``pid`` as its writer, with 1000 samples flushed."""
    rec, _ = simulate_session(1, sample_rate_hz=100.0, n_sets=1, rest_s=(20, 30), lead_s=(3, 5), jitter_s=0.0,
                              drops=False)
    sid = live_session_id("D0:5E:00:00:00:08", T0)
    info = SessionInfo(session_id=sid, participant="P01", date="2025-11-24", t0_utc_ns=T0, device_kind="diy",
                       address="D0:5E:00:00:00:08", sample_rate_hz=100.0)
    info.pid = pid
    w = LiveSessionWriter.open(tmp_path, info)
    w.add_samples("accel", T0 + np.round(np.arange(1000) / 100.0 * 1e9).astype(np.int64),
                  rec.accel.values[:1000].astype(np.float32))
    w.flush()
    return w


def _state(pid: int) -> str:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat[stat.rfind(")") + 2:].split()[0]


@pytest.mark.skipif(not LINUX_PROC, reason="zombie state is read from /proc (Linux)")
def test_zombie_writer_is_dead(tmp_path) -> None:
    """What `timeout -s KILL` leaves: the killed writer is a zombie (exited, not reaped yet) for a
    while; os.kill(pid, 0) still succeeds on it, but it writes nothing: repair finalises."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        w = _flushed_session(tmp_path, child.pid)
        assert [r.status for r in repair(tmp_path)] == ["running"]  # alive: left alone
        child.kill()  # dies, but stays a zombie: we do not reap it yet
        deadline = time.monotonic() + 10
        while _state(child.pid) != "Z":
            assert time.monotonic() < deadline, "child never became a zombie"
            time.sleep(0.01)
        os.kill(child.pid, 0)  # the old check's evidence: signal 0 succeeds on a zombie
        results = repair(tmp_path)
        assert [(r.status, r.n_samples) for r in results] == [("finalised", 1000)], results
        assert find_unfinished(tmp_path) == [] and not w.marker.exists()
    finally:
        child.kill()
        child.wait()


@pytest.mark.skipif(not LINUX_PROC, reason="process start time is read from /proc (Linux)")
def test_pid_reused_by_a_later_process_is_not_the_writer(tmp_path) -> None:
    """A live process whose pid matches the marker but that started after the marker was last
    written cannot be its writer (the writer rewrites the marker while it lives)."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        w = _flushed_session(tmp_path, child.pid)
        old = time.time() - 3600
        os.utime(w.marker, (old, old))  # last written an hour ago, long before this process started
        assert [r.status for r in repair(tmp_path)] == ["finalised"]
    finally:
        child.kill()
        child.wait()


@pytest.mark.parametrize("kind", ["missing", "file"])
def test_cli_out_not_a_directory_is_a_usage_error(tmp_path, kind: str) -> None:
    out = tmp_path / "nope"
    if kind == "file":
        out.write_text("not a dataset\n")
    proc = subprocess.run([sys.executable, "-m", "repsense", "repair", "--out", str(out)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    text = (proc.stdout + proc.stderr).strip()
    assert len(text.splitlines()) == 1 and "Traceback" not in text
    assert str(out) in text
    assert ("does not exist" if kind == "missing" else "is not a directory") in text
    assert "no unfinished session" not in text
