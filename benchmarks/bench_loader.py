"""Pairs/s of the pgdata shard loader against a DPTN-style folder loader, side by side.

Both deliver the same tensors per pair at 256×176: two images in [-1, 1] and two 18-channel
float32 heatmaps (σ = 6), batches of 16, shuffled.

- reference (written here the way DPTN's ``data/fashion_dataset.py`` works): pandas annotation
  table, PIL decode of two JPEG files, ToTensor + Normalize, and per-sample, per-joint numpy
  Gaussian heatmaps (PATN ``cords_to_map``) in ``__getitem__``;
- pgdata: :class:`pgdata.data.PoseTransferDataset` over shards, on two paths:

  - **heatmaps in the loader** (``loader``): ``PoseCollate()`` normalises and renders the heatmaps
    into buffers it reuses (:class:`pgdata.data.common.BufferPool`), 0 workers: one core;
  - **heatmaps on the device** (``device``): ``PoseCollate(heatmaps=False)`` returns uint8 images
    and keypoints, ``to_device(batch, DEVICE)`` normalises and renders there (CUDA when present,
    else the CPU, also into reused buffers), with 0 and with 2 workers.

Each configuration runs in a fresh process with glibc's default malloc (no environment variable);
``loader_w0_tuned`` repeats the loader path with ``MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=...``
for comparison (what that variable used to be needed for: fresh ~100 MB of heatmaps per batch
page-fault with the default malloc). Before timing, the two loaders' tensors for the same pairs are
compared, and a held batch is checked to survive the next one (the buffers are reused only when free).

Targets: ≥ 10× the reference and ≥ 800 pairs/s per core. Last line: one JSON object; ``ratio`` =
heatmaps-in-the-loader pairs/s / reference pairs/s, both single-process, default malloc.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "bench-out" / "loader"
TUNED = {"MALLOC_MMAP_MAX_": "0", "MALLOC_TRIM_THRESHOLD_": str(1 << 40)}


def prepare() -> None:
    """Sample → build-pairs → shards, once (cached in bench-out/loader)."""
    if (DATA / "shards" / "manifest.json").is_file():
        return
    from pgdata.jobs.posetransfer.build import BuildConfig, run_build
    from pgdata.jobs.posetransfer.build_pairs import BuildPairsConfig, run_build_pairs
    from pgdata.jobs.posetransfer.sample import SampleConfig, run_sample

    run_sample(SampleConfig(DATA / "inshop", ids=300, views=5, workers=2))
    run_build_pairs(
        BuildPairsConfig(
            dataset="deepfashion",
            root=DATA / "inshop",
            out=DATA / "pairs",
            images_hw=(256, 176),
            workers=2,
        )
    )
    run_build(BuildConfig(source=DATA / "pairs", out=DATA / "shards", parsing=False))


def reference_dataset():  # type: ignore[no-untyped-def]
    import pandas as pd
    import torch
    from PIL import Image

    class DPTNStyle(torch.utils.data.Dataset):  # type: ignore[type-arg]
        def __init__(self, root: Path) -> None:
            self.root = root
            self.annotation = pd.read_csv(
                root / "fasion-resize-annotation-train.csv", sep=":"
            ).set_index("name")
            self.pairs = pd.read_csv(root / "fasion-resize-pairs-train.csv")

        def __len__(self) -> int:
            return len(self.pairs)

        def _image(self, name: str) -> torch.Tensor:
            img = np.asarray(
                Image.open(self.root / "train" / name).convert("RGB"), dtype=np.float32
            )
            return (torch.from_numpy(img).permute(2, 0, 1) / 255.0 - 0.5) / 0.5

        def _pose(self, name: str) -> torch.Tensor:
            row = self.annotation.loc[name]
            cords = np.concatenate(
                [
                    np.expand_dims(json.loads(row.keypoints_y), -1),
                    np.expand_dims(json.loads(row.keypoints_x), -1),
                ],
                axis=1,
            )
            result = np.zeros((256, 176, 18), dtype=np.float32)
            for i, point in enumerate(cords):
                if point[0] == -1 or point[1] == -1:
                    continue
                xx, yy = np.meshgrid(np.arange(176), np.arange(256))
                result[..., i] = np.exp(-((yy - point[0]) ** 2 + (xx - point[1]) ** 2) / (2 * 6**2))
            return torch.from_numpy(result.transpose(2, 0, 1))

        def __getitem__(self, i: int) -> dict[str, object]:
            a, b = self.pairs.iloc[i]["from"], self.pairs.iloc[i]["to"]
            return {
                "P1": self._image(a),
                "BP1": self._pose(a),
                "P2": self._image(b),
                "BP2": self._pose(b),
                "P1_path": a,
                "P2_path": b,
            }

    return DPTNStyle(DATA / "pairs")


def device() -> str:
    """Where the device path renders: CUDA when this machine has it, else the CPU."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def measure(side: str, workers: int, n_pairs: int) -> float:
    """Pairs/s of one configuration: ``reference``, ``loader`` or ``device`` (module doc)."""
    import torch
    from torch.utils.data import DataLoader

    from pgdata.data import PoseCollate, PoseTransferDataset, to_device

    torch.set_num_threads(1)
    sync = lambda: None  # noqa: E731
    if side == "reference":
        loader = DataLoader(
            reference_dataset(),
            batch_size=16,
            shuffle=True,
            num_workers=workers,
            persistent_workers=workers > 0,
        )
        finish = lambda b: b  # noqa: E731
    else:
        ds = PoseTransferDataset(DATA / "shards", "train")
        loader = DataLoader(
            ds,
            batch_size=16,
            shuffle=True,
            num_workers=workers,
            collate_fn=PoseCollate(heatmaps=side == "loader"),
            persistent_workers=workers > 0,
            pin_memory=side == "device" and device() == "cuda",
        )
        where = device()
        finish = (lambda b: to_device(b, where)) if side == "device" else (lambda b: b)
        if where == "cuda":
            sync = torch.cuda.synchronize
    it = iter(loader)
    for _ in range(2):  # warm-up: worker start, page cache, CUDA context
        finish(next(it))
    seen, t0 = 0, time.perf_counter()
    while seen < n_pairs:
        try:
            batch = finish(next(it))
        except StopIteration:
            it = iter(loader)
            continue
        assert batch["BP1"].shape[1:] == (18, 256, 176) and batch["P1"].dtype == torch.float32
        seen += len(batch["P1"])
    sync()
    return seen / (time.perf_counter() - t0)


