"""The PATN / GFLA / DPTN / pose-gan CSV files: keypoint annotations and pair lists.

Annotation CSV (``fasion-resize-annotation-train.csv``, ``market-annotation-test.csv``, ...):
``:``-separated, header ``name:keypoints_y:keypoints_x``, one row per image, 18 integer y values
then 18 integer x values as Python lists, ``-1`` for a missing joint. The estimator wrote a space
after each colon (``name: [..]: [..]``); pandas ``to_csv(sep=':')`` writes none. Both read; the
writer picks with ``spaced``.

Pair CSV (``fasion-resize-pairs-test.csv``, ``market-pairs-train.csv``): ``,``-separated, header
``from,to``.

The file names per dataset and split (:func:`output_names`, including the reference code's
``fasion`` spelling) and each dataset's pose-transfer frame (:data:`FRAME`) are named here once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from pgdata.errors import InputFormatError
from pgdata.io.atomic import atomic_open
from pgdata.io.files import read_text

__all__ = [
    "ANNOTATION_HEADER",
    "DATASETS",
    "FRAME",
    "PAIRS_HEADER",
    "SOURCE_FRAME",
    "SPLITS",
    "Annotations",
    "Dataset",
    "Split",
    "output_names",
    "read_annotations",
    "read_pairs",
    "write_annotations",
    "write_pairs",
]

ANNOTATION_HEADER = "name:keypoints_y:keypoints_x"
PAIRS_HEADER = "from,to"
N_JOINTS = 18
MAX_COORD = 2**31 - 1  # a coordinate beyond int32 is no pixel (and would overflow the arrays)
_FORBIDDEN_IN_NAME = (":", ",", "\n", "\r", '"')

Dataset = Literal["deepfashion", "market1501"]
DATASETS: tuple[Dataset, ...] = ("deepfashion", "market1501")
Split = Literal["train", "test"]
SPLITS: tuple[Split, ...] = ("train", "test")

# The annotation frame (H, W) of each dataset's pose-transfer CSVs (PATN/GFLA/DPTN
# ``fasion-resize-*``, pose-gan ``market-*``): every keypoint of such a file is in this frame,
# whatever size the image files have. Readers never rescale keypoints by an image's size.
FRAME: dict[str, tuple[int, int]] = {"deepfashion": (256, 176), "market1501": (128, 64)}
# The frame of the raw keypoints a dataset tree comes with (``build-pairs --keypoints`` CSVs):
# In-shop low-res images and the Deformable-GAN fashion CSVs are 256×256 (PATN crops 40 columns
# off each side to reach 256×176); Market-1501 crops are 128×64.
SOURCE_FRAME: dict[str, tuple[int, int]] = {"deepfashion": (256, 256), "market1501": (128, 64)}


def output_names(dataset: str, split: str) -> tuple[str, str]:
    """(annotation CSV, pair CSV) file names the reference loaders expect for ``split``."""
    if dataset == "deepfashion":
        return f"fasion-resize-annotation-{split}.csv", f"fasion-resize-pairs-{split}.csv"
    return f"market-annotation-{split}.csv", f"market-pairs-{split}.csv"


@dataclass
class Annotations:
    """Rows of an annotation CSV.

    Attributes:
        names: image names in file order.
        yx: ``(N, 18, 2)`` int64 (y, x), ``-1`` = missing; the file's exact integers.
        lines: 1-based line number of each row in the file it was read from (for messages).
    """

    names: list[str]
    yx: np.ndarray
    lines: list[int]

    def __len__(self) -> int:
        return len(self.names)


def _parse_list(text: str, path: Path, lineno: int, column: str) -> list[int]:
    text = text.strip()
    if not (text.startswith("[") and text.endswith("]")):
        raise InputFormatError(
            path,
            f"column {column} must be a list like [12, 40, -1, ...], found {text[:40]!r}",
            line=lineno,
        )
    body = text[1:-1].strip()
    try:
        values = [int(v) for v in body.split(",")] if body else []
    except ValueError:
        raise InputFormatError(
            path, f"column {column} must hold integers, found {text[:60]!r}", line=lineno
        ) from None
    for v in values:
        if abs(v) > MAX_COORD:
            raise InputFormatError(
                path,
                f"column {column}: {v} is out of range (pixel coordinates within ±{MAX_COORD}; "
                "-1 marks a missing joint)",
                line=lineno,
            )
    if len(values) != N_JOINTS:
        raise InputFormatError(
            path,
            f"column {column} has {len(values)} values, expected {N_JOINTS} (COCO-18 joints)",
            line=lineno,
        )
    return values


def _read(path: Path, what: str) -> str:
    """The text of ``path`` (bounded, UTF-8); InputFormatError naming ``what`` otherwise."""
    try:
        return read_text(path)
    except InputFormatError as e:
        reason = " not found" if e.message == "file not found" else f": {e.message}"
        raise InputFormatError(path, what + reason) from None


def read_annotations(path: str | Path) -> Annotations:
    """Read an annotation CSV (either spelling); raise :class:`InputFormatError` on a bad row."""
    path = Path(path)
    text = _read(path, "annotation file")
    lines = text.split("\n")
    header = lines[0].replace(" ", "").rstrip("\r") if lines else ""
    if header != ANNOTATION_HEADER:
        raise InputFormatError(
            path,
            f"expected the header {ANNOTATION_HEADER!r}, found {lines[0][:60]!r}",
            line=1,
        )
    names: list[str] = []
    rows: list[list[int]] = []
    linenos: list[int] = []
    for lineno, line in enumerate(lines[1:], start=2):
        line = line.rstrip("\r")
        if not line.strip():
            continue
        parts = line.split(":", 2)
        if len(parts) != 3:
            raise InputFormatError(
                path,
                "expected 'name:[18 y values]:[18 x values]' (3 ':'-separated fields), "
                f"found {len(parts)} field(s)",
                line=lineno,
            )
        name = parts[0].strip()
        if not name:
            raise InputFormatError(path, "empty image name", line=lineno)
        ys = _parse_list(parts[1], path, lineno, "keypoints_y")
        xs = _parse_list(parts[2], path, lineno, "keypoints_x")
        names.append(name)
        rows.append(ys + xs)
        linenos.append(lineno)
    arr = np.asarray(rows, dtype=np.int64).reshape(-1, 2, N_JOINTS).transpose(0, 2, 1)
    return Annotations(names=names, yx=np.ascontiguousarray(arr), lines=linenos)


def _check_name(name: str) -> None:
    if not name or any(c in name for c in _FORBIDDEN_IN_NAME):
        raise ValueError(f"image name {name!r} is empty or holds one of ':' ',' '\"' or a newline")


def _fmt(values: Iterable[int]) -> str:
    return "[" + ", ".join(str(int(v)) for v in values) + "]"


def write_annotations(
    path: str | Path, names: Sequence[str], yx: np.ndarray, *, spaced: bool = False
) -> None:
    """Write an annotation CSV atomically.

    Args:
        path: output file.
        names: image names.
        yx: ``(N, 18, 2)`` integer (y, x) with ``-1`` = missing.
        spaced: write the estimator's ``name: [..]: [..]`` spelling instead of pandas'
            ``name:[..]:[..]`` (the resize step's output, PATN's ``fasion-resize-*`` files).
    """
    yx = np.asarray(yx)
    if yx.shape != (len(names), N_JOINTS, 2):
        raise ValueError(f"yx must be ({len(names)}, {N_JOINTS}, 2), got {yx.shape}")
    sep = ": " if spaced else ":"
    with atomic_open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(ANNOTATION_HEADER + "\n")
        for name, row in zip(names, yx.tolist(), strict=True):
            _check_name(name)
            ys = [p[0] for p in row]
            xs = [p[1] for p in row]
            f.write(f"{name}{sep}{_fmt(ys)}{sep}{_fmt(xs)}\n")


def read_pairs(path: str | Path) -> list[tuple[str, str]]:
    """Read a ``from,to`` pair CSV; raise :class:`InputFormatError` on a bad row."""
    path = Path(path)
    lines = _read(path, "pair file").split("\n")
    if lines[0].rstrip("\r") != PAIRS_HEADER:
        raise InputFormatError(
            path, f"expected the header {PAIRS_HEADER!r}, found {lines[0][:60]!r}", line=1
        )
    pairs: list[tuple[str, str]] = []
    for lineno, line in enumerate(lines[1:], start=2):
        line = line.rstrip("\r")
        if not line:
            continue
        parts = line.split(",")
        if len(parts) != 2 or not parts[0] or not parts[1]:
            raise InputFormatError(
                path, f"expected 'from_name,to_name', found {line[:80]!r}", line=lineno
            )
        pairs.append((parts[0], parts[1]))
    return pairs


def write_pairs(path: str | Path, pairs: Iterable[tuple[str, str]]) -> None:
    """Write a ``from,to`` pair CSV atomically (LF line ends, final newline)."""
    with atomic_open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(PAIRS_HEADER + "\n")
        for a, b in pairs:
            _check_name(a)
            _check_name(b)
            f.write(f"{a},{b}\n")
