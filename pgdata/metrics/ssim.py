"""SSIM on batches, reproducing ``skimage.metrics.structural_similarity`` under the two protocols
that circulate in pose-transfer papers.

- ``ssim_patn`` (PATN ``getMetrics_fashion.py``, printed "SSIM_256" by GFLA/DPTN): Gaussian window
  σ = 1.5 truncated at 3.5 σ (11×11), population covariance, on the RGB channels (averaged), with
  ``data_range`` = the **generated** image's own ``max − min`` (not 255).
- ``ssim_gfla51`` (GFLA/DPTN "SSIM"): uniform 51×51 window, sample covariance (``N / (N − 1)``),
  ``data_range = 1`` on [0, 1] floats.

Both optionally after the white padding 256×176 → 256×256 (:func:`~pgdata.metrics.images.pad_white`).

Border handling is skimage's: the SSIM map is computed everywhere with reflected borders and then
``(win − 1) / 2`` pixels are cropped from every side before averaging, which leaves exactly the
positions whose window lies inside the image. This module computes those positions directly as
a *valid* separable convolution, so no border mode is involved. The per-channel means of skimage
equal one mean over channels and positions (every channel has the same count).

Per-image SSIM is computed from the filtered maps ``x, y, x² + y², xy`` (skimage filters ``x²`` and
``y²`` separately; only their sum enters the formula). SSIM is scale-free when ``data_range``
scales with the images, so ``ssim_patn`` runs on [0, 1] floats with ``data_range / 255``.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import torch
import torch.nn.functional as F

from pgdata.metrics.images import Workspace, check_pair, chunks, unit_float_padded

__all__ = [
    "GAUSSIAN_SIGMA",
    "GAUSSIAN_TRUNCATE",
    "CPU_CHUNK",
    "GFLA_WINDOW",
    "K1",
    "K2",
    "gaussian_kernel1d",
    "ssim",
    "ssim_gfla51",
    "ssim_patn",
    "uniform_kernel1d",
]

K1, K2 = 0.01, 0.03  # Wang et al. 2004, skimage defaults
GAUSSIAN_SIGMA = 1.5
GAUSSIAN_TRUNCATE = 3.5  # skimage's SSIM passes truncate=3.5 → radius 5, an 11-tap window
GFLA_WINDOW = 51
CPU_CHUNK = 2  # images per OpenCV pass on CPU: temporaries stay in cache


def gaussian_kernel1d(
    sigma: float = GAUSSIAN_SIGMA,
    truncate: float = GAUSSIAN_TRUNCATE,
    dtype: torch.dtype = torch.float64,
) -> torch.Tensor:
    """scipy.ndimage's Gaussian taps: radius ``int(truncate · σ + 0.5)``, normalised to sum 1."""
    radius = int(truncate * sigma + 0.5)
    x = torch.arange(-radius, radius + 1, dtype=torch.float64)
    w = torch.exp(-0.5 / sigma**2 * x * x)
    return (w / w.sum()).to(dtype)


