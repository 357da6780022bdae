import numpy as np

from pgdata.labels import COCO18_COLORS
from pgdata.stages.draw import draw_skeleton, overlay_skeleton


def test_joints_in_their_colours_limbs_in_grey_missing_not_drawn():
    kps = np.zeros((18, 3), np.float32)
    kps[1] = (50, 20, 1)  # neck
    kps[2] = (30, 24, 1)  # right shoulder
    kps[5] = (70, 24, 0)  # left shoulder missing
    img, mask = draw_skeleton(kps, (100, 100))
    assert tuple(img[20, 50]) == COCO18_COLORS[1]
    assert tuple(img[24, 30]) == COCO18_COLORS[2]
    assert not img[24, 70].any()
    mid = img[22, 40]
    assert mid[0] == mid[1] == mid[2] and mid[0] > 0  # the 1-2 limb, grey
    assert mask.sum() == (img.sum(axis=2) > 0).sum()
    assert not img[60:].any()


def test_overlay_keeps_image_outside_the_skeleton():
    rgb = np.full((64, 48, 3), 200, np.uint8)
    kps = np.zeros((18, 3), np.float32)
    kps[0] = (10, 10, 1)
    out = overlay_skeleton(rgb, kps)
    assert tuple(out[10, 10]) == COCO18_COLORS[0]
    assert (out[40:] == 200).all() and (rgb == 200).all()
