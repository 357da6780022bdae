"""Compiled CPU kernels: PSNR and both SSIM presets of uint8 pairs, one pass per pair (Numba).

:func:`pair_values` is what :func:`~pgdata.metrics.pairwise.pair_metrics` runs on the CPU for
uint8 batches. Each pair is read once into two white-padded planar copies, and every preset is
then computed in loops that keep their rows in cache and release the GIL, so threads over the
images scale with the cores. The results equal the torch path
(:mod:`pgdata.metrics.ssim`) and skimage:

- **PSNR**: the squared error is an exact integer sum.
- **ssim_gfla51** (uniform 51×51, sample covariance, data range 1): the window sums of ``x``,
  ``y``, ``x² + y²`` and ``xy`` on the 0..255 scale are exact integers (running column sums over
  the window's rows, then row prefix sums). SSIM is scale-free once ``C1, C2`` scale with the
  data range, and multiplied through by ``N²`` (``N = 51²``) its four factors are exact integers,
  so only the last products and the division round (float64): = skimage's float64 to ~1e-15.
- **ssim_patn** (11-tap Gaussian, σ = 1.5, no sample covariance, data range of the prediction):
  separable symmetric filtering in float32 of the images centred on their joint mean (the
  variances then lose less to cancellation); each row is filtered as it is read, into a ring of
  the window's 11 rows, and the column filter and the SSIM formula run as one pass over the
  ring. Only the window positions that reach the image are computed; positions inside one white
  band count as exactly 1 (:func:`~pgdata.metrics.pairwise.touching_columns`).

All quantities of one row (4 per channel) lie in one flat buffer and are filtered by one loop
over it; the outputs that straddle two quantities are computed and never read.

The kernels are compiled on first use and cached next to this file (Numba's ``cache=True``; a
read-only install falls back to Numba's user cache directory).
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["GAUSSIAN_TAPS", "pair_values"]

GAUSSIAN_TAPS = 11  # the kernels' fixed Gaussian length (σ 1.5, skimage's truncate 3.5)
_jit = numba.njit(
    nogil=True,
    cache=True,
    # float division by zero gives inf/nan as in numpy and skimage, and does not branch (vectorises)
    error_model="numpy",
    # reordering sums lets the row sums vectorise; no approximate division, NaN kept
    fastmath={"reassoc", "contract", "nsz"},
)


@_jit
def _read_pair(x, y, left, xp, yp):
    """``(H, W, C)`` uint8 pair → planar ``(C, H, width)`` copies at column ``left`` (the rest
    of ``xp``/``yp`` stays white). Returns the squared error, the pixel sum of both and the
    prediction's min and max over the image."""
    h, w, c = x.shape
    xf, yf = x.reshape(-1), y.reshape(-1)
    sse, total, lo, hi = 0, 0, 255, 0
    for i in range(xf.size):
        a, b = np.int32(xf[i]), np.int32(yf[i])
        sse += (a - b) * (a - b)
        total += a + b
        lo, hi = min(lo, a), max(hi, a)
    for r in range(h):
        xr, yr = x[r].reshape(-1), y[r].reshape(-1)
        for ch in range(c):
            xo, yo = xp[ch, r, left:], yp[ch, r, left:]
            for j in range(w):
                xo[j] = xr[c * j + ch]
                yo[j] = yr[c * j + ch]
    return sse, total, lo, hi


