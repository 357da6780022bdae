"""Plain files: whole-file reads, directory listings and the cheap identity builds plan by.

Jobs go through these instead of opening paths themselves, so ``io`` stays the one layer that
touches the file system for source data (shard files are the ``shards`` layer's).
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["list_files", "read_bytes", "stamp"]


def read_bytes(path: str | Path) -> bytes:
    """The whole content of ``path`` (``OSError`` as the operating system raises it)."""
    with open(path, "rb") as f:
        return f.read()


def stamp(path: str | Path) -> tuple[str, int] | None:
    """``("<size>:<mtime_ns>", size)`` of a file, None when it does not exist.

    Builds identify their inputs by this stamp to plan and to resume without reading them;
    content hashes go into the shards and manifests.
    """
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return f"{st.st_size}:{st.st_mtime_ns}", st.st_size


def list_files(folder: str | Path) -> list[str]:
    """Sorted names of the regular files directly in ``folder`` (hidden files left out)."""
    with os.scandir(folder) as it:
        return sorted(e.name for e in it if e.is_file() and not e.name.startswith("."))
