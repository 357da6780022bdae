"""Pure keypoint kernels: layout conversion, resize, crop, flip.

Convention used everywhere in pgdata: keypoints are a float32 array ``(..., J, 3)`` holding
``x, y, confidence`` in pixels of a known canvas; ``confidence == 0`` means the joint is missing
and its x, y are 0. The PATN/GFLA CSV stores ``(y, x)`` integer lists with ``-1`` for missing;
:func:`yx_to_xyc` and :func:`xyc_to_yx` convert at the file boundary only.
"""

from __future__ import annotations

import numpy as np

from pgdata.labels import (
    BODY25_FLIP_PAIRS,
    BODY25_LHIP,
    BODY25_MID_HIP,
    BODY25_RHIP,
    COCO18_FLIP_PAIRS,
    COCO18_TO_BODY25,
    flip_permutation,
)

__all__ = [
    "MISSING",
    "body25_to_coco18",
    "coco18_to_body25",
    "crop_resize_yx_reference",
    "drop_far_joints",
    "flip_keypoints",
    "misfit",
    "present",
    "resize_keypoints",
    "xyc_to_yx",
    "yx_to_xyc",
]

MISSING = -1
"""The missing-joint marker of the PATN/GFLA CSV format."""

_COCO18_FLIP = np.array(flip_permutation(18, COCO18_FLIP_PAIRS))
_BODY25_FLIP = np.array(flip_permutation(25, BODY25_FLIP_PAIRS))
_C18_TO_B25 = np.array(COCO18_TO_BODY25)


def present(kps: np.ndarray) -> np.ndarray:
    """Boolean ``(..., J)``: which joints of an ``(..., J, 3)`` array are present."""
    return np.asarray(kps[..., 2] > 0)


def misfit(pose: np.ndarray, size_hw: tuple[int, int]) -> str | None:
    """Why ``(J, 3)`` keypoints cannot belong to an image of ``size_hw`` (H, W), or None.

    ``"no person detected"`` when no joint is present; ``"size mismatch: ..."`` when a present
    joint lies outside ``[0, W] x [0, H]`` (keypoints computed on a resized photo).
    """
    ok = pose[:, 2] > 0
    if not ok.any():
        return "no person detected"
    h, w = size_hw
    xs, ys = pose[ok, 0], pose[ok, 1]
    if xs.max() > w or ys.max() > h or xs.min() < 0 or ys.min() < 0:
        return (
            f"size mismatch: keypoints reach ({xs.max():.0f}, {ys.max():.0f}) outside the "
            f"{w}x{h} image (W x H); were they computed on a resized photo?"
        )
    return None


def drop_far_joints(
    kps: np.ndarray, size_hw: tuple[int, int], margin: float
) -> tuple[np.ndarray, bool]:
    """Mark present joints more than ``margin`` pixels outside an ``(H, W)`` image as missing.

    Args:
        kps: ``(J, 3)`` float32 x, y, confidence in image pixels.
        size_hw: image ``(H, W)``; the kept region is ``[-margin, W - 1 + margin]`` in x and
            ``[-margin, H - 1 + margin]`` in y.

    Returns:
        a copy with those joints zeroed (x = y = confidence = 0), and whether any was.
    """
    h, w = size_hw
    x, y = kps[:, 0], kps[:, 1]
    outside = (kps[:, 2] > 0) & (
        (x < -margin) | (x > w - 1 + margin) | (y < -margin) | (y > h - 1 + margin)
    )
    out = kps.copy()
    out[outside] = 0
    return out, bool(outside.any())


def yx_to_xyc(yx: np.ndarray) -> np.ndarray:
    """PATN ``(..., J, 2)`` integer (y, x) with ``-1`` = missing → ``(..., J, 3)`` float32 x, y, c.

    A joint is missing when **either** coordinate is -1 (that is what the reference pair rule and
    heatmap renderer test), so a visible joint whose shifted x became -1 reads as missing, exactly
    as in the reference code.
    """
    yx = np.asarray(yx)
    ok = (yx[..., 0] != MISSING) & (yx[..., 1] != MISSING)
    out = np.zeros(yx.shape[:-1] + (3,), dtype=np.float32)
    out[..., 0] = np.where(ok, yx[..., 1], 0)
    out[..., 1] = np.where(ok, yx[..., 0], 0)
    out[..., 2] = ok
    return out


