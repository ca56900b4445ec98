"""repsense process on long inputs: the block-by-block path stores the same bytes as the whole-file path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from repsense.batch import BatchOptions, make_tasks, run_batch
from repsense.batch import work as work_mod
from repsense.batch.work import process_input
from repsense.io.chunked import NotStreamable, collect, read_recording_chunked

from .conftest import make_recordings, tree

_REPO = Path(__file__).resolve().parents[2]
_SHIPPED = _REPO / "recordings"

# tiny blocks, several parts, the detector fed from the spill in blocks
_SMALL = dict(stream_block_bytes=4096, samples_rows_per_part=997, detect_chunk_samples=1500)


def _both(inputs: list[Path], tmp_path: Path, **kw: object) -> tuple[dict[str, bytes], dict[str, bytes], list, list]:
    whole, streamed = tmp_path / "whole", tmp_path / "streamed"
    r1 = run_batch(make_tasks(inputs), BatchOptions(out_dir=str(whole), stream_above_bytes=1 << 62, **kw), workers=1)
    r2 = run_batch(make_tasks(inputs), BatchOptions(out_dir=str(streamed), stream_above_bytes=0, **kw), workers=1)
    return tree(whole), tree(streamed), r1, r2


def _results(r: list) -> list[tuple[str, str, str, int, int, int, tuple[str, ...]]]:
    return sorted((x.path, x.status, x.session_id, x.n_samples, x.n_sets, x.n_reps, x.notes) for x in r)


@pytest.mark.skipif(not _SHIPPED.is_dir(), reason="recordings/ not in this checkout")
@pytest.mark.parametrize("kw", [_SMALL, {}], ids=["tiny_blocks", "default_blocks"])
def test_shipped_recordings_stored_byte_identical(tmp_path: Path, kw: dict[str, int]) -> None:
    inputs = sorted(p for p in _SHIPPED.iterdir() if p.suffix == ".csv" and p.name != "labels.csv")
    whole, streamed, r1, r2 = _both(inputs, tmp_path, **kw)
    assert len([k for k in whole if k.startswith("samples/")]) >= 5
    assert whole.keys() == streamed.keys()
    assert [k for k in whole if whole[k] != streamed[k]] == []
    assert _results(r1) == _results(r2)


def test_damaged_and_simulated_inputs_stored_byte_identical(tmp_path: Path) -> None:
    folder = make_recordings(tmp_path / "in", 3)
    rng = np.random.default_rng(7)
    src = (folder / "rec000.csv").read_text().splitlines()
    head, rows = src[0], src[1:]
    for i in sorted(rng.choice(np.arange(50, len(rows) - 50), 12, replace=False))[::-1]:
        kind = i % 4
        if kind == 0:
            rows.insert(i, rows[i - 3])  # a replayed row: duplicate time
        elif kind == 1:
            rows[i], rows[i + 1] = rows[i + 1], rows[i]  # swapped neighbours
        elif kind == 2:
            rows[i] = rows[i].split(",")[0] + ",nan,0,1"  # non-finite
        else:
            rows[i] = rows[i][: len(rows[i]) // 2]  # a cut row
    (folder / "damaged.csv").write_text(head + "\n" + "\n".join(rows) + "\n0.5,0.1")  # + truncated last line
    whole, streamed, r1, r2 = _both([folder], tmp_path, **_SMALL)
    assert whole.keys() == streamed.keys() and len(whole) > 10
    assert [k for k in whole if whole[k] != streamed[k]] == []
    assert _results(r1) == _results(r2)
    damaged = [x for x in r2 if x.path.endswith("damaged.csv")][0]
    assert damaged.status == "written" and damaged.notes  # rows were dropped and reported
    assert "duplicate_timestamp" in damaged.notes[0] and "truncated_last_line" in damaged.notes[0]


def test_metabase_gyro_shorter_than_accel(tmp_path: Path) -> None:
    if not _SHIPPED.is_dir():
        pytest.skip("recordings/ not in this checkout")
    pair = sorted(_SHIPPED.glob("P01-*.csv"))
    assert len(pair) == 2
    folder = tmp_path / "in"
    folder.mkdir()
    for p in pair:
        text = p.read_text().splitlines()
        if "Gyroscope" in p.name:
            text = text[: len(text) // 3]  # the gyro stopped early
        (folder / p.name).write_text("\n".join(text) + "\n")
    whole, streamed, r1, r2 = _both([folder], tmp_path, **_SMALL)
    assert whole.keys() == streamed.keys()
    assert [k for k in whole if whole[k] != streamed[k]] == []


def test_stream_path_is_taken_and_leaves_no_temporary_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = make_recordings(tmp_path / "in", 1, bad=False)
    calls: list[str] = []
    real = work_mod._process_streamed

    def spy(*a: object, **k: object) -> object:
        calls.append("streamed")
        return real(*a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(work_mod, "_process_streamed", spy)
    out = tmp_path / "out"
    task = make_tasks([folder])[0]
    res = process_input(task, BatchOptions(out_dir=str(out), stream_above_bytes=0, **_SMALL))
    assert res.status == "written" and calls == ["streamed"]
    hidden = [p for p in out.rglob("*") if p.name.startswith(".")]
    assert hidden == []
    for p in out.rglob("*"):
        assert p.stat().st_mode & 0o077 == 0
    calls.clear()
    res = process_input(task, BatchOptions(out_dir=str(out / "big"), stream_above_bytes=1 << 62))
    assert res.status == "written" and calls == []


def test_not_streamable_input_falls_back_to_the_whole_read(tmp_path: Path) -> None:
    # MetaBase iOS: a packed run followed by an earlier epoch needs the whole file's median step
    name = "S_MetaWear_2019-01-11T16.10.08.270_C42732BE255C_Accelerometer_12.500Hz_1.4.4.csv"
    rows = ["epoc (ms),timestamp (+0100),elapsed (s),x-axis (g),y-axis (g),z-axis (g)"]
    epochs = [1547219408000 + 80 * (k // 2) for k in range(400)]
    epochs[202] = epochs[150]  # an earlier epoch right after a packed pair
    rows += [f"{e},2019-01-11T16:10:08.000,0.0,0.01,{0.5 + k * 1e-3:.4f},0.9" for k, e in enumerate(epochs)]
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / name).write_text("\n".join(rows) + "\n")
    with pytest.raises(NotStreamable):
        collect(read_recording_chunked(folder / name, block_bytes=4096))
    whole, streamed, r1, r2 = _both([folder], tmp_path, **_SMALL)
    assert [x.status for x in r2] == ["written"]
    assert whole == streamed


@pytest.mark.skipif(not _SHIPPED.is_dir(), reason="recordings/ not in this checkout")
def test_stored_samples_reprocessed_streamed_byte_identical(tmp_path: Path) -> None:
    """Our own Parquet samples (several parts) as input: streamed row group by row group."""
    inputs = sorted(p for p in _SHIPPED.iterdir() if p.suffix == ".csv" and p.name != "labels.csv")
    first = tmp_path / "first"
    run_batch(make_tasks(inputs), BatchOptions(out_dir=str(first), samples_rows_per_part=997), workers=1)
    samples = first / "samples"
    assert len(list(samples.rglob("*-part-*.parquet"))) > 5
    whole, streamed, r1, r2 = _both([samples], tmp_path, detect_chunk_samples=1500)
    assert len(r2) == 5 and all(x.status == "written" for x in r2)
    assert whole.keys() == streamed.keys()
    assert [k for k in whole if whole[k] != streamed[k]] == []
    assert _results(r1) == _results(r2)
