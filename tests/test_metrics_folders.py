"""Scoring two folders: matching, bad inputs, skipped presets, values, the FID real-set cache."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio as sk_psnr

from pgdata.errors import InputFormatError, WeightsError
from pgdata.io.images import read_rgb
from pgdata.metrics.evaluators import FidEvaluator
from pgdata.metrics.fid import frechet_distance, load_stats
from pgdata.metrics.fid_features import load_fid_network
from pgdata.metrics.folders import FolderScoreConfig, score_folders
from tests.metrics_images import (  # noqa: F401 (one_thread is a fixture)
    one_thread,
    pair_folders,
    random_weights_dir,
    to_batch,
    write_png,
)

PAIRWISE = ("psnr", "ssim_patn", "ssim_gfla51")


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path]:
    return pair_folders(tmp_path / "data", 5)


@pytest.fixture(autouse=True)
def _no_user_weights(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never see weight files of the machine they run on."""
    monkeypatch.setenv("PGDATA_WEIGHTS_DIR", str(tmp_path / "no-weights"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "no-torch-home"))


def test_values_match_per_image_reference(folders: tuple[Path, Path]) -> None:
    pred, gt = folders
    res = score_folders(FolderScoreConfig(pred, gt, presets=PAIRWISE, batch_size=2))
    assert [p.name for p in res.pairs] == [f"img{i}.png" for i in range(5)]
    expect = [
        sk_psnr(read_rgb(gt / n) / 255.0, read_rgb(pred / n) / 255.0, data_range=1)
        for n in sorted(p.name for p in res.pairs)
    ]
    # folder scoring runs in float32, like DPTN's arrays: within 1e-5 dB of float64 skimage
    assert res.values["psnr"].value == pytest.approx(float(np.mean(expect)), rel=0, abs=1e-5)
    assert res.values["psnr"].n == 5
    for i, name in enumerate(sorted(res.per_image)):
        assert res.per_image[name]["psnr"] == pytest.approx(expect[i], rel=0, abs=1e-5)
    assert set(res.per_image["img0.png"]) == set(PAIRWISE)
    assert not res.missing and not res.extra and not res.unreadable


def test_missing_and_extra_listed_strict_is_an_error(folders: tuple[Path, Path]) -> None:
    pred, gt = folders
    (pred / "img4.png").unlink()
    write_png(pred / "stray.png", np.zeros((64, 56, 3), np.uint8))
    res = score_folders(FolderScoreConfig(pred, gt, presets=("psnr",)))
    assert res.missing == ["img4.png"] and res.extra == ["stray.png"]
    assert len(res.pairs) == 4 and "1 missing; 1 extra" in res.summary()
    with pytest.raises(InputFormatError, match=r"1 missing \(img4.png\); 1 extra \(stray.png\)"):
        score_folders(FolderScoreConfig(pred, gt, presets=("psnr",), strict=True))


def test_match_by_stem(folders: tuple[Path, Path]) -> None:
    pred, gt = folders
    for p in pred.iterdir():
        p.rename(p.with_suffix(".PNG").with_name(p.stem + ".bmp"))
    with pytest.raises(InputFormatError, match="no file name in common"):
        score_folders(FolderScoreConfig(pred, gt, presets=("psnr",)))
    res = score_folders(FolderScoreConfig(pred, gt, presets=("psnr",), match="stem"))
    assert len(res.pairs) == 5


def test_size_mismatch_names_the_pair(folders: tuple[Path, Path]) -> None:
    pred, gt = folders
    write_png(pred / "img2.png", np.zeros((64, 50, 3), np.uint8))
    with pytest.raises(InputFormatError) as err:
        score_folders(FolderScoreConfig(pred, gt, presets=("psnr",)))
    msg = str(err.value)
    assert str(pred / "img2.png") in msg and str(gt / "img2.png") in msg and "50×64" in msg


def test_unreadable_images_counted_and_skipped_unless_strict(folders: tuple[Path, Path]) -> None:
    pred, gt = folders
    (pred / "img1.png").write_bytes(b"")
    (gt / "img3.png").write_bytes(b"\x89PNG truncated")
    res = score_folders(FolderScoreConfig(pred, gt, presets=("psnr",)))
    assert len(res.pairs) == 3 and res.values["psnr"].n == 3
    assert [Path(p).name for p, _ in res.unreadable] == ["img1.png", "img3.png"]
    assert "zero-byte" in res.unreadable[0][1] and "2 unreadable" in res.summary()
    with pytest.raises(InputFormatError, match="img1.png: zero-byte image file"):
        score_folders(FolderScoreConfig(pred, gt, presets=("psnr",), strict=True))


