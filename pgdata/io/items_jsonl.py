"""``items.jsonl``: one crawled product per line, append-only and safe to resume.

A crawl appends one complete JSON line per product and flushes it. A process killed in the
middle of a write can leave a partial last line; :func:`repair_tail` cuts it off before the
next append, and :func:`read_items` ignores it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pgdata.errors import InputFormatError
from pgdata.io.files import open_regular

__all__ = ["find_item_files", "item_keys", "read_items", "repair_tail"]

ITEMS_NAME = "items.jsonl"
MAX_ITEMS_BYTES = 1 << 40  # the file is streamed: only its lines are bounded
MAX_LINE_BYTES = 16 << 20  # one product's JSON


def repair_tail(path: Path) -> int:
    """Truncate an unterminated last line of ``path``; returns the bytes removed (0 if fine)."""
    if not path.is_file():
        return 0
    size = path.stat().st_size
    if size == 0:
        return 0
    with path.open("rb+") as f:
        f.seek(size - 1)
        if f.read(1) == b"\n":
            return 0
        # find the last newline (files are small enough to scan back in blocks)
        pos = size
        block = 1 << 16
        keep = 0
        while pos > 0:
            start = max(0, pos - block)
            f.seek(start)
            chunk = f.read(pos - start)
            i = chunk.rfind(b"\n")
            if i >= 0:
                keep = start + i + 1
                break
            pos = start
        f.truncate(keep)
        f.flush()
        os.fsync(f.fileno())
    return size - keep


def read_items(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line number, item)`` for every complete line; a partial last line is skipped.

    The file is streamed line by line (it may hold millions of products); a line longer than
    :data:`MAX_LINE_BYTES` is an error, so one damaged line cannot exhaust memory.

    Raises:
        InputFormatError: not a regular file, a complete line that is not a UTF-8 JSON object,
            or a line that is too long.
    """
    with open_regular(path, max_bytes=MAX_ITEMS_BYTES) as f:
        n = 0
        while True:
            raw = f.readline(MAX_LINE_BYTES + 1)
            if not raw.endswith(b"\n"):
                if len(raw) > MAX_LINE_BYTES:
                    raise InputFormatError(
                        path, f"line longer than {MAX_LINE_BYTES >> 20} MiB", line=n + 1
                    )
                return  # end of file, or a partial last line of a killed writer
            n += 1
            if not raw.strip():
                continue
            try:
                item = json.loads(raw)
            except (ValueError, RecursionError) as e:  # bad JSON or bad UTF-8
                raise InputFormatError(path, f"not a JSON line ({e})", line=n) from None
            if not isinstance(item, dict):
                raise InputFormatError(path, "expected a JSON object per line", line=n)
            yield n, item


def item_keys(item: dict[str, Any]) -> set[str]:
    """The URLs that identify an item for resume: its page URL and the link followed."""
    return {u for u in (item.get("url"), item.get("source_url")) if isinstance(u, str) and u}


def find_item_files(root: Path) -> list[Path]:
    """``root/items.jsonl`` or ``root/*/items.jsonl`` (a store folder or a crawl folder)."""
    if (root / ITEMS_NAME).is_file():
        return [root / ITEMS_NAME]
    return sorted(p for p in root.glob(f"*/{ITEMS_NAME}") if p.is_file())
