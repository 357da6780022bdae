"""PyTorch loading of aligned shards (pix2pix's A|B images): :class:`AlignedDataset`.

A worker decodes the A|B image, splits it at ``width // 2`` and, for training, applies pix2pix's
``resize_and_crop`` + flip with **one** draw for both halves
(:func:`pgdata.stages.aligned.crop_flip_params`): resize each half to ``load × load`` (bicubic),
cut the same ``crop × crop`` window, mirror both or neither. The draw depends only on
``(seed, epoch, index)``, so it is the same with any number of workers and after a resume.
Without augmentation (sample grids) both halves are resized straight to ``crop × crop``.

A collated batch (``default_collate``) holds ``A``, ``B``: uint8 ``(B, 3, crop, crop)`` and
``name``; :func:`aligned_to_device` makes them float32 in [-1, 1] on the device (grey when the
model takes 1 channel, with Pillow's ``L`` weights, as pix2pix converts).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from pgdata.data.common import SplitRecords, decode_column, normalise
from pgdata.stages.aligned import crop_flip_params, resize_crop_flip, split_ab

__all__ = ["ALIGNED_SCHEMA", "AlignedDataset", "aligned_to_device", "to_grey"]

ALIGNED_SCHEMA = "aligned"
GREY_WEIGHTS = (0.299, 0.587, 0.114)  # ITU-R 601-2 luma, Pillow's convert("L")


class AlignedDataset(SplitRecords, Dataset[dict[str, Any]]):
    """The A|B images of one split of an aligned shard folder, in shard order.

    Args:
        folder: a shard folder written by ``pgdata build --recipe pipelines/aligned.toml``.
        split: ``train``, ``val`` or ``test``.
        load_size, crop_size: pix2pix's 286 and 256.
        augment: random crop and flip (training); False resizes to ``crop_size`` directly.
        seed: seed of the crop and flip draws.
    """

    def __init__(
        self,
        folder: str | Path,
        split: str = "train",
        *,
        load_size: int = 286,
        crop_size: int = 256,
        augment: bool = True,
        seed: int = 0,
    ) -> None:
        SplitRecords.__init__(self, folder, split, ALIGNED_SCHEMA)
        self.load_size, self.crop_size = load_size, crop_size
        self.augment = augment
        self.seed = seed

    def __getitem__(self, index: int) -> dict[str, Any]:
        s, i, name = self.record(index)
        a, b = split_ab(decode_column(self.readers[s], "image", i))
        if self.augment:
            rng = np.random.default_rng((self.seed, self.epoch, index))
            params = crop_flip_params(rng, self.load_size, self.crop_size)
            a = resize_crop_flip(a, self.load_size, self.crop_size, params)
            b = resize_crop_flip(b, self.load_size, self.crop_size, params)
        else:
            size = (self.crop_size, self.crop_size)
            a = cv2.resize(a, size, interpolation=cv2.INTER_CUBIC)
            b = cv2.resize(b, size, interpolation=cv2.INTER_CUBIC)
        return {
            "A": torch.from_numpy(np.ascontiguousarray(a)).permute(2, 0, 1),  # (3, H, W) uint8
            "B": torch.from_numpy(np.ascontiguousarray(b)).permute(2, 0, 1),
            "name": name,
        }


def to_grey(images: torch.Tensor) -> torch.Tensor:
    """``(B, 3, H, W)`` → ``(B, 1, H, W)`` with Pillow's ``L`` weights (0.299, 0.587, 0.114)."""
    w = torch.tensor(GREY_WEIGHTS, dtype=images.dtype, device=images.device).view(1, 3, 1, 1)
    return (images * w).sum(dim=1, keepdim=True)


def aligned_to_device(
    batch: dict[str, Any],
    device: str | torch.device,
    *,
    a_channels: int = 3,
    b_channels: int = 3,
) -> dict[str, Any]:
    """A collated batch → ``A``, ``B`` float32 in [-1, 1] on ``device`` (1 channel = grey)."""
    out = dict(batch)
    for key, channels in (("A", a_channels), ("B", b_channels)):
        x = normalise(batch[key].to(device, non_blocking=True))
        out[key] = to_grey(x) if channels == 1 else x
    return out