def uniform_kernel1d(size: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """``size`` taps of ``1 / size`` (scipy.ndimage's ``uniform_filter``)."""
    if size < 1 or size % 2 == 0:
        raise ValueError(f"window size must be odd and positive, got {size}")
    return torch.full((size,), 1.0 / size, dtype=dtype)


def _filter_valid_torch(maps: torch.Tensor, taps: torch.Tensor) -> torch.Tensor:
    """Separable valid correlation of every plane of ``(B, M, H, W)`` with ``taps ⊗ taps``.

    Returns ``(B, M, H − k + 1, W − k + 1)``: two depthwise convolutions (channels-last, which
    oneDNN vectorises over the planes). Any device.
    """
    m, k = maps.shape[1], taps.numel()
    fmt = torch.channels_last
    row = taps.view(1, 1, 1, k).expand(m, 1, 1, k).contiguous(memory_format=fmt)
    col = taps.view(1, 1, k, 1).expand(m, 1, k, 1).contiguous(memory_format=fmt)
    out = F.conv2d(maps.contiguous(memory_format=fmt), row, groups=m)
    return F.conv2d(out, col, groups=m).contiguous()


def _filter_valid_cv2(
    maps: torch.Tensor, taps: torch.Tensor, out: torch.Tensor | None = None
) -> torch.Tensor:
    """The same on CPU with OpenCV, one plane at a time, written into ``out`` (``maps``' shape;
    ``maps`` may be a view whose rows are strided, e.g. a column range of wider maps).

    A uniform window uses ``cv2.blur`` (running sums, O(1) per pixel whatever the window); other
    windows ``cv2.sepFilter2D``. Borders are computed and then cropped (a view of ``out`` is
    returned), so the border mode does not enter the result.
    """
    b, m, h, w = maps.shape
    k = taps.numel()
    r = k // 2
    # a view with unit column stride (a column range of wider maps) is read in place
    src = (maps if maps.stride(-1) == 1 else maps.contiguous()).numpy()
    full = torch.empty_like(maps, memory_format=torch.contiguous_format) if out is None else out
    dst = full.numpy()
    kernel = taps.to(maps.dtype).numpy()
    uniform = bool(torch.all(taps == taps[0]))
    for i in range(b):
        for j in range(m):
            if uniform:
                cv2.blur(src[i, j], (k, k), dst=dst[i, j], borderType=cv2.BORDER_REFLECT)
            else:
                cv2.sepFilter2D(
                    src[i, j], -1, kernel, kernel, dst=dst[i, j], borderType=cv2.BORDER_REFLECT
                )
    return full[:, :, r : h - r, r : w - r]


def filter_valid(
    maps: torch.Tensor, taps: torch.Tensor, out: torch.Tensor | None = None
) -> torch.Tensor:
    """Valid separable correlation of every plane with ``taps ⊗ taps``: OpenCV on CPU (into
    ``out`` when given), depthwise convolutions elsewhere."""
    if maps.device.type == "cpu" and maps.dtype in (torch.float32, torch.float64):
        return _filter_valid_cv2(maps, taps, out)
    return _filter_valid_torch(maps, taps.to(maps))


def moment_maps(
    x: torch.Tensor, y: torch.Tensor, out: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(B, 4C, H, W)`` maps ``x', y', x'² + y'², x'y'`` of the centred images, and the centre.

    (Co)variances are shift-invariant: both images are centred on their joint per-image mean
    (``(B, 1, 1, 1)``) so the second moments lose less to cancellation in float32; the local
    means get the shift back in :func:`ssim_from_filtered`. ``x'² + y'²`` is one map because only
    ``σx² + σy²`` enters SSIM.
    """
    b, c = x.shape[:2]
    centre = 0.5 * (x.mean(dim=(1, 2, 3), keepdim=True) + y.mean(dim=(1, 2, 3), keepdim=True))
    if out is None:
        out = torch.empty((b, 4 * c, *x.shape[2:]), dtype=x.dtype, device=x.device)
    xc, yc, sq, xy = torch.chunk(out, 4, dim=1)
    torch.sub(x, centre, out=xc)
    torch.sub(y, centre, out=yc)
    torch.mul(xc, xc, out=sq).addcmul_(yc, yc)
    torch.mul(xc, yc, out=xy)
    return out, centre


def ssim_from_filtered(
    filtered: torch.Tensor,
    centre: torch.Tensor,
    c1: torch.Tensor,
    c2: torch.Tensor,
    cov_norm: float,
    tmp: torch.Tensor | None = None,
) -> torch.Tensor:
    """Per-image mean SSIM ``(B,)`` float64 from filtered :func:`moment_maps` ``(B, 4C, H', W')``.

    Works in place: ``filtered`` is overwritten; ``tmp`` (``(B, C, H', W')``) is scratch space.
    Constant factors are taken out of the per-pixel work:
    ``S = 4 (μxμy + C1/2)(σxy + C2/(2n)) / (((μx − μy)² + 2(μxμy + C1/2)) (σx² + σy² + C2/n))``
    with ``n`` the covariance normalisation, which cancels.
    """
    ux, uy, var, cov = torch.chunk(filtered, 4, dim=1)
    cov.addcmul_(ux, uy, value=-1.0)  # σxy / n of the centred images
    var.addcmul_(ux, ux, value=-1.0).addcmul_(uy, uy, value=-1.0)  # (σx² + σy²) / n
    den = torch.sub(ux, uy, out=tmp) if tmp is not None else ux - uy
    den.square_()
    ux.add_(centre)
    uy.add_(centre)
    num = ux.mul_(uy).add_(0.5 * c1)  # A1 / 2
    den.add_(num, alpha=2.0)  # B1 = (μx − μy)² + A1
    num.mul_(cov.add_(0.5 / cov_norm * c2))  # A1 A2 / (4 n)
    den.mul_(var.add_(c2 / cov_norm))  # B1 B2 / n
    per_image: torch.Tensor = num.div_(den).mean(dim=(1, 2, 3)).to(torch.float64) * 4.0
    return per_image


def ssim(
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    taps: torch.Tensor,
    data_range: float | torch.Tensor,
    sample_covariance: bool,
    k1: float = K1,
    k2: float = K2,
    workspace: Workspace | None = None,
) -> torch.Tensor:
    """Mean SSIM per image over channels and valid window positions.

    Args:
        x, y: ``(B, C, H, W)`` float batches of one shape and dtype (the computation dtype:
            float32 is accurate to ~1e-6 for [0, 1] images, float64 matches skimage to ~1e-15).
            ``H`` and ``W`` must be at least the window length.
        taps: the 1-D window (the 2-D window is ``taps ⊗ taps``), see :func:`gaussian_kernel1d`,
            :func:`uniform_kernel1d`.
        data_range: ``R`` in ``C1 = (k1 R)², C2 = (k2 R)²``: a number or a ``(B,)`` tensor.
        sample_covariance: scale variances by ``N / (N − 1)``, ``N = k²`` (skimage's default).
        workspace: buffers to reuse across calls (optional).

    Returns:
        ``(B,)`` float64. ``nan`` where ``R = 0`` meets a flat window (as skimage).

    On CPU the work runs on :data:`CPU_CHUNK` images at a time in reused buffers, the filtering
    in OpenCV; elsewhere on the whole batch with two depthwise convolutions.
    """
    check_pair(x, y)
    if not x.is_floating_point() or x.dtype != y.dtype:
        raise ValueError(f"expected two float batches of one dtype, got {x.dtype}, {y.dtype}")
    b, c, h, w = x.shape
    k = taps.numel()
    if min(h, w) < k:
        raise ValueError(f"images {(h, w)} are smaller than the {k}×{k} window")
    n_win = k * k
    cov_norm = n_win / (n_win - 1) if sample_covariance else 1.0
    r = torch.as_tensor(data_range, dtype=x.dtype, device=x.device).reshape(-1, 1, 1, 1)
    r = r.expand(b, 1, 1, 1)
    c1, c2 = (k1 * r) ** 2, (k2 * r) ** 2
    ws = workspace if workspace is not None else Workspace()
    slices = chunks(b, x.device, CPU_CHUNK)
    step = slices[0].stop - slices[0].start
    out = []
    for sl in slices:
        n = sl.stop - sl.start
        maps = ws.get("ssim_maps", (step, 4 * c, h, w), x.dtype, x.device)[:n]
        full = ws.get("ssim_filtered", (step, 4 * c, h, w), x.dtype, x.device)[:n]
        tmp = ws.get("ssim_tmp", (step, c, h - k + 1, w - k + 1), x.dtype, x.device)[:n]
        maps, centre = moment_maps(x[sl], y[sl], out=maps)
        filtered = filter_valid(maps, taps, out=full)
        out.append(ssim_from_filtered(filtered, centre, c1[sl], c2[sl], cov_norm, tmp))
    return torch.cat(out)


def _preset(
    pred: torch.Tensor,
    target: torch.Tensor,
    pad_white_to: int | None,
    dtype: torch.dtype,
    score: Callable[[torch.Tensor, torch.Tensor, Workspace], torch.Tensor],
) -> torch.Tensor:
    """Map to [0, 1] ``dtype``, pad, and ``score`` chunk by chunk in reused buffers."""
    check_pair(pred, target)
    ws = Workspace()
    out = []
    for sl in chunks(pred.shape[0], pred.device, CPU_CHUNK):
        p = unit_float_padded(pred[sl], pad_white_to, dtype, ws, "pred")
        t = unit_float_padded(target[sl], pad_white_to, dtype, ws, "target")
        out.append(score(p, t, ws))
    return torch.cat(out)


def ssim_patn(
    pred: torch.Tensor,
    target: torch.Tensor,
    pad_white_to: int | None = None,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """The ``ssim_patn`` preset: ``(B, 3, H, W)`` uint8 (or [0, 1] float) → ``(B,)`` float64.

    Gaussian σ 1.5 (11×11), population covariance, ``data_range`` = ``pred.max() − pred.min()``
    per image (after padding, as the reference pads first), ``pred`` being the generated image.
    """
    taps = gaussian_kernel1d()

    def score(p: torch.Tensor, t: torch.Tensor, ws: Workspace) -> torch.Tensor:
        rng = p.amax(dim=(1, 2, 3)) - p.amin(dim=(1, 2, 3))
        return ssim(p, t, taps=taps, data_range=rng, sample_covariance=False, workspace=ws)

    return _preset(pred, target, pad_white_to, dtype, score)


def ssim_gfla51(
    pred: torch.Tensor,
    target: torch.Tensor,
    pad_white_to: int | None = None,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """The ``ssim_gfla51`` preset: uniform 51×51 window, sample covariance, ``data_range = 1``.

    ``(B, 3, H, W)`` uint8 (or [0, 1] float) → ``(B,)`` float64.
    """
    taps = uniform_kernel1d(GFLA_WINDOW)

    def score(p: torch.Tensor, t: torch.Tensor, ws: Workspace) -> torch.Tensor:
        return ssim(p, t, taps=taps, data_range=1.0, sample_covariance=True, workspace=ws)

    return _preset(pred, target, pad_white_to, dtype, score)
