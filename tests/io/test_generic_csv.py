"""Generic CSV: time column variants, column names, unit conversion, delimiters."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

from repsense.errors import FormatError, SamplingRateError, UnitError
from repsense.io import read_recording
from repsense.io.units import STANDARD_GRAVITY_MS2, split_unit

N = 20
RATE = 50.0
EPOCH_S = 1_700_000_000  # 2023-11-14T22:13:20Z


def _accel(i: int) -> tuple[float, float, float]:
    return (round(0.01 * i, 4), round(-0.5 + 0.002 * i, 4), round(0.98 - 0.001 * i, 4))


def _csv(header: str, time_fmt: Callable[[int], str] | None, sep: str = ",", n: int = N,
         scale: float = 1.0) -> str:
    lines = [header]
    for i in range(n):
        vals = [f"{v * scale:.6f}" for v in _accel(i)]
        lines.append(sep.join(([time_fmt(i)] if time_fmt else []) + vals))
    return "\n".join(lines) + "\n"


def _check(rec, t0_ns: int | None = None, absolute: bool | None = None) -> None:
    assert len(rec.accel) == N and rec.n_dropped == 0
    np.testing.assert_allclose(rec.accel.t_s, np.arange(N) / RATE, atol=1e-9)
    np.testing.assert_allclose(rec.accel.values, np.array([_accel(i) for i in range(N)]), atol=2e-6)
    if t0_ns is not None:
        assert rec.meta.t0_utc_ns == t0_ns
    if absolute is not None:
        assert rec.meta.extra["absolute_time"] is absolute
    assert rec.meta.device_kind == "generic_csv"


@pytest.mark.parametrize("header,fmt,t0,absolute", [
    ("t,ax,ay,az", lambda i: f"{0.5 + i / RATE:.4f}", 500_000_000, False),  # relative s, inferred
    ("t_s,ax,ay,az", lambda i: f"{i / RATE:.4f}", 0, False),
    ("time_ms,acc_x,acc_y,acc_z", lambda i: f"{i * 20}", 0, False),
    ("time (ms),acc_x,acc_y,acc_z", lambda i: f"{1000 + i * 20}", 10**9, False),
    ("t_ns,accel_x_g,accel_y_g,accel_z_g", lambda i: f"{EPOCH_S * 10**9 + i * 20_000_000 + 7}",
     EPOCH_S * 10**9 + 7, True),
    ("epoch (ms),x,y,z", lambda i: f"{EPOCH_S * 1000 + i * 20}", EPOCH_S * 10**9, True),
    ("timestamp,ax,ay,az", lambda i: f"{EPOCH_S * 1000 + i * 20}", EPOCH_S * 10**9, True),  # ms by magnitude
    ("time,ax,ay,az", lambda i: f"{EPOCH_S + i / RATE:.3f}", EPOCH_S * 10**9, True),  # s by magnitude
    ("timestamp,ax,ay,az", lambda i: f"{EPOCH_S * 10**6 + i * 20_000}", EPOCH_S * 10**9, True),  # us
    ("timestamp,ax,ay,az", lambda i: f"2023-11-14T22:13:20.{i * 20:03d}", EPOCH_S * 10**9, True),
    ("timestamp,ax,ay,az", lambda i: f"2023-11-14 23:13:20.{i * 20:03d}+01:00", EPOCH_S * 10**9, True),
    ("timestamp,ax,ay,az", lambda i: f"2023-11-14T22:13:20.{i * 20:03d}Z", EPOCH_S * 10**9, True),
])
def test_time_column_variants(write_text: Callable[..., Path], header: str, fmt: Callable[[int], str],
                              t0: int, absolute: bool) -> None:
    rec = read_recording(write_text("g.csv", _csv(header, fmt)))
    _check(rec, t0, absolute)


def test_no_time_column_needs_a_rate(write_text: Callable[..., Path]) -> None:
    f = write_text("r.csv", _csv("ax,ay,az", None))
    _check(read_recording(f, RATE))
    with pytest.raises(SamplingRateError, match="no time column"):
        read_recording(f)
    for bad in (0.0, -5.0, float("nan"), float("inf")):
        with pytest.raises(SamplingRateError, match="positive"):
            read_recording(f, bad)


def test_no_time_column_dropped_row_leaves_a_hole(write_text: Callable[..., Path]) -> None:
    text = _csv("ax,ay,az", None).split("\n")
    text[4] = "oops,1,2"  # line 5 = data row 3
    rec = read_recording(write_text("r.csv", "\n".join(text)), RATE)
    assert len(rec.accel) == N - 1
    assert rec.reports[0].dropped["non_numeric"].first_lines == (5,)
    assert rec.accel.t_s[2] == pytest.approx(2 / RATE)
    assert rec.accel.t_s[3] == pytest.approx(4 / RATE)  # row 3 is missing, row 4 keeps its time


def test_ambiguous_time_unit_asks_for_units(write_text: Callable[..., Path]) -> None:
    # integers 1000 apart: ms at 1 Hz or us at 1 kHz
    f = write_text("a.csv", _csv("t,ax,ay,az", lambda i: f"{i * 1000}"))
    with pytest.raises(UnitError, match="ambiguous") as exc:
        read_recording(f)
    assert exc.value.path == str(f)
    rec = read_recording(f, units={"time": "ms"})
    assert rec.accel.t_s[1] == pytest.approx(1.0)


@pytest.mark.parametrize("header", ["ax (m/s^2),ay (m/s^2),az (m/s^2)", "acc_x_ms2,acc_y_ms2,acc_z_ms2",
                                    "ax (m/s²),ay (m/s²),az (m/s²)", "ax [m/s2],ay [m/s2],az [m/s2]"])
def test_ms2_converted_to_g(write_text: Callable[..., Path], header: str) -> None:
    rec = read_recording(write_text("m.csv", _csv("t_s," + header, lambda i: f"{i / RATE:.4f}",
                                                  scale=STANDARD_GRAVITY_MS2)))
    _check(rec)


def test_units_argument_converts(write_text: Callable[..., Path]) -> None:
    f = write_text("m.csv", _csv("t_s,ax,ay,az", lambda i: f"{i / RATE:.4f}", scale=STANDARD_GRAVITY_MS2))
    with pytest.raises(UnitError, match="m/s"):
        read_recording(f)  # no unit written and |a| ~ 9.8: refuse to guess
    _check(read_recording(f, units={"accel": "m/s^2"}))
    with pytest.raises(UnitError, match="unknown keys"):
        read_recording(f, units={"acc": "m/s^2"})


def test_gyro_columns_and_rad_s(write_text: Callable[..., Path]) -> None:
    lines = ["t_s,ax,ay,az,gx (rad/s),gy (rad/s),gz (rad/s)"]
    for i in range(N):
        lines.append(f"{i / RATE:.4f},0,0,1,{math.pi:.9f},{-math.pi / 2:.9f},{0.1 * i:.6f}")
    rec = read_recording(write_text("gy.csv", "\n".join(lines) + "\n"))
    assert rec.gyro is not None and rec.gyro.unit == "deg/s"
    np.testing.assert_allclose(rec.gyro.values[:, 0], 180.0, rtol=1e-6)
    np.testing.assert_allclose(rec.gyro.values[:, 1], -90.0, rtol=1e-6)
    np.testing.assert_allclose(rec.gyro.t_s, rec.accel.t_s)
    assert read_recording(write_text("gy.csv", "\n".join(lines) + "\n"), gyro=False).gyro is None


@pytest.mark.parametrize("names", ["gx,gy,gz", "gyr_x,gyr_y,gyr_z", "gyro_x_dps,gyro_y_dps,gyro_z_dps"])
def test_gyro_names(write_text: Callable[..., Path], names: str) -> None:
    lines = [f"t_s,acc_x,acc_y,acc_z,{names}"] + [f"{i / RATE:.4f},0,0,1,{i},2,3" for i in range(N)]
    rec = read_recording(write_text("gn.csv", "\n".join(lines) + "\n"))
    assert rec.gyro is not None
    np.testing.assert_allclose(rec.gyro.values[:, 0], np.arange(N))


def test_unknown_units_name_file_and_column(write_text: Callable[..., Path]) -> None:
    f = write_text("u.csv", _csv("t_s,ax (furlong/fortnight^2),ay (furlong/fortnight^2),az (furlong/fortnight^2)",
                                 lambda i: f"{i / RATE:.4f}"))
    with pytest.raises(UnitError) as exc:
        read_recording(f)
    assert exc.value.path == str(f) and "ax (furlong/fortnight^2)" in str(exc.value)
    g = write_text("v.csv", _csv("time (fortnights),ax,ay,az", lambda i: f"{i / RATE:.4f}"))
    with pytest.raises(UnitError, match="time"):
        read_recording(g)


@pytest.mark.parametrize("sep", [";", "\t"])
def test_delimiters(write_text: Callable[..., Path], sep: str) -> None:
    header = sep.join(["t_s", "ax", "ay", "az"])
    _check(read_recording(write_text("d.csv", _csv(header, lambda i: f"{i / RATE:.4f}", sep=sep))))


def test_crlf_bom_and_quotes(write_text: Callable[..., Path]) -> None:
    text = _csv('"t_s","ax","ay","az"', lambda i: f"{i / RATE:.4f}").replace("\n", "\r\n")
    _check(read_recording(write_text("q.csv", "\ufeff" + text)))


def test_no_accel_columns(write_text: Callable[..., Path]) -> None:
    f = write_text("n.csv", "t,heart_rate\n0,60\n1,61\n")
    with pytest.raises(FormatError, match="no accelerometer columns") as exc:
        read_recording(f)
    assert exc.value.line == 1


def test_split_unit() -> None:
    assert split_unit("x-axis (g)") == ("x_axis", "g")
    assert split_unit("acc_x_ms2") == ("acc_x", "m/s^2")
    assert split_unit("gyro_x_dps") == ("gyro_x", "deg/s")
    assert split_unit("t_ns") == ("t", "ns")
    assert split_unit("epoch (ms)") == ("epoch", "ms")
    assert split_unit("ax") == ("ax", None)
    assert split_unit("ax (m/s²)") == ("ax", "m/s^2")


def test_decimal_comma_with_semicolons(write_text: Callable[..., Path]) -> None:
    text = _csv("t_s;ax;ay;az", lambda i: f"{i / RATE:.4f}", sep=";").replace(".", ",")
    _check(read_recording(write_text("dc.csv", text)))
    lines = text.split("\n")
    lines[3] = "0,04;x;1,0;2,0"
    rec = read_recording(write_text("dc2.csv", "\n".join(lines)))
    assert rec.reports[0].dropped["non_numeric"].first_lines == (4,)
    assert len(rec.accel) == N - 1
    np.testing.assert_allclose(rec.accel.values[3], _accel(3 + 1), atol=2e-6)


def test_trailing_delimiter_on_rows_or_header(write_text: Callable[..., Path]) -> None:
    text = _csv("t_s,ax,ay,az", lambda i: f"{i / RATE:.4f}")
    rows_trailing = "\n".join(ln + "," if k else ln for k, ln in enumerate(text.split("\n")[:-1])) + "\n"
    _check(read_recording(write_text("tr1.csv", rows_trailing)))
    header_trailing = text.replace("t_s,ax,ay,az\n", "t_s,ax,ay,az,\n", 1)
    _check(read_recording(write_text("tr2.csv", header_trailing)))
