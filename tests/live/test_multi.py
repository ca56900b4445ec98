"""Several bands in one capture, a stalled band, and the CLI's scan / error paths."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

pytest.importorskip("bumble", reason="needs the emulation extra: pip install 'repsense[emulate]'")

from repsense.cli.main import main  # noqa: E402
from repsense.emulate import VirtualWorld  # noqa: E402
from repsense.emulate.faults import Faults  # noqa: E402
from repsense.ingest import SessionOptions  # noqa: E402
from repsense.live import LiveCapture, LiveOptions, resolve_targets  # noqa: E402
from repsense.simulate import simulate_session  # noqa: E402
from repsense.store import read_sessions  # noqa: E402

SPEED = 10.0


def _rec(rate: float, seed: int = 1):
    rec, _ = simulate_session(seed, sample_rate_hz=rate, n_sets=2, rest_s=(8, 10), lead_s=(2, 3), jitter_s=0.0,
                              drops=False)
    return rec


async def test_two_bands_at_once_two_sessions(tmp_path) -> None:
    async with VirtualWorld() as world:
        a = world.add_device("diy", recording=_rec(100.0, 1), speed=SPEED)
        b = world.add_device("polar_pmd", recording=_rec(52.0, 2), speed=SPEED)
        await world.settle()
        targets = await resolve_targets(devices=[a.address, b.name], kind=None, scan_timeout_s=5.0,
                                        scanner_backend=world.scanner_backend)
        assert [t.kind for t in targets] == ["diy", "polar_pmd"]
        cap = LiveCapture(targets, LiveOptions(out_dir=str(tmp_path), participant="P2", speed=SPEED),
                          client_backend=world.client_backend)
        done = asyncio.ensure_future(asyncio.gather(a.finished.wait(), b.finished.wait()))
        done.add_done_callback(lambda _f: cap.request_stop())
        dets = await asyncio.wait_for(cap.run(), 60)
    assert all(d is not None and d.n_reps > 0 for d in dets)
    rows = read_sessions(tmp_path, "sessions").drop(["start_utc", "end_utc", "t0_utc"]).to_pylist()
    assert sorted(r["device_kind"] for r in rows) == ["diy", "polar_pmd"]
    for r, d, dev in zip(sorted(rows, key=lambda r: r["device_kind"]), dets, (a, b), strict=True):
        sent = [dev.sent(n) for n in sorted(dev._logs) if dev.sent(n).unit == "g"][0]
        assert r["n_samples"] == int(sent.delivered.sum()) and r["n_reps"] == d.n_reps and r["n_dropped"] == 0


async def test_stalled_band_is_reconnected(tmp_path) -> None:
    """Connected but silent for longer than stall_s: the session reconnects and records the gap."""
    async with VirtualWorld() as world:
        dev = world.add_device("diy", recording=_rec(100.0), speed=SPEED,
                               faults=Faults(stall_at_s=15.0, stall_for_s=12.0))
        await world.settle()
        targets = await resolve_targets(devices=[dev.address], kind=None, scan_timeout_s=5.0,
                                        scanner_backend=world.scanner_backend)
        cap = LiveCapture(targets, LiveOptions(out_dir=str(tmp_path), speed=SPEED,
                                               session=SessionOptions(stall_s=0.5, backoff_s=0.05)),
                          client_backend=world.client_backend)
        done = asyncio.ensure_future(dev.finished.wait())
        done.add_done_callback(lambda _f: cap.request_stop())
        await asyncio.wait_for(cap.run(), 60)
    s = cap.recorders[0].session
    assert s.counters.n_stalls >= 1 and s.counters.n_reconnects >= 1
    clock = s.clocks["accel"]
    assert clock.gaps and all(g.reason in ("disconnect", "sequence", "timestamp") for g in clock.gaps)
    missing = sum(g.n_missing for g in clock.gaps)
    assert 1000 <= missing <= 1400  # ~12 s of the band's 100 Hz stream, plus the reconnect
    sent = [dev.sent(n) for n in sorted(dev._logs) if dev.sent(n).unit == "g"][0]
    assert s.n_samples("accel") == int(sent.delivered.sum())  # everything the band sent, once
    t = read_sessions(tmp_path, "samples").filter(
        np.array(read_sessions(tmp_path, "samples").column("stream").to_pylist()) == "accel")
    assert t.num_rows == int(sent.delivered.sum())


def test_cli_scan_emulated(capsys) -> None:
    assert main(["scan", "--emulate", "diy", "--emulate", "polar_pmd", "--timeout", "3"]) == 0
    out = capsys.readouterr().out
    assert "diy" in out and "polar_pmd" in out


def test_cli_live_usage_errors_are_clean(tmp_path, capsys) -> None:
    assert main(["live", "--out", str(tmp_path)]) == 2
    assert main(["live", "--emulate", "nosuchband", "--out", str(tmp_path), "--no-view"]) in (1, 2)
    err = capsys.readouterr().err
    assert "Traceback" not in err and "nosuchband" in err


def test_cli_live_pseudonymised(tmp_path) -> None:
    out = tmp_path / "out"
    key = tmp_path / "key"
    assert main(["live", "--emulate", "diy", "--speed", "20", "--duration", "2", "--participant", "P01-secret",
                 "--pseudonymise", "--key-file", str(key), "--out", str(out), "--no-view"]) == 0
    rows = read_sessions(out, "sessions").drop(["start_utc", "end_utc", "t0_utc"]).to_pylist()
    assert len(rows) == 1 and rows[0]["participant"].startswith("ps-") and rows[0]["n_samples"] > 0
    for f in out.rglob("*"):  # the id is in no path and no file
        assert "P01-secret" not in str(f)
        if f.is_file():
            assert b"P01-secret" not in f.read_bytes()
