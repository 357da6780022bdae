"""PSNR and SSIM presets against ``skimage.metrics`` with the reference scripts' exact parameters."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio as sk_psnr
from skimage.metrics import structural_similarity as sk_ssim

from pgdata.metrics.images import pad_white
from pgdata.metrics.pairwise import pair_metrics
from pgdata.metrics.psnr import psnr, psnr_preset
from pgdata.metrics.ssim import (
    _filter_valid_cv2,
    _filter_valid_torch,
    gaussian_kernel1d,
    ssim,
    ssim_gfla51,
    ssim_patn,
    uniform_kernel1d,
)
from tests.metrics_images import astronaut, degrade, person, random_image, to_batch

PAD = 256


def _pad_np(img: np.ndarray) -> np.ndarray:
    """DPTN's ``pad_256``: a 256×256 float canvas of 255 with the image at columns 40..215."""
    out = np.ones((256, 256, 3), dtype=float) * 255
    out[:, 40:216, :] = img
    return out


def _sk_patn(pred: np.ndarray, gt: np.ndarray, pad: bool) -> float:
    p, g = (_pad_np(pred), _pad_np(gt)) if pad else (pred.astype(float), gt.astype(float))
    return float(
        sk_ssim(
            g,
            p,
            gaussian_weights=True,
            sigma=1.5,
            use_sample_covariance=False,
            channel_axis=-1,
            data_range=p.max() - p.min(),
        )
    )


def _sk_gfla51(pred: np.ndarray, gt: np.ndarray, pad: bool) -> float:
    p, g = (_pad_np(pred), _pad_np(gt)) if pad else (pred.astype(float), gt.astype(float))
    return float(sk_ssim(g / 255.0, p / 255.0, data_range=1, win_size=51, channel_axis=-1))


def _sk_psnr(pred: np.ndarray, gt: np.ndarray, pad: bool) -> float:
    p, g = (_pad_np(pred), _pad_np(gt)) if pad else (pred.astype(float), gt.astype(float))
    return float(sk_psnr(g / 255.0, p / 255.0, data_range=1))


def _pairs() -> list[tuple[np.ndarray, np.ndarray]]:
    photo = astronaut()
    target = person(3)
    dark = (degrade(person(5), 1) * 0.6).astype(np.uint8)  # pred range well below 255
    return [
        (random_image(1), random_image(2)),
        (degrade(photo, 7), photo),
        (degrade(target, 8), target),
        (dark, person(5)),
    ]


PAIRS = _pairs()
PRED = to_batch(*(p for p, _ in PAIRS))
GT = to_batch(*(g for _, g in PAIRS))


@pytest.mark.parametrize("pad", [False, True])
@pytest.mark.parametrize(
    ("preset", "reference"),
    [(ssim_patn, _sk_patn), (ssim_gfla51, _sk_gfla51)],
    ids=["ssim_patn", "ssim_gfla51"],
)
def test_ssim_presets_match_skimage(preset, reference, pad: bool) -> None:  # type: ignore[no-untyped-def]
    expect = torch.tensor([reference(p, g, pad) for p, g in PAIRS], dtype=torch.float64)
    got64 = preset(PRED, GT, PAD if pad else None, dtype=torch.float64)
    got32 = preset(PRED, GT, PAD if pad else None)
    torch.testing.assert_close(got64, expect, rtol=0, atol=1e-12)
    torch.testing.assert_close(got32, expect, rtol=0, atol=1e-6)


@pytest.mark.parametrize("pad", [False, True])
def test_psnr_preset_matches_skimage(pad: bool) -> None:
    expect = torch.tensor([_sk_psnr(p, g, pad) for p, g in PAIRS], dtype=torch.float64)
    torch.testing.assert_close(
        psnr_preset(PRED, GT, PAD if pad else None), expect, rtol=0, atol=1e-10
    )


def test_padding_moves_the_scores_as_published() -> None:
    """White bands raise PATN-SSIM and PSNR (metrics.md: 0.474 → 0.629, 22.58 → 24.21 dB on a crop)."""
    for fn in (ssim_patn, ssim_gfla51, psnr_preset):
        assert (fn(PRED[1:3], GT[1:3], PAD) > fn(PRED[1:3], GT[1:3])).all()


def test_patn_data_range_is_the_generated_images() -> None:
    """Swapping prediction and target changes ssim_patn when their ranges differ (pair 3)."""
    a = ssim_patn(PRED[3:], GT[3:], dtype=torch.float64)
    b = ssim_patn(GT[3:], PRED[3:], dtype=torch.float64)
    ref_b = _sk_patn(PAIRS[3][1], PAIRS[3][0], pad=False)
    assert abs(float(a[0] - b[0])) > 1e-3
    assert abs(float(b[0]) - ref_b) < 1e-12


