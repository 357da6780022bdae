"""One writer per output folder: ``FOLDER/.pgdata-lock``.

Every command that writes a folder (``build``, ``crawl``, ``garments``, the try-on stages,
``train``) holds its lock while it runs::

    with folder_lock(out, "pgdata build") as lock:
        ...  # nobody else writes `out` meanwhile

The lock file holds JSON: ``pid``, ``host``, ``command``, ``started`` (UTC, ISO 8601) and a
random ``token`` that names this holding (writers check it before they publish a file, see
:func:`check_holder`). The authority is an exclusive ``flock`` on the file, which the kernel
drops when the process ends however it ends, so:

- a second command into the same folder is refused with :class:`LockedError` naming the holder
  (pid, host, command, start time);
- a lock left behind by a killed process on this host (its ``flock`` gone) is taken over, and
  :attr:`FolderLock.took_over` says whose it was;
- a lock written on another host cannot be checked from here: it is refused with a message that
  says to delete the file once that run is over;
- the lock is released (file removed, ``flock`` dropped) when the ``with`` block ends, also on an
  exception; a folder the lock created is removed again when it is still empty.

The lock is re-entrant within one process (a pipeline that locks a folder may run a stage that
locks it again). Forked workers inherit the open file, so a build's lock stays held while its
workers live; they die with it (:mod:`pgdata.parallel`).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import secrets
import shlex
import socket
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pgdata.errors import PgdataError

__all__ = ["LOCK_NAME", "FolderLock", "LockedError", "check_holder", "folder_lock", "read_lock"]

LOCK_NAME = ".pgdata-lock"
# flock errors of file systems that do not support it: fall back to the pid check alone
_NO_FLOCK = {errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EINVAL}
_HELD: dict[str, FolderLock] = {}  # resolved folder -> this process's lock on it


class LockedError(PgdataError):
    """Another process holds the folder's lock; the message names it and what to do."""


@dataclass
class FolderLock:
    """A held lock: the folder, its file descriptor and what the lock file says."""

    folder: Path
    fd: int
    holder: dict[str, Any]
    took_over: dict[str, Any] | None = None  # the stale lock this one replaced
    depth: int = 1
    created: bool = False  # the folder did not exist: removed again on release if left empty

    @property
    def token(self) -> str:
        """The random token of this holding (changes with every acquisition)."""
        return str(self.holder["token"])

    def note(self) -> str | None:
        """``took over the lock of pid N (no longer running)``, or None."""
        if self.took_over is None:
            return None
        return f"took over the lock of pid {self.took_over.get('pid')} (no longer running)"


def _command_line() -> str:
    args = [os.path.basename(sys.argv[0]) if sys.argv else "python", *sys.argv[1:]]
    if args[0] == "__main__.py":
        args[0] = "pgdata"
    return shlex.join(args)


def read_lock(folder: Path) -> dict[str, Any] | None:
    """What ``folder``'s lock file says, or None when there is none (or it is unreadable)."""
    try:
        doc = json.loads((folder / LOCK_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def _describe(doc: dict[str, Any] | None) -> str:
    if not doc:
        return "another process (its lock file is being written)"
    return (
        f"pid {doc.get('pid')} on {doc.get('host')} ({doc.get('command')!s}, "
        f"since {doc.get('started')})"
    )


def _alive_here(doc: dict[str, Any] | None) -> bool:
    """The lock file names a running process of this host other than this one."""
    if not doc or doc.get("host") != socket.gethostname() or doc.get("pid") == os.getpid():
        return False
    try:
        os.kill(int(doc["pid"]), 0)
    except (ProcessLookupError, KeyError, TypeError, ValueError):
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


def _try_lock(path: Path) -> int | None:
    """An open descriptor holding the exclusive flock of ``path``, or None when it is held."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        except OSError as e:
            if e.errno not in _NO_FLOCK:
                os.close(fd)
                raise
            if _alive_here(read_lock(path.parent)):  # no flock here: trust a live pid
                os.close(fd)
                return None
            return fd
        except BaseException:
            os.close(fd)
            raise
        # the holder before us may have removed the file after we opened it: lock the file
        # that is at the path now, not an unlinked one
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(path))
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)


def _acquire(folder: Path, command: str) -> FolderLock:
    created = not folder.exists()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise LockedError(f"{folder}: is a file, not a folder") from None
    except OSError as e:
        raise LockedError(f"{folder}: cannot create the folder ({e.strerror})") from None
    path = folder / LOCK_NAME
    try:
        fd = _try_lock(path)
    except OSError as e:
        raise LockedError(f"{path}: cannot lock the folder ({e.strerror})") from None
    if fd is None:
        raise LockedError(
            f"{folder}: in use by {_describe(read_lock(folder))}; wait for it to finish or "
            "choose another output folder"
        )
    try:
        old = read_lock(folder)
        host = socket.gethostname()
        if old and old.get("host") not in (None, host):
            raise LockedError(
                f"{folder}: locked by {_describe(old)}, another host: if that run is over, "
                f"delete {path} and rerun"
            )
        holder = {
            "pid": os.getpid(),
            "host": host,
            "command": command,
            "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "token": secrets.token_hex(8),
        }
        data = (json.dumps(holder, sort_keys=True) + "\n").encode()
        os.ftruncate(fd, 0)
        os.pwrite(fd, data, 0)
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        raise
    return FolderLock(folder, fd, holder, took_over=old or None, created=created)


def _release(lock: FolderLock) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(lock.folder / LOCK_NAME)  # first: a waiting process then locks a new file
    os.close(lock.fd)
    if lock.created:  # a command that failed before writing anything leaves no folder behind
        with contextlib.suppress(OSError):
            lock.folder.rmdir()


@contextlib.contextmanager
def folder_lock(folder: str | Path, command: str | None = None) -> Iterator[FolderLock]:
    """Hold ``folder``'s lock (creating the folder) for the ``with`` block.

    Args:
        folder: the output folder.
        command: what the lock file names as the holder (default: this process's command line).

    Raises:
        LockedError: another live process holds it, or it was written on another host.
    """
    folder = Path(folder)
    key = os.path.realpath(folder)
    held = _HELD.get(key)
    if held is not None and held.holder["pid"] == os.getpid():
        held.depth += 1
        try:
            yield held
        finally:
            held.depth -= 1
        return
    lock = _acquire(folder, command or _command_line())
    _HELD[key] = lock
    try:
        yield lock
    finally:
        del _HELD[key]
        _release(lock)


def check_holder(folder: Path, token: str) -> None:
    """Raise :class:`LockedError` unless ``folder`` is still locked by the holding ``token``.

    A writer calls it before it publishes a file, so a process left over from a build that was
    killed and restarted never writes into the new build's folder.
    """
    doc = read_lock(folder)
    if doc is None or doc.get("token") != token:
        raise LockedError(
            f"{folder}: the build that started this writer no longer holds the folder "
            f"(now: {_describe(doc) if doc else 'nobody'}); not writing"
        )
