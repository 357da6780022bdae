"""Face landmark CSV: ``name,<point>_x,<point>_y,...``, one row per image, ``-1`` = missing.

``name`` is the image path relative to the dataset root with ``/`` separators
(``train/face_00000.png``); the header names the points (``left_eye_x,left_eye_y,...``). In
memory a row is float32 ``(K, 3)``: x, y in the image's pixels and visibility (0 = missing,
stored as ``-1,-1``), as keypoints are everywhere in pgdata.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from pgdata.errors import InputFormatError
from pgdata.io.atomic import atomic_open

__all__ = ["LANDMARKS_CSV", "read_landmarks", "write_landmarks"]

LANDMARKS_CSV = "landmarks.csv"
MISSING = -1.0


def write_landmarks(
    path: Path, points: Sequence[str], names: Sequence[str], landmarks: np.ndarray
) -> None:
    """Write ``(N, K, 3)`` landmarks of ``names`` (atomically); ``points`` names the K points."""
    with atomic_open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["name", *(f"{p}_{axis}" for p in points for axis in ("x", "y"))])
        for name, marks in zip(names, landmarks, strict=True):
            row = [name]
            for x, y, v in marks:
                row += [f"{x:.3f}", f"{y:.3f}"] if v > 0 else [f"{MISSING:g}", f"{MISSING:g}"]
            writer.writerow(row)


def read_landmarks(path: Path) -> tuple[tuple[str, ...], dict[str, np.ndarray]]:
    """``(point names, {image name: (K, 3) float32})`` of a landmark CSV.

    Raises:
        InputFormatError: naming the file and line: a bad header, a row with another number of
            values, or a value that is not a number.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputFormatError(path, "landmark file not found") from None
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        raise InputFormatError(path, "empty landmark file (expected a header name,<point>_x,...)")
    header = rows[0]
    if header[:1] != ["name"] or len(header) % 2 != 1 or len(header) < 3:
        raise InputFormatError(path, "header must be name,<point>_x,<point>_y,...", line=1)
    points = tuple(h.removesuffix("_x") for h in header[1::2])
    out: dict[str, np.ndarray] = {}
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise InputFormatError(
                path, f"{len(row)} values, the header has {len(header)}", line=line
            )
        try:
            xy = np.array([float(v) for v in row[1:]], dtype=np.float32).reshape(-1, 2)
        except ValueError:
            raise InputFormatError(path, "landmark values must be numbers", line=line) from None
        visible = ~((xy[:, 0] == MISSING) & (xy[:, 1] == MISSING))
        marks = np.zeros((len(points), 3), dtype=np.float32)
        marks[visible, :2] = xy[visible]
        marks[visible, 2] = 1.0
        out[row[0]] = marks
    return points, out
