"""``pgdata build --recipe pipelines/viton-hd.toml``: try-on HDF5 shards from a VITON-HD root.

First the recipe's missing preprocessing stages run on the root (:func:`run_tryon_pipeline`, which
skips what is already done); then every line of ``<split>_pairs.txt`` (person, garment) becomes one
record with everything an HR-VITON / VITON-HD loader reads:

- ``image``, ``agnostic``, ``cloth``, ``densepose`` (when the root has DensePose): JPEG bytes,
  kept as they are when they are complete baseline RGB JPEGs of the image size;
- ``parse``, ``parse_agnostic``: uint8 label ids (H, W), gzip, one record per chunk;
- ``cloth_mask``: uint8 (H, W) as decoded from the mask JPEG (loaders threshold at 128);
- ``keypoints``: float32 (25, 3) BODY_25 x, y, confidence (``people[0]``, as HR-VITON reads);
- ``person``, ``cloth_id``: file stems.

Shards roll over by size, resume and quarantine exactly like the pose-transfer build
(:mod:`pgdata.shards.resume`); a record missing a required file is rejected with the stage that
makes it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from pgdata.config import Recipe, check_number
from pgdata.errors import InputFormatError, PgdataError
from pgdata.executor import (
    DEFAULT_RETRIES,
    Timings,
    check_dask,
    open_executor,
    portable_paths,
    timing_note,
)
from pgdata.io.files import read_bytes
from pgdata.io.files import stamp as file_stamp
from pgdata.io.images import decode_mask, image_size
from pgdata.io.jpeg import jpeg_info
from pgdata.io.openpose import read_openpose
from pgdata.io.reports import counted, nothing_kept
from pgdata.io.viton import decode_parse_png, read_pairs_txt, sample_paths, split_dirs
from pgdata.jobs.tryon.pipeline import TryonResult, load_tryon_recipe, run_tryon_pipeline
from pgdata.labels import BODY25_JOINTS
from pgdata.shards.build import Plan, PlannedShard, ShardContent, build_shards, pack, shard_file
from pgdata.shards.encode import prepare_jpeg
from pgdata.shards.schema import Column, Schema
from pgdata.shards.writer import json_attr
from pgdata.stages.keypoints import coco18_to_body25
from pgdata.stages.parsing import resize_parsing

__all__ = ["TryonBuildConfig", "TryonBuildResult", "run_build_tryon", "tryon_schema"]

# kind in io.viton.sample_paths -> (column, stage that writes it)
_REQUIRED = {
    "image": ("image", "the person photo"),
    "parse": ("parse", "pgdata parsing"),
    "openpose_json": ("keypoints", "pgdata keypoints"),
    "agnostic": ("agnostic", "pgdata agnostic"),
    "parse_agnostic": ("parse_agnostic", "pgdata agnostic"),
    "cloth": ("cloth", "the garment photo"),
    "cloth_mask": ("cloth_mask", "pgdata cloth-mask"),
}


@dataclass(frozen=True)
class TryonBuildConfig:
    """Options of ``pgdata build`` for a try-on recipe (its ``[build]`` table plus flags)."""

    source: Path
    out: Path
    recipe: Path | Recipe | None = None  # the try-on recipe whose stages run first
    shard_mb: float = 128.0
    jpeg_quality: int = 95  # only for images that must be re-encoded
    workers: int = 1
    profile: bool = False
    run_stages: bool = True
    overwrite: bool = False
    # where the stage chunks and the shard tasks run: None (``workers`` local processes),
    # ``local:N`` or a Dask scheduler address / file (pgdata.executor)
    dask: str | None = None
    dask_retries: int = DEFAULT_RETRIES

    def __post_init__(self) -> None:
        check_number("shard_mb", self.shard_mb, gt=0)
        check_number("workers", self.workers, ge=1)
        check_number("jpeg_quality", self.jpeg_quality, ge=1, le=100)
        check_number("dask_retries", self.dask_retries, ge=0)
        check_dask(self.dask)

    def content(self) -> dict[str, Any]:
        """The options that decide the shards' content."""
        return {"shard_mb": self.shard_mb, "jpeg_quality": self.jpeg_quality}


