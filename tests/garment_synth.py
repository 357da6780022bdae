"""Synthetic garment packshots with exact masks, for the crawl shop and the mask tests."""

from __future__ import annotations

import cv2
import numpy as np

KINDS = ("tee", "trousers", "dress", "shorts", "tank")


def _polygon(kind: str, w: int, h: int) -> list[np.ndarray]:
    """Garment outline(s) in pixels for a ``w``×``h`` canvas."""

    def pts(rel: list[tuple[float, float]]) -> np.ndarray:
        return np.array([(x * w, y * h) for x, y in rel], dtype=np.int32)

    if kind == "tee":
        return [
            pts(
                [
                    (0.38, 0.12),
                    (0.45, 0.16),
                    (0.55, 0.16),
                    (0.62, 0.12),
                    (0.85, 0.25),
                    (0.78, 0.38),
                    (0.70, 0.33),
                    (0.70, 0.86),
                    (0.30, 0.86),
                    (0.30, 0.33),
                    (0.22, 0.38),
                    (0.15, 0.25),
                ]
            )
        ]
    if kind == "tank":
        return [
            pts(
                [
                    (0.36, 0.10),
                    (0.42, 0.10),
                    (0.45, 0.24),
                    (0.55, 0.24),
                    (0.58, 0.10),
                    (0.64, 0.10),
                    (0.68, 0.34),
                    (0.70, 0.88),
                    (0.30, 0.88),
                    (0.32, 0.34),
                ]
            )
        ]
    if kind == "trousers":
        return [
            pts(
                [
                    (0.30, 0.08),
                    (0.70, 0.08),
                    (0.74, 0.92),
                    (0.56, 0.92),
                    (0.50, 0.35),
                    (0.44, 0.92),
                    (0.26, 0.92),
                ]
            )
        ]
    if kind == "shorts":
        return [
            pts(
                [
                    (0.25, 0.25),
                    (0.75, 0.25),
                    (0.80, 0.70),
                    (0.55, 0.72),
                    (0.50, 0.45),
                    (0.45, 0.72),
                    (0.20, 0.70),
                ]
            )
        ]
    if kind == "dress":
        return [
            pts(
                [
                    (0.40, 0.06),
                    (0.46, 0.12),
                    (0.54, 0.12),
                    (0.60, 0.06),
                    (0.64, 0.30),
                    (0.60, 0.42),
                    (0.80, 0.94),
                    (0.20, 0.94),
                    (0.40, 0.42),
                    (0.36, 0.30),
                ]
            )
        ]
    raise ValueError(kind)


def draw_garment(
    kind: str,
    color: tuple[int, int, int],
    size_wh: tuple[int, int] = (600, 800),
    *,
    bg: tuple[int, int, int] = (246, 246, 246),
    texture: bool = True,
    shadow: bool = False,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """``(rgb (H, W, 3) uint8, mask (H, W) uint8 0/255)`` of one flat garment on ``bg``."""
    w, h = size_wh
    rng = np.random.default_rng(seed)
    mask = np.zeros((h, w), np.uint8)
    cv2.fillPoly(mask, _polygon(kind, w, h), 255, lineType=cv2.LINE_8)
    img = np.empty((h, w, 3), np.float32)
    img[:] = bg
    if shadow:
        # a soft drop shadow below/right of the garment, lighter than the cut
        sh = cv2.GaussianBlur(np.roll(mask, (h // 80, w // 80), axis=(0, 1)), (0, 0), w / 120)
        img -= (sh.astype(np.float32) / 255.0 * 5.0)[..., None]
    cloth = np.empty((h, w, 3), np.float32)
    cloth[:] = color
    if texture:
        yy = np.arange(h, dtype=np.float32)[:, None]
        cloth += (6.0 * np.sin(yy / 3.0))[..., None]  # knit stripes
        cloth += rng.normal(0, 4, size=(h, w, 1)).astype(np.float32)
        # a seam line and a darker fold
        cv2.line(cloth, (int(w * 0.5), int(h * 0.2)), (int(w * 0.5), int(h * 0.8)), (0, 0, 0), 2)
    fg = mask > 0
    img[fg] = cloth[fg]
    return np.clip(img + 0.5, 0, 255).astype(np.uint8), mask


def model_photo(size_wh: tuple[int, int] = (600, 800), seed: int = 0) -> np.ndarray:
    """An on-model style shot: a textured, colourful background (not a packshot)."""
    w, h = size_wh
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 255, size=(h // 20 + 1, w // 20 + 1, 3), dtype=np.uint8)
    img = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    garment, mask = draw_garment("trousers", (40, 60, 120), size_wh, texture=False, seed=seed)
    img[mask > 0] = garment[mask > 0]
    return img
