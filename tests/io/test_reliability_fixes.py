"""Regressions for reader bugs found by the reliability sweep (tests/reliability/test_fuzz_readers.py).

Each test pins the root-cause fix at the io level: both parser paths (vectorised fallback and
line by line) where the bug could hit either.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from repsense.errors import FormatError
from repsense.io import _csvparse, read_recording
from repsense.io.sniff import sniff_file

HEAD = "epoch (ms),time (01:00),elapsed (s),x-axis (g),y-axis (g),z-axis (g)\n"
T0 = 1547219408431


def _row(i: int, t_ms: int | str | None = None) -> str:
    t = T0 + 20 * i if t_ms is None else t_ms
    return f"{t},2019-01-11T16:10:08.431,{i * 0.02:.3f},{i * 0.001:.3f},0.500,{0.9 + i * 0.001:.3f}"


# -- 1. an integer cell beyond int64 ------------------------------------------------------------

@pytest.mark.parametrize("vector", [True, False], ids=["vector_fallback", "line_by_line"])
def test_epoch_beyond_int64_is_one_dropped_row_with_its_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              vector: bool) -> None:
    monkeypatch.setattr(_csvparse, "_VECTOR_FALLBACK", vector)
    rows = [_row(i) for i in range(10)]
    rows[4] = _row(4, "99999999999999999999")  # file line 6
    f = tmp_path / "m.csv"
    f.write_text(HEAD + "\n".join(rows) + "\n")
    rec = read_recording(f)
    assert len(rec.accel) == 9
    dropped = rec.reports[0].dropped
    assert set(dropped) == {"non_numeric"} and dropped["non_numeric"].count == 1
    assert dropped["non_numeric"].first_lines == (6,)


def test_iso_time_beyond_int64_nanoseconds_is_dropped_not_a_crash(tmp_path: Path) -> None:
    f = tmp_path / "iso.csv"
    f.write_text("timestamp,ax (g),ay (g),az (g)\n2020-09-13T12:26:40.000Z,0,0,1\n"
                 "9999-12-31T00:00:00.000Z,0,0,1\n2020-09-13T12:26:40.020Z,0,0,1\n")
    rec = read_recording(f)
    assert len(rec.accel) == 2 and rec.reports[0].dropped["non_numeric"].first_lines == (3,)


def test_py_value_rejects_values_outside_int64() -> None:
    assert _csvparse._py_value(str(2**63 - 1), "int") == 2**63 - 1
    for cell in (str(2**63), str(-(2**63) - 1), "1e30"):
        with pytest.raises(ValueError):
            _csvparse._py_value(cell, "int")


# -- 2. a bare CR next to a quote -----------------------------------------------------------------

def test_bare_cr_and_quote_in_header_is_a_format_error_naming_file_and_line(tmp_path: Path) -> None:
    f = tmp_path / "h.csv"
    f.write_bytes(b'\n"t_s",a\r"x,ay,az\n0.1,0,0,1\n')
    with pytest.raises(FormatError) as exc:
        sniff_file(f)
    assert exc.value.path == str(f) and exc.value.line == 2 and "carriage return" in str(exc.value)


def test_bare_cr_and_quote_in_a_data_row_drops_that_row(tmp_path: Path) -> None:
    f = tmp_path / "d.csv"
    f.write_bytes(b'"t_s",ax,ay,az\n0.00,0,0,1\n0.02,0\r"x,0,1\n0.04,0,0,1\n0.06,0,0,1\n')
    rec = read_recording(f)
    np.testing.assert_allclose(rec.accel.t_s, [0.0, 0.04, 0.06])
    assert rec.reports[0].n_rows == 4 and rec.n_dropped == 1


# -- 3. old-Mac CR-only line endings --------------------------------------------------------------

def test_cr_only_file_is_read_with_exact_lines_and_hash(tmp_path: Path) -> None:
    data = b"t_s,ax (g),ay (g),az (g)\r0.00,0,0,1\r0.02,0,0.5,1\rabc,0,0,1\r\r0.06,0.25,0,1\r"
    f = tmp_path / "mac.csv"
    f.write_bytes(data)
    assert sniff_file(f).newline == "\r"
    rec = read_recording(f)
    np.testing.assert_allclose(rec.accel.t_s, [0.0, 0.02, 0.06])
    np.testing.assert_array_equal(rec.accel.values, np.array([[0, 0, 1], [0, 0.5, 1], [0.25, 0, 1]], np.float32))
    report = rec.reports[0]
    assert report.dropped["non_numeric"].first_lines == (4,) and report.n_rows == 4
    assert rec.meta.extra["source_sha256"] == hashlib.sha256(data).hexdigest()


def test_cr_only_metabase_file_is_read(tmp_path: Path) -> None:
    f = tmp_path / "mb.csv"
    f.write_bytes((HEAD + "\n".join(_row(i) for i in range(5)) + "\n").replace("\n", "\r").encode())
    rec = read_recording(f)
    assert len(rec.accel) == 5 and rec.n_dropped == 0


# -- 4. blank lines take no sample slot at a stated rate ------------------------------------------

@pytest.mark.parametrize("vector", [True, False], ids=["vector_fallback", "line_by_line"])
def test_blank_lines_take_no_slot_bad_rows_keep_theirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      vector: bool) -> None:
    monkeypatch.setattr(_csvparse, "_VECTOR_FALLBACK", vector)
    f = tmp_path / "r.csv"
    f.write_text("ax (g),ay (g),az (g)\n\n0.1,0.2,0.3\n   \n0.1,0.2,0.3\nabc,0.2,0.3\n\n\n0.1,0.2,0.3\n"
                 "0.1,0.2\n0.1,0.2,0.3\n")
    rec = read_recording(f, sample_rate_hz=10.0)
    assert rec.reports[0].n_rows == 6
    np.testing.assert_allclose(rec.accel.t_s, [0.0, 0.1, 0.3, 0.5])


def test_blank_lines_in_a_large_file_take_no_slot(tmp_path: Path) -> None:
    n = 5000  # several sub-blocks of the careful path
    lines = ["0.1,0.2,0.3"] * n
    for k in range(10, n, 700):
        lines[k] = ""
    f = tmp_path / "big.csv"
    f.write_text("ax (g),ay (g),az (g)\n" + "\n".join(lines) + "\n")
    rec = read_recording(f, sample_rate_hz=100.0)
    kept = n - len(range(10, n, 700))
    assert len(rec.accel) == kept
    np.testing.assert_allclose(rec.accel.t_s, np.arange(kept) / 100.0, atol=1e-9)


# -- 5. an unterminated last line does not vote on the time column type ---------------------------

def test_cut_last_line_does_not_vote_on_time_type(tmp_path: Path) -> None:
    f = tmp_path / "cut.csv"
    f.write_bytes(b"timestamp,ax (g),ay (g),az (g)\n2020-09-13T12:26:40.000Z,0,0,1\n"
                  b"2020-09-13T12:26:40.020Z,0,0,1\n1600000000")
    rec = read_recording(f)
    assert len(rec.accel) == 2 and rec.reports[0].dropped["truncated_last_line"].first_lines == (4,)


def test_single_unterminated_row_still_votes(tmp_path: Path) -> None:
    f = tmp_path / "one.csv"
    f.write_bytes(b"timestamp,ax (g),ay (g),az (g)\n2020-09-13T12:26:40.000Z,0,0,1")
    assert len(read_recording(f).accel) == 1


def test_metabase_value_beyond_float32_is_dropped_without_a_warning(tmp_path):
    import warnings

    from repsense import read_recording

    f = tmp_path / "X_MetaWear_2019-01-11T16.10.08.270_C42732BE255C_Accelerometer_12.500Hz_1.4.4.csv"
    f.write_text("epoch (ms),time (01:00),elapsed (s),x-axis (g),y-axis (g),z-axis (g)\n"
                 "1547219408431,2019-01-11T16:10:08.431,0.000,0.010,0.964,-0.087\n"
                 "1547219408511,2019-01-11T16:10:08.511,0.080,4.E272,0.961,-0.069\n"
                 "1547219408591,2019-01-11T16:10:08.591,0.160,0.0,0.961,-0.069\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rec = read_recording(f)
    assert len(rec.accel) == 2
    assert rec.reports[0].dropped["non_finite_value"].first_lines == (3,)