def test_identical_images() -> None:
    assert torch.isinf(psnr_preset(GT, GT)).all()
    ones = torch.ones(4, dtype=torch.float64)
    torch.testing.assert_close(ssim_gfla51(GT, GT), ones, rtol=0, atol=1e-6)  # float32
    torch.testing.assert_close(ssim_patn(GT, GT, PAD), ones, rtol=0, atol=1e-6)
    torch.testing.assert_close(ssim_patn(GT, GT, dtype=torch.float64), ones, rtol=0, atol=1e-12)


def test_psnr_is_per_image_with_data_range() -> None:
    x = torch.zeros(2, 3, 4, 4, dtype=torch.float64)
    y = x.clone()
    y[0] += 0.1  # MSE 0.01 → 20 dB
    y[1, 0, 0, 0] = 1.0  # MSE 1/48 → 10·log10(48)
    torch.testing.assert_close(
        psnr(y, x), torch.tensor([20.0, 10 * np.log10(48.0)], dtype=torch.float64)
    )
    torch.testing.assert_close(
        psnr(y * 255, x, data_range=255.0)[1],
        torch.tensor(10 * np.log10(48.0 * 255**2 / 255**2), dtype=torch.float64),
    )


def test_pad_white_layout() -> None:
    u8 = torch.zeros(1, 3, 4, 176, dtype=torch.uint8)
    out = pad_white(u8, 256)
    assert out.shape == (1, 3, 4, 256)
    assert (out[..., :40] == 255).all() and (out[..., 216:] == 255).all()
    assert (out[..., 40:216] == 0).all()
    f = pad_white(torch.zeros(1, 3, 2, 6), 10)
    assert (f[..., :2] == 1).all() and (f[..., 8:] == 1).all() and (f[..., 2:8] == 0).all()
    assert pad_white(f, 10) is f
    with pytest.raises(ValueError, match="cannot pad"):
        pad_white(f, 8)


@pytest.mark.parametrize("taps", [gaussian_kernel1d(), uniform_kernel1d(7)], ids=["gauss", "box"])
def test_opencv_and_torch_filters_agree(taps: torch.Tensor) -> None:
    maps = torch.rand(2, 5, 40, 30, dtype=torch.float64)
    k = taps.numel()
    # direct valid correlation as the definition
    w2 = torch.outer(taps, taps)
    expect = torch.nn.functional.conv2d(maps.reshape(10, 1, 40, 30), w2.view(1, 1, k, k))
    expect = expect.reshape(2, 5, 40 - k + 1, 30 - k + 1)
    torch.testing.assert_close(_filter_valid_cv2(maps, taps), expect, rtol=0, atol=1e-12)
    torch.testing.assert_close(_filter_valid_torch(maps, taps), expect, rtol=0, atol=1e-12)


def test_window_larger_than_image_is_an_error() -> None:
    x = torch.rand(1, 3, 40, 40)
    with pytest.raises(ValueError, match="smaller than the 51"):
        ssim(x, x, taps=uniform_kernel1d(51), data_range=1.0, sample_covariance=True)
    with pytest.raises(ValueError, match="one shape"):
        ssim_patn(PRED, GT[:, :, :, :100])


@pytest.mark.gpu
def test_cuda_matches_cpu() -> None:
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    for fn in (ssim_patn, ssim_gfla51, psnr_preset):
        cpu = fn(PRED, GT, PAD)
        gpu = fn(PRED.cuda(), GT.cuda(), PAD).cpu()
        torch.testing.assert_close(gpu, cpu, rtol=0, atol=1e-5)


@pytest.mark.parametrize("pad", [None, PAD])
def test_pair_metrics_equal_the_single_presets(pad: int | None) -> None:
    got = pair_metrics(PRED, GT, pad_white_to=pad, workers=2)
    torch.testing.assert_close(got["psnr"], psnr_preset(PRED, GT, pad), rtol=0, atol=1e-5)
    # float32 with the bands' exact 1s: within 1e-6 of the float64 presets (= skimage to 1e-12)
    f64 = torch.float64
    torch.testing.assert_close(got["ssim_patn"], ssim_patn(PRED, GT, pad, f64), rtol=0, atol=1e-6)
    torch.testing.assert_close(
        got["ssim_gfla51"], ssim_gfla51(PRED, GT, pad, f64), rtol=0, atol=1e-6
    )
    only = pair_metrics(PRED[:1], GT[:1], ("ssim_patn",), pad)
    assert set(only) == {"ssim_patn"}
    torch.testing.assert_close(only["ssim_patn"], got["ssim_patn"][:1])
    with pytest.raises(ValueError, match="not a pairwise preset"):
        pair_metrics(PRED, GT, ("lpips_alex",))
