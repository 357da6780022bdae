"""Keypoints live in the annotation frame, whatever size the image files have (issue 10, 1-2).

PATN/GFLA/DPTN annotation CSVs are in 256×176 (DeepFashion) or 128×64 (Market-1501); In-shop
photos come as 256×256 (low-res, 40 columns of padding each side) or about 348×512 W×H (high-res).
The images here are built from the sample at those sizes; the keypoints of the shards must be the
CSV's own integers (nothing rescaled by an image's size), the images resized to the frame and the
repairs named by kind. Also: the annotation CSV's row order reproduces the published
Deformable-GAN test pairs row for row from an In-shop tree.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from pgdata.errors import InputFormatError
from pgdata.io.inshop import read_split_list, write_partition
from pgdata.io.pose_csv import read_annotations, read_pairs
from pgdata.jobs.posetransfer.build import BuildConfig, run_build
from pgdata.jobs.posetransfer.build_pairs import BuildPairsConfig, run_build_pairs
from pgdata.shards import ShardReader, read_manifest
from pgdata.stages.keypoints import yx_to_xyc

RESIZED = "resized to the 256x176 annotation frame"
STRETCHED = "stretched to the 256x176 annotation frame (another aspect ratio)"


@pytest.fixture(scope="module")
def pairs_dir(sample_tree, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("frame") / "pairs"
    run_build_pairs(
        BuildPairsConfig(dataset="deepfashion", root=sample_tree, out=out, images_hw=(256, 176))
    )
    return out


def _records(shards: Path, split: str = "test") -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """name -> (keypoints (18, 3), decoded RGB image) of one split of a shard folder."""
    out = {}
    for entry in read_manifest(shards).split_shards(split):
        r = ShardReader(shards / entry.file)
        names, kps = r.column("name"), r.column("keypoints")
        for i, name in enumerate(names):
            img = cv2.imdecode(np.frombuffer(r.encoded("image", i), np.uint8), cv2.IMREAD_COLOR)
            out[str(name)] = (kps[i], img)
    return out


def _csv_keypoints(pairs: Path, split: str = "test") -> dict[str, np.ndarray]:
    ann = read_annotations(pairs / f"fasion-resize-annotation-{split}.csv")
    return dict(zip(ann.names, yx_to_xyc(ann.yx), strict=True))


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255**2 / max(mse, 1e-9)))


def _assert_visible_joints_are(kps: np.ndarray, expected: np.ndarray) -> None:
    """Joints kept in the shard sit exactly where ``expected`` says; none visible is lost."""
    seen = kps[:, 2] > 0
    np.testing.assert_array_equal(kps[seen, :2], expected[seen, :2])
    inside = (expected[:, 2] > 0) & (expected[:, 0] >= 0) & (expected[:, 0] < 176)
    assert (seen | ~inside).all()


def test_images_of_other_sizes_keep_the_annotation_frame_keypoints(pairs_dir, tmp_path):
    src = shutil.copytree(pairs_dir, tmp_path / "pairs")
    names = sorted(p.name for p in (src / "test").iterdir())[:3]
    originals = {n: cv2.imread(str(src / "test" / n)) for n in names}
    # 2x, the high-res In-shop size (348x512 W x H: 1.98x, 2.00x) and the low-res 256x256 with
    # its 40 white columns on each side (what PATN crops away)
    two_x = cv2.resize(originals[names[0]], (352, 512), interpolation=cv2.INTER_CUBIC)
    hires = cv2.resize(originals[names[1]], (348, 512), interpolation=cv2.INTER_CUBIC)
    lowres = cv2.copyMakeBorder(originals[names[2]], 0, 0, 40, 40, cv2.BORDER_CONSTANT, value=255)
    for name, img in zip(names, (two_x, hires, lowres), strict=True):
        cv2.imwrite(str(src / "test" / name), img, [cv2.IMWRITE_JPEG_QUALITY, 97])

    result = run_build(BuildConfig(source=src, out=tmp_path / "shards", parsing=False))
    csv = _csv_keypoints(src)
    got = _records(tmp_path / "shards")
    for name, (kps, img) in got.items():
        assert img.shape == (256, 176, 3)
        _assert_visible_joints_are(kps, csv[name])  # never rescaled by the image's size
    for name in names[:2]:  # a resize back to the frame gives the original picture
        assert _psnr(got[name][1], originals[name]) > 30, name
    assert result.repaired[RESIZED] == 2 and result.repaired[STRETCHED] == 1
    assert f"{RESIZED} 2" in result.summary() and f"{STRETCHED} 1" in result.summary()
    assert "reused 0 complete shards" in result.summary()

    out = tmp_path / "strict"
    with pytest.raises(InputFormatError, match="not the 256x176 annotation frame") as e:
        run_build(BuildConfig(source=src, out=out, parsing=False, strict=True))
    assert Path(e.value.path).name in names and not list(out.glob("*.h5"))


def test_annotation_frame_from_the_recipe_or_build_pairs_json(sample_tree, pairs_dir, tmp_path):
    # build-pairs at 512x352 records that frame; the build stores 256x176 and halves the keypoints
    big = tmp_path / "big"
    run_build_pairs(
        BuildPairsConfig(dataset="deepfashion", root=sample_tree, out=big, images_hw=(512, 352))
    )
    assert json.loads((big / "build-pairs.json").read_text())["frame_hw"] == [512, 352]
    result = run_build(BuildConfig(source=big, out=tmp_path / "s1", parsing=False))
    assert not [k for k in result.repaired if "frame" in k]  # at their frame: no repair
    csv = _csv_keypoints(big)
    for name, (kps, _) in _records(tmp_path / "s1").items():
        half = csv[name].copy()
        half[:, :2] /= 2
        _assert_visible_joints_are(kps, half)

    # an explicit annotation_hw that contradicts build-pairs.json is refused ...
    with pytest.raises(InputFormatError, match="512x352 frame, but annotation_hw is 256x176"):
        run_build(
            BuildConfig(source=big, out=tmp_path / "s2", parsing=False, annotation_hw=(256, 176))
        )
    # ... and without a report it is the frame: CSV rows in 128x88, images at 256x176
    src = shutil.copytree(pairs_dir, tmp_path / "pairs")
    (src / "build-pairs.json").unlink()
    run_build(BuildConfig(source=src, out=tmp_path / "s3", parsing=False, annotation_hw=(128, 88)))
    csv = _csv_keypoints(src)
    for name, (kps, _) in _records(tmp_path / "s3").items():
        double = csv[name].copy()
        double[:, :2] *= 2
        seen = kps[:, 2] > 0
        np.testing.assert_array_equal(kps[seen, :2], double[seen, :2])


def test_build_pairs_keypoint_frame_is_explicit(sample_tree, tmp_path):
    """Tree images at 2x their keypoints' 256x256 frame give the same annotation rows."""
    ref = tmp_path / "ref"
    run_build_pairs(
        BuildPairsConfig(dataset="deepfashion", root=sample_tree, out=ref, images_hw=(256, 176))
    )
    big = shutil.copytree(sample_tree, tmp_path / "big")
    photos = sorted((big / "img").rglob("*.jpg"))
    for p in photos[:5]:
        img = cv2.imread(str(p))
        cv2.imwrite(str(p), cv2.resize(img, (512, 512), interpolation=cv2.INTER_CUBIC))
    out = tmp_path / "out"
    result = run_build_pairs(
        BuildPairsConfig(dataset="deepfashion", root=big, out=out, images_hw=(256, 176))
    )
    for split in ("train", "test"):
        name = f"fasion-resize-annotation-{split}.csv"
        assert (out / name).read_bytes() == (ref / name).read_bytes()
    assert result.repaired == {"resized to the 256x256 keypoint frame": 5}
    assert "repaired 5 (resized to the 256x256 keypoint frame 5)" in result.summary()
    with pytest.raises(InputFormatError, match="not the 256x256 frame of the keypoints"):
        run_build_pairs(
            BuildPairsConfig(
                dataset="deepfashion",
                root=big,
                out=tmp_path / "o",
                images_hw=(256, 176),
                strict=True,
            )
        )


