"""User plugins for DMFN's landmark and expression losses, as a user would write them (tests only).

``load_landmarks(weights)`` returns a tiny frozen-able CNN mapping (B, 3, H, W) images to (B, 5, 2)
landmarks; ``load_expression(weights)`` one giving (B, 7) expression logits; both load a state
dict saved with ``torch.save``. ``load_broken`` fails the way a mismatched checkpoint does.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

POINTS = 5
EXPRESSIONS = 7


class TinyFaceNet(nn.Module):
    """Conv 3→4 (stride 4) · ReLU · global average · Linear → ``outputs``."""

    def __init__(self, outputs: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 4, stride=4)
        self.fc = nn.Linear(4, outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.relu(self.conv(x)).mean(dim=(2, 3)))


class Landmarks(nn.Module):
    """(B, 3, H, W) → (B, 5, 2)."""

    def __init__(self) -> None:
        super().__init__()
        self.body = TinyFaceNet(2 * POINTS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x).view(-1, POINTS, 2)


def _loaded(net: nn.Module, weights: Path | None) -> nn.Module:
    if weights is None:
        raise FileNotFoundError("this network needs a weights file")
    net.load_state_dict(torch.load(weights, weights_only=True))
    return net


def load_landmarks(weights: Path | None) -> nn.Module:
    return _loaded(Landmarks(), weights)


def load_expression(weights: Path | None) -> nn.Module:
    return _loaded(TinyFaceNet(EXPRESSIONS), weights)


def load_broken(weights: Path | None) -> nn.Module:
    raise RuntimeError(
        'Error(s) in loading state_dict:\n\tUnexpected key(s) in state_dict: "fc.weight"'
    )
