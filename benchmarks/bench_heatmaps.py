"""Batched heatmap rendering against the per-sample, per-joint numpy loop of the reference loaders.

Renders 64 samples × 18 joints at 256×176 (σ = 6) on one CPU core, both ways, side by side:

- reference: PATN/GFLA ``cords_to_map`` (one full-grid ``exp`` per present joint, per sample);
- pgdata: :func:`pgdata.stages.heatmaps.render_heatmaps_torch`, the whole batch in one call
  (and, for information, the numpy single-sample renderer in a loop).

Target: pgdata batched ≥ 20× the reference. The last line is one JSON object; ``ratio`` =
reference seconds / pgdata batched seconds writing into a reused output buffer (how a training
loop renders every step); ``ratio_new_buffer`` is the same with a fresh 207 MB tensor per call,
where the kernel's zeroing of new pages dominates on the CPU.
"""

from __future__ import annotations

import json
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from pgdata.stages.heatmaps import render_heatmaps, render_heatmaps_torch  # noqa: E402

B, J, H, W, SIGMA = 64, 18, 256, 176, 6.0


def reference_cords_to_map(yx: np.ndarray, size_hw: tuple[int, int], sigma: float) -> np.ndarray:
    """The reference loop, written as PATN's ``tool/pose_utils.py`` describes it."""
    result = np.zeros(size_hw + (len(yx),), dtype=np.float32)
    for i, (y, x) in enumerate(yx):
        if y == -1 or x == -1:
            continue
        xx, yy = np.meshgrid(np.arange(size_hw[1]), np.arange(size_hw[0]))
        result[..., i] = np.exp(-((yy - y) ** 2 + (xx - x) ** 2) / (2 * sigma**2))
    return result


def best_of(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    kps = np.zeros((B, J, 3), np.float32)
    kps[..., 0] = rng.integers(0, W, (B, J))
    kps[..., 1] = rng.integers(0, H, (B, J))
    kps[..., 2] = rng.random((B, J)) > 0.15  # ~15% missing, as in the real files
    kps[kps[..., 2] == 0] = 0
    yx = np.where(kps[..., 2:3] > 0, kps[..., [1, 0]], -1).astype(int)
    kps_t = torch.from_numpy(kps)

    # same numbers on both sides before timing anything
    ref0 = np.stack([reference_cords_to_map(s, (H, W), SIGMA) for s in yx[:4]]).transpose(
        0, 3, 1, 2
    )
    got0 = render_heatmaps_torch(kps_t[:4], (H, W), SIGMA).numpy()
    max_err = float(np.abs(ref0 - got0).max())
    assert max_err < 1e-6, max_err

    t_ref = best_of(lambda: [reference_cords_to_map(s, (H, W), SIGMA) for s in yx], 3)
    t_np = best_of(lambda: [render_heatmaps(s, (H, W), SIGMA) for s in kps], 5)
    t_torch = best_of(lambda: render_heatmaps_torch(kps_t, (H, W), SIGMA), 7)
    buf = torch.empty(B, J, H, W)
    t_reuse = best_of(lambda: render_heatmaps_torch(kps_t, (H, W), SIGMA, out=buf), 7)
    print(
        f"reference per-joint numpy loop : {t_ref * 1e3:8.1f} ms / batch of {B}  ({B / t_ref:7.0f} samples/s)"
    )
    print(
        f"pgdata numpy, per sample       : {t_np * 1e3:8.1f} ms / batch  ({B / t_np:7.0f} samples/s, {t_ref / t_np:.1f}x)"
    )
    print(
        f"pgdata torch, batched, new out : {t_torch * 1e3:8.1f} ms / batch  ({B / t_torch:7.0f} samples/s, {t_ref / t_torch:.1f}x)"
    )
    print(
        f"pgdata torch, batched, reused  : {t_reuse * 1e3:8.1f} ms / batch  ({B / t_reuse:7.0f} samples/s, {t_ref / t_reuse:.1f}x)"
    )
    print(
        json.dumps(
            {
                "bench": "heatmaps",
                "batch": B,
                "joints": J,
                "size_hw": [H, W],
                "threads": 1,
                "reference_s": round(t_ref, 4),
                "pgdata_numpy_s": round(t_np, 4),
                "pgdata_torch_new_buffer_s": round(t_torch, 4),
                "pgdata_torch_s": round(t_reuse, 4),
                "ratio_new_buffer": round(t_ref / t_torch, 2),
                "max_abs_err": max_err,
                "ratio": round(t_ref / t_reuse, 2),
                "target": 20,
            }
        )
    )


if __name__ == "__main__":
    main()
