"""Seeds, kill records and process plumbing of the fault suite.

Every kill point is drawn from ``random.Random(f"{SEED}:{target}:{index}")``. ``SEED`` is
``PGDATA_FAULT_SEED`` when set (to replay a failure), else a fresh random number; it is printed in
the terminal summary and in every assertion message, so a failing kill can be replayed with
``PGDATA_FAULT_SEED=<seed> pytest tests/faults -k <test>``.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

SEED = int(os.environ.get("PGDATA_FAULT_SEED") or random.SystemRandom().randrange(2**31))
POLL_S = 0.002  # how often a watcher looks at the files a process writes
ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Kill:
    """One kill -9 and what the rerun showed."""

    target: str  # "dask worker", "dask client", "crawl", "train"
    index: int
    point: str  # where it landed, in words
    survived: bool = False
    lost: int = 0  # records, files or steps missing after the rerun (must be 0)
    extra: dict[str, object] = field(default_factory=dict)


KILLS: list[Kill] = []


def rng(target: str, index: int) -> random.Random:
    """The random source of kill point ``index`` of ``target`` (replayable from :data:`SEED`)."""
    return random.Random(f"{SEED}:{target}:{index}")


def replay(target: str, index: int) -> str:
    """What an assertion message says to replay this kill."""
    return f"replay: PGDATA_FAULT_SEED={SEED} ({target}, kill {index})"


def pgdata(*args: object) -> list[str]:
    """``python -m pgdata ARGS`` (a real process)."""
    return [sys.executable, "-m", "pgdata", *map(str, args)]


def start(cmd: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """Start ``cmd`` with stdout and stderr into ``log``.out / ``log``.err (no pipes to fill)."""
    out = open(log.with_suffix(".out"), "wb")  # noqa: SIM115 - closed by the child's end
    err = open(log.with_suffix(".err"), "wb")  # noqa: SIM115
    try:
        return subprocess.Popen(
            cmd, stdout=out, stderr=err, cwd=ROOT, env={**os.environ, **(env or {})}
        )
    finally:
        out.close()
        err.close()


def run(cmd: list[str], log: Path, timeout: float = 300, env: dict[str, str] | None = None):
    """Run ``cmd`` to the end; ``(returncode, stdout, stderr)``."""
    proc = start(cmd, log, env)
    rc = proc.wait(timeout=timeout)
    return rc, log.with_suffix(".out").read_text(), log.with_suffix(".err").read_text()


def wait_until(ready: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``ready`` every :data:`POLL_S` until true; AssertionError naming ``what`` after
    ``timeout`` seconds."""
    end = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(POLL_S)


def kill9(pid: int) -> None:
    """SIGKILL ``pid`` (gone already is fine)."""
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie counts as ended)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def children(pid: int) -> list[int]:
    """The pids whose parent is ``pid`` (Linux /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def dask_workers(client_pid: int) -> list[int]:
    """The worker processes of a ``--dask local:N`` build (its multiprocessing children, the
    resource tracker left out)."""
    workers = []
    for child in children(client_pid):
        try:
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if b"spawn_main" in cmdline and b"resource_tracker" not in cmdline:
            workers.append(child)
    return workers


def lines(path: Path) -> int:
    """Complete lines in ``path`` (0 when it does not exist)."""
    try:
        return path.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def write_report(path: str) -> None:
    """The kills as JSON (``PGDATA_FAULT_REPORT``)."""
    doc = {"seed": SEED, "kills": [k.__dict__ for k in KILLS]}
    Path(path).write_text(json.dumps(doc, indent=1, default=str) + "\n")
