"""HR-VITON's agnostic person image (``agnostic-v3.2``) and parse-agnostic map.

Both follow sangyun884/HR-VITON (``cp_dataset.py`` ``get_agnostic`` and
``get_parse_agnostic.py``) rule for rule, as described in ``shared/reference/tryon.md`` §4–5, but
draw with OpenCV (sub-pixel coordinates) into masks of the input's own size, so any image size
works. Shapes mimic PIL's: a line of width ``w`` is a ``w``-wide rectangle with flat ends, an
ellipse fills its bounding box ``(x ± a, y ± b)``.

Keypoints are BODY_25 ``(25, 3)`` float32 x, y, confidence in the image's pixels. A joint is
missing when its confidence is 0 or it sits at (0, 0) (the reference tests only x == y == 0; with
OpenPose files, whose undetected joints are ``0, 0, 0``, both rules agree).
"""

from __future__ import annotations

import cv2
import numpy as np

from pgdata.labels import (
    AGNOSTIC_HEAD_LABELS,
    AGNOSTIC_LOWER_LABELS,
    BODY25_JOINTS,
    PARSE_AGNOSTIC_CLEARED,
    P,
)

__all__ = [
    "AGNOSTIC_FILL",
    "AGNOSTIC_REQUIRED_JOINTS",
    "MissingJointsError",
    "agnostic_radius",
    "missing_joints",
    "parse_agnostic",
    "person_agnostic",
]

AGNOSTIC_FILL = (128, 128, 128)
"""PIL's ``'gray'``, the colour HR-VITON paints masked pixels with."""

AGNOSTIC_REQUIRED_JOINTS: tuple[int, ...] = (1, 2, 5, 9, 12)
"""Neck, shoulders and hips: the person agnostic is undefined without them."""

# arm chains: (label, joints) as in the reference loops
_PARSE_ARMS = ((P.LEFT_ARM, (2, 5, 6, 7)), (P.RIGHT_ARM, (5, 2, 3, 4)))
_HAND_ARMS = ((P.LEFT_ARM, (5, 6, 7)), (P.RIGHT_ARM, (2, 3, 4)))

_KEEP_LUT = np.zeros(256, dtype=np.uint8)
_KEEP_LUT[list(AGNOSTIC_HEAD_LABELS + AGNOSTIC_LOWER_LABELS)] = 1
_CLEARED_LUT = np.zeros(256, dtype=np.uint8)
_CLEARED_LUT[list(PARSE_AGNOSTIC_CLEARED)] = 1

_SHIFT = 4  # OpenCV fixed-point bits for sub-pixel drawing
_ONE = 1 << _SHIFT


class MissingJointsError(ValueError):
    """Keypoints the agnostic needs are missing (``joints`` holds their BODY_25 indices)."""

    def __init__(self, joints: list[int], what: str = "") -> None:
        self.joints = joints
        names = ", ".join(f"{j} {BODY25_JOINTS[j]}" for j in joints)
        super().__init__(f"missing BODY_25 keypoints ({names}){what}")


def missing_joints(pose: np.ndarray) -> np.ndarray:
    """Bool ``(J,)``: joints with confidence 0 or at (0, 0)."""
    pose = np.asarray(pose)
    return np.asarray((pose[:, 2] <= 0) | ((pose[:, 0] == 0) & (pose[:, 1] == 0)))


def _fixed(p: np.ndarray) -> np.ndarray:
    return np.rint(np.asarray(p, dtype=np.float64) * _ONE).astype(np.int32)


def _line(canvas: np.ndarray, p: np.ndarray, q: np.ndarray, width: float, value: int) -> None:
    """A PIL-style wide line: the ``width``-wide rectangle centred on segment p-q."""
    d = q - p
    n = float(np.hypot(d[0], d[1]))
    if n == 0:
        return
    off = np.array([-d[1], d[0]]) / n * (width / 2)
    quad = np.stack([p + off, q + off, q - off, p - off])
    cv2.fillConvexPoly(canvas, _fixed(quad), value, cv2.LINE_8, _SHIFT)


def _ellipse(canvas: np.ndarray, c: np.ndarray, ax: float, ay: float, value: int) -> None:
    """A filled ellipse in the bounding box ``(cx ± ax, cy ± ay)``, PIL ``ellipse`` style."""
    centre = _fixed(c)
    axes = (round(ax * _ONE), round(ay * _ONE))
    cv2.ellipse(
        canvas, (int(centre[0]), int(centre[1])), axes, 0, 0, 360, value, -1, cv2.LINE_8, _SHIFT
    )


def _polygon(canvas: np.ndarray, pts: np.ndarray, value: int) -> None:
    cv2.fillPoly(canvas, [_fixed(pts)], value, cv2.LINE_8, _SHIFT)


def parse_agnostic(labels: np.ndarray, pose: np.ndarray, radius: float | None = None) -> np.ndarray:
    """HR-VITON's parse-agnostic map (``image-parse-agnostic-v3.2``).

    1. For (left arm 14, joints 2→5→6→7) and (right arm 15, joints 5→2→3→4), walk consecutive
       pairs (prev, i); skip a pair with a missing end *without advancing prev*; else draw a
       ``10r``-wide line and a disc of radius ``4r`` at the wrist, ``15r`` elsewhere, at ``i``.
       Pixels of that arm's label under the drawing become background.
    2. Upper clothes, dress, coat (5, 6, 7) and neck (10) become background everywhere.

    Args:
        labels: ``(H, W)`` uint8 VITON-HD label map.
        pose: ``(25, 3)`` BODY_25 keypoints in the map's pixels; missing joints are skipped as in
            the reference.
        radius: ``r``; default ``10 * H / 1024`` (the reference's fixed 10 at 1024×768).

    Returns:
        ``(H, W)`` uint8 label map (a new array).
    """
    labels = np.asarray(labels)
    h, w = labels.shape
    r = 10.0 * h / 1024 if radius is None else float(radius)
    pts = np.asarray(pose, dtype=np.float64)[:, :2]
    miss = missing_joints(pose)
    out = labels.copy()
    for label, chain in _PARSE_ARMS:
        canvas = np.zeros((h, w), dtype=np.uint8)
        prev = chain[0]
        for i in chain[1:]:
            if miss[prev] or miss[i]:
                continue
            _line(canvas, pts[prev], pts[i], 10 * r, 1)
            rad = 4 * r if i == chain[-1] else 15 * r
            _ellipse(canvas, pts[i], rad, rad, 1)
            prev = i
        out[(canvas != 0) & (labels == label)] = P.BACKGROUND
    out[cv2.LUT(labels, _CLEARED_LUT) != 0] = P.BACKGROUND
    return out


