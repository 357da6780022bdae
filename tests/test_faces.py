"""Face data for inpainting: centre crop kernels, the procedural faces sample with landmarks, and
`pgdata build --recipe faces` (photos smaller than the crop skipped and counted, or refused)."""

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from pgdata.cli import cli
from pgdata.data import FacesDataset
from pgdata.io.landmarks import read_landmarks
from pgdata.io.reports import read_rejected_csv
from pgdata.shards.reader import ShardReader
from pgdata.stages.faces import (
    FACE_LANDMARKS,
    centre_square,
    crop_resize_face,
    crop_resize_landmarks,
    face_problem,
)

SIZE = 32


def _run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def _ok(result):
    assert result.exit_code == 0, result.output
    return result


def _error(result):
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    return lines[0]


def _rgb(path):
    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)


def test_centre_square_crop_and_area_resize():
    assert centre_square((10, 6)) == (2, 0, 6) and centre_square((6, 11)) == (0, 2, 6)
    img = np.arange(10 * 6 * 3, dtype=np.uint8).reshape(10, 6, 3)
    assert np.array_equal(crop_resize_face(img, 6), img[2:8])
    # 2x2 blocks of one value each: an area downscale by 2 gives the block values exactly
    blocks = np.random.default_rng(0).integers(0, 256, (3, 3, 3), dtype=np.uint8)
    big = np.repeat(np.repeat(blocks, 2, axis=0), 2, axis=1)  # (6, 6, 3)
    tall = np.concatenate([np.zeros((1, 6, 3), np.uint8), big, np.zeros((1, 6, 3), np.uint8)])
    assert np.array_equal(crop_resize_face(tall, 3), blocks)
    assert face_problem((100, 80), 64) is None
    assert face_problem((100, 60), 64) == (
        "smaller than the crop (60x100: the shorter side 60 is below 64; faces are cropped, "
        "never enlarged)"
    )
    with pytest.raises(ValueError, match="smaller than the crop"):
        crop_resize_face(np.zeros((50, 50, 3), np.uint8), 64)


def test_landmarks_follow_the_crop():
    # a 100x80 (HxW) photo: square rows 10..90, scale 40 / 80; pixel centres map to centres
    marks = np.array([[20, 50, 1], [79, 89, 1], [40, 5, 1], [30, 30, 0]], np.float32)
    out = crop_resize_landmarks(marks, (100, 80), 40)
    assert out[0].tolist() == [9.75, 19.75, 1.0]
    assert out[1].tolist() == [39.25, 39.25, 1.0]
    assert out[2].tolist() == [0.0, 0.0, 0.0]  # above the square: missing
    assert out[3].tolist() == [0.0, 0.0, 0.0]  # missing stays missing


def test_faces_sample_is_reproducible_and_its_landmarks_mark_the_eyes(tmp_path):
    args = ["--kind", "faces", "--ids", "4", "--size", f"{SIZE}x{SIZE}"]
    line = _ok(_run("sample", "--out", tmp_path / "a", *args)).stdout.strip()
    assert (
        line
        == f"sample: wrote 5 faces (sides 32-42 px, 5 landmarks each) to {tmp_path / 'a'} (train 4, test 1)"
    )
    _ok(_run("sample", "--out", tmp_path / "b", *args))
    for f in sorted((tmp_path / "a").rglob("*.*")):
        assert f.read_bytes() == (tmp_path / "b" / f.relative_to(tmp_path / "a")).read_bytes()
    points, table = read_landmarks(tmp_path / "a" / "landmarks.csv")
    assert points == FACE_LANDMARKS and len(table) == 5
    big = tmp_path / "big"  # at a size where the pupils are several pixels wide
    _ok(_run("sample", "--out", big, "--kind", "faces", "--ids", "4", "--size", "128x128"))
    _, table = read_landmarks(big / "landmarks.csv")
    for name, marks in table.items():
        photo = _rgb(big / name)
        h, w = photo.shape[:2]
        assert SIZE * 4 <= min(h, w) and max(h, w) <= round(1.3 * 128)
        for x, y, _ in marks[:2]:  # eyes: a dark pupil under the landmark
            assert photo[round(y), round(x)].max() < 60, name


