"""``pgdata densepose``: HR-VITON ``image-densepose/<id>.jpg`` for every person photo.

Backends: ``import`` reads precomputed DensePose outputs from ``import_dir`` (``<id>`` or
``<split>/<id>`` with one of the suffixes below); ``detectron2`` runs DensePose R-CNN when
detectron2 is installed (:mod:`pgdata.backends.densepose_detectron2`).

Import formats, by suffix:

- ``.npy``: ``(H, W)`` part indices I (0..24), or an IUV array ``(H, W, 3)`` / ``(3, H, W)``
  whose first channel is I;
- ``.npz``: ``parts`` (``(H, W)`` I), or ``boxes`` (``(N, 4)`` x, y, w, h pixels) with
  ``parts_0 .. parts_{N-1}`` per-box I maps and optional ``scores`` (``apply_net.py dump``
  results saved as arrays);
- ``_IUV.png`` / ``.png``: DensePose's IUV image (I in the first channel as OpenCV reads it);
- ``.jpg``: an already rendered ``image-densepose`` picture (decoded to I, re-rendered).
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import cv2
import numpy as np

from pgdata.errors import ConfigError
from pgdata.io.images import read_rgb, write_jpeg
from pgdata.io.viton import find_input, output_path, person_ids, split_dirs
from pgdata.jobs.tryon.common import Item, Rejected, StageResult, run_items
from pgdata.jobs.tryon.parsing import image_size
from pgdata.stages.densepose import N_PARTS, decode_densepose, paste_instances, render_densepose

__all__ = ["BACKENDS", "IMPORT_SUFFIXES", "DenseposeConfig", "read_densepose", "run_densepose"]

Backend = Literal["import", "detectron2"]
BACKENDS: tuple[Backend, ...] = ("import", "detectron2")
IMPORT_SUFFIXES = (".npy", ".npz", "_IUV.png", ".png", ".jpg")


@dataclass(frozen=True)
class DenseposeConfig:
    """Options of ``pgdata densepose``."""

    root: Path
    backend: Backend = "import"
    import_dir: Path | None = None
    config_file: Path | None = None  # detectron2: DensePose R-CNN yaml
    weights: Path | None = None  # detectron2: model weights
    quality: int = 95
    force: bool = False
    strict: bool = False

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ConfigError(f"densepose backend {self.backend!r}: expected one of {BACKENDS}")
        if self.backend == "import" and self.import_dir is None:
            raise ConfigError("--backend import needs --import DIR (precomputed DensePose)")


def _parts_array(arr: np.ndarray, source: Path) -> np.ndarray:
    if arr.ndim == 3 and arr.shape[0] == 3 and arr.shape[2] != 3:
        arr = arr[0]
    elif arr.ndim == 3 and arr.shape[2] == 3:
        arr = arr[..., 0]
    if arr.ndim != 2:
        raise Rejected(
            source, f"expected (H, W) part indices or an IUV array, got shape {arr.shape}"
        )
    if arr.dtype.kind == "f":
        arr = np.rint(arr)
    if arr.size and (arr.min() < 0 or arr.max() > N_PARTS):
        raise Rejected(source, f"part indices outside 0..{N_PARTS} ({arr.min()}..{arr.max()})")
    return arr.astype(np.uint8)


def read_densepose(path: Path, size_hw: tuple[int, int]) -> np.ndarray:
    """Read one precomputed DensePose file (any import format) as ``(H, W)`` part indices."""
    name = path.name
    try:
        if name.endswith(".npy"):
            return _parts_array(np.load(path, allow_pickle=False), path)
        if name.endswith(".npz"):
            with np.load(path, allow_pickle=False) as z:
                if "parts" in z:
                    return _parts_array(z["parts"], path)
                if "boxes" in z:
                    boxes = z["boxes"]
                    maps = [_parts_array(z[f"parts_{k}"], path) for k in range(len(boxes))]
                    scores = z["scores"] if "scores" in z else None
                    return paste_instances(size_hw, boxes, maps, scores)
                raise Rejected(
                    path, f"npz holds {sorted(z.files)}; expected 'parts' or 'boxes' + 'parts_<k>'"
                )
        if name.endswith(".png"):
            iuv = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
            if iuv is None:
                raise Rejected(path, "unreadable IUV image")
            return _parts_array(iuv, path)
        return decode_densepose(read_rgb(path))
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as e:
        raise Rejected(path, f"unreadable DensePose file ({e})") from None


def _find_import(import_dir: Path, split: str, key: str) -> Path | None:
    for d in (import_dir / split, import_dir):
        for suffix in IMPORT_SUFFIXES:
            if (d / f"{key}{suffix}").is_file():
                return d / f"{key}{suffix}"
    return None


def run_densepose(
    cfg: DenseposeConfig, progress: Callable[[int], None] | None = None
) -> StageResult:
    """Fill ``image-densepose/`` of every split folder of ``cfg.root``."""
    splits = split_dirs(cfg.root)
    split_of = {d: s for s, d in splits}
    items = [Item(d, k) for _, d in splits for k in person_ids(d)]

    def done(item: Item) -> bool:
        return not cfg.force and output_path(item.split_dir, "densepose", item.key).is_file()

    model = None
    if cfg.backend == "detectron2":
        from pgdata.backends.densepose_detectron2 import DetectronDensePose

        model = DetectronDensePose(cfg.config_file, cfg.weights)

    def process(item: Item) -> None:
        image = find_input(item.split_dir, "image", item.key)
        assert image is not None
        size = image_size(image)
        if model is not None:
            found = model.parts(read_rgb(image))
            if found is None:
                raise Rejected(image, "no person detected")
            parts = found
        else:
            assert cfg.import_dir is not None
            src = _find_import(cfg.import_dir, split_of[item.split_dir], item.key)
            if src is None:
                raise Rejected(image, f"no DensePose result for {item.key} in {cfg.import_dir}")
            parts = read_densepose(src, size)
            if parts.shape != size:
                raise Rejected(
                    src,
                    f"size mismatch: DensePose is {parts.shape[1]}x{parts.shape[0]}, "
                    f"image is {size[1]}x{size[0]} (W x H)",
                )
        if not parts.any():
            raise Rejected(image, "no person detected (DensePose map is empty)")
        write_jpeg(
            output_path(item.split_dir, "densepose", item.key),
            render_densepose(parts),
            cfg.quality,
        )

    return run_items(
        "densepose", cfg.root, items, done, process, strict=cfg.strict, progress=progress
    )
