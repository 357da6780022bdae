"""The quarantine report every batch job writes: ``rejected.csv`` with ``item,reason`` rows.

One format everywhere (RFC 4180 quoting, LF line ends, header ``item,reason``):

- ``build-pairs``, ``build`` (every shard kind) and ``garments`` write ``OUT/rejected.csv``;
- the try-on stages share a dataset root, so each writes its own ``ROOT/rejected-<stage>.csv``
  (:func:`stage_report`) and a rerun of a stage replaces only its own file.

Reasons read ``kind (detail)`` or ``kind: detail``; :func:`reason_kind` is the one rule that
counts them.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from pgdata.io.atomic import atomic_open

__all__ = [
    "HEADER",
    "REJECTED_CSV",
    "count_reasons",
    "read_rejected_csv",
    "reason_kind",
    "stage_report",
    "stage_reports",
    "write_rejected_csv",
]

REJECTED_CSV = "rejected.csv"
HEADER = ("item", "reason")
_STAGE_PREFIX = "rejected-"
# a reason's kind ends at the first ':' or ' (' (the detail follows)
_KIND_END = re.compile(r":| \(")


def reason_kind(reason: str) -> str:
    """The kind of a rejection reason, for counts: the text before its ``:`` or `` (`` detail."""
    return _KIND_END.split(reason, maxsplit=1)[0]


def count_reasons(rows: Iterable[tuple[str, str]]) -> Counter[str]:
    """How many ``(item, reason)`` rows there are of each :func:`reason_kind`."""
    return Counter(reason_kind(reason) for _, reason in rows)


def write_rejected_csv(path: Path, rows: Iterable[tuple[str, str]]) -> None:
    """Write ``item,reason`` rows (RFC 4180 quoting, LF line ends) atomically."""
    with atomic_open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(HEADER)
        writer.writerows(rows)


def read_rejected_csv(path: Path) -> list[tuple[str, str]]:
    """The ``(item, reason)`` rows of a report; empty when the file does not exist."""
    if not path.is_file():
        return []
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    return [(r[0], r[1]) for r in rows[1:] if len(r) == len(HEADER)]


def stage_report(root: Path, stage: str) -> Path:
    """``ROOT/rejected-<stage>.csv``: the report of one try-on stage on a dataset root."""
    return root / f"{_STAGE_PREFIX}{stage}.csv"


def stage_reports(root: Path) -> dict[str, Path]:
    """Every stage report in ``root``, by stage name (sorted)."""
    found = sorted(root.glob(f"{_STAGE_PREFIX}*.csv"))
    return {p.stem.removeprefix(_STAGE_PREFIX): p for p in found}
