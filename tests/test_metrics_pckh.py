"""PCKh on hand-made keypoints and on the published annotation files (PATN's script's counts)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pgdata.io.pose_csv import read_annotations
from pgdata.labels import J
from pgdata.metrics.pckh import pckh, pckh_target_name
from pgdata.stages.keypoints import yx_to_xyc


def _person() -> np.ndarray:
    """One (18, 3) target: head box from nose (50, 20), neck (50, 40), eyes (45/55, 16)."""
    kps = np.zeros((18, 3), np.float32)
    for j, (x, y) in {
        J.NOSE: (50, 20),
        J.NECK: (50, 40),
        J.REYE: (45, 16),
        J.LEYE: (55, 16),
        J.RSHO: (30, 42),
        J.LSHO: (70, 42),
        J.RHIP: (40, 100),
    }.items():
        kps[j] = (x, y, 1)
    return kps  # head box w = 55 − 45 = 10, h = 40 − 16 = 24


def test_hand_made_counts() -> None:
    target = _person()
    pred = target.copy()
    pred[J.RSHO, 0] += 4.9  # |dx| < 5 = 0.5 w → right
    pred[J.LSHO, 0] += 5.0  # |dx| = 5, strict < → wrong
    pred[J.RHIP, 1] += 11.9  # |dy| < 12 = 0.5 h → right
    pred[J.NECK, 2] = 0  # the backend missed the neck → wrong, still counted
    pred[J.LWRI] = (10, 10, 1)  # extra prediction where the target has none: not counted
    res = pckh(pred[None], target[None])
    assert (res.correct, res.total, res.pairs, res.skipped) == (5, 7, 1, 0)
    assert res.score == pytest.approx(5 / 7)


def test_head_box_rules() -> None:
    few = _person()
    few[[J.NECK, J.REYE, J.LEYE], 2] = 0  # only the nose left → pair skipped
    flat = _person()
    flat[[J.NOSE, J.NECK], 2] = 0  # eyes only: h = 0 → every joint fails, pair still counted
    res = pckh(np.stack([few, flat]), np.stack([few, flat]))
    assert (res.correct, res.total, res.pairs, res.skipped) == (0, 5, 1, 1)
    missing = np.zeros((1, 18, 3), np.float32)
    res = pckh(missing, _person()[None])
    assert res.score == 0.0 and res.total == 7
    with pytest.raises(ValueError, match="one shape"):
        pckh(np.zeros((1, 18, 3)), np.zeros((2, 18, 3)))


def test_result_names_to_target_names() -> None:
    assert pckh_target_name("a_1front.jpg___b_2side.jpg_vis.jpg") == "b_2side.jpg"
    assert pckh_target_name("a_1front.jpg_b_2side.jpg.png") == "b_2side.jpg"
    assert pckh_target_name("b_2side.jpg") == "b_2side.jpg"


@pytest.mark.parametrize(
    ("name", "correct", "total"),
    [
        ("market-annotation-train.csv", 157_954, 158_065),
        ("fasion-annotation-test.csv", 46_581, 46_591),
    ],
)
def test_annotations_against_themselves(
    deepfashion_data: Path, name: str, correct: int, total: int
) -> None:
    """Not 1.0: zero-size head boxes fail every joint (datasets.md §10)."""
    ann = read_annotations(deepfashion_data / "defgan_myeongjun2" / name)
    kps = yx_to_xyc(ann.yx)
    res = pckh(kps, kps)
    assert (res.correct, res.total) == (correct, total)
