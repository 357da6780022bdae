"""Named constants: joint orders, flip pairs, limbs, colours and human-parsing label ids.

Every table here is written once and tested against the reference description in
``shared/reference/datasets.md`` and ``tryon.md``. Never hard-code a joint index or a
label id elsewhere: import it from here.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "AGNOSTIC_HEAD_LABELS",
    "AGNOSTIC_LOWER_LABELS",
    "ATR_LABELS",
    "ATR_TO_CIHP",
    "BLAZEPOSE_LANDMARKS",
    "BLAZEPOSE_TO_BODY25",
    "BODY25_COLORS",
    "BODY25_FLIP_PAIRS",
    "BODY25_JOINTS",
    "BODY25_LHIP",
    "BODY25_LIMBS",
    "BODY25_LSHO",
    "BODY25_MID_HIP",
    "BODY25_NECK",
    "BODY25_RHIP",
    "BODY25_RSHO",
    "CIHP_FLIP_PAIRS",
    "CIHP_LABELS",
    "CIHP_PALETTE",
    "COCO18_COLORS",
    "COCO18_FLIP_PAIRS",
    "COCO18_JOINTS",
    "COCO18_LIMBS",
    "COCO18_TO_BODY25",
    "DENSEPOSE_PARTS",
    "DENSEPOSE_PARULA",
    "HRVITON_7_GROUPS",
    "HRVITON_13_GROUPS",
    "J",
    "LIP_LABELS",
    "LIP_TO_CIHP",
    "PARSE_AGNOSTIC_CLEARED",
    "PASCAL_PERSON_PART_LABELS",
    "PASCAL_TO_CIHP",
    "SCHEMES",
    "TORSO_JOINTS",
    "VOC_PALETTE",
    "P",
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
BODY25_NECK: Final = 1
BODY25_RSHO: Final = 2
BODY25_LSHO: Final = 5
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


# --- Try-on (VITON-HD / HR-VITON): parsing schemes, groupings, renderings ----------------------
# Source of every table below: shared/reference/tryon.md §3 (label tables after
# GoGoDuck912/Self-Correction-Human-Parsing ``simple_extractor.py``), §5 and §6.


class P:
    """CIHP / VITON-HD parsing label ids by name (``P.UPPER_CLOTHES == 5``); id 10 is the neck."""

    BACKGROUND: Final = 0
    HAT: Final = 1
    HAIR: Final = 2
    GLOVE: Final = 3
    SUNGLASSES: Final = 4
    UPPER_CLOTHES: Final = 5
    DRESS: Final = 6
    COAT: Final = 7
    SOCKS: Final = 8
    PANTS: Final = 9
    NECK: Final = 10
    SCARF: Final = 11
    SKIRT: Final = 12
    FACE: Final = 13
    LEFT_ARM: Final = 14
    RIGHT_ARM: Final = 15
    LEFT_LEG: Final = 16
    RIGHT_LEG: Final = 17
    LEFT_SHOE: Final = 18
    RIGHT_SHOE: Final = 19


# LIP differs from CIHP only in id 10 (jumpsuits instead of torso-skin / neck).
LIP_LABELS: Final[tuple[str, ...]] = CIHP_LABELS[:10] + ("jumpsuits",) + CIHP_LABELS[11:]

ATR_LABELS: Final[tuple[str, ...]] = (
    "background",
    "hat",
    "hair",
    "sunglasses",
    "upper_clothes",
    "skirt",
    "pants",
    "dress",
    "belt",
    "left_shoe",
    "right_shoe",
    "face",
    "left_leg",
    "right_leg",
    "left_arm",
    "right_arm",
    "bag",
    "scarf",
)

PASCAL_PERSON_PART_LABELS: Final[tuple[str, ...]] = (
    "background",
    "head",
    "torso",
    "upper_arms",
    "lower_arms",
    "upper_legs",
    "lower_legs",
)

# Scheme id -> VITON-HD (CIHP) id. Same-named labels map one to one; the rest is a pgdata choice:
# LIP jumpsuits -> dress (the one-piece garment id); ATR belt -> pants, bag -> background.
# Neither LIP nor ATR has a neck, so their maps never contain id 10.
LIP_TO_CIHP: Final[tuple[int, ...]] = (
    0,
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    8,
    9,
    6,
    11,
    12,
    13,
    14,
    15,
    16,
    17,
    18,
    19,
)
ATR_TO_CIHP: Final[tuple[int, ...]] = (
    0,
    1,
    2,
    4,
    5,
    12,
    9,
    6,
    9,
    18,
    19,
    13,
    16,
    17,
    14,
    15,
    0,
    11,
)
# Pascal-Person-Part has neither garments nor sides: head -> face, torso -> upper-clothes, arms ->
# left arm and legs -> left leg here; ``pgdata.stages.parsing.split_sides`` then gives the pixels
# on the image left of the body's centre line the person's *right* ids (frontal photos).
PASCAL_TO_CIHP: Final[tuple[int, ...]] = (0, 13, 5, 14, 14, 16, 16)

# scheme name -> (label names, table to VITON-HD ids)
SCHEMES: Final[dict[str, tuple[tuple[str, ...], tuple[int, ...]]]] = {
    "cihp": (CIHP_LABELS, tuple(range(20))),
    "lip": (LIP_LABELS, LIP_TO_CIHP),
    "atr": (ATR_LABELS, ATR_TO_CIHP),
    "pascal": (PASCAL_PERSON_PART_LABELS, PASCAL_TO_CIHP),
}

# HR-VITON / VITON-HD ``--semantic_nc 13``: channel -> (name, CIHP ids summed into it).
HRVITON_13_GROUPS: Final[tuple[tuple[str, tuple[int, ...]], ...]] = (
    ("background", (0, 10)),
    ("hair", (1, 2)),
    ("face", (4, 13)),
    ("upper", (5, 6, 7)),
    ("bottom", (9, 12)),
    ("left_arm", (14,)),
    ("right_arm", (15,)),
    ("left_leg", (16,)),
    ("right_leg", (17,)),
    ("left_shoe", (18,)),
    ("right_shoe", (19,)),
    ("socks", (8,)),
    ("noise", (3, 11)),
)
# The generator's regrouping into 7 channels: channel -> (name, 13-channel indices).
HRVITON_7_GROUPS: Final[tuple[tuple[str, tuple[int, ...]], ...]] = (
    ("background", (0,)),
    ("paste", (2, 4, 7, 8, 9, 10, 11)),
    ("upper", (3,)),
    ("hair", (1,)),
    ("left_arm", (5,)),
    ("right_arm", (6,)),
    ("noise", (12,)),
)

# HR-VITON ``get_agnostic``: pasted back from the original photo (hair is not protected).
AGNOSTIC_HEAD_LABELS: Final[tuple[int, ...]] = (P.SUNGLASSES, P.FACE)
AGNOSTIC_LOWER_LABELS: Final[tuple[int, ...]] = (
    P.PANTS,
    P.SKIRT,
    P.LEFT_LEG,
    P.RIGHT_LEG,
    P.LEFT_SHOE,
    P.RIGHT_SHOE,
)
# ``get_parse_agnostic``: ids set to background everywhere (upper clothes, dress, coat, neck).
PARSE_AGNOSTIC_CLEARED: Final[tuple[int, ...]] = (P.UPPER_CLOTHES, P.DRESS, P.COAT, P.NECK)


def _voc_palette() -> bytes:
    # the PASCAL VOC bit-interleaved colour map SCHP's ``get_palette`` writes (768 bytes)
    out = []
    for i in range(256):
        r = g = b = 0
        c = i
        for k in range(8):
            r |= ((c >> 0) & 1) << (7 - k)
            g |= ((c >> 1) & 1) << (7 - k)
            b |= ((c >> 2) & 1) << (7 - k)
            c >>= 3
        out += [r, g, b]
    return bytes(out)


VOC_PALETTE: Final[bytes] = _voc_palette()

# OpenPose ``POSE_BODY_25_COLORS_RENDER``, RGB, one per BODY_25 joint; a limb takes the colour
# of its second joint.
BODY25_COLORS: Final[tuple[tuple[int, int, int], ...]] = (
    (255, 0, 85),
    (255, 0, 0),
    (255, 85, 0),
    (255, 170, 0),
    (255, 255, 0),
    (170, 255, 0),
    (85, 255, 0),
    (0, 255, 0),
    (255, 0, 0),
    (0, 255, 85),
    (0, 255, 170),
    (0, 255, 255),
    (0, 170, 255),
    (0, 85, 255),
    (0, 0, 255),
    (255, 0, 170),
    (170, 0, 255),
    (255, 0, 255),
    (85, 0, 255),
    (0, 0, 255),
    (0, 0, 255),
    (0, 0, 255),
    (0, 255, 255),
    (0, 255, 255),
    (0, 255, 255),
)

# DensePose fine parts I = 1..24 (index 0 = background).
DENSEPOSE_PARTS: Final[tuple[str, ...]] = (
    "background",
    "torso_back",
    "torso_front",
    "right_hand",
    "left_hand",
    "left_foot",
    "right_foot",
    "right_upper_leg_back",
    "left_upper_leg_back",
    "right_upper_leg_front",
    "left_upper_leg_front",
    "right_lower_leg_back",
    "left_lower_leg_back",
    "right_lower_leg_front",
    "left_lower_leg_front",
    "left_upper_arm_inside",
    "right_upper_arm_inside",
    "left_upper_arm_outside",
    "right_upper_arm_outside",
    "left_lower_arm_inside",
    "right_lower_arm_inside",
    "left_lower_arm_outside",
    "right_lower_arm_outside",
    "head_right",
    "head_left",
)
# ``image-densepose`` colour of part I (RGB): OpenCV PARULA at uint8(I * 255 / 24); index 0 black.
DENSEPOSE_PARULA: Final[tuple[tuple[int, int, int], ...]] = (
    (0, 0, 0),
    (37, 60, 163),
    (20, 80, 194),
    (4, 97, 223),
    (8, 110, 221),
    (14, 122, 216),
    (20, 132, 212),
    (15, 144, 208),
    (11, 156, 203),
    (6, 166, 198),
    (22, 173, 185),
    (38, 179, 172),
    (55, 185, 159),
    (86, 187, 144),
    (114, 189, 130),
    (145, 191, 116),
    (170, 189, 105),
    (192, 188, 96),
    (216, 186, 86),
    (228, 192, 74),
    (240, 199, 60),
    (252, 206, 46),
    (251, 220, 36),
    (250, 235, 25),
    (249, 251, 14),
)

# MediaPipe BlazePose's 33 landmarks.
BLAZEPOSE_LANDMARKS: Final[tuple[str, ...]] = (
    "nose",
    "left_eye_inner",
    "left_eye",
    "left_eye_outer",
    "right_eye_inner",
    "right_eye",
    "right_eye_outer",
    "left_ear",
    "right_ear",
    "mouth_left",
    "mouth_right",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_pinky",
    "right_pinky",
    "left_index",
    "right_index",
    "left_thumb",
    "right_thumb",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
    "left_heel",
    "right_heel",
    "left_foot_index",
    "right_foot_index",
)
# BODY_25 joint j is BlazePose landmark BLAZEPOSE_TO_BODY25[j]; -1 = no counterpart. Neck (1) and
# mid-hip (8) are synthesised as the midpoints of the shoulders and of the hips; the small toes
# (20, 23) have no BlazePose landmark; the big toes are BlazePose's foot index points.
BLAZEPOSE_TO_BODY25: Final[tuple[int, ...]] = (
    0,
    -1,
    12,
    14,
    16,
    11,
    13,
    15,
    -1,
    24,
    26,
    28,
    23,
    25,
    27,
    5,
    2,
    8,
    7,
    31,
    -1,
    29,
    32,
    -1,
    30,
)
