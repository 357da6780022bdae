"""Inpainting masks: a centre box, DMFN's random box, several random boxes, free-form brush strokes.

Every mask is ``(H, W)`` uint8 with 1 = hole (pixels the generator must fill) and 0 = known, as
DMFN's ``mask`` tensor. Randomness comes only from the ``rng`` argument
(``numpy.random.Generator``): the same generator state gives the same mask, so a training sample
can draw its mask from ``default_rng((seed, epoch, index))`` and a resumed run sees the same holes.

Kinds (:data:`MASK_KINDS`), sizes relative to the image so any size works:

- ``center``: the centred box of half the height and width (128×128 at 256², the classic
  "centre" evaluation mask);
- ``box``: DMFN's ``regular`` mask (``configs/celeba-hq-regular_list.yaml``): a half-size box at
  a random position, each side then shrunk by a random amount up to 1/16 of the image (the
  released ``max_delta`` 32 at 256², split between both sides);
- ``boxes``: 1–4 boxes of 1/8–3/8 of the height and width each, anywhere;
- ``brush``: 1–4 free-form strokes, each a polyline of 4–10 segments with random turns, drawn
  with a round brush of 1/32–1/12 of the image size (a free-form / irregular mask).

:func:`coverage` is the hole fraction; :func:`coverage_problem` says why a mask is unusable
(a hole of nothing or of everything).
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

__all__ = [
    "MASK_KINDS",
    "box_mask",
    "boxes_mask",
    "brush_mask",
    "center_mask",
    "coverage",
    "coverage_problem",
    "make_mask",
    "random_mask",
]

MASK_KINDS = ("center", "box", "boxes", "brush")

HOLE = 1
"""Mask value of a missing pixel (0 = known)."""

BOX_FRACTION = 0.5
"""``center`` and ``box``: the box is half the image in each dimension (128 at 256²)."""
BOX_MAX_SHRINK = 1 / 16
"""``box``: each side moves inwards by up to this fraction of the image (16 px at 256²)."""
BOXES_COUNT = (1, 4)
BOXES_SIDE = (1 / 8, 3 / 8)
"""``boxes``: how many boxes, and each box's side as a fraction of the image side."""
BRUSH_STROKES = (1, 4)
BRUSH_VERTICES = (4, 10)
BRUSH_WIDTH = (1 / 32, 1 / 12)
BRUSH_SEGMENT = (1 / 16, 1 / 5)
BRUSH_MAX_TURN = np.pi / 3
"""``brush``: strokes per mask, vertices per stroke, brush width and segment length as fractions
of the image's smaller side, and the largest turn between two segments (radians)."""


def _empty(size_hw: tuple[int, int]) -> np.ndarray:
    h, w = size_hw
    if h < 2 or w < 2:
        raise ValueError(f"mask size must be at least 2x2, found {h}x{w}")
    return np.zeros((h, w), dtype=np.uint8)


def center_mask(size_hw: tuple[int, int]) -> np.ndarray:
    """The centred box of half the height and width: ``(H, W)`` uint8, 1 inside."""
    mask = _empty(size_hw)
    h, w = size_hw
    bh, bw = max(1, round(h * BOX_FRACTION)), max(1, round(w * BOX_FRACTION))
    top, left = (h - bh) // 2, (w - bw) // 2
    mask[top : top + bh, left : left + bw] = HOLE
    return mask


def box_mask(rng: np.random.Generator, size_hw: tuple[int, int]) -> np.ndarray:
    """DMFN's random half-size box, each side shrunk by ``0 .. H/16`` (``W/16``) pixels."""
    mask = _empty(size_hw)
    h, w = size_hw
    bh, bw = max(1, round(h * BOX_FRACTION)), max(1, round(w * BOX_FRACTION))
    top = int(rng.integers(0, h - bh + 1))
    left = int(rng.integers(0, w - bw + 1))
    dh = int(rng.integers(0, int(h * BOX_MAX_SHRINK) + 1))
    dw = int(rng.integers(0, int(w * BOX_MAX_SHRINK) + 1))
    mask[top + dh : top + bh - dh, left + dw : left + bw - dw] = HOLE
    return mask


