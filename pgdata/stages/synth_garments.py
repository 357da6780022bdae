"""Synthetic garment packshots with exact masks, for the demo shop (``pgdata demo-shop``) and the
mask tests.

Patterns (``draw_garment(..., pattern=...)``), all running out to the garment outline so that
hole filling cannot recover a missed part:

- ``plain``: one colour with knit texture, a seam and (optionally) a drop shadow;
- ``stripes`` / ``hstripes``: vertical / horizontal bands alternating the colour and ``white``;
- ``checks``: gingham: colour where both bands cross, half colour where one band runs, ``white``
  elsewhere;
- ``trim``: the colour with a ``white`` binding along the whole outline and a ``white`` hem band;
- ``white``: the whole garment ``white`` with faint shading and thin fold lines.

The mask is the filled outline polygon, so it is exact by construction whatever the pattern.
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["KINDS", "PATTERNS", "WHITES", "draw_garment", "model_photo"]

KINDS = ("tee", "trousers", "dress", "shorts", "tank")
PATTERNS = ("plain", "stripes", "hstripes", "checks", "trim", "white")
# pure white and a cream white (the white stripes of a real VITON-HD blouse measure ~(249, 245, 234))
WHITES = ((255, 255, 255), (250, 247, 238))


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
    pattern: str = "plain",
    white: tuple[int, int, int] = WHITES[0],
    shadow_depth: float = 5.0,
) -> tuple[np.ndarray, np.ndarray]:
    """``(rgb (H, W, 3) uint8, mask (H, W) uint8 0/255)`` of one flat garment on ``bg``.

    ``pattern`` is one of :data:`PATTERNS`; ``white`` is the white of the patterned parts;
    ``shadow_depth`` is how many grey levels the drop shadow takes off at its darkest.
    """
    if pattern not in PATTERNS:
        raise ValueError(f"unknown pattern {pattern!r}; expected one of {PATTERNS}")
    w, h = size_wh
    rng = np.random.default_rng(seed)
    mask = np.zeros((h, w), np.uint8)
    cv2.fillPoly(mask, _polygon(kind, w, h), 255, lineType=cv2.LINE_8)
    img = np.empty((h, w, 3), np.float32)
    img[:] = bg
    if shadow:
        # a soft drop shadow below/right of the garment, lighter than the cut
        sh = cv2.GaussianBlur(np.roll(mask, (h // 80, w // 80), axis=(0, 1)), (0, 0), w / 120)
        img -= (sh.astype(np.float32) / 255.0 * shadow_depth)[..., None]
    cloth = np.empty((h, w, 3), np.float32)
    cloth[:] = color
    if texture:
        yy = np.arange(h, dtype=np.float32)[:, None]
        cloth += (6.0 * np.sin(yy / 3.0))[..., None]  # knit stripes
        cloth += rng.normal(0, 4, size=(h, w, 1)).astype(np.float32)
        # a seam line and a darker fold
        cv2.line(cloth, (int(w * 0.5), int(h * 0.2)), (int(w * 0.5), int(h * 0.8)), (0, 0, 0), 2)
    if pattern != "plain":
        cloth = _pattern(pattern, cloth, mask, np.asarray(white, np.float32), rng)
    fg = mask > 0
    img[fg] = cloth[fg]
    return np.clip(img + 0.5, 0, 255).astype(np.uint8), mask


def _pattern(
    pattern: str, cloth: np.ndarray, mask: np.ndarray, white: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Paint ``pattern`` over the textured ``cloth`` (H, W, 3) float32; returns a new array."""
    h, w = mask.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    # band period 2.5-5 % of the width (8-15 px at 300, 19-38 px at 768), random phase
    period = float(rng.uniform(0.025, 0.05)) * w
    phase = float(rng.uniform(0.0, period))
    light = white[None, None, :] + rng.normal(0, 1.0, size=(h, w, 1)).astype(np.float32)
    if pattern in ("stripes", "hstripes"):
        band = ((xx if pattern == "stripes" else yy) + phase) % period < period / 2
        return np.where(band[..., None], cloth, light)
    if pattern == "checks":
        bx = ((xx + phase) % period < period / 2).astype(np.float32)
        by = ((yy + phase) % period < period / 2).astype(np.float32)
        cover = ((bx + by) / 2.0)[..., None]  # 1 where both bands cross, 0.5 on one, 0 off
        checked: np.ndarray = cover * cloth + (1.0 - cover) * light
        return checked
    if pattern == "trim":
        inside = cv2.distanceTransform((mask > 0).astype(np.uint8), cv2.DIST_L2, 3)
        rows = np.flatnonzero(mask.any(axis=1))
        hem = yy > rows[-1] - 0.06 * (rows[-1] - rows[0])
        edge = (inside <= max(2.0, 0.012 * w)) | hem
        return np.where(edge[..., None], light, cloth)
    # white: faint low-frequency shading (never darker than white - 4) and thin fold lines
    small = rng.uniform(0.0, 4.0, size=(6, 5)).astype(np.float32)
    shade = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    out = light - shade[..., None]
    for _ in range(3):
        x0 = int(rng.uniform(0.3, 0.7) * w)
        fold = tuple(float(v) - 12.0 for v in white)
        cv2.line(out, (x0, int(0.3 * h)), (x0 + int(rng.uniform(-0.2, 0.2) * w), h), fold, 2)
    return out


def model_photo(size_wh: tuple[int, int] = (600, 800), seed: int = 0) -> np.ndarray:
    """An on-model style shot: a textured, colourful background (not a packshot)."""
    w, h = size_wh
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 255, size=(h // 20 + 1, w // 20 + 1, 3), dtype=np.uint8)
    img = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    garment, mask = draw_garment("trousers", (40, 60, 120), size_wh, texture=False, seed=seed)
    img[mask > 0] = garment[mask > 0]
    return img
