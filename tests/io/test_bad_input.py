"""Bad input: a clear error naming the file (and line), or kept samples plus a drop report."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import pytest

from repsense.errors import EmptyRecordingError, FormatError, InputError
from repsense.io import read_recording
from repsense.io._csvparse import parse_columns
from repsense.types import DropReason

HEAD = "epoch (ms),time (01:00),elapsed (s),x-axis (g),y-axis (g),z-axis (g)\n"


def _row(i: int, t_ms: int | None = None) -> str:
    t = 1547219408431 + 80 * i if t_ms is None else t_ms
    return f"{t},2019-01-11T16:10:08.431,{i * 0.08:.3f},{i * 0.001:.3f},0.500,{0.9 + i * 0.001:.3f}"


def _file(write_text: Callable[..., Path], rows: list[str], name: str = "x.csv", end: str = "\n") -> Path:
    return write_text(name, HEAD + "\n".join(rows) + end)


def test_empty_file(write_text: Callable[..., Path]) -> None:
    f = write_text("e.csv", "")
    with pytest.raises(EmptyRecordingError) as exc:
        read_recording(f)
    assert "empty" in exc.value.reason and exc.value.path == str(f) and str(f) in str(exc.value)


def test_blank_file(write_text: Callable[..., Path]) -> None:
    with pytest.raises(EmptyRecordingError) as exc:
        read_recording(write_text("b.csv", "\n\n  \n"))
    assert "blank" in exc.value.reason


def test_header_only(write_text: Callable[..., Path]) -> None:
    f = write_text("h.csv", HEAD)
    with pytest.raises(EmptyRecordingError, match="header only") as exc:
        read_recording(f)
    assert exc.value.line == 1


def test_truncated_last_line(write_text: Callable[..., Path]) -> None:
    rows = [_row(i) for i in range(10)] + ["1547219409231,2019-01-11T16:10:09.2"]
    rec = read_recording(_file(write_text, rows, end=""))
    r = rec.reports[0]
    assert (r.n_rows, r.n_kept) == (11, 10)
    assert r.dropped["truncated_last_line"].count == 1
    assert r.dropped["truncated_last_line"].first_lines == (12,)  # header is line 1


def test_complete_last_line_without_newline_is_kept(write_text: Callable[..., Path]) -> None:
    rec = read_recording(_file(write_text, [_row(i) for i in range(10)], end=""))
    assert len(rec.accel) == 10 and rec.n_dropped == 0


def test_non_numeric_cells(write_text: Callable[..., Path]) -> None:
    rows = [_row(i) for i in range(20)]
    rows[3] = rows[3].replace(",0.500,", ",abc,")
    rows[7] = "notanumber" + rows[7][13:]
    rec = read_recording(_file(write_text, rows))
    d = rec.reports[0].dropped
    assert d["non_numeric"].count == 2 and d["non_numeric"].first_lines == (5, 9)
    assert len(rec.accel) == 18
    kept_x = np.round(rec.accel.values[:, 0] * 1000).astype(int)
    assert sorted(set(range(20)) - set(kept_x.tolist())) == [3, 7]


def test_nan_and_inf(write_text: Callable[..., Path]) -> None:
    rows = [_row(i) for i in range(10)]
    rows[2] = rows[2].replace(",0.500,", ",nan,")
    rows[5] = rows[5].replace(",0.500,", ",inf,")
    rows[6] = rows[6].replace(",0.500,", ",-Infinity,")
    rows[8] = rows[8].replace(",0.500,", ",,")
    rec = read_recording(_file(write_text, rows))
    d = rec.reports[0].dropped
    assert d["non_finite_value"].count == 3 and d["non_finite_value"].first_lines == (4, 7, 8)
    assert d["missing_value"].count == 1 and d["missing_value"].first_lines == (10,)
    assert len(rec.accel) == 6 and np.isfinite(rec.accel.values).all()


def test_duplicated_timestamps_keep_the_first(write_text: Callable[..., Path]) -> None:
    rows = [_row(i) for i in range(10)]
    t4 = 1547219408431 + 80 * 4
    rows.insert(5, _row(50, t_ms=t4))  # line 7 repeats the time of line 6 with other values
    rows.insert(6, _row(60, t_ms=t4))  # and line 8 too
    rec = read_recording(_file(write_text, rows))
    d = rec.reports[0].dropped
    assert d["duplicate_timestamp"].count == 2 and d["duplicate_timestamp"].first_lines == (7, 8)
    assert len(rec.accel) == 10
    assert rec.accel.values[4, 0] == pytest.approx(0.004)  # the first row of that time was kept


def test_backwards_timestamps(write_text: Callable[..., Path]) -> None:
    rows = [_row(i) for i in range(40)]
    rows[10], rows[11] = rows[11], rows[10]  # local swap (reordered packet): sorted back, kept
    rows[30] = _row(30, t_ms=1547219408431 + 80 * 2 + 7)  # jumps back 28 samples: implausible, dropped
    rec = read_recording(_file(write_text, rows))
    r = rec.reports[0]
    assert r.dropped["out_of_order_timestamp"].count == 1
    assert r.dropped["out_of_order_timestamp"].first_lines == (32,)
    assert len(rec.accel) == 39 and np.all(np.diff(rec.accel.t_s) > 0)
    assert rec.meta.extra["accel_reordered_rows"] == 1
    np.testing.assert_allclose(rec.accel.values[10:12, 0], [0.010, 0.011], rtol=1e-5)


def test_single_timestamp_far_in_the_future_is_dropped_not_the_rest(write_text: Callable[..., Path]) -> None:
    rows = [_row(i) for i in range(30)]
    rows[5] = _row(5, t_ms=1547219408431 + 10**9)
    rec = read_recording(_file(write_text, rows))
    d = rec.reports[0].dropped
    assert d["out_of_order_timestamp"].count == 1 and d["out_of_order_timestamp"].first_lines == (7,)
    assert len(rec.accel) == 29


def test_gap_of_minutes_is_reported_and_samples_kept(write_text: Callable[..., Path]) -> None:
    rows = [_row(i) for i in range(20)] + [_row(i, t_ms=1547219408431 + 80 * i + 180_000) for i in range(20, 40)]
    rec = read_recording(_file(write_text, rows))
    r = rec.reports[0]
    assert len(rec.accel) == 40 and r.n_dropped == 0
    assert len(r.gaps) == 1
    start, end = r.gaps[0]
    assert start == pytest.approx(19 * 0.08) and end == pytest.approx(20 * 0.08 + 180.0)


def test_too_few_and_too_many_columns(write_text: Callable[..., Path]) -> None:
    rows = [_row(i) for i in range(10)]
    rows[1] = "1547219408511,2019-01-11T16:10:08.511,0.080"
    rows[4] = rows[4] + ",1.0"
    rec = read_recording(_file(write_text, rows))
    d = rec.reports[0].dropped
    assert d["too_few_columns"].first_lines == (3,) and d["too_many_columns"].first_lines == (6,)
    assert len(rec.accel) == 8


def test_binary_garbage(write_text: Callable[..., Path], rng: np.random.Generator) -> None:
    blob = rng.integers(0, 256, 4096, dtype=np.uint8).tobytes()
    f = write_text("g.csv", b"\x00\x01" + blob)
    with pytest.raises(FormatError, match="binary") as exc:
        read_recording(f)
    assert exc.value.path == str(f) and exc.value.offset == 0
    f2 = write_text("g2.csv", b"\xff\xfe\xfa garbage \xc3\x28")
    with pytest.raises(FormatError, match="UTF-8") as exc:
        read_recording(f2)
    assert exc.value.offset == 0
    f3 = write_text("g3.csv", HEAD.encode() + blob)  # a text header, then noise
    with pytest.raises(FormatError, match="not text"):
        read_recording(f3)


def test_binary_garbage_lines_inside_a_good_file(write_text: Callable[..., Path]) -> None:
    rows = [_row(i).encode() for i in range(10)]
    rows[4] = b"\xff\xfe\x00\x01\x9c"
    rows[7] = b"1547219408991,2019-01-11T16:10:08.991,0.56,\x00\x00,0.5,0.9"
    f = write_text("gg.csv", HEAD.encode() + b"\n".join(rows) + b"\n" + b"\x00" * 40)  # power-loss NUL tail
    rec = read_recording(f)
    assert len(rec.accel) == 8
    d = rec.reports[0].dropped
    assert d["too_few_columns"].first_lines == (6,)  # one field of bytes that are not text
    assert d["non_numeric"].first_lines == (9,)
    assert d["truncated_last_line"].first_lines == (12,)


def test_no_usable_sample(write_text: Callable[..., Path]) -> None:
    f = _file(write_text, ["a,b,c,d,e,f", "1,2,3"])
    with pytest.raises(EmptyRecordingError, match="no usable") as exc:
        read_recording(f)
    assert exc.value.path == str(f)
    assert "non_numeric" in str(exc.value) and "too_few_columns" in str(exc.value)


def test_no_header_and_no_such_file(write_text: Callable[..., Path], tmp_path: Path) -> None:
    f = write_text("n.csv", "1,2,3,4\n5,6,7,8\n")
    with pytest.raises(FormatError, match="no header") as exc:
        read_recording(f)
    assert exc.value.line == 1
    with pytest.raises(InputError, match="no such file"):
        read_recording(tmp_path / "nope" / "missing.csv")


def test_line_numbers_exact_in_large_file_with_blank_lines(write_text: Callable[..., Path]) -> None:
    rows = [_row(i) for i in range(5000)]
    rows[1500] = rows[1500].replace(",0.500,", ",x,")
    rows[3999] = ""  # a blank line: not a row, but it shifts later line numbers
    rows[4500] = rows[4500].replace(",0.500,", ",y,")
    rec = read_recording(_file(write_text, rows))
    d = rec.reports[0].dropped
    assert d["non_numeric"].first_lines == (1502, 4502)
    assert rec.reports[0].n_rows == 4999 and len(rec.accel) == 4997


def test_block_boundaries_do_not_change_the_result(write_text: Callable[..., Path]) -> None:
    rows = [_row(i) for i in range(3000)]
    for k in (17, 1023, 1024, 2047, 2999):
        rows[k] = rows[k].replace(",0.500,", ",bad,")
    f = _file(write_text, rows, end="")
    spec = [(0, "int"), (3, "float"), (4, "float"), (5, "float")]
    kw = dict(data_offset=len(HEAD), first_line=2, delimiter=",", n_fields=6, columns=spec)
    big = parse_columns(f, **kw)
    for block in (97, 4096, 65_536):
        small = parse_columns(f, block_bytes=block, **kw)
        np.testing.assert_array_equal(small.lines.array(), big.lines.array())
        for a, b in zip(small.arrays, big.arrays):
            np.testing.assert_array_equal(a, b)
        assert small.drops.as_dict() == big.drops.as_dict()
        assert small.sha256 == big.sha256
    assert big.drops.as_dict()["non_numeric"].first_lines == (19, 1025, 1026, 2049)
    assert big.drops.as_dict()["truncated_last_line"].first_lines == (3001,)


def _nasty_file(write_text: Callable[..., Path]) -> Path:
    rows = [_row(i).encode() for i in range(3000)]
    rows[3] = rows[3].replace(b",0.500,", b",abc,")
    rows[10] = b""
    rows[11] = b"   "
    rows[12] = b",,,,,"
    rows[20] = b"1547219408431,x,0.0,0.1"
    rows[21] = rows[21] + b",9"
    rows[30] = rows[30].replace(b",0.500,", b",nan,")
    rows[31] = rows[31].replace(b",0.500,", b",-inf,")
    rows[40] = b"1.5474e12" + rows[40][13:]  # float text in the integer epoch column
    rows[41] = b"nan" + rows[41][13:]
    rows[50] = rows[50].replace(b",0.500,", b',"0.25",')
    rows[60] = rows[60].replace(b"2019-01-11", b"\xff\xfe-01-11")  # bad bytes in a column not read
    rows[1500] = rows[1500].replace(b",0.500,", b",\xc3\x28,")  # bad bytes in a column read
    rows[2000] = rows[2000].replace(b",0.500,", b", 0.75 ,")
    rows[2999] = rows[2999][:20]
    return write_text("nasty.csv", HEAD.encode() + b"\r\n".join(rows))


def test_vectorised_fallback_equals_line_by_line(write_text: Callable[..., Path],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from repsense.io import _csvparse

    f = _nasty_file(write_text)
    spec = [(0, "int"), (3, "float"), (4, "float"), (5, "float")]
    kw = dict(data_offset=len(HEAD), first_line=2, delimiter=",", n_fields=6, columns=spec)
    results = {}
    for vector in (True, False):
        monkeypatch.setattr(_csvparse, "_VECTOR_FALLBACK", vector)
        for block in (1 << 26, 10_000):
            results[vector, block] = parse_columns(f, block_bytes=block, **kw)
    ref = results[False, 1 << 26]
    for key, res in results.items():
        np.testing.assert_array_equal(res.lines.array(), ref.lines.array(), err_msg=str(key))
        for a, b in zip(res.arrays, ref.arrays):
            np.testing.assert_array_equal(a, b, err_msg=str(key))
        assert res.drops.as_dict() == ref.drops.as_dict(), key
        assert res.n_rows == ref.n_rows, key
    d = ref.drops.as_dict()
    assert d["non_numeric"].first_lines == (5, 43, 1502)
    assert d["missing_value"].first_lines == (14,)
    assert d["too_few_columns"].first_lines == (22,) and d["too_many_columns"].first_lines == (23,)
    assert d["truncated_last_line"].first_lines == (3001,)
    assert ref.n_rows == 2998  # 3000 lines minus the blank and the whitespace-only line
    row40 = int(np.flatnonzero(ref.lines.array() == 42)[0])
    assert ref.arrays[0][row40] == 1_547_400_000_000
    row50 = int(np.flatnonzero(ref.lines.array() == 52)[0])
    assert ref.arrays[2][row50] == 0.25
    assert 62 in ref.lines.array().tolist()  # bad bytes in an unread column do not cost the sample
    assert np.isnan(ref.arrays[2][int(np.flatnonzero(ref.lines.array() == 32)[0])])  # NaN left for the timeline stage


def test_stray_quote_does_not_swallow_later_rows(write_text: Callable[..., Path]) -> None:
    rows = [_row(i) for i in range(30)]
    rows.insert(10, 'oops,"unterminated')
    rec = read_recording(_file(write_text, rows))
    assert len(rec.accel) == 30
    assert rec.reports[0].dropped == {"too_few_columns": DropReason(1, (12,))}


def test_stray_quote_in_a_quoted_file(write_text: Callable[..., Path]) -> None:
    lines = ['"t_s","ax","ay","az"'] + [f'"{i * 0.02:.2f}","0.1","0.2","{0.9 + i * 0.001:.3f}"' for i in range(3000)]
    lines[1500] = '"29.98","0.1,"0.2","0.9"'  # a stray quote inside a quoted file
    rec = read_recording(write_text("qq.csv", "\n".join(lines) + "\n"))
    assert len(rec.accel) == 2999
    assert rec.n_dropped == 1
    assert [d.first_lines for d in rec.reports[0].dropped.values()] == [(1501,)]  # list index 1500, header at index 0: file line 1501


def test_last_line_cut_inside_a_number_is_dropped(write_text: Callable[..., Path]) -> None:
    rows = [_row(i) for i in range(10)]
    rows.append(_row(10)[:-2])  # "0.910" -> "0.9": still a number, but cut
    rec = read_recording(_file(write_text, rows, end=""))
    assert len(rec.accel) == 10
    assert rec.reports[0].dropped["truncated_last_line"].first_lines == (12,)
    # the same line with its newline is complete: it is kept
    assert len(read_recording(_file(write_text, rows, name="y.csv")).accel) == 11
