"""Everything about body keypoints in one import: ``from pgdata import pose``.

Joint tables and flip pairs (:mod:`pgdata.labels`), layout conversion, resize and flip
(:mod:`pgdata.stages.keypoints`), heatmaps (:mod:`pgdata.stages.heatmaps`), skeleton drawing
(:mod:`pgdata.stages.draw`), and the PATN CSV and OpenPose JSON readers and writers
(:mod:`pgdata.io.pose_csv`, :mod:`pgdata.io.openpose`).

Keypoints are float32 ``(..., J, 3)`` arrays of x, y, confidence in pixels; confidence 0 means
missing. J = 18 (COCO-18, OpenPose COCO order) or 25 (BODY_25).
"""

from pgdata.io.openpose import best_person, read_openpose, write_openpose
from pgdata.io.pose_csv import (
    Annotations,
    read_annotations,
    read_pairs,
    write_annotations,
    write_pairs,
)
from pgdata.labels import (
    BODY25_FLIP_PAIRS,
    BODY25_JOINTS,
    BODY25_LIMBS,
    COCO18_COLORS,
    COCO18_FLIP_PAIRS,
    COCO18_JOINTS,
    COCO18_LIMBS,
    COCO18_TO_BODY25,
    TORSO_JOINTS,
    J,
)
from pgdata.stages.draw import draw_skeleton, overlay_skeleton
from pgdata.stages.heatmaps import DEFAULT_SIGMA, render_heatmaps, render_heatmaps_torch
from pgdata.stages.keypoints import (
    body25_to_coco18,
    coco18_to_body25,
    crop_resize_yx_reference,
    flip_keypoints,
    present,
    resize_keypoints,
    xyc_to_yx,
    yx_to_xyc,
)

__all__ = [
    "BODY25_FLIP_PAIRS",
    "BODY25_JOINTS",
    "BODY25_LIMBS",
    "COCO18_COLORS",
    "COCO18_FLIP_PAIRS",
    "COCO18_JOINTS",
    "COCO18_LIMBS",
    "COCO18_TO_BODY25",
    "DEFAULT_SIGMA",
    "TORSO_JOINTS",
    "Annotations",
    "J",
    "best_person",
    "body25_to_coco18",
    "coco18_to_body25",
    "crop_resize_yx_reference",
    "draw_skeleton",
    "flip_keypoints",
    "overlay_skeleton",
    "present",
    "read_annotations",
    "read_openpose",
    "read_pairs",
    "render_heatmaps",
    "render_heatmaps_torch",
    "resize_keypoints",
    "write_annotations",
    "write_openpose",
    "write_pairs",
    "xyc_to_yx",
    "yx_to_xyc",
]
