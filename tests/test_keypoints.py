import numpy as np
import pytest

from pgdata.io.pose_csv import read_annotations
from pgdata.labels import COCO18_FLIP_PAIRS
from pgdata.stages.keypoints import (
    body25_to_coco18,
    coco18_to_body25,
    crop_resize_yx_reference,
    flip_keypoints,
    resize_keypoints,
    xyc_to_yx,
    yx_to_xyc,
)

from .conftest import random_keypoints


def test_yx_xyc_round_trip_and_missing_marker():
    yx = np.array([[[10, 20], [-1, -1], [5, -1], [0, 0]] + [[1, 2]] * 14])
    kps = yx_to_xyc(yx)
    assert kps.dtype == np.float32 and kps.shape == (1, 18, 3)
    assert kps[0, 0].tolist() == [20, 10, 1]
    assert kps[0, 1].tolist() == [0, 0, 0]
    assert kps[0, 2].tolist() == [0, 0, 0]  # one coordinate -1 -> missing, as the reference tests
    assert kps[0, 3].tolist() == [0, 0, 1]  # (0, 0) is a real pixel in this format
    back = xyc_to_yx(kps)
    expected = yx.copy()
    expected[0, 2] = -1
    np.testing.assert_array_equal(back, expected)


def test_coco18_body25_round_trip_is_exact():
    kps = random_keypoints(np.random.default_rng(0), 50, (256, 176))
    np.testing.assert_array_equal(body25_to_coco18(coco18_to_body25(kps)), kps)


def test_body25_round_trip_keeps_all_but_mid_hip_and_feet():
    rng = np.random.default_rng(1)
    b25 = np.concatenate([rng.uniform(1, 100, (25, 2)), np.ones((25, 1))], axis=1).astype(
        np.float32
    )
    again = coco18_to_body25(body25_to_coco18(b25))
    keep = [i for i in range(25) if i != 8 and i < 19]
    np.testing.assert_array_equal(again[keep], b25[keep])
    assert (again[19:] == 0).all()
    np.testing.assert_allclose(again[8, :2], (b25[9, :2] + b25[12, :2]) / 2)


def test_mid_hip_missing_unless_both_hips_present():
    kps = np.zeros((18, 3), np.float32)
    kps[8] = (10, 20, 0.9)
    assert coco18_to_body25(kps)[8].tolist() == [0, 0, 0]
    kps[11] = (30, 40, 0.5)
    assert coco18_to_body25(kps)[8].tolist() == pytest.approx([20, 30, 0.5])


def test_conversion_rejects_wrong_layout():
    with pytest.raises(ValueError, match="18, 3"):
        coco18_to_body25(np.zeros((25, 3)))
    with pytest.raises(ValueError, match="25, 3"):
        body25_to_coco18(np.zeros((18, 3)))


@pytest.mark.parametrize("n_joints", [18, 25])
def test_flip_twice_is_identity(n_joints):
    rng = np.random.default_rng(2)
    kps = random_keypoints(rng, 20, (256, 176))
    if n_joints == 25:
        kps = coco18_to_body25(kps)
    np.testing.assert_array_equal(flip_keypoints(flip_keypoints(kps, 176), 176), kps)


def test_flip_mirrors_x_and_swaps_sides():
    kps = np.zeros((18, 3), np.float32)
    kps[2] = (10, 50, 1)  # right shoulder near the left image edge
    kps[0] = (88, 20, 1)
    out = flip_keypoints(kps, 176)
    assert out[5].tolist() == [165, 50, 1]  # now the left shoulder, mirrored
    assert out[2].tolist() == [0, 0, 0]  # the missing left shoulder moved to the right slot
    assert out[0].tolist() == [87, 20, 1]
    for a, b in COCO18_FLIP_PAIRS:
        assert out[a, 2] == kps[b, 2]


def test_flip_matches_flipped_image_pixels():
    img = np.zeros((8, 10), np.uint8)
    img[3, 2] = 255
    kps = np.zeros((18, 3), np.float32)
    kps[0] = (2, 3, 1)
    flipped = flip_keypoints(kps, 10)
    y, x = np.argwhere(img[:, ::-1] == 255)[0]
    assert (flipped[0, 0], flipped[0, 1]) == (x, y)


def test_resize_keeps_missing_missing():
    kps = np.zeros((1, 18, 3), np.float32)
    kps[0, 0] = (100, 200, 1)
    out = resize_keypoints(kps, (256, 176), (128, 88))
    assert out[0, 0].tolist() == [50, 100, 1]
    assert (out[0, 1:] == 0).all()


def test_reference_crop_on_hand_values():
    yx = np.array([[[5, 39], [5, 40], [5, 10], [-1, -1], [7, 216]] + [[0, 100]] * 13])
    out = crop_resize_yx_reference(yx, crop_x=40, ratio_y=1.0, ratio_x=1.0)
    assert out[0, :5].tolist() == [[5, -1], [5, 0], [5, -30], [-1, -1], [7, 176]]


def test_reference_crop_quirks_on_published_file(deepfashion_data):
    ann = read_annotations(deepfashion_data / "defgan_myeongjun2" / "fasion-annotation-test.csv")
    out = crop_resize_yx_reference(ann.yx, crop_x=40, ratio_y=1.0, ratio_x=1.0)
    was_present = ann.yx[..., 1] != -1
    x = out[..., 1]
    negative = was_present & (x < 0)
    assert int(negative.sum()) == 14
    assert int((was_present & (x == -1)).sum()) == 1  # raw x == 39: a false "missing"
    assert int((was_present & (x >= 176)).sum()) == 15
    assert int((negative | (was_present & (x >= 176))).any(axis=1).sum()) == 28
