"""Where per-patient and per-block work runs: in this process (default) or on a Dask cluster.

One small interface for every many-patient job (``analyze --all``, reports for many patients):
the caller hands :meth:`Executor.map` a function and a list of keyed tasks and gets the
outcomes back *as they complete*, each either a value or the task's error. The caller (the
coordinator) alone writes results to the registry, in batches, so a worker never touches the
database and can die at any moment without leaving a half-written result.

- :class:`Executor` runs the tasks one after another in the calling process: embedded,
  single-process, no cluster (the default; small registries and the test suite).
- :class:`DaskExecutor` submits them to a Dask ``distributed`` scheduler: a ``LocalCluster``
  of worker processes started here (``--workers N``) or an existing cluster (``--scheduler
  tcp://host:8786``).

Failure semantics (Dask distributed documentation, "Resilience",
https://distributed.dask.org/en/stable/resilience.html):

- A task that *raises* is caught inside the task wrapper (:func:`_call`) and comes back as an
  :class:`Outcome` with ``error`` set: bad input of one patient fails that task only, and is
  not retried (it would fail again).
- A worker that *dies* (killed, out of memory, machine lost) loses the tasks it was running
  and the results it held that the coordinator had not fetched yet. The scheduler notices the
  lost worker and re-runs those tasks on the remaining workers (a LocalCluster's nanny also
  restarts the dead worker). A task that was running on ``distributed.scheduler.allowed-failures``
  (default 3) dying workers is declared poisonous and comes back as a ``KilledWorker`` error.
  Tasks are pure functions of the store and their arguments, so re-running one gives the same
  result; nothing is written until the coordinator holds the whole result.

At most ``in_flight`` tasks are submitted at once (default four per worker), so results a slow
coordinator has not fetched yet do not pile up in the workers' memory.
"""

from __future__ import annotations

import contextlib
import logging
import traceback
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from tumorboard.errors import InputError, WorkspaceError

__all__ = ["DaskExecutor", "Executor", "Outcome", "open_executor"]


@dataclass(frozen=True)
class Outcome:
    """The result of one task: ``value``, or ``error`` (exception type and message)."""

    key: str
    value: Any = None
    error: str | None = None
    detail: str | None = None  # the traceback, for logs

    @property
    def ok(self) -> bool:
        return self.error is None


def _call(fn: Callable[..., Any], key: str, args: tuple[Any, ...]) -> Outcome:
    """Run one task, turning an exception into an error outcome (runs on the worker)."""
    try:
        return Outcome(key, fn(*args))
    except Exception as exc:  # the task's error is the outcome
        return Outcome(key, error=f"{type(exc).__name__}: {exc}",
                       detail=traceback.format_exc())


