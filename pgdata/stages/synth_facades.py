"""Procedural facade pairs for the aligned sample: a colour label map and a photo-like rendering.

``pgdata sample --kind aligned`` writes these as A|B images (label map left, rendering right), a
tiny stand-in for pix2pix's facades set: ``AtoB`` learns labels → photo. The label map is drawn
first (:func:`facade_labels`: wall, a cornice band, a grid of windows with sills, a door, some
balconies), then the rendering colours it class by class with textures (bricks, glass gradients,
wood), light from the top, noise and a light blur (:func:`render_facade`). Pure functions of their
arguments and an explicit ``rng``.
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["FACADE_CLASSES", "FACADE_PALETTE", "facade_labels", "label_colours", "render_facade"]

FACADE_CLASSES = ("background", "wall", "cornice", "window", "sill", "door", "balcony")
FACADE_PALETTE = np.array(
    [
        (0, 0, 170),  # background (sky): facades' dark blue
        (0, 85, 255),  # wall
        (255, 170, 0),  # cornice
        (0, 170, 255),  # window
        (170, 255, 85),  # sill
        (255, 85, 0),  # door
        (170, 0, 0),  # balcony
    ],
    dtype=np.uint8,
)
"""RGB colour of each class in the label image (after the CMP facades palette's style)."""

WALL, CORNICE, WINDOW, SILL, DOOR, BALCONY = 1, 2, 3, 4, 5, 6
_NOISE = 5.0


def facade_labels(rng: np.random.Generator, size_hw: tuple[int, int]) -> np.ndarray:
    """A random facade layout: ``(H, W)`` uint8 class ids of :data:`FACADE_CLASSES`."""
    h, w = size_hw
    lab = np.zeros((h, w), dtype=np.uint8)
    roof = int(h * rng.uniform(0.04, 0.15))
    lab[roof:, :] = WALL
    band = max(1, int(h * rng.uniform(0.02, 0.05)))
    lab[roof : roof + band, :] = CORNICE
    floors = int(rng.integers(2, 5))
    cols = int(rng.integers(2, 6))
    top = roof + band
    floor_h = (h - top) / floors
    col_w = w / cols
    win_w, win_h = rng.uniform(0.35, 0.6) * col_w, rng.uniform(0.4, 0.6) * floor_h
    door_col = int(rng.integers(cols))
    for f in range(floors):
        y0 = int(top + f * floor_h + (floor_h - win_h) / 2)
        balcony = f > 0 and rng.random() < 0.4
        for k in range(cols):
            x0 = int(k * col_w + (col_w - win_w) / 2)
            x1, y1 = x0 + max(1, int(win_w)), y0 + max(1, int(win_h))
            if f == floors - 1 and k == door_col:  # the ground floor's door reaches the ground
                lab[y0:h, x0:x1] = DOOR
                continue
            lab[y0:y1, x0:x1] = WINDOW
            sill = max(1, int(0.08 * win_h))
            lab[y1 : y1 + sill, max(0, x0 - sill) : x1 + sill] = SILL
            if balcony:
                lab[y1 - int(0.3 * win_h) : y1, max(0, x0 - sill) : x1 + sill] = BALCONY
    return lab


def label_colours(labels: np.ndarray) -> np.ndarray:
    """Class ids ``(H, W)`` → the label image ``(H, W, 3)`` uint8 in :data:`FACADE_PALETTE`."""
    out: np.ndarray = FACADE_PALETTE[labels]
    return out


def _bricks(h: int, w: int, period: int) -> np.ndarray:
    """1 on mortar lines of a running-bond brick pattern, 0 on bricks: ``(H, W)`` float."""
    yy, xx = np.mgrid[0:h, 0:w]
    row = yy // period
    shifted = xx + (row % 2) * period
    lines: np.ndarray = ((yy % period) == 0) | ((shifted % (2 * period)) == 0)
    return lines.astype(np.float64)


def render_facade(rng: np.random.Generator, labels: np.ndarray) -> np.ndarray:
    """Render a label layout as a photo-like ``(H, W, 3)`` uint8 RGB image."""
    h, w = labels.shape
    img: np.ndarray = np.zeros((h, w, 3), dtype=np.float64)
    yy = np.linspace(0.0, 1.0, h)[:, None, None]
    sky = rng.uniform(150, 230, 3)
    img[:] = sky * (1.1 - 0.3 * yy)
    wall = rng.uniform(90, 210, 3)
    mortar = _bricks(h, w, max(2, h // 40))
    wall_img = wall * (1 - 0.25 * mortar[..., None]) * (1.05 - 0.2 * yy)
    colours = {
        CORNICE: rng.uniform(170, 240, 3),
        SILL: rng.uniform(170, 240, 3),
        DOOR: rng.uniform(40, 120, 3),
        BALCONY: rng.uniform(20, 80, 3),
    }
    glass = rng.uniform(30, 90, 3) + 120 * (1 - yy)  # reflections brighter at the top
    img = np.where((labels == WALL)[..., None], wall_img, img)
    img = np.where((labels == WINDOW)[..., None], np.broadcast_to(glass, img.shape), img)
    for cls, colour in colours.items():
        img[labels == cls] = colour
    img += rng.normal(0.0, _NOISE, img.shape)
    img = cv2.GaussianBlur(np.clip(img, 0, 255).astype(np.float32), (0, 0), 0.7)
    return np.clip(np.round(img), 0, 255).astype(np.uint8)
