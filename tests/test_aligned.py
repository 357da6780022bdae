"""pix2pix's aligned data: A|B kernels, `pgdata combine-ab`, the aligned sample, `pgdata build
--recipe aligned` (odd widths skipped and counted, or refused with --strict) and the loader's
shared crop and flip."""

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from pgdata.cli import cli
from pgdata.data import AlignedDataset
from pgdata.io.reports import read_rejected_csv
from pgdata.stages.aligned import ab_problem, combine_ab, pair_problem, split_ab


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


def _write(path, image):
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))


def _noise(seed, h, w):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_kernels_split_combine_and_name_bad_halves():
    a, b = _noise(0, 4, 3), _noise(1, 4, 3)
    ab = combine_ab(a, b)
    assert ab.shape == (4, 6, 3) and np.array_equal(ab[:, :3], a) and np.array_equal(ab[:, 3:], b)
    left, right = split_ab(ab)
    assert np.array_equal(left, a) and np.array_equal(right, b)
    assert ab_problem((4, 6)) is None
    assert ab_problem((4, 7)) == "odd width (7: halves of 3 and 4 columns would differ)"
    assert ab_problem((4, 1)) == "too small for two halves (1x4)"
    with pytest.raises(ValueError, match="odd width"):
        split_ab(np.zeros((4, 7, 3), np.uint8))
    assert pair_problem((4, 3), (4, 3)) is None
    assert pair_problem((4, 3), (5, 3)) == "halves differ in size: A is 3x4, B is 3x5 (WxH)"
    with pytest.raises(ValueError, match="halves differ in size"):
        combine_ab(a, np.zeros((5, 3, 3), np.uint8))


@pytest.fixture
def pairs(tmp_path):
    """A/ and B/ with train/ and test/: 3 good pairs, one size mismatch, one orphan on each side."""
    a, b = tmp_path / "A", tmp_path / "B"
    for split, name, seed in (("train", "p0", 0), ("train", "p1", 1), ("test", "p2", 2)):
        _write(a / split / f"{name}.png", _noise(seed, 8, 6))
        _write(b / split / f"{name}.png", _noise(seed + 10, 8, 6))
    _write(a / "train" / "big.png", _noise(3, 8, 6))
    _write(b / "train" / "big.png", _noise(4, 10, 6))
    _write(a / "train" / "only_a.png", _noise(5, 8, 6))
    _write(b / "test" / "only_b.png", _noise(6, 8, 6))
    return a, b


def test_combine_ab_puts_a_left_of_b_and_counts_what_it_skips(pairs, tmp_path):
    a, b = pairs
    out = tmp_path / "AB"
    result = _ok(_run("combine-ab", a, b, "--out", out))
    assert result.stdout.strip() == (
        f"combine-ab: wrote 3 A|B images to {out} (train 2, test 1); "
        "skipped 3: halves differ in size=1, no partner=2"
    )
    for split, name in (("train", "p0"), ("train", "p1"), ("test", "p2")):
        got = cv2.cvtColor(cv2.imread(str(out / split / f"{name}.png")), cv2.COLOR_BGR2RGB)
        left = cv2.cvtColor(cv2.imread(str(a / split / f"{name}.png")), cv2.COLOR_BGR2RGB)
        right = cv2.cvtColor(cv2.imread(str(b / split / f"{name}.png")), cv2.COLOR_BGR2RGB)
        assert np.array_equal(got, np.concatenate([left, right], axis=1))
    rows = dict(read_rejected_csv(out / "rejected.csv"))
    assert rows[str(a / "train" / "big.png")].startswith(
        "halves differ in size: A is 6x8, B is 6x10"
    )
    assert rows[str(a / "train" / "only_a.png")].startswith("no partner")
    assert rows[str(b / "test" / "only_b.png")].startswith("no partner")


def test_combine_ab_strict_stops_before_writing(pairs, tmp_path):
    a, b = pairs
    out = tmp_path / "AB"
    err = _error(_run("combine-ab", a, b, "--out", out, "--strict"))
    assert "(--strict)" in err and ("no partner" in err or "halves differ" in err)
    assert not out.exists()
    help_text = _run("combine-ab", "--help").stdout.rstrip().splitlines()
    assert help_text[-1].strip().startswith("pgdata build --recipe aligned")