# ------------------------------------------------------------------------------------ point 2


def _categories(deepfashion_data: Path) -> dict[str, str]:
    """Deformable-GAN category spelling (underscores removed) -> In-shop folder name."""
    names = read_split_list(deepfashion_data / "train.lst")
    names += read_split_list(deepfashion_data / "test.lst")
    cats = {re.match(r"fashion(?:MEN|WOMEN)([A-Za-z_]+?)id\d{8}", n).group(1) for n in names}
    return {c.replace("_", ""): c for c in cats}


def test_published_deformable_gan_test_pairs_from_an_inshop_tree(deepfashion_data, tmp_path):
    """fasion-annotation-test.csv (256x256 frame, rows not in any list order) + an In-shop tree
    whose photos it names -> fasion-pairs-test.csv, all 8,670 rows in order."""
    d = deepfashion_data / "defgan_myeongjun2"
    ann = read_annotations(d / "fasion-annotation-test.csv")
    cats = _categories(deepfashion_data)
    pattern = re.compile(
        r"^fasion(MEN|WOMEN)(" + "|".join(sorted(cats, key=len, reverse=True)) + r")id(\d{8})"
        r"(\d{2})_(\d+)([a-z]+)\.jpg$"
    )
    root = tmp_path / "inshop"
    photo = cv2.imencode(".jpg", np.full((256, 256, 3), 200, np.uint8))[1].tobytes()
    rows = []
    for name in sorted(ann.names):  # the tree itself has no order: paths sort differently
        gender, cat, item, outfit, k, view = pattern.match(name).groups()
        rel = f"img/{gender}/{cats[cat]}/id_{item}/{outfit}_{k}_{view}.jpg"
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(photo)
        rows.append((rel, f"id_{item}", "gallery"))
    write_partition(root / "list_eval_partition.txt", rows)

    out = tmp_path / "pairs"
    result = run_build_pairs(
        BuildPairsConfig(
            dataset="deepfashion",
            root=root,
            out=out,
            keypoints=d / "fasion-annotation-test.csv",
            naming="defgan",
            images_hw=(256, 256),  # Deformable-GAN's own frame: the keypoints stay as they are
        )
    )
    written = read_annotations(out / "fasion-resize-annotation-test.csv")
    assert written.names == ann.names  # the annotation file's row order
    np.testing.assert_array_equal(written.yx, ann.yx)
    published = read_pairs(d / "fasion-pairs-test.csv")
    assert len(published) == 8670
    assert read_pairs(out / "fasion-resize-pairs-test.csv") == published
    assert result.splits["test"].pairs.pairs == 8670 and not result.rejected
