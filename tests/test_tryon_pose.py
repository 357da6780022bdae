import numpy as np
import pytest
from PIL import Image

from pgdata.io.openpose import read_openpose
from pgdata.labels import BLAZEPOSE_LANDMARKS, BODY25_COLORS, BODY25_LIMBS
from pgdata.stages.blazepose import blazepose_to_body25, blazepose_to_coco18
from pgdata.stages.pose_render import render_openpose

HR = "viton_hd_hrviton_00006_00"


def test_render_is_black_with_limbs_at_0_6_of_the_second_joint_colour():
    pose = np.zeros((25, 3), np.float32)
    pose[1] = (100, 50, 0.9)
    pose[8] = (100, 250, 0.9)
    pose[2] = (60, 55, 0.04)  # below the 0.05 threshold: not drawn
    img = render_openpose(pose, (300, 200))
    assert img.shape == (300, 200, 3) and img.dtype == np.uint8
    assert tuple(img[150, 100]) == (153, 0, 0)  # neck-midhip takes mid-hip's (255, 0, 0) x 0.6
    assert not img[55, 60].any() and not img[0:20].any()


def test_render_matches_the_shipped_openpose_img(tryon_data):
    d = tryon_data / HR
    pose = read_openpose(d / "openpose_json" / "00006_00_keypoints.json")[0]
    shipped = np.array(Image.open(d / "openpose_img" / "00006_00_rendered.png").convert("RGB"))
    ours = render_openpose(pose, shipped.shape[:2]).astype(int)
    assert (ours.sum(axis=2) == 0).mean() > 0.94
    checked = 0
    for a, b in BODY25_LIMBS:
        if pose[a, 2] > 0.05 and pose[b, 2] > 0.05:
            x, y = np.rint((pose[a, :2] + pose[b, :2]) / 2).astype(int)
            expect = 0.6 * np.array(BODY25_COLORS[b])
            if np.abs(shipped[y, x] - expect).max() <= 3:  # not crossed by another limb there
                assert np.abs(ours[y, x] - expect).max() <= 3, (a, b)
                checked += 1
    assert checked >= 10
    # what we draw is drawn there too (the shipped file also shows the hands, which we do not)
    drawn_ours, drawn_shipped = ours.sum(axis=2) > 0, shipped.sum(axis=2) > 0
    precision = (drawn_ours & drawn_shipped).sum() / drawn_ours.sum()
    assert precision > 0.85, precision


def test_blazepose_mapping_synthesises_neck_and_mid_hip():
    lm = np.zeros((33, 3), np.float32)
    names = {n: i for i, n in enumerate(BLAZEPOSE_LANDMARKS)}
    lm[names["left_shoulder"]] = (0.6, 0.3, 0.99)
    lm[names["right_shoulder"]] = (0.4, 0.3, 0.9)
    lm[names["left_hip"]] = (0.58, 0.7, 0.95)
    lm[names["right_hip"]] = (0.42, 0.7, 0.3)  # below min_visibility
    lm[names["nose"]] = (0.5, 0.1, 0.99)
    lm[names["left_wrist"]] = (1.2, 0.5, 0.99)  # outside the image
    kps = blazepose_to_body25(lm, (1000, 500))
    assert kps.shape == (25, 3) and kps.dtype == np.float32
    np.testing.assert_allclose(kps[5], (300, 300, 0.99), rtol=1e-5)  # left shoulder
    np.testing.assert_allclose(kps[2], (200, 300, 0.9), rtol=1e-5)
    np.testing.assert_allclose(kps[1], (250, 300, 0.9), rtol=1e-5)  # neck = mid-shoulder
    assert kps[9, 2] == 0 and kps[8, 2] == 0  # right hip missing -> no mid-hip
    assert kps[7, 2] == 0 and kps[0, 2] > 0
    coco = blazepose_to_coco18(lm, (1000, 500))
    assert coco.shape == (18, 3) and coco[1, 0] == 250


@pytest.fixture(scope="module")
def mediapipe_pose():
    from pgdata.backends.mediapipe_pose import MediaPipePose, mediapipe_available

    if not mediapipe_available():
        pytest.skip("mediapipe extra not installed: pip install 'pgdata[mediapipe]'")
    with MediaPipePose() as est:
        yield est


def test_mediapipe_on_a_real_photo_agrees_with_openpose(tryon_data, mediapipe_pose):
    d = tryon_data / HR
    rgb = np.array(Image.open(d / "image" / "00006_00.jpg").convert("RGB"))
    kps = mediapipe_pose.estimate(rgb)
    assert kps is not None and kps.shape == (25, 3)
    openpose = read_openpose(d / "openpose_json" / "00006_00_keypoints.json")[0]
    # the joints OpenPose found confidently, within 5 % of the image height
    for j in (0, 1, 2, 3, 4, 5):
        assert kps[j, 2] > 0, j
        dist = np.linalg.norm(kps[j, :2] - openpose[j, :2])
        assert dist < 0.05 * rgb.shape[0], (j, dist)
    assert kps[8, 2] > 0 and abs(kps[8, 1] - openpose[8, 1]) < 0.06 * rgb.shape[0]


def test_mediapipe_finds_nobody_in_a_blank_image(mediapipe_pose):
    assert mediapipe_pose.estimate(np.full((256, 192, 3), 255, np.uint8)) is None
