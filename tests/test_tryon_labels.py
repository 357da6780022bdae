import re
from pathlib import Path

import cv2
import numpy as np
import pytest

from pgdata import labels

# section 3 of shared/reference/tryon.md, copied unchanged (tests/data/README.md)
TRYON_MD = Path(__file__).resolve().parent / "data" / "reference" / "tryon_label_tables.md"


@pytest.fixture(scope="module")
def tryon_md() -> str:
    return TRYON_MD.read_text(encoding="utf-8")


def _norm(name: str) -> str:
    return name.strip().replace("-", "_").replace(" ", "_")


def test_label_tables_match_the_reference_table(tryon_md):
    rows = [line for line in tryon_md.splitlines() if re.match(r"\| \d+ \|", line)]
    table = {int(r.split("|")[1]): [c.strip() for c in r.split("|")[2:5]] for r in rows}
    assert sorted(table) == list(range(20))
    for i, (lip, atr, pascal) in table.items():
        if i == 10:
            assert "jumpsuits (LIP)" in lip and "torso-skin (CIHP)" in lip and "neck" in lip
            assert labels.LIP_LABELS[10] == "jumpsuits" and labels.CIHP_LABELS[10] == "torso_skin"
        else:
            assert labels.LIP_LABELS[i] == labels.CIHP_LABELS[i] == _norm(lip)
        if atr:
            assert labels.ATR_LABELS[i] == _norm(atr)
        if pascal:
            assert labels.PASCAL_PERSON_PART_LABELS[i] == _norm(pascal)
    assert len(labels.ATR_LABELS) == 18 and len(labels.PASCAL_PERSON_PART_LABELS) == 7


def _groups(text: str) -> list[tuple[str, tuple[int, ...]]]:
    return [
        (name, tuple(int(v) for v in ids.split(",")))
        for _, name, ids in re.findall(r"(\d+) (\w+) \{([\d, ]+)\}", text)
    ]


def test_hrviton_groupings_match_the_reference(tryon_md):
    start = tryon_md.index("HR-VITON / VITON-HD 13 channels")
    thirteen = tryon_md[start : tryon_md.index("Channel 3 = parse cloth mask", start)]
    seven = tryon_md[tryon_md.index("regroups them into 7", start) :].split("\n\n")[0]
    assert _groups(thirteen) == list(labels.HRVITON_13_GROUPS)
    assert _groups(seven) == list(labels.HRVITON_7_GROUPS)


def test_13_groups_partition_the_20_ids_and_7_groups_partition_the_13():
    ids = sorted(i for _, g in labels.HRVITON_13_GROUPS for i in g)
    assert ids == list(range(20))
    chans = sorted(i for _, g in labels.HRVITON_7_GROUPS for i in g)
    assert chans == list(range(13))


def test_scheme_tables_map_same_named_labels():
    for name, (names, table) in labels.SCHEMES.items():
        assert len(names) == len(table), name
        assert all(0 <= v < 20 for v in table)
    for i, n in enumerate(labels.ATR_LABELS):
        if n in labels.CIHP_LABELS:
            assert labels.ATR_TO_CIHP[i] == labels.CIHP_LABELS.index(n)
    assert labels.ATR_TO_CIHP[8] == labels.P.PANTS and labels.ATR_TO_CIHP[16] == 0  # belt, bag
    assert labels.LIP_TO_CIHP[10] == labels.P.DRESS
    # neither LIP nor ATR can produce the neck id
    assert labels.P.NECK not in labels.LIP_TO_CIHP and labels.P.NECK not in labels.ATR_TO_CIHP
    assert [labels.CIHP_LABELS[getattr(labels.P, a)] for a in ("UPPER_CLOTHES", "LEFT_ARM")] == [
        "upper_clothes",
        "left_arm",
    ]


def test_body25_colours_and_densepose_palette():
    assert len(labels.BODY25_COLORS) == 25
    assert labels.BODY25_COLORS[1] == (255, 0, 0) and labels.BODY25_COLORS[24] == (0, 255, 255)
    i = np.array([int(k * 255 / 24) for k in range(1, 25)], np.uint8).reshape(-1, 1)
    parula = cv2.applyColorMap(i, cv2.COLORMAP_PARULA)[:, 0, ::-1]
    assert np.array_equal(parula, np.array(labels.DENSEPOSE_PARULA[1:], np.uint8))
    assert len(labels.DENSEPOSE_PARTS) == 25 and labels.DENSEPOSE_PARTS[2] == "torso_front"


def test_blazepose_to_body25_joins_same_named_joints():
    for b25, bp in enumerate(labels.BLAZEPOSE_TO_BODY25):
        name = labels.BODY25_JOINTS[b25]
        if bp < 0:
            assert name in ("neck", "mid_hip", "left_small_toe", "right_small_toe")
        elif name.endswith("big_toe"):
            assert labels.BLAZEPOSE_LANDMARKS[bp] == name.replace("big_toe", "foot_index")
        else:
            assert labels.BLAZEPOSE_LANDMARKS[bp] == name


def test_voc_palette_is_schp_get_palette():
    pal = labels.VOC_PALETTE
    assert len(pal) == 768
    assert tuple(pal[3:6]) == (128, 0, 0) and tuple(pal[6:9]) == (0, 128, 0)
    assert tuple(pal[15 * 3 : 16 * 3]) == (192, 128, 128)