class Executor:
    """Runs tasks in the calling process, one after another (the embedded default)."""

    name = "in-process"

    @property
    def workers(self) -> int:
        return 1

    @property
    def client(self) -> Any:
        """The ``distributed.Client`` (None in process)."""
        return None

    @property
    def dask_scheduler(self) -> str | None:
        """What dask collections computed for this executor should run on."""
        return "synchronous"

    def share(self, value: Any) -> Any:
        """A handle for a large argument every task needs (sent to each worker once)."""
        return value

    def memory_budget(self) -> int:
        """Bytes one task may hold for a cohort matrix: a quarter of this machine's memory
        (the layers hold a few working copies besides; ``outofcore.plan_blocks``)."""
        import psutil

        return int(psutil.virtual_memory().total // 4)

    def map(self, fn: Callable[..., Any], tasks: Sequence[tuple[str, tuple[Any, ...]]], *,
            label: str = "task") -> Iterator[Outcome]:
        """Run ``fn(*args)`` for every ``(key, args)``; yield outcomes as tasks complete."""
        for key, args in tasks:
            yield _call(fn, key, args)

    def describe(self) -> dict[str, Any]:
        return {"executor": self.name, "workers": self.workers}


class DaskExecutor(Executor):
    """Runs tasks on a Dask cluster through a ``distributed.Client``."""

    name = "dask"

    def __init__(self, client: Any, *, in_flight: int | None = None) -> None:
        self._client = client
        self._in_flight = in_flight

    @property
    def client(self) -> Any:
        return self._client

    @property
    def workers(self) -> int:
        return max(1, len(self._client.scheduler_info(n_workers=-1).get("workers", {})))

    @property
    def dask_scheduler(self) -> str | None:
        return None  # the client is the default scheduler while it is open

    def memory_budget(self) -> int:
        """Half the smallest worker's memory limit (Dask spills at 60 %, pauses at 80 %)."""
        import psutil

        limits = [w.get("memory_limit") or 0 for w in
                  self._client.scheduler_info(n_workers=-1).get("workers", {}).values()]
        limits = [m for m in limits if m] or [psutil.virtual_memory().total]
        return int(min(limits) // 2)

    def share(self, value: Any) -> Any:
        # broadcast: every worker gets a copy now, instead of fetching it from one worker
        return self._client.scatter(value, broadcast=True, hash=False)

    def map(self, fn: Callable[..., Any], tasks: Sequence[tuple[str, tuple[Any, ...]]], *,
            label: str = "task") -> Iterator[Outcome]:
        from distributed import as_completed

        limit = self._in_flight or 4 * self.workers
        run = uuid.uuid4().hex[:8]
        pending = list(reversed(tasks))
        keys: dict[Any, str] = {}

        def submit() -> Any:
            key, args = pending.pop()
            future = self._client.submit(_call, fn, key, args, pure=False,
                                         key=f"{label}-{key}-{run}")
            keys[future] = key
            return future

        done = as_completed([submit() for _ in range(min(limit, len(pending)))])
        for future in done:
            key = keys.pop(future)
            try:
                outcome = future.result()
            except Exception as exc:  # e.g. KilledWorker: the task's outcome
                outcome = Outcome(key, error=f"{type(exc).__name__}: {exc}")
            future.release()
            if pending:
                done.add(submit())
            yield outcome

    def describe(self) -> dict[str, Any]:
        return {"executor": self.name, "workers": self.workers,
                "scheduler": self._client.scheduler.address}


def _memory_limit(workers: int) -> str:
    """Each worker's share of this machine's memory, leaving a quarter for the coordinator."""
    import psutil

    return str(int(psutil.virtual_memory().total * 0.75 / workers))


@contextlib.contextmanager
def open_executor(*, workers: int | None = None, scheduler: str | None = None,
                  memory_limit: str | None = None) -> Iterator[Executor]:
    """The executor for a run: in process, a new ``LocalCluster``, or an existing cluster.

    Parameters
    ----------
    workers
        Start a ``distributed.LocalCluster`` of this many worker processes (one thread each:
        the layer analyses use a few threads of their own for numpy).
    scheduler
        Join an existing cluster at this address (``tcp://host:8786``) instead.
    memory_limit
        Per LocalCluster worker (Dask syntax, e.g. ``"4GiB"``); default: three quarters of the
        machine's memory shared by the workers. Dask pauses a worker at 80 % and restarts it
        at 95 % of its limit (distributed's ``worker.memory`` settings).

    Raises
    ------
    InputError
        Both ``workers`` and ``scheduler`` given, or ``workers < 1``.
    """
    if workers is not None and scheduler is not None:
        raise InputError("give --workers (start a local cluster) or --scheduler (join one), "
                         "not both")
    if workers is None and scheduler is None:
        yield Executor()
        return
    from distributed import Client, LocalCluster

    if scheduler is not None:
        try:
            client = Client(scheduler, set_as_default=True, timeout="30s")
        except OSError as exc:
            raise WorkspaceError(
                f"cannot reach the Dask scheduler at {scheduler}: {exc}; start one with "
                "`dask scheduler` and workers with `dask worker ADDRESS` (docs/scale-out.md)"
            ) from exc
        with client:
            yield DaskExecutor(client)
        return
    if workers < 1:
        raise InputError(f"--workers must be at least 1 (got {workers})")
    # Workers inherit the environment: keep each worker's numpy to the thread it runs on.
    # Dashboard on a free port (":0"): several clusters on one machine do not collide.
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                      dashboard_address=":0", silence_logs=logging.WARNING,
                      memory_limit=memory_limit or _memory_limit(workers),
                      env={"OMP_NUM_THREADS": "1", "TUMORBOARD_THREADS": "1"}) as cluster, \
            Client(cluster, set_as_default=True) as client:
        yield DaskExecutor(client)
