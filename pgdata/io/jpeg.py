"""JPEG header inspection without decoding: size, components, baseline or progressive, EOI.

Used by the shard builder to keep an image's original bytes only when they are a complete
baseline (SOF0/SOF1) 3-component JPEG of the target size, and to catch truncated files that
decoders would silently half-decode.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["JpegInfo", "jpeg_info"]

_SOF_BASELINE = {0xC0, 0xC1}
_SOF_OTHER = {0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
_STANDALONE = {0x01, *range(0xD0, 0xD8)}


@dataclass(frozen=True)
class JpegInfo:
    """What the frame header says."""

    height: int
    width: int
    components: int  # 1 grey, 3 YCbCr, 4 CMYK/YCCK
    baseline: bool  # SOF0/SOF1 (not progressive, lossless or arithmetic)
    complete: bool  # ends with the EOI marker (FFD9), allowing trailing padding


def jpeg_info(data: bytes) -> JpegInfo | None:
    """Parse the markers up to the frame header; None if ``data`` is not a JPEG stream."""
    if len(data) < 4 or data[0] != 0xFF or data[1] != 0xD8:
        return None
    i = 2
    n = len(data)
    while i + 4 <= n:
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in _STANDALONE:
            i += 2
            continue
        length = (data[i + 2] << 8) | data[i + 3]
        if marker in _SOF_BASELINE or marker in _SOF_OTHER:
            if i + 10 > n:
                return None
            height = (data[i + 5] << 8) | data[i + 6]
            width = (data[i + 7] << 8) | data[i + 8]
            comps = data[i + 9]
            tail = data[-16:].rstrip(b"\x00")
            return JpegInfo(
                height, width, comps, marker in _SOF_BASELINE, tail.endswith(b"\xff\xd9")
            )
        if marker == 0xDA:  # start of scan before a frame header
            return None
        i += 2 + length
    return None
