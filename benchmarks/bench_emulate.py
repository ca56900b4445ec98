"""Emulator cost: notification throughput of the bumble radio, and N bands x R Hz in real time.

1. Throughput: one DIY band replaying at ``--speed`` x real time at 1600 Hz (19 accel+gyro samples,
   244-byte notifications at MTU 247) to a bleak client that only counts bytes: notifications/s
   and MB/s through BleakClient.
2. Real time: ``--bands`` DIY bands at ``--rate`` Hz, speed 1, for ``--seconds`` (frames filling the
   MTU, then 1 sample per notification as MetaWear sends), each to its own
   BleakClient that only counts samples: samples sent vs received (lost, target 0) and CPU use
   of the process (process time / wall time; the bands, the radio and the clients all run in this
   one process and one core).

    python benchmarks/bench_emulate.py [--bands 4] [--rate 200] [--seconds 10] [--speed 40]

Needs ``repsense[emulate]``.
"""

from __future__ import annotations

import argparse
import asyncio
import time


def _recording(seconds: float, rate: float):
    from repsense.emulate import synthetic_recording

    return synthetic_recording(duration_s=seconds, sample_rate_hz=max(rate, 100.0), n_sets=100)


async def _stream(bands: int, rate: float, seconds: float, speed: float, frame_samples: int = 0) -> dict:
    from bleak import BleakClient

    from repsense.emulate import VirtualWorld
    from repsense.protocols import diy

    async with VirtualWorld() as world:
        rec = _recording(seconds * speed, rate)
        devs = [world.add_device("diy", recording=rec, speed=speed, rates_hz=(rate,)) for _ in range(bands)]
        received = {"notifications": 0, "bytes": 0, "samples": 0}

        def on_data(_c, data: bytearray) -> None:
            received["notifications"] += 1
            received["bytes"] += len(data)
            received["samples"] += data[12]  # sample count byte of the DIY header

        clients = []
        for d in devs:
            c = BleakClient(d.address, backend=world.client_backend)
            await c.connect()
            await c.start_notify(diy.DATA_UUID, on_data)
            await c.write_gatt_char(diy.CONFIG_UUID, diy.encode_set_config(diy.DiyConfig(rate, 8, 2000, True, frame_samples)),
                                    response=True)
            clients.append(c)
        wall0, cpu0 = time.perf_counter(), time.process_time()
        for c in clients:
            await c.write_gatt_char(diy.CONFIG_UUID, diy.encode_start(), response=True)
        await asyncio.gather(*(d.finished.wait() for d in devs))
        import numpy as np

        statuses = np.concatenate([d.sent("acc").status for d in devs])
        sent = int(np.isin(statuses, ("ok", "duplicated")).sum())  # reached the central, says the band
        overflow = int((statuses == "overflow").sum())  # dropped by a band that fell behind (fifo_s)
        for _ in range(500):  # let the radio drain what is still in flight (at most 5 s)
            if received["samples"] >= sent:
                break
            await asyncio.sleep(0.01)
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        for c in clients:
            await c.disconnect()
    return {"wall_s": wall, "cpu_s": cpu, "sent": sent, "overflow": overflow, **received}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bands", type=int, default=4)
    ap.add_argument("--rate", type=float, default=200.0)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--speed", type=float, default=40.0)
    args = ap.parse_args()

    r = asyncio.run(_stream(1, 1600.0, 4.0, args.speed))
    print(f"throughput: {r['notifications'] / r['wall_s']:,.0f} notifications/s of "
          f"{r['bytes'] / max(r['notifications'], 1):.0f} B ({r['bytes'] / r['wall_s'] / 1e6:.2f} MB/s), "
          f"CPU {100 * r['cpu_s'] / r['wall_s']:.0f}% of one core = {r['notifications'] / r['cpu_s']:,.0f} "
          f"notifications per CPU second; samples sent {r['sent']}, received {r['samples']}")

    # overload: 1 sample per notification at 20x speed asks 4,000 notifications/s of one band
    r = asyncio.run(_stream(1, 200.0, 4.0, 20.0, 1))
    print(f"overload, 1 band x 200 Hz x speed 20, 1 sample per notification (4,000/s asked): "
          f"{r['notifications'] / r['wall_s']:,.0f} notifications/s delivered; band says ok {r['sent']}, "
          f"received {r['samples']}, dropped by the band's queue (overflow) {r['overflow']}")

    for frame_samples, what in ((0, "frames filling the MTU"), (1, "1 sample per notification, like MetaWear")):
        r = asyncio.run(_stream(args.bands, args.rate, args.seconds, 1.0, frame_samples))
        print(f"real time, {what}: {args.bands} bands x {args.rate:g} Hz for {r['wall_s']:.1f} s: "
              f"sent {r['sent']}, received {r['samples']}, lost {r['sent'] - r['samples']}, "
              f"overflow {r['overflow']}; "
              f"{r['notifications'] / r['wall_s']:.0f} notifications/s; "
              f"CPU {100 * r['cpu_s'] / r['wall_s']:.1f}% of one core (bands + radio + clients)")


if __name__ == "__main__":
    main()
