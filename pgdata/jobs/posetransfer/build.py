"""``pgdata build``: pose-transfer HDF5 shards from what ``build-pairs`` wrote.

Input (``source``): ``<annotation CSV>``, ``<pair CSV>`` per split, images in ``<split>/<name>``,
optional parsing maps in ``parsing/<split>/<stem>.png``.

Output (``out``): ``<split>-NNNNN.h5`` shards, ``rejected.csv`` and ``manifest.json`` (last).

How it stays correct under crashes:

1. Every input file is hashed; the records of a split are cut into shards along the connected
   components of the pair graph (a pair never spans two shards), in annotation order, rolling
   over at ``shard_mb``. The plan (config, inputs hash, one spec hash per shard) goes to
   ``build-plan.json`` before any shard is written.
2. Each shard is written by one process to ``NAME.partial`` and renamed when complete; its spec
   hash and its own results (rejections, repairs) are stored in its attributes.
3. A rerun with the same inputs and config keeps every complete shard whose spec hash matches,
   builds the rest and writes a manifest byte-identical to an uninterrupted build. Different
   inputs or config are refused unless ``overwrite``.

Keypoints are in the **annotation frame** (``annotation_hw``: 256×176 for DeepFashion, 128×64
for Market-1501, or what ``build-pairs.json`` of the source records), whatever size the image files
have: they are scaled only from that frame to ``image_hw``, never by an image's own size. An image
of another size is resized to ``image_hw`` and counted as a repair named by its kind (``stretched``
when its aspect ratio differs); with ``strict`` such an image stops the build before anything is
written.

Bad input is repaired where that is safe (grey, CMYK or alpha images → RGB; joints far outside
the image → marked missing, see :func:`offimage_margin`) and quarantined otherwise (missing,
zero-byte, truncated or undecodable images, images without annotation); pairs that lose an image
are dropped and counted. A build that keeps no record sets ``problem`` (the CLI exits 1).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

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
from pgdata.io.files import read_bytes
from pgdata.io.images import decode_label_png
from pgdata.io.pose_csv import DATASETS, FRAME, SPLITS, output_names
from pgdata.io.reports import counted, nothing_kept
from pgdata.jobs.posetransfer.plan import (
    Record,
    ShardSpec,
    annotation_frame,
    looks_like_tryon,
    plan_split,
    scan_split,
    sha256_hex,
)
from pgdata.labels import COCO18_JOINTS
from pgdata.shards.build import Plan, ShardContent, build_shards_on
from pgdata.shards.encode import prepare_jpeg, resize_note
from pgdata.shards.schema import Column, Schema
from pgdata.stages.heatmaps import render_heatmaps
from pgdata.stages.keypoints import drop_far_joints
from pgdata.stages.parsing import resize_parsing

__all__ = ["BuildConfig", "BuildResult", "pose_schema", "run_build"]


@dataclass(frozen=True)
class BuildConfig:
    """Options of ``pgdata build`` for pose-transfer shards (the ``[build]`` table of a recipe)."""

    source: Path
    out: Path
    dataset: Literal["deepfashion", "market1501"] = "deepfashion"
    image_hw: tuple[int, int] = (256, 176)
    jpeg_quality: int = 95
    shard_mb: float = 128.0
    parsing: bool = True  # store parsing maps when the source has them
    store_heatmaps: bool = False
    heatmap_sigma: float = 6.0
    workers: int = 1
    overwrite: bool = False
    # frame (H, W) the annotation CSVs' keypoints are in; None: the source's build-pairs.json,
    # else the dataset's (pgdata.io.pose_csv.FRAME)
    annotation_hw: tuple[int, int] | None = None
    strict: bool = False  # an image not at the annotation frame stops the build
    # read files that are symbolic links to places outside ``source`` (refused otherwise)
    follow_symlinks: bool = False
    # where the shard tasks run: None (this machine, ``workers`` processes), ``local:N`` (a Dask
    # LocalCluster of N processes) or a Dask scheduler address / scheduler file
    dask: str | None = None
    dask_retries: int = DEFAULT_RETRIES  # resubmissions of a failed shard task

    def __post_init__(self) -> None:
        if self.dataset not in DATASETS:
            raise ConfigError(f"dataset must be one of {list(DATASETS)}, got {self.dataset!r}")
        check_number("shard_mb", self.shard_mb, gt=0)
        check_number("heatmap_sigma", self.heatmap_sigma, gt=0)
        check_number("workers", self.workers, ge=1)
        check_number("dask_retries", self.dask_retries, ge=0)
        check_dask(self.dask)
        if not 1 <= self.jpeg_quality <= 100:
            raise ConfigError("jpeg_quality must be in 1..100")
        if min(self.image_hw) < 1:
            raise ConfigError("image_hw must be two positive integers (height, width)")
        if self.annotation_hw is not None and min(self.annotation_hw) < 1:
            raise ConfigError("annotation_hw must be two positive integers (height, width)")

    @property
    def frame_hw(self) -> tuple[int, int]:
        """The annotation frame: ``annotation_hw``, else the dataset's."""
        return self.annotation_hw or FRAME[self.dataset]

    def content(self) -> dict[str, Any]:
        """The options that decide the shards' content (saved in shards and manifest)."""
        d = asdict(self)
        for k in (
            "source",
            "out",
            "workers",
            "overwrite",
            "strict",
            "follow_symlinks",
            "dask",
            "dask_retries",
        ):
            d.pop(k)
        d["image_hw"] = list(self.image_hw)
        d["annotation_hw"] = list(self.frame_hw)
        return d


