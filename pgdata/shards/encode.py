"""Bytes for an ``encoded`` JPEG column: keep a good JPEG as it is, repair and re-encode the rest."""

from __future__ import annotations

import cv2
import numpy as np

from pgdata.errors import InputFormatError
from pgdata.io.images import check_pixels, encode_jpeg, imdecode_checked, jpeg_corruption
from pgdata.io.jpeg import JpegInfo, jpeg_info

__all__ = ["prepare_jpeg", "resize_note"]


def _decode(data: bytes, info: JpegInfo | None) -> tuple[np.ndarray | None, list[str]]:
    """RGB uint8 image and the repairs made, or None when the bytes are not a usable image."""
    repairs: list[str] = []
    if info is not None:
        bgr, warning = imdecode_checked(data, cv2.IMREAD_COLOR)
        if bgr is None:
            return None, ["cannot decode JPEG"]
        if warning:
            return None, [jpeg_corruption(warning)]
        if info.components == 1:
            repairs.append("grey image converted to RGB")
        elif info.components == 4:
            repairs.append("CMYK image converted to RGB")
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), repairs
    arr, _ = imdecode_checked(data, cv2.IMREAD_UNCHANGED)
    if arr is None:
        return None, ["cannot decode image (corrupt, truncated or not an image)"]
    if arr.dtype != np.uint8:
        arr = (arr.astype(np.float64) * (255 / 65535)).round().astype(np.uint8)
        repairs.append("16-bit image converted to 8-bit")
    if arr.ndim == 2:
        repairs.append("grey image converted to RGB")
        return cv2.cvtColor(arr, cv2.COLOR_GRAY2RGB), repairs
    if arr.shape[2] == 4:
        alpha = arr[..., 3:4].astype(np.float32) / 255
        arr = (arr[..., :3] * alpha + 255 * (1 - alpha)).round().astype(np.uint8)
        repairs.append("alpha composited onto white")
    repairs.append("re-encoded as JPEG")
    return cv2.cvtColor(arr, cv2.COLOR_BGR2RGB), repairs


def resize_note(hw: tuple[int, int]) -> str:
    """The repair note :func:`prepare_jpeg` gives an image it resized to ``hw``."""
    return f"resized to {hw[0]}x{hw[1]}"


def prepare_jpeg(
    data: bytes, hw: tuple[int, int], quality: int
) -> tuple[bytes, tuple[int, int], list[str]] | str:
    """The JPEG bytes to store, the source image's ``(H, W)``, the repairs; or why not.

    An image of another size is resized to ``hw`` (note :func:`resize_note`); what that means
    for keypoints is the caller's business (pose transfer: nothing, keypoints are in the
    annotation frame whatever the image size).

    A complete baseline 3-component JPEG already at ``hw`` is stored as is; it is validated by a
    1/8-scale decode (libjpeg still entropy-decodes the whole stream, so truncation, corrupt
    headers and damaged entropy data show up the same; ``pgdata verify`` decodes at full size).
    Everything else is decoded, repaired where possible and re-encoded. A JPEG libjpeg warns
    about (damaged entropy-coded data) is refused: ``corrupt JPEG data (...)``; so is an image
    whose header claims more pixels than :func:`pgdata.io.images.max_pixels`, before decoding.
    """
    if not data:
        return "zero-byte image"
    try:
        check_pixels(data)
    except InputFormatError as e:
        return e.message
    info = jpeg_info(data)
    if info is not None and not info.complete:
        return "truncated JPEG (no end-of-image marker)"
    if (
        info is not None
        and info.baseline
        and info.components == 3
        and (info.height, info.width) == hw
    ):
        small, warning = imdecode_checked(data, cv2.IMREAD_REDUCED_COLOR_8)
        if small is None:
            return "cannot decode JPEG"
        if warning:
            return jpeg_corruption(warning)
        return data, hw, []
    rgb, notes = _decode(data, info)
    if rgb is None:
        return notes[0]
    h, w = hw
    source_hw = (int(rgb.shape[0]), int(rgb.shape[1]))
    if source_hw != hw:
        rgb = cv2.resize(rgb, (w, h), interpolation=cv2.INTER_AREA)
        notes.append(resize_note(hw))
    if info is not None and not info.baseline and not notes:
        notes.append("progressive JPEG re-encoded as baseline")
    return encode_jpeg(rgb, quality), source_hw, notes
