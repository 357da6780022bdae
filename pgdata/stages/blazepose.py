"""MediaPipe BlazePose (33 landmarks) → BODY_25 / COCO-18 keypoints.

Joints map by name through ``pgdata.labels.BLAZEPOSE_TO_BODY25``; BODY_25's neck and mid-hip,
which BlazePose lacks, are synthesised as the midpoints of the two shoulders and of the two hips
(confidence = the smaller of the two; missing unless both are present). The small toes have no
counterpart and stay missing; the big toes are BlazePose's ``foot_index`` points. BlazePose's
hip landmarks sit a little higher and wider than OpenPose's: agnostic torsos from estimated
keypoints are close to, not equal to, those from OpenPose.
"""

from __future__ import annotations

import numpy as np

from pgdata.labels import (
    BLAZEPOSE_TO_BODY25,
    BODY25_LHIP,
    BODY25_LSHO,
    BODY25_MID_HIP,
    BODY25_NECK,
    BODY25_RHIP,
    BODY25_RSHO,
)
from pgdata.stages.keypoints import body25_to_coco18

__all__ = ["MIN_VISIBILITY", "blazepose_to_body25", "blazepose_to_coco18"]

MIN_VISIBILITY = 0.5
_SRC = np.array(BLAZEPOSE_TO_BODY25)


def blazepose_to_body25(
    landmarks: np.ndarray, size_hw: tuple[int, int], min_visibility: float = MIN_VISIBILITY
) -> np.ndarray:
    """``(33, 3)`` BlazePose landmarks → ``(25, 3)`` float32 BODY_25 keypoints in pixels.

    Args:
        landmarks: x, y normalised to [0, 1] of the image width/height, and visibility in
            [0, 1] (MediaPipe's ``landmark.x``, ``.y``, ``.visibility``).
        size_hw: image ``(H, W)``.
        min_visibility: landmarks below it, or outside the image, are missing.
    """
    lm = np.asarray(landmarks, dtype=np.float32)
    if lm.shape != (33, 3):
        raise ValueError(f"expected (33, 3) BlazePose landmarks, got shape {lm.shape}")
    h, w = size_hw
    px = np.stack([lm[:, 0] * w, lm[:, 1] * h, lm[:, 2]], axis=1)
    inside = (px[:, 0] >= 0) & (px[:, 0] <= w - 1) & (px[:, 1] >= 0) & (px[:, 1] <= h - 1)
    ok = inside & (px[:, 2] >= min_visibility) & (px[:, 2] > 0)
    px[~ok] = 0
    out = np.zeros((25, 3), dtype=np.float32)
    has = _SRC >= 0
    out[has] = px[_SRC[has]]
    for mid, a, b in (
        (BODY25_NECK, BODY25_RSHO, BODY25_LSHO),
        (BODY25_MID_HIP, BODY25_RHIP, BODY25_LHIP),
    ):
        if out[a, 2] > 0 and out[b, 2] > 0:
            out[mid, :2] = (out[a, :2] + out[b, :2]) / 2
            out[mid, 2] = min(out[a, 2], out[b, 2])
    return out


def blazepose_to_coco18(
    landmarks: np.ndarray, size_hw: tuple[int, int], min_visibility: float = MIN_VISIBILITY
) -> np.ndarray:
    """``(33, 3)`` BlazePose landmarks → ``(18, 3)`` COCO-18 keypoints (via BODY_25)."""
    return body25_to_coco18(blazepose_to_body25(landmarks, size_hw, min_visibility))
