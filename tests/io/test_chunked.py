"""The chunked reader (repsense.io.chunked) against the whole-file reader.

The damaged files of the existing reader tests are reused as they are: every test of those
modules that calls ``read_recording`` runs again with ``read_recording`` replaced by a wrapper
that also reads the same file block by block (tiny blocks, a small reorder lookahead) and
asserts the same samples, meta and ReadReports, or the same error.
"""

from __future__ import annotations

import importlib.util
import inspect
from pathlib import Path
from types import ModuleType
from typing import Any, Callable

import numpy as np
import pytest

import repsense
from repsense.io import read_recording
from repsense.io._csvparse import DropLog
from repsense.io._stream import ExactMedian, GapTracker, NotStreamable, TimelineStream
from repsense.io._timeline import clean_samples, find_gaps
from repsense.io.chunked import collect, read_recording_chunked
from repsense.types import Recording

_HERE = Path(__file__).resolve().parent
_MODULES = ("test_bad_input", "test_metabase_dialects", "test_reliability_fixes", "test_generic_csv",
            "test_dispatch")
#: (block bytes, lookahead rows, max pending rows) of the chunked reads compared with the whole read
CHUNKINGS = ((61, 40, 100), (1 << 12, 64, 1000), (1 << 26, 1024, 2_000_000))


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"repsense_tests_io_{name}_chunked", _HERE / f"{name}.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def assert_same_recording(a: Recording, b: Recording) -> None:
    """Bit-identical samples, equal meta and reports."""
    np.testing.assert_array_equal(a.accel.t_s, b.accel.t_s, strict=True)
    np.testing.assert_array_equal(a.accel.values, b.accel.values, strict=True)
    assert (a.gyro is None) == (b.gyro is None)
    if a.gyro is not None and b.gyro is not None:
        np.testing.assert_array_equal(a.gyro.t_s, b.gyro.t_s, strict=True)
        np.testing.assert_array_equal(a.gyro.values, b.gyro.values, strict=True)
    assert a.meta == b.meta
    assert a.reports == b.reports


def _comparing(calls: list[int]) -> Callable[..., Recording]:
    def wrapper(*args: Any, **kwargs: Any) -> Recording:
        try:
            whole = read_recording(*args, **kwargs)
        except Exception as exc:  # the chunked read must fail the same way
            for bb, la, mp in CHUNKINGS:
                with pytest.raises(type(exc)) as chunked_exc:
                    ch = read_recording_chunked(*args, block_bytes=bb, lookahead_rows=la, max_pending_rows=mp, **kwargs)
                    if ch is not None:
                        collect(ch)
                    else:
                        raise exc
                assert str(chunked_exc.value) == str(exc)
            calls.append(1)
            raise
        for bb, la, mp in CHUNKINGS:
            ch = read_recording_chunked(*args, block_bytes=bb, lookahead_rows=la, max_pending_rows=mp, **kwargs)
            if ch is None:  # not streamable at all (none today)
                continue
            assert_same_recording(whole, collect(ch))
            assert ch.n_forced_cuts == 0
        calls.append(1)
        return whole

    return wrapper


def _cases() -> list[Any]:
    cases = []
    for name in _MODULES:
        mod = _load(name)
        for fname, fn in sorted(vars(mod).items()):
            if not fname.startswith("test_") or not callable(fn) or "read_recording(" not in inspect.getsource(fn):
                continue
            marks = [m for m in getattr(fn, "pytestmark", []) if m.name == "parametrize"]
            combos: list[dict[str, Any]] = [{}]
            for m in marks:
                argnames = [a.strip() for a in (m.args[0].split(",") if isinstance(m.args[0], str) else m.args[0])]
                new = []
                for c in combos:
                    for v in m.args[1]:
                        vals = v.values if hasattr(v, "values") else (v if len(argnames) > 1 else (v,))
                        new.append({**c, **dict(zip(argnames, vals))})
                combos = new
            for k, kw in enumerate(combos):
                cases.append(pytest.param(mod, fn, kw, id=f"{name}::{fname}[{k}]"))
    return cases


