"""Atomic file writes: write a temporary file beside the target, then ``os.replace`` it.

A write that fails (disk full, file size limit, read-only folder) removes its temporary file,
leaves the target as it was and raises :class:`~pgdata.errors.OutputError` naming the file,
the system's reason and what to do (:func:`write_error`).
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO, Literal, TextIO, TypeVar, overload

from pgdata.errors import OutputError

__all__ = ["atomic_open", "atomic_write_bytes", "atomic_write_text", "write_error"]

_HINTS = {
    errno.ENOSPC: "free disk space, then rerun the same command: complete work is kept",
    errno.EDQUOT: "free space in your quota, then rerun the same command: complete work is kept",
    errno.EFBIG: "the file size limit (ulimit -f) is too small for it: raise the limit (or make "
    "the files smaller, e.g. a lower --shard-mb), then rerun the same command",
}
# HDF5 reports the system error inside its message: "... errno = 28, error message = '...'"
_HDF5_ERRNO = re.compile(r"errno = (\d+)")


def write_error(path: str | Path, error: BaseException) -> OutputError:
    """The :class:`OutputError` for a failed write of ``path`` (an ``OSError``, or an h5py
    error whose text carries the system's errno)."""
    code = error.errno if isinstance(error, OSError) else None
    if code is None:
        found = _HDF5_ERRNO.search(str(error))
        code = int(found.group(1)) if found else None
    reason = os.strerror(code) if code else str(error) or type(error).__name__
    hint = _HINTS.get(code or 0, "check the folder is writable and has room, then rerun")
    return OutputError(path, f"cannot write ({reason}); {hint}")


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
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as e:
        raise write_error(path, e) from None
    try:
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; give the usual file mode
        with fdopen(fd) as f:
            yield f
        os.replace(tmp, path)
    except OSError as e:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise write_error(path, e) from None
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
