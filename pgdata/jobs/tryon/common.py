"""Shared plumbing of the try-on stage jobs: item loop, resume, quarantine, timing.

Every stage fills the output folder it owns in each split folder of a VITON-HD dataset root and
skips items whose outputs already exist (so a rerun only does what is missing; every file is
written atomically, so nothing written is lost on a crash). An item that cannot be processed is
*quarantined*: listed in ``ROOT/rejected.csv`` (``stage,item,reason``) and skipped, unless the
stage runs ``strict``, where the first bad item raises its :class:`~pgdata.errors.PgdataError`.
"""

from __future__ import annotations

import csv
import io
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pgdata.errors import InputFormatError, PgdataError
from pgdata.io.atomic import atomic_write_text
from pgdata.io.images import image_size
from pgdata.stages.keypoints import misfit

__all__ = [
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

REJECTED_CSV = "rejected.csv"


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

    def summary(self) -> str:
        """One line of counts: ``agnostic: wrote 4, skipped 0 (done before), rejected 1 (...)``."""
        line = f"{self.stage}: wrote {self.done}, skipped {self.skipped} (done before), rejected {len(self.rejected)}"
        if self.rejected:
            kinds = Counter(reason.split(":")[0].split(" (")[0] for _, reason in self.rejected)
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

    ``ROOT/rejected.csv`` is rewritten at the end: this stage's rows are replaced by this run's
    rejections, other stages' rows are kept.
    """
    result = StageResult(stage)
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
    """Rows ``(stage, item, reason)`` of ``ROOT/rejected.csv`` (empty when absent)."""
    path = root / REJECTED_CSV
    if not path.is_file():
        return []
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    return [(r[0], r[1], r[2]) for r in rows[1:] if len(r) == 3]


def write_rejected(root: Path, stage: str, rejected: list[tuple[str, str]]) -> None:
    """Replace ``stage``'s rows of ``ROOT/rejected.csv`` with ``rejected`` (atomic rewrite)."""
    rows = [r for r in read_rejected(root) if r[0] != stage]
    rows += [(stage, item, reason) for item, reason in rejected]
    if not rows and not (root / REJECTED_CSV).is_file():
        return
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(("stage", "item", "reason"))
    w.writerows(rows)
    atomic_write_text(root / REJECTED_CSV, buf.getvalue())