def tryon_schema(image_hw: tuple[int, int], *, densepose: bool) -> Schema:
    """The try-on shard schema."""
    h, w = image_hw
    cols = [
        Column.jpeg("image", f"person photo, RGB JPEG {h}x{w} (HxW)"),
        Column.jpeg("agnostic", "agnostic-v3.2 person, RGB JPEG"),
        Column.jpeg("cloth", "garment of this pair, RGB JPEG"),
        Column.plane(
            "cloth_mask", (h, w), "garment mask as decoded from the JPEG; >= 128 is garment"
        ),
        Column.plane("parse", (h, w), "image-parse-v3 label ids (CIHP/VITON-HD, 10 = neck)"),
        Column.plane("parse_agnostic", (h, w), "image-parse-agnostic-v3.2 label ids"),
        Column.keypoints(
            "keypoints",
            len(BODY25_JOINTS),
            "BODY_25 x, y, confidence in image pixels (0 = missing)",
        ),
        Column.text("person", "person id (file stem)"),
        Column.text("cloth_id", "garment id of this pair (file stem)"),
    ]
    if densepose:
        cols.insert(3, Column.jpeg("densepose", "image-densepose, RGB JPEG"))
    return Schema(
        name="tryon",
        columns=tuple(cols),
        tables=(),
        notes={"records": "one record per line of <split>_pairs.txt, in file order"},
    )


@dataclass
class TryonBuildResult:
    """What ``run_build_tryon`` did."""

    out: Path
    stages: TryonResult | None
    shards_written: int
    shards_kept: int
    records: dict[str, int]
    rejected: int
    repaired: dict[str, int]
    bytes: int
    image_hw: tuple[int, int]
    notes: list[str] = field(default_factory=list)
    shards: list[Path] = field(default_factory=list)  # the shard files, sorted
    ran_on: str = ""  # where the stage chunks and shard tasks ran
    timings: dict[str, float] = field(default_factory=dict)  # wall seconds per stage and step

    def times(self) -> str:
        """Where the tasks ran and the wall seconds of each step (a note line)."""
        return timing_note("build", self.ran_on, self.timings)

    def summary(self) -> str:
        """One line of counts."""
        recs = ", ".join(f"{s} {n} pairs" for s, n in self.records.items())
        return (
            f"build: wrote {self.shards_written} try-on shards, reused {self.shards_kept} "
            f"complete shards ({self.bytes / 1e6:.1f} MB; {recs}); rejected {self.rejected}, "
            f"repaired {counted(self.repaired)}"
        )


@dataclass(frozen=True)
class _Sample:
    split: str
    person: str
    cloth: str
    paths: dict[str, Path]
    stamp: str
    size: int


def _stamp(paths: dict[str, Path]) -> tuple[str, int]:
    parts, total = [], 0
    for kind in sorted(paths):
        found = file_stamp(paths[kind])
        if found is None:
            raise InputFormatError(paths[kind], "file vanished while the build was being planned")
        parts.append(f"{kind}:{found[0]}")
        total += found[1]
    return "|".join(parts), total


def _image_hw(path: Path) -> tuple[int, int] | None:
    info = jpeg_info(read_bytes(path))
    if info is not None:
        return info.height, info.width
    try:
        return image_size(path)
    except InputFormatError:
        return None


def _scan(
    root: Path, rejected: list[tuple[str, str]]
) -> tuple[list[_Sample], tuple[int, int] | None, bool]:
    samples: list[_Sample] = []
    for split, d in split_dirs(root):
        pairs_file = root / f"{split}_pairs.txt"
        if not pairs_file.is_file():
            raise InputFormatError(
                pairs_file,
                "pair list not found: run `pgdata build-pairs --dataset viton-hd` (or the recipe's pairs stage)",
            )
        for person, cloth in read_pairs_txt(pairs_file):
            found = sample_paths(d, person, cloth)
            missing = [
                f"{col} (made by {by})"
                for kind, (col, by) in _REQUIRED.items()
                if found.get(kind) is None
            ]
            if missing:
                rejected.append((f"{split}/{person} {cloth}", "missing " + ", ".join(missing)))
                continue
            paths = {
                k: p
                for k, p in found.items()
                if p is not None and (k in _REQUIRED or k == "densepose")
            }
            stamp, size = _stamp(paths)
            samples.append(_Sample(split, person, cloth, paths, stamp, size))
    image_hw = _image_hw(samples[0].paths["image"]) if samples else None
    with_densepose = bool(samples) and all("densepose" in s.paths for s in samples)
    return samples, image_hw, with_densepose


