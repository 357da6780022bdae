"""Map a function over tasks, in worker processes when asked; results always in task order.

``fn`` must be a module-level function and the tasks picklable (they may go to another process).
Used by every job that fans work out: image conversion, garment processing, shard writing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import TypeVar

__all__ = ["parallel_map"]

T = TypeVar("T")
R = TypeVar("R")


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
    with ProcessPoolExecutor(min(workers, len(tasks))) as pool:
        yield from _ticking(pool.map(fn, tasks, chunksize=chunksize), progress)


def _ticking(results: Iterator[R], progress: Callable[[int], None] | None) -> Iterator[R]:
    for result in results:
        if progress is not None:
            progress(1)
        yield result
