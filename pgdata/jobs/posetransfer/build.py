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

Bad input is repaired where that is safe (grey, CMYK or alpha images → RGB; wrong size →
resized with keypoints scaled; joints far outside the image → marked missing, see
:func:`offimage_margin`) and quarantined
otherwise (missing, zero-byte, truncated or undecodable images, images without annotation);
pairs that lose an image are dropped and counted.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from pgdata.errors import ConfigError, InputFormatError
from pgdata.io.files import list_files, read_bytes
from pgdata.io.files import stamp as file_stamp
from pgdata.io.images import decode_label_png
from pgdata.io.pose_csv import DATASETS, SPLITS, output_names, read_annotations, read_pairs
from pgdata.labels import COCO18_JOINTS
from pgdata.shards.build import Plan, PlannedShard, ShardContent, build_shards, pack, shard_file
from pgdata.shards.encode import prepare_jpeg
from pgdata.shards.schema import Column, Schema
from pgdata.stages.heatmaps import render_heatmaps
from pgdata.stages.keypoints import drop_far_joints, yx_to_xyc
from pgdata.stages.pairs import auto_group_key, group_key
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

    def __post_init__(self) -> None:
        if self.dataset not in DATASETS:
            raise ConfigError(f"dataset must be one of {list(DATASETS)}, got {self.dataset!r}")
        if self.shard_mb <= 0:
            raise ConfigError("shard_mb must be > 0")
        if not 1 <= self.jpeg_quality <= 100:
            raise ConfigError("jpeg_quality must be in 1..100")
        if min(self.image_hw) < 1:
            raise ConfigError("image_hw must be two positive integers (height, width)")

    def content(self) -> dict[str, Any]:
        """The options that decide the shards' content (saved in shards and manifest)."""
        d = asdict(self)
        for k in ("source", "out", "workers", "overwrite"):
            d.pop(k)
        d["image_hw"] = list(self.image_hw)
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

    def summary(self) -> str:
        """One line of counts."""
        recs = ", ".join(
            f"{s} {n} images/{self.pairs.get(s, 0)} pairs" for s, n in self.records.items()
        )
        rep = sum(self.repaired.values())
        return (
            f"build: wrote {self.shards_written} shards, kept {self.shards_kept} ({self.bytes / 1e6:.1f} MB; {recs}); "
            f"rejected {self.rejected}, repaired {rep}, dropped pairs {self.dropped_pairs}"
        )


# ------------------------------------------------------------------------------------- planning


@dataclass
class _Record:
    name: str
    kps: np.ndarray  # (18, 3)
    image: str
    image_stamp: str  # size and mtime: the fast identity used to plan and resume
    image_bytes: int
    parsing: str | None
    parsing_stamp: str
    person: str


