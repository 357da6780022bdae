"""Helpers every shard dataset shares: image decoding in the worker, normalisation on the device."""

from __future__ import annotations

import cv2
import numpy as np
import torch

from pgdata.errors import InputFormatError
from pgdata.shards.reader import ShardReader

__all__ = ["decode_column", "normalise"]

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
