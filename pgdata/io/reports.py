"""``rejected.csv``: the quarantine report every batch job writes (``item,reason``)."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path

from pgdata.io.atomic import atomic_open

__all__ = ["reason_kind", "write_rejected_csv"]


def reason_kind(reason: str) -> str:
    """The kind of a rejection reason, for counts: the text before a parenthesised detail."""
    return reason.split(" (")[0]


def write_rejected_csv(path: Path, rows: Iterable[tuple[str, str]]) -> None:
    """Write ``item,reason`` rows (RFC 4180 quoting, LF line ends) atomically."""
    with atomic_open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(("item", "reason"))
        writer.writerows(rows)
