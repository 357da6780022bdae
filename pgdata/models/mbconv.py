"""MBConv: the inverted-residual block that replaces DPTN's three ResBlocks in the teacher.

Standard MobileNetV2/EfficientNet layout with an identity skip (input and output widths equal):

    x ─ Conv1×1 C→h · BN · SiLU ─ depthwise Conv k×k h→h · BN · SiLU ─ SE(h, s) ─ Conv1×1 h→C · BN ─(+)─
    └──────────────────────────────────────────────────────────────────────────────────────────────┘

``h = expand · C``; convs are unbiased (each is followed by BN); squeeze-excitation is
global average pool · Conv1×1 h→s (biased) · SiLU · Conv1×1 s→h (biased) · sigmoid, scaling the
``h`` channels. ``s = 0`` drops SE. Parameters (:func:`mbconv_params`):

    P = h · (2C + k² + 4 + 2s + 1) + s + 2C,   C = 256, k = 3, s = 64:  P = 654 h + 576

so e5 (h = 1280) gives 837,696 per block, e4 670,272, e6 1,005,120.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["MBConv", "SqueezeExcite", "mbconv_params"]


def mbconv_params(channels: int, expand: int, kernel: int, se: int) -> int:
    """Closed-form parameter count of :class:`MBConv` (the formula in the module docstring)."""
    h = channels * expand
    se_params = (h * se + se) + (se * h + h) if se else 0
    return (
        channels * h + 2 * h + kernel * kernel * h + 2 * h + se_params + h * channels + 2 * channels
    )


class SqueezeExcite(nn.Module):
    """Channel gate: ``x · sigmoid(W2 · SiLU(W1 · mean_hw(x)))``. ``(B, C, H, W) → (B, C, H, W)``."""

    def __init__(self, channels: int, squeeze: int) -> None:
        super().__init__()
        self.reduce = nn.Conv2d(channels, squeeze, 1)
        self.act = nn.SiLU()
        self.expand = nn.Conv2d(squeeze, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = x.mean(dim=(2, 3), keepdim=True)  # (B, C, 1, 1)
        return x * torch.sigmoid(self.expand(self.act(self.reduce(w))))


class MBConv(nn.Module):
    """Inverted residual with identity skip. ``(B, C, H, W) → (B, C, H, W)``.

    Args:
        channels: ``C``, input and output width.
        expand: expansion factor; hidden width ``h = expand · C``.
        kernel: odd depthwise kernel size ``k``.
        se: squeeze width ``s`` of the squeeze-excitation (0 = none).
    """

    def __init__(self, channels: int, expand: int, kernel: int, se: int) -> None:
        super().__init__()
        hidden = channels * expand
        self.expand = nn.Sequential(
            nn.Conv2d(channels, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.SiLU()
        )
        self.depthwise = nn.Sequential(
            nn.Conv2d(hidden, hidden, kernel, padding=kernel // 2, groups=hidden, bias=False),
            nn.BatchNorm2d(hidden),
            nn.SiLU(),
        )
        self.se: nn.Module = SqueezeExcite(hidden, se) if se else nn.Identity()
        self.project = nn.Sequential(
            nn.Conv2d(hidden, channels, 1, bias=False), nn.BatchNorm2d(channels)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.project(self.se(self.depthwise(self.expand(x))))  # type: ignore[no-any-return]
