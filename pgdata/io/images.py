"""Image files: decode, encode and size probes (RGB order in memory).

Two decoders with two jobs:

- :func:`decode_rgb` / :func:`read_rgb` (OpenCV): person photos and renderings, always RGB;
- :func:`decode_image` (Pillow): photos that may carry an alpha channel or an EXIF orientation
  (garments, packshots). It is the one place the orientation rule lives: the pixels come out
  as a viewer shows them. Both decoders give the same pixels for the same JPEG (libjpeg-turbo,
  default settings).
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps

from pgdata.errors import InputFormatError
from pgdata.io.atomic import atomic_write_bytes

__all__ = [
    "decode_image",
    "decode_label_png",
    "decode_mask",
    "decode_rgb",
    "encode_jpeg",
    "encode_mask_jpeg",
    "encode_png",
    "image_size",
    "read_rgb",
    "write_jpeg",
]

# Pillow modes that carry transparency (a palette image does when it has a "transparency" entry)
_ALPHA_MODES = ("RGBA", "LA", "PA", "RGBa", "La")
# 16-bit grey values map onto 8 bits by this divisor (65535 -> 255)
_U16_TO_U8 = 257


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


def decode_image(data: bytes, source: str | Path = "<bytes>") -> np.ndarray:
    """Decode a photo as a viewer shows it: EXIF orientation applied, transparency kept.

    Returns:
        ``(H, W, 4)`` uint8 RGBA when the image has an alpha channel (RGBA, LA, or a palette
        with a transparent entry), else ``(H, W, 3)`` uint8 RGB; 16-bit grey is scaled to 8 bits.

    Raises:
        InputFormatError: undecodable or truncated data, or more pixels than Pillow's
            decompression-bomb limit; ``message`` is the decoder's reason.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data)) as src:
                im = ImageOps.exif_transpose(src)
                if im.mode in ("I", "I;16", "I;16B", "I;16L"):
                    grey = (np.asarray(im) / _U16_TO_U8).astype(np.uint8)
                    return np.ascontiguousarray(np.repeat(grey[..., None], 3, axis=2))
                alpha = im.mode in _ALPHA_MODES or (im.mode == "P" and "transparency" in im.info)
                return np.asarray(im.convert("RGBA" if alpha else "RGB"))
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
            raise InputFormatError(source, str(e) or type(e).__name__) from None
        except Image.DecompressionBombWarning as e:
            raise InputFormatError(source, f"too many pixels ({e})") from None


def image_size(path: str | Path) -> tuple[int, int]:
    """``(H, W)`` of an image file, read from its header (the pixels are not decoded).

    Raises:
        InputFormatError: ``unreadable image (<reason>)``.
    """
    try:
        with Image.open(path) as im:
            return im.height, im.width
    except (OSError, ValueError, Image.DecompressionBombError) as e:
        raise InputFormatError(path, f"unreadable image ({e})") from None


def decode_label_png(data: bytes, source: str | Path = "<bytes>") -> np.ndarray:
    """A grey 8-bit label PNG (pixel value = label id, as ``pgdata sample`` and CIHP-PGN write).

    Returns:
        ``(H, W)`` uint8 label ids, exactly as stored.

    Raises:
        InputFormatError: empty, undecodable, or not single-channel 8-bit.
    """
    labels = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED) if data else None
    if labels is None or labels.ndim != 2 or labels.dtype != np.uint8:
        raise InputFormatError(source, "not a grey 8-bit label PNG")
    return labels


def decode_mask(data: bytes, source: str | Path = "<bytes>") -> np.ndarray:
    """A mask image (e.g. a VITON-HD ``cloth-mask`` JPEG) as ``(H, W)`` uint8 grey values.

    Raises:
        InputFormatError: ``cannot decode the cloth mask``.
    """
    mask = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
    if mask is None:
        raise InputFormatError(source, "cannot decode the cloth mask")
    return mask


def encode_jpeg(rgb: np.ndarray, quality: int = 95) -> bytes:
    """Encode ``(H, W, 3)`` uint8 RGB as baseline JPEG (4:2:0) at ``quality``."""
    ok, buf = cv2.imencode(
        ".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality]
    )
    if not ok:
        raise ValueError("JPEG encoding failed")
    return bytes(buf.tobytes())


def encode_mask_jpeg(mask: np.ndarray, quality: int = 95) -> bytes:
    """Encode an ``(H, W)`` uint8 mask as a greyscale (mode L) JPEG, the VITON-HD cloth-mask format."""
    if mask.dtype != np.uint8 or mask.ndim != 2:
        raise ValueError(f"mask must be (H, W) uint8, got {mask.dtype} {mask.shape}")
    ok, buf = cv2.imencode(".jpg", mask, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return bytes(buf.tobytes())


def encode_png(array: np.ndarray) -> bytes:
    """Encode ``(H, W)`` uint8 grey, ``(H, W, 3)`` uint8 RGB or ``(H, W, 4)`` RGBA as PNG."""
    if array.ndim == 2:
        img = array
    elif array.shape[2] == 4:
        img = cv2.cvtColor(array, cv2.COLOR_RGBA2BGRA)
    else:
        img = cv2.cvtColor(array, cv2.COLOR_RGB2BGR)
    ok, buf = cv2.imencode(".png", img)
    if not ok:
        raise ValueError("PNG encoding failed")
    return bytes(buf.tobytes())


def write_jpeg(path: str | Path, rgb: np.ndarray, quality: int = 95) -> None:
    """Write ``rgb`` as a JPEG file atomically."""
    atomic_write_bytes(path, encode_jpeg(rgb, quality))
