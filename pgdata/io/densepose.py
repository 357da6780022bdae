"""Precomputed DensePose outputs: every import format → ``(H, W)`` fine part indices I (0..24).

Formats, by suffix:

- ``.npy``: ``(H, W)`` part indices I, or an IUV array ``(H, W, 3)`` / ``(3, H, W)`` whose
  first channel is I;
- ``.npz``: ``parts`` (``(H, W)`` I), or ``boxes`` (``(N, 4)`` x, y, w, h pixels) with
  ``parts_0 .. parts_{N-1}`` per-box I maps and optional ``scores`` (``apply_net.py dump``
  results saved as arrays);
- ``_IUV.png`` / ``.png``: DensePose's IUV image (I in the first channel as OpenCV reads it);
- ``.jpg``: an already rendered ``image-densepose`` picture (decoded to I by nearest colour).
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import cv2
import numpy as np

from pgdata.errors import InputFormatError
from pgdata.io.atomic import atomic_write_bytes
from pgdata.io.images import read_rgb
from pgdata.stages.densepose import N_PARTS, decode_densepose, paste_instances

__all__ = ["IMPORT_SUFFIXES", "read_densepose", "write_parts_npy"]

# an import folder's file names for person <id> are <id> + one of these, tried in this order
IMPORT_SUFFIXES = (".npy", ".npz", "_IUV.png", ".png", ".jpg")


def _parts_array(arr: np.ndarray, source: Path) -> np.ndarray:
    if arr.ndim == 3 and arr.shape[0] == 3 and arr.shape[2] != 3:
        arr = arr[0]
    elif arr.ndim == 3 and arr.shape[2] == 3:
        arr = arr[..., 0]
    if arr.ndim != 2:
        raise InputFormatError(
            source, f"expected (H, W) part indices or an IUV array, got shape {arr.shape}"
        )
    if arr.dtype.kind == "f":
        arr = np.rint(arr)
    if arr.size and (arr.min() < 0 or arr.max() > N_PARTS):
        raise InputFormatError(
            source, f"part indices outside 0..{N_PARTS} ({arr.min()}..{arr.max()})"
        )
    return arr.astype(np.uint8)


def read_densepose(path: Path, size_hw: tuple[int, int]) -> np.ndarray:
    """Read one precomputed DensePose file (any import format above) as ``(H, W)`` uint8 I.

    ``size_hw`` is the photo's size, the canvas per-box maps are pasted onto.

    Raises:
        InputFormatError: unreadable file, wrong shape, indices outside 0..24, an ``.npz``
            without ``parts`` or ``boxes``.
    """
    name = path.name
    try:
        if name.endswith(".npy"):
            return _parts_array(np.load(path, allow_pickle=False), path)
        if name.endswith(".npz"):
            with np.load(path, allow_pickle=False) as z:
                if "parts" in z:
                    return _parts_array(z["parts"], path)
                if "boxes" in z:
                    boxes = z["boxes"]
                    maps = [_parts_array(z[f"parts_{k}"], path) for k in range(len(boxes))]
                    scores = z["scores"] if "scores" in z else None
                    return paste_instances(size_hw, boxes, maps, scores)
                raise InputFormatError(
                    path, f"npz holds {sorted(z.files)}; expected 'parts' or 'boxes' + 'parts_<k>'"
                )
        if name.endswith(".png"):
            iuv = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
            if iuv is None:
                raise InputFormatError(path, "unreadable IUV image")
            return _parts_array(iuv, path)
        return decode_densepose(read_rgb(path))
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as e:
        raise InputFormatError(path, f"unreadable DensePose file ({e})") from None


def write_parts_npy(path: Path, parts: np.ndarray) -> None:
    """Write ``(H, W)`` uint8 part indices as a ``.npy`` file (the simplest import format), atomically."""
    buf = io.BytesIO()
    np.save(buf, parts, allow_pickle=False)
    atomic_write_bytes(path, buf.getvalue())
