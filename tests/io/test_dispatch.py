"""Dispatch by content (Parquet magic, MetaBase header, generic CSV) and folder expansion."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import pytest

from repsense.errors import FormatError
from repsense.io import RecordingInput, iter_recording_files, read_recording
from repsense.io.sniff import sniff_file
from repsense.types import Detection

HEAD = "epoch (ms),time (01:00),elapsed (s),x-axis (g),y-axis (g),z-axis (g)\n"
GHEAD = "epoch (ms),time (01:00),elapsed (s),x-axis (deg/s),y-axis (deg/s),z-axis (deg/s)\n"
PREFIX = "B-ohp-heavy_MetaWear_2019-01-11T16.10.08.270_C42732BE255C"


def test_sniff_ignores_the_extension(write_text: Callable[..., Path], android_rows: Callable[..., list[str]]) -> None:
    f = write_text("looks_like.parquet", HEAD + "\n".join(android_rows(5)) + "\n")
    assert sniff_file(f).kind == "metabase"
    assert len(read_recording(f).accel) == 5
    g = write_text("data.txt", "t_s;ax;ay;az\n0;0;0;1\n0.01;0;0;1\n")
    assert sniff_file(g).kind == "csv" and sniff_file(g).delimiter == ";"


def test_parquet_round_trip_through_the_store(write_text: Callable[..., Path], tmp_path: Path,
                                              android_rows: Callable[..., list[str]]) -> None:
    store = pytest.importorskip("repsense.store")
    if not hasattr(store, "read_recording_parquet") or not hasattr(store, "write_session"):
        pytest.skip("repsense.store has no read_recording_parquet/write_session yet")
    a = write_text(f"{PREFIX}_Accelerometer_12.500Hz_1.4.4.csv", HEAD + "\n".join(android_rows(40)) + "\n")
    write_text(f"{PREFIX}_Gyroscope_25.000Hz_1.4.4.csv",
               GHEAD + "\n".join(android_rows(80, start_ms=1515983969560, step_ms=40)) + "\n")
    rec = read_recording(a, participant="P1")
    paths = store.write_session(tmp_path / "out", rec, Detection(sets=(), sample_rate_hz=rec.sample_rate_hz))
    samples = paths.samples[0] if isinstance(paths.samples, tuple) else paths.samples
    back = read_recording(samples)  # dispatched by the PAR1 magic
    assert back.meta.t0_utc_ns == rec.meta.t0_utc_ns and back.meta.session_id == rec.meta.session_id
    np.testing.assert_array_equal(back.accel.values, rec.accel.values)
    np.testing.assert_allclose(back.accel.t_s, rec.accel.t_s, atol=1e-9)
    assert back.gyro is not None and len(back.gyro) == 80
    assert read_recording(samples, participant="P2").meta.participant == "P2"


def test_truncated_parquet_is_an_error_naming_the_file(write_text: Callable[..., Path]) -> None:
    f = write_text("broken.parquet", b"PAR1" + b"\x00" * 64)
    with pytest.raises(FormatError) as exc:
        read_recording(f)
    assert str(f) in str(exc.value)


def test_iter_recording_files(write_text: Callable[..., Path], tmp_path: Path,
                              android_rows: Callable[..., list[str]]) -> None:
    rows = "\n".join(android_rows(10)) + "\n"
    a = write_text(f"d/{PREFIX}_Accelerometer_12.500Hz_1.4.4.csv", HEAD + rows)
    g = write_text(f"d/{PREFIX}_Gyroscope_25.000Hz_1.4.4.csv", GHEAD + rows)
    lone_g = write_text("d/C-x_MetaWear_2019-01-11T16.10.08.270_C42732BE255C_Gyroscope_25.000Hz_1.4.4.csv", GHEAD + rows)
    mag = write_text(f"d/{PREFIX}_Magnetometer_25.000Hz_1.4.4.csv",
                     "epoch (ms),time (01:00),elapsed (s),x-axis (T),y-axis (T),z-axis (T)\n1,x,0,1,2,3\n")
    gen = write_text("d/sub/generic.csv", "t_s,ax,ay,az\n0,0,0,1\n0.01,0,0,1\n")
    write_text("d/README.md", "# notes\n")
    write_text("d/labels.csv", "set_id,reps\na,5\n")
    write_text("d/empty.csv", "")
    garbage = write_text("d/garbage.csv", b"\xff\xfe\x00\x01 binary junk \x00")
    write_text("d/.hidden.csv", "t_s,ax,ay,az\n0,0,0,1\n")
    inputs = iter_recording_files([tmp_path / "d", a, tmp_path / "nope"])
    ok = [i for i in inputs if not i.skipped]
    skipped = {i.path.name: i.skip_reason for i in inputs if i.skipped}
    # the pair once, even if given twice; a damaged .csv (binary) is an input, so reading it fails loudly
    assert sorted((i.path, i.files) for i in ok) == sorted([(a, (a, g)), (garbage, (garbage,)), (gen, (gen,))])
    with pytest.raises(FormatError):
        read_recording(garbage)
    ok = [i for i in ok if i.path != garbage]
    assert set(skipped) == {lone_g.name, mag.name, "README.md", "labels.csv", "empty.csv", ".hidden.csv", "nope"}
    assert skipped[".hidden.csv"] == "hidden file"
    assert "accelerometer partner" in skipped[lone_g.name]
    assert "Magnetometer" in skipped[mag.name]
    assert "empty" in skipped["empty.csv"]
    rec = read_recording(ok[0])
    assert rec.gyro is not None and len(rec.gyro) == 10
    with pytest.raises(FormatError, match="not a recording"):
        read_recording(next(i for i in inputs if i.path.name == "README.md"))
    assert isinstance(ok[0], RecordingInput)


def test_iter_groups_parquet_parts_and_skips_other_store_tables(write_text: Callable[..., Path], tmp_path: Path,
                                                                 android_rows: Callable[..., list[str]]) -> None:
    store = pytest.importorskip("repsense.store")
    if not hasattr(store, "write_session"):
        pytest.skip("repsense.store has no write_session yet")
    a = write_text(f"{PREFIX}_Accelerometer_12.500Hz_1.4.4.csv", HEAD + "\n".join(android_rows(40)) + "\n")
    rec = read_recording(a)
    out = tmp_path / "out"
    try:
        paths = store.write_session(out, rec, Detection(sets=(), sample_rate_hz=12.5), samples_rows_per_part=15)
    except TypeError:
        pytest.skip("write_session has no samples_rows_per_part")
    inputs = iter_recording_files([out])
    ok = [i for i in inputs if not i.skipped]
    assert len(ok) == 1 and len(ok[0].files) == len(paths.samples) >= 3
    assert all("samples" in str(f) for f in ok[0].files)
    skipped = [i for i in inputs if i.skipped and i.path.suffix == ".parquet"]
    assert len(skipped) == 3 and all("not a repsense samples table" in i.skip_reason for i in skipped)
    back = read_recording(ok[0])
    assert len(back.accel) == 40
