"""``pgdata sample --kind tryon``: a deterministic synthetic VITON-HD dataset to run the pipeline on.

Layout written under ``out`` (what a user has before preprocessing, plus the outputs of the
external tools the pipeline imports):

- ``test/image/<id>.jpg``: frontal synthetic persons, ``size_hw`` (default 1024×768, VITON-HD);
- ``test/cloth/<id>.jpg`` (garment on a white background) or ``test/cloth/<id>.png`` (RGBA,
  transparent background), alternating: each person's own top;
- ``precomputed/parsing/<id>.png``: CIHP label ids as a grey PNG (CIHP-PGN's raw output);
- ``precomputed/openpose_json/<id>_keypoints.json``: OpenPose 1.3 COCO-18 (as OpenPose's COCO
  model writes; the pipeline converts to BODY_25);
- ``precomputed/densepose/<id>.npy``: a coarse DensePose part map derived from the parsing;
- ``sample.json`` (last).

``pipelines/viton-hd.toml`` finds the ``precomputed/`` folders relative to the root. Ids are VITON
style (``00001_00``). Same ``(persons, seed, size)`` → byte-identical files.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from pgdata import __version__
from pgdata.errors import ConfigError
from pgdata.io.atomic import atomic_write_bytes, atomic_write_text
from pgdata.io.densepose import write_parts_npy
from pgdata.io.images import encode_jpeg, encode_png
from pgdata.io.openpose import write_openpose
from pgdata.labels import P
from pgdata.stages.synth import random_appearance, random_body, render_person, synth_pose

__all__ = ["TryonSampleConfig", "TryonSampleResult", "run_tryon_sample"]

# parsing id -> a DensePose fine part (coarse: one part per label; 0 = background)
_PARSE_TO_DENSEPOSE = {
    P.HAIR: 23,
    P.FACE: 24,
    P.NECK: 23,
    P.UPPER_CLOTHES: 2,
    P.COAT: 2,
    P.DRESS: 2,
    P.LEFT_ARM: 15,
    P.RIGHT_ARM: 16,
    P.PANTS: 9,
    P.SKIRT: 10,
    P.LEFT_LEG: 14,
    P.RIGHT_LEG: 13,
    P.LEFT_SHOE: 5,
    P.RIGHT_SHOE: 6,
}


MIN_SIZE = 64  # pixels, the smallest person canvas the synthetic renderer draws


@dataclass(frozen=True)
class TryonSampleConfig:
    """Parameters of ``pgdata sample --kind tryon``."""

    out: Path
    persons: int = 4
    seed: int = 0
    size_hw: tuple[int, int] = (1024, 768)

    def __post_init__(self) -> None:
        if self.persons < 1:
            raise ConfigError("persons must be >= 1")
        if min(self.size_hw) < MIN_SIZE:
            raise ConfigError(f"--size must be at least {MIN_SIZE}x{MIN_SIZE}")


@dataclass
class TryonSampleResult:
    """What ``run_tryon_sample`` wrote."""

    out: Path
    persons: int
    garments_jpeg: int
    garments_rgba: int
    size_hw: tuple[int, int]

    def summary(self) -> str:
        """One line of counts."""
        h, w = self.size_hw
        return (
            f"sample: wrote {self.persons} try-on persons and {self.persons} garments "
            f"({self.garments_jpeg} JPEG on white, {self.garments_rgba} RGBA PNG) at "
            f"{w}x{h} (W x H) to {self.out}"
        )


def garment_image(
    colour: tuple[int, int, int], size_hw: tuple[int, int], rng: np.random.Generator, alpha: bool
) -> tuple[np.ndarray, np.ndarray]:
    """A flat T-shirt packshot: ``(H, W, 3)`` RGB on white or ``(H, W, 4)`` RGBA, and its mask.

    Returns:
        the image and the ``(H, W)`` uint8 ground-truth mask (garment 255).
    """
    h, w = size_hw
    s = min(h / 1024, w / 768)
    cx, top = w / 2, h * 0.18
    body = np.array([[-150, 60], [150, 60], [140, 700], [-140, 700]]) * s + [cx, top]
    sleeves = [
        np.array([[-150, 60], [-80, 20], [-40, 40], [-150, 260], [-290, 230]]) * s + [cx, top],
        np.array([[150, 60], [80, 20], [40, 40], [150, 260], [290, 230]]) * s + [cx, top],
    ]
    neck = np.array([[-80, 20], [80, 20], [40, 40], [-40, 40]]) * s + [cx, top]
    mask = np.zeros((h, w), dtype=np.uint8)
    for poly in [body, *sleeves, neck]:
        cv2.fillPoly(mask, [np.round(poly).astype(np.int32)], 255)
    cv2.ellipse(
        mask, (round(cx), round(top + 40 * s)), (round(55 * s), round(40 * s)), 0, 0, 360, 0, -1
    )
    shade = 1.0 - 0.08 * np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
    noise = rng.normal(0, 1.5, size=(h, w, 3)).astype(np.float32)
    garment = np.clip(np.asarray(colour, np.float32) * shade + noise, 0, 234)
    on = mask[..., None] > 0
    rgb = np.where(on, garment, 255.0).astype(np.uint8)
    if not alpha:
        return rgb, mask
    return np.dstack([rgb, mask]), mask


def run_tryon_sample(
    cfg: TryonSampleConfig, progress: Callable[[int], None] | None = None
) -> TryonSampleResult:
    """Write the synthetic try-on dataset; ``progress(1)`` after each person."""
    out = cfg.out
    split = out / "test"
    pre = out / "precomputed"
    lut = np.zeros(256, dtype=np.uint8)
    for label, part in _PARSE_TO_DENSEPOSE.items():
        lut[label] = part
    n_alpha = 0
    for i in range(cfg.persons):
        key = f"{i + 1:05d}_00"
        rng = np.random.default_rng([cfg.seed, i])
        body = random_body(rng)
        look = random_appearance(rng, "WOMEN", "Tees_Tanks")
        kps = synth_pose(rng, body, "front", cfg.size_hw)
        rgb, labels = render_person(kps, body, look, "front", cfg.size_hw, rng)
        atomic_write_bytes(split / "image" / f"{key}.jpg", encode_jpeg(rgb, 95))
        alpha = i % 2 == 1
        garment, _ = garment_image(look.top, cfg.size_hw, rng, alpha)
        if alpha:
            n_alpha += 1
            atomic_write_bytes(split / "cloth" / f"{key}.png", encode_png(garment))
        else:
            atomic_write_bytes(split / "cloth" / f"{key}.jpg", encode_jpeg(garment, 95))
        atomic_write_bytes(pre / "parsing" / f"{key}.png", encode_png(labels))
        write_openpose(pre / "openpose_json" / f"{key}_keypoints.json", [kps])
        write_parts_npy(pre / "densepose" / f"{key}.npy", lut[labels])
        if progress is not None:
            progress(1)
    result = TryonSampleResult(out, cfg.persons, cfg.persons - n_alpha, n_alpha, cfg.size_hw)
    meta = {
        "generator": f"pgdata {__version__}",
        "kind": "tryon",
        "config": {"persons": cfg.persons, "seed": cfg.seed, "size_hw": list(cfg.size_hw)},
        "persons": result.persons,
        "garments_jpeg": result.garments_jpeg,
        "garments_rgba": result.garments_rgba,
        "layout": "test/{image,cloth}; precomputed/{parsing,openpose_json,densepose}",
    }
    atomic_write_text(out / "sample.json", json.dumps(meta, indent=2, sort_keys=True) + "\n")
    return result
