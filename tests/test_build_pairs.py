import csv
import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from pgdata.errors import ConfigError, InputFormatError
from pgdata.io.images import encode_jpeg
from pgdata.io.inshop import flat_name, read_partition, scan_images, write_partition
from pgdata.io.openpose import write_openpose
from pgdata.io.pose_csv import read_annotations, read_pairs, write_annotations
from pgdata.jobs.posetransfer.build_pairs import BuildPairsConfig, run_build_pairs
from pgdata.stages.keypoints import coco18_to_body25, yx_to_xyc


def _run(**kw) -> tuple[BuildPairsConfig, object]:
    cfg = BuildPairsConfig(**kw)
    return cfg, run_build_pairs(cfg)


def _rejected(out: Path) -> list[dict[str, str]]:
    with open(out / "rejected.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_tree_mode_shifts_keypoints_and_crops_images(sample_tree, tmp_path):
    out = tmp_path / "pairs"
    cfg, result = _run(dataset="deepfashion", root=sample_tree, out=out, images_hw=(256, 176))
    assert result.splits["train"].pairs.key == "outfit"
    src = read_annotations(sample_tree / "keypoints.csv")
    src_yx = dict(zip(src.names, src.yx, strict=True))
    n_rows = 0
    for split in ("train", "test"):
        ann = read_annotations(out / f"fasion-resize-annotation-{split}.csv")
        n_rows += len(ann)
        for name, yx in zip(ann.names, ann.yx, strict=True):
            raw = src_yx[name]
            expected = np.where(raw == -1, -1, raw - np.array([0, 40]))
            np.testing.assert_array_equal(yx, expected)
            assert (out / split / name).is_file()
        pairs = read_pairs(out / f"fasion-resize-pairs-{split}.csv")
        assert pairs and all(a in ann.names and b in ann.names for a, b in pairs)
        assert all(a.rsplit("_", 1)[0] == b.rsplit("_", 1)[0] for a, b in pairs)
        assert result.splits[split].pairs.pairs == len(pairs)
    assert n_rows == 96  # all rows kept in the annotation, even those without a torso
    # the image is the reference crop img[:, 40:-40] of the 256x256 source
    name = src.names[0]
    rel = next(i.rel_path for i in scan_images(sample_tree)[0] if flat_name(i) == name)
    split = "train" if (out / "train" / name).exists() else "test"
    crop = cv2.imread(str(out / split / name))
    assert crop.shape == (256, 176, 3)
    ref = cv2.imread(str(sample_tree / rel))[:, 40:-40]
    mse = np.mean((crop.astype(float) - ref.astype(float)) ** 2)
    assert 10 * np.log10(255**2 / max(mse, 1e-9)) > 35
    report = json.loads((out / "build-pairs.json").read_text())
    assert report["splits"]["train"]["pairs"]["pairs"] == result.splits["train"].pairs.pairs
    assert not list(out.rglob("*.tmp"))


@pytest.fixture
def broken_tree(sample_tree, tmp_path) -> Path:
    root = tmp_path / "broken"
    shutil.copytree(sample_tree, root)
    images, _ = scan_images(root)
    (root / images[0].rel_path).unlink()  # annotation without image
    extra = "img/MEN/Denim/id_09999999/01_1_front.jpg"  # image without annotation
    (root / extra).parent.mkdir(parents=True)
    shutil.copy(root / images[1].rel_path, root / extra)
    corrupt = images[2].rel_path
    (root / corrupt).write_bytes(b"")  # zero-byte image
    (root / "img" / "MEN" / "notes.txt").write_text("stray")
    part = read_partition(root / "list_eval_partition.txt")
    rows = [(rel, "id_x", st) for rel, st in part.items()] + [(extra, "id_09999999", "train")]
    write_partition(root / "list_eval_partition.txt", rows)
    return root


def test_bad_items_are_quarantined_and_counted(broken_tree, tmp_path):
    out = tmp_path / "out"
    _, result = _run(dataset="deepfashion", root=broken_tree, out=out, images_hw=(256, 176))
    reasons = {r["reason"].split(" (")[0] for r in _rejected(out)}
    assert reasons == {
        "image without keypoint annotation",
        "keypoint annotation without image",
        "unreadable image",
        "not an In-shop image name",
    }
    assert len(_rejected(out)) == 4
    written = sum(
        len(read_annotations(out / f"fasion-resize-annotation-{s}.csv")) for s in ("train", "test")
    )
    assert written == 96 - 2  # one image deleted, one zero-byte
    assert "rejected" in result.summary()


def test_strict_makes_bad_items_fatal(broken_tree, tmp_path):
    with pytest.raises(InputFormatError):
        _run(dataset="deepfashion", root=broken_tree, out=tmp_path / "o", strict=True)


def _openpose_folder(sample_tree: Path, dest: Path) -> Path:
    """The sample's keypoints as one OpenPose JSON file per image (no row order of their own)."""
    src = read_annotations(sample_tree / "keypoints.csv")
    by_name = dict(zip(src.names, yx_to_xyc(src.yx), strict=True))
    for img in scan_images(sample_tree)[0]:
        stem = img.rel_path[len("img/") : -len(".jpg")]
        write_openpose(dest / f"{stem}_keypoints.json", [coco18_to_body25(by_name[flat_name(img)])])
    return dest


def test_split_lists_decide_split_and_row_order(sample_tree, tmp_path):
    images, _ = scan_images(sample_tree)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(images))
    train = [flat_name(images[i], "defgan") for i in order[:70]]  # either naming is looked up
    test = [flat_name(images[i]) for i in order[70:90]]  # 6 images in neither list
    (tmp_path / "train.lst").write_text("\n".join(train) + "\n")
    (tmp_path / "test.lst").write_text("\n".join(test) + "\n")
    lists = {"train_list": tmp_path / "train.lst", "test_list": tmp_path / "test.lst"}
    # OpenPose JSON keypoints give no order: rows follow the lists
    kp = _openpose_folder(sample_tree, tmp_path / "openpose")
    out = tmp_path / "out"
    _run(dataset="deepfashion", root=sample_tree, out=out, keypoints=kp, **lists)
    ann = read_annotations(out / "fasion-resize-annotation-train.csv")
    assert ann.names == [flat_name(images[i]) for i in order[:70]]
    assert read_annotations(out / "fasion-resize-annotation-test.csv").names == test
    assert sum(r["reason"].startswith("not in the split") for r in _rejected(out)) == 6
    # an annotation CSV gives its row order: the lists only decide the split
    csv_rows = read_annotations(sample_tree / "keypoints.csv").names
    _run(dataset="deepfashion", root=sample_tree, out=tmp_path / "csv", **lists)
    for split, listed in (("train", ann.names), ("test", test)):
        got = read_annotations(tmp_path / "csv" / f"fasion-resize-annotation-{split}.csv").names
        assert got == [n for n in csv_rows if n in set(listed)]
        assert sorted(got) == sorted(listed) and got != listed


