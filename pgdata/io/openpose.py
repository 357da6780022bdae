"""OpenPose JSON (``<stem>_keypoints.json``, output format version 1.3).

``{"version": 1.3, "people": [{"person_id": [-1], "pose_keypoints_2d": [x0, y0, c0, ...], ...}]}``:
flat x, y, confidence triples in pixels, an undetected joint is ``0, 0, 0``. BODY_25 has 75
numbers, COCO-18 54. Old files use the key ``pose_keypoints``; both are read.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from pgdata.errors import InputFormatError
from pgdata.io.atomic import atomic_write_text
from pgdata.io.files import read_text

__all__ = [
    "OPENPOSE_VERSION",
    "best_person",
    "openpose_document",
    "read_openpose",
    "write_openpose",
]

OPENPOSE_VERSION = 1.3
MAX_JSON_BYTES = 64 * 2**20  # one frame's detections; a file of more is not OpenPose output
_LAYOUTS = {75: 25, 54: 18}


def read_openpose(path: str | Path) -> list[np.ndarray]:
    """Read every person of an OpenPose JSON file.

    Returns:
        one float32 ``(J, 3)`` array (x, y, confidence) per person, J = 25 (BODY_25) or 18
        (COCO-18); an empty list when nobody was detected.
    """
    path = Path(path)
    try:
        text = read_text(path, max_bytes=MAX_JSON_BYTES)
    except InputFormatError as e:
        raise InputFormatError(path, f"OpenPose JSON: {e.message}") from None
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError) as e:
        raise InputFormatError(path, f"not valid JSON ({e})") from None
    people = doc.get("people") if isinstance(doc, dict) else None
    if not isinstance(people, list):
        raise InputFormatError(path, "expected an object with a 'people' list (OpenPose JSON)")
    out: list[np.ndarray] = []
    for i, person in enumerate(people):
        flat = None
        if isinstance(person, dict):
            flat = person.get("pose_keypoints_2d", person.get("pose_keypoints"))
        if not isinstance(flat, list) or len(flat) not in _LAYOUTS:
            n = len(flat) if isinstance(flat, list) else "no"
            raise InputFormatError(
                path,
                f"people[{i}].pose_keypoints_2d has {n} values; expected 75 (BODY_25) "
                "or 54 (COCO-18)",
            )
        try:
            with np.errstate(over="ignore", invalid="ignore"):  # too large: inf, then missing
                arr = np.asarray(flat, dtype=np.float64).astype(np.float32)
            arr = arr.reshape(_LAYOUTS[len(flat)], 3)
        except (TypeError, ValueError, OverflowError):
            raise InputFormatError(
                path, f"people[{i}].pose_keypoints_2d holds non-numbers"
            ) from None
        missing = ~np.isfinite(arr).all(axis=1) | (arr[:, 2] <= 0)
        arr[missing] = 0
        out.append(arr)
    return out


def best_person(people: Sequence[np.ndarray]) -> np.ndarray | None:
    """The person with the largest summed joint confidence (first on ties), or None."""
    if not people:
        return None
    scores = [float(p[:, 2].sum()) for p in people]
    return people[int(np.argmax(scores))]


def openpose_document(people: Sequence[np.ndarray]) -> dict[str, Any]:
    """The OpenPose 1.3 JSON document for ``(J, 3)`` keypoint arrays (J = 25 or 18)."""
    persons = []
    for p in people:
        p = np.asarray(p, dtype=np.float64)
        if p.ndim != 2 or p.shape[1] != 3 or p.shape[0] not in (18, 25):
            raise ValueError(f"expected (25, 3) or (18, 3) keypoints, got {p.shape}")
        flat = np.where((p[:, 2] > 0)[:, None], p, 0.0).reshape(-1)
        persons.append(
            {
                "person_id": [-1],
                "pose_keypoints_2d": [round(float(v), 3) for v in flat],
                "face_keypoints_2d": [],
                "hand_left_keypoints_2d": [],
                "hand_right_keypoints_2d": [],
                "pose_keypoints_3d": [],
                "face_keypoints_3d": [],
                "hand_left_keypoints_3d": [],
                "hand_right_keypoints_3d": [],
            }
        )
    return {"version": OPENPOSE_VERSION, "people": persons}


def write_openpose(path: str | Path, people: Sequence[np.ndarray]) -> None:
    """Write ``people`` as an OpenPose 1.3 JSON file, atomically."""
    atomic_write_text(path, json.dumps(openpose_document(people)) + "\n")
