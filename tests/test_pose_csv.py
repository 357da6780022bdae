from pathlib import Path

import numpy as np
import pytest

from pgdata.errors import InputFormatError
from pgdata.io.pose_csv import read_annotations, read_pairs, write_annotations, write_pairs

ANNOTATION_FILES = [
    "market-annotation-train.csv",
    "market-annotation-test.csv",
    "fasion-annotation-test.csv",
    "fasion-annotation-test_new_split.csv",
]
ROW_COUNTS = {
    "market-annotation-train.csv": (12936, 419),
    "market-annotation-test.csv": (19732, 3445),
    "fasion-annotation-test.csv": (4061, 640),
    "fasion-annotation-test_new_split.csv": (8146, None),
}


@pytest.mark.parametrize("fname", ANNOTATION_FILES)
def test_published_files_parse_and_round_trip_byte_identical(deepfashion_data, tmp_path, fname):
    src = deepfashion_data / "defgan_myeongjun2" / fname
    ann = read_annotations(src)
    rows, all_missing = ROW_COUNTS[fname]
    assert len(ann) == rows and ann.yx.shape == (rows, 18, 2)
    if all_missing is not None:
        assert int((ann.yx == -1).all(axis=(1, 2)).sum()) == all_missing
    # the estimator's spelling, written back, is the same file byte for byte
    write_annotations(tmp_path / "spaced.csv", ann.names, ann.yx, spaced=True)
    assert (tmp_path / "spaced.csv").read_bytes() == src.read_bytes()
    # pandas' spelling (the resize step's) re-parses to the same arrays
    write_annotations(tmp_path / "plain.csv", ann.names, ann.yx)
    again = read_annotations(tmp_path / "plain.csv")
    assert again.names == ann.names
    np.testing.assert_array_equal(again.yx, ann.yx)


def test_plain_spelling_is_what_pandas_writes(tmp_path):
    yx = np.full((1, 18, 2), -1)
    yx[0, 0] = (12, 40)
    write_annotations(tmp_path / "a.csv", ["x.jpg"], yx)
    lines = (tmp_path / "a.csv").read_text().split("\n")
    assert lines[0] == "name:keypoints_y:keypoints_x"
    assert lines[1] == "x.jpg:[12" + ", -1" * 17 + "]:[40" + ", -1" * 17 + "]"
    assert lines[2] == ""  # final newline
    # numpy ints are written as plain ints, never np.int64(...)
    write_annotations(tmp_path / "b.csv", ["x.jpg"], yx.astype(np.int64))
    assert "np." not in (tmp_path / "b.csv").read_text()


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "bad.csv"
    p.write_text(text)
    return p


GOOD = "a.jpg:[" + ", ".join(["1"] * 18) + "]:[" + ", ".join(["2"] * 18) + "]"


@pytest.mark.parametrize(
    "text, line, message",
    [
        ("name,keypoints_y,keypoints_x\n", 1, "header"),
        ("name:keypoints_y:keypoints_x\n" + GOOD + "\nb.jpg:[1, 2]\n", 3, "3 ':'-separated fields"),
        ("name:keypoints_y:keypoints_x\nb.jpg:[1, 2]:[3, 4]\n", 2, "expected 18"),
        ("name:keypoints_y:keypoints_x\n" + GOOD.replace("[1, ", "[a, ", 1) + "\n", 2, "integers"),
        (
            "name:keypoints_y:keypoints_x\n" + GOOD.replace(":[", ":(", 1) + "\n",
            2,
            "must be a list",
        ),
        ("name:keypoints_y:keypoints_x\n:[1]:[2]\n", 2, "empty image name"),
    ],
)
def test_malformed_rows_name_file_and_line(tmp_path, text, line, message):
    path = _write(tmp_path, text)
    with pytest.raises(InputFormatError, match=message) as exc:
        read_annotations(path)
    assert exc.value.line == line
    assert f"{path}:{line}" in str(exc.value)


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(InputFormatError, match="not found"):
        read_annotations(tmp_path / "nope.csv")


def test_pairs_round_trip_and_errors(tmp_path):
    pairs = [("a.jpg", "b.jpg"), ("b.jpg", "a.jpg")]
    write_pairs(tmp_path / "p.csv", pairs)
    assert (tmp_path / "p.csv").read_text() == "from,to\na.jpg,b.jpg\nb.jpg,a.jpg\n"
    assert read_pairs(tmp_path / "p.csv") == pairs
    (tmp_path / "bad.csv").write_text("from,to\na.jpg,b.jpg\nc.jpg\n")
    with pytest.raises(InputFormatError, match="bad.csv:3"):
        read_pairs(tmp_path / "bad.csv")
    with pytest.raises(ValueError, match="name"):
        write_pairs(tmp_path / "q.csv", [("a,b.jpg", "c.jpg")])
    assert not (tmp_path / "q.csv").exists()  # atomic: nothing half-written


def test_published_pair_files_parse(deepfashion_data):
    d = deepfashion_data / "defgan_myeongjun2"
    assert len(read_pairs(d / "market-pairs-test.csv")) == 12000
    assert len(read_pairs(d / "fasion-pairs-test.csv")) == 8670