def pose_schema(image_hw: tuple[int, int], *, parsing: bool, heatmaps: bool) -> Schema:
    """The pose-transfer shard schema."""
    h, w = image_hw
    cols = [
        Column.jpeg("image", f"RGB JPEG, {h}x{w} (HxW)"),
        Column.keypoints(
            "keypoints",
            len(COCO18_JOINTS),
            "COCO-18 (OpenPose order), x, y, visibility in image pixels; visibility 0 = missing (x = y = 0)",
        ),
        Column.text("name", "image name as in the pair CSVs"),
        Column.text("person", "pair-group key (identity / outfit)"),
    ]
    if parsing:
        cols.append(Column.plane("parsing", (h, w), "CIHP label ids, HxW"))
    if heatmaps:
        cols.append(
            Column(
                "heatmaps",
                "array",
                "float16",
                (18, h, w),
                "gzip",
                doc="PATN Gaussians, sigma in config",
            )
        )
    return Schema(
        name="pose-transfer",
        columns=tuple(cols),
        tables=("pairs", "pairs_rank"),
        notes={
            "pairs": "int32 (P, 2) local record indices (from, to) of this shard's pairs",
            "pairs_rank": "int64 (P,) row of each pair in the split's pair CSV (0-based)",
        },
    )


@dataclass
class BuildResult:
    """What ``run_build`` did."""

    out: Path
    shards_written: int
    shards_kept: int
    records: dict[str, int]
    pairs: dict[str, int]
    rejected: int
    repaired: dict[str, int]
    dropped_pairs: int
    bytes: int
    shards: list[Path] = field(default_factory=list)  # the shard files, sorted
    problem: str | None = None  # set when no record was kept: the CLI exits 1 with it
    rebuilt: str = ""  # "; rebuilt N (...)": shards whose bytes changed since they were written
    notes: list[str] = field(default_factory=list)  # e.g. a stale lock taken over
    ran_on: str = ""  # where the shard tasks ran (pgdata.executor descriptions)
    timings: dict[str, float] = field(default_factory=dict)  # seconds per step

    def times(self) -> str:
        """Where the tasks ran and the wall seconds of each step (a note line)."""
        return timing_note("build", self.ran_on, self.timings)

    def summary(self) -> str:
        """One line of counts."""
        recs = ", ".join(
            f"{s} {n} images/{self.pairs.get(s, 0)} pairs" for s, n in self.records.items()
        )
        return (
            f"build: wrote {self.shards_written} shards, reused {self.shards_kept} complete "
            f"shards{self.rebuilt} ({self.bytes / 1e6:.1f} MB; {recs}); rejected {self.rejected}, "
            f"repaired {counted(self.repaired)}, dropped pairs {self.dropped_pairs}"
        )


