"""The one shard-build path: pack records into shards, write each, ``rejected.csv``, manifest last.

Every shard kind (pose transfer, try-on, garments, and the kinds to come) builds the same way:

1. **plan**: cut the records into shards with :func:`pack` (size rollover, never mixing splits),
   name them with :func:`shard_file`, and give each a :class:`PlannedShard` whose spec hash
   covers everything that decides its bytes, plus one picklable task: a :class:`Plan`;
2. **write**: a module-level ``write(task) -> dict`` (it may run in another process, or on a
   Dask worker on another machine: paths in tasks are absolute) collects the shard's columns
   into a :class:`ShardContent` and returns its :meth:`ShardContent.write`;
3. **run and finish**: :func:`build_shards` locks the output folder (one writer per folder,
   :mod:`pgdata.io.lock`), keeps the complete shards of an interrupted build whose bytes are
   the ones recorded when they were written, writes the rest
   (:func:`pgdata.shards.resume.run_plan`), then writes ``rejected.csv`` (the quarantine report
   of :mod:`pgdata.io.reports`) and, last, ``manifest.json``.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pgdata import __version__
from pgdata.executor import Executor, Timings, open_executor
from pgdata.io.lock import folder_lock
from pgdata.io.reports import REJECTED_CSV, write_rejected_csv
from pgdata.shards.manifest import Manifest, ShardEntry, write_manifest
from pgdata.shards.resume import BuildRun, Plan, PlannedShard, publisher, run_plan
from pgdata.shards.schema import Schema
from pgdata.shards.writer import json_attr, write_shard

__all__ = [
    "build_shards_on",
    "Built",
    "Plan",
    "PlannedShard",
    "ShardContent",
    "build_shards",
    "pack",
    "shard_file",
]

MB = 1e6  # shard_mb is in decimal megabytes


def pack(
    sizes: Sequence[float], limit_mb: float, splits: Sequence[str] | None = None
) -> list[list[int]]:
    """Cut items ``0..n-1`` (in order) into shards of about ``limit_mb`` megabytes.

    A new shard starts when the next item would take the current one past the limit, or when its
    split differs from the current shard's; an item larger than the limit gets a shard of its own.

    Args:
        sizes: estimated bytes of each item (a record, or a group that must stay together).
        limit_mb: the rollover size in MB (10^6 bytes).
        splits: each item's split, or None when all items are of one split.

    Returns:
        the item indices of each shard, in order.
    """
    shards: list[list[int]] = []
    size = 0.0
    for i, nbytes in enumerate(sizes):
        new_split = splits is not None and bool(shards) and splits[i] != splits[shards[-1][0]]
        if not shards or new_split or size + nbytes > limit_mb * MB:
            shards.append([])
            size = 0.0
        shards[-1].append(i)
        size += nbytes
    return shards


def shard_file(split: str, index: int) -> str:
    """The file name of a split's ``index``-th shard: ``train-00000.h5``."""
    return f"{split}-{index:05d}.h5"


