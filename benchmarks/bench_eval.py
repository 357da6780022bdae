"""Evaluation metrics: batched pgdata against the reference scripts' per-image ``skimage`` loop.

1. SSIM + PSNR over 8,570 synthetic 256×176 pairs (the DeepFashion test split's size) under DPTN's
   ``metrics.py`` protocol: both images padded with white to 256×256, then PSNR (data range 1),
   SSIM with the 51×51 uniform window ("SSIM") and PATN's Gaussian SSIM ("SSIM_256").
   - reference: one ``skimage.metrics`` call per image and metric, as the scripts do (single
     threaded). Timed on a subset and extrapolated to 8,570 pairs (stated in the output): the
     full loop takes several minutes. The reference and pgdata alternate in 10 rounds, so a
     change in the machine's load meets both sides alike.
   - pgdata: :func:`pgdata.metrics.pairwise.pair_metrics` (the three presets in one pass, as folder
     scoring runs them) on batches of 64 uint8 pairs, with the machine's threads and again with
     one thread (torch, OpenCV and one worker).
   Both sides are checked to agree (max abs difference) on the reference's pairs.
2. FID statistics and distance for N = 10,000 features of D = 2,048 per set: pgdata's float64
   streamed statistics and symmetric-eigh trace-sqrt against ``np.cov`` + ``scipy.linalg.sqrtm``
   (pytorch-fid's route).

Target: pgdata SSIM + PSNR ≥ 20× the reference on the CPU. The last line is one JSON object;
``ratio`` = reference seconds (extrapolated) / pgdata seconds for the 8,570 pairs.

pgdata's side runs the compiled kernels (:mod:`pgdata.metrics.kernels`, uint8 on the CPU). The
thread figures also show how the threads scale on this machine (``thread_scaling``: 1-thread
time / all-threads time; on a VM whose vCPUs are SMT siblings it stays well below the thread
count for vectorised code).
"""

from __future__ import annotations

import json
import time

import cv2
import numpy as np
import scipy.linalg
import torch
from skimage.metrics import peak_signal_noise_ratio as sk_psnr
from skimage.metrics import structural_similarity as sk_ssim

from pgdata.metrics.fid import FeatureStats, frechet_distance
from pgdata.metrics.pairwise import pair_metrics
from pgdata.stages.synth import random_appearance, random_body, render_person, synth_pose

N_PAIRS, H, W, PAD = 8570, 256, 176, 256
BATCH = 64
REF_SUBSET = 200  # pairs the skimage loop is timed on, then extrapolated
ROUNDS = 10  # the reference and pgdata alternate, each on 1/ROUNDS of its pairs per round
POOL = 48  # distinct rendered persons; each pair adds its own noise
FID_N, FID_D, FID_BATCH = 10_000, 2048, 1024  # FidStream's STATS_BLOCK


def person_pool(n: int) -> np.ndarray:
    out = []
    for seed in range(n):
        rng = np.random.default_rng(seed)
        body = random_body(rng)
        look = random_appearance(rng, "WOMEN", "Blouses_Shirts")
        img, _ = render_person(
            synth_pose(rng, body, "front", (H, W)), body, look, "front", (H, W), rng
        )
        out.append(img)
    return np.stack(out)


