"""``pgdata build --recipe pipelines/aligned.toml``: shards of pix2pix's aligned A|B images.

The source is pix2pix's layout: a root with ``train/ val/ test/`` folders of A|B images (A left,
B right; ``pgdata combine-ab`` makes them), or one flat folder (one split). Each image becomes one
record:

- ``image``: the file's bytes as they are when it is a JPEG or PNG that decodes (no generation
  loss; pix2pix reads the same bytes), else re-encoded as PNG;
- ``name``: its path inside the split folder.

An image whose width is odd (its halves would differ by a column) or that does not decode is
named in ``rejected.csv`` and counted, or stops the build under ``strict`` before any shard is
written. Shards roll over by size and resume like every pgdata build (:mod:`pgdata.shards.build`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from pgdata.config import check_number
from pgdata.errors import InputFormatError
from pgdata.executor import (
    DEFAULT_RETRIES,
    Timings,
    check_dask,
    portable_paths,
    timing_note,
)
from pgdata.io.files import read_bytes, stamp
from pgdata.io.folders import image_splits, split_folder
from pgdata.io.images import encode_png, image_size
from pgdata.io.jpeg import jpeg_info
from pgdata.io.reports import count_reasons
from pgdata.shards.build import (
    Plan,
    PlannedShard,
    ShardContent,
    build_shards_on,
    pack,
    shard_file,
)
from pgdata.shards.schema import Column, Schema
from pgdata.shards.writer import json_attr
from pgdata.stages.aligned import ab_problem

__all__ = ["AlignedBuildConfig", "AlignedBuildResult", "aligned_schema", "run_build_aligned"]

KIND = "aligned"
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class AlignedBuildConfig:
    """Options of ``pgdata build`` for an aligned recipe (its ``[build]`` table plus flags).

    Attributes:
        source: root with ``train/ val/ test/`` folders of A|B images, or a flat folder.
        out: the shard folder.
        flat_split: the split name of a flat source folder.
        shard_mb: roll over to a new shard at about this many MB.
        workers: processes writing shards.
        strict: stop at the first bad image instead of skipping and counting it.
        overwrite: replace shards of another build in ``out``.
        dask, dask_retries: run the shard tasks on Dask (``local:N``, a scheduler address or
            file; :mod:`pgdata.executor`) with this many resubmissions of a failed task.
    """

    source: Path
    out: Path
    flat_split: str = "train"
    shard_mb: float = 128.0
    workers: int = 1
    strict: bool = False
    overwrite: bool = False
    dask: str | None = None  # where the shard tasks run (pgdata.executor); None: ``workers``
    dask_retries: int = DEFAULT_RETRIES

    def __post_init__(self) -> None:
        check_number("shard_mb", self.shard_mb, gt=0)
        check_number("workers", self.workers, ge=1)
        check_number("dask_retries", self.dask_retries, ge=0)
        check_dask(self.dask)

    def content(self) -> dict[str, Any]:
        """The options that decide the shards' bytes."""
        return {"shard_mb": self.shard_mb, "flat_split": self.flat_split}


def aligned_schema() -> Schema:
    """The aligned shard schema: one A|B image per record."""
    return Schema(
        name=KIND,
        columns=(
            Column(
                "image",
                "encoded",
                encoding="image",
                doc="A|B image (A left, B right), the source file's JPEG or PNG bytes",
            ),
            Column("name", "string", doc="path of the image inside its split folder"),
        ),
        notes={"split": "at width // 2; widths are even (odd ones are rejected)"},
    )


@dataclass
class AlignedBuildResult:
    """What :func:`run_build_aligned` did."""

    out: Path
    shards_written: int
    shards_kept: int
    records: dict[str, int]
    rejected: dict[str, int]  # reason kind -> count
    bytes: int
    shards: list[Path] = field(default_factory=list)
    ran_on: str = ""  # where the shard tasks ran
    timings: dict[str, float] = field(default_factory=dict)  # seconds per step

    def times(self) -> str:
        """Where the tasks ran and the wall seconds of each step (a note line)."""
        return timing_note("build", self.ran_on, self.timings)

    def summary(self) -> str:
        """One line of counts."""
        recs = ", ".join(f"{s} {n}" for s, n in self.records.items())
        bad = sum(self.rejected.values())
        kinds = ", ".join(f"{k}={n}" for k, n in sorted(self.rejected.items()))
        return (
            f"build: wrote {self.shards_written} aligned shards, reused {self.shards_kept} complete shards "
            f"({self.bytes / 1e6:.1f} MB; {recs} images); skipped {bad}"
            + (f": {kinds}" if kinds else "")
        )


