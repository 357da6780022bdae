"""PSNR and both SSIM presets in one pass over a batch, sharing the work they have in common.

The three per-pair presets read the same images: :func:`pair_metrics` maps each chunk to [0, 1]
float32 and pads it once, builds the SSIM moment maps once and filters them with each window
(11×11 Gaussian for ``ssim_patn``, 51×51 box for ``ssim_gfla51``), and takes PSNR from the same
float32 buffers (MSE summed in float32 with pairwise summation: within 1e-5 dB of the float64
:func:`~pgdata.metrics.psnr.psnr_preset`). Values equal the single-preset functions to float32
round-off. This is what folder scoring and the benchmark run.

With white padding, work inside the bands is skipped where its result is known exactly: a window
that lies entirely inside one band sees two identical constant images, whose SSIM is exactly 1
(μx = μy, σ = 0: both factors are C/C), so only the window positions that touch the image are
filtered and scored, and the band positions enter the mean as 1.0 each (for DeepFashion's 40-pixel
bands: 60 of the 246 positions per row of the 11×11 window; none of the 51×51 window, which always
reaches the image). Pixels of the bands add 0 to the squared error, so PSNR sums the image columns
only and divides by the padded size.

On the CPU the batch is split over ``workers`` threads. uint8 batches on the CPU (what folder
scoring reads) go to the compiled kernels of :mod:`pgdata.metrics.kernels`, which do all three
presets in one pass per pair with the GIL released (3× faster on one thread than the OpenCV
filters of the torch path). Float batches and other devices take the torch path described above;
on the CPU its threads run with PyTorch's and OpenCV's own threads set to 1, since both levels at
once oversubscribe the cores (on 2 busy cores: 1.5–2.3× slower than threads over images alone).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext

import cv2
import torch

from pgdata.metrics.images import UINT8_MAX, Workspace, check_pair, chunks, unit_float_padded
from pgdata.metrics.ssim import (
    GFLA_WINDOW,
    K1,
    K2,
    filter_valid,
    gaussian_kernel1d,
    moment_maps,
    ssim_from_filtered,
    uniform_kernel1d,
)

__all__ = ["PAIRWISE_PRESETS", "pair_metrics", "touching_columns"]

PAIRWISE_PRESETS = ("psnr", "ssim_patn", "ssim_gfla51")
CPU_CHUNK = 1  # images per pass on CPU: one image's 12 moment planes (3 MB at 256²) stay in cache


@contextmanager
def _one_inner_thread() -> Iterator[None]:
    """PyTorch's and OpenCV's own threads set to 1 meanwhile (process-wide; restored after)."""
    torch_before, cv2_before = torch.get_num_threads(), cv2.getNumThreads()
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    try:
        yield
    finally:
        torch.set_num_threads(torch_before)
        cv2.setNumThreads(cv2_before)


def touching_columns(width: int, image_width: int, k: int) -> tuple[int, int]:
    """Valid ``k``-window positions ``[lo, hi)`` of a row ``width`` wide that reach the image.

    The image occupies columns ``[left, left + image_width)`` with ``left = (width −
    image_width) // 2`` (:func:`~pgdata.metrics.images.pad_white`); valid position ``j`` covers
    columns ``[j, j + k)``. Positions outside ``[lo, hi)`` lie entirely inside a white band.
    """
    left = (width - image_width) // 2
    return max(0, left - k + 1), min(width - k + 1, left + image_width)


def pair_metrics(
    pred: torch.Tensor,
    target: torch.Tensor,
    presets: Sequence[str] = PAIRWISE_PRESETS,
    pad_white_to: int | None = None,
    workers: int | None = None,
) -> dict[str, torch.Tensor]:
    """Per-pair values of ``presets`` (a subset of :data:`PAIRWISE_PRESETS`).

    Args:
        pred, target: ``(B, 3, H, W)`` uint8 (or [0, 1] float) batches of one shape.
        presets: which values to compute.
        pad_white_to: white padding width for all of them (``None``: unpadded).
        workers: CPU threads working on parts of the batch at once (OpenCV and PyTorch release
            the GIL); default ``torch.get_num_threads()`` on CPU, 1 elsewhere.

    Returns:
        ``{preset: (B,) float64}``.
    """
    check_pair(pred, target)
    if workers is None:
        workers = torch.get_num_threads() if pred.device.type == "cpu" else 1
    compiled = pred.device.type == "cpu" and pred.dtype == target.dtype == torch.uint8
    parts = min(workers, pred.shape[0] // CPU_CHUNK)
    if parts > 1:
        bounds = [round(i * pred.shape[0] / parts) for i in range(parts + 1)]
        # the kernels use no library threads: leave their pools alone (resizing them costs)
        library_threads = nullcontext() if compiled else _one_inner_thread()
        with library_threads, ThreadPoolExecutor(parts) as pool:
            futures = [
                pool.submit(pair_metrics, pred[a:b], target[a:b], presets, pad_white_to, 1)
                for a, b in itertools.pairwise(bounds)
            ]
            results = [f.result() for f in futures]
        return {name: torch.cat([r[name] for r in results]) for name in presets}
    unknown = set(presets) - set(PAIRWISE_PRESETS)
    if unknown:
        raise ValueError(f"not a pairwise preset: {sorted(unknown)}")
    b, c, h, w = pred.shape
    width = w if pad_white_to is None else pad_white_to
    if width < w:
        raise ValueError(f"cannot pad images {w} wide to {width}")
    windows = {
        name: taps
        for name, taps in (
            ("ssim_patn", gaussian_kernel1d()),
            ("ssim_gfla51", uniform_kernel1d(GFLA_WINDOW)),
        )
        if name in presets
    }
    for name, taps in windows.items():
        if min(h, width) < taps.numel():
            raise ValueError(f"{name}: images {(h, w)} are smaller than its window")
    if compiled:
        return _compiled(pred, target, presets, width)
    ws = Workspace()
    dev, f32 = pred.device, torch.float32
    out: dict[str, list[torch.Tensor]] = {name: [] for name in presets}
    slices = chunks(b, dev, CPU_CHUNK)
    step = slices[0].stop - slices[0].start
    left = (width - w) // 2
    for sl in slices:
        n = sl.stop - sl.start
        p = unit_float_padded(pred[sl], pad_white_to, f32, ws, "pred")
        t = unit_float_padded(target[sl], pad_white_to, f32, ws, "target")
        if "psnr" in presets:  # the bands add 0 to the squared error
            pi, ti = p[..., left : left + w], t[..., left : left + w]
            d = torch.sub(pi, ti, out=ws.get("diff", (n, c, h, w), f32, dev))
            mse = d.square_().sum(dim=(1, 2, 3)).to(torch.float64) / (c * h * width)
            out["psnr"].append(10.0 * torch.log10(1.0 / mse))
        if not windows:
            continue
        maps, centre = moment_maps(p, t, out=ws.get("maps", (step, 4 * c, h, width), f32, dev)[:n])
        for name, taps in windows.items():
            k = taps.numel()
            if name == "ssim_patn":  # data range of the generated image (after padding)
                r = (p.amax(dim=(1, 2, 3)) - p.amin(dim=(1, 2, 3))).view(-1, 1, 1, 1)
                cov_norm = 1.0
            else:
                r = torch.ones(n, 1, 1, 1, dtype=f32, device=dev)
                cov_norm = k * k / (k * k - 1)
            valid = width - k + 1
            lo, hi = touching_columns(width, w, k)
            cols = maps[..., lo : hi + k - 1]  # the inputs of the positions that reach the image
            full = ws.get(f"filtered{k}", (step, 4 * c, h, hi + k - 1 - lo), f32, dev)[:n]
            tmp = ws.get(f"tmp{k}", (step, c, h - k + 1, hi - lo), f32, dev)[:n]
            filtered = filter_valid(cols, taps, out=full)
            c1, c2 = (K1 * r) ** 2, (K2 * r) ** 2
            inner = ssim_from_filtered(filtered, centre, c1, c2, cov_norm, tmp)
            out[name].append((inner * (hi - lo) + (valid - (hi - lo))) / valid)
    return {name: torch.cat(vals) for name, vals in out.items()}


def _compiled(
    pred: torch.Tensor, target: torch.Tensor, presets: Sequence[str], width: int
) -> dict[str, torch.Tensor]:
    """:func:`pair_metrics` of uint8 CPU batches by the compiled kernels (:mod:`.kernels`)."""
    from pgdata.metrics import kernels  # compiles on first use; only CPU scoring needs Numba

    b, c, h, _ = pred.shape
    values = torch.from_numpy(
        kernels.pair_values(
            pred.permute(0, 2, 3, 1).contiguous().numpy(),  # a view when already channels-last
            target.permute(0, 2, 3, 1).contiguous().numpy(),
            width,
            gaussian_kernel1d().numpy() if "ssim_patn" in presets else None,
            GFLA_WINDOW if "ssim_gfla51" in presets else None,
            K1,
            K2,
        )
    )
    out = {}
    if "psnr" in presets:  # the bands add 0 to the squared error
        out["psnr"] = 10.0 * torch.log10(UINT8_MAX**2 * (c * h * width) / values[:, 0])
    if "ssim_patn" in presets:
        out["ssim_patn"] = values[:, 1]
    if "ssim_gfla51" in presets:
        out["ssim_gfla51"] = values[:, 2]
    return {name: out[name] for name in presets}
