"""PyTorch loading of face shards for inpainting (DMFN): :class:`FacesDataset`.

A worker decodes one face and gives it a mask (1 = hole):

- training: a mask drawn on the fly, kind uniform over ``mask_kinds``
  (:func:`pgdata.stages.masks.random_mask`), or one picked from a fixed ``mask_set``; plus an
  optional horizontal flip of the face. Both draws come from
  ``default_rng((seed, epoch, index))``: the same with any number of workers and after a resume;
- evaluation (``train=False``, sample grids): mask ``index`` of the fixed set (cycling), else a
  mask drawn from ``default_rng((seed, index))`` (the same every time), no flip.

A collated batch (``default_collate``) holds ``image`` uint8 ``(B, 3, S, S)``, ``mask`` uint8
``(B, 1, S, S)`` and ``name``; :func:`faces_to_device` makes the image float32 in [-1, 1] and the
mask float32 {0, 1} on the device.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from pgdata.data.common import SplitRecords, decode_column, normalise
from pgdata.stages.masks import random_mask

__all__ = ["FACES_SCHEMA", "FacesDataset", "faces_to_device"]

FACES_SCHEMA = "faces"
_EVAL_STREAM = 1  # keeps evaluation draws apart from any training epoch's


class FacesDataset(SplitRecords, Dataset[dict[str, Any]]):
    """The faces of one split of a face shard folder, each with a mask.

    Args:
        folder: a shard folder written by ``pgdata build --recipe pipelines/faces.toml``.
        split: ``train``, ``val`` or ``test``.
        mask_kinds: kinds of :data:`pgdata.stages.masks.MASK_KINDS` drawn on the fly.
        masks: a fixed mask set ``(N, S, S)`` uint8 {0, 1} used instead (``read_mask_set``).
        train: draw per epoch and flip (see the module doc); False for fixed evaluation masks.
        flip_prob: probability of a horizontal flip in training.
        seed: seed of the draws.
    """

    def __init__(
        self,
        folder: str | Path,
        split: str = "train",
        *,
        mask_kinds: Sequence[str] = ("box",),
        masks: np.ndarray | None = None,
        train: bool = True,
        flip_prob: float = 0.0,
        seed: int = 0,
    ) -> None:
        SplitRecords.__init__(self, folder, split, FACES_SCHEMA)
        self.size = int(self.manifest.config["size"])
        self.mask_kinds = tuple(mask_kinds)
        self.masks = masks
        self.train = train
        self.flip_prob = float(flip_prob)
        self.seed = seed

    def _mask(self, index: int, rng: np.random.Generator) -> np.ndarray:
        if self.masks is not None:
            pick = int(rng.integers(len(self.masks))) if self.train else index % len(self.masks)
            fixed: np.ndarray = self.masks[pick]
            return fixed
        return random_mask(self.mask_kinds, (self.size, self.size), rng)[1]

    def __getitem__(self, index: int) -> dict[str, Any]:
        s, i, name = self.record(index)
        face = decode_column(self.readers[s], "image", i)  # (S, S, 3)
        if self.train:
            rng = np.random.default_rng((self.seed, self.epoch, index))
        else:
            rng = np.random.default_rng((self.seed, _EVAL_STREAM, index))
        mask = self._mask(index, rng)
        if self.train and self.flip_prob > 0 and rng.random() < self.flip_prob:
            face = face[:, ::-1]
        return {
            "image": torch.from_numpy(np.ascontiguousarray(face)).permute(2, 0, 1),  # uint8
            "mask": torch.from_numpy(np.ascontiguousarray(mask))[None],  # (1, S, S) uint8
            "name": name,
        }


def faces_to_device(batch: dict[str, Any], device: str | torch.device) -> dict[str, Any]:
    """A collated batch → ``image`` float32 [-1, 1] and ``mask`` float32 {0, 1} on ``device``."""
    out = dict(batch)
    out["image"] = normalise(batch["image"].to(device, non_blocking=True))
    out["mask"] = batch["mask"].to(device, non_blocking=True).to(torch.float32)
    return out