@dataclass
class _SplitInput:
    split: str
    records: list[_Record]
    pairs: list[tuple[int, int, int]]  # (rank, from record, to record)
    dropped_pairs: int
    rejected: list[tuple[str, str]]
    pairs_sha: str


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _scan_split(cfg: BuildConfig, split: str) -> _SplitInput | None:
    ann_name, pair_name = output_names(cfg.dataset, split)
    ann_path = cfg.source / ann_name
    if not ann_path.is_file():
        return None
    ann = read_annotations(ann_path)
    pair_path = cfg.source / pair_name
    pairs_raw = read_pairs(pair_path) if pair_path.is_file() else []
    kps = yx_to_xyc(ann.yx)
    rejected: list[tuple[str, str]] = []
    records: list[_Record] = []
    index: dict[str, int] = {}
    image_dir = cfg.source / split
    # plain strings in this per-record loop: pathlib objects cost more than the stat calls
    image_prefix = str(image_dir) + os.sep
    parsing_prefix = str(cfg.source / "parsing" / split) + os.sep
    key = auto_group_key(ann.names)
    for name, k in zip(ann.names, kps, strict=True):
        if name in index:
            rejected.append((f"{split}/{name}", f"duplicate name in {ann_name}"))
            continue
        path = image_prefix + name
        stamp = file_stamp(path)
        if stamp is None:
            rejected.append((f"{split}/{name}", "annotation row without image"))
            continue
        parsing = parsing_prefix + name.rsplit(".", 1)[0] + ".png"
        p_stamp = file_stamp(parsing) if cfg.parsing else None
        index[name] = len(records)
        records.append(
            _Record(
                name,
                k,
                path,
                stamp[0],
                stamp[1],
                parsing if p_stamp else None,
                p_stamp[0] if p_stamp else "",
                group_key(name, key),
            )
        )
    if image_dir.is_dir():
        listed = list_files(image_dir)
        rejected.extend(
            (f"{split}/{n}", "image without annotation") for n in listed if n not in index
        )
    pairs: list[tuple[int, int, int]] = []
    dropped = 0
    for rank, (a, b) in enumerate(pairs_raw):
        if a in index and b in index:
            pairs.append((rank, index[a], index[b]))
        else:
            dropped += 1
    pairs_sha = _sha(read_bytes(pair_path)) if pair_path.is_file() else ""
    return _SplitInput(split, records, pairs, dropped, rejected, pairs_sha)


def _components(persons: list[str], pairs: Iterable[tuple[int, int, int]]) -> list[int]:
    """Component id per record, numbered by first record: union-find over pairs and persons.

    A pair never spans two shards, and all images of a person stay together even when some of
    them are in no pair.
    """
    n = len(persons)
    parent = list(range(n))
    first: dict[str, int] = {}
    person_links = [(0, first.setdefault(p, i), i) for i, p in enumerate(persons)]

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for _, a, b in [*person_links, *pairs]:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return [find(i) for i in range(n)]


@dataclass
class _ShardSpec:
    file: str
    split: str
    records: list[_Record]
    pairs: list[tuple[int, int, int]]  # (rank, local from, local to)
    spec_sha: str = ""  # hash of everything that decides the shard's bytes

    def planned(self) -> PlannedShard:
        """The shard as the build plan records it."""
        return PlannedShard(self.file, self.split, self.spec_sha)


def _plan(cfg: BuildConfig, inp: _SplitInput) -> list[_ShardSpec]:
    comp = _components([r.person for r in inp.records], inp.pairs)
    members: dict[int, list[int]] = {}
    for i, c in enumerate(comp):
        members.setdefault(c, []).append(i)
    per_record_extra = 200 + (
        18 * cfg.image_hw[0] * cfg.image_hw[1] * 2 // 10 if cfg.store_heatmaps else 0
    )
    groups = [members[c] for c in sorted(members)]  # components in order of their first record
    sizes = [
        sum(
            inp.records[i].image_bytes + per_record_extra + (2000 if inp.records[i].parsing else 0)
            for i in recs
        )
        for recs in groups
    ]
    shards = [[i for g in run for i in groups[g]] for run in pack(sizes, cfg.shard_mb)]
    pairs_by_record: dict[int, list[tuple[int, int, int]]] = {}
    for rank, a, b in inp.pairs:
        pairs_by_record.setdefault(a, []).append((rank, a, b))
    specs = []
    content = cfg.content()
    for k, idx in enumerate(shards):
        local = {g: i for i, g in enumerate(idx)}
        pairs = sorted(
            (rank, local[a], local[b]) for g in idx for rank, a, b in pairs_by_record.get(g, [])
        )
        spec = _ShardSpec(
            shard_file(inp.split, k),
            inp.split,
            [inp.records[i] for i in idx],
            pairs,
        )
        h = hashlib.sha256(json.dumps([content, spec.file], sort_keys=True).encode())
        for r in spec.records:
            h.update(f"{r.name}\0{r.image_stamp}\0{r.parsing_stamp}\0{r.person}\0".encode())
            h.update(r.kps.tobytes())
        h.update(np.asarray(pairs, dtype=np.int64).tobytes())
        spec.spec_sha = h.hexdigest()
        specs.append(spec)
    return specs


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


