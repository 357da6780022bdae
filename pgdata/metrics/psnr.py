"""PSNR per image, as ``skimage.metrics.peak_signal_noise_ratio`` and DPTN's ``metrics.py`` compute it.

``10 · log10(R² / MSE)`` with the MSE over all pixels and channels of one image (float64), ``R``
the data range (1 for [0, 1] floats). The ``psnr`` preset reports the **mean of per-image values**
(not the PSNR of the mean MSE), on RGB in [0, 1], optionally after the white padding of
:func:`pgdata.metrics.images.pad_white` (DPTN pads 256×176 to 256×256 first).
"""

from __future__ import annotations

import torch

from pgdata.metrics.images import check_pair, chunks, pad_white, to_unit_float

__all__ = ["psnr", "psnr_preset"]

CPU_CHUNK = 4  # images per step on CPU (float64 temporaries stay small)


def psnr(pred: torch.Tensor, target: torch.Tensor, data_range: float = 1.0) -> torch.Tensor:
    """Per-image PSNR in dB.

    Args:
        pred, target: ``(B, C, H, W)`` float batches of one shape, values in ``[0, data_range]``.
        data_range: ``R`` in ``10 · log10(R² / MSE)``.

    Returns:
        ``(B,)`` float64; ``inf`` where the two images are identical.
    """
    check_pair(pred, target)
    mse = (pred.double() - target.double()).square().mean(dim=(1, 2, 3))
    return 10.0 * torch.log10(data_range**2 / mse)


def psnr_preset(
    pred: torch.Tensor, target: torch.Tensor, pad_white_to: int | None = None
) -> torch.Tensor:
    """The ``psnr`` preset on uint8 (or [0, 1] float) RGB batches: ``(B,)`` float64 dB.

    Images are mapped to [0, 1] in float64, padded with white to ``pad_white_to`` columns when
    given, and scored with ``data_range = 1``.
    """
    check_pair(pred, target)
    out = []
    for sl in chunks(pred.shape[0], pred.device, CPU_CHUNK):
        p, t = to_unit_float(pred[sl], torch.float64), to_unit_float(target[sl], torch.float64)
        if pad_white_to is not None:
            p, t = pad_white(p, pad_white_to), pad_white(t, pad_white_to)
        out.append(psnr(p, t, data_range=1.0))
    return torch.cat(out)
