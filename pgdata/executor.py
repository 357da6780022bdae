"""Where a job's tasks run: this process, a local process pool, or a Dask cluster.

Every fan-out of a build (one task per output shard, one per chunk of try-on stage work) goes
through one :class:`Executor`, so a local build and a distributed one share a single code path::

    with open_executor(dask=None, workers=4) as ex:          # or dask="local:2", "tcp://host:8786"
        for index, result in ex.map_unordered(write_shard, tasks):
            ...                                               # results as they complete

- :class:`LocalExecutor`: ``workers = 1`` runs the tasks here, one after the other; more starts a
  process pool whose workers die with this process (:func:`pgdata.parallel.die_with_parent`).
- :class:`DaskExecutor`: a ``distributed.Client`` on a scheduler address (``tcp://host:8786``),
  a scheduler file written by ``dask scheduler --scheduler-file`` (a path ending in ``.json``), or
  ``local:N``, a ``LocalCluster`` of N worker processes with one thread each started here (its
  workers end with this process). Failed tasks are resubmitted up to ``retries`` times (Dask's
  ``retries=``); a task whose worker died is rescheduled by the scheduler (``local:N`` allows
  ``retries + 1`` such deaths). ``dask`` and ``distributed`` are imported only here and only
  when asked for: without them :class:`~pgdata.errors.MissingDependencyError` says how to
  install the extra.

A task is ``fn(task)`` with a module-level ``fn`` and a picklable task (it may run in another
process, on another machine); paths in tasks must be absolute and on a filesystem every worker
sees. The executor only runs tasks: what a task writes, and how a half-written file of a killed
task is cleaned up, is the caller's business (:mod:`pgdata.shards.resume`).
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
import uuid
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

from pgdata.errors import ConfigError, MissingDependencyError, PgdataError
from pgdata.parallel import one_thread, process_pool

__all__ = [
    "DASK_HINT",
    "DEFAULT_RETRIES",
    "DaskExecutor",
    "DaskTarget",
    "Executor",
    "LocalExecutor",
    "Timings",
    "check_dask",
    "local_cluster",
    "open_executor",
    "parse_dask",
    "portable_paths",
    "timing_note",
]

T = TypeVar("T")
R = TypeVar("R")

DASK_HINT = "install the dask extra: pip install 'pgdata[dask]' (dask and distributed)"
DEFAULT_RETRIES = 2  # resubmissions of a failed task before the build stops with its error
LOCAL_PREFIX = "local:"
CONNECT_TIMEOUT_S = 30  # how long to wait for a remote scheduler
MAX_LOCAL_WORKERS = 1024  # local:N beyond this is a typo
_ADDRESS = re.compile(r"^([a-z][a-z0-9+]*://)?[^\s/:]+(:\d{1,5})?$")


class Executor(Protocol):
    """Runs ``fn(task)`` for every task; yields ``(index, result)`` as tasks complete."""

    @property
    def description(self) -> str:
        """Where the tasks run, for a summary line (``dask local:2 (2 workers)``)."""
        ...

    @property
    def inline(self) -> bool:
        """True when tasks run in this process, one after the other."""
        ...

    def map_unordered(self, fn: Callable[[T], R], tasks: Sequence[T]) -> Iterator[tuple[int, R]]:
        """Yield ``(i, fn(tasks[i]))`` in completion order; the first task error is raised (the
        tasks not started yet are cancelled)."""
        ...


@dataclass(frozen=True)
class DaskTarget:
    """A parsed ``--dask`` value: ``kind`` is ``local`` (``workers`` processes), ``address`` or
    ``file`` (a scheduler file)."""

    kind: str
    value: str
    workers: int = 0


def parse_dask(spec: str) -> DaskTarget:
    """Parse a ``--dask`` value: ``local:N``, ``tcp://host:port`` (or ``host:port``, any
    ``proto://``), or a scheduler file path ending in ``.json``.

    Raises:
        ConfigError: anything else, naming the accepted forms.
    """
    spec = spec.strip()
    if spec.startswith(LOCAL_PREFIX):
        n = spec[len(LOCAL_PREFIX) :]
        if not n.isdigit() or not 1 <= int(n) <= MAX_LOCAL_WORKERS:
            raise ConfigError(
                f"dask: {spec!r}: local:N needs a number of worker processes N in "
                f"1..{MAX_LOCAL_WORKERS}, e.g. local:2"
            )
        return DaskTarget("local", spec, int(n))
    if spec.endswith(".json"):
        return DaskTarget("file", spec)
    if _ADDRESS.match(spec):
        return DaskTarget("address", spec)
    raise ConfigError(
        f"dask: {spec!r} is not local:N, a scheduler address (tcp://host:8786) or a scheduler "
        "file (scheduler.json)"
    )


def check_dask(spec: str | None) -> None:
    """Raise ConfigError unless ``spec`` is None or a valid ``--dask`` value, and
    MissingDependencyError when it is one but the dask extra is not installed (configs call it,
    so a build fails before it plans anything)."""
    if spec is not None:
        parse_dask(spec)
        _import_distributed()


class LocalExecutor:
    """Tasks in this process (``workers = 1``) or in a pool of ``workers`` processes."""

    def __init__(self, workers: int = 1) -> None:
        self.workers = max(1, workers)

    @property
    def description(self) -> str:
        return "this process" if self.workers == 1 else f"{self.workers} local processes"

    @property
    def inline(self) -> bool:
        return self.workers == 1

    def map_unordered(self, fn: Callable[[T], R], tasks: Sequence[T]) -> Iterator[tuple[int, R]]:
        if self.workers == 1 or len(tasks) <= 1:
            for i, task in enumerate(tasks):
                yield i, fn(task)
            return
        with process_pool(min(self.workers, len(tasks))) as pool:
            index: dict[Future[R], int] = {pool.submit(fn, t): i for i, t in enumerate(tasks)}
            pending = set(index)
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in sorted(finished, key=index.__getitem__):
                    yield index[fut], fut.result()


def _on_worker(fn: Callable[[T], R], task: T) -> R:
    """``fn(task)`` on a Dask worker, its native thread pools on one thread (one thread per
    worker process is the model: :func:`pgdata.parallel.one_thread`)."""
    one_thread()
    return fn(task)


def _import_distributed() -> Any:
    try:
        import distributed
    except ImportError as e:
        raise MissingDependencyError(
            f"--dask needs {e.name or 'distributed'}: {DASK_HINT}"
        ) from None
    return distributed


class DaskExecutor:
    """Tasks on a Dask cluster through a ``distributed.Client`` (see the module doc)."""

    def __init__(self, client: Any, target: DaskTarget, retries: int) -> None:
        self.client = client
        self.target = target
        self.retries = retries

    @property
    def workers(self) -> int:
        """Workers connected to the scheduler now."""
        return len(self.client.scheduler_info().get("workers", {}))

    @property
    def description(self) -> str:
        return f"dask {self.target.value} ({self.workers} workers)"

    @property
    def inline(self) -> bool:
        return False

    def map_unordered(self, fn: Callable[[T], R], tasks: Sequence[T]) -> Iterator[tuple[int, R]]:
        distributed = _import_distributed()
        if not tasks:
            return
        name = getattr(fn, "__name__", None) or getattr(
            getattr(fn, "func", None), "__name__", "task"
        )
        run = uuid.uuid4().hex[:8]
        with warnings.catch_warnings():  # a large task (a shard's records) is expected here
            warnings.filterwarnings("ignore", message="Large object of size")
            futures = [
                self.client.submit(
                    _on_worker,
                    fn,
                    task,
                    key=f"pgdata-{name}-{run}-{i}",
                    retries=self.retries,
                    pure=False,
                )
                for i, task in enumerate(tasks)
            ]
        index = {f.key: i for i, f in enumerate(futures)}
        try:
            for fut in distributed.as_completed(futures):
                i = index[fut.key]
                try:
                    result = fut.result()
                except distributed.KilledWorker:
                    raise PgdataError(
                        f"dask: task {i + 1} of {len(tasks)} ({fut.key}) ran on workers that died "
                        f"each time (out of memory, or killed); see the workers' logs"
                    ) from None
                yield i, result
        finally:
            self.client.cancel([f for f in futures if not f.done()])

    def close(self) -> None:
        """Close the client (and the local cluster it started)."""
        cluster = getattr(self.client, "cluster", None) if self.target.kind == "local" else None
        with contextlib.suppress(Exception):  # closing must never mask the build's own error
            self.client.close()
        if cluster is not None:
            with contextlib.suppress(Exception):
                cluster.close()


def local_cluster(workers: int, retries: int = DEFAULT_RETRIES) -> Any:
    """The ``LocalCluster`` of ``local:N``: ``workers`` processes of one thread each; a worker
    that dies (killed, out of memory) costs its task one attempt of ``retries + 1``; no
    sampling profiler in the workers (it costs a worker's event loop about 5 % of a core, and
    the dashboard that shows it is not used here)."""
    distributed = _import_distributed()
    import dask

    config = {
        "distributed.scheduler.allowed-failures": retries + 1,
        "distributed.worker.profile.enabled": False,
    }
    with dask.config.set(config):
        return distributed.LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address="127.0.0.1:0",  # a free port: 8787 may be taken
            silence_logs=logging.ERROR,
        )


def _connect(target: DaskTarget, retries: int) -> Any:
    distributed = _import_distributed()

    if target.kind == "local":
        cluster = local_cluster(target.workers, retries)
        return distributed.Client(cluster)
    try:
        if target.kind == "file":
            path = Path(target.value).expanduser()
            if not path.is_file():
                raise PgdataError(
                    f"dask: {path}: no scheduler file there (start one with `dask scheduler "
                    "--scheduler-file PATH`)"
                )
            return distributed.Client(scheduler_file=str(path), timeout=CONNECT_TIMEOUT_S)
        return distributed.Client(target.value, timeout=CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError) as e:
        raise PgdataError(
            f"dask: cannot reach the scheduler at {target.value} ({e}); start it with `dask "
            "scheduler` and its workers with `dask worker ADDRESS`, or use --dask local:N"
        ) from None


@contextlib.contextmanager
def open_executor(
    dask: str | None = None, *, workers: int = 1, retries: int = DEFAULT_RETRIES
) -> Iterator[Executor]:
    """The executor for a job: Dask when ``dask`` is given (its ``workers`` are the cluster's),
    else :class:`LocalExecutor` with ``workers`` processes. Closed when the block ends.

    Raises:
        ConfigError: a malformed ``dask`` value.
        MissingDependencyError: ``dask`` given without the dask extra installed.
        PgdataError: the scheduler cannot be reached.
    """
    if dask is None:
        yield LocalExecutor(workers)
        return
    target = parse_dask(dask)
    executor = DaskExecutor(_connect(target, retries), target, retries)
    try:
        yield executor
    finally:
        executor.close()


class Timings:
    """Wall seconds per named step of a job, in the order first timed."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._last = time.perf_counter()

    def mark(self, name: str) -> None:
        """Add the time since the last mark or step (or since this object was made) to ``name``."""
        now = time.perf_counter()
        self.seconds[name] = self.seconds.get(name, 0.0) + now - self._last
        self._last = now

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        """Add the time the block takes to ``name``."""
        self._last = time.perf_counter()
        try:
            yield
        finally:
            self.mark(name)


def portable_paths(cfg: object, names: Sequence[str] = ("source", "out")) -> dict[str, Any]:
    """``{name: absolute path}`` of a job config's path fields when it runs on Dask (its
    ``dask`` is set), else ``{}``: a Dask worker on another machine has another working folder,
    so the tasks must carry absolute paths (on a filesystem every worker sees). For
    ``dataclasses.replace(cfg, **portable_paths(cfg))``."""
    if getattr(cfg, "dask", None) is None:
        return {}
    found = {name: getattr(cfg, name) for name in names}
    return {name: Path(p).absolute() for name, p in found.items() if p is not None}


def timing_note(what: str, ran_on: str, seconds: Mapping[str, float]) -> str:
    """``build times on dask local:2 (2 workers): plan 0.12 s, shards 3.40 s``: a note line
    of a job's steps ("" when nothing was timed)."""
    if not seconds:
        return ""
    steps = ", ".join(f"{k} {v:.2f} s" for k, v in seconds.items())
    return f"{what} times" + (f" on {ran_on}" if ran_on else "") + f": {steps}"
