"""Named constants: joint orders, flip pairs, limbs, colours and human-parsing label ids.

Every table here is written once and tested against the reference description in
``shared/reference/datasets.md`` and ``tryon.md``. Never hard-code a joint index or a
label id elsewhere: import it from here.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "BODY25_FLIP_PAIRS",
    "BODY25_JOINTS",
    "BODY25_LIMBS",
    "CIHP_FLIP_PAIRS",
    "CIHP_LABELS",
    "CIHP_PALETTE",
    "COCO18_COLORS",
    "COCO18_FLIP_PAIRS",
    "COCO18_JOINTS",
    "COCO18_LIMBS",
    "COCO18_TO_BODY25",
    "J",
    "TORSO_JOINTS",
    "flip_permutation",
]

# --- COCO-18 (OpenPose COCO model order, as in every PATN/GFLA/DPTN/pose-gan file) -----------
# Index 14/16 are the *right* eye/ear (the LABELS list in the PATN code names them wrongly;
# the data puts 14 on the same image side as the right shoulder).
COCO18_JOINTS: Final[tuple[str, ...]] = (
    "nose",
    "neck",
    "right_shoulder",
    "right_elbow",
    "right_wrist",
    "left_shoulder",
    "left_elbow",
    "left_wrist",
    "right_hip",
    "right_knee",
    "right_ankle",
    "left_hip",
    "left_knee",
    "left_ankle",
    "right_eye",
    "left_eye",
    "right_ear",
    "left_ear",
)


class J:
    """COCO-18 joint indices by name (``J.RSHO == 2``)."""

    NOSE: Final = 0
    NECK: Final = 1
    RSHO: Final = 2
    RELB: Final = 3
    RWRI: Final = 4
    LSHO: Final = 5
    LELB: Final = 6
    LWRI: Final = 7
    RHIP: Final = 8
    RKNE: Final = 9
    RANK: Final = 10
    LHIP: Final = 11
    LKNE: Final = 12
    LANK: Final = 13
    REYE: Final = 14
    LEYE: Final = 15
    REAR: Final = 16
    LEAR: Final = 17


# The pair rule of pose-gan / PATN keeps an image only when these four joints are present.
TORSO_JOINTS: Final[tuple[int, ...]] = (J.RSHO, J.LSHO, J.RHIP, J.LHIP)

COCO18_FLIP_PAIRS: Final[tuple[tuple[int, int], ...]] = (
    (2, 5),
    (3, 6),
    (4, 7),
    (8, 11),
    (9, 12),
    (10, 13),
    (14, 15),
    (16, 17),
)

# PATN/GFLA ``LIMB_SEQ`` (0-based): the last two join each shoulder to the same-side ear.
COCO18_LIMBS: Final[tuple[tuple[int, int], ...]] = (
    (1, 2),
    (1, 5),
    (2, 3),
    (3, 4),
    (5, 6),
    (6, 7),
    (1, 8),
    (8, 9),
    (9, 10),
    (1, 11),
    (11, 12),
    (12, 13),
    (1, 0),
    (0, 14),
    (14, 16),
    (0, 15),
    (15, 17),
    (2, 16),
    (5, 17),
)

# PATN/GFLA ``COLORS``, RGB, one per COCO-18 joint.
COCO18_COLORS: Final[tuple[tuple[int, int, int], ...]] = (
    (255, 0, 0),
    (255, 85, 0),
    (255, 170, 0),
    (255, 255, 0),
    (170, 255, 0),
    (85, 255, 0),
    (0, 255, 0),
    (0, 255, 85),
    (0, 255, 170),
    (0, 255, 255),
    (0, 170, 255),
    (0, 85, 255),
    (0, 0, 255),
    (85, 0, 255),
    (170, 0, 255),
    (255, 0, 255),
    (255, 0, 170),
    (255, 0, 85),
)

# --- BODY_25 (OpenPose default model) ----------------------------------------------------------
BODY25_JOINTS: Final[tuple[str, ...]] = (
    "nose",
    "neck",
    "right_shoulder",
    "right_elbow",
    "right_wrist",
    "left_shoulder",
    "left_elbow",
    "left_wrist",
    "mid_hip",
    "right_hip",
    "right_knee",
    "right_ankle",
    "left_hip",
    "left_knee",
    "left_ankle",
    "right_eye",
    "left_eye",
    "right_ear",
    "left_ear",
    "left_big_toe",
    "left_small_toe",
    "left_heel",
    "right_big_toe",
    "right_small_toe",
    "right_heel",
)

# COCO-18 joint i is BODY_25 joint COCO18_TO_BODY25[i]; BODY_25 mid_hip (8) and the six foot
# joints (19-24) have no COCO-18 counterpart.
COCO18_TO_BODY25: Final[tuple[int, ...]] = (
    0,
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    9,
    10,
    11,
    12,
    13,
    14,
    15,
    16,
    17,
    18,
)
BODY25_MID_HIP: Final = 8
BODY25_RHIP: Final = 9
BODY25_LHIP: Final = 12

BODY25_FLIP_PAIRS: Final[tuple[tuple[int, int], ...]] = (
    (2, 5),
    (3, 6),
    (4, 7),
    (9, 12),
    (10, 13),
    (11, 14),
    (15, 16),
    (17, 18),
    (19, 22),
    (20, 23),
    (21, 24),
)

# OpenPose ``POSE_BODY_25_PAIRS_RENDER``.
BODY25_LIMBS: Final[tuple[tuple[int, int], ...]] = (
    (1, 8),
    (1, 2),
    (1, 5),
    (2, 3),
    (3, 4),
    (5, 6),
    (6, 7),
    (8, 9),
    (9, 10),
    (10, 11),
    (8, 12),
    (12, 13),
    (13, 14),
    (1, 0),
    (0, 15),
    (15, 17),
    (0, 16),
    (16, 18),
    (14, 19),
    (19, 20),
    (14, 21),
    (11, 22),
    (22, 23),
    (11, 24),
)

# --- Human parsing: CIHP / LIP 20-label scheme ---------------------------------------------------
# Left/right are the person's sides. Id 10 is "torso-skin" in CIHP and holds the neck in VITON-HD.
CIHP_LABELS: Final[tuple[str, ...]] = (
    "background",
    "hat",
    "hair",
    "glove",
    "sunglasses",
    "upper_clothes",
    "dress",
    "coat",
    "socks",
    "pants",
    "torso_skin",
    "scarf",
    "skirt",
    "face",
    "left_arm",
    "right_arm",
    "left_leg",
    "right_leg",
    "left_shoe",
    "right_shoe",
)
CIHP_FLIP_PAIRS: Final[tuple[tuple[int, int], ...]] = ((14, 15), (16, 17), (18, 19))

# The palette VITON-HD's image-parse PNGs carry (CIHP_PGN colours with 255->254, 170->169,
# 221->220), flattened to 768 bytes: ids 20..255 are grey (i, i, i).
_CIHP_COLOURS: Final[tuple[tuple[int, int, int], ...]] = (
    (0, 0, 0),
    (128, 0, 0),
    (254, 0, 0),
    (0, 85, 0),
    (169, 0, 51),
    (254, 85, 0),
    (0, 0, 85),
    (0, 119, 220),
    (85, 85, 0),
    (0, 85, 85),
    (85, 51, 0),
    (52, 86, 128),
    (0, 128, 0),
    (0, 0, 254),
    (51, 169, 220),
    (0, 254, 254),
    (85, 254, 169),
    (169, 254, 85),
    (254, 254, 0),
    (254, 169, 0),
)
CIHP_PALETTE: Final[bytes] = bytes(
    [c for rgb in _CIHP_COLOURS for c in rgb] + [i for i in range(20, 256) for _ in range(3)]
)


def flip_permutation(n_joints: int, pairs: tuple[tuple[int, int], ...]) -> tuple[int, ...]:
    """Return the index permutation that swaps every (left, right) pair: ``flipped = kps[perm]``."""
    perm = list(range(n_joints))
    for a, b in pairs:
        perm[a], perm[b] = b, a
    return tuple(perm)
