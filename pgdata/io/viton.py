"""VITON-HD / HR-VITON dataset folders: layout, names, parse PNGs, masks, garments.

pgdata writes the HR-VITON flavour (``zalando-hd-resized``) and reads both it and the VITON-HD
flavour (hyphenated ``openpose-json``, plain ``image-parse``), see ``shared/reference/tryon.md`` §1:

===============================  ==========================================
``image/<id>.jpg``               person photo (input)
``cloth/<cid>.jpg``              garment photo (input; RGBA PNGs are flattened)
``cloth-mask/<cid>.jpg``         garment mask, JPEG mode L
``image-parse-v3/<id>.png``      parsing, PNG mode P, ids 0..19, VITON-HD palette
``openpose_json/<id>_keypoints.json``  OpenPose 1.3 BODY_25
``openpose_img/<id>_rendered.png``     skeleton rendering
``image-densepose/<id>.jpg``     DensePose parts in PARULA colours
``agnostic-v3.2/<id>.jpg``       agnostic person
``image-parse-agnostic-v3.2/<id>.png``  parse-agnostic map
===============================  ==========================================

A dataset root is either one split folder holding ``image/`` or a folder with ``train/`` and/or
``test/`` split folders (HR-VITON's ``dataroot``).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from pgdata.errors import InputFormatError
from pgdata.io.atomic import atomic_write_bytes
from pgdata.io.files import read_bytes, read_text
from pgdata.io.images import check_pixels, decode_image, encode_mask_jpeg
from pgdata.labels import CIHP_PALETTE, VOC_PALETTE
from pgdata.stages.parsing import UnknownColoursError, colours_to_labels

__all__ = [
    "FOLDERS",
    "IMAGE_SUFFIXES",
    "cloth_ids",
    "decode_parse_png",
    "find_import",
    "find_input",
    "output_path",
    "person_ids",
    "read_garment",
    "read_pairs_txt",
    "read_parse_png",
    "sample_paths",
    "split_dirs",
    "write_mask_jpeg",
    "write_parse_png",
]

# kind -> (folder names, HR-VITON's first; file name pattern)
FOLDERS: dict[str, tuple[tuple[str, ...], str]] = {
    "image": (("image",), "{}.jpg"),
    "cloth": (("cloth",), "{}.jpg"),
    "cloth_mask": (("cloth-mask",), "{}.jpg"),
    "parse": (("image-parse-v3", "image-parse"), "{}.png"),
    "parse_agnostic": (("image-parse-agnostic-v3.2",), "{}.png"),
    "openpose_json": (("openpose_json", "openpose-json"), "{}_keypoints.json"),
    "openpose_img": (("openpose_img", "openpose-img"), "{}_rendered.png"),
    "densepose": (("image-densepose",), "{}.jpg"),
    "agnostic": (("agnostic-v3.2",), "{}.jpg"),
}
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
SPLITS = ("train", "test")


def split_dirs(root: Path) -> list[tuple[str, Path]]:
    """``[(split, folder)]`` of a dataset root (one split folder, or ``train/`` and ``test/``).

    A lone split folder is named after itself when that is ``train`` or ``test``, else ``test``.

    Raises:
        InputFormatError: no ``image/`` folder in ROOT, ROOT/train or ROOT/test.
    """
    root = Path(root)
    if (root / "image").is_dir():
        return [(root.name if root.name in SPLITS else "test", root)]
    found = [(s, root / s) for s in SPLITS if (root / s / "image").is_dir()]
    if not found:
        raise InputFormatError(
            root,
            "not a VITON-HD dataset root: expected ROOT/image/ or ROOT/train/image/, ROOT/test/image/",
        )
    return found


def _stems(folder: Path) -> list[str]:
    if not folder.is_dir():
        return []
    stems = {
        p.stem
        for p in folder.iterdir()
        if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")
    }
    return sorted(stems)


def person_ids(split_dir: Path) -> list[str]:
    """Sorted person ids: stems of the images in ``split_dir/image``."""
    return _stems(split_dir / "image")


def cloth_ids(split_dir: Path) -> list[str]:
    """Sorted garment ids: stems of the images in ``split_dir/cloth``."""
    return _stems(split_dir / "cloth")


def output_path(split_dir: Path, kind: str, item: str) -> Path:
    """Where pgdata writes ``kind`` for ``item`` (the HR-VITON folder name)."""
    folders, pattern = FOLDERS[kind]
    return split_dir / folders[0] / pattern.format(item)


def find_input(split_dir: Path, kind: str, item: str) -> Path | None:
    """The existing ``kind`` file of ``item`` in either flavour's folder, or None.

    Person and garment images may also be ``.jpeg`` or ``.png``.
    """
    folders, pattern = FOLDERS[kind]
    names = [pattern.format(item)]
    if kind in ("image", "cloth"):
        names += [f"{item}.jpeg", f"{item}.png"]
    for folder in folders:
        for name in names:
            p = split_dir / folder / name
            if p.is_file():
                return p
    return None


def find_import(import_dir: Path, split: str, names: Sequence[str]) -> Path | None:
    """An external tool's output for one item: the first of ``names`` found in
    ``import_dir/<split>/``, else in ``import_dir/`` itself; None when there is none."""
    for folder in (import_dir / split, import_dir):
        for name in names:
            if (folder / name).is_file():
                return folder / name
    return None


def sample_paths(split_dir: Path, person: str, cloth: str) -> dict[str, Path | None]:
    """Every file of one try-on sample (a pair-list line), None where absent.

    Keys: ``image``, ``parse``, ``openpose_json``, ``openpose_img``, ``densepose``, ``agnostic``,
    ``parse_agnostic`` (of the person id) and ``cloth``, ``cloth_mask`` (of the garment id).
    """
    out: dict[str, Path | None] = {}
    for kind in FOLDERS:
        out[kind] = find_input(
            split_dir, kind, cloth if kind in ("cloth", "cloth_mask") else person
        )
    if out["cloth"] is not None and output_path(split_dir, "cloth", cloth).is_file():
        out["cloth"] = output_path(split_dir, "cloth", cloth)  # the JPEG the loaders read
    return out


def read_pairs_txt(path: str | Path) -> list[tuple[str, str]]:
    """``(person id, garment id)`` per line of a VITON-HD ``*_pairs.txt`` (file stems).

    Raises:
        InputFormatError: a non-empty line without exactly two names.
    """
    path = Path(path)
    try:
        text = read_text(path)
    except InputFormatError as e:
        raise InputFormatError(path, f"pair list: {e.message}") from None
    pairs = []
    for n, line in enumerate(text.splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 2:
            raise InputFormatError(path, "expected '<person>.jpg <cloth>.jpg'", line=n)
        pairs.append((Path(parts[0]).stem, Path(parts[1]).stem))
    return pairs


def decode_parse_png(data: bytes, source: str | Path, n_labels: int = 20) -> np.ndarray:
    """A parsing image's bytes → ``(H, W)`` uint8 label ids.

    - mode ``P``: the pixel values (indices) are the ids, whatever the palette (never map
      colours back); ``L``: the grey values are the ids (CIHP-PGN's raw output);
    - ``RGB``/``RGBA`` (e.g. a ``_vis.png``): converted only when every colour is exactly one of
      the first ``n_labels`` colours of the VITON-HD or the PASCAL VOC (SCHP) palette.

    Raises:
        InputFormatError: undecodable, another mode, colours outside both palettes, or ids
            ``>= n_labels`` (the message lists them).
    """
    check_pixels(data, source)
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            mode = im.mode
            if mode in ("P", "L"):
                labels = np.array(im, dtype=np.uint8)
            elif mode in ("RGB", "RGBA"):
                rgb = np.array(im.convert("RGB"))
            elif mode in ("I", "I;16"):
                wide = np.array(im)
                if wide.max(initial=0) > 255:
                    raise InputFormatError(
                        source, f"16-bit label image with ids up to {int(wide.max())}"
                    )
                labels = wide.astype(np.uint8)
            else:
                raise InputFormatError(
                    source,
                    f"parsing image has mode {mode}; expected P (palette), L (grey ids) or RGB",
                )
    except InputFormatError:
        raise
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
        raise InputFormatError(source, f"cannot read parsing image ({e})") from None
    if mode in ("RGB", "RGBA"):
        errors = []
        for name, palette in (("VITON-HD", CIHP_PALETTE), ("PASCAL VOC", VOC_PALETTE)):
            try:
                labels = colours_to_labels(rgb, palette, n_labels)
                break
            except UnknownColoursError as e:
                errors.append(f"{name}: {e}")
        else:
            raise InputFormatError(
                source,
                "RGB parsing image whose colours are not exactly a known palette ("
                + "; ".join(errors)
                + "); save the parser's raw label PNG (mode L or P) instead",
            )
    bad = np.flatnonzero(np.bincount(labels.ravel(), minlength=256)[n_labels:]) + n_labels
    if bad.size:
        raise InputFormatError(
            source,
            f"unknown labels {[int(b) for b in bad]} (this scheme has ids 0..{n_labels - 1})",
        )
    return labels


def read_parse_png(path: str | Path, n_labels: int = 20) -> np.ndarray:
    """Read a parsing PNG (see :func:`decode_parse_png`)."""
    try:
        data = read_bytes(path)
    except InputFormatError as e:
        raise InputFormatError(path, f"parsing file: {e.message}") from None
    if not data:
        raise InputFormatError(path, "zero-byte parsing file")
    return decode_parse_png(data, path, n_labels)


def encode_parse_png(labels: np.ndarray) -> bytes:
    """PNG bytes of an ``(H, W)`` uint8 label map in mode P with the VITON-HD palette."""
    if labels.dtype != np.uint8 or labels.ndim != 2:
        raise ValueError(f"label map must be (H, W) uint8, got {labels.dtype} {labels.shape}")
    im = Image.fromarray(labels)
    im.putpalette(CIHP_PALETTE)
    buf = io.BytesIO()
    im.save(buf, format="PNG", optimize=False)
    return buf.getvalue()


def write_parse_png(path: str | Path, labels: np.ndarray) -> None:
    """Write a label map exactly as VITON-HD's ``image-parse-v3`` (mode P, its palette), atomically."""
    atomic_write_bytes(path, encode_parse_png(labels))


def write_mask_jpeg(path: str | Path, mask: np.ndarray, quality: int = 95) -> None:
    """Write an ``(H, W)`` uint8 mask as a greyscale (mode L) JPEG, atomically."""
    atomic_write_bytes(path, encode_mask_jpeg(mask, quality))


def read_garment(path: str | Path) -> np.ndarray:
    """Read a garment photo as ``(H, W, 3)`` RGB or, when it has an alpha channel, ``(H, W, 4)`` RGBA.

    Decoded by :func:`pgdata.io.images.decode_image` (EXIF orientation applied), as ``pgdata
    garments`` decodes crawled packshots.
    """
    try:
        data = read_bytes(path)
    except InputFormatError as e:
        raise InputFormatError(path, f"garment image: {e.message}") from None
    try:
        return decode_image(data, path)
    except InputFormatError:
        raise InputFormatError(
            path, "cannot decode image (corrupt, truncated or not an image)"
        ) from None
