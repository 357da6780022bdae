"""The compiled CPU kernels of the pairwise metrics against skimage and the torch path.

``pair_metrics`` sends uint8 CPU batches to :mod:`pgdata.metrics.kernels` and everything else
(float images, other devices) to the torch path; both must give skimage's values.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from skimage.metrics import structural_similarity as sk_ssim

from pgdata.metrics import kernels
from pgdata.metrics.pairwise import pair_metrics
from pgdata.metrics.ssim import GFLA_WINDOW, K1, K2, gaussian_kernel1d
from tests.metrics_images import degrade, person, random_image

PRESETS = ("psnr", "ssim_patn", "ssim_gfla51")


def _padded(img: np.ndarray, width: int | None) -> np.ndarray:
    if width is None:
        return img.astype(np.float64)
    left = (width - img.shape[1]) // 2
    out = np.full((img.shape[0], width, img.shape[2]), 255.0)
    out[:, left : left + img.shape[1]] = img
    return out


def _skimage(pred: np.ndarray, gt: np.ndarray, width: int | None) -> tuple[float, float, float]:
    """The three presets of one pair as the reference scripts compute them, in float64."""
    p, g = _padded(pred, width), _padded(gt, width)
    mse = np.mean((p / 255.0 - g / 255.0) ** 2)
    psnr = 10 * np.log10(1.0 / mse) if mse > 0 else np.inf
    patn = sk_ssim(
        g,
        p,
        gaussian_weights=True,
        sigma=1.5,
        use_sample_covariance=False,
        channel_axis=-1,
        data_range=p.max() - p.min(),
    )
    gfla = sk_ssim(g / 255.0, p / 255.0, data_range=1, win_size=51, channel_axis=-1)
    return float(psnr), float(patn), float(gfla)


def _batch(images: list[np.ndarray]) -> torch.Tensor:
    return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2)


CASES = {
    # (H, W) and padded width: DeepFashion padded and not, odd sizes, the smallest that fit,
    # an asymmetric pad, and a try-on frame (int32 column sums at 1024 rows stay exact)
    "deepfashion-pad": ((256, 176), 256),
    "deepfashion": ((256, 176), None),
    "odd": ((77, 61), None),
    "odd-pad": ((53, 52), 75),
    "smallest": ((51, 51), None),
    "tryon": ((1024, 768), None),
}


@pytest.mark.parametrize("case", list(CASES))
def test_kernels_match_skimage(case: str) -> None:
    (h, w), width = CASES[case]
    seeds = (1, 2) if h < 1024 else (1,)
    gts = [person(s, (h, w)) if min(h, w) >= 64 else random_image(s, (h, w)) for s in seeds]
    preds = [degrade(g, s + 10) for s, g in zip(seeds, gts, strict=True)]
    got = pair_metrics(_batch(preds), _batch(gts), PRESETS, width, workers=1)
    expect = np.array([_skimage(p, g, width) for p, g in zip(preds, gts, strict=True)])
    np.testing.assert_allclose(got["psnr"].numpy(), expect[:, 0], rtol=0, atol=1e-9)
    np.testing.assert_allclose(got["ssim_patn"].numpy(), expect[:, 1], rtol=0, atol=1e-6)
    np.testing.assert_allclose(got["ssim_gfla51"].numpy(), expect[:, 2], rtol=0, atol=1e-12)


def test_kernels_equal_the_torch_path() -> None:
    """Float [0, 1] input takes the torch path: the same values as uint8 through the kernels."""
    gts = [person(s) for s in (3, 4, 5)]
    preds = [degrade(g, s) for s, g in enumerate(gts)]
    u8p, u8g = _batch(preds), _batch(gts)
    for width in (None, 256):
        compiled = pair_metrics(u8p, u8g, PRESETS, width, workers=2)
        torch_path = pair_metrics(u8p / 255.0, u8g / 255.0, PRESETS, width, workers=2)
        for name in PRESETS:
            torch.testing.assert_close(compiled[name], torch_path[name], rtol=0, atol=2e-6)


def test_memory_layout_and_subsets() -> None:
    """NCHW-contiguous and channels-last batches agree; a subset computes only what it names."""
    gts = [person(s) for s in (6, 7)]
    preds = [degrade(g, s) for s, g in enumerate(gts)]
    last_p, last_g = _batch(preds), _batch(gts)  # channels-last memory
    first_p, first_g = last_p.contiguous(), last_g.contiguous()
    a = pair_metrics(last_p, last_g, PRESETS, 256, workers=1)
    b = pair_metrics(first_p, first_g, PRESETS, 256, workers=1)
    for name in PRESETS:
        torch.testing.assert_close(a[name], b[name], rtol=0, atol=0)
    only = pair_metrics(first_p, first_g, ("ssim_gfla51",), 256, workers=1)
    assert list(only) == ["ssim_gfla51"]
    torch.testing.assert_close(only["ssim_gfla51"], a["ssim_gfla51"], rtol=0, atol=0)


def test_identical_and_flat_images() -> None:
    """Identical pairs: PSNR inf, SSIM 1. A flat prediction has data range 0, so C1 = C2 = 0 and
    unpadded SSIM is a ratio of float32 round-off (skimage: 0): it stays below 1e-4; with the
    white bands the range is set and the value is skimage's."""
    g = person(8)
    same = pair_metrics(_batch([g]), _batch([g]), PRESETS, None, workers=1)
    assert torch.isinf(same["psnr"]).all()
    torch.testing.assert_close(same["ssim_patn"], torch.ones(1, dtype=torch.float64))
    torch.testing.assert_close(same["ssim_gfla51"], torch.ones(1, dtype=torch.float64))
    flat = np.full_like(g, 128)
    unpadded = pair_metrics(_batch([flat]), _batch([g]), PRESETS, None, workers=1)
    padded = pair_metrics(_batch([flat]), _batch([g]), PRESETS, 256, workers=1)
    for width, got in ((None, unpadded), (256, padded)):
        psnr, patn, gfla = _skimage(flat, g, width)
        assert abs(float(got["psnr"][0]) - psnr) < 1e-9
        assert abs(float(got["ssim_patn"][0]) - patn) < (1e-4 if width is None else 1e-6)
        assert abs(float(got["ssim_gfla51"][0]) - gfla) < 1e-12


def test_pair_values_rejects_what_it_cannot_compute() -> None:
    x = np.zeros((1, 60, 60, 3), np.uint8)
    taps = gaussian_kernel1d().numpy()
    with pytest.raises(ValueError, match="uint8"):
        kernels.pair_values(x.astype(np.float32), x, 60, taps, GFLA_WINDOW, K1, K2)
    with pytest.raises(ValueError, match="symmetric 11-tap"):
        kernels.pair_values(x, x, 60, gaussian_kernel1d(sigma=2.0).numpy(), None, K1, K2)
    psnr_only = kernels.pair_values(x, x, 60, None, None, K1, K2)
    assert psnr_only[0, 0] == 0 and np.isnan(psnr_only[0, 1:]).all()
