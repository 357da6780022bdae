import numpy as np
import pandas as pd
import pytest

from pgdata.io.pose_csv import read_annotations, read_pairs
from pgdata.stages.keypoints import yx_to_xyc
from pgdata.stages.pairs import PairRule, group_key, keep_mask, make_pairs, sample_rows


def _kps(n: int, drop: dict[int, list[int]] | None = None) -> np.ndarray:
    kps = np.ones((n, 18, 3), np.float32)
    for row, joints in (drop or {}).items():
        kps[row, joints] = 0
    return kps


def test_keep_rule_needs_both_shoulders_and_hips():
    names = [f"{i:04d}x_a.jpg" for i in range(1, 7)]
    kps = _kps(6, {1: [2], 2: [5], 3: [8], 4: [11], 5: [0, 3, 4, 14, 15, 16, 17]})
    assert keep_mask(names, kps, PairRule()).tolist() == [True, False, False, False, False, True]


def test_excluded_prefixes_and_custom_rules():
    names = ["-1_c1.jpg", "0000_c1.jpg", "0001_c1.jpg", "00001_c1.jpg"]
    kps = _kps(4)
    assert keep_mask(names, kps, PairRule()).tolist() == [False, False, True, False]
    assert keep_mask(names, kps, PairRule(exclude_prefixes=())).all()
    kps2 = _kps(4, {2: [2]})
    assert keep_mask(names, kps2, PairRule(required_joints=(), exclude_prefixes=())).all()


def test_ordered_permutations_in_row_order_grouped_by_first_appearance():
    names = ["b_1.jpg", "a_1.jpg", "b_2.jpg", "a_2.jpg", "b_3.jpg", "c_1.jpg"]
    pairs, stats = make_pairs(names, _kps(6), PairRule(), sample=False)
    assert pairs == [
        ("b_1.jpg", "b_2.jpg"),
        ("b_1.jpg", "b_3.jpg"),
        ("b_2.jpg", "b_1.jpg"),
        ("b_2.jpg", "b_3.jpg"),
        ("b_3.jpg", "b_1.jpg"),
        ("b_3.jpg", "b_2.jpg"),
        ("a_1.jpg", "a_2.jpg"),
        ("a_2.jpg", "a_1.jpg"),
    ]
    assert (stats.rows, stats.kept, stats.groups, stats.singletons, stats.pairs) == (6, 6, 3, 1, 8)


def test_test_sampling_is_dataframe_sample():
    names = [f"g{i // 5}_{i}.jpg" for i in range(40)]
    pairs, stats = make_pairs(names, _kps(40), PairRule(test_cap=30, seed=3), sample=True)
    full, _ = make_pairs(names, _kps(40), PairRule(), sample=False)
    df = pd.DataFrame(full, columns=["from", "to"]).sample(30, replace=False, random_state=3)
    assert pairs == list(df.itertuples(index=False, name=None))
    assert stats.pairs_before_sampling == 160 and stats.pairs == 30


def test_cap_above_count_keeps_all_but_shuffles():
    idx = sample_rows(10, 12000, 0)
    assert sorted(idx.tolist()) == list(range(10)) and idx.tolist() != list(range(10))
    assert sample_rows(10, None, 0).tolist() == list(range(10))


def test_pairs_per_group_cap_is_seeded_and_keeps_order():
    names = [f"g_{i}.jpg" for i in range(6)] + ["h_1.jpg", "h_2.jpg"]
    rule = PairRule(max_pairs_per_group=4, seed=7)
    a, _ = make_pairs(names, _kps(8), rule, sample=False)
    b, _ = make_pairs(names, _kps(8), rule, sample=False)
    full, _ = make_pairs(names, _kps(8), PairRule(), sample=False)
    assert a == b and len(a) == 4 + 2
    g_pairs = [p for p in a if p[0].startswith("g")]
    assert g_pairs == [p for p in full if p in g_pairs]  # a subsequence of the full order


def test_group_keys_on_patn_names():
    name = "fashionWOMENBlouses_Shirtsid0000063703_1front.jpg"
    assert group_key(name, "prefix") == "fashionWOMENBlouses"
    assert group_key(name, "outfit") == "fashionWOMENBlouses_Shirtsid0000063703"
    assert group_key("0002_c1s1_000451_03.jpg", "prefix") == "0002"
    with pytest.raises(ValueError):
        group_key(name, "nope")  # type: ignore[arg-type]


def _pairs_of(path, sample):
    ann = read_annotations(path)
    return make_pairs(ann.names, yx_to_xyc(ann.yx), PairRule(), sample=sample)


def test_market_test_pairs_row_for_row(deepfashion_data):
    d = deepfashion_data / "defgan_myeongjun2"
    pairs, stats = _pairs_of(d / "market-annotation-test.csv", sample=True)
    assert (stats.kept, stats.pairs_before_sampling) == (12344, 257198)
    assert pairs == read_pairs(d / "market-pairs-test.csv")


def test_market_train_count(deepfashion_data):
    pairs, stats = _pairs_of(
        deepfashion_data / "defgan_myeongjun2" / "market-annotation-train.csv", sample=False
    )
    assert (stats.kept, stats.groups, len(pairs)) == (12116, 745, 263632)


def test_deformable_gan_fashion_test_row_for_row(deepfashion_data):
    d = deepfashion_data / "defgan_myeongjun2"
    pairs, stats = _pairs_of(d / "fasion-annotation-test.csv", sample=True)
    assert (stats.kept, stats.groups, stats.pairs) == (3278, 998, 8670)
    assert pairs == read_pairs(d / "fasion-pairs-test.csv")


def test_deformable_gan_new_split_count(deepfashion_data):
    _, stats = _pairs_of(
        deepfashion_data / "defgan_myeongjun2" / "fasion-annotation-test_new_split.csv", sample=True
    )
    assert (stats.pairs_before_sampling, stats.pairs) == (20676, 12000)


def test_auto_key_is_outfit_only_for_patn_names():
    patn = [
        "fashionWOMENBlouses_Shirtsid0000063703_1front.jpg",
        "fashionWOMENBlouses_Shirtsid0000063703_2side.jpg",
        "fashionWOMENBlouses_Shirtsid0000063704_1front.jpg",
    ]
    pairs, stats = make_pairs(patn, _kps(3), PairRule(), sample=False)
    assert stats.key == "outfit" and len(pairs) == 2
    _, stats = make_pairs(
        ["fasionWOMENDressesid0000553705_4full.jpg"], _kps(1), PairRule(), sample=False
    )
    assert stats.key == "prefix"
    _, stats = make_pairs(patn, _kps(3), PairRule(key="prefix"), sample=False)
    assert stats.key == "prefix" and stats.pairs == 6
