import numpy as np
import pytest
from PIL import Image

from pgdata.io.openpose import read_openpose
from pgdata.io.viton import read_parse_png
from pgdata.labels import P
from pgdata.stages.agnostic import (
    AGNOSTIC_FILL,
    MissingJointsError,
    agnostic_radius,
    parse_agnostic,
    person_agnostic,
)
from tests.tryon_reference import reference_parse_agnostic, reference_person_agnostic

HR = "viton_hd_hrviton_00006_00"


def _pose(points: dict[int, tuple[float, float]]) -> np.ndarray:
    pose = np.zeros((25, 3), np.float32)
    for j, (x, y) in points.items():
        pose[j] = (x, y, 0.9)
    return pose


# a frontal person on a 768x1024 canvas: shoulders 2 (image left) / 5, arms hanging down
POSE = _pose(
    {
        0: (384, 150),
        1: (384, 250),
        2: (300, 260),
        3: (280, 400),
        4: (270, 530),
        5: (468, 260),
        6: (488, 400),
        7: (498, 530),
        8: (384, 560),
        9: (334, 560),
        12: (434, 560),
        10: (330, 750),
        13: (438, 750),
    }
)


def _labels() -> np.ndarray:
    lab = np.zeros((1024, 768), np.uint8)
    lab[80:220, 330:440] = P.FACE
    lab[60:100, 320:450] = P.HAIR
    lab[220:255, 360:410] = P.NECK
    lab[250:570, 300:470] = P.UPPER_CLOTHES
    lab[260:540, 255:300] = P.RIGHT_ARM  # person's right = image left
    lab[260:540, 470:515] = P.LEFT_ARM
    lab[570:950, 310:460] = P.PANTS
    lab[950:1000, 310:460] = P.LEFT_SHOE
    return lab


def test_parse_agnostic_clears_clothes_neck_and_arms_keeps_head_and_legs():
    lab = _labels()
    out = parse_agnostic(lab, POSE)
    assert not np.isin(out, (P.UPPER_CLOTHES, P.NECK)).any()
    for keep in (P.FACE, P.HAIR, P.PANTS, P.LEFT_SHOE):
        assert (out[lab == keep] == keep).all()
    # upper arms lie within 15r of the shoulders/elbows: cleared; hands beyond the wrist disc stay
    assert (out[300:380, 260:300] == 0).all() and (out[300:380, 470:510] == 0).all()
    assert np.array_equal(out, parse_agnostic(lab, POSE))  # deterministic
    assert lab[270, 260] == P.RIGHT_ARM  # input untouched


def test_parse_agnostic_missing_joint_skips_without_advancing():
    lab = _labels()
    pose = POSE.copy()
    pose[6] = 0  # left elbow missing: pair 5-6 skipped, prev stays 5, so 5->7 is drawn
    out = parse_agnostic(lab, pose)
    ref = reference_parse_agnostic(lab, pose)
    assert (out == ref).mean() > 0.999
    # (490, 460) is > 15r from joint 5 and > 4r from the wrist: only the 5->7 line covers it
    assert out[460, 490] == 0 and parse_agnostic(lab, POSE)[460, 490] == 0
    pose[7] = 0  # now nothing reaches the forearm
    assert parse_agnostic(lab, pose)[460, 490] == P.LEFT_ARM


def test_person_agnostic_masks_torso_and_arms_keeps_head_and_lower_body():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (1024, 768, 3), dtype=np.uint8)
    lab = _labels()
    out = person_agnostic(img, lab, POSE)
    grey = (out == AGNOSTIC_FILL).all(axis=2)
    assert grey[lab == P.UPPER_CLOTHES].mean() > 0.99
    assert grey[lab == P.NECK].mean() > 0.9
    for keep in (P.FACE, P.PANTS, P.LEFT_SHOE):
        assert np.array_equal(out[lab == keep], img[lab == keep])
    assert np.array_equal(out, person_agnostic(img, lab, POSE))
    assert agnostic_radius(POSE) == int(168 / 16) + 1


