from collections import Counter

import pytest

from pgdata.errors import InputFormatError
from pgdata.io.inshop import (
    PATN_NAME_RE,
    flat_name,
    parse_inshop_path,
    read_partition,
    read_split_list,
    write_partition,
)


def test_naming_rules_on_the_reference_example():
    img = parse_inshop_path("img/WOMEN/Blouses_Shirts/id_00000637/03_1_front.jpg")
    assert (img.gender, img.category, img.item_id, img.outfit, img.view_no, img.view) == (
        "WOMEN",
        "Blouses_Shirts",
        "00000637",
        "03",
        1,
        "front",
    )
    assert flat_name(img, "patn") == "fashionWOMENBlouses_Shirtsid0000063703_1front.jpg"
    assert flat_name(img, "defgan") == "fasionWOMENBlousesShirtsid0000063703_1front.jpg"
    assert PATN_NAME_RE.match(flat_name(img))


@pytest.mark.parametrize(
    "bad",
    [
        "img/WOMEN/Blouses/id_637/03_1_front.jpg",
        "img/KIDS/Tees/id_00000001/01_1_front.jpg",
        "x.jpg",
    ],
)
def test_non_inshop_paths_are_refused(bad):
    with pytest.raises(ValueError, match="not an In-shop image path"):
        parse_inshop_path(bad)


def test_patn_lists_follow_the_naming_rule(deepfashion_data):
    train = read_split_list(deepfashion_data / "train.lst")
    test = read_split_list(deepfashion_data / "test.lst")
    assert (len(train), len(test)) == (48674, 4038)
    assert len(set(train)) == len(train) and not set(train) & set(test)
    views = Counter()
    for name in train:
        m = PATN_NAME_RE.match(name)
        assert m, name
        views[m.group(6)] += 1
        # the name round-trips through the tree path
        path = f"img/{m.group(1)}/{m.group(2)}/id_{m.group(3)}/{m.group(4)}_{m.group(5)}_{m.group(6)}.jpg"
        assert flat_name(parse_inshop_path(path)) == name
    assert views == {
        "front": 11870,
        "side": 10091,
        "additional": 10086,
        "back": 9845,
        "full": 6148,
        "flat": 634,
    }
    outfits = lambda names: {n.rsplit("_", 1)[0] for n in names}  # noqa: E731
    assert not outfits(train) & outfits(test)


def test_partition_round_trip_and_errors(tmp_path):
    rows = [
        ("img/MEN/Denim/id_00000080/01_1_front.jpg", "id_00000080", "train"),
        ("img/MEN/Denim/id_00000089/01_2_side.jpg", "id_00000089", "query"),
    ]
    write_partition(tmp_path / "p.txt", rows)
    text = (tmp_path / "p.txt").read_text()
    assert text.startswith("2\nimage_name item_id evaluation_status\nimg/MEN/Denim/")
    assert read_partition(tmp_path / "p.txt") == {rows[0][0]: "train", rows[1][0]: "query"}
    (tmp_path / "bad.txt").write_text(text.replace("2\n", "3\n", 1))
    with pytest.raises(InputFormatError, match="declares 3 rows"):
        read_partition(tmp_path / "bad.txt")
    (tmp_path / "bad2.txt").write_text(text.replace("query", "val"))
    with pytest.raises(InputFormatError, match="bad2.txt:4"):
        read_partition(tmp_path / "bad2.txt")
