"""Named metric presets: each one fixes a protocol, so every number pgdata writes says how it was made.

Published pose-transfer numbers compare only under the same protocol (padding, SSIM window and
``data_range``, FID network and resize, LPIPS backbone), and each of these choices moves a score
more than the gaps between methods. Every value in ``metrics.json`` is keyed by one of these names.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from pgdata.errors import ConfigError

__all__ = ["DEFAULT_PRESETS", "PRESETS", "Preset", "get_preset"]


@dataclass(frozen=True)
class Preset:
    """One metric protocol.

    Attributes:
        name: registry key (``ssim_patn``).
        family: ``psnr``, ``ssim``, ``fid``, ``lpips``, ``pckh``, ``params`` or ``speed``.
        label: column heading (``SSIM (PATN)``).
        protocol: one sentence stating exactly what is computed.
        higher_is_better: direction of "better" (``None``: neither, e.g. a size).
        per_image: scored per image pair (then averaged); ``False`` for set-level metrics.
        weights: pretrained files needed (``KNOWN_WEIGHTS`` names); absent files skip the preset.
        paddable: honours the white padding option (``pad_white``).
    """

    name: str
    family: str
    label: str
    protocol: str
    higher_is_better: bool | None
    per_image: bool
    weights: tuple[str, ...] = ()
    paddable: bool = False


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            "psnr",
            "psnr",
            "PSNR (dB)",
            "mean over pairs of per-image PSNR, RGB in [0, 1], data_range 1, MSE over all pixels "
            "and channels (skimage); optional white padding to 256 wide first (DPTN)",
            True,
            True,
            paddable=True,
        ),
        Preset(
            "ssim_patn",
            "ssim",
            "SSIM (PATN)",
            "Gaussian window σ 1.5 (11×11, truncate 3.5), population covariance, data_range = "
            "generated image max − min, RGB channels averaged, borders cropped (skimage); optional "
            "white padding 256×176 → 256×256 first (PATN/DPTN 'SSIM_256')",
            True,
            True,
            paddable=True,
        ),
        Preset(
            "ssim_gfla51",
            "ssim",
            "SSIM (51×51)",
            "uniform 51×51 window, sample covariance, data_range 1 on [0, 1], RGB channels "
            "averaged (GFLA/DPTN 'SSIM'); optional white padding first",
            True,
            True,
            paddable=True,
        ),
        Preset(
            "fid_tf",
            "fid",
            "FID (TF)",
            "TF-FID Inception pt_inception-2015-12-05, uint8 input, TF1 bilinear resize to 299, "
            "(x − 128)/128, 2048-d pool3, float64 statistics, trace-sqrt by symmetric eigh; real "
            "set as given (split recorded)",
            False,
            False,
            weights=("pt_inception-2015-12-05-6726825d.pth",),
        ),
        Preset(
            "fid_legacy_gfla",
            "fid",
            "FID (legacy GFLA)",
            "torchvision ImageNet Inception-v3, [0, 1] input, plain bilinear resize to 299, old "
            "pytorch-fid normalisation, batches of 64 with the last partial batch dropped; real "
            "statistics from the training images (as GFLA/DPTN)",
            False,
            False,
            weights=("inception_v3_google-0cc3c7bd.pth",),
        ),
        Preset(
            "lpips_alex",
            "lpips",
            "LPIPS (alex)",
            "LPIPS v0.1 linear heads on AlexNet, inputs x/127.5 − 1, unpadded, mean of per-pair "
            "distances",
            False,
            True,
            weights=("alexnet-owt-7be5be79.pth", "alex.pth"),
        ),
        Preset(
            "ssim_hrviton",
            "ssim",
            "SSIM (HR-VITON)",
            "HR-VITON's evaluate.py: Pillow greyscale (convert L), Gaussian σ 1.5 (11×11), "
            "population covariance, data_range 255, one channel, mean over pairs (try-on)",
            True,
            True,
        ),
        Preset(
            "lpips_hrviton",
            "lpips",
            "LPIPS (HR-VITON)",
            "HR-VITON's evaluate.py: both images resized to 128×128 by Pillow's bilinear filter, "
            "then LPIPS v0.1 alex on x/127.5 − 1, mean over pairs (try-on)",
            False,
            True,
            weights=("alexnet-owt-7be5be79.pth", "alex.pth"),
        ),
        Preset(
            "pckh",
            "pckh",
            "PCKh@0.5",
            "keypoints of the generated images from a keypoint backend vs the target annotation; "
            "correct within 0.5 × head box per axis (strict), micro average (PATN's script)",
            True,
            False,
        ),
        Preset(
            "params",
            "params",
            "Params (M)",
            "number of generator parameters (shared tensors once)",
            None,
            False,
        ),
        Preset(
            "speed",
            "speed",
            "Images/s",
            "generator inference images/s at batch 1 and 16 on the eval device, after warm-up "
            "(PyTorch eager); with pgdata eval --speed also ONNX Runtime on the CPU at batch 1",
            True,
            False,
        ),
    )
}

DEFAULT_PRESETS: tuple[str, ...] = ("psnr", "ssim_patn", "ssim_gfla51", "fid_tf", "lpips_alex")
"""What folder scoring computes unless told otherwise (all image-pair metrics, TF-FID)."""


def get_preset(name: str) -> Preset:
    """The preset called ``name``; :class:`ConfigError` naming the closest valid names otherwise."""
    try:
        return PRESETS[name]
    except KeyError:
        close = difflib.get_close_matches(name, PRESETS, n=2)
        hint = f" (did you mean {' or '.join(close)}?)" if close else ""
        raise ConfigError(
            f"unknown metric preset {name!r}{hint}; valid: {', '.join(PRESETS)}"
        ) from None