@pytest.mark.parametrize("mod,fn,params", _cases())
def test_chunked_read_equals_whole_on_the_reader_tests_files(mod: ModuleType, fn: Callable[..., None],
                                                             params: dict[str, Any], request: pytest.FixtureRequest,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    wrapper = _comparing(calls)
    monkeypatch.setattr(mod, "read_recording", wrapper)
    monkeypatch.setattr(repsense, "read_recording", wrapper, raising=False)  # tests importing it locally
    args = {p: params[p] if p in params else request.getfixturevalue(p) for p in inspect.signature(fn).parameters}
    fn(**args)
    assert calls, "the test read no file"


# -- the timeline stream against clean_samples on arrays ---------------------------------------------

def _damaged(rng: np.random.Generator, n: int, packed: bool) -> tuple[np.ndarray, np.ndarray]:
    """Times (ns) of a 100 Hz stream with local swaps, replayed rows, lone jumps and NaN rows.

    Packed (iOS: 1..4 samples under one epoch): NaN rows and lone jumps forward only (an earlier
    epoch after a packed run makes the file not streamable, tested on its own).
    """
    if packed:
        t = np.repeat(np.arange(n) * 40_000_000, rng.integers(1, 5, n))[:n].astype(np.int64)
        for i in rng.integers(0, n, n // 200):
            t[i] += 10**12
    else:
        t = np.arange(n, dtype=np.int64) * 10_000_000
        for i in rng.integers(1, n - 1, n // 50):  # swapped neighbours (BLE reordering)
            t[i], t[i + 1] = t[i + 1], t[i]
        for i in rng.integers(5, n, n // 100):  # a row replayed a few rows later
            t[i] = t[i - rng.integers(1, 5)]
        for i in rng.integers(0, n, n // 200):  # a lone jump forward or backward
            t[i] += int(rng.choice([-1, 1])) * 10**12
    v = rng.normal(size=(n, 3)).astype(np.float32)
    v[rng.integers(0, n, n // 100), rng.integers(0, 3, n // 100)] = np.nan
    return t, v


@pytest.mark.parametrize("packed", [False, True], ids=["plain", "packed"])
@pytest.mark.parametrize("seed", range(6))
def test_timeline_stream_equals_clean_samples(seed: int, packed: bool) -> None:
    rng = np.random.default_rng(seed)
    n = 3000
    t, v = _damaged(rng, n, packed)
    lines = np.arange(2, n + 2, dtype=np.int64)
    whole_drops = DropLog()
    whole = clean_samples(t.copy(), v.copy(), lines, whole_drops, packed=packed)
    assert whole_drops.total > 0 and (packed or whole.n_reordered > 0)
    for block in (1, 7, 100, 1000, n):
        drops = DropLog()
        ts = TimelineStream(drops, 3, packed=packed, lookahead_rows=48, max_pending_rows=400)
        out = []
        for lo in range(0, n, block):
            out += ts.push(t[lo:lo + block], v[lo:lo + block], lines[lo:lo + block])
        out += ts.finish()
        t_out = np.concatenate([o[0] for o in out])
        v_out = np.concatenate([o[1] for o in out])
        np.testing.assert_array_equal(t_out, whole.t_ns)
        np.testing.assert_array_equal(v_out, whole.values)
        assert drops.as_dict() == whole_drops.as_dict()
        assert ts.n_reordered == whole.n_reordered
        assert ts.n_forced == 0


def test_block_boundary_exactly_at_a_duplicate_a_swap_and_a_packed_epoch() -> None:
    n = 120
    t = np.arange(n, dtype=np.int64) * 10
    t[50] = t[49]  # a duplicate
    t[70], t[71] = t[71], t[70]  # a swap
    v = np.arange(3 * n, dtype=np.float32).reshape(n, 3)
    lines = np.arange(2, n + 2)
    whole_drops = DropLog()
    whole = clean_samples(t, v, lines, whole_drops)
    assert whole_drops.total == 1 and whole.n_reordered == 1
    for cut in range(40, 80):  # the block boundary at every row around the damage
        drops = DropLog()
        ts = TimelineStream(drops, 3, lookahead_rows=20)
        first = ts.push(t[:cut], v[:cut], lines[:cut])
        out = first + ts.push(t[cut:], v[cut:], lines[cut:]) + ts.finish()
        assert first  # something was emitted before the end: the cut logic ran
        np.testing.assert_array_equal(np.concatenate([o[0] for o in out]), whole.t_ns)
        np.testing.assert_array_equal(np.concatenate([o[1] for o in out]), whole.values)
        assert drops.as_dict() == whole_drops.as_dict() and ts.n_reordered == whole.n_reordered
    packed = np.repeat(np.arange(40, dtype=np.int64) * 40, 3)[:n]
    whole = clean_samples(packed, v, lines, DropLog(), packed=True)
    for cut in range(40, 80):  # the next distinct epoch in the next block
        ts = TimelineStream(DropLog(), 3, packed=True, lookahead_rows=20)
        out = ts.push(packed[:cut], v[:cut], lines[:cut]) + ts.push(packed[cut:], v[cut:], lines[cut:]) + ts.finish()
        np.testing.assert_array_equal(np.concatenate([o[0] for o in out]), whole.t_ns)


def test_row_later_than_the_window_is_dropped_and_counted() -> None:
    t = np.arange(200, dtype=np.int64) * 10
    t[150] = 55  # 145 rows late: beyond a lookahead of 16
    v = np.zeros((200, 3), np.float32)
    drops = DropLog()
    ts = TimelineStream(drops, 3, lookahead_rows=20)
    out = ts.push(t[:100], v[:100], np.arange(100) + 2) + ts.push(t[100:], v[100:], np.arange(100, 200) + 2)
    out += ts.finish()
    assert drops.as_dict()["out_of_order_timestamp"].first_lines == (152,) and ts.n_late == 1
    whole_drops = DropLog()
    clean_samples(t, v, np.arange(200) + 2, whole_drops)
    assert drops.as_dict() == whole_drops.as_dict()  # the whole-file read drops it the same way


def test_packed_run_followed_by_an_earlier_epoch_is_not_streamable() -> None:
    t = np.array([0, 0, 40, 40, 20, 60, 80], dtype=np.int64)
    ts = TimelineStream(DropLog(), 3, packed=True, lookahead_rows=20)
    with pytest.raises(NotStreamable):
        ts.push(t, np.zeros((7, 3), np.float32), np.arange(7))
        ts.finish()


def test_exact_median_and_gaps(rng: np.random.Generator) -> None:
    t = np.cumsum(rng.choice([0.01, 0.01, 0.0101, 0.0099, 0.5, 3.0], size=5001, p=[.5, .2, .1, .1, .05, .05]))
    for nominal in (None, 0.01, 1.0):
        g = GapTracker(nominal)
        m = ExactMedian()
        for lo in range(0, t.shape[0], 333):
            g.add(t[lo:lo + 333])
        m.add(np.diff(t)[:2500])
        m.add(np.diff(t)[2500:])
        assert g.gaps() == find_gaps(t, nominal)
        assert g.median == m.median() == np.median(np.diff(t))
    even = ExactMedian()
    even.add(np.array([1.0, 4.0, 2.0, 3.0]))
    assert even.median() == np.median([1.0, 4.0, 2.0, 3.0]) == 2.5


def test_block_boundary_at_every_byte_of_a_damaged_file(tmp_path: Path) -> None:
    """Blocks of 1..N bytes put a boundary inside and after every row: a duplicate, a swap, a
    non-numeric cell, a short row, a blank line, NaN, a line longer than the block, and a
    truncated last line."""
    rows = [f"{1547219408431 + 10 * i},{i * 0.001:.3f},0.500,{0.9 + i * 0.001:.3f}" for i in range(60)]
    rows[10] = rows[9]  # duplicate time
    rows[20], rows[21] = rows[21], rows[20]  # swap
    rows[30] = rows[30].replace("0.500", "abc")  # non-numeric
    rows[35] = rows[35].rsplit(",", 1)[0]  # too few columns
    rows[40] = ""  # blank line
    rows[45] = rows[45].replace("0.500", "nan")
    f = tmp_path / "d.csv"
    f.write_text("epoch_ms,ax (g),ay (g),az (g)\n" + "\n".join(rows) + "\n1547219409031,0.06,0.5,0.9" + "0" * 200
                 + "\n1547219409041,0.061,0.5,0.9")
    whole = read_recording(f)
    dropped = whole.reports[0].dropped
    assert {"duplicate_timestamp", "non_numeric", "too_few_columns", "non_finite_value",
            "truncated_last_line"} <= set(dropped) and whole.meta.extra["accel_reordered_rows"] == 1
    for block in (1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233):
        ch = read_recording_chunked(f, block_bytes=block, lookahead_rows=18, max_pending_rows=40)
        assert ch is not None
        assert_same_recording(whole, collect(ch))