# -------------------------------------------------------------------------------- shard writing


def offimage_margin(sigma: float) -> float:
    """How far outside the frame a joint may lie and still be kept, in pixels.

    The reference loaders keep joints just outside the crop (PATN's x - 40 shift makes many) and
    render the visible tail of their Gaussian. Beyond ``sigma * sqrt(2 ln 1e6)`` (31.5 px at
    sigma 6) a joint adds less than 1e-6 to any pixel, so marking it missing changes no heatmap
    by more than that: such joints (and garbage coordinates) are marked missing.
    """
    return sigma * float(np.sqrt(2 * np.log(1e6)))


Hashes = Callable[[bytes], None]  # ``hashlib`` object's ``update``


# the largest relative difference of aspect ratios that still counts as a plain resize
ASPECT_TOLERANCE = 0.02


def frame_repair(
    source_hw: tuple[int, int], frame_hw: tuple[int, int], *, what: str = "annotation"
) -> str:
    """The repair kind of an image of ``source_hw`` resized to the ``what`` frame ``frame_hw``:
    ``resized to ...``, or ``stretched to ...`` when the aspect ratios differ by more than
    :data:`ASPECT_TOLERANCE` (the keypoints then no longer fit the person: check the source)."""
    (sh, sw), (fh, fw) = source_hw, frame_hw
    if abs((sw / sh) / (fw / fh) - 1) > ASPECT_TOLERANCE:
        return f"stretched to the {fh}x{fw} {what} frame (another aspect ratio)"
    return f"resized to the {fh}x{fw} {what} frame"


def _record_image(
    rec: Record,
    hw: tuple[int, int],
    frame: tuple[int, int],
    quality: int,
    margin: float,
    hash_input: Hashes,
) -> tuple[bytes, np.ndarray, list[str]] | str:
    """JPEG bytes to store, keypoints in their pixels and the repairs made; or why not.

    The image is kept, repaired or re-encoded (and resized to ``hw``) by :func:`prepare_jpeg`.
    Keypoints are in the annotation ``frame``: they are scaled from it to ``hw``, never by the
    image's own size; joints farther than ``margin`` outside the image are marked missing.
    ``hash_input`` receives what identifies the bytes read (the shard's inputs hash).
    """
    try:
        raw = read_bytes(rec.image)
    except InputFormatError as e:  # not a regular file, too large, an I/O error: quarantined
        return e.message
    hash_input(f"{rec.name}\0{sha256_hex(raw)}\0".encode())
    prepared = prepare_jpeg(raw, hw, quality)
    if isinstance(prepared, str):
        return prepared
    data, source_hw, notes = prepared
    if source_hw != hw:
        notes.remove(resize_note(hw))
        if source_hw != frame:  # at the frame, resizing to hw is the configuration, no repair
            notes.append(frame_repair(source_hw, frame))
    kps = rec.kps.copy()
    if hw != frame:
        kps[:, :2] *= np.array([hw[1] / frame[1], hw[0] / frame[0]], np.float32)
    kps, dropped = drop_far_joints(kps, hw, margin)
    if dropped:
        notes.append("keypoints far outside the image marked missing")
    return data, kps, notes


