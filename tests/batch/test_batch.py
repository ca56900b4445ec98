"""Batch runner: same dataset whatever the executor, resume, failure isolation, dead workers."""

from __future__ import annotations

import multiprocessing
import os
import signal
from pathlib import Path

import pyarrow.dataset as ds
import pytest

import repsense.segment
from repsense.batch import BatchOptions, FileResult, make_tasks, process_input, run_batch
from repsense.store import read_sessions

from .conftest import tree, write_csv_recording


def _by_name(results: list[FileResult]) -> dict[str, FileResult]:
    return {Path(r.path).name: r for r in results}


def test_sequential_run_stores_good_files_and_isolates_the_bad(recordings: Path, tmp_path: Path) -> None:
    results = run_batch(make_tasks([recordings]), BatchOptions(out_dir=str(tmp_path)), workers=1)
    r = _by_name(results)
    assert [r[f"rec{k:03d}.csv"].status for k in range(6)] == ["written"] * 6
    assert r["broken.csv"].status == "failed" and "sample" in r["broken.csv"].error
    assert r["notes.md"].status == "ignored" and r["header_only.csv"].status == "ignored"
    assert "header only" in r["header_only.csv"].error
    sessions = read_sessions(tmp_path)
    assert sessions.num_rows == 6
    assert sorted(sessions["session_id"].to_pylist()) == sorted(r[f"rec{k:03d}.csv"].session_id for k in range(6))
    assert sum(sessions["n_reps"].to_pylist()) == sum(x.n_reps for x in results) > 0
    assert set(sessions["detector_version"].to_pylist()) == {repsense.segment.DETECTOR_VERSION}
    sets = ds.dataset(tmp_path / "sets", format="parquet", partitioning="hive").to_table()
    assert sets.num_rows == sum(x.n_sets for x in results)


def test_session_id_matches_the_reader(recordings: Path, tmp_path: Path) -> None:
    """The batch's content-hash id is the id repsense.read_recording gives the same file."""
    task = next(t for t in make_tasks([recordings]) if t.path.endswith("rec000.csv"))
    res = process_input(task, BatchOptions(out_dir=str(tmp_path)))
    assert res.session_id == repsense.read_recording(task.path).meta.session_id


def test_process_pool_gives_identical_dataset(recordings: Path, reference: dict[str, bytes], tmp_path: Path) -> None:
    results = run_batch(make_tasks([recordings]), BatchOptions(out_dir=str(tmp_path)), workers=2)
    assert len({r.worker for r in results if r.status == "written"}) >= 1
    assert tree(tmp_path) == reference


