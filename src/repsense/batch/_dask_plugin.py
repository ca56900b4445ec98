"""The Dask worker plugin that warms a worker up (imported only by :mod:`repsense.batch.dask`).

Kept apart because it subclasses ``distributed.WorkerPlugin`` at import time: a worker unpickles
it by reference to this module, and nothing else in repsense imports Dask.
"""

from __future__ import annotations

import asyncio
from typing import Any

from distributed import WorkerPlugin

from .work import warm_up

__all__ = ["WARM_UP_PLUGIN", "WarmUp"]

#: Name the plugin is registered under: registering again replaces it (no duplicates).
WARM_UP_PLUGIN = "repsense-warm-up"


class WarmUp(WorkerPlugin):
    """Run :func:`~repsense.batch.work.warm_up` on every worker, now and on each worker that joins
    later (a restarted one too), so no task pays the worker's imports and numba cache loading.

    ``setup`` runs it in a thread, so the worker keeps answering heartbeats meanwhile; the
    scheduler answers ``register_plugin`` once every current worker has finished.
    """

    async def setup(self, worker: Any) -> None:
        await asyncio.get_running_loop().run_in_executor(None, warm_up)