@_jit
def _gaussian_sum(xp, yp, lo, n, centre, c1, c2, g, q, ring, acc):
    """Sum of the Gaussian SSIM map over ``n`` window positions from column ``lo`` per row.

    ``g``: the first 6 taps of the symmetric 11-tap window. ``q`` ``(4 C L,)`` holds the row's
    centred ``x, y, x² + y², xy`` per channel (``L = n + 10`` columns each); ``ring``
    ``(11, 4 C L − 10)`` the last 11 filtered rows; ``acc`` one column-filtered row.
    """
    c, h, _ = xp.shape
    k = GAUSSIAN_TAPS
    length = n + k - 1
    m = q.size - (k - 1)
    g0, g1, g2, g3, g4, g5 = g[0], g[1], g[2], g[3], g[4], g[5]
    total = 0.0
    for r in range(h):
        for ch in range(c):
            xs, ys = xp[ch, r, lo : lo + length], yp[ch, r, lo : lo + length]
            base = 4 * ch * length
            qx, qy = q[base : base + length], q[base + length : base + 2 * length]
            qs, qp = (
                q[base + 2 * length : base + 3 * length],
                q[base + 3 * length : base + 4 * length],
            )
            for j in range(length):
                xv = np.float32(xs[j]) - centre
                yv = np.float32(ys[j]) - centre
                qx[j], qy[j] = xv, yv
                qs[j] = xv * xv + yv * yv
                qp[j] = xv * yv
        row = ring[r % k]
        for j in range(m):  # the symmetric window: 6 products for 11 taps
            row[j] = (
                g0 * (q[j] + q[j + 10])
                + g1 * (q[j + 1] + q[j + 9])
                + g2 * (q[j + 2] + q[j + 8])
                + g3 * (q[j + 3] + q[j + 7])
                + g4 * (q[j + 4] + q[j + 6])
                + g5 * q[j + 5]
            )
        if r < k - 1:
            continue
        top = r - k + 1
        r0, r1, r2, r3 = (
            ring[top % k],
            ring[(top + 1) % k],
            ring[(top + 2) % k],
            ring[(top + 3) % k],
        )
        r4, r5, r6 = ring[(top + 4) % k], ring[(top + 5) % k], ring[(top + 6) % k]
        r7, r8, r9, r10 = (
            ring[(top + 7) % k],
            ring[(top + 8) % k],
            ring[(top + 9) % k],
            ring[(top + 10) % k],
        )
        for j in range(m):
            acc[j] = (
                g0 * (r0[j] + r10[j])
                + g1 * (r1[j] + r9[j])
                + g2 * (r2[j] + r8[j])
                + g3 * (r3[j] + r7[j])
                + g4 * (r4[j] + r6[j])
                + g5 * r5[j]
            )
        row_sum = np.float32(0.0)
        for ch in range(c):
            base = 4 * ch * length
            mx, my = acc[base : base + n], acc[base + length : base + length + n]
            ms = acc[base + 2 * length : base + 2 * length + n]
            mp = acc[base + 3 * length : base + 3 * length + n]
            for j in range(n):
                var = ms[j] - mx[j] * mx[j] - my[j] * my[j]  # σx² + σy²
                cov = mp[j] - mx[j] * my[j]
                ux, uy = mx[j] + centre, my[j] + centre
                a1 = 2 * ux * uy + c1
                row_sum += a1 * (2 * cov + c2) / (((ux - uy) * (ux - uy) + a1) * (var + c2))
        total += row_sum
    return total


@_jit
def _box_mean(xp, yp, k, c1, c2, col, prefix):
    """Mean SSIM over the valid positions of a ``k``×``k`` uniform window, sample covariance.

    ``c1, c2``: the constants on the 0..255 scale. ``col`` ``(4, width)`` int32 and ``prefix``
    ``(4, width + 1)`` int64 are scratch.
    """
    c, h, width = xp.shape
    n = float(k * k)
    big_c1 = c1 * n * n  # the formula multiplied through by N² (means) and N (N − 1) (variances)
    big_c2 = c2 * n * (n - 1)
    valid = width - k + 1
    sx, sy, ss, sp = col[0], col[1], col[2], col[3]
    px, py, ps, pp = prefix[0], prefix[1], prefix[2], prefix[3]
    total = 0.0
    for ch in range(c):
        col[:, :] = 0
        for r in range(h):
            xa, ya = xp[ch, r], yp[ch, r]
            if r >= k:  # the row leaving the window
                xo, yo = xp[ch, r - k], yp[ch, r - k]
                for j in range(width):
                    a, b = np.int32(xa[j]), np.int32(ya[j])
                    ao, bo = np.int32(xo[j]), np.int32(yo[j])
                    sx[j] += a - ao
                    sy[j] += b - bo
                    ss[j] += a * a + b * b - ao * ao - bo * bo
                    sp[j] += a * b - ao * bo
            else:
                for j in range(width):
                    a, b = np.int32(xa[j]), np.int32(ya[j])
                    sx[j] += a
                    sy[j] += b
                    ss[j] += a * a + b * b
                    sp[j] += a * b
            if r < k - 1:
                continue
            vx, vy, vs, vp = np.int64(0), np.int64(0), np.int64(0), np.int64(0)
            px[0], py[0], ps[0], pp[0] = 0, 0, 0, 0
            for j in range(width):
                vx, vy, vs, vp = vx + sx[j], vy + sy[j], vs + ss[j], vp + sp[j]
                px[j + 1], py[j + 1], ps[j + 1], pp[j + 1] = vx, vy, vs, vp
            row_sum = 0.0
            for j in range(valid):
                a = np.float64(px[j + k] - px[j])  # exact integers below 2**53
                b = np.float64(py[j + k] - py[j])
                sq = np.float64(ps[j + k] - ps[j])
                xy = np.float64(pp[j + k] - pp[j])
                ab, a2b2 = a * b, a * a + b * b
                num = (2.0 * ab + big_c1) * (2.0 * (n * xy - ab) + big_c2)
                row_sum += num / ((a2b2 + big_c1) * (n * sq - a2b2 + big_c2))
            total += row_sum
    return total / (c * (h - k + 1) * valid)