def test_resume_skips_done_work_and_redoes_changed_input_or_detector(
        recordings: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    for p in sorted(recordings.glob("rec00[0-2].csv")):
        (inputs / p.name).write_bytes(p.read_bytes())
    out = tmp_path / "out"
    opts = BatchOptions(out_dir=str(out))
    first = run_batch(make_tasks([inputs]), opts, workers=1)
    assert [r.status for r in first] == ["written"] * 3
    before = {p: (p.stat().st_mtime_ns, p.stat().st_ino) for p in out.rglob("*") if p.is_file()}

    again = run_batch(make_tasks([inputs]), opts, workers=1)
    assert [r.status for r in again] == ["unchanged"] * 3
    assert [(r.session_id, r.n_samples, r.n_reps) for r in again] == [(r.session_id, r.n_samples, r.n_reps)
                                                                      for r in first]
    assert {p: (p.stat().st_mtime_ns, p.stat().st_ino) for p in out.rglob("*") if p.is_file()} == before

    # a changed input is processed again (new content -> new session)
    write_csv_recording(inputs / "rec001.csv", seed=999)
    changed = _by_name(run_batch(make_tasks([inputs]), opts, workers=1))
    assert changed["rec001.csv"].status == "written" and changed["rec000.csv"].status == "unchanged"
    old_sid = _by_name(first)["rec001.csv"].session_id
    assert changed["rec001.csv"].session_id != old_sid
    assert changed["rec001.csv"].replaced == old_sid  # the old content's session left the store
    sids = read_sessions(out)["session_id"].to_pylist()
    assert len(sids) == 3 and old_sid not in sids and not list(out.rglob(f"{old_sid}*"))

    # a new detector version reprocesses everything and records the version
    monkeypatch.setattr(repsense.segment, "DETECTOR_VERSION", "9.9.9-test")
    redone = run_batch(make_tasks([inputs]), opts, workers=1)
    assert [r.status for r in redone] == ["written"] * 3
    versions = read_sessions(out)["detector_version"].to_pylist()
    assert versions.count("9.9.9-test") == 3

    # a missing output file makes its input run again
    victim = next((out / "reps").rglob(f"{redone[0].session_id}.parquet"))
    victim.unlink()
    healed = run_batch(make_tasks([inputs]), opts, workers=1)
    assert [r.status for r in healed] == ["written", "unchanged", "unchanged"]
    assert victim.is_file()


def test_participant_change_reprocesses(recordings: Path, tmp_path: Path) -> None:
    tasks = [t for t in make_tasks([recordings]) if t.path.endswith("rec000.csv")]
    a = run_batch(tasks, BatchOptions(out_dir=str(tmp_path), participant="P1"), workers=1)
    b = run_batch(tasks, BatchOptions(out_dir=str(tmp_path), participant="P1"), workers=1)
    c = run_batch(tasks, BatchOptions(out_dir=str(tmp_path), participant="P2"), workers=1)
    assert [a[0].status, b[0].status, c[0].status] == ["written", "unchanged", "written"]
    # the session moved to P2: its P1 files are gone, no duplicate session
    assert read_sessions(tmp_path)["participant"].to_pylist() == ["P2"]
    assert not list(tmp_path.rglob("participant=P1/*/*.parquet"))


def test_duplicate_content_is_one_session(recordings: Path, tmp_path: Path) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    data = (recordings / "rec000.csv").read_bytes()
    (inputs / "a.csv").write_bytes(data)
    (inputs / "b_copy.csv").write_bytes(data)
    out = tmp_path / "out"
    results = run_batch(make_tasks([inputs]), BatchOptions(out_dir=str(out)), workers=2)
    assert sorted(r.status for r in results) == ["duplicate", "written"]
    assert read_sessions(out).num_rows == 1
    shared = results[0].session_id
    # a.csv changes: its new content is a new session, the old one stays (b_copy.csv still has it)
    (inputs / "a.csv").write_bytes((recordings / "rec001.csv").read_bytes())
    again = _by_name(run_batch(make_tasks([inputs]), BatchOptions(out_dir=str(out)), workers=1))
    assert again["a.csv"].status == "written" and again["a.csv"].replaced == ""
    assert sorted(read_sessions(out)["session_id"].to_pylist()) == sorted([shared, again["a.csv"].session_id])


def test_missing_explicit_input_fails_others_go_on(recordings: Path, tmp_path: Path) -> None:
    tasks = make_tasks([recordings / "rec000.csv", tmp_path / "nope.csv", recordings / "notes.md"])
    results = run_batch(tasks, BatchOptions(out_dir=str(tmp_path / "out")), workers=1)
    assert [r.status for r in results] == ["failed", "written", "failed"] or \
        sorted(r.status for r in results) == ["failed", "failed", "written"]
    assert any("no such file" in r.error for r in results)


def test_killed_pool_worker_is_retried_and_output_complete(
        recordings: Path, reference: dict[str, bytes], tmp_path: Path) -> None:
    killed: list[int] = []

    def kill_a_worker(_: FileResult) -> None:
        if not killed:
            for child in multiprocessing.active_children():
                if child.pid and child.is_alive():
                    os.kill(child.pid, signal.SIGKILL)
                    killed.append(child.pid)
                    break

    results = run_batch(make_tasks([recordings]), BatchOptions(out_dir=str(tmp_path)), workers=2,
                        on_result=kill_a_worker)
    assert killed, "no pool worker was running to kill"
    assert sorted(r.status for r in results) == ["failed", "ignored", "ignored", *["written"] * 6]  # broken.csv fails
    assert tree(tmp_path) == reference


_CRASHING_DETECTOR = """
import os
from repsense.segment import DETECTOR_VERSION, detect as _detect

def detect(recording):
    if "poison" in str(recording.meta.extra.get("reader", "")) or "poison" in recording.reports[0].source_file:
        os._exit(3)  # the worker process dies, as on a segfault or the OOM killer
    return _detect(recording)
"""


def test_input_that_keeps_killing_workers_is_isolated(
        recordings: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Below the runner, a detector that kills its process on one input: that input fails after
    three attempts, every other input is stored, and the pool is rebuilt each time."""
    mod_dir = tmp_path / "mod"
    mod_dir.mkdir()
    (mod_dir / "crashing_detector.py").write_text(_CRASHING_DETECTOR)
    monkeypatch.syspath_prepend(str(mod_dir))  # spawned workers get the parent's sys.path
    inputs = tmp_path / "in"
    inputs.mkdir()
    for p in sorted(recordings.glob("rec00[0-3].csv")):
        (inputs / p.name).write_bytes(p.read_bytes())
    (inputs / "rec001_poison.csv").write_bytes((recordings / "rec005.csv").read_bytes())
    results = _by_name(run_batch(make_tasks([inputs]), BatchOptions(out_dir=str(tmp_path / "out"),
                                                                    detector="crashing_detector:detect"), workers=2))
    assert results["rec001_poison.csv"].status == "failed"
    assert "died 3 times" in results["rec001_poison.csv"].error
    # an input in flight on the other worker when the pool broke is retried; if its first
    # attempt had already stored it, the retry finds it there ("unchanged"): stored either way
    assert all(results[f"rec{k:03d}.csv"].status in ("written", "unchanged") for k in range(4))
    assert read_sessions(tmp_path / "out").num_rows == 4


@pytest.mark.parametrize("parts", [3, 8])
def test_detect_in_chunks_equals_detect(parts: int) -> None:
    from repsense.batch import detect_in_chunks
    from repsense.simulate import simulate_session

    rec, truth = simulate_session(11, sample_rate_hz=50.0, n_sets=3, rest_s=(20.0, 30.0))
    whole = repsense.segment.detect(rec)
    chunk = len(rec.accel) // parts + 1
    assert whole.n_reps > 0
    assert detect_in_chunks(rec, chunk) == whole


def test_input_changing_while_processed_is_not_stored(recordings: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import repsense.io

    f = tmp_path / "growing.csv"
    data = (recordings / "rec002.csv").read_bytes()
    f.write_bytes(data[: len(data) // 2].rsplit(b"\n", 1)[0] + b"\n")
    real = repsense.io.read_recording

    def append_then_read(path, *a, **kw):  # type: ignore[no-untyped-def]
        with open(f, "ab") as fh:  # the copy goes on while we process
            fh.write(data[len(data) // 2:].split(b"\n", 1)[1])
        return real(path, *a, **kw)

    monkeypatch.setattr(repsense.io, "read_recording", append_then_read)
    res = run_batch(make_tasks([f]), BatchOptions(out_dir=str(tmp_path / "out")), workers=1)
    assert res[0].status == "failed" and "changed while" in res[0].error
    assert not list((tmp_path / "out").rglob("*.parquet"))
    monkeypatch.undo()
    assert run_batch(make_tasks([f]), BatchOptions(out_dir=str(tmp_path / "out")), workers=1)[0].status == "written"