@dataclass
class ShardContent:
    """What a shard kind's writer collected for one shard.

    Attributes:
        columns: one list (or array) per schema column, one entry per kept record.
        rejected: ``(item, reason)`` of the records left out (quarantined).
        repaired: repair kind → count, for the summary and the manifest.
        inputs_sha256: hash of the input bytes this shard was made from.
        pairs: pair records the shard holds (0 for kinds without pairs).
        dropped_pairs: pairs lost because one of their records was rejected.
        tables: extra datasets of the schema (e.g. the pose-transfer pair index).
    """

    columns: Mapping[str, Sequence[Any] | np.ndarray]
    rejected: list[tuple[str, str]] = field(default_factory=list)
    repaired: Mapping[str, int] = field(default_factory=dict)
    inputs_sha256: str = ""
    pairs: int = 0
    dropped_pairs: int = 0
    tables: Mapping[str, np.ndarray] | None = None

    def write(
        self, out: Path, shard: PlannedShard, schema: Schema, config: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Write these records as ``shard`` into ``out``; return what :func:`run_plan` collects.

        The result (rejections, repairs, pair counts, inputs hash) is also stored in the shard's
        ``pgdata/result`` attribute, so a shard kept by a resumed build reports the same counts.
        """
        result: dict[str, Any] = {
            "rejected": self.rejected,
            "repaired": dict(sorted(self.repaired.items())),
            "dropped_pairs": self.dropped_pairs,
            "pairs": self.pairs,
            "inputs_sha256": self.inputs_sha256,
        }
        written = write_shard(
            out / shard.file,
            schema,
            self.columns,
            tables=self.tables,
            attrs={
                "split": shard.split,
                "config": json_attr(config),
                "spec_sha256": shard.spec_sha,
                "inputs_sha256": self.inputs_sha256,
                "result": json_attr(result),
            },
            before_publish=publisher(out, shard.file),
        )
        return {
            **result,
            "file": shard.file,
            "records": written.records,
            "bytes": written.bytes,
            "sha256": written.sha256,
        }


@dataclass
class Built:
    """What :func:`build_shards` wrote: shard counts, manifest entries and the totals."""

    written: int  # shards written by this run
    kept: int  # complete shards of an interrupted build, kept as they were
    entries: list[ShardEntry]
    rejected: list[tuple[str, str]]
    repaired: Counter[str]
    dropped_pairs: int
    records: dict[str, int]  # split -> records
    pairs: dict[str, int]  # split -> pairs
    rebuilt: list[str] = field(default_factory=list)  # shards rewritten: bytes changed since
    notes: list[str] = field(default_factory=list)  # e.g. a stale lock taken over

    @property
    def bytes(self) -> int:
        """Total size of the shards."""
        return sum(e.bytes for e in self.entries)

    def rebuilt_note(self) -> str:
        """``; rebuilt N (files: sha256 differs ...)`` for a summary line, "" when none."""
        if not self.rebuilt:
            return ""
        return (
            f"; rebuilt {len(self.rebuilt)} ({', '.join(self.rebuilt)}: sha256 differs from "
            "the one recorded when it was written)"
        )


def build_shards(
    out: Path,
    plan: Plan,
    write: Callable[[Any], dict[str, Any]],
    *,
    schema: Schema,
    overwrite: bool = False,
    workers: int = 1,
    progress: Callable[[int], None] | None = None,
    rejected_before: Sequence[tuple[str, str]] = (),
    dropped_before: int = 0,
    inputs_prefix: bytes = b"",
    command: str | None = None,
    executor: Executor | None = None,
    timings: Timings | None = None,
) -> Built:
    """Run ``plan`` into ``out`` and finish it: ``rejected.csv``, then ``manifest.json``.

    ``out`` is locked meanwhile (:func:`pgdata.io.lock.folder_lock`, holder named ``command``,
    default this process's command line): a second build into it raises
    :class:`~pgdata.io.lock.LockedError` naming this one.

    Args:
        plan: the shards, their tasks, the kind, the config and the inputs stamp; a folder
            holding another kind, config or inputs is refused unless ``overwrite``.
        write: the kind's module-level writer (``write(task)`` → :meth:`ShardContent.write`).
        schema: what the manifest records beside ``plan.config``.
        rejected_before, dropped_before: rejections and dropped pairs of the planning step,
            listed before the shards' own.
        inputs_prefix: what the job read before sharding (e.g. the pair CSVs); the manifest's
            inputs sha256 hashes it and then every shard's inputs hash, in plan order.
        executor: where the shard tasks run (:mod:`pgdata.executor`: this process, a local
            pool, a Dask cluster); default a local pool of ``workers`` processes. The result is
            the same whichever runs them: the same shard bytes, the same manifest.
        timings: receives the seconds of ``shards`` (keep and write) and ``manifest``.
    """
    timings = timings or Timings()
    with folder_lock(out, command) as lock:
        with timings.step("shards"):
            run = run_plan(
                out,
                plan,
                write,
                overwrite=overwrite,
                workers=workers,
                progress=progress,
                token=lock.token,
                executor=executor,
            )
        with timings.step("manifest"):
            built = _finish(out, plan, run, schema, rejected_before, dropped_before, inputs_prefix)
    note = lock.note()
    built.notes = [note] if note else []
    return built


def build_shards_on(
    dask: str | None,
    dask_retries: int,
    out: Path,
    plan: Plan,
    write: Callable[[Any], dict[str, Any]],
    *,
    workers: int,
    timings: Timings,
    **kwargs: Any,
) -> tuple[Built, str]:
    """:func:`build_shards` on the executor a job's ``--dask`` / ``--workers`` name
    (:func:`~pgdata.executor.open_executor`; a cluster's start or connection is timed as
    ``start``); the build and where its tasks ran (``executor.description``)."""
    with open_executor(dask, workers=workers, retries=dask_retries) as executor:
        if dask is not None:
            timings.mark("start")
        built = build_shards(
            out, plan, write, workers=workers, executor=executor, timings=timings, **kwargs
        )
        return built, executor.description


def _finish(
    out: Path,
    plan: Plan,
    run: BuildRun,
    schema: Schema,
    rejected_before: Sequence[tuple[str, str]],
    dropped_before: int,
    inputs_prefix: bytes,
) -> Built:
    entries: list[ShardEntry] = []
    rejected = list(rejected_before)
    repaired: Counter[str] = Counter()
    dropped = dropped_before
    inputs = hashlib.sha256(inputs_prefix)
    for s in plan.shards:  # plan order
        res = run.results[s.file]
        rejected.extend((str(a), str(b)) for a, b in res["rejected"])
        repaired.update(res["repaired"])
        dropped += int(res["dropped_pairs"])
        entries.append(
            ShardEntry(s.file, s.split, res["records"], res["pairs"], res["bytes"], res["sha256"])
        )
        inputs.update(str(res["inputs_sha256"]).encode())
    write_rejected_csv(out / REJECTED_CSV, rejected)
    records: dict[str, int] = {}
    pairs: dict[str, int] = {}
    for e in entries:
        records[e.split] = records.get(e.split, 0) + e.records
        pairs[e.split] = pairs.get(e.split, 0) + e.pairs
    counts = {
        "records": records,
        "pairs": pairs,
        "rejected": len(rejected),
        "repaired": dict(sorted(repaired.items())),
        "dropped_pairs": dropped,
    }
    write_manifest(
        out,
        Manifest(schema, plan.config, inputs.hexdigest(), __version__, tuple(entries), counts),
    )
    return Built(
        run.written, run.kept, entries, rejected, repaired, dropped, records, pairs, run.rebuilt
    )