@_jit
def _pairs(x, y, width, g, gaussian, box_k, k1, k2, out):
    b, h, w, c = x.shape
    k = GAUSSIAN_TAPS
    left = (width - w) // 2
    lo, hi = max(0, left - k + 1), min(width - k + 1, left + w)  # touching_columns
    n = hi - lo if gaussian else 0
    xp = np.full((c, h, width), 255, np.uint8)
    yp = np.full((c, h, width), 255, np.uint8)
    q = np.empty(4 * c * (n + k - 1), np.float32)
    ring = np.empty((k, q.size - (k - 1)), np.float32)
    acc = np.empty(q.size - (k - 1), np.float32)
    col = np.empty((4, width), np.int32)
    prefix = np.empty((4, width + 1), np.int64)
    valid, rows = width - k + 1, h - k + 1
    for i in range(b):
        sse, total, pmin, pmax = _read_pair(x[i], y[i], left, xp, yp)
        if width > w:  # the white bands
            pmax = 255
            total += 2 * 255 * c * h * (width - w)
        out[i, 0] = sse
        if gaussian:
            centre = np.float32(total / (2.0 * c * h * width))
            data_range = np.float32(pmax - pmin)
            c1, c2 = np.float32((k1 * data_range) ** 2), np.float32((k2 * data_range) ** 2)
            inner = _gaussian_sum(xp, yp, lo, n, centre, c1, c2, g, q, ring, acc)
            out[i, 1] = (inner + c * rows * (valid - n)) / (c * rows * valid)
        if box_k > 0:
            out[i, 2] = _box_mean(xp, yp, box_k, (k1 * 255) ** 2, (k2 * 255) ** 2, col, prefix)


def pair_values(
    pred: np.ndarray,
    target: np.ndarray,
    width: int,
    gaussian_taps: np.ndarray | None,
    box_window: int | None,
    k1: float,
    k2: float,
) -> np.ndarray:
    """Per-pair ``(B, 3)`` float64: squared error sum, Gaussian SSIM, box SSIM (unused: nan).

    Args:
        pred, target: ``(B, H, W, C)`` uint8 arrays (any strides; C-contiguous is fastest).
        width: the padded width (``W`` for none); the images sit centred, white around.
        gaussian_taps: the 11-tap symmetric window for ``ssim_patn`` (``None``: skip it).
        box_window: the uniform window's side for ``ssim_gfla51`` (``None``: skip it).
        k1, k2: SSIM's constants (``C = (k · data range)²``).

    Images must be at least as tall and (padded) wide as the windows used.
    """
    if pred.dtype != np.uint8 or target.dtype != np.uint8 or pred.shape != target.shape:
        raise ValueError(f"expected two uint8 (B, H, W, C) arrays of one shape, got {pred.shape}")
    g = np.zeros(6, np.float32)
    if gaussian_taps is not None:
        if gaussian_taps.size != GAUSSIAN_TAPS or not np.allclose(
            gaussian_taps, gaussian_taps[::-1]
        ):
            raise ValueError(f"the kernel takes a symmetric {GAUSSIAN_TAPS}-tap window")
        g = np.ascontiguousarray(gaussian_taps[:6], dtype=np.float32)
    out = np.full((pred.shape[0], 3), np.nan)
    box = 0 if box_window is None else box_window
    _pairs(pred, target, width, g, gaussian_taps is not None, box, k1, k2, out)
    return out
