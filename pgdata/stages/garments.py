"""Garment packshot kernels: normalise to a fixed canvas, perceptual hashes, garment kind.

Pure functions on arrays: ``(H, W, 3)`` uint8 RGB images, ``(H, W)`` uint8 0/255 masks. Sizes
are given as ``(width, height)`` here, like VITON-HD's 768×1024 wording; arrays stay
``(H, W, ...)``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import cv2
import numpy as np

__all__ = [
    "GARMENT_KINDS",
    "GarmentHash",
    "garment_hash",
    "garment_kind",
    "hamming",
    "near_duplicate",
    "normalise_garment",
]

# DressCode's groups; VITON-HD itself only has upper_body
GARMENT_KINDS = ("upper_body", "lower_body", "dresses", "unknown")

# most specific first: "shirt dress" is a dress, "skirt" is not a shirt
_KIND_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "dresses",
        (
            "dress",
            "jumpsuit",
            "romper",
            "playsuit",
            "pinafore",
            "gown",
            "원피스",
            "점프수트",
        ),
    ),
    (
        "lower_body",
        (
            "jean",
            "denim pant",
            "trouser",
            "pant",
            "legging",
            "skirt",
            "shorts",
            "chino",
            "jogger",
            "bottom",
            "culotte",
            "팬츠",
            "바지",
            "스커트",
            "쇼츠",
            "데님",
            "슬랙스",
        ),
    ),
    (
        "upper_body",
        (
            "tee",
            "t-shirt",
            "shirt",
            "blouse",
            "top",
            "sweater",
            "cardigan",
            "hoodie",
            "sweatshirt",
            "tank",
            "knit",
            "polo",
            "bodysuit",
            "camisole",
            "티셔츠",
            "셔츠",
            "블라우스",
            "니트",
            "탑",
            "후디",
            "맨투맨",
        ),
    ),
)


def garment_kind(*texts: str | None) -> str:
    """``upper_body``, ``lower_body``, ``dresses`` or ``unknown`` from category/name text.

    Texts are tried in order (e.g. canonical category, raw category, product name); within
    one text the most specific group wins (``"Shirt Dress"`` → ``dresses``).
    """
    for text in texts:
        if not text:
            continue
        low = text.lower()
        for kind, words in _KIND_WORDS:
            if any(re.search(rf"(?<![a-z]){re.escape(w)}", low) for w in words):
                return kind
    return "unknown"


def normalise_garment(
    rgb: np.ndarray,
    mask: np.ndarray,
    size_hw: tuple[int, int],
    *,
    margin: float = 0.04,
    fill: tuple[int, int, int] = (255, 255, 255),
) -> tuple[np.ndarray, np.ndarray, float]:
    """Crop the mask's bounding box (plus ``margin`` of its size), fit it into ``size_hw``
    keeping the aspect ratio, centre it on a ``fill`` canvas.

    Args:
        rgb: ``(H, W, 3)`` uint8, the garment on white (flatten RGBA first).
        mask: ``(H, W)`` uint8, garment > 0; must not be empty.
        size_hw: output ``(height, width)``.
        margin: padding around the box as a fraction of its larger side.
        fill: canvas colour (the photo's background colour makes the padding seamless).

    Returns:
        ``(image (h, w, 3) uint8, mask (h, w) uint8 0/255, scale)``: LANCZOS for the image,
        area-averaged then thresholded at 127 for the mask; ``scale`` > 1 means upscaled.

    Raises:
        ValueError: empty mask.
    """
    ys, xs = np.nonzero(mask)
    if len(ys) == 0:
        raise ValueError("empty mask")
    h_out, w_out = size_hw
    y0, y1, x0, x1 = int(ys.min()), int(ys.max()) + 1, int(xs.min()), int(xs.max()) + 1
    pad = round(max(y1 - y0, x1 - x0) * margin)
    h, w = mask.shape
    # pad the crop with white/background where the margin leaves the image
    top, left = y0 - pad, x0 - pad
    bottom, right = y1 + pad, x1 + pad
    crop = np.empty((bottom - top, right - left, 3), np.uint8)
    crop[:] = fill
    crop_m = np.zeros((bottom - top, right - left), np.uint8)
    sy0, sx0, sy1, sx1 = max(0, top), max(0, left), min(h, bottom), min(w, right)
    crop[sy0 - top : sy1 - top, sx0 - left : sx1 - left] = rgb[sy0:sy1, sx0:sx1]
    crop_m[sy0 - top : sy1 - top, sx0 - left : sx1 - left] = mask[sy0:sy1, sx0:sx1]
    ch, cw = crop_m.shape
    scale = min(w_out / cw, h_out / ch)
    nw, nh = max(1, min(w_out, round(cw * scale))), max(1, min(h_out, round(ch * scale)))
    interp = cv2.INTER_LANCZOS4 if scale > 1 else cv2.INTER_AREA
    img_s = cv2.resize(crop, (nw, nh), interpolation=interp)
    m_s = cv2.resize(
        crop_m, (nw, nh), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    )
    out = np.empty((h_out, w_out, 3), np.uint8)
    out[:] = fill
    out_m = np.zeros((h_out, w_out), np.uint8)
    oy, ox = (h_out - nh) // 2, (w_out - nw) // 2
    out[oy : oy + nh, ox : ox + nw] = img_s
    out_m[oy : oy + nh, ox : ox + nw] = np.where(m_s > 127, np.uint8(255), np.uint8(0))
    return out, out_m, float(scale)


@dataclass(frozen=True)
class GarmentHash:
    """Perceptual fingerprint of a normalised garment.

    ``dhash``/``ahash`` are 64-bit grey hashes (difference and average) of the canonical
    rendering; ``lab`` is the mean CIE L*a*b* colour inside the mask, which tells a red tee
    from the same tee in blue (their grey hashes are nearly equal).
    """

    dhash: int
    ahash: int
    lab: tuple[float, float, float]


def _bits(values: np.ndarray) -> int:
    out = 0
    for b in values.ravel():
        out = (out << 1) | int(bool(b))
    return out


def garment_hash(rgb: np.ndarray, mask: np.ndarray) -> GarmentHash:
    """Fingerprint of a normalised garment (:func:`normalise_garment` output)."""
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    d = cv2.resize(grey, (9, 8), interpolation=cv2.INTER_AREA).astype(np.int16)
    a = cv2.resize(grey, (8, 8), interpolation=cv2.INTER_AREA).astype(np.float32)
    lab = cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)
    sel = mask > 0
    mean = lab[sel].mean(axis=0) if sel.any() else np.zeros(3, np.float32)
    return GarmentHash(
        dhash=_bits(d[:, 1:] > d[:, :-1]),
        ahash=_bits(a > a.mean()),
        lab=(float(mean[0]), float(mean[1]), float(mean[2])),
    )


def hamming(a: int, b: int) -> int:
    """Number of differing bits."""
    return (a ^ b).bit_count()


def near_duplicate(
    a: GarmentHash, b: GarmentHash, *, max_bits: int = 6, max_delta_e: float = 12.0
) -> tuple[bool, int, float]:
    """``(duplicate, hash distance, ΔE)``: both grey hashes within ``max_bits`` **and** the
    mean colours within ``max_delta_e`` (CIE76). Grey hashes alone would merge colour
    variants."""
    bits = max(hamming(a.dhash, b.dhash), hamming(a.ahash, b.ahash))
    de = float(np.linalg.norm(np.subtract(a.lab, b.lab)))
    return bits <= max_bits and de <= max_delta_e, bits, de
