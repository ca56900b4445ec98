"""Send batch work to a Dask distributed cluster (optional extra ``repsense[dask]``).

Dask is imported here only, lazily. Each input is one Dask task calling the same
:func:`~repsense.batch.work.process_input` as the local pool, so workers need repsense
installed and the input and output folders at the same paths (a shared file system).

Before the tasks go out, a worker plugin warms every worker up (imports and numba kernels,
:func:`~repsense.batch.work.warm_up`; ~2.5 s of CPU once per worker process, then never again
on a long-lived cluster). ``local:N`` clusters run with Dask's statistical profiler off and
without Dask's ``MALLOC_TRIM_THRESHOLD_`` (:func:`local_cluster_config`; ``docs/BATCH.md``, scaling).
"""

from __future__ import annotations

import contextlib
import copy
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .runner import SchedulerError
from .work import BatchOptions, FileResult, Task, process_input

__all__ = ["check_scheduler", "connect", "local_cluster_config", "run_on_dask", "warm_up_workers"]


def local_cluster_config() -> dict[str, Any]:
    """Dask settings for the ``local:N`` cluster (call after importing ``distributed``).

    - ``distributed.worker.profile.enabled: False``: no stack sampling of the task thread every 10 ms.
    - ``distributed.nanny.pre-spawn-environ`` without ``MALLOC_TRIM_THRESHOLD_``: Dask sets it to
      64 KiB in each worker, and setting it turns off glibc's dynamic mmap threshold, so every
      large numpy temporary (> 128 KiB: each 20-minute input makes hundreds) becomes a fresh
      ``mmap`` whose pages fault in zeroed and are unmapped again. Measured: 7x the page faults and
      ~13 ms more system CPU per 20-minute input (60,000 samples). The thread limits stay.
    """
    import dask

    environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ", default={}) or {})
    environ.pop("MALLOC_TRIM_THRESHOLD_", None)
    return {"distributed.worker.profile.enabled": False, "distributed.nanny.pre-spawn-environ": environ}


def _import_distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise SchedulerError(
            "--scheduler needs Dask distributed, which is not installed: pip install 'repsense[dask]'"
        ) from None
    return distributed


def check_scheduler(scheduler: str) -> None:
    """Validate a scheduler spec and that Dask is installed, without connecting.

    Raises
    ------
    SchedulerError : with what is wrong and what is expected.
    """
    _import_distributed()
    if scheduler.startswith("local:"):
        n = scheduler.removeprefix("local:")
        if not n.isdigit() or int(n) < 1:
            raise SchedulerError(f"--scheduler {scheduler!r}: want local:N with N >= 1")
    elif "://" not in scheduler and not Path(scheduler).is_file():
        raise SchedulerError(
            f"--scheduler {scheduler!r} is neither tcp://HOST:PORT, local:N nor an existing scheduler file"
        )


def connect(scheduler: str, timeout_s: float = 20.0) -> tuple[Any, Any]:
    """Return ``(client, cluster_or_None)`` for a scheduler spec.

    ``local:N`` starts a LocalCluster of N single-threaded worker processes; every socket it
    opens (scheduler, workers, status page) listens on 127.0.0.1 only, on free ports, and its
    workers run with :func:`local_cluster_config` (also after a restart);
    ``tcp://HOST:PORT`` / ``tls://...`` connects to a running scheduler; any other value is read
    as a scheduler file (``dask scheduler --scheduler-file F``).
    """
    distributed = _import_distributed()
    if scheduler.startswith("local:"):
        try:
            n = int(scheduler.removeprefix("local:"))
        except ValueError:
            n = 0
        if n < 1:
            raise SchedulerError(f"--scheduler {scheduler!r}: want local:N with N >= 1")
        import dask

        # Read by the scheduler made here and by each nanny, which hands it to its worker. A nanny
        # keeps only a shallow copy of the global config, whose nested dicts this `with` restores on
        # exit: a worker it restarts later would miss the settings, so it gets a deep copy.
        with dask.config.set(local_cluster_config()):
            worker_config = copy.deepcopy(dict(dask.config.config))
            cluster = distributed.LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                               host="127.0.0.1", dashboard_address="127.0.0.1:0",
                                               config=worker_config)
        return distributed.Client(cluster), cluster
    if "://" in scheduler:
        try:
            return distributed.Client(scheduler, timeout=f"{timeout_s}s"), None
        except OSError as exc:
            raise SchedulerError(f"cannot reach Dask scheduler {scheduler}: {exc}") from None
    path = Path(scheduler)
    if not path.is_file():
        raise SchedulerError(
            f"--scheduler {scheduler!r} is neither tcp://HOST:PORT, local:N nor an existing scheduler file"
        )
    try:
        return distributed.Client(scheduler_file=os.fspath(path), timeout=f"{timeout_s}s"), None
    except (OSError, ValueError) as exc:
        raise SchedulerError(f"cannot use scheduler file {scheduler}: {exc}") from None


def warm_up_workers(client: Any) -> None:
    """Register the warm-up plugin: returns once every current worker is warm; later workers
    warm up as they join. Cheap when they already are (registering again replaces the plugin).

    Only a speed-up: when it fails (a worker that just died and is still listed, a worker
    without a writable temporary folder) the batch goes on, and a cold worker pays the
    warm-up in its first task as it would without the plugin.
    """
    from ._dask_plugin import WARM_UP_PLUGIN, WarmUp

    with contextlib.suppress(Exception):
        client.register_plugin(WarmUp(), name=WARM_UP_PLUGIN)


def run_on_dask(scheduler: str, tasks: Sequence[Task], opts: BatchOptions,
                done: Callable[[int, FileResult], None], *, client: Any = None) -> None:
    """Run every task on the cluster; call ``done(k, result)`` as task ``k`` completes.

    A task whose worker dies is retried by the scheduler on another worker (Dask's
    ``allowed-failures``); when it keeps killing workers it is reported failed, the others go on.
    """
    distributed = _import_distributed()
    own = client is None
    cluster = None
    if own:
        client, cluster = connect(scheduler)
    try:
        warm_up_workers(client)
        futures = client.map(process_input, list(tasks), opts=opts, pure=False)
        index = {f.key: k for k, f in enumerate(futures)}
        for fut in distributed.as_completed(futures):
            k = index[fut.key]
            try:
                result = fut.result()
            except Exception as exc:  # KilledWorker, lost connection: isolate to this input
                result = FileResult(tasks[k].path, "failed",
                                    error=f"Dask task failed ({type(exc).__name__}: {exc}); run again to resume")
            done(k, result)
            fut.release()
    finally:
        if own:
            client.close()
            if cluster is not None:
                cluster.close()
