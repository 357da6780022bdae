"""Cloth masks of garment packshots: which pixels are the garment.

The one kernel both the garment build (``pgdata garments``) and the try-on tools use. Input is
an ``(H, W, 3)`` RGB or ``(H, W, 4)`` RGBA uint8 array in memory (no paths); output is an
``(H, W)`` uint8 mask with garment = 255 and background = 0, the polarity and value range of
VITON-HD's ``cloth-mask/`` files.

Methods:

- ``alpha``: a transparent packshot already carries its mask: ``alpha > 127``.
- ``threshold``: a plain background of any light colour (VITON-HD packshots are
  (246, 246, 246), shops use white). The background colour is the median of the border strip;
  a pixel is garment when its luma differs from it by more than ``luma_tol`` (15) or its
  chroma by more than ``chroma_tol`` (20, |ΔCr| + |ΔCb|). Luma and chroma are judged apart
  because JPEG stores chroma at half resolution: a per-RGB-channel cut grows every saturated
  garment by the 1–2 px of colour bleeding into the background (IoU 0.89 on a 300×400 red tee),
  while luma keeps the edge. Soft shadows (a few levels of luma, no chroma) stay background.
- ``rgb-cut``: the rule the VITON-HD reference describes: a pixel with all channels above
  ``bg_cut`` (240) is background (IoU 0.98 / 0.99 / 0.96 on the shipped samples, vs
  0.99 / 0.99 / 0.97 for ``threshold``).
- Both then apply a 5×5 closing, keep the largest 8-connected component and fill holes (which
  also fills real cut-outs such as a strap gap).
- ``grabcut``: the ``threshold`` mask refined by OpenCV GrabCut (mask initialisation,
  3 iterations, at most ~512 px on the short side); ~10× slower.
- ``auto``: ``alpha`` when the image has a real alpha channel (some pixel below 250), else
  ``threshold``.

:func:`background_stats` measures the border strip so callers can refuse photos that are not
packshots (textured or dark backgrounds) before trusting a threshold mask.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

__all__ = [
    "METHODS",
    "BackgroundStats",
    "MaskMethod",
    "background_stats",
    "cloth_mask",
    "fill_holes",
    "has_alpha",
    "largest_component",
    "mask_iou",
    "on_white",
    "resolve_method",
]

MaskMethod = Literal["auto", "alpha", "threshold", "rgb-cut", "grabcut"]
METHODS: tuple[MaskMethod, ...] = ("auto", "alpha", "threshold", "rgb-cut", "grabcut")

# a pixel with every channel above this is background (VITON-HD packshots: 246 grey)
BG_CUT = 240
# alpha below this somewhere means the alpha channel is real, not a constant 255
ALPHA_REAL = 250
# the cut stays this far below the measured background colour
BG_MARGIN = 6
# threshold: garment = luma or chroma this far from the border colour
LUMA_TOL = 15
CHROMA_TOL = 20


@dataclass(frozen=True)
class BackgroundStats:
    """Colour statistics of the image border (a strip ~2 % of the short side wide).

    ``median`` and ``std`` are per RGB channel. A packshot background is light and flat:
    ``median.min() >= 200`` and ``std.max() <= 12`` (a textured photo measures ~70).
    """

    median: tuple[float, float, float]
    std: tuple[float, float, float]

    @property
    def plain(self) -> bool:
        """True when the border looks like a light, flat packshot background."""
        return min(self.median) >= 200 and max(self.std) <= 12


def has_alpha(image: np.ndarray) -> bool:
    """True when ``image`` is RGBA and its alpha channel is not constant opaque."""
    return image.ndim == 3 and image.shape[2] == 4 and int(image[..., 3].min()) < ALPHA_REAL


def resolve_method(image: np.ndarray, method: MaskMethod = "auto") -> MaskMethod:
    """The method :func:`cloth_mask` will use for ``image`` (``auto`` resolved)."""
    if method not in METHODS:
        raise ValueError(f"unknown cloth-mask method {method!r}; expected one of {METHODS}")
    if method == "auto":
        return "alpha" if has_alpha(image) else "threshold"
    if method == "alpha" and not has_alpha(image):
        raise ValueError("method 'alpha' needs an RGBA image with a real alpha channel")
    return method


def background_stats(image: np.ndarray, strip: float = 0.02) -> BackgroundStats:
    """Median and standard deviation per channel of a border strip of ``image`` (RGB/RGBA)."""
    border = _border(_rgb(image), strip).astype(np.float32)
    med = np.median(border, axis=0)
    std = border.std(axis=0)
    return BackgroundStats(
        (float(med[0]), float(med[1]), float(med[2])),
        (float(std[0]), float(std[1]), float(std[2])),
    )


def cloth_mask(
    image: np.ndarray,
    method: MaskMethod = "auto",
    *,
    luma_tol: float = LUMA_TOL,
    chroma_tol: float = CHROMA_TOL,
    bg_cut: int = BG_CUT,
    close_px: int = 5,
) -> np.ndarray:
    """Garment mask of a packshot.

    Args:
        image: ``(H, W, 3)`` RGB or ``(H, W, 4)`` RGBA uint8.
        method: ``auto``, ``alpha``, ``threshold``, ``rgb-cut`` or ``grabcut`` (see the
            module docstring).
        luma_tol: ``threshold``/``grabcut``: luma distance from the background that is garment.
        chroma_tol: ``threshold``/``grabcut``: chroma distance (|ΔCr| + |ΔCb|) that is garment.
        bg_cut: ``rgb-cut``: a pixel with all channels above this is background.
        close_px: side of the square closing kernel in pixels.

    Returns:
        ``(H, W)`` uint8, garment 255, background 0. An image without any foreground gives an
        all-zero mask (callers gate on the area).

    Raises:
        ValueError: wrong shape/dtype, unknown method, ``alpha`` without an alpha channel.
    """
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] not in (3, 4):
        raise ValueError(f"expected (H, W, 3|4) uint8, got {image.dtype} {image.shape}")
    how = resolve_method(image, method)
    if how == "alpha":
        return np.where(image[..., 3] > 127, np.uint8(255), np.uint8(0))
    rgb = _rgb(image)
    if how == "rgb-cut":
        fg = _rgb_cut(rgb, bg_cut)
    else:
        fg = _ycc_distance(rgb, luma_tol, chroma_tol)
    mask = _clean(fg, close_px)
    if how == "grabcut" and mask.any():
        mask = _grabcut(_rgb(image), mask)
    return mask


def on_white(image: np.ndarray) -> np.ndarray:
    """``(H, W, 3)`` RGB: an RGB image as is, an RGBA image composited on white."""
    return _rgb(image)


def _rgb(image: np.ndarray) -> np.ndarray:
    if image.shape[2] == 3:
        return image
    # composite RGBA on white, as a viewer would show it
    a = image[..., 3:4].astype(np.float32) / 255.0
    out: np.ndarray = image[..., :3].astype(np.float32) * a + 255.0 * (1.0 - a)
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def _border(image: np.ndarray, strip: float = 0.02) -> np.ndarray:
    h, w = image.shape[:2]
    s = max(1, round(min(h, w) * strip))
    c = image.shape[2]
    return np.concatenate(
        [
            image[:s].reshape(-1, c),
            image[-s:].reshape(-1, c),
            image[s:-s, :s].reshape(-1, c),
            image[s:-s, -s:].reshape(-1, c),
        ]
    )


def _ycc_distance(rgb: np.ndarray, luma_tol: float, chroma_tol: float) -> np.ndarray:
    ycc = cv2.cvtColor(rgb, cv2.COLOR_RGB2YCrCb).astype(np.int16)
    bg = np.median(_border(ycc), axis=0).astype(np.int16)
    d = np.abs(ycc - bg)
    fg = (d[..., 0] > luma_tol) | (d[..., 1] + d[..., 2] > chroma_tol)
    return np.where(fg, np.uint8(255), np.uint8(0))


def _rgb_cut(rgb: np.ndarray, bg_cut: int) -> np.ndarray:
    bg_min = min(background_stats(rgb).median)
    cut = min(bg_cut, int(bg_min) - BG_MARGIN)
    return np.where(rgb.min(axis=2) <= cut, np.uint8(255), np.uint8(0))


def _clean(fg: np.ndarray, close_px: int) -> np.ndarray:
    if close_px > 1:
        kernel = np.ones((close_px, close_px), np.uint8)
        fg = cv2.morphologyEx(fg, cv2.MORPH_CLOSE, kernel)
    return fill_holes(largest_component(fg))


def largest_component(mask: np.ndarray) -> np.ndarray:
    """Keep the largest 8-connected foreground component of an ``(H, W)`` uint8 0/255 mask."""
    n, labels, stats, _ = cv2.connectedComponentsWithStats(
        (mask > 0).astype(np.uint8), connectivity=8
    )
    if n <= 2:
        return np.where(mask > 0, np.uint8(255), np.uint8(0))
    best = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    return np.where(labels == best, np.uint8(255), np.uint8(0))


def fill_holes(mask: np.ndarray) -> np.ndarray:
    """Fill background regions of an ``(H, W)`` 0/255 mask that do not reach the border."""
    h, w = mask.shape
    bg = (mask == 0).astype(np.uint8)
    # background components touching the border stay background; the rest are holes
    padded = np.pad(bg, 1, constant_values=1)
    n, labels = cv2.connectedComponents(padded, connectivity=4)
    outside = labels[0, 0]
    holes = (labels[1 : h + 1, 1 : w + 1] != outside) & (bg == 1)
    return np.where((mask > 0) | holes, np.uint8(255), np.uint8(0))


def _grabcut(rgb: np.ndarray, mask: np.ndarray, short_side: int = 512) -> np.ndarray:
    h, w = mask.shape
    scale = min(1.0, short_side / min(h, w))
    small_rgb, small = rgb, mask
    if scale < 1.0:
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        small_rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
        small = cv2.resize(mask, size, interpolation=cv2.INTER_NEAREST)
    k = max(3, round(min(small.shape) * 0.02)) | 1
    kernel = np.ones((k, k), np.uint8)
    sure_fg = cv2.erode(small, kernel) > 0
    maybe_bg = cv2.dilate(small, kernel) > 0
    gc = np.full(small.shape, cv2.GC_BGD, np.uint8)
    gc[maybe_bg] = cv2.GC_PR_BGD
    gc[small > 0] = cv2.GC_PR_FGD
    gc[sure_fg] = cv2.GC_FGD
    if not (gc == cv2.GC_BGD).any() or not sure_fg.any():
        return mask
    bgd = np.zeros((1, 65), np.float64)
    fgd = np.zeros((1, 65), np.float64)
    bgr = cv2.cvtColor(small_rgb, cv2.COLOR_RGB2BGR)
    cv2.grabCut(bgr, gc, (0, 0, 0, 0), bgd, fgd, 3, cv2.GC_INIT_WITH_MASK)
    out = np.where((gc == cv2.GC_FGD) | (gc == cv2.GC_PR_FGD), np.uint8(255), np.uint8(0))
    if scale < 1.0:
        out = cv2.resize(out, (w, h), interpolation=cv2.INTER_LINEAR)
        out = np.where(out > 127, np.uint8(255), np.uint8(0))
    return fill_holes(largest_component(out))


def mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two masks (``>= 128`` = foreground)."""
    fa, fb = a >= 128, b >= 128
    union = int(np.count_nonzero(fa | fb))
    return 1.0 if union == 0 else int(np.count_nonzero(fa & fb)) / union
