"""Small real recording files (generic CSV written from the simulator) for the batch tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest


def write_csv_recording(path: Path, seed: int, rate_hz: float = 25.0) -> int:
    """Write one simulated set as a generic CSV (epoch ns time, accel in g); return its rows."""
    from repsense.simulate import simulate_session

    rec, _ = simulate_session(seed, sample_rate_hz=rate_hz, n_sets=1, gyro=False, lead_s=(2.0, 4.0))
    t_ns = rec.meta.t0_utc_ns + np.round(rec.accel.t_s * 1e9).astype(np.int64)
    a = rec.accel.values
    lines = ["time_ns,ax,ay,az"]
    lines += [f"{t},{x:.6f},{y:.6f},{z:.6f}" for t, (x, y, z) in zip(t_ns.tolist(), a.tolist(), strict=True)]
    path.write_text("\n".join(lines) + "\n")
    return len(t_ns)


def make_recordings(folder: Path, n: int, *, bad: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for k in range(n):
        write_csv_recording(folder / f"rec{k:03d}.csv", seed=100 + k)
    if bad:
        (folder / "broken.csv").write_text("time_ns,ax,ay,az\n1,x,2,3\n2,y,2,3\n")  # no usable sample
        (folder / "header_only.csv").write_text("time_ns,ax,ay,az\n")  # not a recording: ignored
        (folder / "notes.md").write_text("not a recording\n")
    return folder


def tree(root: Path) -> dict[str, bytes]:
    """Relative path -> bytes of every file under ``root``."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="session")
def recordings(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six recordings, one unusable CSV, a header-only CSV and a non-recording file (read-only)."""
    return make_recordings(tmp_path_factory.mktemp("inputs"), 6)


@pytest.fixture(scope="session")
def reference(recordings: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """The dataset of a sequential, in-process run: what every other way of running must equal."""
    from repsense.batch import BatchOptions, make_tasks, run_batch

    out = tmp_path_factory.mktemp("reference")
    run_batch(make_tasks([recordings]), BatchOptions(out_dir=str(out)), workers=1)
    return tree(out)
