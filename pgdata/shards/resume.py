"""Resumable shard builds, for every kind of shard: plan, keep, write (see :mod:`pgdata.shards.build`).

A build job plans its shards up front (:class:`Plan`: file name, split and spec hash, everything
that decides the shard's bytes, and one picklable task per shard) and hands :func:`run_plan` the
plan plus a module-level ``write(task) -> result`` function. ``run_plan``:

1. refuses an output folder that holds another build (other config or inputs) unless
   ``overwrite``, which clears it (manifest first, so no manifest ever points at new shards);
2. writes ``build-plan.json`` and removes ``*.partial`` leftovers of a killed writer;
3. keeps every complete shard whose stored spec hash matches, writes the others (one process per
   shard with ``workers > 1``), and deletes shards of earlier plans.

A shard's result dict (``records``, ``bytes``, ``sha256``, ``rejected``, ``repaired``, ``pairs``,
``dropped_pairs``, ``inputs_sha256``) is also stored in its ``pgdata/result`` attribute, so a kept
shard reports the same counts as a fresh one and the manifest comes out byte-identical.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py

from pgdata.errors import InputFormatError
from pgdata.io.atomic import atomic_write_text
from pgdata.io.reports import REJECTED_CSV
from pgdata.parallel import parallel_map
from pgdata.shards.manifest import MANIFEST
from pgdata.shards.writer import ATTR_PREFIX, file_sha256

__all__ = ["PLAN", "BuildRun", "Plan", "PlannedShard", "run_plan"]

PLAN = "build-plan.json"


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


def _existing(path: Path, spec_sha: str) -> dict[str, Any] | None:
    """The stored result of a complete shard whose spec matches, else None."""
    if not path.is_file():
        return None
    try:
        with h5py.File(path, "r") as f:
            if f.attrs.get(ATTR_PREFIX + "spec_sha256") != spec_sha:
                return None
            result: dict[str, Any] = json.loads(f.attrs[ATTR_PREFIX + "result"])
            result["records"] = int(f.attrs[ATTR_PREFIX + "records"])
    except (OSError, KeyError, json.JSONDecodeError):
        return None  # unreadable or foreign: rebuild it
    result["rejected"] = [tuple(r) for r in result["rejected"]]
    return {**result, "file": path.name, "bytes": path.stat().st_size, "sha256": file_sha256(path)}


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
        old = json.loads(plan_path.read_text(encoding="utf-8"))
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
    for p in list(out.glob("*.h5")) + list(out.glob("*.partial")) + [plan_path, out / REJECTED_CSV]:
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
) -> BuildRun:
    """Keep the complete shards of ``plan`` in ``out``, write the rest (see the module doc).

    ``write(task)`` must be a module-level function (it may run in another process) and return
    the shard's result dict with ``file``; ``progress(records)`` follows each written shard.
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
    for p in out.glob("*.partial"):
        p.unlink()  # leftovers of a killed writer
    results: dict[str, dict[str, Any]] = {}
    todo = []
    for shard, task in zip(shards, plan.tasks, strict=True):
        done = _existing(out / shard.file, shard.spec_sha)
        if done is None:
            todo.append(task)
        else:
            results[shard.file] = done
    kept = len(results)
    for res in parallel_map(write, todo, workers=workers):
        results[res["file"]] = res
        if progress is not None:
            progress(int(res["records"]))
    planned = {s.file for s in shards}
    for stray in out.glob("*.h5"):
        if stray.name not in planned:
            stray.unlink()  # a shard of an earlier plan of this same build
    return BuildRun(results, len(todo), kept)
