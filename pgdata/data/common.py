"""Helpers every shard dataset shares: opening a split, image decoding in the worker,
normalisation on the device."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch

from pgdata.errors import InputFormatError
from pgdata.shards.manifest import Manifest, ShardEntry, read_manifest
from pgdata.shards.reader import ShardReader

__all__ = ["decode_column", "normalise", "split_entries"]

# OpenCV >= 4.10 decodes straight to RGB
_IMREAD_RGB = getattr(cv2, "IMREAD_COLOR_RGB", None)


def normalise(images: torch.Tensor) -> torch.Tensor:
    """uint8 ``(B, C, H, W)`` → float32 in [-1, 1] (``ToTensor`` + ``Normalize(0.5, 0.5)``)."""
    return images.to(torch.float32).div_(127.5).sub_(1.0)


def decode_column(reader: ShardReader, column: str, i: int) -> np.ndarray:
    """Record ``i`` of an encoded image column → ``(H, W, 3)`` uint8 RGB.

    Raises:
        InputFormatError: the bytes do not decode (names the shard, record and column).
    """
    buf = np.frombuffer(reader.encoded(column, i), np.uint8)
    img = cv2.imdecode(buf, _IMREAD_RGB if _IMREAD_RGB is not None else cv2.IMREAD_COLOR)
    if img is None:
        raise InputFormatError(
            reader.path, f"record {i}: {column} does not decode; run `pgdata verify`"
        )
    return img if _IMREAD_RGB is not None else cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def split_entries(folder: Path, split: str, schema: str) -> tuple[Manifest, list[ShardEntry]]:
    """The manifest of a shard folder of ``schema`` and the shards of ``split``.

    Raises:
        InputFormatError: another schema (naming it), or no shard of that split (listing the
            splits there).
    """
    manifest = read_manifest(folder)
    if manifest.schema.name != schema:
        raise InputFormatError(
            folder, f"schema {manifest.schema.name!r} is not a {schema!r} shard set"
        )
    entries = manifest.split_shards(split)
    if not entries:
        splits = sorted({s.split for s in manifest.shards})
        raise InputFormatError(folder, f"no shards for split {split!r}; splits here: {splits}")
    return manifest, entries
