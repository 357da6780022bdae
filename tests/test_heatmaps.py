import numpy as np
import pytest
import torch

from pgdata.io.pose_csv import read_annotations
from pgdata.stages.heatmaps import render_heatmaps, render_heatmaps_torch
from pgdata.stages.keypoints import yx_to_xyc

from .conftest import random_keypoints


def reference_cords_to_map(
    yx: np.ndarray, size_hw: tuple[int, int], sigma: float = 6
) -> np.ndarray:
    """The PATN formula as datasets.md §7 states it: (H, W, 18) float32, per joint, full grid."""
    result = np.zeros(size_hw + (len(yx),), dtype=np.float32)
    for i, (y, x) in enumerate(yx):
        if y == -1 or x == -1:
            continue
        xx, yy = np.meshgrid(np.arange(size_hw[1]), np.arange(size_hw[0]))
        result[..., i] = np.exp(-((yy - y) ** 2 + (xx - x) ** 2) / (2 * sigma**2))
    return result


@pytest.mark.parametrize("size_hw", [(256, 176), (128, 64), (37, 53)])
def test_numpy_renderer_equals_reference_formula(size_hw):
    kps = random_keypoints(np.random.default_rng(0), 4, size_hw)
    for one in kps:
        yx = np.where(one[:, 2:3] > 0, one[:, [1, 0]], -1).astype(int)
        ref = reference_cords_to_map(yx, size_hw)
        got = render_heatmaps(one, size_hw, channels_last=True)
        assert got.dtype == np.float32 and got.shape == ref.shape
        np.testing.assert_allclose(got, ref, rtol=0, atol=1e-6)
        np.testing.assert_array_equal(render_heatmaps(one, size_hw), got.transpose(2, 0, 1))


def test_torch_batch_equals_reference_formula():
    size_hw = (256, 176)
    kps = random_keypoints(np.random.default_rng(1), 6, size_hw)
    got = render_heatmaps_torch(torch.from_numpy(kps), size_hw)
    assert got.dtype == torch.float32 and tuple(got.shape) == (6, 18, 256, 176)
    for b, one in enumerate(kps):
        yx = np.where(one[:, 2:3] > 0, one[:, [1, 0]], -1).astype(int)
        ref = reference_cords_to_map(yx, size_hw).transpose(2, 0, 1)
        np.testing.assert_allclose(got[b].numpy(), ref, rtol=0, atol=1e-6)


def test_off_integer_and_off_canvas_joints():
    kps = np.zeros((18, 3), np.float32)
    kps[0] = (10.5, 20.25, 1)
    kps[1] = (-5, 300, 1)  # outside: a faint tail, never an error
    got = render_heatmaps(kps, (64, 32))
    yy, xx = np.mgrid[0:64, 0:32]
    expected0 = np.exp(-((yy - 20.25) ** 2 + (xx - 10.5) ** 2) / 72)
    np.testing.assert_allclose(got[0], expected0, atol=1e-6)
    assert got[1].max() < 1e-6
    t = render_heatmaps_torch(torch.from_numpy(kps[None]), (64, 32))[0].numpy()
    np.testing.assert_allclose(t, got, atol=1e-6)


def test_second_row_of_published_file(deepfashion_data):
    ann = read_annotations(deepfashion_data / "defgan_myeongjun2" / "fasion-annotation-test.csv")
    kps = yx_to_xyc(ann.yx[1])
    maps = render_heatmaps(kps, (256, 256))
    peaks = maps.reshape(18, -1).max(axis=1)
    assert sorted(np.flatnonzero(peaks == 0).tolist()) == [9, 10, 12, 13, 16]
    assert int((peaks == np.float32(1.0)).sum()) == 13
    quirk = render_heatmaps(kps, (256, 256), patn_uint8_quirk=True)
    assert (np.count_nonzero(quirk.reshape(18, -1), axis=1) == (peaks > 0)).all()


def test_missing_joint_gives_zero_channel_and_batch_equals_loop():
    kps = random_keypoints(np.random.default_rng(3), 5, (40, 30), p_missing=0.5)
    batch = render_heatmaps_torch(torch.from_numpy(kps), (40, 30)).numpy()
    for b in range(5):
        np.testing.assert_allclose(batch[b], render_heatmaps(kps[b], (40, 30)), atol=1e-6)
        for j in np.flatnonzero(kps[b, :, 2] == 0):
            assert not batch[b, j].any()


def test_bad_shapes_raise():
    with pytest.raises(ValueError):
        render_heatmaps(np.zeros((18, 2)), (10, 10))
    with pytest.raises(ValueError):
        render_heatmaps_torch(torch.zeros(18, 3), (10, 10))
