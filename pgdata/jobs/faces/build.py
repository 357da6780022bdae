"""``pgdata build --recipe pipelines/faces.toml``: face shards for inpainting (DMFN).

The source is a folder of face photos of any size: a root with ``train/ val/ test/`` folders, or
one flat folder (one split). Each photo is cropped to its centred square and resized to
``size × size`` (:func:`pgdata.stages.faces.crop_resize_face`), then stored as one record:

- ``image``: RGB JPEG ``size × size`` (``jpeg_quality``);
- ``name``: its path inside the split folder;
- ``landmarks`` (only when the root has ``landmarks.csv``): float32 ``(K, 3)`` x, y, visibility
  in the crop's pixels (0 = missing, also for photos the file does not list).

A photo whose shorter side is below ``size`` (it would have to be enlarged) or that does not
decode is named in ``rejected.csv`` and counted, or stops the build under ``strict`` before any
shard is written. Masks are not stored: training draws them on the fly, evaluation reads a fixed
set (``pgdata masks``). Shards roll over by size and resume like every pgdata build.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from pgdata.config import check_number
from pgdata.errors import ConfigError, InputFormatError
from pgdata.executor import (
    DEFAULT_RETRIES,
    Timings,
    check_dask,
    portable_paths,
    timing_note,
)
from pgdata.io.files import read_bytes, stamp
from pgdata.io.folders import image_splits, split_folder
from pgdata.io.images import decode_rgb, encode_jpeg, image_size
from pgdata.io.landmarks import LANDMARKS_CSV, read_landmarks
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
from pgdata.stages.faces import crop_resize_face, crop_resize_landmarks, face_problem

__all__ = ["FacesBuildConfig", "FacesBuildResult", "faces_schema", "run_build_faces"]

KIND = "faces"
JPEG_BYTES_PER_PIXEL = 0.35  # a rough size of a q95 face JPEG, to plan shard sizes


@dataclass(frozen=True)
class FacesBuildConfig:
    """Options of ``pgdata build`` for a faces recipe (its ``[build]`` table plus flags).

    Attributes:
        source: root with ``train/ val/ test/`` folders of face photos, or a flat folder.
        out: the shard folder.
        size: side of the stored square faces (256).
        jpeg_quality: quality of the stored JPEGs.
        flat_split: the split name of a flat source folder.
        shard_mb, workers: shard rollover size and writer processes.
        strict: stop at the first bad photo instead of skipping and counting it.
        overwrite: replace shards of another build in ``out``.
        dask, dask_retries: run the shard tasks on Dask (``local:N``, a scheduler address or
            file; :mod:`pgdata.executor`) with this many resubmissions of a failed task.
    """

    source: Path
    out: Path
    size: int = 256
    jpeg_quality: int = 95
    flat_split: str = "train"
    shard_mb: float = 128.0
    workers: int = 1
    strict: bool = False
    overwrite: bool = False
    dask: str | None = None  # where the shard tasks run (pgdata.executor); None: ``workers``
    dask_retries: int = DEFAULT_RETRIES

    def __post_init__(self) -> None:
        if self.size < 8 or self.size % 4:
            raise ConfigError(f"size must be a multiple of 4 and >= 8, found {self.size}")
        if not 1 <= self.jpeg_quality <= 100:
            raise ConfigError(f"jpeg_quality must be in 1..100, found {self.jpeg_quality}")
        check_number("shard_mb", self.shard_mb, gt=0)
        check_number("workers", self.workers, ge=1)
        check_number("dask_retries", self.dask_retries, ge=0)
        check_dask(self.dask)

    def content(self) -> dict[str, Any]:
        """The options that decide the shards' bytes."""
        return {
            "size": self.size,
            "jpeg_quality": self.jpeg_quality,
            "shard_mb": self.shard_mb,
            "flat_split": self.flat_split,
        }


def faces_schema(size: int, landmarks: int) -> Schema:
    """The faces shard schema at ``size``² (with a ``landmarks`` column when ``landmarks > 0``)."""
    cols = [
        Column("image", "encoded", encoding="jpeg", doc=f"face, RGB JPEG {size}x{size}"),
        Column("name", "string", doc="path of the source photo inside its split folder"),
    ]
    if landmarks:
        cols.append(
            Column(
                "landmarks",
                "array",
                "float32",
                (landmarks, 3),
                doc="x, y in the crop's pixels, visibility (0 = missing)",
            )
        )
    return Schema(name=KIND, columns=tuple(cols), notes={"crop": "centre square, area resize"})


@dataclass
class FacesBuildResult:
    """What :func:`run_build_faces` did."""

    out: Path
    shards_written: int
    shards_kept: int
    records: dict[str, int]
    rejected: dict[str, int]  # reason kind -> count
    bytes: int
    size: int
    shards: list[Path] = field(default_factory=list)
    ran_on: str = ""  # where the shard tasks ran
    timings: dict[str, float] = field(default_factory=dict)  # seconds per step

    def times(self) -> str:
        """Where the tasks ran and the wall seconds of each step (a note line)."""
        return timing_note("build", self.ran_on, self.timings)

    def summary(self) -> str:
        """One line of counts."""
        recs = ", ".join(f"{s} {n}" for s, n in self.records.items())
        kinds = ", ".join(f"{k}={n}" for k, n in sorted(self.rejected.items()))
        return (
            f"build: wrote {self.shards_written} face shards, reused {self.shards_kept} complete shards "
            f"({self.bytes / 1e6:.1f} MB; {recs} faces of {self.size}x{self.size}); skipped "
            f"{sum(self.rejected.values())}" + (f": {kinds}" if kinds else "")
        )