def agnostic_radius(pose: np.ndarray) -> int:
    """HR-VITON's ``r = int(|p5 - p2| / 16) + 1`` (shoulder width / 16): 17 for VITON-HD 00006_00."""
    pts = np.asarray(pose, dtype=np.float64)[:, :2]
    return int(np.linalg.norm(pts[5] - pts[2]) / 16) + 1


def person_agnostic(image: np.ndarray, labels: np.ndarray, pose: np.ndarray) -> np.ndarray:
    """HR-VITON's agnostic person image (``agnostic-v3.2``): torso, neck and arms painted grey.

    Rules (``CPDataset.get_agnostic``): hips are rescaled about their midpoint to the shoulder
    width; ``r = int(shoulder width / 16) + 1``; torso ellipses, lines and polygon, neck
    rectangle, shoulder line and arm segments (skipping pairs with a missing joint) are painted
    ``(128, 128, 128)``; then each arm's hand region (a mask drawn on the image's own canvas, not
    a fixed 768×1024 one) and the head (4, 13) and lower body (9, 12, 16–19) get the original
    pixels back. Hair is not protected, as in the reference.

    Args:
        image: ``(H, W, 3)`` uint8 RGB photo.
        labels: ``(H, W)`` uint8 VITON-HD label map of the photo.
        pose: ``(25, 3)`` BODY_25 keypoints in the photo's pixels.

    Returns:
        ``(H, W, 3)`` uint8 RGB (a new array).

    Raises:
        MissingJointsError: neck, a shoulder or a hip is missing, or the hips coincide (the
            reference divides by zero there).
        ValueError: image and label map differ in size.
    """
    image = np.asarray(image)
    labels = np.asarray(labels)
    h, w = labels.shape
    if image.shape[:2] != (h, w):
        raise ValueError(f"image is {image.shape[1]}x{image.shape[0]}, parsing is {w}x{h} (W x H)")
    miss = missing_joints(pose)
    absent = [j for j in AGNOSTIC_REQUIRED_JOINTS if miss[j]]
    if absent:
        raise MissingJointsError(absent)
    p = np.asarray(pose, dtype=np.float64)[:, :2].copy()
    length_a = float(np.linalg.norm(p[5] - p[2]))
    length_b = float(np.linalg.norm(p[12] - p[9]))
    if length_b == 0:
        raise MissingJointsError([9, 12], ": both hips at the same point")
    mid = (p[9] + p[12]) / 2
    p[9] = mid + (p[9] - mid) / length_b * length_a
    p[12] = mid + (p[12] - mid) / length_b * length_a
    r = int(length_a / 16) + 1

    mask = np.zeros((h, w), dtype=np.uint8)
    # torso
    for i in (9, 12):
        _ellipse(mask, p[i], 3 * r, 6 * r, 1)
    _line(mask, p[2], p[9], 6 * r, 1)
    _line(mask, p[5], p[12], 6 * r, 1)
    _line(mask, p[9], p[12], 12 * r, 1)
    _polygon(mask, p[[2, 5, 12, 9]], 1)
    # neck
    nx, ny = p[1]
    rect = np.array([[nx - 5 * r, ny - 9 * r], [nx + 5 * r, ny - 9 * r], [nx + 5 * r, ny]])
    _polygon(mask, np.vstack([rect, [[nx - 5 * r, ny]]]), 1)
    # arms
    _line(mask, p[2], p[5], 12 * r, 1)
    for i in (2, 5):
        _ellipse(mask, p[i], 5 * r, 6 * r, 1)
    for i in (3, 4, 6, 7):
        if miss[i - 1] or miss[i]:
            continue
        _line(mask, p[i - 1], p[i], 10 * r, 1)
        _ellipse(mask, p[i], 5 * r, 5 * r, 1)

    restore = np.asarray(cv2.LUT(labels, _KEEP_LUT), dtype=np.uint8)  # 1: head, lower body
    for label, chain in _HAND_ARMS:
        hand = np.ones((h, w), dtype=np.uint8)
        _ellipse(hand, p[chain[0]], 5 * r, 6 * r, 0)
        last = chain[0]
        for i in chain[1:]:
            if miss[i - 1] or miss[i]:
                continue
            _line(hand, p[i - 1], p[i], 10 * r, 0)
            if i != chain[-1]:
                _ellipse(hand, p[i], 5 * r, 5 * r, 0)
            last = i
        _ellipse(hand, p[last], 4 * r, 4 * r, 0)
        np.bitwise_or(restore, hand & (labels == label).view(np.uint8), out=restore)
    grey = (mask > restore).view(np.uint8)
    fill = np.empty_like(image)
    fill[...] = AGNOSTIC_FILL
    out = image.copy()
    cv2.copyTo(fill, grey, out)  # in place; much faster than boolean indexing of (H, W, 3)
    return out
