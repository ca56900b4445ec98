"""The entry point: usage errors, and output that cannot be written (closed pipe, full disk)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
RECORDING = REPO / "recordings" / "P05_rest_2025-09-08_25Hz.csv"


def _repsense(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "repsense", *args], capture_output=True, text=True,
                          timeout=300, **kw)


def test_no_command_is_a_usage_error():
    r = _repsense()
    assert r.returncode == 2 and "usage" in r.stderr.lower()


def test_closed_pipe_stops_quietly():
    # like `repsense count --json FILE FILE | head -0`: the reader is gone before we write
    r, w = os.pipe()
    os.close(r)
    try:
        proc = subprocess.run([sys.executable, "-m", "repsense", "count", "--json", str(RECORDING)],
                              stdout=w, stderr=subprocess.PIPE, text=True, timeout=300)
    finally:
        os.close(w)
    assert "Traceback" not in proc.stderr
    assert proc.returncode == 141


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_full_disk_on_stdout_is_one_line_not_a_traceback():
    with open("/dev/full", "w") as full:
        proc = subprocess.run([sys.executable, "-m", "repsense", "count", "--json", str(RECORDING)],
                              stdout=full, stderr=subprocess.PIPE, text=True, timeout=300)
    assert "Traceback" not in proc.stderr
    assert proc.returncode == 1 and "cannot write the output" in proc.stderr


@pytest.mark.parametrize("bad", [["--rate", "0"], ["--duration", "-1"], ["--speed", "0"], ["--rate", "nan"]])
def test_live_rejects_nonsense_numbers_before_touching_a_band(tmp_path, bad):
    r = _repsense("live", "--emulate", "diy", "--out", str(tmp_path / "o"), *bad)
    assert r.returncode == 2 and "must be > 0" in r.stderr
    assert not (tmp_path / "o").exists()


def test_live_says_when_the_band_cannot_stream_at_the_requested_rate(tmp_path):
    pytest.importorskip("bumble", reason="emulated bands need the 'emulate' extra")
    r = _repsense("live", "--emulate", "polar_pmd", "--rate", "13", "--duration", "2", "--no-view",
                  "--out", str(tmp_path / "o"))
    assert r.returncode == 0, r.stderr
    assert "streamed at 52 Hz" in r.stderr and "requested 13 Hz" in r.stderr
    ok = _repsense("live", "--emulate", "polar_pmd", "--rate", "52", "--duration", "2", "--no-view",
                   "--out", str(tmp_path / "o2"))
    assert ok.returncode == 0 and "streamed at" not in ok.stderr


def test_ctrl_c_while_the_commands_load_is_quiet(monkeypatch, capsys):
    # on a slow start the interrupt can land while the parser imports every command
    from repsense.cli import main as cli_main

    def interrupted():
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_main, "_commands", interrupted)
    assert cli_main.main(["count", "nothing.csv"]) == 130
    assert capsys.readouterr().err == "interrupted\n"
