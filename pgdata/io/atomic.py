"""Atomic file writes: write a temporary file beside the target, then ``os.replace`` it."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO, Literal, TextIO, TypeVar, overload

__all__ = ["atomic_open", "atomic_write_bytes", "atomic_write_text"]

_UMASK = os.umask(0)
os.umask(_UMASK)


@overload
def atomic_open(
    path: str | Path,
    mode: Literal["w"] = "w",
    *,
    encoding: str | None = None,
    newline: str | None = None,
) -> contextlib.AbstractContextManager[TextIO]: ...


@overload
def atomic_open(
    path: str | Path,
    mode: Literal["wb"],
    *,
    encoding: None = None,
    newline: None = None,
) -> contextlib.AbstractContextManager[BinaryIO]: ...


def atomic_open(
    path: str | Path,
    mode: Literal["w", "wb"] = "w",
    *,
    encoding: str | None = None,
    newline: str | None = None,
) -> contextlib.AbstractContextManager[TextIO] | contextlib.AbstractContextManager[BinaryIO]:
    """Open a temporary file next to ``path`` for writing (``"w"`` text, ``"wb"`` bytes); rename
    it over ``path`` on success.

    On an exception the temporary file is removed and ``path`` is left as it was, so a reader
    never sees a half-written file.
    """
    if mode == "wb":
        return _replacing(Path(path), lambda fd: os.fdopen(fd, "wb"))
    return _replacing(Path(path), lambda fd: os.fdopen(fd, "w", encoding=encoding, newline=newline))


F = TypeVar("F", TextIO, BinaryIO)


@contextlib.contextmanager
def _replacing(path: Path, fdopen: Callable[[int], F]) -> Iterator[F]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; give the usual file mode
        with fdopen(fd) as f:
            yield f
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write ``text`` (UTF-8, ``\\n`` line ends kept as given) to ``path`` atomically."""
    with atomic_open(path, "w", encoding="utf-8", newline="") as f:
        f.write(text)


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_open(path, "wb") as f:
        f.write(data)
