"""Inpainting masks: the kernels' geometry and seeding, `pgdata masks` sets, and mask-set reading."""

import json

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from pgdata.cli import cli
from pgdata.errors import InputFormatError
from pgdata.io.images import encode_png
from pgdata.io.masks import read_mask_set
from pgdata.stages.masks import (
    MASK_KINDS,
    box_mask,
    center_mask,
    coverage,
    coverage_problem,
    make_mask,
    random_mask,
)


def _rect(mask):
    """(top, bottom, left, right) of the hole's bounding box, and whether it fills that box."""
    rows, cols = np.nonzero(mask)
    top, bottom, left, right = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
    return (top, bottom, left, right), bool(mask[top:bottom, left:right].all())


def test_center_mask_is_the_centred_half_box():
    want = np.zeros((8, 12), np.uint8)
    want[2:6, 3:9] = 1
    assert np.array_equal(center_mask((8, 12)), want)
    assert coverage(center_mask((256, 256))) == 0.25


def test_box_mask_is_a_half_box_shrunk_by_at_most_a_sixteenth_per_side():
    size = 256
    for seed in range(20):
        (top, bottom, left, right), filled = _rect(
            box_mask(np.random.default_rng(seed), (size, size))
        )
        assert filled
        for extent in (bottom - top, right - left):
            assert size // 2 - 2 * (size // 16) <= extent <= size // 2
        assert 0 <= top and bottom <= size and 0 <= left and right <= size


@pytest.mark.parametrize("kind", MASK_KINDS)
def test_every_kind_is_seeded_binary_and_covers_part_of_the_image(kind):
    masks = [make_mask(kind, (64, 80), np.random.default_rng((7, i))) for i in range(5)]
    again = [make_mask(kind, (64, 80), np.random.default_rng((7, i))) for i in range(5)]
    for m, n in zip(masks, again, strict=True):
        assert m.dtype == np.uint8 and m.shape == (64, 80) and set(np.unique(m)) <= {0, 1}
        assert np.array_equal(m, n)
        assert 0 < coverage(m) < 1 and coverage_problem(m) is None
    if kind != "center":
        assert any(not np.array_equal(masks[0], m) for m in masks[1:])


def test_random_mask_draws_every_kind_and_refuses_unknown_ones():
    seen = {random_mask(MASK_KINDS, (32, 32), np.random.default_rng(s))[0] for s in range(40)}
    assert seen == set(MASK_KINDS)
    with pytest.raises(ValueError, match="'ring' is not one of"):
        make_mask("ring", (32, 32), np.random.default_rng(0))


def test_coverage_problem_names_empty_and_full_masks():
    assert "covers nothing" in coverage_problem(np.zeros((4, 4), np.uint8))
    assert "covers everything" in coverage_problem(np.ones((4, 4), np.uint8))
    half = np.zeros((4, 4), np.uint8)
    half[:2] = 1
    assert coverage(half) == 0.5 and coverage_problem(half) is None


def _masks(*args):
    return CliRunner().invoke(cli, ["masks", *args])


def test_pgdata_masks_writes_a_reproducible_set(tmp_path):
    args = ["--n", "6", "--size", "32", "--seed", "3"]
    result = _masks(*args, "--out", str(tmp_path / "a"))
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().startswith(f"masks: wrote 6 masks of 32x32 to {tmp_path / 'a'} (")
    assert "center=2, box=2, boxes=1, brush=1" in result.stdout
    assert _masks(*args, "--out", str(tmp_path / "b")).exit_code == 0
    files = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert files == [f"{i:05d}.png" for i in range(6)] + ["masks.json"]
    for name in files:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    meta = json.loads((tmp_path / "a" / "masks.json").read_text())
    assert meta["config"] == {"n": 6, "size": 32, "kinds": list(MASK_KINDS), "seed": 3}
    # mask i is kind i % 4 drawn from rng (seed, i), stored as 255 = hole
    for i, rec in enumerate(meta["masks"]):
        grey = cv2.imread(str(tmp_path / "a" / rec["file"]), cv2.IMREAD_GRAYSCALE)
        want = make_mask(MASK_KINDS[i % 4], (32, 32), np.random.default_rng((3, i)))
        assert rec["kind"] == MASK_KINDS[i % 4] and np.array_equal(grey, want * 255)
        assert rec["coverage"] == pytest.approx(want.mean())
    assert np.array_equal(
        read_mask_set(tmp_path / "a", (32, 32))[2],
        make_mask("boxes", (32, 32), np.random.default_rng((3, 2))),
    )
    other = _masks("--n", "6", "--size", "32", "--seed", "4", "--out", str(tmp_path / "c"))
    assert (tmp_path / "c" / "00001.png").read_bytes() != (
        tmp_path / "a" / "00001.png"
    ).read_bytes()
    assert other.exit_code == 0


def test_pgdata_masks_refuses_another_set_unless_overwrite(tmp_path):
    out = tmp_path / "m"
    assert _masks("--n", "4", "--size", "16", "--out", str(out)).exit_code == 0
    again = _masks("--n", "4", "--size", "16", "--out", str(out))
    assert again.exit_code == 0  # the same set: rewritten identically
    other = _masks("--n", "2", "--size", "16", "--seed", "1", "--out", str(out))
    assert other.exit_code == 1
    assert other.stderr.strip().splitlines() == [
        f"Error: {out}: holds other files or another mask set; choose an empty folder or pass --overwrite"
    ]
    assert (
        _masks(
            "--n", "2", "--size", "16", "--seed", "1", "--out", str(out), "--overwrite"
        ).exit_code
        == 0
    )
    assert sorted(p.name for p in out.iterdir()) == ["00000.png", "00001.png", "masks.json"]
    bad = _masks("--n", "2", "--out", str(tmp_path / "x"), "--kinds", "box,ring")
    assert bad.exit_code == 2 and "['ring'] not in" in bad.output
    help_text = _masks("--help").stdout.rstrip()
    assert help_text.splitlines()[-1].strip().startswith("pgdata train --config dmfn")


def test_read_mask_set_names_the_file_that_does_not_fit(tmp_path):
    for i in range(3):
        (tmp_path / f"{i:05d}.png").write_bytes(encode_png(center_mask((16, 16)) * np.uint8(255)))
    assert read_mask_set(tmp_path, (16, 16)).shape == (3, 16, 16)
    with pytest.raises(InputFormatError, match=r"00000.png: mask is 16x16, the images are 32x32"):
        read_mask_set(tmp_path, (32, 32))
    (tmp_path / "00002.png").write_bytes(encode_png(np.full((16, 16), 255, np.uint8)))
    with pytest.raises(InputFormatError, match=r"00002.png: mask covers everything"):
        read_mask_set(tmp_path, (16, 16))
    (tmp_path / "00001.png").write_bytes(encode_png(np.full((16, 16), 127, np.uint8)))  # < 128
    with pytest.raises(InputFormatError, match=r"00001.png: mask covers nothing"):
        read_mask_set(tmp_path, (16, 16))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputFormatError, match="holds no mask images"):
        read_mask_set(empty, (16, 16))
