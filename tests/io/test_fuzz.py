"""Never a traceback: mutated files either read (every kept sample finite and in order) or raise
a RepsenseError naming the file."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from repsense.errors import InputError, RepsenseError
from repsense.io import read_recording

HEAD = b"epoch (ms),time (01:00),elapsed (s),x-axis (g),y-axis (g),z-axis (g)\n"
ROWS = b"".join(
    b"%d,2019-01-11T16:10:08.431,%.3f,%.3f,0.961,-0.069\n" % (1547219408431 + 80 * i, i * 0.08, (i % 9) * 0.01)
    for i in range(60))
GENERIC = b"t_s;ax;ay;az;gx;gy;gz\n" + b"".join(
    b"%.2f;0.1;0.2;0.9;%d;2;3\n" % (i * 0.02, i) for i in range(60))

mutation = st.tuples(st.sampled_from(["flip", "insert", "delete", "cut"]),
                     st.integers(min_value=0, max_value=10_000), st.binary(min_size=1, max_size=8))


def _mutate(data: bytes, muts: list[tuple[str, int, bytes]]) -> bytes:
    buf = bytearray(data)
    for kind, pos, blob in muts:
        if not buf:
            break
        i = pos % len(buf)
        if kind == "flip":
            buf[i] ^= blob[0] or 1
        elif kind == "insert":
            buf[i:i] = blob
        elif kind == "delete":
            del buf[i:i + len(blob)]
        else:
            del buf[i:]
    return bytes(buf)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from([HEAD + ROWS, GENERIC]), st.lists(mutation, min_size=1, max_size=6))
def test_mutated_files_read_or_raise_a_clear_error(base: bytes, muts: list[tuple[str, int, bytes]]) -> None:
    data = _mutate(base, muts)
    with tempfile.TemporaryDirectory() as d:
        f = Path(d) / "m.csv"
        f.write_bytes(data)
        try:
            rec = read_recording(f, 50.0)
        except InputError as exc:
            assert exc.path is not None and str(f) in str(exc)
            return
        except RepsenseError as exc:  # e.g. SamplingRateError: still names the file
            assert str(f) in str(exc)
            return
    assert len(rec.accel) >= 1
    assert np.isfinite(rec.accel.values).all() and np.all(np.diff(rec.accel.t_s) > 0)
    total = sum(r.n_kept + r.n_dropped for r in rec.reports[:1])
    assert total == rec.reports[0].n_rows