def _stored_bytes(data: bytes) -> bytes | str:
    """The bytes to store for one A|B file, or why it is rejected."""
    arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED) if data else None
    if arr is None:
        return "cannot decode image (corrupt, truncated or not an image)"
    problem = ab_problem((arr.shape[0], arr.shape[1]))
    if problem is not None:
        return problem
    info = jpeg_info(data)
    if (info is not None and info.complete) or data.startswith(_PNG_MAGIC):
        return data
    rgb = cv2.cvtColor(arr, cv2.COLOR_BGR2RGB) if arr.ndim == 3 else arr
    return encode_png(rgb[..., :3] if rgb.ndim == 3 else rgb)


def _write_task(
    args: tuple[PlannedShard, Path, Path, list[str], dict[str, Any]],
) -> dict[str, Any]:
    """Write one shard (module level: runs in worker processes)."""
    shard, folder, out, names, config = args
    cols: dict[str, list[Any]] = {"image": [], "name": []}
    rejected: list[tuple[str, str]] = []
    digest = hashlib.sha256()
    for name in names:
        try:
            data = read_bytes(folder / name)
        except InputFormatError as e:  # not a regular file, too large, an I/O error
            rejected.append((f"{shard.split}/{name}", e.message))
            continue
        digest.update(hashlib.sha256(data).digest())
        stored = _stored_bytes(data)
        if isinstance(stored, str):
            rejected.append((f"{shard.split}/{name}", stored))
            continue
        cols["image"].append(stored)
        cols["name"].append(name)
    content = ShardContent(cols, rejected, inputs_sha256=digest.hexdigest())
    return content.write(out, shard, aligned_schema(), config)


def _usable(path: Path, *, strict: bool) -> str | None:
    """Why the file at ``path`` cannot be imported, or None (``strict``: decode it all)."""
    if strict:
        stored = _stored_bytes(read_bytes(path))
        return stored if isinstance(stored, str) else None
    try:
        return ab_problem(image_size(path))
    except InputFormatError as e:
        return e.message


def run_build_aligned(
    cfg: AlignedBuildConfig, progress: Callable[[int], None] | None = None
) -> AlignedBuildResult:
    """Import the A|B images of ``cfg.source`` into shards in ``cfg.out`` (see module doc).

    Raises:
        InputFormatError: under ``strict``, the first image with an odd width or that does not
            decode (nothing is written then); a source without one usable image.
    """
    given, timings = cfg, Timings()
    cfg = replace(cfg, **portable_paths(cfg))
    splits = image_splits(cfg.source, flat_split=cfg.flat_split)
    config = {**cfg.content(), "kind": KIND}
    rejected: list[tuple[str, str]] = []
    planned, tasks = [], []
    inputs = hashlib.sha256(json_attr(config).encode())
    for split, all_names in splits.items():
        folder = split_folder(cfg.source, split)
        names, stamps = [], []
        for name in all_names:
            problem = _usable(folder / name, strict=cfg.strict)
            if problem is not None:
                if cfg.strict:
                    raise InputFormatError(folder / name, f"not an A|B image: {problem} (--strict)")
                rejected.append((f"{split}/{name}", problem))
                continue
            found = stamp(folder / name)
            if found is None:
                raise InputFormatError(folder / name, "image vanished while planning the build")
            names.append(name)
            stamps.append(found)
        for k, run in enumerate(pack([s[1] for s in stamps], cfg.shard_mb)):
            group = [names[i] for i in run]
            file = shard_file(split, k)
            spec = hashlib.sha256(json_attr([config, file, group]).encode())
            for i in run:
                spec.update(stamps[i][0].encode())
            shard = PlannedShard(file, split, spec.hexdigest())
            planned.append(shard)
            tasks.append((shard, folder, cfg.out, group, config))
            inputs.update(shard.spec_sha.encode())
    if not planned:
        kinds = ", ".join(f"{k}={n}" for k, n in sorted(count_reasons(rejected).items()))
        raise InputFormatError(
            cfg.source, f"no usable A|B image: all {len(rejected)} skipped ({kinds})"
        )
    timings.mark("plan")
    built, ran_on = build_shards_on(
        cfg.dask,
        cfg.dask_retries,
        cfg.out,
        Plan(KIND, config, inputs.hexdigest(), planned, tasks),
        _write_task,
        schema=aligned_schema(),
        overwrite=cfg.overwrite,
        workers=cfg.workers,
        progress=progress,
        rejected_before=rejected,
        timings=timings,
    )
    return AlignedBuildResult(
        out=given.out,
        shards_written=built.written,
        shards_kept=built.kept,
        records=built.records,
        rejected=dict(count_reasons(built.rejected)),
        bytes=built.bytes,
        shards=sorted(given.out / e.file for e in built.entries),
        ran_on=ran_on,
        timings=timings.seconds,
    )
