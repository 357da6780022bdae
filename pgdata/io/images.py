"""Image files: decode, encode and size probes (RGB order in memory).

Two decoders with two jobs:

- :func:`decode_rgb` / :func:`read_rgb` (OpenCV): person photos and renderings, always RGB;
- :func:`decode_image` (Pillow): photos that may carry an alpha channel or an EXIF orientation
  (garments, packshots). It is the one place the orientation rule lives: the pixels come out
  as a viewer shows them. Both decoders give the same pixels for the same JPEG (libjpeg-turbo,
  default settings).

Two safety rules hold for every decode here:

- **pixel limit**: an image whose header claims more than :func:`max_pixels` pixels (64
  megapixels, or ``PGDATA_MAX_MEGAPIXELS``) is refused before any pixel is decoded
  (:func:`check_pixels`), so a small file cannot make the decoder allocate gigabytes;
- **damaged JPEG data**: libjpeg decodes a damaged entropy-coded segment with only a warning
  on stderr. :func:`imdecode_checked` catches that warning; :func:`jpeg_corruption` turns it into
  the reason a build quarantines the file or ``pgdata verify`` reports the record.
"""

from __future__ import annotations

import io
import math
import os
import sys
import tempfile
import threading
import warnings
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps

from pgdata.errors import ConfigError, InputFormatError
from pgdata.io.atomic import atomic_write_bytes
from pgdata.io.files import open_regular, read_bytes
from pgdata.io.jpeg import jpeg_info

__all__ = [
    "DEFAULT_MAX_MEGAPIXELS",
    "MAX_MEGAPIXELS_ENV",
    "check_pixels",
    "decode_image",
    "decode_label_png",
    "decode_mask",
    "decode_rgb",
    "encode_jpeg",
    "encode_mask_jpeg",
    "encode_png",
    "header_size",
    "image_size",
    "imdecode_checked",
    "jpeg_corruption",
    "max_pixels",
    "read_rgb",
    "write_jpeg",
]

DEFAULT_MAX_MEGAPIXELS = 64.0  # 8000 x 8000; the largest fashion photos are about 12
MAX_MEGAPIXELS_ENV = "PGDATA_MAX_MEGAPIXELS"
_MEGA = 1e6
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# libjpeg warnings that mean the entropy-coded data is damaged (jerror.h, JWRN_*)
_CORRUPTION = (
    "Corrupt JPEG data",
    "Premature end of JPEG file",
    "Inconsistent progression sequence",
    "Invalid SOS parameters",
)


def max_pixels() -> int:
    """The most pixels an image may have (``PGDATA_MAX_MEGAPIXELS`` million, default 64)."""
    raw = os.environ.get(MAX_MEGAPIXELS_ENV)
    if raw is None:
        return int(DEFAULT_MAX_MEGAPIXELS * _MEGA)
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise ConfigError(f"{MAX_MEGAPIXELS_ENV}={raw!r}: expected megapixels > 0, e.g. 100")
    return int(value * _MEGA)


def header_size(data: bytes) -> tuple[int, int] | None:
    """``(H, W)`` an image's header claims (JPEG, PNG, else whatever Pillow reads without
    decoding), or None when no header is recognised."""
    info = jpeg_info(data)
    if info is not None:
        return info.height, info.width
    if data[:8] == _PNG_SIGNATURE and data[12:16] == b"IHDR" and len(data) >= 24:
        return int.from_bytes(data[20:24], "big"), int.from_bytes(data[16:20], "big")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as im:
                return im.height, im.width
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return None


def check_pixels(data: bytes, source: str | Path = "<bytes>") -> None:
    """Refuse an image whose header claims more than :func:`max_pixels` pixels.

    Raises:
        InputFormatError: ``<N> megapixels, more than the <limit> megapixel limit``.
    """
    hw = header_size(data)
    limit = max_pixels()
    if hw is not None and hw[0] * hw[1] > limit:
        raise InputFormatError(
            source,
            f"{hw[0] * hw[1] / _MEGA:.1f} megapixels, more than the {limit / _MEGA:g} megapixel "
            f"limit ({hw[1]}x{hw[0]}; raise {MAX_MEGAPIXELS_ENV} to read it)",
        )


