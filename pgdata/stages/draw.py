"""Skeleton drawing, the PATN/GFLA ``draw_pose_from_cords`` way."""

from __future__ import annotations

import cv2
import numpy as np

from pgdata.labels import COCO18_COLORS, COCO18_LIMBS

__all__ = ["draw_skeleton", "overlay_skeleton"]


def draw_skeleton(
    kps: np.ndarray, size_hw: tuple[int, int], radius: int = 2
) -> tuple[np.ndarray, np.ndarray]:
    """Draw COCO-18 keypoints on a black canvas.

    Limbs whose two ends are present are anti-aliased 1-px grey lines; each present joint is a
    filled disc of ``radius`` in its PATN colour, clipped to the canvas.

    Args:
        kps: ``(18, 3)`` x, y, confidence.
        size_hw: canvas ``(H, W)``.
        radius: joint disc radius in pixels.

    Returns:
        ``(H, W, 3)`` uint8 RGB image and ``(H, W)`` bool mask of drawn pixels.
    """
    kps = np.asarray(kps, dtype=np.float32)
    if kps.shape != (18, 3):
        raise ValueError(f"expected (18, 3) COCO-18 keypoints, got shape {kps.shape}")
    h, w = size_hw
    canvas = np.zeros((h, w, 3), dtype=np.uint8)
    ok = kps[:, 2] > 0
    pts = np.rint(kps[:, :2]).astype(np.int32)
    for a, b in COCO18_LIMBS:
        if ok[a] and ok[b]:
            p, q = (int(pts[a, 0]), int(pts[a, 1])), (int(pts[b, 0]), int(pts[b, 1]))
            cv2.line(canvas, p, q, (255, 255, 255), 1, cv2.LINE_AA)
    for j in np.flatnonzero(ok):
        centre = (int(pts[j, 0]), int(pts[j, 1]))
        cv2.circle(canvas, centre, radius, COCO18_COLORS[j], -1, cv2.LINE_8)
    mask = np.asarray(canvas.any(axis=2))
    return canvas, mask


def overlay_skeleton(image_rgb: np.ndarray, kps: np.ndarray, radius: int = 2) -> np.ndarray:
    """Return a copy of an ``(H, W, 3)`` uint8 RGB image with the skeleton drawn over it."""
    h, w = image_rgb.shape[:2]
    skel, mask = draw_skeleton(kps, (h, w), radius)
    out = image_rgb.copy()
    out[mask] = skel[mask]
    return out