def test_aligned_sample_is_reproducible(tmp_path):
    args = ["--kind", "aligned", "--ids", "4", "--size", "32x32"]
    line = _ok(_run("sample", "--out", tmp_path / "a", *args)).stdout.strip()
    assert line == (
        f"sample: wrote 6 A|B images (64x32: label map | rendering) to {tmp_path / 'a'} "
        "(train 4, val 1, test 1)"
    )
    _ok(_run("sample", "--out", tmp_path / "b", *args))
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.png"))
    assert [str(f) for f in files] == [
        f"test/facade_{5:05d}.png",
        *[f"train/facade_{i:05d}.png" for i in range(4)],
        "val/facade_00004.png",
    ]
    for f in files:
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes()
        assert cv2.imread(str(tmp_path / "a" / f)).shape == (32, 64, 3)


def test_build_skips_odd_widths_or_refuses_them_with_strict(tmp_path):
    src = tmp_path / "src"
    _ok(_run("sample", "--out", src, "--kind", "aligned", "--ids", "4", "--size", "16x16"))
    odd = src / "train" / "odd.png"
    _write(odd, _noise(9, 16, 33))
    err = _error(
        _run("build", "--recipe", "aligned", "--source", src, "--out", tmp_path / "s1", "--strict")
    )
    assert err == (
        f"Error: {odd}: not an A|B image: odd width (33: halves of 16 and 17 columns would "
        "differ) (--strict)"
    )
    assert not (tmp_path / "s1").exists()

    out = tmp_path / "s2"
    line = _ok(_run("build", "--recipe", "aligned", "--source", src, "--out", out)).stdout
    assert (
        line.strip()
        .splitlines()[-1]
        .endswith("MB; train 4, val 1, test 1 images); skipped 1: odd width=1")
    )
    assert read_rejected_csv(out / "rejected.csv") == [
        ("train/odd.png", "odd width (33: halves of 16 and 17 columns would differ)")
    ]
    # the A|B files are stored byte for byte; the loader splits them back
    ds = AlignedDataset(out, "train", load_size=16, crop_size=16, augment=False)
    assert len(ds) == 4 and ds[0]["name"] == "facade_00000.png"
    whole = cv2.cvtColor(cv2.imread(str(src / "train" / "facade_00000.png")), cv2.COLOR_BGR2RGB)
    assert np.array_equal(ds[0]["A"].permute(1, 2, 0).numpy(), whole[:, :16])
    assert np.array_equal(ds[0]["B"].permute(1, 2, 0).numpy(), whole[:, 16:])
    sized = _run(
        "build",
        "--recipe",
        "aligned",
        "--source",
        src,
        "--out",
        tmp_path / "s3",
        "--image-size",
        "16x16",
    )
    assert sized.exit_code == 2 and "image_hw: not used by aligned recipes" in sized.output


def _find(window, image):
    """(top, left, flipped) where ``window`` occurs in ``image`` or its mirror, else None."""
    h, w = window.shape[:2]
    for flipped, img in ((False, image), (True, image[:, ::-1])):
        for top in range(image.shape[0] - h + 1):
            for left in range(image.shape[1] - w + 1):
                if np.array_equal(img[top : top + h, left : left + w], window):
                    return top, left, flipped
    return None


def test_augmentation_crops_and_flips_both_halves_alike(tmp_path):
    src = tmp_path / "src" / "train"
    for i in range(6):  # identical halves: after a shared crop and flip they stay identical
        half = _noise(i, 32, 32)
        _write(src / f"{i}.png", np.concatenate([half, half], axis=1))
    _ok(_run("build", "--recipe", "aligned", "--source", tmp_path / "src", "--out", tmp_path / "s"))
    ds = AlignedDataset(tmp_path / "s", "train", load_size=40, crop_size=32, seed=1)
    seen = set()
    for epoch in (0, 1):
        ds.set_epoch(epoch)
        for i in range(len(ds)):
            item = ds[i]
            a, b = (item[k].permute(1, 2, 0).numpy() for k in ("A", "B"))
            assert a.shape == (32, 32, 3) and np.array_equal(a, b)
            # a 32x32 window of the 40x40 bicubic resize, maybe mirrored
            half = cv2.cvtColor(cv2.imread(str(src / item["name"])), cv2.COLOR_BGR2RGB)[:, :32]
            found = _find(a, cv2.resize(half, (40, 40), interpolation=cv2.INTER_CUBIC))
            assert found is not None
            seen.add(found)
        again = [ds[i]["A"] for i in range(len(ds))]
        assert all(np.array_equal(x, ds[i]["A"]) for i, x in enumerate(again))  # seeded
    assert len({s[:2] for s in seen}) > 3 and {s[2] for s in seen} == {False, True}
