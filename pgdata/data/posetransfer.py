"""PyTorch loading of pose-transfer shards: DPTN/PATN-style pairs (:class:`PoseTransferDataset`).

Workers do the per-sample work (read two JPEG slices, decode, optional flip) and hand back uint8
images and keypoints, which are small to move between processes. The 18-channel heatmaps are
rendered from the keypoints for the whole batch in one call: either in the collate function
(``PoseCollate(heatmaps=True)``) or, faster, after the batch reached the training device
(``PoseCollate(heatmaps=False)`` + :func:`to_device`). A batch is a dict:

- ``P1``, ``P2``: float32 (B, 3, H, W) images in [-1, 1] (source, target);
- ``BP1``, ``BP2``: float32 (B, 18, H, W) PATN Gaussian heatmaps (σ = 6 by default);
- ``K1``, ``K2``: float32 (B, 18, 3) keypoints x, y, visibility;
- ``P1_path``, ``P2_path``: image names (as DPTN's loader names them).

HDF5 files are opened lazily in each process (see :class:`pgdata.shards.ShardReader`), so the
dataset works with ``num_workers`` 0 or more, ``fork`` or ``spawn``, and a ``DistributedSampler``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset, default_collate

from pgdata.data.common import BufferPool, decode_column, normalise
from pgdata.errors import InputFormatError
from pgdata.shards.manifest import read_manifest
from pgdata.shards.reader import ShardReader
from pgdata.stages.heatmaps import DEFAULT_SIGMA, render_heatmaps_torch
from pgdata.stages.keypoints import flip_keypoints

__all__ = ["PoseCollate", "PoseTransferDataset", "to_device"]


class PoseTransferDataset(Dataset[dict[str, Any]]):
    """Pairs of one split of a pose-transfer shard folder, in pair-CSV order.

    Args:
        folder: a shard folder written by ``pgdata build``.
        split: ``train`` or ``test``.
        flip_prob: probability of a horizontal flip of a pair (both images and both keypoint
            sets, left/right joints swapped). The draw depends only on ``seed``, the epoch
            (:meth:`set_epoch`) and the index, so it is the same with any number of workers.
        seed: seed of the flip draws.
        verify_on_open: check every shard's sha256 against the manifest when it is first
            opened (reads each file once); without it only its size, record count and split
            are checked. Pair indices are always checked against the shard's records.
    """

    def __init__(
        self,
        folder: str | Path,
        split: str = "train",
        *,
        flip_prob: float = 0.0,
        seed: int = 0,
        verify_on_open: bool = False,
    ) -> None:
        self.folder = Path(folder)
        manifest = read_manifest(self.folder)
        entries = manifest.split_shards(split)
        if not entries:
            splits = sorted({s.split for s in manifest.shards})
            raise InputFormatError(
                self.folder, f"no shards for split {split!r}; splits here: {splits}"
            )
        if manifest.schema.name != "pose-transfer":
            raise InputFormatError(
                self.folder, f"schema {manifest.schema.name!r} is not a pose-transfer shard set"
            )
        self.split = split
        self.flip_prob = float(flip_prob)
        self.seed = seed
        self.epoch = 0
        self.image_hw = tuple(manifest.config["image_hw"])
        self.readers = [
            ShardReader(self.folder / e.file, expect=e, verify_sha256=verify_on_open)
            for e in entries
        ]
        keypoints, names, shard_of, a_of, b_of, ranks = [], [], [], [], [], []
        for s, reader in enumerate(self.readers):
            keypoints.append(reader.column("keypoints").astype(np.float32))
            names.append(reader.column("name"))
            pairs = _checked_pairs(reader, len(keypoints[-1]))
            shard_of.append(np.full(len(pairs), s, dtype=np.int32))
            a_of.append(pairs[:, 0])
            b_of.append(pairs[:, 1])
            ranks.append(reader.table("pairs_rank"))
            reader.close()  # metadata only: workers reopen their own handle
        order = np.argsort(np.concatenate(ranks), kind="stable")
        self._shard = np.concatenate(shard_of)[order]
        self._a = np.concatenate(a_of)[order].astype(np.int64)
        self._b = np.concatenate(b_of)[order].astype(np.int64)
        self._keypoints = keypoints
        self._names = names
        self.joints = int(keypoints[0].shape[1])  # keypoints per person (COCO-18: 18)

    def __len__(self) -> int:
        return len(self._shard)

    def set_epoch(self, epoch: int) -> None:
        """Change the flip draws (call it with the sampler's ``set_epoch``).

        Workers hold a copy of the dataset made when they start: call this before iterating the
        loader each epoch, and with ``persistent_workers=True`` it does not reach running workers.
        """
        self.epoch = epoch

    def __getitem__(self, index: int) -> dict[str, Any]:
        s, a, b = int(self._shard[index]), int(self._a[index]), int(self._b[index])
        reader = self.readers[s]
        img1, img2 = decode_column(reader, "image", a), decode_column(reader, "image", b)
        k1, k2 = self._keypoints[s][a], self._keypoints[s][b]
        if self.flip_prob > 0:
            rng = np.random.default_rng((self.seed, self.epoch, index))
            if rng.random() < self.flip_prob:
                w = img1.shape[1]
                img1, img2 = img1[:, ::-1], img2[:, ::-1]
                k1, k2 = flip_keypoints(k1, w), flip_keypoints(k2, w)
        return {
            "P1": torch.from_numpy(np.ascontiguousarray(img1)).permute(2, 0, 1),  # (3, H, W) uint8
            "P2": torch.from_numpy(np.ascontiguousarray(img2)).permute(2, 0, 1),
            "K1": torch.from_numpy(np.array(k1, dtype=np.float32)),  # (18, 3)
            "K2": torch.from_numpy(np.array(k2, dtype=np.float32)),
            "P1_path": str(self._names[s][a]),
            "P2_path": str(self._names[s][b]),
        }


def _checked_pairs(reader: ShardReader, records: int) -> np.ndarray:
    """The shard's ``(P, 2)`` pair table; InputFormatError naming the shard when an index lies
    outside ``0..records-1`` (numpy would wrap a negative one to another record)."""
    pairs = reader.table("pairs")
    if pairs.ndim != 2 or pairs.shape[1] != 2 or len(reader.table("pairs_rank")) != len(pairs):
        raise InputFormatError(
            reader.path, f"pair table is {pairs.shape}, expected (P, 2) with P ranks"
        )
    bad = np.flatnonzero(((pairs < 0) | (pairs >= records)).any(axis=1))
    if bad.size:
        i = int(bad[0])
        value = next(int(v) for v in pairs[i] if not 0 <= v < records)
        raise InputFormatError(
            reader.path,
            f"pair {i} refers to record {value}, the shard has {records} records: damaged pair "
            "index; run `pgdata verify` and rebuild",
        )
    return pairs


class PoseCollate:
    """Collate pair samples into a batch; optionally normalise and render heatmaps on the CPU.

    Args:
        heatmaps: render ``BP1``/``BP2`` here (in the worker). With False, call
            :func:`to_device` on the batch to normalise and render on the training device.
        sigma: Gaussian sigma in pixels.

    The float tensors of a batch (``P1``, ``P2``, ``BP1``, ``BP2``) are written into buffers this
    collate function reuses once nothing holds the batch any more (:class:`BufferPool`; each
    worker has its own): no fresh 100 MB of heatmaps per batch.
    """

    def __init__(self, heatmaps: bool = True, sigma: float = DEFAULT_SIGMA) -> None:
        self.heatmaps = heatmaps
        self.sigma = sigma
        self.buffers = BufferPool()

    def __call__(self, samples: Sequence[dict[str, Any]]) -> dict[str, Any]:
        # default_collate stacks straight into shared memory inside a worker (no extra copy)
        batch: dict[str, Any] = default_collate(list(samples))
        if self.heatmaps:
            return _finish(batch, self.sigma, self.buffers)
        return batch


def _finish(batch: dict[str, Any], sigma: float, buffers: BufferPool | None) -> dict[str, Any]:
    """Normalise the images and render the heatmaps of a uint8 batch where it lives; into
    ``buffers`` (CPU only) when given."""
    p1 = batch["P1"]
    b, c, h, w = p1.shape
    j = batch["K1"].shape[1]

    def out(shape: tuple[int, ...]) -> torch.Tensor | None:
        return buffers.take(shape) if buffers is not None and p1.device.type == "cpu" else None

    batch["P1"] = normalise(p1, out=out((b, c, h, w)))
    batch["P2"] = normalise(batch["P2"], out=out((b, c, h, w)))
    batch["BP1"] = render_heatmaps_torch(batch["K1"], (h, w), sigma, out=out((b, j, h, w)))
    batch["BP2"] = render_heatmaps_torch(batch["K2"], (h, w), sigma, out=out((b, j, h, w)))
    return batch


# to_device's buffers for CPU batches (one pool per process; CUDA has its caching allocator)
_CPU_BUFFERS = BufferPool()


def to_device(
    batch: dict[str, Any], device: str | torch.device, sigma: float = DEFAULT_SIGMA
) -> dict[str, Any]:
    """Move a ``PoseCollate(heatmaps=False)`` batch to ``device``, normalise and render there.

    On the CPU the float tensors go into reused buffers (see :class:`PoseCollate`).
    """
    moved = {
        k: (v.to(device, non_blocking=True) if isinstance(v, torch.Tensor) else v)
        for k, v in batch.items()
    }
    if moved["P1"].dtype == torch.uint8:
        return _finish(moved, sigma, _CPU_BUFFERS)
    return moved