def _labels(path: Path, hw: tuple[int, int]) -> np.ndarray:
    labels = decode_parse_png(read_bytes(path), path)
    if labels.shape != hw:
        raise InputFormatError(
            path, f"label map is {labels.shape[0]}x{labels.shape[1]}, image is {hw[0]}x{hw[1]}"
        )
    return labels


def _keypoints(path: Path) -> np.ndarray:
    people = read_openpose(path)
    if not people:
        raise InputFormatError(path, "no person in the OpenPose JSON")
    kps = people[0]  # HR-VITON reads people[0]
    return kps if len(kps) == 25 else coco18_to_body25(kps)


def _reason(error: PgdataError, root: Path) -> str:
    """Why a sample is rejected, naming its file relative to the dataset root (the reason goes
    into the shard: it must not depend on where the root is or how it was spelled)."""
    if isinstance(error, InputFormatError):
        path = Path(error.path)
        where = path.relative_to(root).as_posix() if path.is_relative_to(root) else path.name
        line = f":{error.line}" if error.line is not None else ""
        return f"{where}{line}: {error.message}"
    return str(error)


_Task = tuple[PlannedShard, list[_Sample], Path, tuple[int, int], bool, dict[str, Any], Path]


def _write_task(args: _Task) -> dict[str, Any]:
    """Write one try-on shard (module level: runs in worker processes or on Dask workers)."""
    shard, samples, out, hw, with_densepose, content, root = args
    schema = tryon_schema(hw, densepose=with_densepose)
    cols: dict[str, list[Any]] = {c.name: [] for c in schema.columns}
    rejected: list[tuple[str, str]] = []
    repaired: dict[str, int] = {}
    digest = hashlib.sha256()
    quality = int(content["jpeg_quality"])
    for s in samples:
        item = f"{s.split}/{s.person} {s.cloth}"
        try:
            raw = {k: read_bytes(p) for k, p in s.paths.items()}
        except InputFormatError as e:  # not a regular file, too large, an I/O error
            rejected.append((item, _reason(e, root)))
            continue
        for k in sorted(raw):
            digest.update(f"{k}\0{hashlib.sha256(raw[k]).hexdigest()}\0".encode())
        try:
            row: dict[str, Any] = {}
            for kind in ("image", "agnostic", "cloth") + (("densepose",) if with_densepose else ()):
                prepared = prepare_jpeg(raw[kind], hw, quality)
                if isinstance(prepared, str):
                    raise InputFormatError(s.paths[kind], prepared)
                data, source_hw, notes = prepared
                if source_hw != hw and kind in ("image", "agnostic"):
                    raise InputFormatError(
                        s.paths[kind], f"size differs from the dataset's {hw[0]}x{hw[1]}"
                    )
                for n in notes:
                    repaired[f"{kind}: {n}"] = repaired.get(f"{kind}: {n}", 0) + 1
                row[kind] = data
            mask = decode_mask(raw["cloth_mask"], s.paths["cloth_mask"])
            if mask.shape != hw:
                mask = resize_parsing(mask, hw)
                repaired["cloth_mask: resized (nearest)"] = (
                    repaired.get("cloth_mask: resized (nearest)", 0) + 1
                )
            row["cloth_mask"] = mask
            row["parse"] = _labels(s.paths["parse"], hw)
            row["parse_agnostic"] = _labels(s.paths["parse_agnostic"], hw)
            row["keypoints"] = _keypoints(s.paths["openpose_json"])
        except PgdataError as e:
            rejected.append((item, _reason(e, root)))
            continue
        row["person"], row["cloth_id"] = s.person, s.cloth
        for name, value in row.items():
            cols[name].append(value)
    records = ShardContent(cols, rejected, repaired, digest.hexdigest(), pairs=len(cols["person"]))
    return records.write(out, shard, schema, content)


