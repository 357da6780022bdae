"""Planning a pose-transfer build: read a build-pairs folder, fix its annotation frame, cut
each split into shards along the pair graph and give every shard a spec hash.

Nothing here decodes an image: planning is stat-based (``io.files.stamp``), except under
``strict``, where every image header is read to check it is at the annotation frame before any
shard is written.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from pgdata.errors import InputFormatError
from pgdata.io.files import SourceRoot, list_files, read_bytes
from pgdata.io.files import stamp as file_stamp
from pgdata.io.images import image_size
from pgdata.io.pose_csv import FRAME, output_names, read_annotations, read_pairs
from pgdata.shards.build import PlannedShard, pack, shard_file
from pgdata.stages.keypoints import yx_to_xyc
from pgdata.stages.pairs import auto_group_key, group_key

if TYPE_CHECKING:  # the config class lives with the job; this module only reads its fields
    from pgdata.jobs.posetransfer.build import BuildConfig

__all__ = [
    "Record",
    "ShardSpec",
    "SplitInput",
    "annotation_frame",
    "looks_like_tryon",
    "plan_split",
    "scan_split",
    "sha256_hex",
]


@dataclass
class Record:
    name: str
    kps: np.ndarray  # (18, 3)
    image: str
    image_stamp: str  # size and mtime: the fast identity used to plan and resume
    image_bytes: int
    parsing: str | None
    parsing_stamp: str
    person: str


@dataclass
class SplitInput:
    split: str
    records: list[Record]
    pairs: list[tuple[int, int, int]]  # (rank, from record, to record)
    dropped_pairs: int
    rejected: list[tuple[str, str]]
    pairs_sha: str


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def scan_split(cfg: BuildConfig, split: str) -> SplitInput | None:
    ann_name, pair_name = output_names(cfg.dataset, split)
    ann_path = cfg.source / ann_name
    if not ann_path.is_file():
        return None
    ann = read_annotations(ann_path)
    pair_path = cfg.source / pair_name
    pairs_raw = read_pairs(pair_path) if pair_path.is_file() else []
    kps = yx_to_xyc(ann.yx)
    rejected: list[tuple[str, str]] = []
    records: list[Record] = []
    index: dict[str, int] = {}
    image_dir = cfg.source / split
    # plain strings in this per-record loop: pathlib objects cost more than the stat calls
    image_prefix = str(image_dir) + os.sep
    parsing_prefix = str(cfg.source / "parsing" / split) + os.sep
    key = auto_group_key(ann.names)
    root = SourceRoot.of(cfg.source, follow_symlinks=cfg.follow_symlinks)
    refused: set[str] = set()  # names whose file must not be read (outside the source)
    for name, k in zip(ann.names, kps, strict=True):
        if name in index:
            rejected.append((f"{split}/{name}", f"duplicate name in {ann_name}"))
            continue
        path = image_prefix + name
        parsing = parsing_prefix + name.rsplit(".", 1)[0] + ".png"
        problem = root.problem(path) or (
            f"parsing map: {root.problem(parsing)}"
            if cfg.parsing and root.problem(parsing)
            else None
        )
        if problem is not None:
            rejected.append((f"{split}/{name}", problem))
            refused.add(name)
            continue
        stamp = file_stamp(path)
        if stamp is None:
            rejected.append((f"{split}/{name}", "annotation row without image"))
            continue
        if cfg.strict:
            check_frame(Path(path), cfg, ann_name)
        p_stamp = file_stamp(parsing) if cfg.parsing else None
        index[name] = len(records)
        records.append(
            Record(
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
            (f"{split}/{n}", "image without annotation")
            for n in listed
            if n not in index and n not in refused
        )
    pairs: list[tuple[int, int, int]] = []
    dropped = 0
    for rank, (a, b) in enumerate(pairs_raw):
        if a in index and b in index:
            pairs.append((rank, index[a], index[b]))
        else:
            dropped += 1
    pairs_sha = sha256_hex(read_bytes(pair_path)) if pair_path.is_file() else ""
    return SplitInput(split, records, pairs, dropped, rejected, pairs_sha)


def components(persons: list[str], pairs: Iterable[tuple[int, int, int]]) -> list[int]:
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
class ShardSpec:
    file: str
    split: str
    records: list[Record]
    pairs: list[tuple[int, int, int]]  # (rank, local from, local to)
    spec_sha: str = ""  # hash of everything that decides the shard's bytes

    def planned(self) -> PlannedShard:
        """The shard as the build plan records it."""
        return PlannedShard(self.file, self.split, self.spec_sha)


def plan_split(cfg: BuildConfig, inp: SplitInput) -> list[ShardSpec]:
    comp = components([r.person for r in inp.records], inp.pairs)
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
        spec = ShardSpec(
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


def check_frame(path: Path, cfg: BuildConfig, ann_name: str) -> None:
    """``strict``: an image must be at the annotation frame (or already at ``image_hw``)."""
    hw = image_size(path)  # header only; unreadable: InputFormatError
    if hw not in (cfg.frame_hw, cfg.image_hw):
        (fh, fw), (h, w) = cfg.frame_hw, hw
        raise InputFormatError(
            path,
            f"image is {h}x{w}, not the {fh}x{fw} annotation frame of {ann_name} (its keypoints "
            f"are in that frame whatever the image size): write the images at {fh}x{fw} "
            f"(`pgdata build-pairs --images {fh}x{fw}`), or build without --strict to resize them",
        )


def annotation_frame(cfg: BuildConfig) -> tuple[int, int]:
    """The frame of the source's annotation CSVs: ``annotation_hw``, else what the source's
    ``build-pairs.json`` records (``frame_hw``, or the ``images_hw`` it wrote images at), else
    the dataset's. An explicit ``annotation_hw`` that contradicts ``build-pairs.json`` is an error.
    """
    report = cfg.source / "build-pairs.json"
    recorded: tuple[int, int] | None = None
    if report.is_file():
        try:
            doc = json.loads(read_bytes(report))
            value = doc.get("frame_hw") or doc.get("config", {}).get("images_hw")
            recorded = (int(value[0]), int(value[1])) if value else None
        except (ValueError, TypeError, AttributeError, IndexError):
            raise InputFormatError(
                report, "not a build-pairs report (rerun `pgdata build-pairs`)"
            ) from None
    if cfg.annotation_hw is None:
        return recorded or FRAME[cfg.dataset]
    if recorded is not None and recorded != cfg.annotation_hw:
        raise InputFormatError(
            report,
            f"the annotation CSVs here are in the {recorded[0]}x{recorded[1]} frame, but "
            f"annotation_hw is {cfg.annotation_hw[0]}x{cfg.annotation_hw[1]}: drop annotation_hw",
        )
    return cfg.annotation_hw


def looks_like_tryon(source: Path) -> bool:
    """A VITON-HD root (``image/`` + ``cloth/``, or ``train/``/``test/`` split folders of them)."""
    return any(
        (d / "image").is_dir() and (d / "cloth").is_dir()
        for d in (source, source / "train", source / "test")
    )
