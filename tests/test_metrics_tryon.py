"""HR-VITON's evaluate.py protocol: Pillow greyscale + skimage SSIM, Pillow resize + LPIPS."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from skimage.metrics import structural_similarity

from pgdata.metrics.folders import FolderScoreConfig, score_folders
from pgdata.metrics.lpips import load_lpips_alex, lpips_preset
from pgdata.metrics.tryon import hrviton_ssim, pil_grey
from tests.metrics_images import (  # noqa: F401  (one_thread is a fixture)
    degrade,
    one_thread,
    pair_folders,
    person,
    random_image,
    random_weights_dir,
    to_batch,
)

pytestmark = pytest.mark.usefixtures("one_thread")


def test_grey_is_pillows_convert_l() -> None:
    images = [random_image(s, (37, 29)) for s in range(3)] + [person(1)]
    for img in images:
        want = np.asarray(Image.fromarray(img).convert("L"))
        got = pil_grey(to_batch(img))[0, 0].numpy()
        assert np.array_equal(got, want)


def test_ssim_is_hrviton_evaluate_py() -> None:
    pairs = [(degrade(person(s), s), person(s)) for s in (2, 3)] + [
        (random_image(5), random_image(6))
    ]
    got = hrviton_ssim(to_batch(*(p for p, _ in pairs)), to_batch(*(g for _, g in pairs)))
    for i, (pred, gt) in enumerate(pairs):
        gt_np = np.asarray(Image.fromarray(gt).convert("L"))
        pred_np = np.asarray(Image.fromarray(pred).convert("L"))
        want = structural_similarity(
            gt_np, pred_np, data_range=255, gaussian_weights=True, use_sample_covariance=False
        )
        assert abs(float(got[i]) - want) < 1e-12


def test_folder_scoring_with_the_hrviton_presets(tmp_path: Path) -> None:
    pred, gt = pair_folders(tmp_path / "data", 3, size_hw=(96, 72))
    weights = random_weights_dir(tmp_path / "w")
    cfg = FolderScoreConfig(
        pred,
        gt,
        presets=("ssim_hrviton", "lpips_hrviton", "lpips_alex"),
        weights=weights,
        check_weights=False,
    )
    res = score_folders(cfg)
    model, _ = load_lpips_alex(weights, weights / "alex.pth", check=False)
    for name in ("img0.png", "img1.png", "img2.png"):
        p, g = (np.asarray(Image.open(d / name).convert("RGB")) for d in (pred, gt))
        small = [np.asarray(Image.fromarray(x).resize((128, 128), Image.BILINEAR)) for x in (p, g)]
        want = float(lpips_preset(model, to_batch(small[0]), to_batch(small[1]))[0])
        assert res.per_image[name]["lpips_hrviton"] == pytest.approx(want, abs=1e-6)
        assert res.per_image[name]["lpips_hrviton"] != res.per_image[name]["lpips_alex"]
        gp, gg = (np.asarray(Image.fromarray(x).convert("L")) for x in (p, g))
        want_ssim = structural_similarity(
            gg, gp, data_range=255, gaussian_weights=True, use_sample_covariance=False
        )
        assert res.per_image[name]["ssim_hrviton"] == pytest.approx(want_ssim, abs=1e-12)
    assert res.values["ssim_hrviton"].n == 3
    assert torch.isfinite(torch.tensor(res.values["lpips_hrviton"].value))
