"""HR-VITON's evaluation protocol (``evaluate.py`` of sangyun884/HR-VITON), for try-on results.

HR-VITON's published SSIM 0.882 and LPIPS 0.0695 (VITON-HD paired test, 1024×768) come from a
script that differs from the pose-transfer protocols:

- ``ssim_hrviton``: both images converted to greyscale by Pillow (``convert("L")``:
  ``(19595 R + 38470 G + 7471 B + 2¹⁵) >> 16``, integer), then ``skimage``'s SSIM with
  ``gaussian_weights=True`` (σ 1.5, truncated at 3.5 σ: 11×11), ``use_sample_covariance=False``
  and ``data_range=255``, one channel; the mean over pairs.
- ``lpips_hrviton``: both images resized to 128×128 by Pillow's bilinear filter (torchvision's
  ``Resize((128, 128))`` on a PIL image: the aspect ratio is not kept, and Pillow's bilinear
  widens its support when shrinking, i.e. antialiases), then LPIPS v0.1 AlexNet on ``x / 127.5 − 1``
  (its ``PerceptualLoss(model="net-lin", net="alex")``); the mean over pairs.

Its FID-like score is an Inception Score, which pgdata does not compute; ``fid_tf`` is the FID to
report next to these. The ground truth must already be at the prediction's size (the script
resizes it with Pillow's bilinear filter for 512×384 and 256×192 results).
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from pgdata.metrics.images import check_pair
from pgdata.metrics.lpips import LPIPS, lpips_preset
from pgdata.metrics.ssim import gaussian_kernel1d, ssim

__all__ = [
    "HRVITON_LPIPS_HW",
    "hrviton_lpips",
    "hrviton_ssim",
    "pil_grey",
    "pil_resize_bilinear",
]

HRVITON_LPIPS_HW = (128, 128)
_GREY_WEIGHTS = (19595, 38470, 7471)  # Pillow's ITU-R 601-2 luma in 16-bit fixed point
_GREY_SHIFT = 16
_GREY_ROUND = 1 << (_GREY_SHIFT - 1)
_UINT8_RANGE = 255.0


def pil_grey(images: torch.Tensor) -> torch.Tensor:
    """``(B, 3, H, W)`` uint8 RGB → ``(B, 1, H, W)`` uint8 grey, bit-exact with Pillow's ``"L"``."""
    if images.dtype != torch.uint8 or images.dim() != 4 or images.shape[1] != 3:
        raise ValueError(
            f"expected (B, 3, H, W) uint8 RGB, got {images.dtype} {tuple(images.shape)}"
        )
    x = images.to(torch.int32)
    r, g, b = (w * x[:, i : i + 1] for i, w in enumerate(_GREY_WEIGHTS))
    return ((r + g + b + _GREY_ROUND) >> _GREY_SHIFT).to(torch.uint8)


def hrviton_ssim(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The ``ssim_hrviton`` preset: ``(B, 3, H, W)`` uint8 pairs → ``(B,)`` float64 SSIM.

    Greyscale as Pillow, Gaussian σ 1.5 (11×11), population covariance, data range 255 (computed
    on ``/ 255`` floats with data range 1, the same number), in float64.
    """
    check_pair(pred, target)
    p = pil_grey(pred).to(torch.float64) / _UINT8_RANGE
    t = pil_grey(target).to(torch.float64) / _UINT8_RANGE
    return ssim(p, t, taps=gaussian_kernel1d(), data_range=1.0, sample_covariance=False)


def pil_resize_bilinear(images: torch.Tensor, size_hw: tuple[int, int]) -> torch.Tensor:
    """``(B, 3, H, W)`` uint8 → ``(B, 3, h, w)`` uint8 by Pillow's ``resize(..., BILINEAR)``."""
    h, w = size_hw
    out = []
    for img in images.permute(0, 2, 3, 1).cpu().numpy():
        small = Image.fromarray(np.ascontiguousarray(img)).resize((w, h), Image.Resampling.BILINEAR)
        out.append(np.asarray(small))
    return torch.from_numpy(np.stack(out)).permute(0, 3, 1, 2).contiguous()


def hrviton_lpips(model: LPIPS, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The ``lpips_hrviton`` preset: both resized to 128×128 by Pillow, then LPIPS-alex v0.1."""
    check_pair(pred, target)
    small_p = pil_resize_bilinear(pred, HRVITON_LPIPS_HW)
    small_t = pil_resize_bilinear(target, HRVITON_LPIPS_HW)
    return lpips_preset(model, small_p, small_t)