def test_person_agnostic_matches_pil_reference_on_hand_made_input():
    rng = np.random.default_rng(1)
    img = rng.integers(0, 256, (1024, 768, 3), dtype=np.uint8)
    lab = _labels()
    ours = (person_agnostic(img, lab, POSE) == AGNOSTIC_FILL).all(axis=2)
    ref = (reference_person_agnostic(img, lab, POSE) == AGNOSTIC_FILL).all(axis=2)
    assert (ours == ref).mean() > 0.998


def test_person_agnostic_refuses_missing_torso_joints_and_equal_hips():
    img = np.zeros((1024, 768, 3), np.uint8)
    lab = _labels()
    for j in (1, 2, 5, 9, 12):
        pose = POSE.copy()
        pose[j, 2] = 0  # zero confidence counts as missing
        with pytest.raises(MissingJointsError) as e:
            person_agnostic(img, lab, pose)
        assert e.value.joints == [j]
    pose = POSE.copy()
    pose[12, :2] = pose[9, :2]
    with pytest.raises(MissingJointsError, match="same point"):
        person_agnostic(img, lab, pose)
    with pytest.raises(ValueError, match="parsing is"):
        person_agnostic(img[:512], lab, POSE)


def test_any_size_works_and_scales():
    lab = _labels()
    small = lab[::4, ::4].copy()
    pose = POSE.copy()
    pose[:, :2] /= 4
    img = np.full((256, 192, 3), 200, np.uint8)
    out = person_agnostic(img, small, pose)  # the reference's fixed 768x1024 canvas would fail
    assert out.shape == (256, 192, 3)
    big = parse_agnostic(lab, POSE)[::4, ::4]
    assert (parse_agnostic(small, pose) == big).mean() > 0.98


def _shipped(tryon_data, folder, key):
    d = tryon_data / folder
    parse_dir = "image-parse-v3" if (d / "image-parse-v3").is_dir() else "image-parse"
    json_dir = "openpose_json" if (d / "openpose_json").is_dir() else "openpose-json"
    labels = read_parse_png(d / parse_dir / f"{key}.png")
    pose = read_openpose(d / json_dir / f"{key}_keypoints.json")[0]
    return labels, pose


def test_parse_agnostic_agrees_with_shipped_hrviton_file(tryon_data):
    labels, pose = _shipped(tryon_data, HR, "00006_00")
    shipped = np.array(Image.open(tryon_data / HR / "image-parse-agnostic-v3.2" / "00006_00.png"))
    ours = parse_agnostic(labels, pose)
    agreement = float((ours == shipped).mean())
    assert agreement >= 0.997, agreement  # tryon.md §4: the release used a slightly other variant
    assert set(np.unique(ours)) == {0, 2, 9, 13, 14, 15}
    ref = reference_parse_agnostic(labels, pose)
    assert (ours == ref).mean() > 0.9999


def test_person_agnostic_on_shipped_sample(tryon_data):
    labels, pose = _shipped(tryon_data, HR, "00006_00")
    img = np.array(Image.open(tryon_data / HR / "image" / "00006_00.jpg").convert("RGB"))
    assert agnostic_radius(pose) == 17
    out = person_agnostic(img, labels, pose)
    for keep in (P.FACE, P.PANTS):
        assert np.array_equal(out[labels == keep], img[labels == keep])
    grey = (out == AGNOSTIC_FILL).all(axis=2)
    assert grey[labels == P.UPPER_CLOTHES].mean() > 0.97
    ref = (reference_person_agnostic(img, labels, pose) == AGNOSTIC_FILL).all(axis=2)
    assert (grey == ref).mean() > 0.998


def test_missing_wrist_sample_takes_the_skip_path(tryon_data):
    labels, pose = _shipped(tryon_data, "viton_hd_sample_test", "00891_00")
    assert pose[4, 2] == 0 and agnostic_radius(pose) == 14
    ours = parse_agnostic(labels, pose)
    assert (ours == reference_parse_agnostic(labels, pose)).mean() > 0.9999
    img = np.zeros(labels.shape + (3,), np.uint8)
    out = person_agnostic(img, labels, pose)
    ref = reference_person_agnostic(img, labels, pose)
    assert (out == ref).all(axis=2).mean() > 0.998
