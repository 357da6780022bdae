"""DensePose part maps and HR-VITON's ``image-densepose`` rendering.

A part map is an ``(H, W)`` uint8 array of DensePose fine part indices I (0 = background,
1..24 = body parts, ``pgdata.labels.DENSEPOSE_PARTS``). HR-VITON's ``image-densepose/<id>.jpg``
shows each body pixel in the OpenCV PARULA colour of ``uint8(I * 255 / 24)`` at full opacity on
black (``shared/reference/tryon.md`` §6), not detectron2 ``apply_net.py show``'s 0.7 blend over a
grey photo.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from pgdata.labels import DENSEPOSE_PARULA

__all__ = [
    "N_PARTS",
    "decode_densepose",
    "paste_instances",
    "render_densepose",
]

N_PARTS = 24
_LUT = np.asarray(DENSEPOSE_PARULA, dtype=np.uint8)


def render_densepose(parts: np.ndarray) -> np.ndarray:
    """``(H, W)`` uint8 part indices 0..24 → ``(H, W, 3)`` uint8 RGB ``image-densepose`` picture.

    Raises:
        ValueError: an index above 24.
    """
    parts = np.asarray(parts)
    if parts.dtype != np.uint8 or parts.ndim != 2:
        raise ValueError(f"part map must be (H, W) uint8, got {parts.dtype} {parts.shape}")
    top = int(parts.max(initial=0))
    if top > N_PARTS:
        raise ValueError(f"DensePose part index {top} is above {N_PARTS}")
    return np.ascontiguousarray(_LUT[parts])


def decode_densepose(rgb: np.ndarray) -> np.ndarray:
    """Inverse of :func:`render_densepose` for (JPEG-compressed) pictures: nearest palette colour.

    Returns:
        ``(H, W)`` uint8 part indices (0 where black is nearest).
    """
    flat = np.asarray(rgb, dtype=np.int32).reshape(-1, 1, 3)
    best = np.zeros(flat.shape[0], dtype=np.uint8)
    best_d = np.full(flat.shape[0], np.iinfo(np.int32).max, dtype=np.int32)
    for i, colour in enumerate(_LUT.astype(np.int32)):
        d = ((flat[:, 0, :] - colour) ** 2).sum(axis=1)
        closer = d < best_d
        best[closer] = i
        best_d[closer] = d[closer]
    return best.reshape(np.asarray(rgb).shape[:2])


def paste_instances(
    size_hw: tuple[int, int],
    boxes_xywh: np.ndarray,
    part_maps: Sequence[np.ndarray],
    scores: Sequence[float] | None = None,
) -> np.ndarray:
    """Assemble per-instance part maps (detectron2 ``apply_net.py dump`` style) into one image.

    Each ``part_maps[k]`` (any size) is resized nearest-neighbour to its box
    ``boxes_xywh[k] = (x, y, w, h)`` in pixels and pasted at the box corner where it is non-zero,
    clipped to the canvas. Instances are pasted in ascending ``scores`` (the most confident
    ends on top); without scores in the given order.

    Returns:
        ``(H, W)`` uint8 part indices.
    """
    h, w = size_hw
    out = np.zeros((h, w), dtype=np.uint8)
    boxes = np.asarray(boxes_xywh, dtype=np.float64).reshape(-1, 4)
    if len(boxes) != len(part_maps):
        raise ValueError(f"{len(boxes)} boxes but {len(part_maps)} part maps")
    order = (
        np.argsort(np.asarray(scores), kind="stable") if scores is not None else range(len(boxes))
    )
    for k in order:
        x, y, bw, bh = (int(round(v)) for v in boxes[k])
        if bw <= 0 or bh <= 0:
            continue
        src = np.asarray(part_maps[k], dtype=np.uint8)
        parts = np.asarray(cv2.resize(src, (bw, bh), interpolation=cv2.INTER_NEAREST))
        x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + bw, w), min(y + bh, h)
        if x1 <= x0 or y1 <= y0:
            continue
        crop = parts[y0 - y : y1 - y, x0 - x : x1 - x]
        roi = out[y0:y1, x0:x1]
        roi[crop != 0] = crop[crop != 0]
    return out
