"""``pgdata garments``: crawled packshots → a VITON-HD style garment set, offline.

Reads ``items.jsonl`` files written by ``pgdata crawl`` (``src`` is a crawl folder with
``<store>/items.jsonl`` files, or one store folder) and, for every stored image:

1. **exact duplicates** (same sha256 as an earlier image) are rejected before any decoding;
2. **decode and validate**: the bytes must match the recorded sha256 and decode (EXIF
   orientation applied); RGBA/LA/transparent-palette images keep their alpha;
3. **packshot check and mask**: an image without alpha must have a plain light border (else
   ``not_packshot``, e.g. an on-model photo); the mask comes from
   :func:`pgdata.stages.cloth_mask.cloth_mask`; gates on the mask area and on a threshold
   mask touching the image border;
4. **normalise**: bounding box + margin, fit into ``size_hw`` (height × width, VITON-HD's
   1024×768 by default) keeping the aspect ratio, centred on the photo's own background colour
   (white for transparent images); ``too_small`` when that
   would upscale by more than ``max_upscale``;
5. **near duplicates**: grey perceptual hashes of the normalised garment within
   ``hash_bits`` **and** mean colour within ``color_delta_e`` (so a colour variant is kept);
   of two near duplicates the larger source image is kept.

Writes ``out/cloth/<id>.jpg`` (RGB) and ``out/cloth-mask/<id>.jpg`` (JPEG mode L, 0/255) with
``<id>`` = the first 16 hex digits of the source sha256; ``garments.jsonl`` (one kept garment a
line: product fields, source, mask source, scale, kind, hashes), ``rejected.csv`` (source
file, reason) and, last, ``garments.json`` (counts and the resolved config). Rerunning replaces
the outputs; files of garments no longer kept are removed.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from pgdata import __version__
from pgdata.config import check_number
from pgdata.errors import ConfigError, InputFormatError
from pgdata.executor import DEFAULT_RETRIES, check_dask, open_executor, portable_paths
from pgdata.io.atomic import atomic_open, atomic_write_bytes, atomic_write_text
from pgdata.io.files import list_files, read_bytes
from pgdata.io.images import decode_image, encode_jpeg, encode_mask_jpeg
from pgdata.io.items_jsonl import find_item_files, read_items
from pgdata.io.lock import folder_lock
from pgdata.io.reports import REJECTED_CSV, count_reasons, nothing_kept, write_rejected_csv
from pgdata.jobs.garments.shards import write_garment_shards
from pgdata.parallel import parallel_map
from pgdata.shards.manifest import MANIFEST
from pgdata.stages.cloth_mask import (
    METHODS,
    MaskMethod,
    background_stats,
    cloth_mask,
    has_alpha,
    on_white,
    resolve_method,
)
from pgdata.stages.garments import (
    GarmentHash,
    garment_hash,
    garment_kind,
    near_duplicate,
    normalise_garment,
)

__all__ = ["GarmentsConfig", "GarmentsResult", "run_garments"]

CLOTH_DIR, MASK_DIR = "cloth", "cloth-mask"
_OUR_NAME = re.compile(r"[0-9a-f]{16}\.jpg")


@dataclass(frozen=True)
class GarmentsConfig:
    """Resolved options of ``pgdata garments`` (saved into ``garments.json``)."""

    src: Path
    out: Path
    size_hw: tuple[int, int] = (1024, 768)  # (height, width), VITON-HD
    method: MaskMethod = "auto"
    min_area: float = 0.03  # mask area as a fraction of the source image
    max_area: float = 0.97
    max_upscale: float = 1.25
    margin: float = 0.04
    hash_bits: int = 6
    color_delta_e: float = 12.0
    quality: int = 95
    workers: int = 1
    shard_mb: float = 128.0
    # where the shard tasks of the HDF5 step run: None (``workers`` local processes), ``local:N``
    # or a Dask scheduler address / file (pgdata.executor)
    dask: str | None = None
    dask_retries: int = DEFAULT_RETRIES

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ConfigError(f"mask method must be one of {METHODS}, got {self.method!r}")
        if not 0 <= self.min_area < self.max_area <= 1:
            raise ConfigError("need 0 <= min_area < max_area <= 1")
        if min(self.size_hw) < 8:
            raise ConfigError(f"output size {self.size_hw} is too small (at least 8x8)")
        check_number("max_upscale", self.max_upscale, gt=0)
        check_number("margin", self.margin, ge=0, le=0.45)
        check_number("hash_bits", self.hash_bits, ge=0)
        check_number("color_delta_e", self.color_delta_e, ge=0)
        check_number("quality", self.quality, ge=1, le=100)
        check_number("workers", self.workers, ge=1)
        check_number("shard_mb", self.shard_mb, gt=0)
        check_number("dask_retries", self.dask_retries, ge=0)
        check_dask(self.dask)


@dataclass(frozen=True)
class _Task:
    index: int
    path: str
    sha256: str
    name: str
    out: str
    size_hw: tuple[int, int]
    method: MaskMethod
    min_area: float
    max_area: float
    max_upscale: float
    margin: float
    quality: int


@dataclass
class _Outcome:
    index: int
    name: str
    reason: str | None = None
    width: int = 0
    height: int = 0
    mask_source: str = ""
    area: float = 0.0
    scale: float = 0.0
    hash: GarmentHash | None = None


@dataclass
class _Source:
    store: str
    item: dict[str, Any]
    image: dict[str, Any]
    path: Path
    rel: str  # <store>/<path> for reports


# the fix of the commonest reasons for keeping nothing (kinds as reason_kind counts them)
_FIXES = {
    "too_small": "the photos are smaller than the output: give a smaller --size (e.g. 512x384) "
    "or a larger --max-upscale",
    "not_packshot": "on-model or busy photos: crawl the packshot image of each product",
    "checksum_mismatch": "the files changed since the crawl: crawl again (--refresh)",
    "duplicate_exact": "every image is a copy of another",
}


@dataclass
class GarmentsResult:
    """What ``run_garments`` did."""

    read: int
    kept: int
    rejected: list[tuple[str, str]]
    by_kind: dict[str, int]
    by_mask_source: dict[str, int]
    files: list[Path] = field(default_factory=list)
    shards: int = 0

    @property
    def problem(self) -> str | None:
        """One line when no garment was kept (the CLI exits 1), else None."""
        if self.kept:
            return None
        return nothing_kept(
            f"garments kept none of {self.read} images: expected packshots (one garment on a "
            "plain light background) in the crawl's items.jsonl folders",
            self.rejected,
            _FIXES,
        )

    def summary(self) -> str:
        """One line of counts for the CLI."""
        reasons = count_reasons(self.rejected)
        rej = ", ".join(f"{k}={v}" for k, v in sorted(reasons.items())) or "none"
        kinds = ", ".join(f"{k}={v}" for k, v in sorted(self.by_kind.items())) or "none"
        return (
            f"garments: read {self.read} images, kept {self.kept} ({kinds}) in {self.shards} shard(s); "
            f"rejected {len(self.rejected)}: {rej}"
        )


def _process(task: _Task) -> _Outcome:
    """Decode, check, mask, normalise, hash and write one garment (runs in a worker)."""
    out = _Outcome(task.index, task.name)
    try:
        data = read_bytes(task.path)
    except InputFormatError as e:  # not a regular file, too large, an I/O error
        out.reason = f"unreadable_file ({e.message})"
        return out
    if hashlib.sha256(data).hexdigest() != task.sha256:
        out.reason = "checksum_mismatch (the file changed since the crawl)"
        return out
    try:
        image = decode_image(data, task.path)
    except InputFormatError as e:
        out.reason = f"undecodable ({e.message[:80]})"
        return out
    out.height, out.width = image.shape[:2]
    fill = (255, 255, 255)
    if not has_alpha(image):
        stats = background_stats(image)
        fill = (round(stats.median[0]), round(stats.median[1]), round(stats.median[2]))
        if not stats.plain:
            med = "/".join(f"{v:.0f}" for v in stats.median)
            out.reason = f"not_packshot (border median {med}, std {max(stats.std):.1f})"
            return out
    try:
        source = resolve_method(image, task.method)
        mask = cloth_mask(image, task.method)
    except ValueError as e:
        out.reason = f"mask_failed ({e})"
        return out
    out.mask_source = source
    area = float(np.count_nonzero(mask)) / mask.size
    out.area = round(area, 4)
    if not task.min_area <= area <= task.max_area:
        out.reason = f"mask_area ({area:.1%} of the image)"
        return out
    if source != "alpha" and (
        mask[0].any() or mask[-1].any() or mask[:, 0].any() or mask[:, -1].any()
    ):
        out.reason = "touches_border (garment cut off or background not separated)"
        return out
    rgb = on_white(image)
    if image.shape[2] == 4:
        rgb = rgb.copy()
        rgb[mask == 0] = 255  # keep the canvas clean where alpha was faint
    cloth, cmask, scale = normalise_garment(rgb, mask, task.size_hw, margin=task.margin, fill=fill)
    out.scale = round(scale, 4)
    if scale > task.max_upscale:
        out.reason = f"too_small (needs x{scale:.2f} upscaling, limit x{task.max_upscale})"
        return out
    out.hash = garment_hash(cloth, cmask)
    dest = Path(task.out)
    atomic_write_bytes(dest / CLOTH_DIR / f"{task.name}.jpg", encode_jpeg(cloth, task.quality))
    atomic_write_bytes(dest / MASK_DIR / f"{task.name}.jpg", encode_mask_jpeg(cmask, task.quality))
    return out


def _sources(src: Path, rejected: list[tuple[str, str]]) -> list[_Source]:
    files = find_item_files(src)
    if not files:
        raise InputFormatError(
            src, "no items.jsonl here or in its subfolders: give a `pgdata crawl` output folder"
        )
    out = []
    for items_path in files:
        store_dir = items_path.parent.resolve()
        for line, item in read_items(items_path):
            images = item.get("images")
            if not isinstance(images, list):
                raise InputFormatError(items_path, "'images' must be a list", line=line)
            store = str(item.get("store") or store_dir.name)
            for img in images:
                rel_path = img.get("path") if isinstance(img, dict) else None
                if not isinstance(rel_path, str) or not isinstance(img.get("sha256"), str):
                    raise InputFormatError(
                        items_path, "each image needs 'path' and 'sha256' strings", line=line
                    )
                path = (store_dir / rel_path).resolve()
                rel = f"{store_dir.name}/{rel_path}"
                if not path.is_relative_to(store_dir):
                    rejected.append((rel, "bad_path (outside the store folder)"))
                    continue
                out.append(_Source(store, item, img, path, rel))
    return out


def _exact_duplicates(
    cfg: GarmentsConfig, sources: list[_Source], rejected: list[tuple[str, str]]
) -> list[_Task]:
    """Step 1: one task per distinct sha256; later copies are rejected before any decoding."""
    first: dict[str, _Source] = {}
    tasks: list[_Task] = []
    for i, s in enumerate(sources):
        sha = str(s.image["sha256"]).lower()
        if sha in first:
            rejected.append((s.rel, f"duplicate_exact (same bytes as {first[sha].rel})"))
            continue
        first[sha] = s
        tasks.append(
            _Task(
                i,
                str(s.path),
                sha,
                sha[:16],
                str(cfg.out),
                cfg.size_hw,
                cfg.method,
                cfg.min_area,
                cfg.max_area,
                cfg.max_upscale,
                cfg.margin,
                cfg.quality,
            )
        )
    return tasks


def _near_duplicates(
    cfg: GarmentsConfig,
    outcomes: list[_Outcome],
    sources: list[_Source],
    rejected: list[tuple[str, str]],
) -> list[_Outcome]:
    """Step 5: the garments kept; of two near duplicates the larger source image wins."""
    kept: list[_Outcome] = []
    for o in outcomes:
        if o.reason is not None:
            rejected.append((sources[o.index].rel, o.reason))
            continue
        assert o.hash is not None
        for j, k in enumerate(kept):
            assert k.hash is not None
            dup, bits, de = near_duplicate(
                o.hash, k.hash, max_bits=cfg.hash_bits, max_delta_e=cfg.color_delta_e
            )
            if not dup:
                continue
            if o.width * o.height > k.width * k.height:
                kept[j], o, k = o, k, o  # the new one is larger: it replaces the kept one
            rejected.append(
                (
                    sources[o.index].rel,
                    f"duplicate_near (of {sources[k.index].rel}: hash distance {bits}, ΔE {de:.1f})",
                )
            )
            break
        else:
            kept.append(o)
    return kept


def _remove_dropped(out: Path, kept: list[_Outcome]) -> None:
    """Delete the files of garments a previous run kept and this one does not."""
    keep_names = {f"{k.name}.jpg" for k in kept}
    for folder in (CLOTH_DIR, MASK_DIR):
        for name in list_files(out / folder):
            if _OUR_NAME.fullmatch(name) and name not in keep_names:
                (out / folder / name).unlink()


def run_garments(
    cfg: GarmentsConfig, progress: Callable[[int], None] | None = None
) -> GarmentsResult:
    """Build the garment set in ``cfg.out`` (see the module docstring); ``cfg.out`` is locked
    meanwhile (:mod:`pgdata.io.lock`)."""
    with folder_lock(cfg.out, "pgdata garments"):
        return _run_locked(cfg, progress)


def _run_locked(cfg: GarmentsConfig, progress: Callable[[int], None] | None) -> GarmentsResult:
    """:func:`run_garments` with the output folder locked."""
    rejected: list[tuple[str, str]] = []
    sources = _sources(cfg.src, rejected)
    read = len(sources) + len(rejected)
    tasks = _exact_duplicates(cfg, sources, rejected)
    # 2-4. decode, mask, normalise, write (in parallel when asked)
    (cfg.out / CLOTH_DIR).mkdir(parents=True, exist_ok=True)
    (cfg.out / MASK_DIR).mkdir(parents=True, exist_ok=True)
    outcomes = list(
        parallel_map(_process, tasks, workers=cfg.workers, chunksize=8, progress=progress)
    )
    kept = _near_duplicates(cfg, outcomes, sources, rejected)
    _remove_dropped(cfg.out, kept)

    # metadata, then the HDF5 shards of the kept garments (GARMENTS/shards/, manifest last)
    records = [_record(cfg, sources[k.index], k) for k in kept]
    files = [cfg.out / "garments.jsonl", cfg.out / REJECTED_CSV]
    with atomic_open(files[0], "w", encoding="utf-8", newline="\n") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    write_rejected_csv(files[1], rejected)
    with open_executor(cfg.dask, workers=cfg.workers, retries=cfg.dask_retries) as executor:
        shard_dir, n_shards, stored = write_garment_shards(
            replace(cfg, **portable_paths(cfg, ("out",))).out,
            records,
            cfg.size_hw,
            shard_mb=cfg.shard_mb,
            workers=cfg.workers,
            executor=executor,
        )
    shard_dir = cfg.out / shard_dir.name
    files.append(shard_dir / MANIFEST)

    by_kind = dict(Counter(str(r["kind"]) for r in records))
    by_source = dict(Counter(str(r["mask_source"]) for r in records))
    report = {
        "pgdata_version": __version__,
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(cfg).items()},
        "read": read,
        "kept": len(kept),
        "by_kind": by_kind,
        "by_mask_source": by_source,
        "rejected": len(rejected),
        "shards": n_shards,
        "shard_records": stored,
        "rejected_by_reason": dict(count_reasons(rejected)),
    }
    files.append(cfg.out / "garments.json")
    atomic_write_text(files[-1], json.dumps(report, indent=2, sort_keys=True) + "\n")
    return GarmentsResult(read, len(kept), rejected, by_kind, by_source, files, n_shards)


def _record(cfg: GarmentsConfig, s: _Source, o: _Outcome) -> dict[str, Any]:
    item = s.item
    assert o.hash is not None
    return {
        "id": o.name,
        "cloth": f"{CLOTH_DIR}/{o.name}.jpg",
        "cloth_mask": f"{MASK_DIR}/{o.name}.jpg",
        "kind": garment_kind(item.get("category"), item.get("raw_category"), item.get("name")),
        "store": s.store,
        "product_id": item.get("product_id"),
        "name": item.get("name"),
        "brand": item.get("brand"),
        "category": item.get("category"),
        "raw_category": item.get("raw_category"),
        "color": item.get("color"),
        "price": item.get("price"),
        "currency": item.get("currency"),
        "product_url": item.get("url"),
        "image_url": s.image.get("url"),
        "source": s.rel,
        "sha256": s.image.get("sha256"),
        "source_width": o.width,
        "source_height": o.height,
        "mask_source": o.mask_source,
        "mask_area": o.area,
        "scale": o.scale,
        "size_hw": list(cfg.size_hw),
        "dhash": f"{o.hash.dhash:016x}",
        "ahash": f"{o.hash.ahash:016x}",
        "lab": [round(v, 2) for v in o.hash.lab],
    }
