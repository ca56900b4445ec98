"""Every real MetaMotion export in ../shared reads, pairs and matches its re-export twin."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from repsense.errors import FormatError
from repsense.io import iter_recording_files, read_recording
from repsense.io.metabase import find_pair, parse_name

pytestmark = pytest.mark.shared


def _data_rows(path: Path) -> int:
    with open(path, "rb") as fh:
        lines = [ln for ln in fh.read().split(b"\n") if ln.strip()]
    return len(lines) - 1


def _raw_files(metamotion_dir: Path, sensor: str) -> list[Path]:
    return sorted((metamotion_dir / "raw").glob(f"*_{sensor}_*.csv"))


def test_every_accelerometer_file_reads_with_all_rows(metamotion_dir: Path) -> None:
    files = _raw_files(metamotion_dir, "Accelerometer")
    assert len(files) >= 90
    for f in files:
        rec = read_recording(f)
        a_report = rec.reports[0]
        assert a_report.source_file == str(f)
        assert len(rec.accel) == _data_rows(f) == a_report.n_rows == a_report.n_kept, f.name
        assert a_report.dropped == {}
        assert rec.accel.t_s[0] == 0.0 and np.all(np.diff(rec.accel.t_s) > 0)
        assert rec.accel.sample_rate_hz == pytest.approx(12.5, rel=0.01), f.name
        assert rec.accel.values.dtype == np.float32 and rec.accel.unit == "g"
        # at rest or moving, a wrist sensor's median |a| is about 1 g
        assert 0.7 < float(np.median(np.linalg.norm(rec.accel.values, axis=1))) < 1.3
        assert rec.meta.device_kind == "metawear"
        assert rec.meta.firmware == parse_name(f).firmware
        assert rec.meta.extra["mac"] == "C4:27:32:BE:25:5C"
        assert rec.meta.participant == ""
        if rec.gyro is not None:
            g_file = Path(rec.meta.extra["gyro_file"])
            assert len(rec.gyro) == _data_rows(g_file) == rec.reports[1].n_kept
            assert rec.gyro.sample_rate_hz == pytest.approx(25.0, rel=0.01), g_file.name
            assert rec.gyro.unit == "deg/s"


def test_pairing_by_name(metamotion_dir: Path) -> None:
    for g in _raw_files(metamotion_dir, "Gyroscope"):
        accel, gyro = find_pair(g)
        assert gyro == g
        na, ng = parse_name(accel), parse_name(g)
        assert (na.prefix, na.firmware, na.sensor) == (ng.prefix, ng.firmware, "Accelerometer")
        # the gyro-only file passed alone resolves to its accel partner
        rec = read_recording(g)
        assert rec.meta.source_file == str(accel)
        assert rec.meta.extra["gyro_file"] == str(g)
    for a in _raw_files(metamotion_dir, "Accelerometer"):
        _, gyro = find_pair(a)
        if gyro is not None:
            assert parse_name(gyro).prefix == parse_name(a).prefix
            assert parse_name(gyro).firmware == parse_name(a).firmware


def test_reexport_matches_twin_one_day_later(metamotion_dir: Path) -> None:
    """Same samples; t0 one day later. The README says "exactly one day", but the re-exports'
    epoch column is one day + 1 ms later (their local time column is exactly one day later);
    the reader keeps the epoch and reports the 1 ms epoch/time-column disagreement."""
    reexports = sorted((metamotion_dir / "raw").glob("*_Accelerometer_*_1.4.41.csv"))
    assert len(reexports) >= 10
    for f41 in reexports:
        f4 = f41.with_name(f41.name.replace("_1.4.41.csv", "_1.4.4.csv"))
        assert f4.is_file(), f4
        r41, r4 = read_recording(f41), read_recording(f4)
        assert r41.meta.t0_utc_ns - r4.meta.t0_utc_ns == 86_400 * 10**9 + 10**6
        assert r4.meta.extra["accel_time_column_residual_ms"] == 0
        assert r41.meta.extra["accel_time_column_residual_ms"] == 1
        np.testing.assert_array_equal(r41.accel.t_s, r4.accel.t_s)
        np.testing.assert_array_equal(r41.accel.values, r4.accel.values)
        assert r41.meta.session_id != r4.meta.session_id  # different bytes, different session
        assert r41.meta.firmware == "1.4.41"


def test_prefix_resolves_and_ambiguous_prefix_is_an_error(metamotion_dir: Path) -> None:
    raw = metamotion_dir / "raw"
    a = raw / "A-bench-heavy2-rpe8_MetaWear_2019-01-11T16.10.08.270_C42732BE255C_Accelerometer_12.500Hz_1.4.4.csv"
    prefix = raw / "A-bench-heavy2-rpe8_MetaWear_2019-01-11T16.10.08.270_C42732BE255C"
    rec = read_recording(prefix)
    assert rec.meta.source_file == str(a)
    assert rec.gyro is not None
    both = raw / "C-row-heavy_MetaWear_2019-01-14T15.05.36.986_C42732BE255C"
    with pytest.raises(FormatError, match="several exports"):
        read_recording(both)


def test_session_id_is_deterministic(metamotion_dir: Path) -> None:
    f = _raw_files(metamotion_dir, "Accelerometer")[0]
    assert read_recording(f).meta.session_id == read_recording(f).meta.session_id
    assert read_recording(f, session_id="x").meta.session_id == "x"
    assert read_recording(f, participant="P07").meta.participant == "P07"


def test_iter_recording_files_groups_pairs_and_skips_non_recordings(metamotion_dir: Path) -> None:
    inputs = iter_recording_files([metamotion_dir])
    skipped = {i.path.name: i.skip_reason for i in inputs if i.skipped}
    assert set(skipped) == {"README.md", "labels.csv"}
    assert "accelerometer" in skipped["labels.csv"]
    sets = [i for i in inputs if not i.skipped]
    raw_csv = sorted((metamotion_dir / "raw").glob("*.csv"))
    covered = [f for i in sets for f in i.files]
    assert sorted(covered) == raw_csv  # every file exactly once
    assert len(covered) == len(set(covered))
    assert len(sets) == len(_raw_files(metamotion_dir, "Accelerometer"))
    for i in sets:
        assert "_Accelerometer_" in i.path.name
        assert all(parse_name(f).prefix == parse_name(i.path).prefix for f in i.files)


def test_labels_files_all_read(metamotion_dir: Path, metamotion_labels: list[dict]) -> None:
    for row in metamotion_labels[:82]:
        accel = metamotion_dir / "raw" / row["accelerometer"]
        rec = read_recording(accel)
        assert len(rec.accel) == _data_rows(accel)
        if parse_name(row["gyroscope"]).firmware == parse_name(accel).firmware:
            assert Path(rec.meta.extra["gyro_file"]).name == row["gyroscope"]
        else:
            # labels.csv pairs one _1.4.41 accel re-export (shifted a day) with a _1.4.4 gyro;
            # pairing only matches the same export, so that accel file stands alone
            assert rec.gyro is None
