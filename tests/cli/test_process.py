"""``repsense process`` end to end, in a subprocess, on files written here and on the real data set."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import numpy as np
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from repsense.store import read_sessions


def _write_csv(path: Path, seed: int) -> None:
    from repsense.simulate import simulate_session

    rec, _ = simulate_session(seed, sample_rate_hz=25.0, n_sets=1, gyro=False, lead_s=(2.0, 4.0))
    t_ns = rec.meta.t0_utc_ns + np.round(rec.accel.t_s * 1e9).astype(np.int64)
    rows = [f"{t},{x:.6f},{y:.6f},{z:.6f}" for t, (x, y, z) in zip(t_ns.tolist(), rec.accel.values.tolist(),
                                                                     strict=True)]
    path.write_text("time_ns,ax,ay,az\n" + "\n".join(rows) + "\n")


def _process(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "repsense", "process", *args], capture_output=True, text=True,
                          timeout=timeout)


def _process_killed_after(src: Path, out: Path, n_sessions: int, wait_s: float) -> None:
    """``repsense process src --out out`` with one worker, SIGKILLed (its whole process group)
    once ``n_sessions`` session files exist, or after ``wait_s``."""
    proc = subprocess.Popen([sys.executable, "-m", "repsense", "process", str(src), "--out", str(out),
                             "--workers", "1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline and len(list(out.rglob("sessions/**/*.parquet"))) < n_sessions:
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("in")
    for k in range(4):
        _write_csv(d / f"set{k}.csv", seed=200 + k)
    return d


def test_process_folder_then_rerun_changes_nothing(inputs: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    r = _process(str(inputs), "--out", str(out), "--participant", "P01", "--workers", "2")
    assert r.returncode == 0, r.stderr
    assert "written" in r.stdout and "Traceback" not in r.stderr
    assert "4/4" in r.stderr  # the progress bar counted the files
    sessions = ds.dataset(out / "sessions", format="parquet", partitioning="hive").to_table()
    assert sessions.num_rows == 4 and set(sessions["participant"].to_pylist()) == {"P01"}
    n_reps = duckdb.sql(f"select count(*) from read_parquet('{out}/reps/**/*.parquet', hive_partitioning=true) "
                        "where participant = 'P01'").fetchall()[0][0]
    assert n_reps == sum(sessions["n_reps"].to_pylist()) > 0
    first = _tree(out)
    r2 = _process(str(inputs), "--out", str(out), "--participant", "P01", "--workers", "1")
    assert r2.returncode == 0 and "unchanged" in r2.stdout
    assert _tree(out) == first


def test_streaming_every_input_stores_the_same_bytes(inputs: Path, tmp_path: Path) -> None:
    whole, streamed = tmp_path / "whole", tmp_path / "streamed"
    assert _process(str(inputs), "--out", str(whole), "--workers", "1").returncode == 0
    r = _process(str(inputs), "--out", str(streamed), "--workers", "1", "--stream-above", "0.001")  # 1 KiB
    assert r.returncode == 0, r.stderr
    assert _tree(streamed) == _tree(whole) and len(_tree(whole)) > 4


def test_dask_local_cluster_gives_the_same_dataset(inputs: Path, tmp_path: Path) -> None:
    pytest.importorskip("distributed", reason="repsense[dask] not installed")
    r1 = _process(str(inputs), "--out", str(tmp_path / "seq"), "--workers", "1")
    r2 = _process(str(inputs), "--out", str(tmp_path / "dask"), "--scheduler", "local:2")
    assert r1.returncode == 0 and r2.returncode == 0, r2.stdout + r2.stderr
    assert "local:2" in r2.stdout
    assert _tree(tmp_path / "dask") == _tree(tmp_path / "seq")


def test_failing_file_is_listed_and_the_rest_stored(inputs: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("time_ns,ax,ay,az\n1,x,2,3\n2,y,2,3\n")
    r = _process(str(inputs / "set0.csv"), str(bad), str(tmp_path / "missing.csv"), "--out", str(tmp_path / "o"),
                 "--workers", "1")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "2 input(s) failed" in r.stdout
    assert f"{bad}" in r.stdout and "missing.csv" in r.stdout and "no such file" in r.stdout
    assert "Traceback" not in r.stdout + r.stderr
    assert read_sessions(tmp_path / "o").num_rows == 1


def test_rate_for_files_without_time_column(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    a = rng.normal(0, 0.05, (1500, 3)) + [0, 0, 1]
    f = tmp_path / "no_time.csv"
    f.write_text("ax,ay,az\n" + "\n".join(f"{x:.4f},{y:.4f},{z:.4f}" for x, y, z in a) + "\n")
    r = _process(str(f), "--out", str(tmp_path / "o1"), "--workers", "1")
    assert r.returncode == 1 and "no_time.csv" in r.stdout and "rate" in r.stdout.lower()
    r = _process(str(f), "--out", str(tmp_path / "o2"), "--rate", "50", "--workers", "1")
    assert r.returncode == 0, r.stdout + r.stderr
    row = read_sessions(tmp_path / "o2")
    assert row["n_samples"].to_pylist() == [1500]
    assert row["sample_rate_hz"].to_pylist()[0] == pytest.approx(50.0)


@pytest.mark.parametrize("args, message", [
    ((), "required"),
    (("IN", "--out", "FILE"), "not a folder"),
    (("IN", "--out", "FILESUB"), "cannot create --out"),
    (("IN", "--out", "O", "--workers", "0"), "must be >= 1"),
    (("IN", "--out", "O", "--rate", "-5"), "must be > 0"),
    (("IN", "--out", "O", "--scheduler", "local:0"), "local:N"),
    (("IN", "--out", "O", "--scheduler", "nowhere.json"), "scheduler file"),
    (("IN", "--out", "O", "--key-file", "k"), "--pseudonymise"),
    (("IN", "--out", "O", "--stream-above", "0"), "must be > 0"),
])
def test_usage_errors_exit_2(inputs: Path, tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    (tmp_path / "FILE").write_text("x")
    subst = {"IN": str(inputs), "FILE": str(tmp_path / "FILE"), "O": str(tmp_path / "o"),
             "FILESUB": str(tmp_path / "FILE" / "sub")}
    r = _process(*(subst.get(a, a) for a in args))
    assert r.returncode == 2, r.stdout + r.stderr
    assert message in r.stderr and "Traceback" not in r.stderr


def test_pseudonymised_participant(inputs: Path, tmp_path: Path) -> None:
    key = tmp_path / "key"
    r = _process(str(inputs / "set1.csv"), "--out", str(tmp_path / "o"), "--participant", "Alice",
                 "--pseudonymise", "--key-file", str(key))
    assert r.returncode == 0, r.stderr
    stored = read_sessions(tmp_path / "o")["participant"].to_pylist()
    assert len(stored) == 1 and stored[0].startswith("ps-") and "Alice" not in stored[0]
    assert not any(b"Alice" in b for b in _tree(tmp_path / "o").values())


def test_sigkill_midway_leaves_no_partial_file_and_rerun_completes(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    for k in range(16):
        _write_csv(src / f"r{k:02d}.csv", seed=300 + k)
    out = tmp_path / "out"
    _process_killed_after(src, out, n_sessions=3, wait_s=60)
    n_done = len(list(out.rglob("sessions/**/*.parquet")))
    assert 3 <= n_done < 16, "the kill did not land mid-run"
    for p in out.rglob("*.parquet"):
        pq.read_table(p)  # every visible file is whole
    # every session with a sessions row has all its files (sessions are written last)
    for p in (out / "sessions").rglob("*.parquet"):
        rel = p.relative_to(out / "sessions")
        for table in ("sets", "reps", "samples"):
            assert (out / table / rel).is_file(), (table, rel)
    r = _process(str(src), "--out", str(out), "--workers", "1")
    assert r.returncode == 0, r.stderr
    assert not list(out.rglob("*.tmp"))
    clean = tmp_path / "clean"
    assert _process(str(src), "--out", str(clean), "--workers", "1").returncode == 0
    assert _tree(out) == _tree(clean)


def test_ctrl_c_stops_workers_quietly_and_rerun_completes(inputs: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "repsense", "process", str(inputs), "--out", str(out),
                             "--workers", "2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    time.sleep(3)  # workers are starting or working
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
    _, err = proc.communicate(timeout=30)
    assert proc.returncode in (0, 130), err  # 0 only if it had already finished
    assert "Traceback" not in err
    deadline = time.monotonic() + 15  # no worker process left behind (zombies are reaped by init)
    while time.monotonic() < deadline:
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.2)
    else:
        pytest.fail("worker processes still alive after Ctrl-C")
    r = _process(str(inputs), "--out", str(out), "--workers", "1")
    assert r.returncode == 0 and read_sessions(out).num_rows == 4


@pytest.mark.shared
def test_real_metamotion_folder(metamotion_dir: Path, tmp_path: Path) -> None:
    raw = metamotion_dir / "raw"
    out = tmp_path / "out"
    r = _process(str(raw), "--out", str(out), timeout=300)  # 4.8 MB: the default runs it in-process
    assert r.returncode == 0, r.stdout + r.stderr
    sessions = ds.dataset(out / "sessions", format="parquet", partitioning="hive").to_table()
    # accelerometer+gyroscope files of a set are one input, so one session
    assert sessions.num_rows == len({re.sub(r"_(Accelerometer|Gyroscope)_[0-9.]+Hz", "", p.name)
                                     for p in raw.glob("*.csv")})
    assert (sessions["n_gyro_samples"].to_numpy() > 0).sum() >= sessions.num_rows - 1
    con = duckdb.connect()
    n = con.sql(f"select count(*) from read_parquet('{out}/samples/**/*.parquet', hive_partitioning=true) "
                "where stream = 'accel'").fetchall()[0][0]
    assert n == sum(sessions["n_samples"].to_pylist()) > 0
    first = _tree(out)
    r2 = _process(str(raw), "--out", str(out), timeout=300)
    assert r2.returncode == 0 and "unchanged" in r2.stdout
    assert _tree(out) == first

    # killed midway (SIGKILL, whole process group): only whole files; the rerun gives the same dataset
    killed = tmp_path / "killed"
    _process_killed_after(raw, killed, n_sessions=5, wait_s=120)
    assert 5 <= len(list(killed.rglob("sessions/**/*.parquet"))) < sessions.num_rows
    for p in killed.rglob("*.parquet"):
        pq.read_table(p)
    r3 = _process(str(raw), "--out", str(killed), "--workers", "1", timeout=300)
    assert r3.returncode == 0, r3.stdout + r3.stderr
    assert _tree(killed) == first


def test_dropped_rows_and_relative_times_are_told(tmp_path):
    import subprocess
    import sys

    f = tmp_path / "rel.csv"
    f.write_text("t_s,ax,ay,az\n0.0,0,0,1\n0.1,0,0,1\n0.2,abc,0,1\n0.3,0,0,1\n")
    r = subprocess.run([sys.executable, "-m", "repsense", "process", str(f), "--out", str(tmp_path / "o")],
                       capture_output=True, text=True, timeout=300, env={**__import__("os").environ, "COLUMNS": "200"})
    assert r.returncode == 0, r.stderr
    out = r.stdout + r.stderr
    assert "1 of 4 rows dropped (non_numeric 1)" in out
    assert "times are relative" in out
