"""Helpers of the hardening tests: real ``pgdata`` processes and byte surgery."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import h5py


def build_cmd(src: Path, out: Path, *extra: str) -> list[str]:
    """``python -m pgdata build`` of a pose-transfer source (a real process)."""
    return [
        sys.executable,
        "-m",
        "pgdata",
        "build",
        "--source",
        str(src),
        "--out",
        str(out),
        *extra,
    ]


def run_cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """``python -m pgdata ARGS`` in a real process; output captured as text."""
    return subprocess.run(
        [sys.executable, "-m", "pgdata", *args], capture_output=True, text=True, timeout=timeout
    )


def dataset_offset(path: Path, name: str) -> int:
    """File offset of a contiguous dataset's first byte (where a byte flip lands in it)."""
    with h5py.File(path, "r") as f:
        offset = f[name].id.get_offset()
    assert offset is not None, f"{name} is not contiguous"
    return int(offset)


def flip(path: Path, offset: int, count: int = 1) -> None:
    """XOR ``count`` bytes of ``path`` from ``offset`` with 0x5A (size and mtime change, length not)."""
    data = bytearray(path.read_bytes())
    for i in range(offset, offset + count):
        data[i] ^= 0x5A
    path.write_bytes(bytes(data))
