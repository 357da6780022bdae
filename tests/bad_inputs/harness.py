"""The rules every bad-input case is held to, and the count of cases tried per reader.

A reader given bad bytes may succeed or raise a :class:`~pgdata.errors.PgdataError` whose text
names the file. Anything else fails the case: another exception (a traceback from inside a
library), no answer within :data:`HANG_S` seconds (a hang), or the process's peak memory
growing by more than :data:`MEMORY_MB` (an unbounded allocation).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import resource
import signal
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any

from hypothesis import settings

from pgdata.errors import PgdataError

HANG_S = 30  # one reader call; the slowest takes milliseconds
MEMORY_MB = 1024  # peak growth one case may cause (a decode at the pixel limit is 192 MB)

COUNTS: Counter[str] = Counter()  # reader -> cases tried (printed at the end of the run)
_BASE: dict[str, float] = {}  # reader -> peak memory before its first case
ERRORS: Counter[str] = Counter()  # reader -> cases that ended in a PgdataError


class Hang(Exception):
    """A reader call did not return in time."""


def peak_mb() -> float:
    """This process's peak resident memory so far, in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextlib.contextmanager
def hard_timeout(seconds: float) -> Iterator[None]:
    """Raise :class:`Hang` in this (main) thread after ``seconds``, also out of a blocking call."""

    def ring(signum: int, frame: FrameType | None) -> None:
        raise Hang(f"no answer after {seconds} s")

    old = signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def check_reader(reader: str, path: Path, call: Callable[[], object]) -> None:
    """Run one case of ``reader`` on ``path`` under the rules of this module."""
    peak_before = _BASE.setdefault(reader, peak_mb())
    COUNTS[reader] += 1
    with hard_timeout(HANG_S):
        try:
            call()
        except PgdataError as e:
            ERRORS[reader] += 1
            assert str(path) in str(e), f"{reader}: the error does not name {path}: {e}"
    grown = peak_mb() - peak_before
    assert grown < MEMORY_MB, f"{reader}: peak memory grew by {grown:.0f} MB"


def profile(most: int | None = None) -> settings:
    """The active profile (``HYPOTHESIS_PROFILE``, default ``ci``), at most ``most`` cases."""
    chosen = settings.get_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
    if most is not None and chosen.max_examples > most:
        return settings(chosen, max_examples=most)
    return chosen


def _child(conn: Any, call: Callable[[], object]) -> None:
    try:
        call()
        conn.send(("ok", ""))
    except PgdataError as e:
        conn.send(("pgdata", str(e)))
    except BaseException as e:  # noqa: BLE001 - reported to the parent
        conn.send(("error", f"{type(e).__name__}: {e}"))
    conn.close()


def check_apart(reader: str, path: Path, call: Callable[[], object]) -> None:
    """:func:`check_reader` with ``call`` in a forked child: a loop inside a C library (which no
    signal interrupts) fails the case as a hang instead of hanging the suite."""
    COUNTS[reader] += 1
    ctx = multiprocessing.get_context("fork")
    receive, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(send, call), daemon=True)
    proc.start()
    send.close()
    try:
        if not receive.poll(HANG_S):
            raise Hang(f"{reader}: no answer after {HANG_S} s on {path}")
        kind, text = receive.recv()
    finally:
        proc.kill()
        proc.join()
        receive.close()
    if kind == "pgdata":
        ERRORS[reader] += 1
        assert str(path) in text, f"{reader}: the error does not name {path}: {text}"
    assert kind != "error", f"{reader}: {text}"
