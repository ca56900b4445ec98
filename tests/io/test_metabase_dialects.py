"""The four MetaBase CSV dialects of PROTOCOLS.md §2.5, with the exact header/row examples."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import pytest

from repsense.errors import FormatError, UnitError
from repsense.io import read_recording
from repsense.io.metabase import find_pair, parse_name
from repsense.io.sniff import sniff_file

ACC = "A-bench-heavy2-rpe8_MetaWear_2019-01-11T16.10.08.270_C42732BE255C_Accelerometer_12.500Hz_1.4.4.csv"
GYR = "A-bench-heavy2-rpe8_MetaWear_2019-01-11T16.10.08.270_C42732BE255C_Gyroscope_25.000Hz_1.4.4.csv"


def test_android_dialect(write_text: Callable[..., Path]) -> None:
    f = write_text("a.csv", "epoch (ms),time (-13:00),elapsed (s),x-axis (g),y-axis (g),z-axis (g)\n"
                            "1515983969561,2018-01-14T18:39:29.561,0.000,-0.013,-0.062,0.994\n"
                            "1515983969641,2018-01-14T18:39:29.641,0.080,-0.010,-0.060,0.990\n")
    rec = read_recording(f)
    assert rec.meta.t0_utc_ns == 1515983969561 * 10**6
    np.testing.assert_allclose(rec.accel.t_s, [0.0, 0.080])
    np.testing.assert_allclose(rec.accel.values[0], [-0.013, -0.062, 0.994], rtol=1e-6)
    assert rec.meta.extra["accel_dialect"] == "android"
    assert rec.meta.device_kind == "metawear"


def test_ios_dialect_spreads_packed_epochs(write_text: Callable[..., Path]) -> None:
    # three samples packed under one epoch, then the next packet 60 ms later
    f = write_text("i.csv", "epoc (ms),timestamp (-0800),elapsed (s),x-axis (g),y-axis (g),z-axis (g)\n"
                            "1515983969561,2018-01-14T18.39.29.561,0.000,-0.013,-0.062,0.994\n"
                            "1515983969561,2018-01-14T18.39.29.561,0.000,-0.014,-0.061,0.995\n"
                            "1515983969561,2018-01-14T18.39.29.561,0.000,-0.015,-0.060,0.996\n"
                            "1515983969621,2018-01-14T18.39.29.621,0.060,-0.016,-0.059,0.997\n"
                            "1515983969621,2018-01-14T18.39.29.621,0.060,-0.017,-0.058,0.998\n"
                            "1515983969621,2018-01-14T18.39.29.621,0.060,-0.018,-0.057,0.999\n")
    rec = read_recording(f)
    assert len(rec.accel) == 6 and rec.n_dropped == 0
    np.testing.assert_allclose(rec.accel.t_s, [0.0, 0.02, 0.04, 0.06, 0.08, 0.10], atol=1e-9)
    np.testing.assert_allclose(rec.accel.values[:, 0], [-0.013, -0.014, -0.015, -0.016, -0.017, -0.018], rtol=1e-6)
    assert rec.meta.extra["accel_dialect"] == "ios"


def test_metabase5_dialect_epoch_in_seconds(write_text: Callable[..., Path]) -> None:
    f = write_text("m5.csv", "Epoch,Timestamp (-0800),Elapsed (s),X,Y,Z\n"
                             "1639715268.244,2021-12-16T20.27.48.244,0.000,-0.0450,0.0048,1.0206\n"
                             "1639715268.254,2021-12-16T20.27.48.254,0.010,-0.0451,0.0049,1.0207\n")
    rec = read_recording(f)
    assert rec.meta.t0_utc_ns == 1639715268244 * 10**6
    np.testing.assert_allclose(rec.accel.t_s, [0.0, 0.010], atol=1e-9)
    np.testing.assert_allclose(rec.accel.values[0], [-0.0450, 0.0048, 1.0206], rtol=1e-6)
    assert rec.meta.extra["accel_dialect"] == "metabase5"
    assert rec.meta.extra["accel_time_column_residual_ms"] == 0  # -0800: 8 h, a whole number of 15 min


@pytest.mark.parametrize("time_text", ["2018-01-14T18:39:29.561", "2018-01-14T18-39-29.561"])
def test_hub_dialect_both_time_formats(write_text: Callable[..., Path], time_text: str) -> None:
    f = write_text("h.csv", "epoch (ms),time (+01:00),elapsed (s),x-axis (g),y-axis (g),z-axis (g)\n"
                            f"1515983969561,{time_text},0.000,-0.013,-0.062,0.994\n"
                            f"1515983969571,{time_text},0.010,-0.013,-0.062,0.994\n")
    rec = read_recording(f)
    assert sniff_file(f).kind == "metabase"
    assert rec.meta.t0_utc_ns == 1515983969561 * 10**6 and len(rec.accel) == 2


def test_gyro_units_and_pairing(write_text: Callable[..., Path], android_rows: Callable[..., list[str]]) -> None:
    head = "epoch (ms),time (01:00),elapsed (s),x-axis (g),y-axis (g),z-axis (g)\n"
    ghead = "epoch (ms),time (01:00),elapsed (s),x-axis (deg/s),y-axis (deg/s),z-axis (deg/s)\n"
    a = write_text(ACC, head + "\n".join(android_rows(50, step_ms=80)) + "\n")
    g = write_text(GYR, ghead + "\n".join(android_rows(100, start_ms=1515983969551, step_ms=40)) + "\n")
    # an export of another firmware with the same prefix must not be picked up
    write_text(GYR.replace("_1.4.4.csv", "_1.4.41.csv"), ghead + "\n".join(android_rows(3)) + "\n")
    assert find_pair(a) == (a, g) and find_pair(g) == (a, g)
    rec = read_recording(g)
    assert rec.gyro is not None and len(rec.gyro) == 100 and rec.gyro.unit == "deg/s"
    assert rec.gyro.t_s[0] == pytest.approx(-0.010)  # gyro starts 10 ms before the accel origin
    assert rec.meta.firmware == "1.4.4" and rec.meta.extra["mac"] == "C4:27:32:BE:25:5C"
    assert rec.meta.extra["file_label"] == "A-bench-heavy2-rpe8" and rec.meta.participant == ""
    assert len(rec.reports) == 2 and rec.reports[1].source_file == str(g)
    assert read_recording(a, gyro=False).gyro is None


def test_gyro_without_accel_partner_is_a_clear_error(write_text: Callable[..., Path],
                                                     android_rows: Callable[..., list[str]]) -> None:
    ghead = "epoch (ms),time (01:00),elapsed (s),x-axis (deg/s),y-axis (deg/s),z-axis (deg/s)\n"
    g = write_text(GYR, ghead + "\n".join(android_rows(5)) + "\n")
    with pytest.raises(FormatError, match="without its accelerometer partner") as exc:
        read_recording(g)
    assert exc.value.path == str(g)
    # the same content under a name that does not say "Gyroscope": still not an accelerometer
    h = write_text("renamed.csv", ghead + "\n".join(android_rows(5)) + "\n")
    with pytest.raises(FormatError, match="accelerometer"):
        read_recording(h)


def test_magnetometer_is_refused_with_unit_error(write_text: Callable[..., Path]) -> None:
    f = write_text("m.csv", "epoch (ms),time (01:00),elapsed (s),x-axis (T),y-axis (T),z-axis (T)\n"
                            "1515983969561,2018-01-14T18:39:29.561,0.000,0.000012345,0.000023456,0.000034567\n")
    with pytest.raises(UnitError, match="x-axis") as exc:
        read_recording(f)
    assert exc.value.path == str(f) and exc.value.line == 1


def test_parse_name() -> None:
    n = parse_name(ACC)
    assert n is not None
    assert (n.sensor, n.rate_hz, n.firmware, n.mac, n.device, n.label) == (
        "Accelerometer", 12.5, "1.4.4", "C4:27:32:BE:25:5C", "MetaWear", "A-bench-heavy2-rpe8")
    assert parse_name("labels.csv") is None


@pytest.mark.parametrize("gyro_bytes", [b"", b"\x00\x01\x02garbage", GYR.encode()])
def test_broken_gyro_partner_keeps_the_accel(write_text: Callable[..., Path], android_rows: Callable[..., list[str]],
                                             gyro_bytes: bytes) -> None:
    head = "epoch (ms),time (01:00),elapsed (s),x-axis (g),y-axis (g),z-axis (g)\n"
    a = write_text(ACC, head + "\n".join(android_rows(20)) + "\n")
    g = write_text(GYR, gyro_bytes)
    rec = read_recording(a)
    assert len(rec.accel) == 20 and rec.gyro is None
    assert rec.meta.extra["gyro_file"] == str(g)
    assert str(g) in rec.meta.extra["gyro_error"]