def test_build_crops_faces_carries_landmarks_and_counts_small_photos(tmp_path):
    src = tmp_path / "faces"
    _ok(_run("sample", "--out", src, "--kind", "faces", "--ids", "4", "--size", f"{SIZE}x{SIZE}"))
    small = src / "train" / "small.png"
    cv2.imwrite(str(small), np.zeros((SIZE, SIZE - 1, 3), np.uint8))
    image_size = ["--image-size", f"{SIZE}x{SIZE}"]
    err = _error(
        _run(
            "build",
            "--recipe",
            "faces",
            "--source",
            src,
            "--out",
            tmp_path / "s1",
            *image_size,
            "--strict",
        )
    )
    assert err.startswith(f"Error: {small}: smaller than the crop (31x32: the shorter side 31")
    assert err.endswith("(--strict)") and not (tmp_path / "s1").exists()

    out = tmp_path / "s2"
    result = _ok(_run("build", "--recipe", "faces", "--source", src, "--out", out, *image_size))
    assert (
        result.stdout.strip()
        .splitlines()[-1]
        .endswith(f"train 4, test 1 faces of {SIZE}x{SIZE}); skipped 1: smaller than the crop=1")
    )
    assert [r[0] for r in read_rejected_csv(out / "rejected.csv")] == ["train/small.png"]
    _, table = read_landmarks(src / "landmarks.csv")
    reader = ShardReader(sorted(out.glob("train-*.h5"))[0])
    for i, name in enumerate(reader.column("name")):
        photo = _rgb(src / "train" / name)
        h, w = photo.shape[:2]
        side = min(h, w)
        top, left = (h - side) // 2, (w - side) // 2
        want = cv2.resize(
            photo[top : top + side, left : left + side], (SIZE, SIZE), interpolation=cv2.INTER_AREA
        )
        got = cv2.cvtColor(
            cv2.imdecode(np.frombuffer(reader.encoded("image", i), np.uint8), 1), cv2.COLOR_BGR2RGB
        )
        error = np.abs(got.astype(int) - want).mean()
        assert error < 5  # JPEG q95 with 4:2:0 chroma at 32x32
        if h != w:  # a plain resize of the whole photo (no crop) is further away
            squashed = cv2.resize(photo, (SIZE, SIZE), interpolation=cv2.INTER_AREA)
            assert error < np.abs(got.astype(int) - squashed).mean()
        marks = table[f"train/{name}"]
        stored = reader.array("landmarks", i)
        scale = SIZE / side
        assert np.allclose(stored[:, 0], (marks[:, 0] - left + 0.5) * scale - 0.5, atol=1e-4)
        assert np.allclose(stored[:, 1], (marks[:, 1] - top + 0.5) * scale - 0.5, atol=1e-4)
    ds = FacesDataset(out, "test", train=False)
    assert ds.size == SIZE and len(ds) == 1 and ds[0]["mask"].shape == (1, SIZE, SIZE)

    square = _run(
        "build",
        "--recipe",
        "faces",
        "--source",
        src,
        "--out",
        tmp_path / "s3",
        "--image-size",
        "32x24",
    )
    assert square.exit_code == 2 and "faces are square" in square.output


def test_a_folder_of_only_small_photos_is_an_error(tmp_path):
    src = tmp_path / "flat"
    src.mkdir()
    for i in range(2):
        cv2.imwrite(str(src / f"{i}.jpg"), np.zeros((20, 30, 3), np.uint8))
    err = _error(_run("build", "--recipe", "faces", "--source", src, "--out", tmp_path / "s"))
    assert err == f"Error: {src}: no usable face photo: all 2 skipped (smaller than the crop=2)"
    assert not (tmp_path / "s").exists()
