"""Resumable shard builds, for every kind of shard: plan, keep, write (see :mod:`pgdata.shards.build`).

A build job plans its shards up front (:class:`Plan`: file name, split and spec hash, everything
that decides the shard's bytes, and one picklable task per shard) and hands :func:`run_plan` the
plan plus a module-level ``write(task) -> result`` function. ``run_plan`` (called with the
folder's lock held, see :mod:`pgdata.io.lock`):

1. refuses an output folder that holds another build (other config or inputs) unless
   ``overwrite``, which clears it (manifest first, so no manifest ever points at new shards);
2. writes ``build-plan.json`` and removes ``*.partial`` leftovers of a killed writer;
3. keeps a complete shard only when its sha256 equals the one recorded when it was written
   (``build-shards.jsonl``, else the previous manifest) and its stored spec hash matches; a shard
   whose bytes changed since is rebuilt and reported (:attr:`BuildRun.rebuilt`), never blessed;
4. removes the manifest before the first shard is rewritten, writes the missing shards (one
   task per shard, run by an :class:`~pgdata.executor.Executor`: this process, a local process
   pool or a Dask cluster), removes the partial files of writers that died, and deletes shards
   of earlier plans.

A writer records each shard's sha256 in ``build-shards.jsonl`` just before it renames the shard
into place, and only while its build still holds the folder's lock: a worker left over from a
killed build never publishes into the folder of the build that replaced it.

A shard's result dict (``records``, ``bytes``, ``sha256``, ``rejected``, ``repaired``, ``pairs``,
``dropped_pairs``, ``inputs_sha256``) is also stored in its ``pgdata/result`` attribute, so a kept
shard reports the same counts as a fresh one and the manifest comes out byte-identical.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py

from pgdata.errors import InputFormatError, PgdataError
from pgdata.executor import Executor, LocalExecutor
from pgdata.io.atomic import atomic_write_text, write_error
from pgdata.io.lock import check_holder
from pgdata.io.reports import REJECTED_CSV
from pgdata.shards.manifest import MANIFEST, read_manifest
from pgdata.shards.writer import ATTR_PREFIX, PARTIAL, file_sha256

__all__ = ["JOURNAL", "PLAN", "BuildRun", "Plan", "PlannedShard", "publisher", "run_plan"]

PLAN = "build-plan.json"
JOURNAL = "build-shards.jsonl"  # one {"file", "sha256"} line per shard, written before its rename
# (out folder resolved, lock token) of the build the current thread writes for, set around each
# task (per thread: a Dask worker may run several tasks at once in threads)
_GUARD = threading.local()


@dataclass(frozen=True)
class PlannedShard:
    """One shard of a plan."""

    file: str
    split: str
    spec_sha: str


@dataclass(frozen=True)
class Plan:
    """A build's shards as planned before any is written; ``tasks[i]`` is what the writer
    needs to write ``shards[i]``."""

    kind: str  # the shard kind: a folder holding another kind is another build
    config: dict[str, Any]  # the options that decide the shards' bytes
    inputs_stamp: str  # identity of the inputs from sizes and mtimes
    shards: Sequence[PlannedShard]
    tasks: Sequence[Any]


@dataclass
class BuildRun:
    """Results of every planned shard (by file name) and how many were written or kept."""

    results: dict[str, dict[str, Any]]
    written: int
    kept: int
    rebuilt: list[str] = field(default_factory=list)  # shards whose sha256 changed since written


def _recorded(out: Path) -> dict[str, str]:
    """file -> sha256 recorded when each shard was written: the previous manifest, then the
    journal (later lines win; a line cut short by a kill is skipped)."""
    found: dict[str, str] = {}
    if (out / MANIFEST).is_file():
        with contextlib.suppress(PgdataError):
            found.update({e.file: e.sha256 for e in read_manifest(out).shards})
    with contextlib.suppress(FileNotFoundError):
        for line in (out / JOURNAL).read_bytes().split(b"\n"):
            try:
                doc = json.loads(line)
            except ValueError:
                continue
            if isinstance(doc, dict) and isinstance(doc.get("file"), str):
                found[doc["file"]] = str(doc.get("sha256"))
    return found


def _existing(path: Path, spec_sha: str, sha256: str) -> dict[str, Any] | None:
    """The stored result of a complete shard whose spec matches, else None."""
    try:
        with h5py.File(path, "r") as f:
            if f.attrs.get(ATTR_PREFIX + "spec_sha256") != spec_sha:
                return None
            result: dict[str, Any] = json.loads(f.attrs[ATTR_PREFIX + "result"])
            result["records"] = int(f.attrs[ATTR_PREFIX + "records"])
            result["rejected"] = [tuple(r) for r in result["rejected"]]
    except (OSError, KeyError, TypeError, ValueError):
        return None  # unreadable or foreign: rebuild it
    return {**result, "file": path.name, "bytes": path.stat().st_size, "sha256": sha256}


def _append_journal(out: Path, file: str, sha256: str) -> None:
    line = json.dumps({"file": file, "sha256": sha256}, sort_keys=True) + "\n"
    path = out / JOURNAL
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            os.write(fd, line.encode())  # one small append: whole, whatever other writers do
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as e:
        raise write_error(path, e) from None


def publisher(out: Path, file: str) -> Callable[[str], None]:
    """The ``before_publish`` of shard ``file`` in ``out``: check this process still writes for
    the build holding ``out`` (when it runs under :func:`run_plan`), then record the sha256."""

    def publish(sha256: str) -> None:
        guard: tuple[str, str] | None = getattr(_GUARD, "build", None)
        if guard is not None and guard[0] == os.path.realpath(out):
            check_holder(out, guard[1])
        _append_journal(out, file, sha256)

    return publish


@contextlib.contextmanager
def _writing_for(out: Path, token: str | None) -> Iterator[None]:
    before = getattr(_GUARD, "build", None)
    _GUARD.build = (os.path.realpath(out), token) if token else None
    try:
        yield
    finally:
        _GUARD.build = before


def _guarded(
    write: Callable[[Any], dict[str, Any]], out: Path, token: str | None, task: Any
) -> dict[str, Any]:
    """``write(task)`` on behalf of the build that holds ``out`` with ``token``."""
    with _writing_for(out, token):
        return write(task)


def _prepare_out(out: Path, plan_doc: dict[str, Any], overwrite: bool) -> None:
    plan_path = out / PLAN
    used = (
        (out.is_dir() and any(out.glob("*.h5")))
        or plan_path.is_file()
        or (out / MANIFEST).is_file()
    )
    if not used:
        return
    what = "another build"
    if plan_path.is_file():
        try:
            old = json.loads(plan_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            old = {}  # unreadable: another build as far as we can tell
        if not isinstance(old, dict):
            old = {}
        if all(old.get(k) == plan_doc[k] for k in ("kind", "config", "inputs_stamp")):
            return
        if old.get("kind") != plan_doc["kind"] or old.get("config") != plan_doc["config"]:
            what = "a build with another config"
        else:
            what = (
                "a build of other inputs (files changed since: sizes or modification times differ)"
            )
    if not overwrite:
        raise InputFormatError(
            out, f"holds shards of {what}; use --overwrite to replace them or choose another --out"
        )
    (out / MANIFEST).unlink(missing_ok=True)  # first: never leave a manifest over new shards
    old = [
        *out.glob("*.h5"),
        *out.glob("*" + PARTIAL),
        plan_path,
        out / REJECTED_CSV,
        out / JOURNAL,
    ]
    for p in old:
        if p.is_file():
            p.unlink()


def run_plan(
    out: Path,
    plan: Plan,
    write: Callable[[Any], dict[str, Any]],
    *,
    overwrite: bool = False,
    workers: int = 1,
    progress: Callable[[int], None] | None = None,
    token: str | None = None,
    executor: Executor | None = None,
) -> BuildRun:
    """Keep the complete shards of ``plan`` in ``out``, write the rest (see the module doc).

    ``write(task)`` must be a module-level function (it may run in another process, on another
    machine) and return the shard's result dict with ``file``; ``progress(records)`` follows
    each written shard. The shards are written by ``executor`` (default: a
    :class:`~pgdata.executor.LocalExecutor` of ``workers`` processes), one task per shard.
    ``token`` is the folder lock's (:class:`pgdata.io.lock.FolderLock`): writers publish a shard
    only while it still holds the folder. Partial files of writers that died or failed (a
    killed Dask worker, an error) are removed when the run ends, whatever the outcome.
    """
    shards = plan.shards
    plan_doc = {
        "kind": plan.kind,
        "config": plan.config,
        "inputs_stamp": plan.inputs_stamp,
        "shards": [{"file": s.file, "spec_sha256": s.spec_sha} for s in shards],
    }
    _prepare_out(out, plan_doc, overwrite)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / PLAN, json.dumps(plan_doc, indent=1, sort_keys=True) + "\n")
    for p in out.glob("*" + PARTIAL):
        p.unlink()  # leftovers of a killed writer
    recorded = _recorded(out)
    results: dict[str, dict[str, Any]] = {}
    todo = []
    rebuilt: list[str] = []
    for shard, task in zip(shards, plan.tasks, strict=True):
        path = out / shard.file
        done = None
        if path.is_file() and shard.file in recorded:
            sha = file_sha256(path)
            if sha == recorded[shard.file]:
                done = _existing(path, shard.spec_sha, sha)
            else:
                rebuilt.append(shard.file)  # changed since it was written: never re-bless it
        if done is None:
            todo.append(task)
        else:
            results[shard.file] = done
    kept = len(results)
    if todo:
        (out / MANIFEST).unlink(missing_ok=True)  # it would list shards about to change
    guarded = functools.partial(_guarded, write, out, token)
    try:
        for _, res in (executor or LocalExecutor(workers)).map_unordered(guarded, todo):
            results[res["file"]] = res
            if progress is not None:
                progress(int(res["records"]))
    finally:
        for p in out.glob("*" + PARTIAL):
            p.unlink(missing_ok=True)  # attempts of writers that were killed or failed
    planned = {s.file for s in shards}
    for stray in out.glob("*.h5"):
        if stray.name not in planned:
            stray.unlink()  # a shard of an earlier plan of this same build
    return BuildRun(results, len(todo), kept, rebuilt)
