"""Sniffing: kind, delimiter, header line, data offset."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest

from repsense.errors import EmptyRecordingError
from repsense.io.sniff import sniff_file


def test_offsets_and_lines_with_bom_and_leading_blank_lines(write_text: Callable[..., Path]) -> None:
    body = "\ufeff\n\nt_s,ax,ay,az\n0,0,0,1\n"
    f = write_text("s.csv", body)
    sn = sniff_file(f)
    raw = f.read_bytes()
    assert sn.kind == "csv" and sn.header == ("t_s", "ax", "ay", "az")
    assert sn.first_line == 4
    assert raw[sn.data_offset:] == b"0,0,0,1\n"


def test_quoted_header_with_delimiters_inside(write_text: Callable[..., Path]) -> None:
    f = write_text("q.csv", '"time, utc";"ax";"ay";"az"\n1;2;3;4\n5;6;7;8\n')
    sn = sniff_file(f)
    assert sn.delimiter == ";" and sn.header == ("time, utc", "ax", "ay", "az")


def test_metabase_detection_keys_on_first_and_third_column(write_text: Callable[..., Path]) -> None:
    assert sniff_file(write_text("a.csv", "Epoch,Timestamp (-0800),Elapsed (s),X,Y,Z\n1.0,x,0,1,2,3\n")).kind == "metabase"
    assert sniff_file(write_text("b.csv", "epoch (ms),ax,ay,az\n1,1,2,3\n")).kind == "csv"


def test_header_only_with_trailing_blank_lines(write_text: Callable[..., Path]) -> None:
    with pytest.raises(EmptyRecordingError, match="header only"):
        sniff_file(write_text("h.csv", "t,ax,ay,az\n\n\n"))
