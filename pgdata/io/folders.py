"""Folders of images split into ``train/ val/ test/``: the layout pix2pix and the faces import read.

A root either holds split folders (any of :data:`FOLDER_SPLITS`, as pix2pix's aligned sets and
``pgdata sample --kind aligned|faces`` do) or is itself one flat folder of images, which then
becomes a single split. Images are found recursively inside a split folder and named by their
path relative to it, with ``/`` separators, sorted.
"""

from __future__ import annotations

import os
from pathlib import Path

from pgdata.errors import InputFormatError

__all__ = ["FOLDER_SPLITS", "IMAGE_SUFFIXES", "image_splits", "split_folder"]

FOLDER_SPLITS = ("train", "val", "test")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")


def _images(folder: Path) -> list[str]:
    found = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        base = Path(dirpath).relative_to(folder)
        for name in filenames:
            if not name.startswith(".") and Path(name).suffix.lower() in IMAGE_SUFFIXES:
                found.append((base / name).as_posix())
    return sorted(found)


def image_splits(root: Path, *, flat_split: str = "train") -> dict[str, list[str]]:
    """``{split: [image path relative to the split folder, ...]}`` of a root (see module doc).

    ``flat_split`` names the one split of a root without split folders. Paths are relative to
    ``root / split`` (or to ``root`` for a flat root: see :func:`split_folder`).

    Raises:
        InputFormatError: ``root`` is missing or holds no image at all.
    """
    if not root.is_dir():
        raise InputFormatError(root, "folder not found")
    present = [s for s in FOLDER_SPLITS if (root / s).is_dir()]
    splits = {s: _images(root / s) for s in present} if present else {flat_split: _images(root)}
    splits = {s: names for s, names in splits.items() if names}
    if not splits:
        where = f"its {', '.join(present)} folder(s)" if present else "it"
        raise InputFormatError(
            root, f"no images (*{'/*'.join(IMAGE_SUFFIXES)}) in {where}; give a folder of images"
        )
    return splits


def split_folder(root: Path, split: str) -> Path:
    """The folder the names of ``split`` are relative to: ``root/split`` or the flat root."""
    return root / split if (root / split).is_dir() else root
