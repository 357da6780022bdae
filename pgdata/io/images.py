"""Image files: decode, encode and size probes (OpenCV; RGB order in memory)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from pgdata.errors import InputFormatError
from pgdata.io.atomic import atomic_write_bytes

__all__ = ["decode_rgb", "encode_jpeg", "encode_png", "read_rgb", "write_jpeg", "write_label_png"]


def decode_rgb(data: bytes, source: str | Path = "<bytes>") -> np.ndarray:
    """Decode image bytes to ``(H, W, 3)`` uint8 RGB; grey and RGBA are converted.

    Raises:
        InputFormatError: empty, truncated or undecodable data.
    """
    if not data:
        raise InputFormatError(source, "zero-byte image file")
    arr = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if arr is None:
        raise InputFormatError(source, "cannot decode image (corrupt, truncated or not an image)")
    return np.ascontiguousarray(cv2.cvtColor(arr, cv2.COLOR_BGR2RGB))


def read_rgb(path: str | Path) -> np.ndarray:
    """Read an image file as ``(H, W, 3)`` uint8 RGB."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise InputFormatError(path, "image file not found") from None
    return decode_rgb(data, path)


def encode_jpeg(rgb: np.ndarray, quality: int = 95) -> bytes:
    """Encode ``(H, W, 3)`` uint8 RGB as baseline JPEG (4:2:0) at ``quality``."""
    ok, buf = cv2.imencode(
        ".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality]
    )
    if not ok:
        raise ValueError("JPEG encoding failed")
    return bytes(buf.tobytes())


def encode_png(array: np.ndarray) -> bytes:
    """Encode ``(H, W)`` uint8 grey or ``(H, W, 3)`` uint8 RGB as PNG."""
    img = cv2.cvtColor(array, cv2.COLOR_RGB2BGR) if array.ndim == 3 else array
    ok, buf = cv2.imencode(".png", img)
    if not ok:
        raise ValueError("PNG encoding failed")
    return bytes(buf.tobytes())


def write_jpeg(path: str | Path, rgb: np.ndarray, quality: int = 95) -> None:
    """Write ``rgb`` as a JPEG file atomically."""
    atomic_write_bytes(path, encode_jpeg(rgb, quality))


def write_label_png(path: str | Path, labels: np.ndarray) -> None:
    """Write an ``(H, W)`` uint8 label map as a grey PNG whose pixel values are the label ids."""
    if labels.dtype != np.uint8 or labels.ndim != 2:
        raise ValueError(f"label map must be (H, W) uint8, got {labels.dtype} {labels.shape}")
    atomic_write_bytes(path, encode_png(labels))
