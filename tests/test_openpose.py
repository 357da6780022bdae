import json

import numpy as np
import pytest

from pgdata.errors import InputFormatError
from pgdata.io.openpose import best_person, read_openpose, write_openpose
from pgdata.stages.keypoints import body25_to_coco18, coco18_to_body25

from .conftest import random_keypoints


def test_write_read_round_trip_several_people(tmp_path):
    rng = np.random.default_rng(0)
    coco = random_keypoints(rng, 2, (1024, 768))
    coco[..., 2] *= 0.75
    people = [coco18_to_body25(coco[0]), coco[1]]
    write_openpose(tmp_path / "a_keypoints.json", people)
    doc = json.loads((tmp_path / "a_keypoints.json").read_text())
    assert doc["version"] == 1.3 and len(doc["people"]) == 2
    assert len(doc["people"][0]["pose_keypoints_2d"]) == 75
    assert len(doc["people"][1]["pose_keypoints_2d"]) == 54
    assert doc["people"][0]["person_id"] == [-1]
    back = read_openpose(tmp_path / "a_keypoints.json")
    np.testing.assert_allclose(back[0], people[0], atol=1e-3)
    np.testing.assert_allclose(back[1], people[1], atol=1e-3)


def test_old_key_zero_confidence_and_best_person(tmp_path):
    flat = [10.0, 20.0, 0.0] + [1.0, 2.0, 0.5] * 17
    strong = [5.0, 5.0, 0.9] * 18
    (tmp_path / "k.json").write_text(
        json.dumps({"people": [{"pose_keypoints": flat}, {"pose_keypoints_2d": strong}]})
    )
    people = read_openpose(tmp_path / "k.json")
    assert people[0][0].tolist() == [0, 0, 0]  # zero confidence -> missing, coordinates cleared
    assert best_person(people) is people[1]
    assert best_person([]) is None


@pytest.mark.parametrize(
    "doc, message",
    [
        ("{", "not valid JSON"),
        ('{"persons": []}', "'people' list"),
        ('{"people": [{"pose_keypoints_2d": [1, 2, 3]}]}', "has 3 values"),
        ('{"people": [{"pose_keypoints_2d": ' + json.dumps(["a"] * 54) + "}]}", "non-numbers"),
    ],
)
def test_bad_files_are_named(tmp_path, doc, message):
    (tmp_path / "bad.json").write_text(doc)
    with pytest.raises(InputFormatError, match=message) as exc:
        read_openpose(tmp_path / "bad.json")
    assert "bad.json" in str(exc.value)


def test_reads_real_viton_hd_body25(tryon_data):
    f = tryon_data / "viton_hd_hrviton_00006_00" / "openpose_json" / "00006_00_keypoints.json"
    people = read_openpose(f)
    assert len(people) == 1 and people[0].shape == (25, 3)
    missing = np.flatnonzero(people[0][:, 2] == 0).tolist()
    assert missing == [10, 11, 13, 14, 19, 20, 21, 22, 23, 24]
    coco = body25_to_coco18(people[0])
    assert coco[8].tolist() == people[0][9].tolist()  # COCO right hip = BODY_25 right hip