def run_build_tryon(
    cfg: TryonBuildConfig, progress: Callable[[int], None] | None = None
) -> TryonBuildResult:
    """Run the missing preprocessing stages, then build (or resume) the try-on shards.

    The stages' items (in chunks) and the shards (one task each) run where ``cfg.dask`` says
    (:func:`pgdata.executor.open_executor`); the outputs are the same wherever they ran.
    """
    if not cfg.source.is_dir():
        raise InputFormatError(cfg.source, "dataset root not found")
    given, timings = cfg, Timings()
    cfg = replace(cfg, **portable_paths(cfg))
    with open_executor(cfg.dask, workers=cfg.workers, retries=cfg.dask_retries) as executor:
        if cfg.dask is not None:
            timings.mark("start")  # the cluster's start (or connection)
        stages = None
        if cfg.run_stages:
            recipe = load_tryon_recipe(cfg.recipe, cfg.source, profile=cfg.profile)
            stages = run_tryon_pipeline(recipe, executor=executor)
            for stage in stages.stages:
                timings.seconds[stage.stage] = stage.wall
        rejected: list[tuple[str, str]] = []
        with timings.step("plan"):
            samples, hw, with_densepose = _scan(cfg.source, rejected)
            if hw is None:
                raise InputFormatError(
                    given.source,
                    nothing_kept(
                        "no complete try-on sample to store (a pair-list line whose photo, "
                        "garment and preprocessing outputs all exist)",
                        rejected,
                        {
                            "missing": "run `pgdata tryon ROOT` with the import folders of the "
                            "missing stages"
                        },
                    ),
                )
            plan = _plan(cfg, samples, hw, with_densepose)
        done = build_shards(
            cfg.out,
            plan,
            _write_task,
            schema=tryon_schema(hw, densepose=with_densepose),
            overwrite=cfg.overwrite,
            workers=cfg.workers,
            progress=progress,
            rejected_before=rejected,
            executor=executor,
            timings=timings,
        )
        ran_on = executor.description
    return TryonBuildResult(
        out=given.out,
        stages=stages,
        shards_written=done.written,
        shards_kept=done.kept,
        records=done.records,
        rejected=len(done.rejected),
        repaired=dict(done.repaired),
        bytes=done.bytes,
        image_hw=hw,
        notes=list(stages.notes) if stages else [],
        shards=sorted(given.out / e.file for e in done.entries),
        ran_on=ran_on,
        timings=timings.seconds,
    )


def _plan(
    cfg: TryonBuildConfig, samples: list[_Sample], hw: tuple[int, int], with_densepose: bool
) -> Plan:
    """Cut the samples into shards by size (never mixing splits), one task per shard."""
    content = {**cfg.content(), "image_hw": list(hw), "densepose": with_densepose}
    counters: dict[str, int] = {}
    planned, tasks = [], []
    stamp = hashlib.sha256(json_attr(content).encode())
    sizes, splits = [s.size for s in samples], [s.split for s in samples]
    for run in pack(sizes, cfg.shard_mb, splits):
        group = [samples[i] for i in run]
        split = group[0].split
        counters[split] = counters.get(split, -1) + 1
        file = shard_file(split, counters[split])
        h = hashlib.sha256(json_attr([content, file]).encode())
        for s in group:
            h.update(f"{s.person}\0{s.cloth}\0{s.stamp}\0".encode())
        shard = PlannedShard(file, split, h.hexdigest())
        planned.append(shard)
        tasks.append((shard, group, cfg.out, hw, with_densepose, content, cfg.source))
        stamp.update(shard.spec_sha.encode())
    return Plan("tryon", content, stamp.hexdigest(), planned, tasks)