def test_empty_or_absent_folder(tmp_path: Path, folders: tuple[Path, Path]) -> None:
    pred, gt = folders
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("no images here")
    with pytest.raises(InputFormatError, match="no images in this folder"):
        score_folders(FolderScoreConfig(empty, gt))
    with pytest.raises(InputFormatError, match="folder not found"):
        score_folders(FolderScoreConfig(pred, tmp_path / "nope"))


def test_absent_weights_skip_with_reason_wrong_weights_fail(
    tmp_path: Path, folders: tuple[Path, Path]
) -> None:
    pred, gt = folders
    res = score_folders(
        FolderScoreConfig(pred, gt, presets=("psnr", "fid_tf", "lpips_alex", "params"))
    )
    assert res.values["psnr"].value is not None
    for name, needle in (
        ("fid_tf", "pt_inception-2015-12-05-6726825d.pth (sha256 6726825d…)"),
        ("lpips_alex", "alexnet-owt-7be5be79.pth (sha256 7be5be79…)"),
        ("params", "needs a generator"),
    ):
        mv = res.values[name]
        assert mv.value is None and mv.skipped is not None and needle in mv.skipped
    weights = random_weights_dir(tmp_path / "w")  # right names, wrong bytes
    match = "alexnet-owt-7be5be79.pth: sha256 .* does not start with 7be5be79"  # checked first
    with pytest.raises(WeightsError, match=match):
        score_folders(FolderScoreConfig(pred, gt, presets=("lpips_alex",), weights=weights))


def test_lpips_with_random_weights_and_small_images(tmp_path: Path) -> None:
    pred, gt = pair_folders(tmp_path / "small", 3, size_hw=(40, 32))
    weights = random_weights_dir(tmp_path / "w")
    cfg = FolderScoreConfig(
        pred, gt, presets=("ssim_gfla51", "lpips_alex"), weights=weights, check_weights=False
    )
    res = score_folders(cfg)
    assert (
        res.values["ssim_gfla51"].skipped == "images of 32×40 are smaller than the 51-pixel window"
    )
    lp = res.values["lpips_alex"]
    assert lp.n == 3 and lp.value is not None and lp.value > 0
    assert set(lp.extra["weights_sha256"]) == {"backbone_sha256", "heads_sha256"}  # type: ignore[arg-type]


def test_pad_white_wider_images_is_an_error(folders: tuple[Path, Path]) -> None:
    pred, gt = folders
    with pytest.raises(Exception, match="wider than the padded width"):
        score_folders(FolderScoreConfig(pred, gt, presets=("psnr",), pad_white=48))


@pytest.mark.usefixtures("one_thread")
def test_fid_real_statistics_cached_by_set_hash(tmp_path: Path) -> None:
    """The one test that runs the real Inception (random weights): 2 pairs, 8 forward passes."""
    pred, gt = pair_folders(tmp_path / "data", 2, size_hw=(48, 40))
    weights = random_weights_dir(tmp_path / "w", fid=True)
    cache = tmp_path / "cache"
    cfg = FolderScoreConfig(
        pred, gt, presets=("fid_tf",), weights=weights, check_weights=False, cache_dir=cache,
        fid_real_split="test",
    )  # fmt: skip
    first = score_folders(cfg).values["fid_tf"]
    files = list(cache.iterdir())
    assert len(files) == 1 and files[0].name.startswith("fid-stats-fid_tf-")
    real, meta = load_stats(files[0])
    assert real.n == 2 and meta["preset"] == "fid_tf"
    # independent recomputation of both sides in one batch from the same weights
    net, _ = load_fid_network("fid_tf", weights, check=False)
    names = ("img0.png", "img1.png")
    images = to_batch(*(read_rgb(d / n) for d in (pred, gt) for n in names))
    with torch.inference_mode():
        feats = net(images).double()
    p, g = feats[:2], feats[2:]
    expect = frechet_distance(g.mean(0), torch.cov(g.T), p.mean(0), torch.cov(p.T))
    assert first.value == pytest.approx(expect, rel=1e-5) and first.value > 0
    torch.testing.assert_close(real.mean, g.mean(0), rtol=0, atol=1e-5)
    assert first.extra["split"] == "test" and first.extra["real_n"] == 2
    assert first.extra["cache"] == str(files[0]) and len(str(first.extra["weights_sha256"])) == 64


class _CheapFeatures(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.float().flatten(1)[:, :1].expand(-1, 2048)


def test_fid_needs_two_images() -> None:
    """Checked on the evaluator with a cheap feature map (no Inception pass needed)."""
    net = _CheapFeatures()
    ev = FidEvaluator("fid_tf", net, "0" * 64, "cpu", None, {"split": None})
    one = torch.zeros(1, 3, 4, 4, dtype=torch.uint8)
    ev.update(["a.png"], one, one)
    mv = ev.result()
    assert mv.value is None and mv.skipped == "FID needs at least 2 images per set"