def boxes_mask(rng: np.random.Generator, size_hw: tuple[int, int]) -> np.ndarray:
    """1–4 random boxes, each side 1/8–3/8 of the image's, anywhere inside it (may overlap)."""
    mask = _empty(size_hw)
    h, w = size_hw
    for _ in range(int(rng.integers(BOXES_COUNT[0], BOXES_COUNT[1] + 1))):
        bh = max(1, round(h * rng.uniform(*BOXES_SIDE)))
        bw = max(1, round(w * rng.uniform(*BOXES_SIDE)))
        top = int(rng.integers(0, h - bh + 1))
        left = int(rng.integers(0, w - bw + 1))
        mask[top : top + bh, left : left + bw] = HOLE
    return mask


def brush_mask(rng: np.random.Generator, size_hw: tuple[int, int]) -> np.ndarray:
    """1–4 free-form strokes: random-walk polylines drawn with a round brush (see module doc)."""
    mask = _empty(size_hw)
    h, w = size_hw
    side = min(h, w)
    for _ in range(int(rng.integers(BRUSH_STROKES[0], BRUSH_STROKES[1] + 1))):
        width = max(1, round(side * rng.uniform(*BRUSH_WIDTH)))
        x, y = rng.uniform(0, w), rng.uniform(0, h)
        angle = rng.uniform(0, 2 * np.pi)
        points = [(x, y)]
        for _ in range(int(rng.integers(BRUSH_VERTICES[0], BRUSH_VERTICES[1] + 1))):
            angle += rng.uniform(-BRUSH_MAX_TURN, BRUSH_MAX_TURN)
            length = side * rng.uniform(*BRUSH_SEGMENT)
            x = float(np.clip(x + length * np.cos(angle), 0, w - 1))
            y = float(np.clip(y + length * np.sin(angle), 0, h - 1))
            points.append((x, y))
        pts = np.round(np.array(points)).astype(np.int32)
        cv2.polylines(mask, [pts], False, HOLE, thickness=width, lineType=cv2.LINE_8)
        for px, py in pts:  # round joints, as a brush leaves them
            cv2.circle(mask, (int(px), int(py)), width // 2, HOLE, thickness=-1)
    return mask


def make_mask(kind: str, size_hw: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A mask of ``kind`` (one of :data:`MASK_KINDS`); ``center`` ignores ``rng``."""
    if kind == "center":
        return center_mask(size_hw)
    if kind == "box":
        return box_mask(rng, size_hw)
    if kind == "boxes":
        return boxes_mask(rng, size_hw)
    if kind == "brush":
        return brush_mask(rng, size_hw)
    raise ValueError(f"mask kind {kind!r} is not one of {list(MASK_KINDS)}")


def random_mask(
    kinds: Sequence[str], size_hw: tuple[int, int], rng: np.random.Generator
) -> tuple[str, np.ndarray]:
    """Draw a kind uniformly from ``kinds``, then its mask: ``(kind, (H, W) uint8)``."""
    if not kinds:
        raise ValueError(f"give at least one mask kind of {list(MASK_KINDS)}")
    kind = kinds[int(rng.integers(len(kinds)))] if len(kinds) > 1 else kinds[0]
    return kind, make_mask(kind, size_hw, rng)


def coverage(mask: np.ndarray) -> float:
    """Fraction of hole pixels (``mask != 0``) in ``[0, 1]``."""
    return float(np.count_nonzero(mask)) / max(1, mask.size)


def coverage_problem(mask: np.ndarray) -> str | None:
    """Why ``mask`` cannot be an inpainting mask, or None: it covers nothing or everything."""
    holes = int(np.count_nonzero(mask))
    if holes == 0:
        return "covers nothing (no hole pixel: nothing to inpaint)"
    if holes == mask.size:
        return "covers everything (no known pixel left to inpaint from)"
    return None
