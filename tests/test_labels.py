from pgdata import labels
from pgdata.labels import J


def test_joint_tables_have_reference_lengths_and_order():
    assert len(labels.COCO18_JOINTS) == 18
    assert len(labels.BODY25_JOINTS) == 25
    assert len(labels.COCO18_LIMBS) == 19
    assert len(labels.COCO18_COLORS) == 18
    # 14/16 are the right eye/ear (datasets.md §7), unlike the PATN code's LABELS list
    assert labels.COCO18_JOINTS[14] == "right_eye" and labels.COCO18_JOINTS[16] == "right_ear"
    assert (J.RSHO, J.LSHO, J.RHIP, J.LHIP) == labels.TORSO_JOINTS == (2, 5, 8, 11)


def test_coco18_to_body25_maps_same_named_joints():
    for coco_i, body_i in enumerate(labels.COCO18_TO_BODY25):
        assert labels.COCO18_JOINTS[coco_i] == labels.BODY25_JOINTS[body_i]


def _swap_side(name: str) -> str:
    if name.startswith("left_"):
        return "right_" + name[5:]
    if name.startswith("right_"):
        return "left_" + name[6:]
    return name


def test_flip_pairs_join_left_and_right_of_the_same_joint():
    for names, pairs in (
        (labels.COCO18_JOINTS, labels.COCO18_FLIP_PAIRS),
        (labels.BODY25_JOINTS, labels.BODY25_FLIP_PAIRS),
    ):
        for a, b in pairs:
            assert _swap_side(names[a]) == names[b]
        sided = [i for i, n in enumerate(names) if n.startswith(("left_", "right_"))]
        assert sorted(i for p in pairs for i in p) == sorted(sided)


def test_flip_permutation_is_an_involution():
    perm = labels.flip_permutation(18, labels.COCO18_FLIP_PAIRS)
    assert [perm[p] for p in perm] == list(range(18))
    assert perm[2] == 5 and perm[14] == 15


def test_cihp_palette_matches_viton_hd():
    pal = labels.CIHP_PALETTE
    assert len(pal) == 768
    assert tuple(pal[3 * 2 : 3 * 2 + 3]) == (254, 0, 0)
    assert tuple(pal[3 * 14 : 3 * 14 + 3]) == (51, 169, 220)
    assert tuple(pal[3 * 19 : 3 * 19 + 3]) == (254, 169, 0)
    assert tuple(pal[3 * 200 : 3 * 200 + 3]) == (200, 200, 200)
    assert labels.CIHP_LABELS[10] == "torso_skin" and labels.CIHP_LABELS[14] == "left_arm"