def _record_parsing(
    rec: Record, hw: tuple[int, int], hash_input: Hashes
) -> tuple[np.ndarray, list[str]] | str:
    """The record's ``(H, W)`` label map (nearest-resized to ``hw``) and the repairs; or why not."""
    try:
        png = read_bytes(rec.parsing) if rec.parsing else b""
    except InputFormatError as e:
        return f"parsing map: {e.message}"
    hash_input(sha256_hex(png).encode())
    try:
        labels = decode_label_png(png)
    except InputFormatError:
        return "missing or unreadable parsing map (expected a grey 8-bit label PNG)"
    if labels.shape == hw:
        return labels, []
    return resize_parsing(labels, hw), ["parsing resized (nearest)"]


def _write(
    spec: ShardSpec, out: Path, cfg_content: dict[str, Any], with_parsing: bool
) -> dict[str, Any]:
    hw = (int(cfg_content["image_hw"][0]), int(cfg_content["image_hw"][1]))
    frame = (int(cfg_content["annotation_hw"][0]), int(cfg_content["annotation_hw"][1]))
    quality = int(cfg_content["jpeg_quality"])
    sigma = float(cfg_content["heatmap_sigma"])
    schema = pose_schema(hw, parsing=with_parsing, heatmaps=bool(cfg_content["store_heatmaps"]))
    cols: dict[str, list[Any]] = {c.name: [] for c in schema.columns}
    rejected: list[tuple[str, str]] = []
    repaired: Counter[str] = Counter()
    keep: dict[int, int] = {}  # record index in the spec -> index in the shard
    digest = hashlib.sha256()  # content of this shard's inputs, for the manifest's inputs_sha256
    for i, rec in enumerate(spec.records):
        item = f"{spec.split}/{rec.name}"
        image = _record_image(rec, hw, frame, quality, offimage_margin(sigma), digest.update)
        if isinstance(image, str):
            rejected.append((item, image))
            continue
        data, kps, notes = image
        if with_parsing:
            parsing = _record_parsing(rec, hw, digest.update)
            if isinstance(parsing, str):
                rejected.append((item, parsing))
                continue
            cols["parsing"].append(parsing[0])
            notes += parsing[1]
        repaired.update(notes)
        keep[i] = len(cols["name"])
        cols["image"].append(data)
        cols["keypoints"].append(kps)
        cols["name"].append(rec.name)
        cols["person"].append(rec.person)
        if "heatmaps" in cols:
            cols["heatmaps"].append(render_heatmaps(kps, hw, sigma).astype(np.float16))
    pairs = [(rank, keep[a], keep[b]) for rank, a, b in spec.pairs if a in keep and b in keep]
    table = np.asarray([(a, b) for _, a, b in pairs], dtype=np.int32).reshape(-1, 2)
    ranks = np.asarray([r for r, _, _ in pairs], dtype=np.int64)
    content = ShardContent(
        cols,
        rejected,
        repaired,
        digest.hexdigest(),
        pairs=len(pairs),
        dropped_pairs=len(spec.pairs) - len(pairs),
        tables={"pairs": table, "pairs_rank": ranks},
    )
    return content.write(out, spec.planned(), schema, cfg_content)


_Task = tuple[ShardSpec, Path, dict[str, Any], bool]


def _write_task(args: _Task) -> dict[str, Any]:
    return _write(*args)


@dataclass
class _Planned:
    """A planned pose-transfer build: what :func:`build_shards_on` needs besides the executor."""

    plan: Plan
    with_parsing: bool
    rejected: list[tuple[str, str]]
    dropped_pairs: int
    inputs_prefix: bytes


