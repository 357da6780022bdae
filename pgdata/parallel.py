"""Map a function over tasks, in worker processes when asked; results always in task order.

``fn`` must be a module-level function and the tasks picklable (they may go to another process).
Used by every job that fans work out: image conversion, garment processing, shard writing.

Workers die with the process that started them: on Linux the kernel sends them ``SIGKILL`` when
it ends (``PR_SET_PDEATHSIG``), elsewhere a watcher thread in each worker ends it within
:data:`WATCH_S` seconds. A ``kill -9`` of a build therefore leaves no orphan writing into its
output folder.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from typing import TypeVar

__all__ = ["die_with_parent", "one_thread", "parallel_map", "process_pool", "worker_init"]

T = TypeVar("T")
R = TypeVar("R")

PR_SET_PDEATHSIG = 1  # prctl option (linux/prctl.h)
WATCH_S = 0.5  # how often a worker without PR_SET_PDEATHSIG checks its parent


def _parent_alive(parent: int) -> bool:
    try:
        os.kill(parent, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _watch(parent: int) -> None:
    while _parent_alive(parent):
        time.sleep(WATCH_S)
    os._exit(1)


def die_with_parent(parent: int) -> None:
    """End this process when ``parent`` ends (a pool initializer; ``parent`` is the pid of the
    process that created the pool)."""
    if sys.platform.startswith("linux") and os.getppid() == parent:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0:
            if os.getppid() != parent:  # the parent ended before the prctl call
                os._exit(1)
            return
    threading.Thread(target=_watch, args=(parent,), daemon=True, name="pgdata-parent").start()


def one_thread() -> None:
    """Run this process's native thread pools on one thread: OpenCV's now, PyTorch's if it is
    loaded, and OpenMP/BLAS pools of libraries loaded later (``OMP_NUM_THREADS`` and kin).
    For worker processes of a pool or a Dask cluster, never for the main process."""
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = "1"
    import cv2

    if cv2.getNumThreads() != 1:
        cv2.setNumThreads(1)
    torch = sys.modules.get("torch")
    if torch is not None and torch.get_num_threads() != 1:
        torch.set_num_threads(1)


def worker_init(parent: int) -> None:
    """Initializer of pgdata's process pools: :func:`die_with_parent` and :func:`one_thread`."""
    die_with_parent(parent)
    one_thread()


@contextmanager
def _one_thread_while_forking() -> Iterator[None]:
    """This process's OpenCV and PyTorch pools on one thread while pool workers are forked.

    A forked child inherits a thread pool's state but not its threads; reconfiguring it there
    (``cv2.setNumThreads``) waits forever for threads that do not exist. Forked with one-thread
    pools, the children have nothing to change; this process gets its threads back after."""
    import cv2

    torch = sys.modules.get("torch")
    before = cv2.getNumThreads(), torch.get_num_threads() if torch is not None else 0
    cv2.setNumThreads(1)
    if torch is not None:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        cv2.setNumThreads(before[0])
        if torch is not None:
            torch.set_num_threads(before[1])


def _noop() -> None:
    return None


@contextmanager
def process_pool(workers: int) -> Iterator[ProcessPoolExecutor]:
    """A started pool of ``workers`` processes (:func:`worker_init`), shut down on exit."""
    with _one_thread_while_forking():
        pool = ProcessPoolExecutor(workers, initializer=worker_init, initargs=(os.getpid(),))
        try:
            pool.submit(_noop).result()  # with fork, every worker is started by the first submit
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    try:
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def parallel_map(
    fn: Callable[[T], R],
    tasks: Sequence[T],
    *,
    workers: int = 1,
    chunksize: int = 1,
    progress: Callable[[int], None] | None = None,
) -> Iterator[R]:
    """Yield ``fn(task)`` for every task in order; ``progress(1)`` after each one.

    With ``workers > 1`` and more than one task, up to ``workers`` processes run ``fn`` (tasks
    handed out ``chunksize`` at a time); otherwise it runs here, one task after the other.
    """
    if workers <= 1 or len(tasks) <= 1:
        results: Iterator[R] = map(fn, tasks)
        yield from _ticking(results, progress)
        return
    with process_pool(min(workers, len(tasks))) as pool:
        yield from _ticking(pool.map(fn, tasks, chunksize=chunksize), progress)


def _ticking(results: Iterator[R], progress: Callable[[int], None] | None) -> Iterator[R]:
    for result in results:
        if progress is not None:
            progress(1)
        yield result
