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
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from pgdata.io.atomic import atomic_open

__all__ = [
    "HEADER",
    "REJECTED_CSV",
    "count_reasons",
    "counted",
    "nothing_kept",
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


def counted(counts: Mapping[str, int], *, most: int = 4) -> str:
    """A total and its kinds, most frequent first: ``"3 (grey image converted to RGB 2, resized
    to 256x176 1)"``; ``"0"`` when there are none. Kinds beyond ``most`` are summed as ``other``."""
    total = sum(counts.values())
    if not total:
        return "0"
    ranked = sorted(((n, k) for k, n in counts.items() if n), key=lambda t: (-t[0], t[1]))
    parts = [f"{k} {n}" for n, k in ranked[:most]]
    if len(ranked) > most:
        parts.append(f"other {sum(n for n, _ in ranked[most:])}")
    return f"{total} ({', '.join(parts)})"


def nothing_kept(
    expected: str, rows: Sequence[tuple[str, str]], fixes: Mapping[str, str] | None = None
) -> str:
    """The one line a job that kept nothing fails with: what was expected, then the most common
    rejection kind (:func:`reason_kind`), its count and, when ``fixes`` knows it, the fix."""
    counts = count_reasons(rows)
    if not counts:
        return f"{expected}; nothing was read"
    kind, n = counts.most_common(1)[0]
    fix = (fixes or {}).get(kind)
    line = f"{expected}; most common rejection: {kind} ({n} of {len(rows)})"
    return f"{line}: {fix}" if fix else line


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