def xyc_to_yx(kps: np.ndarray) -> np.ndarray:
    """``(..., J, 3)`` x, y, c → PATN ``(..., J, 2)`` int64 (y, x), rounded, ``-1`` where missing."""
    kps = np.asarray(kps)
    ok = kps[..., 2] > 0
    out = np.full(kps.shape[:-1] + (2,), MISSING, dtype=np.int64)
    out[..., 0] = np.where(ok, np.rint(kps[..., 1]), MISSING)
    out[..., 1] = np.where(ok, np.rint(kps[..., 0]), MISSING)
    return out


def coco18_to_body25(kps: np.ndarray) -> np.ndarray:
    """COCO-18 ``(..., 18, 3)`` → BODY_25 ``(..., 25, 3)``.

    Joints map one to one; ``mid_hip`` is synthesised as the mean of both hips when both are
    present (confidence = the smaller of the two), else missing; the six foot joints are missing.
    """
    kps = np.asarray(kps, dtype=np.float32)
    if kps.shape[-2:] != (18, 3):
        raise ValueError(f"expected (..., 18, 3) COCO-18 keypoints, got shape {kps.shape}")
    out = np.zeros(kps.shape[:-2] + (25, 3), dtype=np.float32)
    out[..., _C18_TO_B25, :] = kps
    rhip, lhip = out[..., BODY25_RHIP, :], out[..., BODY25_LHIP, :]
    both = (rhip[..., 2] > 0) & (lhip[..., 2] > 0)
    mid = np.zeros_like(rhip)
    mid[..., :2] = (rhip[..., :2] + lhip[..., :2]) / 2
    mid[..., 2] = np.minimum(rhip[..., 2], lhip[..., 2])
    out[..., BODY25_MID_HIP, :] = np.where(both[..., None], mid, 0)
    return out


def body25_to_coco18(kps: np.ndarray) -> np.ndarray:
    """BODY_25 ``(..., 25, 3)`` → COCO-18 ``(..., 18, 3)`` (drops mid-hip and the feet)."""
    kps = np.asarray(kps, dtype=np.float32)
    if kps.shape[-2:] != (25, 3):
        raise ValueError(f"expected (..., 25, 3) BODY_25 keypoints, got shape {kps.shape}")
    return np.ascontiguousarray(kps[..., _C18_TO_B25, :])


def flip_keypoints(kps: np.ndarray, width: int) -> np.ndarray:
    """Mirror ``(..., J, 3)`` keypoints for an image flipped with ``img[:, ::-1]``.

    Present joints get ``x' = width - 1 - x``; left/right joints swap (COCO-18 or BODY_25, chosen
    by J); missing joints stay missing. Flipping twice is the identity.
    """
    kps = np.asarray(kps, dtype=np.float32)
    n = kps.shape[-2]
    if n == 18:
        perm = _COCO18_FLIP
    elif n == 25:
        perm = _BODY25_FLIP
    else:
        raise ValueError(f"flip_keypoints knows COCO-18 and BODY_25, got {n} joints")
    out = kps.copy()
    ok = out[..., 2] > 0
    out[..., 0] = np.where(ok, (width - 1) - out[..., 0], 0)
    return np.ascontiguousarray(out[..., perm, :])


def resize_keypoints(
    kps: np.ndarray, src_hw: tuple[int, int], dst_hw: tuple[int, int]
) -> np.ndarray:
    """Scale ``(..., J, 3)`` keypoints from a ``src_hw`` canvas to ``dst_hw`` (missing stay missing).

    Uses the plain ratio ``x * W'/W`` of GFLA/DPTN ``cords_to_map``.
    """
    kps = np.asarray(kps, dtype=np.float32)
    out = kps.copy()
    ok = out[..., 2] > 0
    out[..., 0] = np.where(ok, out[..., 0] * (dst_hw[1] / src_hw[1]), 0)
    out[..., 1] = np.where(ok, out[..., 1] * (dst_hw[0] / src_hw[0]), 0)
    return out


def crop_resize_yx_reference(
    yx: np.ndarray, *, crop_x: int, ratio_y: float, ratio_x: float
) -> np.ndarray:
    """The exact PATN ``tool/resize_fashion.py`` transform on integer ``(..., J, 2)`` (y, x).

    ``y' = int(y * ratio_y)``, ``x' = int((x - crop_x) * ratio_x)`` with truncation toward zero,
    then every input ``-1`` is restored to ``-1``. Quirks kept on purpose (they are in every
    published file): x < crop becomes negative, x == crop - 1 becomes -1 and looks missing.
    """
    yx = np.asarray(yx, dtype=np.int64)
    missing = yx == MISSING
    out = np.empty_like(yx)
    out[..., 0] = (yx[..., 0] * ratio_y).astype(np.int64)
    out[..., 1] = ((yx[..., 1] - crop_x) * ratio_x).astype(np.int64)
    out[missing] = MISSING
    return out
