"""Shared plumbing of the try-on stage jobs: item loop, resume, quarantine, timing.

Every stage fills the output folder it owns in each split folder of a VITON-HD dataset root and
skips items whose outputs already exist (so a rerun only does what is missing; every file is
written atomically, so nothing written is lost on a crash). An item that cannot be processed is
*quarantined*: listed in the stage's own report ``ROOT/rejected-<stage>.csv`` (``item,reason``,
:mod:`pgdata.io.reports`) and skipped, unless the stage runs ``strict``, where the first bad item
raises its :class:`~pgdata.errors.PgdataError`.

A stage hands :func:`run_items` an *opener*: a picklable callable (a module-level function bound
to the stage's frozen config with :func:`functools.partial`) that loads what the stage needs once
(a model) and yields the function that processes one item. The items run here, one after the
other, or in chunks on an :class:`~pgdata.executor.Executor` (local processes, a Dask cluster),
each chunk opening its own processor; the outputs and the report are the same either way.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pgdata.errors import InputFormatError, PgdataError
from pgdata.executor import Executor
from pgdata.io.images import image_size
from pgdata.io.lock import folder_lock
from pgdata.io.reports import (
    count_reasons,
    nothing_kept,
    read_rejected_csv,
    stage_report,
    stage_reports,
    write_rejected_csv,
)
from pgdata.io.viton import output_path, split_dirs
from pgdata.stages.keypoints import misfit

__all__ = [
    "STAGE_FIXES",
    "Item",
    "Opener",
    "Processor",
    "Rejected",
    "StageResult",
    "check_fits",
    "photo_size",
    "read_rejected",
    "rejecting",
    "run_items",
    "run_stage",
    "write_rejected",
]


# the fix for the most common rejection kinds of the stages (what a stage that rejected every
# item says); kinds as pgdata.io.reports.reason_kind counts them
STAGE_FIXES = {
    "no parsing": "run `pgdata parsing ROOT --import DIR` (or `pgdata tryon ROOT --parsing-import "
    "DIR`) first",
    "no keypoints": "run `pgdata keypoints ROOT --import DIR` first (OpenPose JSON, BODY_25)",
    "no parsing result": "name the parser outputs <id>.png after the photos in ROOT/image/",
    "no DensePose result for": "name the DensePose outputs after the photos in ROOT/image/",
    "size mismatch": "import maps at the photos' size, or resize the photos to theirs",
    "no person detected": "the photos must show one person, full torso in view",
    "no garment found": "garments must be packshots on a plain light background (try "
    "--method grabcut, or RGBA PNGs)",
}


class Rejected(PgdataError):
    """One item cannot be processed; ``path`` is the file at fault, ``reason`` says why."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")


@contextmanager
def rejecting() -> Iterator[None]:
    """Turn an :class:`InputFormatError` of an item's file into :class:`Rejected` (same path and
    message: the quarantine row names the item, so the reason leaves the path out)."""
    try:
        yield
    except InputFormatError as e:
        raise Rejected(e.path, e.message) from None


def photo_size(path: Path) -> tuple[int, int]:
    """``(H, W)`` of an item's photo from its header; :class:`Rejected` when unreadable."""
    with rejecting():
        return image_size(path)


def check_fits(pose: np.ndarray, size_hw: tuple[int, int], source: Path) -> None:
    """:class:`Rejected` when no joint is present or joints lie outside the image."""
    problem = misfit(pose, size_hw)
    if problem is not None:
        raise Rejected(source, problem)


@dataclass(frozen=True)
class Item:
    """One person or garment of one split folder."""

    split_dir: Path
    key: str  # file stem: person id or garment id

    def name(self, root: Path) -> str:
        """``<split>/<id>`` relative to the dataset root (``<id>`` for a lone split folder)."""
        rel = self.split_dir.relative_to(root).as_posix()
        return self.key if rel == "." else f"{rel}/{self.key}"