def _plan(cfg: BuildConfig) -> _Planned:
    """Scan ``cfg.source`` and plan its shards (stat only; see the module doc)."""
    inputs = [s for s in (scan_split(cfg, split) for split in SPLITS) if s is not None]
    if not inputs:
        if looks_like_tryon(cfg.source):
            raise InputFormatError(
                cfg.source,
                "a VITON-HD try-on root, not a build-pairs folder: build it with "
                "--recipe viton-hd (pipelines/viton-hd.toml)",
            )
        names = [output_names(cfg.dataset, s)[0] for s in SPLITS]
        raise InputFormatError(
            cfg.source, f"no annotation CSV ({' or '.join(names)}); run `pgdata build-pairs` first"
        )
    specs = [spec for inp in inputs for spec in plan_split(cfg, inp)]
    stamp = hashlib.sha256()  # identity of the inputs from sizes and mtimes (no reading)
    for inp in inputs:
        stamp.update(f"{inp.split}\0{inp.pairs_sha}\0".encode())
    for spec in specs:
        stamp.update(spec.spec_sha.encode())
    content = cfg.content()
    # parsing maps are all or nothing: once the source has any, a record without one is rejected
    with_parsing = any(r.parsing is not None for inp in inputs for r in inp.records)
    prefix = hashlib.sha256()  # inputs read before sharding: pair CSVs and keypoints
    for inp in inputs:
        prefix.update(f"{inp.split}\0{inp.pairs_sha}\0".encode())
        for r in inp.records:
            prefix.update(r.kps.tobytes())
    plan = Plan(
        "pose-transfer",
        content,
        stamp.hexdigest(),
        [s.planned() for s in specs],
        [(spec, cfg.out, content, with_parsing) for spec in specs],
    )
    return _Planned(
        plan,
        with_parsing,
        [r for inp in inputs for r in inp.rejected],
        sum(inp.dropped_pairs for inp in inputs),
        prefix.digest(),
    )


def run_build(cfg: BuildConfig, progress: Callable[[int], None] | None = None) -> BuildResult:
    """Build (or resume) the shards of ``cfg.source`` into ``cfg.out``.

    One task per shard runs where ``cfg.dask`` says (:func:`pgdata.executor.open_executor`:
    ``workers`` local processes, or a Dask cluster); the shards and the manifest are the same
    bytes wherever the tasks ran.
    """
    if not cfg.source.is_dir():
        raise InputFormatError(
            cfg.source, "source folder not found (expected what `pgdata build-pairs` wrote)"
        )
    given, timings = cfg, Timings()
    with timings.step("plan"):
        cfg = replace(cfg, annotation_hw=annotation_frame(cfg), **portable_paths(cfg))
        planned = _plan(cfg)
    done, ran_on = build_shards_on(
        cfg.dask,
        cfg.dask_retries,
        cfg.out,
        planned.plan,
        _write_task,
        schema=pose_schema(cfg.image_hw, parsing=planned.with_parsing, heatmaps=cfg.store_heatmaps),
        overwrite=cfg.overwrite,
        workers=cfg.workers,
        progress=progress,
        rejected_before=planned.rejected,
        dropped_before=planned.dropped_pairs,
        inputs_prefix=planned.inputs_prefix,
        timings=timings,
    )
    problem = None
    if not sum(done.records.values()):
        (h, w), src = cfg.frame_hw, given.source
        problem = nothing_kept(
            f"build kept no image: expected the images of the annotation rows under {src}/<split>/",
            done.rejected,
            {
                "annotation row without image": f"no images under {src}/<split>/: run "
                f"`pgdata build-pairs` with --images {h}x{w}",
                "image without annotation": f"the images' names are not in the annotation "
                f"CSVs of {src}: rerun `pgdata build-pairs` into an empty folder",
            },
        )
    return BuildResult(
        out=given.out,
        shards_written=done.written,
        shards_kept=done.kept,
        records=done.records,
        pairs=done.pairs,
        rejected=len(done.rejected),
        repaired=dict(done.repaired),
        dropped_pairs=done.dropped_pairs,
        bytes=done.bytes,
        shards=sorted(given.out / e.file for e in done.entries),
        problem=problem,
        rebuilt=done.rebuilt_note(),
        notes=done.notes,
        ran_on=ran_on,
        timings=timings.seconds,
    )
