"""A full disk and an unwritable output folder, for every command that writes the store.

Full disk: the CLI runs in a child process whose file-size limit (``RLIMIT_FSIZE``) is set low,
so writes fail with ``EFBIG`` part-way, as on a full disk (Python ignores SIGXFSZ). Unwritable
output: ``--out`` / ``--store`` below a regular file (``NotADirectoryError``; works as root,
unlike chmod), and a chmod 0500 folder (skipped as root, who ignores permissions).

Property: a clear message (no traceback), a non-zero exit, and nothing half written: every
``*.parquet`` left opens, no temporary file remains, no session is stored twice.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from repsense.store import read_sessions


def _cli(args: list[str], *, fsize: int | None = None, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    def limit() -> None:
        if fsize is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))

    return subprocess.run([sys.executable, "-m", "repsense", *args], capture_output=True, text=True, timeout=timeout,
                          preexec_fn=limit)


def _assert_clear_failure(r: subprocess.CompletedProcess[str], *words: str, blame: tuple[str, ...] = ()) -> None:
    """Non-zero exit, no traceback, the message says what went wrong and blames nothing in ``blame``."""
    text = r.stdout + r.stderr
    assert not any(b in text.lower() for b in blame), f"misleading message: {text[-1500:]}"
    assert r.returncode != 0, text[-2000:]
    assert "Traceback" not in text, text[-3000:]
    low = text.lower()
    assert any(w in low for w in words), f"message does not say what went wrong ({words}): {text[-1500:]}"


def _assert_nothing_half_written(out: Path) -> None:
    for p in out.rglob("*.parquet"):
        pq.read_table(p)
    leftovers = [p for p in out.rglob("*") if p.is_file() and (p.suffix == ".tmp" or ".tmp" in p.name)]
    assert not leftovers, f"temporary files left behind: {leftovers[:5]}"
    if (out / "sessions").is_dir():
        ids = read_sessions(out)["session_id"].to_pylist()
        assert len(ids) == len(set(ids))


def _inputs(d: Path, n: int) -> Path:
    from repsense.simulate import simulate_session

    d.mkdir(parents=True, exist_ok=True)
    for k in range(n):
        rec, _ = simulate_session(700 + k, sample_rate_hz=50.0, n_sets=1, gyro=False, lead_s=(2.0, 3.0))
        t_ns = rec.meta.t0_utc_ns + np.round(rec.accel.t_s * 1e9).astype(np.int64)
        rows = [f"{t},{a[0]:.5f},{a[1]:.5f},{a[2]:.5f}" for t, a in zip(t_ns.tolist(), rec.accel.values.tolist())]
        (d / f"s{k}.csv").write_text("time_ns,ax (g),ay (g),az (g)\n" + "\n".join(rows) + "\n")
    return d


DISK_WORDS = ("file too large", "no space", "disk", "cannot write", "could not write", "write failed", "efbig",
              "errno 27")
DIR_WORDS = ("not a directory", "cannot create", "permission", "not writable", "cannot write", "read-only")


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _inputs(tmp_path_factory.mktemp("in"), 3)


def test_process_full_disk(inputs: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    r = _cli(["process", str(inputs), "--out", str(out), "--workers", "1"], fsize=8192)
    _assert_clear_failure(r, *DISK_WORDS)
    _assert_nothing_half_written(out)
    # once space is back, a rerun completes the store
    r = _cli(["process", str(inputs), "--out", str(out), "--workers", "1"])
    assert r.returncode == 0, r.stderr[-2000:]
    assert read_sessions(out).num_rows == 3
    _assert_nothing_half_written(out)


def test_process_output_below_a_file(inputs: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    r = _cli(["process", str(inputs), "--out", str(blocker / "out"), "--workers", "1"])
    _assert_clear_failure(r, *DIR_WORDS)


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions; the below-a-file case covers it")
def test_process_read_only_output(inputs: Path, tmp_path: Path) -> None:
    out = tmp_path / "ro"
    out.mkdir(mode=0o500)
    r = _cli(["process", str(inputs), "--out", str(out), "--workers", "1"])
    _assert_clear_failure(r, *DIR_WORDS)


def _mood_log(path: Path, n: int = 40) -> Path:
    t0 = datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)
    lines = ["participant,timestamp,instrument,total"]
    lines += [f"P{p:02d},{(t0 + timedelta(minutes=p)).isoformat()},FS,{p % 11 - 5}" for p in range(n)]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_mood_import_full_disk_leaves_no_half_file_and_rerun_completes(tmp_path: Path) -> None:
    log = _mood_log(tmp_path / "log.csv")
    store = tmp_path / "store"
    r = _cli(["mood", "import", str(log), "--store", str(store)], fsize=3000)
    assert r.returncode != 0
    _assert_nothing_half_written(store)
    r = _cli(["mood", "import", str(log), "--store", str(store)])
    assert r.returncode == 0, r.stderr[-2000:]


def test_mood_import_full_disk_message(tmp_path: Path) -> None:
    log = _mood_log(tmp_path / "log.csv")
    r = _cli(["mood", "import", str(log), "--store", str(tmp_path / "store")], fsize=3000)
    _assert_clear_failure(r, *DISK_WORDS)


def test_mood_import_store_below_a_file(tmp_path: Path) -> None:
    log = _mood_log(tmp_path / "log.csv")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    r = _cli(["mood", "import", str(log), "--store", str(blocker / "store")])
    _assert_clear_failure(r, *DIR_WORDS)


@pytest.fixture(scope="module")
def live_full_disk(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    """One ``repsense live --emulate diy`` run with a 4 kB file-size limit (shared by two tests)."""
    pytest.importorskip("bumble", reason="needs the emulation extra: pip install 'repsense[emulate]'")
    out = tmp_path_factory.mktemp("live_full") / "out"
    r = _cli(["live", "--emulate", "diy", "--speed", "8", "--flush", "0.5", "--duration", "6", "--out", str(out),
              "--no-view"], fsize=4096)
    return r, out


def test_live_full_disk_leaves_no_half_file(live_full_disk) -> None:
    r, out = live_full_disk
    assert r.returncode != 0
    _assert_nothing_half_written(out)


def test_live_full_disk_message(live_full_disk) -> None:
    r, _ = live_full_disk
    _assert_clear_failure(r, *DISK_WORDS, blame=("bluetooth", "adapter"))


def test_live_output_below_a_file(tmp_path: Path) -> None:
    pytest.importorskip("bumble", reason="needs the emulation extra: pip install 'repsense[emulate]'")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    r = _cli(["live", "--emulate", "diy", "--speed", "8", "--duration", "3", "--out", str(blocker / "out"),
              "--no-view"])
    _assert_clear_failure(r, *DIR_WORDS, blame=("bluetooth", "adapter"))
