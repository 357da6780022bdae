"""Image-batch helpers shared by the metric families: checks, unit floats, PATN/DPTN white padding.

Conventions of ``pgdata.metrics``: a batch is ``(B, C, H, W)`` RGB, either uint8 in [0, 255] (as
read from files) or float in [0, 1]. Functions never modify their inputs.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = [
    "UINT8_MAX",
    "Workspace",
    "check_pair",
    "chunks",
    "pad_white",
    "to_unit_float",
    "unit_float_padded",
]

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
    """uint8 [0, 255] → ``dtype`` in [0, 1] (``x / 255``); float input is cast only.

    The result is contiguous (NCHW), whatever the input's memory layout (e.g. a permuted HWC
    array), so later channel-wise work does not run on interleaved strides.
    """
    fmt = torch.contiguous_format
    if images.dtype == torch.uint8:
        return images.to(dtype, memory_format=fmt).div_(UINT8_MAX)
    if not images.is_floating_point():
        raise ValueError(f"expected uint8 or float images, got {images.dtype}")
    return images.to(dtype, memory_format=fmt)


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


class Workspace:
    """Named scratch tensors reused across the chunks of one metric call.

    On CPU a fresh multi-MB tensor per chunk costs page faults that can take longer than the
    arithmetic on it; a chunk smaller than the first uses a leading slice of the same buffer.
    """

    def __init__(self) -> None:
        self._bufs: dict[str, torch.Tensor] = {}

    def get(
        self, name: str, shape: tuple[int, ...], dtype: torch.dtype, device: torch.device
    ) -> torch.Tensor:
        """An uninitialised ``shape`` tensor, the same one as last time when nothing changed."""
        buf = self._bufs.get(name)
        if buf is None or buf.shape != shape or buf.dtype != dtype or buf.device != device:
            buf = torch.empty(shape, dtype=dtype, device=device)
            self._bufs[name] = buf
        return buf


def unit_float_padded(
    images: torch.Tensor,
    width: int | None,
    dtype: torch.dtype,
    workspace: Workspace,
    name: str,
) -> torch.Tensor:
    """:func:`to_unit_float` then :func:`pad_white` to ``width`` (if given), into a reused buffer.

    Returns a contiguous ``(B, C, H, max(W, width))`` view of ``workspace``'s buffer ``name``.
    """
    b, c, h, w = images.shape
    width = w if width is None else width
    if w > width:
        raise ValueError(f"cannot pad images {w} wide to {width}")
    if not (images.dtype == torch.uint8 or images.is_floating_point()):
        raise ValueError(f"expected uint8 or float images, got {images.dtype}")
    out = workspace.get(name, (b, c, h, width), dtype, images.device)
    left = (width - w) // 2
    region = out[..., left : left + w]
    region.copy_(images)
    if images.dtype == torch.uint8:
        region.div_(UINT8_MAX)
    out[..., :left].fill_(1.0)
    out[..., left + w :].fill_(1.0)
    return out
