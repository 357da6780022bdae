"""Pieces the GAN families share: a frozen VGG19 by config, pix2pix's image pool, grid panels."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from pgdata.data import PoseTransferDataset
from pgdata.errors import ConfigError, WeightsError
from pgdata.models.vgg import VGG19, InputNorm
from pgdata.training.config import RANDOM_VGG, TrainConfig
from pgdata.training.logs import to_uint8
from pgdata.training.losses import build_vgg

__all__ = ["ImagePool", "check_pose_data", "panel", "vgg_features"]

POOL_SWAP_PROB = 0.5  # pix2pix's ImagePool returns a stored image half of the time


def vgg_features(cfg: TrainConfig, layers: Sequence[str], family_norm: InputNorm) -> VGG19:
    """A frozen VGG19 returning ``layers``, with ImageNet weights from ``cfg.vgg_weights``.

    ``vgg_input_norm = "auto"`` uses ``family_norm`` (the family's reference); ``vgg_weights =
    "random"`` gives random weights (smoke tests). WeightsError names the file to get and the
    switch that trains without the term.
    """
    norm: InputNorm = family_norm if cfg.vgg_input_norm == "auto" else cfg.vgg_input_norm
    if cfg.vgg_weights == RANDOM_VGG:
        return VGG19(layers, norm)
    try:
        return build_vgg(cfg.vgg_weights or None, layers=layers, input_norm=norm)
    except WeightsError as e:
        raise WeightsError(f"{e}; or switch the VGG terms off (see the config's keys)") from None


class ImagePool:
    """pix2pix's ``ImagePool``: the discriminator sees a mix of new and past generated images.

    ``query(images)`` with ``size`` 0 returns ``images``. Otherwise, per image: while the pool
    is not full it is stored and returned; once full, with probability 0.5 a random stored image
    is returned in its place (and the new one stored there), else the new one is returned. The
    draws use torch's global generator (saved in checkpoints), so a resumed run draws the same.
    The pool (detached images) is part of the step's state (:meth:`state`).
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self.images: list[torch.Tensor] = []

    def query(self, images: torch.Tensor) -> torch.Tensor:
        """``(B, C, H, W)`` detached images → the ``(B, C, H, W)`` batch D is shown."""
        if self.size == 0:
            return images
        out = []
        for image in images.detach():
            if len(self.images) < self.size:
                self.images.append(image.clone())
                out.append(image)
            elif float(torch.rand(())) > POOL_SWAP_PROB:
                k = int(torch.randint(0, self.size, ()))
                out.append(self.images[k].clone())
                self.images[k] = image.clone()
            else:
                out.append(image)
        return torch.stack(out)

    def state(self) -> list[torch.Tensor]:
        """The stored images, on the CPU (for checkpoints)."""
        return [img.cpu() for img in self.images]

    def load(self, images: list[Any], device: torch.device) -> None:
        """Undo :meth:`state`."""
        self.images = [img.to(device) for img in images]


def panel(images: torch.Tensor) -> np.ndarray:
    """``(B, 1 or 3, H, W)`` in [-1, 1] → ``(B, H, W, 3)`` uint8 (grey repeated to RGB)."""
    if images.shape[1] == 1:
        images = images.expand(-1, 3, -1, -1)
    return to_uint8(images)


def check_pose_data(
    cfg: TrainConfig, ds: PoseTransferDataset, *, multiple: int | None, net: str
) -> None:
    """Refuse pose-transfer shards whose joints (or size: a multiple of ``multiple``) do not fit
    the config, in one line naming the key, what the config expects and what the shards hold."""
    if ds.joints != cfg.pose_channels:
        raise ConfigError(
            f"pose_channels: the shards in {ds.folder} hold {ds.joints} joints per person, the "
            f"config expects {cfg.pose_channels} (one heatmap channel per joint); set "
            f"pose_channels = {ds.joints} or build COCO-18 shards"
        )
    h, w = (int(x) for x in ds.image_hw)
    if multiple is not None and (h % multiple or w % multiple):
        raise ConfigError(
            f"{net} needs image sizes that are multiples of {multiple}; the shards in "
            f"{ds.folder} are {h}x{w}: rebuild them at another --image-size"
        )
