"""OpenPose-style BODY_25 skeleton renderings (VITON-HD ``openpose_img/<id>_rendered.png``).

What the shipped files show (``shared/reference/tryon.md`` §6): a black canvas; each limb of
``BODY25_LIMBS`` whose two joints have confidence above 0.05 is an ellipse spanning it (a stick
tapering to its ends) in the colour of its *second* joint; then each such joint is a disc in its own colour; every stick and disc is
alpha-blended at 0.6 over what is already drawn (limb pixels = 0.6 × colour, a joint over a limb
≈ 0.84 × colour). Stick width (in the middle) and disc radius scale with the canvas (13 px and 7 px at 768×1024,
as measured on the shipped files). Hand and face keypoints, which HR-VITON's renderings also
show, are not drawn.
"""

from __future__ import annotations

import cv2
import numpy as np

from pgdata.labels import BODY25_COLORS, BODY25_LIMBS

__all__ = ["RENDER_ALPHA", "RENDER_THRESHOLD", "render_openpose"]

RENDER_ALPHA = 0.6
RENDER_THRESHOLD = 0.05
_SHIFT = 4


def _blend(canvas: np.ndarray, shape: np.ndarray, x0: int, y0: int, colour: np.ndarray) -> None:
    sel = shape != 0
    roi = canvas[y0 : y0 + shape.shape[0], x0 : x0 + shape.shape[1]]
    roi[sel] = RENDER_ALPHA * colour + (1 - RENDER_ALPHA) * roi[sel]


def render_openpose(
    kps: np.ndarray, size_hw: tuple[int, int], threshold: float = RENDER_THRESHOLD
) -> np.ndarray:
    """Render ``(25, 3)`` BODY_25 keypoints (pixels) as OpenPose does with a black background.

    Returns:
        ``(H, W, 3)`` uint8 RGB.
    """
    kps = np.asarray(kps, dtype=np.float32)
    if kps.shape != (25, 3):
        raise ValueError(f"expected (25, 3) BODY_25 keypoints, got shape {kps.shape}")
    h, w = size_hw
    canvas = np.zeros((h, w, 3), dtype=np.float32)
    ok = kps[:, 2] > threshold
    stick = max(2, round(float(np.sqrt(h * w)) / 68))
    radius = max(1, round(stick * 0.55))
    pad = stick + radius + 2
    colours = np.asarray(BODY25_COLORS, dtype=np.float32)

    def draw(pts: np.ndarray, colour: np.ndarray, line: bool) -> None:
        lo = np.floor(pts.min(axis=0)).astype(int) - pad
        hi = np.ceil(pts.max(axis=0)).astype(int) + pad
        x0, y0 = max(int(lo[0]), 0), max(int(lo[1]), 0)
        x1, y1 = min(int(hi[0]), w), min(int(hi[1]), h)
        if x1 <= x0 or y1 <= y0:
            return
        local = np.zeros((y1 - y0, x1 - x0), dtype=np.uint8)
        fx = np.rint((pts - [x0, y0]) * (1 << _SHIFT)).astype(np.int32)
        if line:  # an ellipse spanning the limb, ``stick`` wide in the middle (OpenPose's shape)
            centre = (fx[0] + fx[1]) // 2
            d = pts[1] - pts[0]
            half = round(float(np.hypot(d[0], d[1])) / 2 * (1 << _SHIFT))
            angle = float(np.degrees(np.arctan2(d[1], d[0])))
            axes = (half, round(stick / 2 * (1 << _SHIFT)))
            cv2.ellipse(local, tuple(centre), axes, angle, 0, 360, 1, -1, cv2.LINE_8, _SHIFT)
        else:
            cv2.circle(local, tuple(fx[0]), radius << _SHIFT, 1, -1, cv2.LINE_8, _SHIFT)
        _blend(canvas, local, x0, y0, colour)

    for a, b in BODY25_LIMBS:
        if ok[a] and ok[b]:
            draw(kps[[a, b], :2], colours[b], True)
    for j in np.flatnonzero(ok):
        draw(kps[[j], :2], colours[j], False)
    return np.clip(np.rint(canvas), 0, 255).astype(np.uint8)