def check_same_tensors() -> dict[str, float]:
    from pgdata.data import PoseCollate, PoseTransferDataset

    ref = reference_dataset()
    ds = PoseTransferDataset(DATA / "shards", "train")
    got = PoseCollate()([ds[i] for i in range(8)])
    diffs = {"image": 0.0, "heatmap": 0.0}
    for i in range(8):
        r = ref[i]
        assert (r["P1_path"], r["P2_path"]) == (got["P1_path"][i], got["P2_path"][i])
        for k in ("P1", "P2"):
            diffs["image"] = max(diffs["image"], float((r[k] - got[k][i]).abs().max()))
        for k in ("BP1", "BP2"):
            diffs["heatmap"] = max(diffs["heatmap"], float((r[k] - got[k][i]).abs().max()))
    assert diffs["image"] <= 2 / 127.5 and diffs["heatmap"] <= 1e-6, diffs
    # the collate function reuses its buffers only once nothing holds them: a batch kept while
    # the next ones are made keeps its values
    collate = PoseCollate()
    held = collate([ds[i] for i in range(8)])
    kept = {k: held[k].clone() for k in ("P1", "BP1", "BP2")}
    for start in (8, 16, 24):
        collate([ds[i] for i in range(start, start + 8)])
    assert all(bool((held[k] == v).all()) for k, v in kept.items()), "a held batch changed"
    return diffs


def run_one(side: str, workers: int, tuned: bool) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    env.update({"OMP_NUM_THREADS": "1", **(TUNED if tuned else {})})
    n = 160 if side == "reference" else 1600
    out = subprocess.run(
        [sys.executable, __file__, "--one", side, str(workers), str(n)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--one":
        print(measure(sys.argv[2], int(sys.argv[3]), int(sys.argv[4])))
        return
    prepare()
    diffs = check_same_tensors()
    print(
        f"same tensors: max |image diff| {diffs['image']:.4f}, max |heatmap diff| {diffs['heatmap']:.2e}"
    )
    figures: dict[str, float] = {}
    runs = [
        ("reference", 0, False),
        ("loader", 0, False),
        ("device", 0, False),
        ("reference", 2, False),
        ("device", 2, False),
        ("loader", 0, True),
    ]
    for side, workers, tuned in runs:
        key = f"{side}_w{workers}{'_tuned' if tuned else ''}"
        figures[key] = round(run_one(side, workers, tuned), 1)
        print(f"{key:<24} {figures[key]:8.1f} pairs/s", flush=True)
    cores = os.cpu_count() or 1
    ratio = round(figures["loader_w0"] / figures["reference_w0"], 2)
    result = {
        "bench": "loader",
        "size_hw": [256, 176],
        "batch": 16,
        "cores": cores,
        "device": device(),
        "malloc": "glibc default (no MALLOC_* variable), except *_tuned",
        **{f"{k}_pairs_s": v for k, v in figures.items()},
        # heatmaps in the loader: one process, one core
        "loader_per_core_pairs_s": figures["loader_w0"],
        "ratio_loader": ratio,
        # heatmaps on the device: one process (the CPU is the device when there is no CUDA)
        "device_per_core_pairs_s": figures["device_w0"],
        "ratio_device": round(figures["device_w0"] / figures["reference_w0"], 2),
        "ratio_device_w2": round(figures["device_w2"] / figures["reference_w2"], 2),
        "ratio_loader_tuned": round(figures["loader_w0_tuned"] / figures["reference_w0"], 2),
        "ratio": ratio,
        "target_ratio": 10,
        "target_pairs_s_per_core": 800,
        "meets_targets": ratio >= 10 and figures["loader_w0"] >= 800,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
