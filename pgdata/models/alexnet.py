"""AlexNet with torchvision's key names: the LPIPS-alex backbone.

torchvision's ``alexnet()`` layout (the "one weird trick" variant of ``alexnet-owt-7be5be79.pth``):
``features`` = conv 11×11/4 (64) → ReLU → max pool 3/2 → conv 5×5 (192) → ReLU → max pool → conv 3×3
(384) → ReLU → conv 3×3 (256) → ReLU → conv 3×3 (256) → ReLU → max pool (indices 0–12; parameters
at 0, 3, 6, 8, 10), then ``avgpool`` (6×6) and ``classifier`` (dropout, 9216 → 4096, ReLU, dropout,
4096 → 4096, ReLU, 4096 → 1000; parameters at 1, 4, 6). LPIPS uses the five ReLU outputs of
``features`` (:data:`LPIPS_TAPS`); build with ``classifier=False`` to skip the 58.6 M classifier
parameters (then load only the ``features.*`` keys). This module never opens files.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["LPIPS_TAPS", "LPIPS_TAP_CHANNELS", "AlexNet"]

LPIPS_TAPS = (1, 4, 7, 9, 11)
"""Indices in ``features`` of relu1 … relu5, the layers LPIPS compares."""
LPIPS_TAP_CHANNELS = (64, 192, 384, 256, 256)
_NUM_CLASSES = 1000
_POOL_HW = 6
_HIDDEN = 4096


class AlexNet(nn.Module):
    """torchvision AlexNet, frozen (eval mode, no parameter requires a gradient).

    Args:
        classifier: build ``avgpool`` + ``classifier`` too (needed only to load a whole
            torchvision file with ``strict=True``).

    ``forward(x)``: ``x`` ``(B, 3, H, W)`` float (already normalised by the caller) → list of the
    five ReLU outputs ``(B, C_k, H_k, W_k)``, ``C_k`` = :data:`LPIPS_TAP_CHANNELS`
    (``H_1 = ⌊(H + 4 − 11) / 4⌋ + 1``, then max pools 3/2 before taps 2 and 3).
    """

    def __init__(self, classifier: bool = True) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(64, 192, kernel_size=5, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(192, 384, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.Conv2d(384, 256, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.Conv2d(256, 256, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2),
        )
        if classifier:
            self.avgpool = nn.AdaptiveAvgPool2d((_POOL_HW, _POOL_HW))
            self.classifier = nn.Sequential(
                nn.Dropout(),
                nn.Linear(256 * _POOL_HW * _POOL_HW, _HIDDEN),
                nn.ReLU(),
                nn.Dropout(),
                nn.Linear(_HIDDEN, _HIDDEN),
                nn.ReLU(),
                nn.Linear(_HIDDEN, _NUM_CLASSES),
            )
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> AlexNet:
        """Stays in eval mode whatever ``mode`` is (a frozen feature extractor)."""
        return super().train(False)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        taps: list[torch.Tensor] = []
        for i in range(LPIPS_TAPS[-1] + 1):
            x = self.features[i](x)
            if i in LPIPS_TAPS:
                taps.append(x)
        return taps