class _StderrCapture:
    """libjpeg prints its warnings on file descriptor 2; this catches them around one decode.

    One in-memory file per process (made again after a fork), one decode at a time per
    process; whatever else lands on stderr meanwhile is passed on unchanged.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pid = -1
        self._fd = -1

    def _sink(self) -> int:
        if self._pid != os.getpid():
            if hasattr(os, "memfd_create"):
                self._fd = os.memfd_create("pgdata-libjpeg", getattr(os, "MFD_CLOEXEC", 1))
            else:  # pragma: no cover - macOS
                self._fd = os.dup(tempfile.TemporaryFile().fileno())
            self._pid = os.getpid()
        return self._fd

    def decode(self, data: bytes, flags: int) -> tuple[np.ndarray | None, str]:
        with self._lock:
            sink = self._sink()
            os.ftruncate(sink, 0)
            os.lseek(sink, 0, os.SEEK_SET)
            sys.stderr.flush()
            saved = os.dup(2)
            try:
                os.dup2(sink, 2)
                try:
                    arr = _imdecode(data, flags)
                finally:
                    os.dup2(saved, 2)
            finally:
                os.close(saved)
            size = os.lseek(sink, 0, os.SEEK_CUR)
            text = os.pread(sink, size, 0).decode("utf-8", "replace") if size else ""
        lines = text.splitlines()
        found = [ln for ln in lines if ln.startswith(_CORRUPTION)]
        rest = "".join(f"{ln}\n" for ln in lines if ln not in found)
        if rest:
            sys.stderr.write(rest)
        return arr, found[0] if found else ""


_CAPTURE = _StderrCapture()


def _imdecode(data: bytes, flags: int) -> np.ndarray | None:
    """``cv2.imdecode``, None for empty or undecodable bytes (OpenCV raises on some)."""
    if not data:
        return None
    try:
        arr: np.ndarray | None = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    except cv2.error:
        return None
    return arr


def imdecode_checked(data: bytes, flags: int = cv2.IMREAD_COLOR) -> tuple[np.ndarray | None, str]:
    """``cv2.imdecode(data, flags)`` and libjpeg's first corruption warning ("" when none).

    An image libjpeg warned about decodes to wrong pixels (grey blocks, smeared rows): callers
    treat the warning as corruption (:func:`jpeg_corruption`).
    """
    return _CAPTURE.decode(data, flags)


def jpeg_corruption(warning: str) -> str:
    """The quarantine reason for a libjpeg warning: ``corrupt JPEG data (<what libjpeg said>)``."""
    what = warning.removeprefix("Corrupt JPEG data: ").rstrip(".")
    return f"corrupt JPEG data ({what[:1].lower() + what[1:]})"


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
    check_pixels(data, source)
    arr = _imdecode(data, cv2.IMREAD_COLOR)
    if arr is None:
        raise InputFormatError(source, "cannot decode image (corrupt, truncated or not an image)")
    return np.ascontiguousarray(cv2.cvtColor(arr, cv2.COLOR_BGR2RGB))


def read_rgb(path: str | Path) -> np.ndarray:
    """Read an image file as ``(H, W, 3)`` uint8 RGB."""
    return decode_rgb(read_bytes(path), path)


def decode_image(data: bytes, source: str | Path = "<bytes>") -> np.ndarray:
    """Decode a photo as a viewer shows it: EXIF orientation applied, transparency kept.

    Returns:
        ``(H, W, 4)`` uint8 RGBA when the image has an alpha channel (RGBA, LA, or a palette
        with a transparent entry), else ``(H, W, 3)`` uint8 RGB; 16-bit grey is scaled to 8 bits.

    Raises:
        InputFormatError: undecodable or truncated data, or more pixels than Pillow's
            decompression-bomb limit; ``message`` is the decoder's reason.
    """
    check_pixels(data, source)
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
        with open_regular(path) as f, Image.open(f) as im:
            return im.height, im.width
    except InputFormatError as e:
        raise InputFormatError(path, f"unreadable image ({e.message})") from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
        raise InputFormatError(path, f"unreadable image ({e})") from None


def decode_label_png(data: bytes, source: str | Path = "<bytes>") -> np.ndarray:
    """A grey 8-bit label PNG (pixel value = label id, as ``pgdata sample`` and CIHP-PGN write).

    Returns:
        ``(H, W)`` uint8 label ids, exactly as stored.

    Raises:
        InputFormatError: empty, undecodable, or not single-channel 8-bit.
    """
    check_pixels(data, source)
    labels = _imdecode(data, cv2.IMREAD_UNCHANGED)
    if labels is None or labels.ndim != 2 or labels.dtype != np.uint8:
        raise InputFormatError(source, "not a grey 8-bit label PNG")
    return labels


def decode_mask(data: bytes, source: str | Path = "<bytes>") -> np.ndarray:
    """A mask image (e.g. a VITON-HD ``cloth-mask`` JPEG) as ``(H, W)`` uint8 grey values.

    Raises:
        InputFormatError: ``cannot decode the cloth mask``.
    """
    check_pixels(data, source)
    mask = _imdecode(data, cv2.IMREAD_GRAYSCALE)
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
