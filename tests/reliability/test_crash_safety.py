"""kill -9 at random points of ``repsense process``, ``repsense mood import`` and ``repsense live``.

Each loop kills the real CLI (a subprocess, whole process group) at a random instant, drawn
from a seeded RNG over the duration of an uninterrupted run, several times in a row on the
same output folder. After every kill:

* every ``*.parquet`` in the store opens (no half file), and ``pyarrow.dataset`` reads every table;
* no session (or mood entry) is stored twice;
* a session that has a sessions row has all its other files.

Then a rerun completes the store to exactly the dataset of an uninterrupted run.

``REPSENSE_RELIABILITY_LOOPS`` sets the number of kills per loop (default 5, CI); the ``slow``
variants run only when it is set above the default.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

import numpy as np
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from repsense.mood import read_mood
from repsense.store import read_sessions

LOOPS = int(os.environ.get("REPSENSE_RELIABILITY_LOOPS", "5"))
DEFAULT_LOOPS = 5
LONG = pytest.mark.skipif(LOOPS <= DEFAULT_LOOPS, reason="long kill loop: set REPSENSE_RELIABILITY_LOOPS > 5")

TABLES = ("sessions", "sets", "reps", "samples")


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "repsense", *args]


def _run(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(_cli(*args), capture_output=True, text=True, timeout=timeout)


def _timed(*args: str) -> tuple[float, subprocess.CompletedProcess[str]]:
    t = time.monotonic()
    r = _run(*args)
    return time.monotonic() - t, r


def _kill_after(args: list[str], delay_s: float) -> int:
    """Start the CLI in its own process group, SIGKILL the group after ``delay_s``; returncode."""
    proc = subprocess.Popen(_cli(*args), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        proc.wait(timeout=delay_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # workers left behind by a finished parent, if any
        except ProcessLookupError:
            pass
        proc.wait(timeout=30)
    return proc.returncode


def _kill_when(args: list[str], count: Callable[[], int], target: int, extra_s: float, timeout_s: float = 120) -> int:
    """Start the CLI, SIGKILL its process group ``extra_s`` after ``count()`` reaches ``target``
    (polled every 5 ms), so the kill lands while the store is being written; returncode."""
    proc = subprocess.Popen(_cli(*args), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + timeout_s
    try:
        while proc.poll() is None and count() < target and time.monotonic() < deadline:
            time.sleep(0.005)
        time.sleep(extra_s)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=30)
    return proc.returncode


def _n_files(root: Path, pattern: str) -> int:
    return len(list(root.glob(pattern))) if root.is_dir() else 0


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _check_store_after_kill(out: Path) -> int:
    """The invariants that must hold at every instant; returns the number of stored sessions."""
    for p in out.rglob("*.parquet"):
        pq.read_table(p)  # raises on a half-written file
    for table in TABLES:
        if (out / table).is_dir():
            ds.dataset(out / table, format="parquet", partitioning="hive").to_table()
    sessions = read_sessions(out)
    ids = sessions["session_id"].to_pylist()
    assert len(ids) == len(set(ids)), "a session is stored twice"
    for p in (out / "sessions").rglob("*.parquet") if (out / "sessions").is_dir() else []:
        rel = p.relative_to(out / "sessions")
        for table in ("sets", "reps"):
            assert (out / table / rel).is_file(), f"session {rel} has no {table} file"
        stem = rel.name.removesuffix(".parquet")
        assert list((out / "samples" / rel.parent).glob(f"{stem}*.parquet")), f"session {rel} has no samples"
    return len(ids)


# --------------------------------------------------------------------------- repsense process


def _write_inputs(d: Path, n: int) -> None:
    from repsense.simulate import simulate_session

    d.mkdir(parents=True, exist_ok=True)
    for k in range(n):
        rec, _ = simulate_session(500 + k, sample_rate_hz=50.0, n_sets=1, gyro=True, lead_s=(2.0, 4.0))
        t_ns = rec.meta.t0_utc_ns + np.round(rec.accel.t_s * 1e9).astype(np.int64)
        g = rec.gyro.values if rec.gyro is not None and len(rec.gyro) == len(rec.accel) else np.zeros_like(rec.accel.values)
        rows = [f"{t},{a[0]:.5f},{a[1]:.5f},{a[2]:.5f},{b[0]:.3f},{b[1]:.3f},{b[2]:.3f}"
                for t, a, b in zip(t_ns.tolist(), rec.accel.values.tolist(), g.tolist())]
        (d / f"s{k:02d}.csv").write_text("time_ns,ax (g),ay (g),az (g),gx (deg/s),gy (deg/s),gz (deg/s)\n"
                                         + "\n".join(rows) + "\n")


def _process_kill_loop(tmp_path: Path, loops: int, seed: int, n_inputs: int) -> dict[str, int]:
    src = tmp_path / "in"
    _write_inputs(src, n_inputs)
    clean = tmp_path / "clean"
    t_clean, r = _timed("process", str(src), "--out", str(clean), "--participant", "P1", "--workers", "1")
    assert r.returncode == 0, r.stderr[-2000:]
    n_sessions = read_sessions(clean).num_rows
    assert n_sessions == n_inputs
    out = tmp_path / "out"
    rng = np.random.default_rng(seed)
    stats = {"kills": 0, "landed_mid_write": 0}
    args = ["process", str(src), "--out", str(out), "--participant", "P1", "--workers", "1"]
    for i in range(loops):
        done = _n_files(out, "sessions/*/*/*.parquet")
        if done >= n_inputs - 1:  # nearly complete: start over so the next kills land mid-write again
            shutil.rmtree(out)
            done = 0
        if i == 0:  # a kill at a random instant (start-up included)
            rc = _kill_after(args, float(rng.uniform(0.3, t_clean)))
        else:  # a kill just after a random number of further sessions were stored
            target = int(rng.integers(done + 1, n_inputs))
            rc = _kill_when(args, lambda: _n_files(out, "sessions/*/*/*.parquet"), target, float(rng.uniform(0, 0.05)))
        stats["kills"] += rc == -signal.SIGKILL
        if out.exists():
            n = _check_store_after_kill(out)
            stats["landed_mid_write"] += 0 < n < n_inputs
    r = _run("process", str(src), "--out", str(out), "--participant", "P1", "--workers", "1")
    assert r.returncode == 0, r.stderr[-2000:]
    assert not list(out.rglob("*.tmp")), "temporary files left after the completing rerun"
    assert _tree(out) == _tree(clean), "rerun after kills differs from an uninterrupted run"
    return stats


def test_process_kill_loop(tmp_path: Path) -> None:
    stats = _process_kill_loop(tmp_path, LOOPS, seed=1, n_inputs=6)
    print(f"process kill loop: {stats}")
    assert stats["kills"] >= 1 and stats["landed_mid_write"] >= 1, stats  # at least one kill landed while the process was running


@pytest.mark.slow
@LONG
def test_process_kill_loop_long(tmp_path: Path) -> None:
    stats = _process_kill_loop(tmp_path, LOOPS, seed=2, n_inputs=12)
    print(f"process kill loop (long): {stats}")
    assert stats["kills"] >= LOOPS // 2 and stats["landed_mid_write"] >= 1, stats


# --------------------------------------------------------------------------- repsense mood import


def _write_mood_log(path: Path, n_participants: int) -> int:
    t0 = datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)
    lines = ["participant,timestamp,instrument,total"]
    for p in range(n_participants):
        for k in range(5):
            lines.append(f"P{p:03d},{(t0 + timedelta(hours=k, minutes=p)).isoformat()},FS,{(p + k) % 11 - 5}")
    lines.append("P000,not-a-time,FS,1")
    path.write_text("\n".join(lines) + "\n")
    return n_participants * 5


def _mood_rows(store: Path) -> list[tuple]:
    t = read_mood(store)
    cols = [c for c in t.column_names if c != "participant"] + ["participant"]
    return sorted(tuple(str(v) for v in row.values()) for row in t.select(cols).to_pylist())


def _mood_kill_loop(tmp_path: Path, loops: int, seed: int, n_participants: int) -> dict[str, int]:
    log = tmp_path / "log.csv"
    n_good = _write_mood_log(log, n_participants)
    clean = tmp_path / "clean"
    t_clean, r = _timed("mood", "import", str(log), "--store", str(clean))
    assert r.returncode in (0, 1), r.stderr[-2000:]
    assert read_mood(clean).num_rows == n_good
    store = tmp_path / "store"
    rng = np.random.default_rng(seed)
    stats = {"kills": 0, "landed_mid_write": 0}
    args = ["mood", "import", str(log), "--store", str(store)]
    for i in range(loops):
        done = _n_files(store, "mood/*/*.parquet")
        if done >= n_participants - 1:  # nearly complete: start over
            shutil.rmtree(store)
            done = 0
        if i == 0:
            rc = _kill_after(args, float(rng.uniform(0.3, t_clean)))
        else:
            target = int(rng.integers(done + 1, n_participants))
            rc = _kill_when(args, lambda: _n_files(store, "mood/*/*.parquet"), target, float(rng.uniform(0, 0.02)))
        stats["kills"] += rc == -signal.SIGKILL
        if (store / "mood").is_dir():
            for p in store.rglob("*.parquet"):
                pq.read_table(p)
            ds.dataset(store / "mood", format="parquet", partitioning="hive").to_table()
            t = read_mood(store)
            ids = t["entry_id"].to_pylist()
            assert len(ids) == len(set(ids)), "a mood entry is stored twice"
            stats["landed_mid_write"] += 0 < len(ids) < n_good
    r = _run("mood", "import", str(log), "--store", str(store))
    assert r.returncode in (0, 1), r.stderr[-2000:]
    assert "Traceback" not in r.stderr
    # (a temp file of a killed rejects-file write is not cleaned up yet: see
    # test_stale_rejects_temp_file_of_a_killed_import_is_cleaned_up)
    assert not list((store / "mood").rglob("*.tmp"))
    assert _mood_rows(store) == _mood_rows(clean)
    return stats


def test_mood_import_kill_loop(tmp_path: Path) -> None:
    stats = _mood_kill_loop(tmp_path, LOOPS, seed=3, n_participants=120)
    print(f"mood import kill loop: {stats}")
    assert stats["kills"] >= 1 and stats["landed_mid_write"] >= 1, stats


@pytest.mark.slow
@LONG
def test_mood_import_kill_loop_long(tmp_path: Path) -> None:
    stats = _mood_kill_loop(tmp_path, LOOPS, seed=4, n_participants=300)
    print(f"mood import kill loop (long): {stats}")
    assert stats["kills"] >= LOOPS // 2 and stats["landed_mid_write"] >= 1, stats


# --------------------------------------------------------------------------- repsense live --emulate


def _live_kill_loop(tmp_path: Path, loops: int, seed: int) -> dict[str, int]:
    pytest.importorskip("bumble", reason="needs the emulation extra: pip install 'repsense[emulate]'")
    from repsense.live import find_unfinished
    from repsense.store import read_recording_parquet

    out = tmp_path / "out"
    rng = np.random.default_rng(seed)
    stats = {"kills": 0, "sessions_with_data": 0, "samples_stored": 0}
    args = ["live", "--emulate", "diy", "--speed", "4", "--flush", "0.5", "--participant", "P9", "--out", str(out),
            "--no-view"]
    for i in range(loops):
        if i == 0:  # once during start-up (scan, connect, configure)
            rc = _kill_after(args, float(rng.uniform(0.5, 3.0)))
        else:  # otherwise at a random instant after the first flush of this run
            n_before = len(list(out.rglob("*-part-*.parquet")))
            proc = subprocess.Popen(_cli(*args), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                    start_new_session=True)
            deadline = time.monotonic() + 60
            while len(list(out.rglob("*-part-*.parquet"))) <= n_before and time.monotonic() < deadline:
                assert proc.poll() is None, "live ended before its first flush"
                time.sleep(0.05)
            time.sleep(float(rng.uniform(0.0, 4.0)))
            os.killpg(proc.pid, signal.SIGKILL)
            rc = proc.wait(timeout=30)
        stats["kills"] += rc == -signal.SIGKILL
        if not out.exists():
            continue
        _check_store_after_kill(out)
        for first in sorted((out / "samples").rglob("*-part-00000.parquet")) if (out / "samples").is_dir() else []:
            rec = read_recording_parquet(first)  # all parts of the session, in order
            dt = np.diff(rec.accel.t_s)
            assert (dt > 0).all(), f"{first.name}: samples stored twice or out of order"
            assert dt.max() < 1.5 / 50.0 if dt.size else True, f"{first.name}: a hole before the last flush"
    if out.exists():
        r = _run("repair", "--out", str(out))
        assert r.returncode == 0, r.stderr[-2000:]
        assert find_unfinished(out) == []
        _check_store_after_kill(out)
        sessions = read_sessions(out, columns=["session_id", "n_samples"]).to_pylist()
        samples = read_sessions(out, "samples", columns=["session_id", "stream"])
        # every killed session with flushed samples is finalised (by the next start or by repair)
        stats["sessions_with_data"] = len(set(samples["session_id"].to_pylist()))
        assert sorted(r["session_id"] for r in sessions) == sorted(set(samples["session_id"].to_pylist()))
        for row in sessions:
            n_acc = sum(1 for sid, stream in zip(samples["session_id"].to_pylist(), samples["stream"].to_pylist())
                        if sid == row["session_id"] and stream == "accel")
            assert row["n_samples"] == n_acc  # the finalised session counts exactly what was flushed
            stats["samples_stored"] += n_acc
    return stats


def test_live_kill_loop(tmp_path: Path) -> None:
    stats = _live_kill_loop(tmp_path, min(LOOPS, 2), seed=5)  # one start-up kill, one mid-capture kill
    print(f"live kill loop: {stats}")
    assert stats["kills"] >= 1 and stats["sessions_with_data"] >= 1, stats


@pytest.mark.slow
@LONG
def test_live_kill_loop_long(tmp_path: Path) -> None:
    stats = _live_kill_loop(tmp_path, LOOPS, seed=6)
    print(f"live kill loop (long): {stats}")
    assert stats["kills"] >= LOOPS // 2, stats


def test_stale_rejects_temp_file_of_a_killed_import_is_cleaned_up(tmp_path: Path) -> None:
    log = tmp_path / "log.csv"
    _write_mood_log(log, 3)  # has one bad row -> a rejects file
    store = tmp_path / "store"
    r = _run("mood", "import", str(log), "--store", str(store))
    assert r.returncode in (0, 1), r.stderr[-2000:]
    rejects = next((store / "mood_rejects").glob("*.csv"))
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # a pid that no longer runs: the killed writer
    stale = rejects.with_name(f".{rejects.name}.{dead.pid}.tmp")
    stale.write_bytes(b"half a rejects file")
    r = _run("mood", "import", str(log), "--store", str(store))
    assert r.returncode in (0, 1), r.stderr[-2000:]
    assert not stale.exists()
