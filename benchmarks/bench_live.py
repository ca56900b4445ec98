"""Live capture under load: N emulated bands x R Hz for S seconds, through the real pipeline.

Prints, per band and in total: samples the bands sent vs samples stored (lost = sent - stored,
target 0), CPU use of the process (process time / wall time; note the emulated bands and the
bumble radio run in this same process, so this is an upper bound on the pipeline's own cost,
and a reference run of the emulation alone is printed next to it), and the delay from a rep's
end to its first appearance in the live view (median, 95th percentile).

    python benchmarks/bench_live.py --bands 4 --rate 200 --seconds 30 [--kind diy]

Needs ``repsense[emulate]``.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

import numpy as np


def _recording(seconds: float, rate: float, seed: int):
    """A simulated session (sets of real-looking reps with short rests); bands loop it."""
    from repsense.simulate import simulate_session

    rec, _ = simulate_session(seed, sample_rate_hz=rate, n_sets=4, rest_s=(8.0, 15.0), lead_s=(2.0, 4.0))
    return rec


async def _emulation_only(kind: str, bands: int, rate: float, seconds: float) -> tuple[float, float]:
    """Reference: the emulated bands streaming to a bare bleak client that only counts bytes."""
    from bleak import BleakClient

    from repsense.emulate import VirtualWorld
    from repsense.ingest import driver_for

    async with VirtualWorld() as world:
        devs = [world.add_device(kind, recording=_recording(seconds, rate, i), loop=True) for i in range(bands)]
        await world.settle()
        count = [0]

        def on_notify(_c, data: bytearray) -> None:
            count[0] += len(data)

        clients = []
        queue: asyncio.Queue = asyncio.Queue()
        for d in devs:
            c = BleakClient(d.address, backend=world.client_backend)
            await c.connect()
            drv = driver_for(kind, rate)
            for u in drv.data_uuids:
                await c.start_notify(u, on_notify)

            class _L:  # the driver talks to the device through this minimal link
                mtu = c.mtu_size

                @staticmethod
                async def write(uuid, data, *, response=True):
                    await c.write_gatt_char(uuid, data, response=response)

                @staticmethod
                async def read(uuid):
                    return bytes(await c.read_gatt_char(uuid))

                @staticmethod
                async def subscribe(uuid):
                    await c.start_notify(uuid, lambda _ch, data: queue.put_nowait((0, uuid.lower(), bytes(data))))

            await drv.start(_L, queue)
            clients.append(c)
        w0, p0 = time.perf_counter(), time.process_time()
        await asyncio.sleep(seconds)
        wall, cpu = time.perf_counter() - w0, time.process_time() - p0
        for c in clients:
            await c.disconnect()
    return cpu / wall, float(count[0])


async def _run(kind: str, bands: int, rate: float, seconds: float, out: Path) -> dict:
    from repsense.emulate import VirtualWorld
    from repsense.ingest import SessionOptions
    from repsense.live import LiveCapture, LiveOptions, resolve_targets

    async with VirtualWorld() as world:
        devs = [world.add_device(kind, recording=_recording(seconds, rate, i), loop=True) for i in range(bands)]
        await world.settle()
        targets = await resolve_targets(devices=[d.address for d in devs], kind=None, scan_timeout_s=5.0,
                                        scanner_backend=world.scanner_backend)
        opts = LiveOptions(out_dir=str(out), participant="bench", duration_s=seconds,
                           session=SessionOptions(sample_rate_hz=rate))
        cap = LiveCapture(targets, opts, client_backend=world.client_backend)
        w0, p0 = time.perf_counter(), time.process_time()
        await cap.run()
        wall, cpu = time.perf_counter() - w0, time.process_time() - p0
        from repsense.store import read_sessions
        samples = read_sessions(out, "samples")
        rows = []
        for d, r in zip(devs, cap.recorders, strict=True):
            sent = d.sent("acc") if "acc" in d._logs else d.sent(sorted(d._logs)[0])
            n_sent = int(sent.delivered.sum())
            sid = r.session_id
            n_stored = sum(1 for s, st in zip(samples.column("session_id").to_pylist(),
                                              samples.column("stream").to_pylist(), strict=True)
                           if s == sid and st == "accel")
            rows.append((d.address, n_sent, n_stored, r.session.n_lost, r.session.n_overflow,
                         r.session.counters.n_reconnects))
        return {"wall": wall, "cpu": cpu, "rows": rows, "delays": list(cap.rep_delays_s)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bands", type=int, default=4)
    ap.add_argument("--rate", type=float, default=200.0)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--kind", default="diy")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        res = asyncio.run(_run(args.kind, args.bands, args.rate, args.seconds, Path(tmp)))
    ref_cpu, _ = asyncio.run(_emulation_only(args.kind, args.bands, args.rate, args.seconds))
    print(f"live capture: {args.bands} x {args.kind} at {args.rate:g} Hz for {args.seconds:g} s")
    print(f"{'band':20s} {'sent':>8s} {'stored':>8s} {'lost':>6s} {'gaps':>6s} {'overflow':>8s} {'reconn':>6s}")
    tot_sent = tot_stored = 0
    for addr, n_sent, n_stored, n_gap, n_over, n_rec in res["rows"]:
        # the capture stops at a wall-clock deadline while the band keeps sending: samples sent
        # after the stop are not "lost"; count only those the pipeline should have had
        print(f"{addr:20s} {n_sent:8d} {n_stored:8d} {max(0, n_sent - n_stored):6d} {n_gap:6d} {n_over:8d} {n_rec:6d}")
        tot_sent += n_sent
        tot_stored += n_stored
    cpu_ratio = res["cpu"] / res["wall"]
    print(f"total: sent {tot_sent}, stored {tot_stored}, lost {max(0, tot_sent - tot_stored)}")
    print(f"CPU: pipeline + emulation {cpu_ratio:.1%} of one core; emulation alone (bare bleak client) "
          f"{ref_cpu:.1%}; pipeline share ~{max(0.0, cpu_ratio - ref_cpu):.1%} "
          f"(ratio {cpu_ratio / ref_cpu if ref_cpu else float('nan'):.2f}x)")
    d = np.asarray(res["delays"])
    if d.size:
        print(f"rep end -> live view: median {np.median(d):.2f} s, p95 {np.percentile(d, 95):.2f} s, "
              f"max {d.max():.2f} s over {d.size} reps")
    else:
        print("rep end -> live view: no rep seen")


if __name__ == "__main__":
    main()
