"""Shared plumbing of the try-on stage jobs: item loop, resume, quarantine, timing.

Every stage fills the output folder it owns in each split folder of a VITON-HD dataset root and
skips items whose outputs already exist (so a rerun only does what is missing; every file is
written atomically, so nothing written is lost on a crash). An item that cannot be processed is
*quarantined*: listed in the stage's own report ``ROOT/rejected-<stage>.csv`` (``item,reason``,
:mod:`pgdata.io.reports`) and skipped, unless the stage runs ``strict``, where the first bad item
raises its :class:`~pgdata.errors.PgdataError`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pgdata.errors import InputFormatError, PgdataError
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
from pgdata.stages.keypoints import misfit

__all__ = [
    "STAGE_FIXES",
    "Item",
    "Rejected",
    "StageResult",
    "check_fits",
    "photo_size",
    "read_rejected",
    "rejecting",
    "run_items",
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
    seconds: float = 0.0  # wall time spent on processed and rejected items
    notes: list[str] = field(default_factory=list)

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


def run_items(
    stage: str,
    root: Path,
    items: Iterable[Item],
    is_done: Callable[[Item], bool],
    process: Callable[[Item], None],
    *,
    strict: bool,
    progress: Callable[[int], None] | None = None,
) -> StageResult:
    """Run ``process`` on every item not ``is_done``; quarantine :class:`PgdataError` failures.

    ``ROOT/rejected-<stage>.csv`` is rewritten at the end with this run's rejections (the other
    stages' reports are not touched). ``ROOT`` is locked meanwhile (:mod:`pgdata.io.lock`): a
    second command writing the same dataset root is refused, naming this one.
    """
    result = StageResult(stage)
    with folder_lock(root, f"pgdata {stage}"):
        try:
            for item in items:
                if is_done(item):
                    result.skipped += 1
                else:
                    t0 = time.perf_counter()
                    try:
                        process(item)
                        result.done += 1
                    except Rejected as e:
                        if strict:
                            raise InputFormatError(e.path, e.reason) from None
                        result.rejected.append((item.name(root), e.reason))
                    except PgdataError as e:
                        if strict:
                            raise
                        result.rejected.append((item.name(root), str(e)))
                    result.seconds += time.perf_counter() - t0
                if progress is not None:
                    progress(1)
        finally:
            write_rejected(root, stage, result.rejected)
    return result


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