def pairs(pool: np.ndarray, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
    """Pairs ``start..stop``: target = a pool person, prediction = blurred + noisy target."""
    idx = np.arange(start, stop)
    gt = pool[idx % len(pool)]
    rng = np.random.default_rng(start)
    blurred = np.stack([cv2.GaussianBlur(g, (5, 5), 1.2) for g in gt]).astype(np.float32)
    pred = np.clip(np.rint(blurred + rng.normal(0, 10, blurred.shape)), 0, 255).astype(np.uint8)
    return pred, gt


def pad_256(img: np.ndarray) -> np.ndarray:
    """DPTN's ``pad_256``."""
    result = np.ones((256, 256, 3), dtype=float) * 255
    result[:, 40:216, :] = img
    return result


def reference_pair(pred: np.ndarray, gt: np.ndarray) -> tuple[float, float, float]:
    """DPTN ``metrics.py``: PSNR, 51×51 SSIM and SSIM_256 of one padded pair (skimage)."""
    g = pad_256(gt).astype(np.float32) / 255.0
    p = pad_256(pred).astype(np.float32) / 255.0
    psnr = sk_psnr(g, p, data_range=1)
    ssim = sk_ssim(g, p, data_range=1, win_size=51, channel_axis=-1)
    g256, p256 = g * 255.0, p * 255.0
    ssim256 = sk_ssim(
        g256,
        p256,
        gaussian_weights=True,
        sigma=1.5,
        use_sample_covariance=False,
        channel_axis=-1,
        data_range=p256.max() - p256.min(),
    )
    return float(psnr), float(ssim), float(ssim256)


def pgdata_batch(
    pred: np.ndarray, gt: np.ndarray, workers: int | None = None
) -> tuple[torch.Tensor, ...]:
    p = torch.from_numpy(pred).permute(0, 3, 1, 2)
    g = torch.from_numpy(gt).permute(0, 3, 1, 2)
    out = pair_metrics(p, g, ("psnr", "ssim_gfla51", "ssim_patn"), PAD, workers=workers)
    return out["psnr"], out["ssim_gfla51"], out["ssim_patn"]


def time_pgdata(
    pool: np.ndarray, start: int, stop: int, workers: int | None = None
) -> tuple[float, float]:
    """Wall and process CPU seconds of pgdata on pairs ``start..stop`` (synthesis not timed)."""
    wall = cpu = 0.0
    for a in range(start, stop, BATCH):
        pred, gt = pairs(pool, a, min(a + BATCH, stop))  # not timed
        t0, c0 = time.perf_counter(), time.process_time()
        pgdata_batch(pred, gt, workers)
        wall += time.perf_counter() - t0
        cpu += time.process_time() - c0
    return wall, cpu


def bench_ssim_psnr() -> dict[str, object]:
    """The reference and both pgdata runs alternate in ``ROUNDS`` rounds, each on its share of
    the pairs, so that a change in the machine's load meets all three alike."""
    pool = person_pool(POOL)
    pred, gt = pairs(pool, 0, BATCH)
    pgdata_batch(pred, gt)  # compile (or load) the kernels before timing
    threads = torch.get_num_threads()
    t_ref_subset = c_ref_subset = t_all = t_one = c_one = 0.0
    refs, ours = [], []
    for r in range(ROUNDS):
        a, b = r * REF_SUBSET // ROUNDS, (r + 1) * REF_SUBSET // ROUNDS
        pred, gt = pairs(pool, a, b)
        t0, c0 = time.perf_counter(), time.process_time()
        refs += [reference_pair(p, g) for p, g in zip(pred, gt, strict=True)]
        t_ref_subset += time.perf_counter() - t0
        c_ref_subset += time.process_time() - c0
        ours.append(np.stack([t.numpy() for t in pgdata_batch(pred, gt)], axis=1))
        a, b = r * N_PAIRS // ROUNDS, (r + 1) * N_PAIRS // ROUNDS
        t_all += time_pgdata(pool, a, b)[0]
        torch.set_num_threads(1)
        cv2.setNumThreads(1)
        wall, cpu = time_pgdata(pool, a, b, workers=1)
        t_one, c_one = t_one + wall, c_one + cpu
        torch.set_num_threads(threads)
        cv2.setNumThreads(-1)
    diff = np.abs(np.concatenate(ours) - np.array(refs)).max(axis=0)
    # the reference runs in float32 (DPTN divides by 255.0 into float32 arrays)
    assert diff[0] < 1e-4 and diff[1] < 1e-5 and diff[2] < 1e-5, diff

    t_ref = t_ref_subset / REF_SUBSET * N_PAIRS
    c_ref = c_ref_subset / REF_SUBSET * N_PAIRS  # CPU time: less sensitive to other processes
    print(
        f"skimage per-image loop ({REF_SUBSET} pairs timed, extrapolated): "
        f"{t_ref:8.1f} s / {N_PAIRS} pairs ({N_PAIRS / t_ref:7.1f} pairs/s)"
    )
    print(
        f"pgdata batched, {threads} threads           : {t_all:8.1f} s / {N_PAIRS} pairs "
        f"({N_PAIRS / t_all:7.1f} pairs/s, {t_ref / t_all:.1f}x)"
    )
    print(
        f"pgdata batched, 1 thread            : {t_one:8.1f} s / {N_PAIRS} pairs "
        f"({N_PAIRS / t_one:7.1f} pairs/s, {t_ref / t_one:.1f}x)"
    )
    print(
        f"1 thread, process CPU seconds       : skimage {c_ref:.1f} s, pgdata {c_one:.1f} s "
        f"({c_ref / c_one:.1f}x; robust to other load on the machine)"
    )
    print(
        f"max |pgdata - skimage| on the subset: PSNR {diff[0]:.2e}, SSIM51 {diff[1]:.2e}, SSIM_256 {diff[2]:.2e}"
    )
    print(
        f"per pair: skimage {t_ref / N_PAIRS * 1e3:.2f} ms, pgdata 1 thread "
        f"{t_one / N_PAIRS * 1e3:.3f} ms; {threads} threads scale {t_one / t_all:.2f}x"
    )
    return {
        "pairs": N_PAIRS,
        "size_hw": [H, W],
        "pad_white": PAD,
        "reference_subset": REF_SUBSET,
        "reference_s_extrapolated": round(t_ref, 2),
        "pgdata_s": round(t_all, 2),
        "pgdata_1thread_s": round(t_one, 2),
        "threads": threads,
        "ratio_1thread": round(t_ref / t_one, 2),
        "ratio_1thread_cpu": round(c_ref / c_one, 2),
        "ratio": round(t_ref / t_all, 2),
        "pgdata_ms_per_pair_1thread": round(t_one / N_PAIRS * 1e3, 3),
        "thread_scaling": round(t_one / t_all, 2),
        "max_abs_diff": {
            "psnr": float(diff[0]),
            "ssim_gfla51": float(diff[1]),
            "ssim_patn": float(diff[2]),
        },
    }


def fid_features(seed: int, offset: float) -> np.ndarray:
    """Inception-like features: ReLU of a shared projection plus noise (full rank), float32."""
    proj = np.random.default_rng(123).standard_normal((256, FID_D)) * 0.08
    rng = np.random.default_rng(seed)
    x = (
        rng.standard_normal((FID_N, 256)) @ proj
        + offset
        + 0.02 * rng.standard_normal((FID_N, FID_D))
    )
    return np.maximum(x, 0.0).astype(np.float32)


def bench_fid() -> dict[str, object]:
    a, b = fid_features(1, 0.30), fid_features(2, 0.32)
    t0 = time.perf_counter()
    stats = []
    for feats in (a, b):
        s = FeatureStats(FID_D)
        for i in range(0, FID_N, FID_BATCH):
            s.update(torch.from_numpy(feats[i : i + FID_BATCH]))
        stats.append(s)
    t_stats = time.perf_counter() - t0
    t0 = time.perf_counter()
    d_ours = frechet_distance(stats[0].mean, stats[0].cov, stats[1].mean, stats[1].cov)
    t_eigh = time.perf_counter() - t0

    t0 = time.perf_counter()
    mu = [f.astype(np.float64).mean(0) for f in (a, b)]
    cov = [np.cov(f.astype(np.float64), rowvar=False) for f in (a, b)]
    t_np_stats = time.perf_counter() - t0
    t0 = time.perf_counter()
    root = scipy.linalg.sqrtm(cov[0] @ cov[1])
    diff = mu[0] - mu[1]
    d_ref = float(diff @ diff + np.trace(cov[0]) + np.trace(cov[1]) - 2 * np.trace(root).real)
    t_sqrtm = time.perf_counter() - t0
    stats_err = float(np.abs(stats[0].cov.numpy() - cov[0]).max())
    print(
        f"FID statistics N={FID_N} D={FID_D}: pgdata streamed f64 {t_stats:6.2f} s, numpy cov {t_np_stats:6.2f} s (max |Δcov| {stats_err:.1e})"
    )
    print(
        f"FID distance: pgdata eigh {t_eigh:6.2f} s ({d_ours:.6f}), scipy sqrtm {t_sqrtm:6.2f} s ({d_ref:.6f}), {t_sqrtm / t_eigh:.1f}x"
    )
    return {
        "n": FID_N,
        "d": FID_D,
        "pgdata_stats_s": round(t_stats, 3),
        "numpy_stats_s": round(t_np_stats, 3),
        "pgdata_eigh_s": round(t_eigh, 3),
        "scipy_sqrtm_s": round(t_sqrtm, 3),
        "fid_eigh": d_ours,
        "fid_sqrtm": d_ref,
        "rel_diff": abs(d_ours - d_ref) / abs(d_ref),
        "cov_max_abs_diff": stats_err,
        "ratio": round(t_sqrtm / t_eigh, 2),
    }


def main() -> None:
    ssim_psnr = bench_ssim_psnr()
    fid = bench_fid()
    print(json.dumps({"bench": "eval", **ssim_psnr, "fid": fid, "target": 20}))


if __name__ == "__main__":
    main()