@dataclass
class StageResult:
    """Counts and timing of one stage run."""

    stage: str
    done: int = 0  # items processed (outputs written)
    skipped: int = 0  # outputs already there
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (item, reason)
    seconds: float = 0.0  # time spent on processed and rejected items (summed over workers)
    notes: list[str] = field(default_factory=list)
    wall: float = 0.0  # wall time of the whole stage

    @property
    def seconds_per_image(self) -> float:
        """Average seconds per processed item (0 when none was)."""
        n = self.done + len(self.rejected)
        return self.seconds / n if n else 0.0

    @property
    def problem(self) -> str | None:
        """One line when the stage rejected every item it tried (the CLI exits 1), else None."""
        if not self.rejected or self.done or self.skipped:
            return None
        return nothing_kept(
            f"{self.stage} rejected all {len(self.rejected)} items", self.rejected, STAGE_FIXES
        )

    def summary(self) -> str:
        """One line of counts: ``agnostic: wrote 4, skipped 0 (done before), rejected 1 (...)``."""
        line = f"{self.stage}: wrote {self.done}, skipped {self.skipped} (done before), rejected {len(self.rejected)}"
        if self.rejected:
            kinds = count_reasons(self.rejected)
            line += " (" + ", ".join(f"{k}: {n}" for k, n in sorted(kinds.items())) + ")"
        return line


Processor = Callable[[Item], None]
"""Processes one item: writes its outputs, or raises :class:`Rejected` / a PgdataError."""
Opener = Callable[[], AbstractContextManager[Processor]]
"""Opens a stage's :data:`Processor` (loading its model once); picklable (see the module doc)."""

CHUNKS_PER_WORKER = 4  # chunks of stage work per executor worker: load balance vs task overhead
MAX_CHUNK = 64  # items per chunk at most (a model is loaded once per chunk)
_TMP_GLOB = ".*.tmp"  # temporary files of pgdata.io.atomic writes


@dataclass
class _ChunkResult:
    done: int
    rejected: list[tuple[str, str]]
    seconds: float


def _process_one(process: Processor, item: Item, root: Path, strict: bool) -> str | None:
    """Run ``process(item)``; the rejection reason, or None when it was processed."""
    try:
        process(item)
    except Rejected as e:
        if strict:
            raise InputFormatError(e.path, e.reason) from None
        return e.reason
    except PgdataError as e:
        if strict:
            raise
        return str(e)
    return None


def _process_items(
    process: Processor,
    items: Sequence[Item],
    root: Path,
    strict: bool,
    into: StageResult | _ChunkResult,
    tick: Callable[[int], None],
) -> None:
    """Process ``items`` in order, counting each into ``into`` (done, rejected, seconds) and
    calling ``tick(1)`` after it."""
    for item in items:
        t0 = time.perf_counter()
        reason = _process_one(process, item, root, strict)
        into.seconds += time.perf_counter() - t0
        if reason is None:
            into.done += 1
        else:
            into.rejected.append((item.name(root), reason))
        tick(1)


def _run_chunk(opener: Opener, root: Path, strict: bool, items: Sequence[Item]) -> _ChunkResult:
    """One task of stage work (module level: it runs on executor workers)."""
    chunk = _ChunkResult(0, [], 0.0)
    with opener() as process:
        _process_items(process, items, root, strict, chunk, lambda n: None)
    return chunk


def _chunks(items: list[Item], workers: int) -> list[list[Item]]:
    size = max(1, min(MAX_CHUNK, math.ceil(len(items) / (CHUNKS_PER_WORKER * max(1, workers)))))
    return [items[i : i + size] for i in range(0, len(items), size)]


def _remove_temporaries(items: Sequence[Item], outputs: Sequence[str]) -> None:
    """Remove temporary files a killed writer left in the stage's output folders."""
    folders = {
        output_path(d, kind, "x").parent for d in {i.split_dir for i in items} for kind in outputs
    }
    for folder in folders:
        for tmp in folder.glob(_TMP_GLOB):
            tmp.unlink(missing_ok=True)


