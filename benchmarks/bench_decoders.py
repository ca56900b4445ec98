"""Decoder speed per protocol: samples/s, and the share of one core a 200 Hz stream costs.

For every protocol, frames shaped like the real device's (its batching: samples per
notification) are built once with the protocol's own encoder from a smooth random-walk
signal, then decoded in a loop, best of ``--repeat`` runs:

* ``ours``: ``decode_frame`` per notification (Polar threads its timestamp state through;
  Bangle.js includes line reassembly with ``split_lines``);
* ``frombuffer``: ``np.frombuffer(frame, np.uint8)`` on the same notifications, the reference:
  the floor cost of touching each notification from Python at all.

Prints samples/s for both, the ratio ours / frombuffer time, and ``core % @200 Hz`` =
200 samples/s x seconds per sample x 100 (for 1-sample-per-notification devices this is 200
notifications/s). The target is "well under 1 %".

Usage::

    python benchmarks/bench_decoders.py [--seconds 1.0] [--repeat 3]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from repsense.protocols import banglejs, diy, infinitime, metawear, movesense, polar_pmd, thingy52

RATE_HZ = 200.0


@dataclass
class Case:
    name: str
    frames: list[bytes]
    samples_per_frame: int
    decode_all: Callable[[list[bytes]], int]


def _signal(n: int, rng: np.random.Generator, scale: float) -> np.ndarray:
    return np.cumsum(rng.normal(0, scale / 30, (n, 3)), axis=0).clip(-scale, scale)


def _decode_simple(mod, config=None) -> Callable[[list[bytes]], int]:
    def run(frames: list[bytes]) -> int:
        n = 0
        dec = mod.decode_frame
        if config is None:
            for f in frames:
                n += dec(f).n_samples
        else:
            for f in frames:
                n += dec(f, config=config).n_samples
        return n
    return run


def _decode_polar(config: polar_pmd.PmdConfig) -> Callable[[list[bytes]], int]:
    def run(frames: list[bytes]) -> int:
        n, state = 0, None
        for f in frames:
            fr = polar_pmd.decode_frame(f, config=config, state=state)
            state = fr.state
            n += fr.n_samples
        return n
    return run


def _decode_bangle(frames: list[bytes]) -> int:
    n, state = 0, None
    for chunk in frames:
        lines, state, _ = banglejs.split_lines(chunk, state)
        for line in lines:
            n += banglejs.decode_frame(line).n_samples
    return n


def build_cases(n_frames: int, rng: np.random.Generator) -> list[Case]:
    cases = []
    t0 = 725_846_400_000_000_000
    acc_mg = np.rint(_signal(n_frames * 50, rng, 4.0) * 1000).astype(np.int64)
    # Polar: Verity-style delta frames (~50 samples at MTU 232), H10-style raw i16 frames (36), gyro f32 deltas.
    for ftype, per in ((0x81, 50), (0x01, 36)):
        frames = [polar_pmd.encode_frame(2, ftype, t0 + (k + 1) * per * 5_000_000, acc_mg[k * per:(k + 1) * per])
                  for k in range(n_frames)]
        cases.append(Case(f"polar_pmd acc 0x{ftype:02X}", frames, per, _decode_polar(polar_pmd.PmdConfig(200))))
    gyr = _signal(n_frames * 30, rng, 500.0).astype(np.float32)
    frames = [polar_pmd.encode_frame(5, 0x81, t0 + (k + 1) * 30 * 5_000_000, gyr[k * 30:(k + 1) * 30]) for k in range(n_frames)]
    cases.append(Case("polar_pmd gyro 0x81", frames, 30, _decode_polar(polar_pmd.PmdConfig(gyro_sample_rate_hz=200))))
    # MetaWear: unpacked (1 sample) and packed (3 samples) notifications.
    cfg = metawear.MetaWearConfig(accel_range_g=16)
    acc = _signal(n_frames * 3, rng, 4.0)
    cases.append(Case("metawear acc", [metawear.encode_frame(accel_g=acc[k:k + 1], config=cfg) for k in range(n_frames)], 1,
                      _decode_simple(metawear, cfg)))
    cases.append(Case("metawear acc packed",
                      [metawear.encode_frame(accel_g=acc[3 * k:3 * k + 3], config=cfg) for k in range(n_frames)], 3,
                      _decode_simple(metawear, cfg)))
    # DIY: 18 accel+gyro samples per notification at MTU 247.
    per = diy.max_samples_per_frame(247)
    a, g = _signal(n_frames * per, rng, 8.0), _signal(n_frames * per, rng, 1000.0)
    frames = [diy.encode_frame(k, k * per * 5000, a[k * per:(k + 1) * per], g[k * per:(k + 1) * per], sample_rate_hz=200)
              for k in range(n_frames)]
    cases.append(Case("diy imu6", frames, per, _decode_simple(diy)))
    # Movesense IMU6, 8 samples per packet.
    mcfg = movesense.MovesenseConfig("IMU6", 208)
    a, g = _signal(n_frames * 8, rng, 4.0), _signal(n_frames * 8, rng, 500.0)
    frames = [movesense.encode_frame(1, k * 38, accel_g=a[8 * k:8 * k + 8], gyro_dps=g[8 * k:8 * k + 8], config=mcfg)
              for k in range(n_frames)]
    cases.append(Case("movesense imu6", frames, 8, _decode_simple(movesense, mcfg)))
    # One sample per notification.
    a, g = _signal(n_frames, rng, 1.9), _signal(n_frames, rng, 500.0)
    cases.append(Case("thingy52 raw", [thingy52.encode_frame(a[k], g[k]) for k in range(n_frames)], 1, _decode_simple(thingy52)))
    cases.append(Case("infinitime motion", [infinitime.encode_frame(a[k]) for k in range(n_frames)], 1,
                      _decode_simple(infinitime)))
    text = b"".join(banglejs.encode_frame(a[k], 1.7e9 + k * 0.08) for k in range(n_frames))
    chunks = banglejs.chunk_writes(text, banglejs.MAX_MTU)
    cases.append(Case("banglejs lines", chunks, 0, _decode_bangle))
    return cases


def _best(fn: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def run_benchmark(seconds: float = 1.0, repeat: int = 5, seed: int = 0) -> list[dict]:
    """Time every case; returns one dict per protocol/frame type."""
    rng = np.random.default_rng(seed)
    rows = []
    for case in build_cases(max(50, int(seconds * 2000)), rng):
        n_samples = case.decode_all(case.frames)  # warm-up and sample count
        t_ours = _best(lambda c=case: c.decode_all(c.frames), repeat)
        t_ref = _best(lambda c=case: [np.frombuffer(f, dtype=np.uint8) for f in c.frames], repeat)
        per_sample_s = t_ours / n_samples
        rows.append(dict(protocol=case.name, samples_per_frame=round(n_samples / len(case.frames), 1),
                         frames=len(case.frames), samples=n_samples, ours_sps=n_samples / t_ours,
                         ref_sps=n_samples / t_ref, ratio=t_ours / t_ref,
                         core_pct_200hz=RATE_HZ * per_sample_s * 100.0))
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=1.0, help="scales the number of frames per case")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args(argv)
    rows = run_benchmark(args.seconds, args.repeat)
    head = f"{'protocol':<22}{'samp/frame':>11}{'ours samp/s':>14}{'frombuf samp/s':>16}{'ours/ref time':>15}{'core % @200Hz':>15}"
    print(head)
    print("-" * len(head))
    for r in rows:
        print(f"{r['protocol']:<22}{r['samples_per_frame']:>11}{r['ours_sps']:>14,.0f}{r['ref_sps']:>16,.0f}"
              f"{r['ratio']:>14.1f}x{r['core_pct_200hz']:>14.3f}%")
    worst = max(rows, key=lambda r: r["core_pct_200hz"])
    print(f"\nworst: {worst['protocol']} costs {worst['core_pct_200hz']:.3f} % of one core at 200 Hz "
          f"({'OK, well under 1 %' if worst['core_pct_200hz'] < 0.5 else 'NOT well under 1 %'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
