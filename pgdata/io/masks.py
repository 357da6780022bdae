"""Inpainting mask sets on disk: a folder of grey PNGs, ``00000.png`` …, plus ``masks.json``.

``pgdata masks`` writes a fixed evaluation set (every DMFN variant is then scored on the same
holes); any folder of grey mask images works as a set (e.g. a published irregular-mask set).
A pixel ``>= 128`` is a hole (1), below is known (0): what ``pgdata masks`` writes as 255 / 0.

:func:`read_mask_set` refuses, naming the file, a mask that does not decode, has another size than
asked for, or covers nothing or everything (:func:`pgdata.stages.masks.coverage_problem`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pgdata.errors import InputFormatError
from pgdata.io.files import read_bytes
from pgdata.io.images import decode_mask
from pgdata.stages.masks import coverage_problem

__all__ = ["MASK_SET_JSON", "MASK_THRESHOLD", "list_mask_files", "mask_file_name", "read_mask_set"]

MASK_SET_JSON = "masks.json"
MASK_THRESHOLD = 128
_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")
_DIGITS = 5


def mask_file_name(index: int) -> str:
    """``00042.png``: the file of the ``index``-th mask of a set ``pgdata masks`` writes."""
    return f"{index:0{_DIGITS}d}.png"


def list_mask_files(folder: Path) -> list[Path]:
    """The mask images in ``folder`` (PNG, JPEG, BMP), sorted by name."""
    if not folder.is_dir():
        raise InputFormatError(folder, "mask set folder not found; write one with `pgdata masks`")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in _SUFFIXES)
    if not files:
        raise InputFormatError(
            folder, "holds no mask images (*.png); write one with `pgdata masks`"
        )
    return files


def read_mask_set(folder: Path, size_hw: tuple[int, int]) -> np.ndarray:
    """Every mask of ``folder`` as ``(N, H, W)`` uint8 in {0, 1} (1 = hole), in name order.

    Raises:
        InputFormatError: naming the file: undecodable, not ``size_hw``, or covering nothing or
            everything.
    """
    masks = []
    for path in list_mask_files(folder):
        grey = decode_mask(read_bytes(path), path)
        if grey.shape != size_hw:
            raise InputFormatError(
                path,
                f"mask is {grey.shape[1]}x{grey.shape[0]}, the images are {size_hw[1]}x{size_hw[0]} "
                f"(WxH); write a set of that size with `pgdata masks --size {size_hw[0]}`",
            )
        mask = (grey >= MASK_THRESHOLD).astype(np.uint8)
        problem = coverage_problem(mask)
        if problem is not None:
            raise InputFormatError(path, f"mask {problem}; remove it or regenerate the set")
        masks.append(mask)
    return np.stack(masks)