def run_items(
    stage: str,
    root: Path,
    items: Iterable[Item],
    is_done: Callable[[Item], bool],
    opener: Opener,
    *,
    strict: bool,
    progress: Callable[[int], None] | None = None,
    executor: Executor | None = None,
    outputs: Sequence[str] = (),
) -> StageResult:
    """Process every item not ``is_done``; quarantine :class:`PgdataError` failures.

    ``opener`` (see the module doc) runs here, or once per chunk of items on ``executor`` when
    it runs tasks elsewhere (chunks of up to :data:`MAX_CHUNK` items, about
    :data:`CHUNKS_PER_WORKER` per worker). ``outputs``: the :mod:`pgdata.io.viton` kinds the
    stage writes; temporary files left there by a killed writer are removed first.
    ``ROOT/rejected-<stage>.csv`` is rewritten at the end with this run's rejections, in item
    order (the other stages' reports are not touched). ``ROOT`` is locked meanwhile
    (:mod:`pgdata.io.lock`): a second command writing the same dataset root is refused, naming
    this one.
    """
    result = StageResult(stage)
    tick = progress or (lambda n: None)
    t_stage = time.perf_counter()
    with folder_lock(root, f"pgdata {stage}"):
        items = list(items)
        _remove_temporaries(items, outputs)
        todo = []
        for item in items:
            if is_done(item):
                result.skipped += 1
                tick(1)
            else:
                todo.append(item)
        if executor is None or executor.inline or len(todo) <= 1:
            with opener() as process:  # a model that does not load fails before the report
                try:
                    _process_items(process, todo, root, strict, result, tick)
                finally:
                    write_rejected(root, stage, result.rejected)
        else:
            try:
                _run_chunks(result, executor, opener, root, strict, todo, tick)
            finally:
                write_rejected(root, stage, result.rejected)
    result.wall = time.perf_counter() - t_stage
    return result


def _run_chunks(
    result: StageResult,
    executor: Executor,
    opener: Opener,
    root: Path,
    strict: bool,
    todo: list[Item],
    tick: Callable[[int], None],
) -> None:
    """The items of :func:`run_items` in chunks on ``executor``; ``result`` gets them in item
    order (also when a chunk fails: the chunks that finished are counted)."""
    chunks = _chunks(todo, getattr(executor, "workers", 1))
    finished: dict[int, _ChunkResult] = {}
    task = functools.partial(_run_chunk, opener, root, strict)
    try:
        for i, chunk in executor.map_unordered(task, chunks):
            finished[i] = chunk
            tick(len(chunks[i]))
    finally:
        for i in sorted(finished):
            result.done += finished[i].done
            result.rejected.extend(finished[i].rejected)
            result.seconds += finished[i].seconds


def read_rejected(root: Path) -> list[tuple[str, str, str]]:
    """Rows ``(stage, item, reason)`` of every stage report in ``root`` (empty when none)."""
    return [
        (stage, item, reason)
        for stage, path in stage_reports(root).items()
        for item, reason in read_rejected_csv(path)
    ]


def write_rejected(root: Path, stage: str, rejected: list[tuple[str, str]]) -> None:
    """Replace ``ROOT/rejected-<stage>.csv`` with ``rejected`` (not created when there is none)."""
    path = stage_report(root, stage)
    if rejected or path.is_file():
        write_rejected_csv(path, rejected)


def run_stage(
    stage: str,
    root: Path,
    ids: Callable[[Path], Iterable[str]],
    outputs: Sequence[str],
    opener: Opener,
    *,
    force: bool,
    strict: bool,
    progress: Callable[[int], None] | None = None,
    executor: Executor | None = None,
) -> StageResult:
    """:func:`run_items` over every split folder of ``root``: one item per key that
    ``ids(split_dir)`` lists (persons or garments), done when every :mod:`pgdata.io.viton` kind
    of ``outputs`` exists for it (never under ``force``)."""
    items = [Item(d, k) for _, d in split_dirs(root) for k in ids(d)]

    def done(item: Item) -> bool:
        return not force and all(
            output_path(item.split_dir, kind, item.key).is_file() for kind in outputs
        )

    return run_items(
        stage,
        root,
        items,
        done,
        opener,
        strict=strict,
        progress=progress,
        executor=executor,
        outputs=outputs,
    )
