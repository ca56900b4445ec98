"""Dask distributed: a real LocalCluster of worker processes on loopback."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import pytest

from repsense.batch import BatchOptions, FileResult, SchedulerError, make_tasks, run_batch
from repsense.batch.dask import check_scheduler

from .conftest import tree

distributed = pytest.importorskip("distributed", reason="repsense[dask] not installed")


@pytest.fixture(scope="module")
def client():  # type: ignore[no-untyped-def]
    from repsense.batch.dask import connect

    c, cluster = connect("local:2")  # the cluster of --scheduler local:2
    yield c
    c.close()
    cluster.close()


def test_cluster_output_equals_sequential_and_resume_skips(
        client, recordings: Path, reference: dict[str, bytes], tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    tasks = make_tasks([recordings])
    first = run_batch(tasks, BatchOptions(out_dir=str(tmp_path)), client=client)
    assert sorted(r.status for r in first) == ["failed", "ignored", "ignored", *["written"] * 6]
    assert tree(tmp_path) == reference
    again = run_batch(tasks, BatchOptions(out_dir=str(tmp_path)), client=client)
    assert sorted(r.status for r in again) == ["failed", "ignored", "ignored", *["unchanged"] * 6]
    assert tree(tmp_path) == reference


def test_killed_worker_then_resume_gives_complete_output(
        client, recordings: Path, reference: dict[str, bytes], tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pids = client.run(os.getpid)  # worker address -> pid of its process
    killed = threading.Event()

    def kill_one(_: FileResult) -> None:
        if not killed.is_set():
            killed.set()
            os.kill(next(iter(pids.values())), signal.SIGKILL)

    tasks = make_tasks([recordings])
    run_batch(tasks, BatchOptions(out_dir=str(tmp_path)), client=client, on_result=kill_one)
    assert killed.is_set()
    client.wait_for_workers(2, timeout=60)  # the nanny restarts the killed worker
    resumed = run_batch(tasks, BatchOptions(out_dir=str(tmp_path)), client=client)
    assert sorted(r.status for r in resumed if r.status not in ("written", "unchanged")) == [
        "failed", "ignored", "ignored"]
    assert tree(tmp_path) == reference


def test_scheduler_address_and_scheduler_file(
        client, recordings: Path, reference: dict[str, bytes], tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """--scheduler tcp://HOST:PORT and a scheduler file reach the running cluster."""
    import json

    address = client.scheduler.address
    assert address.startswith("tcp://127.0.0.1:")
    tasks = make_tasks([recordings])
    run_batch(tasks, BatchOptions(out_dir=str(tmp_path / "by_address")), scheduler=address)
    assert tree(tmp_path / "by_address") == reference
    sched_file = tmp_path / "scheduler.json"
    sched_file.write_text(json.dumps({"type": "Scheduler", "address": address}))
    run_batch(tasks, BatchOptions(out_dir=str(tmp_path / "by_file")), scheduler=str(sched_file))
    assert tree(tmp_path / "by_file") == reference


def test_unreachable_scheduler_is_a_clear_error(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    from repsense.batch.dask import connect

    with pytest.raises(SchedulerError, match="cannot reach"):
        connect(f"tcp://127.0.0.1:{port}", timeout_s=1.0)


def test_scheduler_spec_errors(tmp_path: Path) -> None:
    for bad in ("local:0", "local:x", "no-such-file.json", str(tmp_path)):
        with pytest.raises(SchedulerError):
            check_scheduler(bad)
    check_scheduler("local:2")
    check_scheduler("tcp://127.0.0.1:8786")  # form only; nothing is contacted


def test_local_cluster_settings_and_workers_warm_after_a_batch(
        client, recordings: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """local:N workers: no malloc trim threshold, no profiler; warmed up by run_batch (and again
    when a worker restarts: the plugin stays registered)."""

    def _worker_state() -> tuple[object, object, bool]:  # nested: pickled by value for the workers
        import dask

        from repsense.batch import work

        return (os.environ.get("MALLOC_TRIM_THRESHOLD_"), dask.config.get("distributed.worker.profile.enabled"),
                work._WARM)

    run_batch(make_tasks([recordings]), BatchOptions(out_dir=str(tmp_path)), client=client)
    states = client.run(_worker_state)
    assert len(states) == 2
    assert all(s == (None, False, True) for s in states.values()), states
    assert "repsense-warm-up" in client.run_on_scheduler(lambda dask_scheduler: list(dask_scheduler.worker_plugins))