def test_openpose_json_folder_gives_the_same_annotations(sample_tree, tmp_path):
    kp = _openpose_folder(sample_tree, tmp_path / "openpose")
    _run(dataset="deepfashion", root=sample_tree, out=tmp_path / "a")
    _run(dataset="deepfashion", root=sample_tree, out=tmp_path / "b", keypoints=kp)
    for split in ("train", "test"):
        name = f"fasion-resize-annotation-{split}.csv"
        a, b = read_annotations(tmp_path / "a" / name), read_annotations(tmp_path / "b" / name)
        # the same rows; the CSV run keeps the CSV's order, the JSON run the image paths' order
        assert dict(zip(a.names, a.yx.tolist(), strict=True)) == dict(
            zip(b.names, b.yx.tolist(), strict=True)
        )
        images = [flat_name(i) for i in scan_images(sample_tree)[0]]
        assert b.names == [n for n in images if n in set(b.names)]


def test_market_tree_keeps_original_bytes(tmp_path):
    root = tmp_path / "market"
    rng = np.random.default_rng(0)
    names = {
        "train": ["0002_c1s1_000451_03.jpg", "0002_c2s1_000301_01.jpg", "0007_c1s1_000001_01.jpg"],
        "test": ["0003_c1s1_000001_01.jpg", "0003_c3s1_000002_01.jpg", "-1_c1s1_000003_01.jpg"],
    }
    rows, yx = [], []
    for split, folder in (("train", "bounding_box_train"), ("test", "bounding_box_test")):
        (root / folder).mkdir(parents=True)
        for n in names[split]:
            (root / folder / n).write_bytes(
                encode_jpeg(rng.integers(0, 255, (128, 64, 3), dtype=np.uint8))
            )
            rows.append(n)
            yx.append(rng.integers(0, 64, (18, 2)))
    write_annotations(root / "keypoints.csv", rows, np.stack(yx))
    out = tmp_path / "out"
    _, result = _run(dataset="market1501", root=root, out=out, images_hw=(128, 64))
    assert (out / "test" / "0003_c1s1_000001_01.jpg").read_bytes() == (
        root / "bounding_box_test" / "0003_c1s1_000001_01.jpg"
    ).read_bytes()
    assert read_pairs(out / "market-pairs-train.csv") == [
        ("0002_c1s1_000451_03.jpg", "0002_c2s1_000301_01.jpg"),
        ("0002_c2s1_000301_01.jpg", "0002_c1s1_000451_03.jpg"),
    ]
    assert len(read_pairs(out / "market-pairs-test.csv")) == 2  # the -1 junk image is excluded
    assert (
        read_annotations(out / "market-annotation-train.csv").yx.tolist()
        == np.stack(yx[:3]).tolist()
    )
    assert result.splits["train"].pairs.singletons == 1


def test_duplicates_in_annotation_files(tmp_path):
    yx = np.ones((3, 18, 2), int)
    write_annotations(tmp_path / "a.csv", ["p_1.jpg", "p_2.jpg", "p_1.jpg"], yx)
    _, result = _run(dataset="market1501", annotations_test=tmp_path / "a.csv", out=tmp_path / "o")
    assert result.splits["test"].rejected == 1 and result.splits["test"].pairs.pairs == 2
    assert "line 4; first at line 2" in _rejected(tmp_path / "o")[0]["reason"]
    with pytest.raises(InputFormatError, match="a.csv:4"):
        _run(
            dataset="market1501",
            annotations_test=tmp_path / "a.csv",
            out=tmp_path / "o2",
            strict=True,
        )


def test_impossible_combinations_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="either --source"):
        _run(dataset="market1501", out=tmp_path)
    with pytest.raises(ConfigError, match="need --source"):
        _run(
            dataset="market1501",
            annotations_test=tmp_path / "x.csv",
            images_hw=(128, 64),
            out=tmp_path,
        )
