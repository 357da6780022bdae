"""Frozen user networks for DMFN's optional landmark and expression losses.

pgdata ships no face-landmark or expression weights. A user supplies each network as a plugin
(:func:`pgdata.io.plugins.load_plugin`): ``landmark_net = "my_faces:load_landmarks"`` names a
factory that takes the weights path and returns a callable (usually an ``nn.Module``) mapping
``(B, 3, H, W)`` float images in [-1, 1] to one tensor per batch: ``(B, K, 2)`` landmarks for the
landmark loss, any ``(B, ...)`` features or logits for the expression loss. The weights file must
match ``landmark_sha256`` (checked before the user's code runs).

The network is frozen (:class:`FrozenNet`): its parameters need no gradient and it stays in eval
mode, but gradients flow through it to the generated image. The losses compare the network's
output on the composite with its output on the real image (computed without gradients):

- landmark loss: ``λ · mean (lm(composite) − lm(real))²``;
- expression loss: ``λ · mean |ex(composite) − ex(real)|``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from pgdata.errors import ConfigError
from pgdata.io.plugins import load_plugin

__all__ = ["FACTORIES", "FrozenNet", "expression_loss", "landmark_loss", "load_face_net"]

FACTORIES = {"landmark": "load_landmarks", "expression": "load_expression"}
"""The factory name each kind's module provides when its spec has no ``:factory``."""


class FrozenNet(nn.Module):
    """A user's network, frozen: ``forward(images) -> tensor`` with the batch size kept.

    Args:
        fn: the loaded callable; an ``nn.Module`` is registered (so ``.to(device)`` moves it),
            its parameters frozen and kept in eval mode.
        name: what it is, for error messages (``"landmark network my_faces:load"``).
    """

    def __init__(self, fn: Callable[[torch.Tensor], Any], name: str) -> None:
        super().__init__()
        self.name = name
        self.net: nn.Module | None = None
        self.fn: Callable[[torch.Tensor], Any] | None = None
        if isinstance(fn, nn.Module):
            self.net = fn.requires_grad_(False).eval()
        else:
            self.fn = fn

    def train(self, mode: bool = True) -> FrozenNet:
        """Stays in eval mode whatever ``mode`` is."""
        return super().train(False)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        call = self.net if self.net is not None else self.fn
        out = call(images) if call is not None else None
        if not isinstance(out, torch.Tensor) or out.dim() < 1 or out.shape[0] != images.shape[0]:
            shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
            raise ConfigError(
                f"{self.name}: returned {shape} for a batch of {images.shape[0]} images; it "
                "must return one tensor with the batch as its first dimension"
            )
        return out.float()


def load_face_net(kind: str, spec: str, weights: str, sha256: str) -> FrozenNet:
    """Load the ``kind`` (``"landmark"`` or ``"expression"``) network of a config.

    Raises:
        ConfigError: the module or factory is missing, or the factory returns no callable.
        WeightsError: the weights are missing, have another sha256, or the factory fails on
            them (file and reason, one line).
    """
    name = f"{kind} network"
    fn = load_plugin(
        spec,
        Path(weights) if weights else None,
        what=name,
        default_factory=FACTORIES[kind],
        sha256=sha256 or None,
    )
    return FrozenNet(fn, f"{name} {spec}")


def landmark_loss(net: FrozenNet, fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """``mean (net(fake) − net(real))²``; the real side without gradients."""
    with torch.no_grad():
        target = net(real)
    return F.mse_loss(net(fake), target)


def expression_loss(net: FrozenNet, fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """``mean |net(fake) − net(real)|``; the real side without gradients."""
    with torch.no_grad():
        target = net(real)
    return F.l1_loss(net(fake), target)
