"""PATN/DPTN pose heatmaps: one Gaussian per joint, rendered from keypoints.

Channel ``j`` equals ``exp(-((yy - y_j)^2 + (xx - x_j)^2) / (2 sigma^2))`` over the whole image
(no truncation, peak exactly 1.0 at an integer joint); a missing joint gives an all-zero channel.
That is ``cords_to_map`` of tengteng95/Pose-Transfer ``tool/pose_utils.py``.

Both renderers use that the 2-D Gaussian is the outer product of two 1-D Gaussians, so they cost
O(J (H + W)) exponentials plus one multiply per output value instead of O(J H W) exponentials.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # torch is imported when a batch is rendered: dataset building never loads it
    import torch

__all__ = ["DEFAULT_SIGMA", "render_heatmaps", "render_heatmaps_torch"]

DEFAULT_SIGMA = 6.0


def render_heatmaps(
    kps: np.ndarray,
    size_hw: tuple[int, int],
    sigma: float = DEFAULT_SIGMA,
    *,
    channels_last: bool = False,
    patn_uint8_quirk: bool = False,
) -> np.ndarray:
    """Render one sample's heatmaps with numpy.

    Args:
        kps: ``(J, 3)`` float x, y, confidence in output pixels (confidence 0 = missing).
        size_hw: output ``(H, W)``.
        sigma: Gaussian standard deviation in pixels (PATN: 6).
        channels_last: return ``(H, W, J)`` like the reference ``cords_to_map`` instead of
            ``(J, H, W)``.
        patn_uint8_quirk: reproduce PATN ``generate_pose_map_fashion.py``, which stores the map in
            uint8 so every channel keeps only a 1 at the joint pixel. Compatibility only.

    Returns:
        float32 ``(J, H, W)`` (or ``(H, W, J)``) in [0, 1].
    """
    kps = np.asarray(kps, dtype=np.float64)
    if kps.ndim != 2 or kps.shape[1] != 3:
        raise ValueError(f"expected (J, 3) keypoints, got shape {kps.shape}")
    h, w = size_hw
    inv = -1.0 / (2.0 * sigma * sigma)
    gy = np.exp(inv * (np.arange(h)[None, :] - kps[:, 1:2]) ** 2).astype(np.float32)  # (J, H)
    gx = np.exp(inv * (np.arange(w)[None, :] - kps[:, 0:1]) ** 2).astype(np.float32)  # (J, W)
    gy *= (kps[:, 2:3] > 0).astype(np.float32)
    if channels_last:
        maps = np.einsum("jh,jw->hwj", gy, gx)
    else:
        maps = gy[:, :, None] * gx[:, None, :]
    if patn_uint8_quirk:
        maps = maps.astype(np.uint8).astype(np.float32)
    return np.asarray(maps, dtype=np.float32)


def render_heatmaps_torch(
    kps: torch.Tensor,
    size_hw: tuple[int, int],
    sigma: float = DEFAULT_SIGMA,
    *,
    out: torch.Tensor | None = None,
) -> torch.Tensor:
    """Render a whole batch in one call, on the device ``kps`` lives on.

    Args:
        kps: ``(B, J, 3)`` float x, y, confidence (confidence 0 = missing).
        size_hw: output ``(H, W)``.
        sigma: Gaussian standard deviation in pixels.
        out: optional float32 ``(B, J, H, W)`` tensor on the same device to write into. On the
            CPU a batch of maps is large (64×18×256×176 is 207 MB) and most of the cost of a
            fresh tensor is the kernel zeroing new pages, so a loop that renders every step
            should reuse one buffer.

    Returns:
        float32 ``(B, J, H, W)`` on ``kps.device`` (``out`` when given).
    """
    import torch

    if kps.ndim != 3 or kps.shape[-1] != 3:
        raise ValueError(f"expected (B, J, 3) keypoints, got shape {tuple(kps.shape)}")
    h, w = size_hw
    kps = kps.to(torch.float32)
    inv = -1.0 / (2.0 * sigma * sigma)
    ys = torch.arange(h, device=kps.device, dtype=torch.float32)
    xs = torch.arange(w, device=kps.device, dtype=torch.float32)
    gy = torch.exp(inv * (ys - kps[..., 1:2]) ** 2)  # (B, J, H)
    gx = torch.exp(inv * (xs - kps[..., 0:1]) ** 2)  # (B, J, W)
    gy = gy * (kps[..., 2:3] > 0).to(torch.float32)
    if out is None:
        return gy.unsqueeze(-1) * gx.unsqueeze(-2)  # (B, J, H, W)
    expected = (kps.shape[0], kps.shape[1], h, w)
    if tuple(out.shape) != expected or out.dtype != torch.float32 or out.device != kps.device:
        raise ValueError(
            f"out must be float32 {expected} on {kps.device}, got {out.dtype} "
            f"{tuple(out.shape)} on {out.device}"
        )
    return torch.mul(gy.unsqueeze(-1), gx.unsqueeze(-2), out=out)
