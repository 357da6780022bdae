"""Image-batch helpers shared by the metric families: checks, unit floats, PATN/DPTN white padding.

Conventions of ``pgdata.metrics``: a batch is ``(B, C, H, W)`` RGB, either uint8 in [0, 255] (as
read from files) or float in [0, 1]. Functions never modify their inputs.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["UINT8_MAX", "check_pair", "chunks", "pad_white", "to_unit_float"]

UINT8_MAX = 255.0


def check_pair(pred: torch.Tensor, target: torch.Tensor) -> None:
    """Raise ``ValueError`` unless both are ``(B, C, H, W)`` of the same shape."""
    if pred.dim() != 4 or pred.shape != target.shape:
        raise ValueError(
            f"expected two (B, C, H, W) batches of one shape, got {tuple(pred.shape)} "
            f"and {tuple(target.shape)}"
        )


def chunks(n: int, device: torch.device, cpu_chunk: int) -> list[slice]:
    """Slices covering ``range(n)``: ``cpu_chunk`` at a time on CPU, one slice elsewhere.

    On CPU, per-chunk temporaries of a few MB stay in cache and in the allocator's reuse pool;
    fresh multi-MB buffers cost page faults that can dominate elementwise metric kernels.
    """
    step = cpu_chunk if torch.device(device).type == "cpu" else max(n, 1)
    return [slice(i, min(i + step, n)) for i in range(0, n, step)]


def to_unit_float(images: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """uint8 [0, 255] → ``dtype`` in [0, 1] (``x / 255``); float input is cast only."""
    if images.dtype == torch.uint8:
        return images.to(dtype) / UINT8_MAX
    if not images.is_floating_point():
        raise ValueError(f"expected uint8 or float images, got {images.dtype}")
    return images.to(dtype)


def pad_white(images: torch.Tensor, width: int) -> torch.Tensor:
    """Pad ``(B, C, H, W)`` images with white columns, centred, to ``width`` (PATN / DPTN).

    PATN's ``addBounding`` and DPTN's ``pad_256`` put a 256×176 DeepFashion image into a 256×256
    white canvas at columns 40–215 before SSIM and PSNR. White is 255 for uint8 and 1.0 for
    float input (which must then be in [0, 1]). The left band gets ``(width − W) // 2`` columns.
    An image already ``width`` wide is returned as is; a wider one is an error.
    """
    w = images.shape[-1]
    if w > width:
        raise ValueError(f"cannot pad images {w} wide to {width}")
    if w == width:
        return images
    white = UINT8_MAX if images.dtype == torch.uint8 else 1.0
    left = (width - w) // 2
    return F.pad(images, (left, width - w - left), value=white)
