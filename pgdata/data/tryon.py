"""PyTorch loading of try-on shards: HR-VITON-style samples (:class:`TryonDataset`).

Use it with ``default_collate`` and :func:`tryon_to_device`, which turns a batch into HR-VITON's
inputs on the device. HDF5 files are opened lazily in each process (see
:class:`pgdata.shards.ShardReader`), so any number of workers and start methods work.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from pgdata.data.common import decode_column, normalise
from pgdata.errors import InputFormatError
from pgdata.labels import HRVITON_13_GROUPS
from pgdata.shards.manifest import read_manifest
from pgdata.shards.reader import ShardReader

__all__ = ["TryonDataset", "tryon_to_device"]

_TRYON_IMAGES = ("image", "agnostic", "cloth", "densepose")
_TRYON_LABELS = ("parse", "parse_agnostic", "cloth_mask")


def _group_lut() -> np.ndarray:
    lut = np.zeros(256, dtype=np.int64)
    for channel, (_, ids) in enumerate(HRVITON_13_GROUPS):
        lut[list(ids)] = channel
    return lut


class TryonDataset(Dataset[dict[str, Any]]):
    """Records of one split of a try-on shard folder (``pgdata build --recipe pipelines/viton-hd.toml``).

    A sample holds uint8 tensors (decode happens in the worker): ``image``, ``agnostic``,
    ``cloth``, ``densepose`` (when stored) as (3, H, W); ``parse``, ``parse_agnostic``,
    ``cloth_mask`` as (H, W); ``keypoints`` (25, 3) BODY_25; ``im_name``, ``c_name`` as
    HR-VITON names them. :func:`tryon_to_device` turns a collated batch into HR-VITON's inputs.
    """

    def __init__(self, folder: str | Path, split: str = "test") -> None:
        self.folder = Path(folder)
        manifest = read_manifest(self.folder)
        if manifest.schema.name != "tryon":
            raise InputFormatError(
                self.folder, f"schema {manifest.schema.name!r} is not a try-on shard set"
            )
        entries = manifest.split_shards(split)
        if not entries:
            splits = sorted({s.split for s in manifest.shards})
            raise InputFormatError(
                self.folder, f"no shards for split {split!r}; splits here: {splits}"
            )
        self.columns = {c.name for c in manifest.schema.columns}
        self.readers = [ShardReader(self.folder / e.file, expect=e) for e in entries]
        self._index = [(s, i) for s, e in enumerate(entries) for i in range(e.records)]
        self._names = []
        for r in self.readers:
            self._names.append((r.column("person"), r.column("cloth_id")))
            r.close()

    def __len__(self) -> int:
        return len(self._index)

    def __getitem__(self, index: int) -> dict[str, Any]:
        s, i = self._index[index]
        reader = self.readers[s]
        out: dict[str, Any] = {}
        for col in _TRYON_IMAGES:
            if col in self.columns:
                out[col] = torch.from_numpy(decode_column(reader, col, i)).permute(2, 0, 1)
        for col in _TRYON_LABELS:
            out[col] = torch.from_numpy(reader.array(col, i))
        out["keypoints"] = torch.from_numpy(reader.array("keypoints", i).astype(np.float32))
        out["im_name"] = f"{self._names[s][0][i]}.jpg"
        out["c_name"] = f"{self._names[s][1][i]}.jpg"
        return out


def tryon_to_device(batch: dict[str, Any], device: str | torch.device) -> dict[str, Any]:
    """A ``default_collate``-d :class:`TryonDataset` batch → HR-VITON-style float inputs on ``device``.

    Images become float32 in [-1, 1]; ``cloth_mask`` float32 (B, 1, H, W) in {0, 1} (``>= 128``);
    ``parse``/``parse_agnostic`` stay int64 ids and also come as HR-VITON's 13 grouped one-hot
    channels ``parse13``/``parse_agnostic13`` (B, 13, H, W).
    """
    out: dict[str, Any] = {}
    lut = torch.from_numpy(_group_lut()).to(device)
    for key, value in batch.items():
        if not isinstance(value, torch.Tensor):
            out[key] = value
            continue
        value = value.to(device, non_blocking=True)
        if key in _TRYON_IMAGES:
            out[key] = normalise(value)
        elif key == "cloth_mask":
            out[key] = (value >= 128).to(torch.float32).unsqueeze(1)
        elif key in ("parse", "parse_agnostic"):
            ids = value.to(torch.int64)
            out[key] = ids
            groups = lut[ids]  # (B, H, W) channel per pixel
            out[key + "13"] = (
                torch.nn.functional.one_hot(groups, len(HRVITON_13_GROUPS))
                .permute(0, 3, 1, 2)
                .to(torch.float32)
            )
        else:
            out[key] = value
    return out