def _record_image(
    rec: _Record, hw: tuple[int, int], quality: int, margin: float, hash_input: Hashes
) -> tuple[bytes, np.ndarray, list[str]] | str:
    """JPEG bytes to store, keypoints in their pixels and the repairs made; or why not.

    The image is kept, repaired or re-encoded by :func:`prepare_jpeg`; keypoints follow a resize
    and joints farther than ``margin`` outside the image are marked missing. ``hash_input``
    receives what identifies the bytes read (the shard's inputs hash).
    """
    raw = read_bytes(rec.image)
    hash_input(f"{rec.name}\0{_sha(raw)}\0".encode())
    prepared = prepare_jpeg(raw, hw, quality)
    if isinstance(prepared, str):
        return prepared
    data, scale, notes = prepared
    kps = rec.kps.copy()
    if scale is not None:
        kps[:, :2] *= np.array(scale, np.float32)
    kps, dropped = drop_far_joints(kps, hw, margin)
    if dropped:
        notes.append("keypoints far outside the image marked missing")
    return data, kps, notes


def _record_parsing(
    rec: _Record, hw: tuple[int, int], hash_input: Hashes
) -> tuple[np.ndarray, list[str]] | str:
    """The record's ``(H, W)`` label map (nearest-resized to ``hw``) and the repairs; or why not."""
    png = read_bytes(rec.parsing) if rec.parsing else b""
    hash_input(_sha(png).encode())
    try:
        labels = decode_label_png(png)
    except InputFormatError:
        return "missing or unreadable parsing map (expected a grey 8-bit label PNG)"
    if labels.shape == hw:
        return labels, []
    return resize_parsing(labels, hw), ["parsing resized (nearest)"]


def _write(
    spec: _ShardSpec, out: Path, cfg_content: dict[str, Any], with_parsing: bool
) -> dict[str, Any]:
    hw = (int(cfg_content["image_hw"][0]), int(cfg_content["image_hw"][1]))
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
        image = _record_image(rec, hw, quality, offimage_margin(sigma), digest.update)
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


_Task = tuple[_ShardSpec, Path, dict[str, Any], bool]


def _write_task(args: _Task) -> dict[str, Any]:
    return _write(*args)


def run_build(cfg: BuildConfig, progress: Callable[[int], None] | None = None) -> BuildResult:
    """Build (or resume) the shards of ``cfg.source`` into ``cfg.out``."""
    if not cfg.source.is_dir():
        raise InputFormatError(
            cfg.source, "source folder not found (expected what `pgdata build-pairs` wrote)"
        )
    inputs = [s for s in (_scan_split(cfg, split) for split in SPLITS) if s is not None]
    if not inputs:
        names = [output_names(cfg.dataset, s)[0] for s in SPLITS]
        raise InputFormatError(
            cfg.source, f"no annotation CSV ({' or '.join(names)}); run `pgdata build-pairs` first"
        )
    specs = [spec for inp in inputs for spec in _plan(cfg, inp)]
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
    done = build_shards(
        cfg.out,
        plan,
        _write_task,
        schema=pose_schema(cfg.image_hw, parsing=with_parsing, heatmaps=cfg.store_heatmaps),
        overwrite=cfg.overwrite,
        workers=cfg.workers,
        progress=progress,
        rejected_before=[r for inp in inputs for r in inp.rejected],
        dropped_before=sum(inp.dropped_pairs for inp in inputs),
        inputs_prefix=prefix.digest(),
    )
    return BuildResult(
        out=cfg.out,
        shards_written=done.written,
        shards_kept=done.kept,
        records=done.records,
        pairs=done.pairs,
        rejected=len(done.rejected),
        repaired=dict(done.repaired),
        dropped_pairs=done.dropped_pairs,
        bytes=done.bytes,
        shards=sorted(cfg.out / e.file for e in done.entries),
    )
