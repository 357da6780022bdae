"""Plain files: bounded whole-file reads, directory listings, the cheap identity builds plan by,
and the rule that keeps every input inside its root.

Jobs go through these instead of opening paths themselves, so ``io`` stays the one layer that
touches the file system for source data (shard files are the ``shards`` layer's).

Safety rules of every read (:func:`read_bytes`, :func:`read_text`):

- only regular files are read: a FIFO, a device (``/dev/zero``), a socket or a directory is
  refused before a byte is read, so nothing hangs or reads forever;
- a file larger than the size cap (:data:`DEFAULT_MAX_FILE_MB`, or the environment variable
  :data:`MAX_FILE_MB_ENV`) is refused;
- every failure is an :class:`~pgdata.errors.InputFormatError` naming the file and the reason
  (``not a regular file (FIFO)``, ``cannot read (Input/output error)``), which a batch job
  quarantines like any bad file.

:class:`SourceRoot` refuses paths that lead outside an input folder: ``..`` in a name always,
symbolic links to a place outside unless the user allows them (``--follow-symlinks``).
"""

from __future__ import annotations

import math
import os
import stat as stat_mod
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from pgdata.errors import ConfigError, InputFormatError

__all__ = [
    "DEFAULT_MAX_FILE_MB",
    "MAX_FILE_MB_ENV",
    "SourceRoot",
    "list_files",
    "max_file_bytes",
    "open_regular",
    "read_bytes",
    "read_text",
    "stamp",
]

MB = 1e6  # sizes in messages and limits are decimal megabytes
DEFAULT_MAX_FILE_MB = 256.0  # no image, mask or annotation file of a dataset comes close
MAX_FILE_MB_ENV = "PGDATA_MAX_FILE_MB"
_BLOCK = 1 << 20  # read granularity past the size fstat reported

OUTSIDE = "path leads outside the source folder"
LINK_OUTSIDE = "symbolic link to a file outside the source folder (pass --follow-symlinks to allow)"


def max_file_bytes() -> int:
    """The size cap of one input file in bytes (``PGDATA_MAX_FILE_MB`` MB, default 256)."""
    raw = os.environ.get(MAX_FILE_MB_ENV)
    if raw is None:
        return int(DEFAULT_MAX_FILE_MB * MB)
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise ConfigError(f"{MAX_FILE_MB_ENV}={raw!r}: expected a size in MB > 0, e.g. 512")
    return int(value * MB)


def _kind(mode: int) -> str:
    for test, name in (
        (stat_mod.S_ISDIR, "directory"),
        (stat_mod.S_ISFIFO, "FIFO"),
        (stat_mod.S_ISCHR, "character device"),
        (stat_mod.S_ISBLK, "block device"),
        (stat_mod.S_ISSOCK, "socket"),
    ):
        if test(mode):
            return name
    return "special file"


def _too_large(path: str | Path, size: float, limit: int) -> InputFormatError:
    return InputFormatError(
        path,
        f"larger than the {limit / MB:g} MB limit ({size / MB:.1f} MB; raise {MAX_FILE_MB_ENV} "
        "to read it)",
    )


def _open_regular(path: str | Path, limit: int) -> tuple[int, int]:
    """``(fd, size)`` of the regular file ``path`` opened for reading; InputFormatError if not."""
    try:
        # O_NONBLOCK: opening a FIFO does not wait for a writer (it is refused just below)
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise InputFormatError(path, "file not found") from None
    except OSError as e:
        raise InputFormatError(path, f"cannot open ({e.strerror or e})") from None
    try:
        st = os.fstat(fd)
        if not stat_mod.S_ISREG(st.st_mode):
            raise InputFormatError(path, f"not a regular file ({_kind(st.st_mode)})")
        if st.st_size > limit:
            raise _too_large(path, st.st_size, limit)
    except BaseException:
        os.close(fd)
        raise
    return fd, st.st_size


def open_regular(path: str | Path, *, max_bytes: int | None = None) -> BinaryIO:
    """The regular file ``path`` opened for reading in binary mode (for header-only and
    streaming readers), at most ``max_bytes`` large (default: the size cap).

    Raises:
        InputFormatError: not found, not a regular file, or larger than the cap.
    """
    fd, _ = _open_regular(path, max_file_bytes() if max_bytes is None else max_bytes)
    return os.fdopen(fd, "rb")


def read_bytes(path: str | Path, *, max_bytes: int | None = None) -> bytes:
    """The whole content of the regular file ``path``, at most ``max_bytes`` (default: the cap).

    Raises:
        InputFormatError: not found, not a regular file, larger than the cap, or an I/O error.
    """
    limit = max_file_bytes() if max_bytes is None else max_bytes
    fd, size = _open_regular(path, limit)
    try:
        chunks: list[bytes] = []
        total = 0
        want = size + 1  # one byte more shows a file that grew meanwhile
        while True:
            chunk = os.read(fd, max(want - total, _BLOCK))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:
                raise _too_large(path, total, limit)
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)
    except OSError as e:
        raise InputFormatError(path, f"cannot read ({e.strerror or e})") from None
    finally:
        os.close(fd)


def read_text(path: str | Path, *, max_bytes: int | None = None) -> str:
    """:func:`read_bytes` decoded as UTF-8 (a BOM is kept; the readers strip what they must).

    Raises:
        InputFormatError: as :func:`read_bytes`, or ``not a UTF-8 text file``.
    """
    data = read_bytes(path, max_bytes=max_bytes)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InputFormatError(
            path, f"not a UTF-8 text file (byte {e.start}: {e.reason})"
        ) from None


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


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root if root.endswith(os.sep) else root + os.sep)


@dataclass
class SourceRoot:
    """An input folder whose files a job reads: :meth:`problem` says why a path must not be read.

    A path is refused when its ``..`` parts lead out of the folder (always), or, unless
    ``follow_symlinks``, when it or a folder on its way is a symbolic link to a place outside
    the folder (links that stay inside are fine). The folder itself may be a link.
    """

    given: str  # the folder as the user spelled it, absolute and normalised
    real: str  # the folder with every link resolved
    follow_symlinks: bool = False
    _dirs: dict[str, bool] = field(default_factory=dict, repr=False)  # folder -> inside?

    @classmethod
    def of(cls, folder: str | Path, *, follow_symlinks: bool = False) -> SourceRoot:
        """The root of the input folder ``folder``."""
        return cls(os.path.abspath(folder), os.path.realpath(folder), follow_symlinks)

    def problem(self, path: str | Path) -> str | None:
        """Why ``path`` (built from the folder as given) must not be read: :data:`OUTSIDE` or
        :data:`LINK_OUTSIDE`; None when it may be."""
        norm = os.path.abspath(path)  # resolves ".." lexically
        if not _under(norm, self.given):
            return OUTSIDE
        if self.follow_symlinks:
            return None
        parent = os.path.dirname(norm)
        inside = self._dirs.get(parent)
        if inside is None:
            inside = self._dirs[parent] = _under(os.path.realpath(parent), self.real)
        if not inside or (os.path.islink(norm) and not _under(os.path.realpath(norm), self.real)):
            return LINK_OUTSIDE
        return None
