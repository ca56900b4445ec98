"""``repsense live``: capture from bands (or emulated bands), show reps live, store the session."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import os
import sys
from typing import Any

from rich.console import Console
from rich.table import Table

from ..errors import DISK_FULL_ERRNOS

#: OSError numbers that mean the disk refused a write, never the Bluetooth link.
_DISK_ERRNOS = DISK_FULL_ERRNOS | {errno.EROFS}

NAME = "live"
HELP = "capture from one or more bands (or --emulate), show reps live, store to Parquet"
DESCRIPTION = (HELP + ". Unfinished sessions in --out (after a crash) are finalised first. "
               "Stop with Ctrl-C: the session is finalised cleanly.")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", action="append", default=[], metavar="ADDR|NAME",
                   help="band address or (part of) its name; repeat for several bands")
    p.add_argument("--kind", help="device kind when its services do not tell (e.g. polar_pmd, metawear)")
    p.add_argument("--participant", default="", help="participant id stored with the session")
    p.add_argument("--pseudonymise", action="store_true", help="store a keyed pseudonym instead of --participant")
    p.add_argument("--key-file", metavar="F", help="pseudonymisation key (created 0600 if absent; default "
                   "$REPSENSE_KEY_FILE or ~/.config/repsense/pseudonym.key)")
    p.add_argument("--out", required=True, help="dataset root folder")
    p.add_argument("--duration", type=float, metavar="S", help="stop after S seconds (default: Ctrl-C, or end of replay)")
    p.add_argument("--emulate", action="append", default=[], metavar="KIND[:RECORDING]",
                   help="an emulated band of KIND replaying RECORDING (default: a simulated session); repeatable")
    p.add_argument("--speed", type=float, default=1.0, help="replay speed of emulated bands (default 1)")
    p.add_argument("--rate", type=float, help="accelerometer rate to request, Hz (default: the kind's default)")
    p.add_argument("--scan-timeout", type=float, default=8.0, metavar="S", help="scan time to find the bands")
    p.add_argument("--flush", type=float, default=1.0, metavar="S", help="write samples at least every S s (<= 2)")
    p.add_argument("--seed", type=int, default=1, help="seed of the simulated session for --emulate without a file")
    p.add_argument("--no-view", action="store_true", help="no live table (for logs and scripts)")


def _summary(console: Console, capture: Any, dets: list[Any]) -> None:
    console.print()
    table = Table(title="sessions stored")
    for col in ("device", "session", "samples", "lost", "dup", "malformed", "reconnects", "sets", "reps", "TUT"):
        table.add_column(col)
    for rec, det in zip(capture.recorders, dets, strict=True):
        s = rec.session
        table.add_row(s.name or s.address, rec.session_id or "-", str(s.n_samples("accel")), str(s.n_lost + s.n_overflow),
                      str(s.n_duplicate), str(s.counters.n_malformed), str(s.counters.n_reconnects),
                      str(len(det.sets)) if det else "-", str(det.n_reps) if det else "-",
                      f"{sum(x.tut_s for x in det.sets):.1f} s" if det else "-")
    console.print(table)
    requested = capture.options.session.sample_rate_hz
    for rec in capture.recorders:
        got = rec.session.driver.sample_rate_hz
        if requested is not None and abs(got - requested) > 1e-9:
            s = rec.session
            console.print(f"note: {s.name or s.address} streamed at {got:g} Hz, the rate its protocol supports "
                          f"nearest to the requested {requested:g} Hz", markup=False, highlight=False)


async def _capture(args: argparse.Namespace, targets_of: Any, client_backend: Any, console: Console,
                   replay_done: Any = None, participant: str = "") -> int:
    from ..ingest import SessionOptions
    from ..live import LiveCapture, LiveOptions
    from ..live.view import LiveView

    targets = await targets_of()
    opts = LiveOptions(out_dir=args.out, participant=participant, duration_s=args.duration,
                       flush_s=min(2.0, max(0.05, args.flush)), speed=args.speed,
                       session=SessionOptions(sample_rate_hz=args.rate, speed=args.speed))
    view_cm = contextlib.nullcontext() if args.no_view else LiveView(console)
    with view_cm as view:
        capture = LiveCapture(targets, opts, client_backend=client_backend, view=view)
        if replay_done is not None:
            replay_done.add_done_callback(lambda _f: capture.request_stop())
        dets = await capture.run()
    _summary(console, capture, dets)
    for err in capture.errors:
        console.print(f"[red]error[/]: {err}")
    return 1 if capture.errors else 0


def run(args: argparse.Namespace) -> int:
    from ..errors import RepsenseError
    from ..ingest.transport_bleak import LinkError
    from ..live import repair
    from ..live.emulated import load_recording, parse_emulate_spec, run_emulated
    from ..live.pipeline import resolve_targets

    console = Console(stderr=True) if sys.stderr.isatty() else Console(stderr=True, width=160)
    if not args.speed > 0:
        console.print("[red]error[/]: --speed must be > 0")
        return 2
    if args.duration is not None and not args.duration > 0:
        console.print(f"[red]error[/]: --duration must be > 0 seconds, got {args.duration}")
        return 2
    if args.rate is not None and not args.rate > 0:
        console.print(f"[red]error[/]: --rate must be > 0 Hz, got {args.rate}")
        return 2
    if not args.device and not args.emulate:
        console.print("[red]error[/]: give --device ADDR|NAME (a real band) or --emulate KIND")
        return 2
    if args.device and args.emulate:
        console.print("[red]error[/]: --device and --emulate cannot be mixed")
        return 2
    if args.speed != 1.0 and not args.emulate:
        console.print("[red]error[/]: --speed only applies to --emulate")
        return 2
    if args.key_file and not args.pseudonymise:
        console.print("[red]error[/]: --key-file only makes sense with --pseudonymise")
        return 2
    from pathlib import Path
    out = Path(args.out)
    try:  # the output folder must be usable before any band is touched
        out.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not os.access(out, os.W_OK | os.X_OK):
            raise PermissionError(13, "not writable", str(out))
    except OSError as exc:
        console.print(f"[red]error[/]: cannot create or write the output folder {args.out}: "
                      f"{exc.strerror or exc}")
        return 2
    try:
        participant = args.participant
        if args.pseudonymise and participant:
            from ..mood import default_key_file, load_or_create_key
            from ..mood.pseudonymise import pseudonymise
            participant = pseudonymise(participant, load_or_create_key(args.key_file or default_key_file()))
        for r in repair(args.out):
            console.print(f"finalised unfinished session {r.session_id}: {r.status} {r.message}")
        if args.emulate:
            bands = [parse_emulate_spec(s) for s in args.emulate]
            recs = [(b.kind, load_recording(b, args.seed + i, args.rate or 100.0)) for i, b in enumerate(bands)]

            async def go(world: Any, addresses: list[str], watcher: Any) -> int:
                async def targets() -> list:
                    return await resolve_targets(devices=addresses, kind=None, scan_timeout_s=args.scan_timeout,
                                                 scanner_backend=world.scanner_backend)
                return await _capture(args, targets, world.client_backend, console,
                                      watcher if args.duration is None else None, participant)

            return asyncio.run(run_emulated(recs, go, speed=args.speed))

        async def real() -> int:
            async def targets() -> list:
                return await resolve_targets(devices=args.device, kind=args.kind, scan_timeout_s=args.scan_timeout)
            return await _capture(args, targets, None, console, participant=participant)

        return asyncio.run(real())
    except RepsenseError as exc:
        console.print(f"[red]error[/]: {exc}")
        return 1
    except ValueError as exc:  # e.g. an unknown emulated kind
        console.print(f"[red]error[/]: {exc}")
        return 2
    except LinkError as exc:  # no adapter, Bluetooth off, D-Bus/BlueZ missing, permission denied
        if isinstance(exc, OSError) and exc.errno in _DISK_ERRNOS:  # not the radio: the disk (any time, even at connect)
            console.print(f"[red]error[/]: cannot write the session under {args.out}: {exc.strerror or exc} "
                          "(disk full or file-size limit?); free space, then `repsense repair` finalises what was written")
            return 1
        console.print(f"[red]error[/]: Bluetooth unavailable: {type(exc).__name__}: {exc} "
                      "(is an adapter present and powered? try --emulate KIND without hardware)")
        return 1