@dataclass(frozen=True)
class _Task:
    shard: PlannedShard
    folder: Path
    out: Path
    names: list[str]
    landmarks: list[np.ndarray | None]  # per name, in the photo's pixels; None = not listed
    n_points: int
    cfg: FacesBuildConfig
    config: dict[str, Any]  # what the shard records as its build config


def _write_task(task: _Task) -> dict[str, Any]:
    """Crop, resize and write one shard (module level: runs in worker processes)."""
    cfg = task.cfg
    cols: dict[str, list[Any]] = {"image": [], "name": []}
    if task.n_points:
        cols["landmarks"] = []
    rejected: list[tuple[str, str]] = []
    digest = hashlib.sha256()
    for name, marks in zip(task.names, task.landmarks, strict=True):
        try:
            data = read_bytes(task.folder / name)
        except InputFormatError as e:  # not a regular file, too large, an I/O error
            rejected.append((f"{task.shard.split}/{name}", e.message))
            continue
        digest.update(hashlib.sha256(data).digest())
        try:
            photo = decode_rgb(data, name)
        except InputFormatError as e:
            rejected.append((f"{task.shard.split}/{name}", e.message))
            continue
        hw = (photo.shape[0], photo.shape[1])
        cols["image"].append(encode_jpeg(crop_resize_face(photo, cfg.size), cfg.jpeg_quality))
        cols["name"].append(name)
        if task.n_points:
            none = np.zeros((task.n_points, 3), np.float32)
            found = none if marks is None else crop_resize_landmarks(marks, hw, cfg.size)
            cols["landmarks"].append(found)
    content = ShardContent(cols, rejected, inputs_sha256=digest.hexdigest())
    return content.write(task.out, task.shard, faces_schema(cfg.size, task.n_points), task.config)


def _usable(cfg: FacesBuildConfig, path: Path) -> str | None:
    """Why the photo at ``path`` cannot be imported (size from its header), or None."""
    try:
        hw = image_size(path)
    except InputFormatError as e:
        return e.message
    return face_problem(hw, cfg.size)


def run_build_faces(
    cfg: FacesBuildConfig, progress: Callable[[int], None] | None = None
) -> FacesBuildResult:
    """Import the face photos of ``cfg.source`` into shards in ``cfg.out`` (see module doc).

    Raises:
        InputFormatError: under ``strict``, the first photo that is too small or unreadable
            (nothing is written then); a malformed ``landmarks.csv``.
    """
    given, timings = cfg, Timings()
    cfg = replace(cfg, **portable_paths(cfg))
    splits = image_splits(cfg.source, flat_split=cfg.flat_split)
    points: tuple[str, ...] = ()
    table: dict[str, np.ndarray] = {}
    if (cfg.source / LANDMARKS_CSV).is_file():
        points, table = read_landmarks(cfg.source / LANDMARKS_CSV)
    config = {**cfg.content(), "kind": KIND, "landmarks": list(points)}
    rejected: list[tuple[str, str]] = []
    planned, tasks = [], []
    inputs = hashlib.sha256(json_attr(config).encode())
    for split, all_names in splits.items():
        folder = split_folder(cfg.source, split)
        names, stamps = [], []
        for name in all_names:
            problem = _usable(cfg, folder / name)
            if problem is not None:
                if cfg.strict:
                    raise InputFormatError(folder / name, f"{problem} (--strict)")
                rejected.append((f"{split}/{name}", problem))
                continue
            found = stamp(folder / name)
            if found is None:
                raise InputFormatError(folder / name, "photo vanished while planning the build")
            names.append(name)
            stamps.append(found[0])
        estimate = [JPEG_BYTES_PER_PIXEL * cfg.size**2] * len(names)
        for k, run in enumerate(pack(estimate, cfg.shard_mb)):
            group = [names[i] for i in run]
            keys = [(folder / n).relative_to(cfg.source).as_posix() for n in group]
            marks = [table.get(key) for key in keys]
            file = shard_file(split, k)
            spec = hashlib.sha256(json_attr([config, file, group]).encode())
            for i in run:
                spec.update(stamps[i].encode())
            for m in marks:
                spec.update(b"-" if m is None else m.tobytes())
            shard = PlannedShard(file, split, spec.hexdigest())
            planned.append(shard)
            tasks.append(_Task(shard, folder, cfg.out, group, marks, len(points), cfg, config))
            inputs.update(shard.spec_sha.encode())
    if not planned:
        kinds = ", ".join(f"{k}={n}" for k, n in sorted(count_reasons(rejected).items()))
        raise InputFormatError(
            cfg.source, f"no usable face photo: all {len(rejected)} skipped ({kinds})"
        )
    timings.mark("plan")
    built, ran_on = build_shards_on(
        cfg.dask,
        cfg.dask_retries,
        cfg.out,
        Plan(KIND, config, inputs.hexdigest(), planned, tasks),
        _write_task,
        schema=faces_schema(cfg.size, len(points)),
        overwrite=cfg.overwrite,
        workers=cfg.workers,
        progress=progress,
        rejected_before=rejected,
        timings=timings,
    )
    return FacesBuildResult(
        out=given.out,
        shards_written=built.written,
        shards_kept=built.kept,
        records=built.records,
        rejected=dict(count_reasons(built.rejected)),
        bytes=built.bytes,
        size=cfg.size,
        shards=sorted(given.out / e.file for e in built.entries),
        ran_on=ran_on,
        timings=timings.seconds,
    )
