"""Fuzz the Parquet side of the store: truncated and corrupted files written by ``write_session``.

Property: ``repsense.store.read_recording_parquet``, ``repsense.read_recording`` (which dispatches
``PAR1`` files to it) and ``repsense.store.read_sessions`` either read the file or raise a
project error (:class:`repsense.errors.RepsenseError`) whose message names the damaged file;
never a raw ``pyarrow.ArrowInvalid`` / ``OSError`` / ``KeyError`` / ``json`` error.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from repsense.errors import RepsenseError
from repsense.io import read_recording
from repsense.store import read_recording_parquet, read_sessions, write_session
from repsense.types import Detection, Recording, RecordingMeta, Rep, RepSet, Stream

SCALE = float(os.environ.get("REPSENSE_RELIABILITY_SCALE", "1"))
T0_NS = 1_700_000_000_123_456_789


def fuzz_settings(n: int) -> settings:
    return settings(max_examples=max(1, int(n * SCALE)), deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.function_scoped_fixture])


def _recording() -> tuple[Recording, Detection]:
    rng = np.random.default_rng(5)
    n = 3000
    t = np.arange(n) / 50.0
    acc = Stream(t_s=t, values=rng.normal(0, 1, (n, 3)).astype(np.float32), unit="g")
    gyr = Stream(t_s=t + 0.003, values=rng.normal(0, 90, (n, 3)).astype(np.float32), unit="deg/s")
    meta = RecordingMeta(t0_utc_ns=T0_NS, device_kind="diy", source_file="fuzz.csv", participant="P7")
    det = Detection(sets=(RepSet(1.0, 5.0, (Rep(1.0, 3.0, 1.0, 1.0), Rep(3.0, 5.0, 1.0, 1.0)), 4.0, 2.0, 2.0, 0.0,
                                 2.0, 1.0),), sample_rate_hz=50.0, detector_version="fuzz-1")
    return Recording(accel=acc, meta=meta, gyro=gyr), det


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Path]]:
    out = tmp_path_factory.mktemp("store")
    rec, det = _recording()
    write_session(out, rec, det)
    files = {t: next((out / t).rglob("*.parquet")).relative_to(out) for t in ("samples", "sessions", "sets", "reps")}
    return out, files


def _damage(data: bytes, kind: str, a: float, b: int, c: bytes) -> bytes:
    n = len(data)
    i = min(int(a * n), n - 1)
    if kind == "truncate":
        return data[:i]
    if kind == "flip":
        buf = bytearray(data)
        buf[i] ^= 1 << (b % 8)
        return bytes(buf)
    if kind == "overwrite":
        buf = bytearray(data)
        buf[i:i + len(c)] = c
        return bytes(buf[:n])
    if kind == "footer":  # the footer (metadata, schema, offsets) is the last few hundred bytes
        buf = bytearray(data)
        j = n - 8 - (b % min(600, n - 8)) - 1
        buf[j] ^= 0xFF
        return bytes(buf)
    if kind == "zero_tail":
        return data[:i] + bytes(n - i)
    raise AssertionError(kind)


KINDS = st.sampled_from(["truncate", "flip", "overwrite", "footer", "zero_tail"])


def _expect_project_error_naming(fn, path: Path) -> object | None:
    try:
        return fn()
    except RepsenseError as exc:
        assert path.name in str(exc), f"error does not name {path.name}: {exc}"
        return None
    except Exception as exc:  # noqa: BLE001 - the property under test
        pytest.fail(f"{type(exc).__name__} (not a project error) for damaged {path.name}: {exc}")


def _damaged_copy(d: str, out: Path, rel: Path, data: bytes) -> tuple[Path, Path]:
    """A store in ``d`` holding only the damaged file (at its partition path)."""
    root = Path(d) / "store"
    f = root / rel
    f.parent.mkdir(parents=True)
    f.write_bytes(data)
    return root, f


@given(kind=KINDS, a=st.floats(0, 1), b=st.integers(0, 10**6), c=st.binary(min_size=1, max_size=16))
@fuzz_settings(150)
def test_damaged_samples_file_read_recording(store, kind, a, b, c) -> None:
    """read_recording_parquet and read_recording: a project error naming the file, or a whole recording."""
    out, files = store
    original = (out / files["samples"]).read_bytes()
    with tempfile.TemporaryDirectory() as d:
        _, f = _damaged_copy(d, out, files["samples"], _damage(original, kind, a, b, c))
        rec = _expect_project_error_naming(lambda: read_recording_parquet(f), f)
        if rec is not None:
            assert len(rec.accel) > 0
        _expect_project_error_naming(lambda: read_recording(f), f)


@pytest.mark.parametrize("table", ["samples", "sessions", "sets", "reps"])
@given(kind=KINDS, a=st.floats(0, 1), b=st.integers(0, 10**6), c=st.binary(min_size=1, max_size=16))
@settings(max_examples=max(1, int(40 * SCALE)), deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
def test_damaged_file_read_sessions(store, table, kind, a, b, c) -> None:
    out, files = store
    original = (out / files[table]).read_bytes()
    with tempfile.TemporaryDirectory() as d:
        root, f = _damaged_copy(d, out, files[table], _damage(original, kind, a, b, c))
        _expect_project_error_naming(lambda: read_sessions(root, table), f)


@pytest.mark.parametrize("table", ["samples", "sessions"])
def test_empty_file_in_the_store_is_a_project_error_naming_it(store, table, tmp_path: Path) -> None:
    """What a crash of a non-atomic writer (or a copy tool) leaves: a 0-byte .parquet file."""
    out, files = store
    root, f = _damaged_copy(str(tmp_path), out, files[table], b"")
    with pytest.raises(RepsenseError, match=f.name):
        read_sessions(root, table)


def test_damaged_samples_are_never_silently_different(store, tmp_path: Path) -> None:
    out, files = store
    original = (out / files["samples"]).read_bytes()
    # the reference is the undamaged file's read-back: the store keeps times to the nanosecond
    # (docs/SCHEMA.md), so the in-memory gyro times (k/50 + 0.003 s) differ from it by < 1 ns
    want = read_recording_parquet(out / files["samples"])
    r = np.random.default_rng(11)
    f = tmp_path / files["samples"].name
    silently_changed = 0
    for _ in range(300):
        buf = bytearray(original)
        buf[int(r.integers(4, len(buf) - 8))] ^= 1 << int(r.integers(0, 8))
        f.write_bytes(bytes(buf))
        try:
            rec = read_recording_parquet(f)
        except RepsenseError:
            continue
        same = (np.array_equal(rec.accel.values, want.accel.values) and np.array_equal(rec.accel.t_s, want.accel.t_s)
                and np.array_equal(rec.gyro.values, want.gyro.values) and np.array_equal(rec.gyro.t_s, want.gyro.t_s))
        silently_changed += not same
    assert silently_changed == 0


def test_every_prefix_of_a_samples_file_is_a_clear_error(store) -> None:
    """A half-written file (what a crash without atomic writes would leave) at 64 cut points."""
    out, files = store
    original = (out / files["samples"]).read_bytes()
    with tempfile.TemporaryDirectory() as d:
        f = Path(d) / files["samples"].name
        for cut in np.linspace(0, len(original) - 1, 64).astype(int):
            f.write_bytes(original[:cut])
            assert _expect_project_error_naming(lambda: read_recording_parquet(f), f) is None


def test_undamaged_store_reads_back(store) -> None:
    out, files = store
    rec = read_recording_parquet(out / files["samples"])
    want, _ = _recording()
    np.testing.assert_array_equal(rec.accel.values, want.accel.values)
    assert read_sessions(out).num_rows == 1
