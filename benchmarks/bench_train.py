"""Training speed of every family's configs: fp32 eager against the optimised path, side by side.

For each config (``train/dptn.toml``, ``dptn-market``, ``dptn-teacher``, ``dptn-student``,
``patn``, ``pix2pix``, ``pix2pix-pose``, ``dmfn``) and each mode, ``pgdata.training.loop.train``
runs on real shards through the real loader, so the numbers include data loading, the heatmap
render on the device and every loss term (VGG19 with random weights: the same compute as the
ImageNet file). The shards are built once and cached in ``bench-out/train``: pose transfer
(``pgdata sample`` → build-pairs → build at 256×176) for DPTN, PATN and pix2pix-pose; aligned
A|B images with 256² halves (``sample --kind aligned``) for pix2pix; 256² faces (``sample --kind
faces``) for DMFN. Each measurement runs in a fresh process.

Modes: ``fp32`` (eager, fp32, NCHW: the official recipe; TF32 on), ``bf16`` (bf16 autocast +
channels_last), ``bf16+compile`` (the same, ``torch.compile``). bf16 and channels_last apply on
CUDA only, so on a CPU the modes are ``fp32`` and ``fp32+compile``.

Reported per run: s/it over the steps after the warm-up, the data-wait fraction (time blocked on
the loader / wall time) and peak memory (CUDA: ``max_memory_allocated``; CPU: peak RSS). The
student distils from a teacher written on the fly (its forward pass is part of the step).

GPU targets (issue 12): the optimised step ≥ 1.8× fp32 eager (official: 0.137 s/it at batch 16
on one H100) with data wait < 5 %. The last line is one JSON object; ``ratio`` = fp32 s/it /
best optimised s/it of ``dptn``.

    python benchmarks/bench_train.py                 # GPU: batch 16; CPU: batch 2, reduced
    python benchmarks/bench_train.py --configs dptn --steps 3 --warmup 1
    python benchmarks/bench_train.py --configs patn pix2pix pix2pix-pose dmfn --modes fp32
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "bench-out" / "train"
CONFIGS = (
    "dptn", "dptn-market", "dptn-teacher", "dptn-student", "patn", "pix2pix", "pix2pix-pose",
    "dmfn",
)  # fmt: skip
SHARDS_OF = {"pix2pix": "aligned", "dmfn": "faces"}  # family -> shard kind; others: pose
GPU_MODES = {
    "fp32": {"amp": False, "channels_last": False, "compile": False},
    "bf16": {"amp": True, "channels_last": True, "compile": False},
    "bf16+compile": {"amp": True, "channels_last": True, "compile": True},
}
CPU_MODES = {
    "fp32": {"amp": False, "channels_last": False, "compile": False},
    "fp32+compile": {"amp": False, "channels_last": False, "compile": True},
}
TARGET_RATIO = 1.8
TARGET_WAIT = 0.05


def prepare(ids: int) -> Path:
    """Sample → build-pairs → pose-transfer shards at 256×176, once (cached)."""
    shards = DATA / f"shards-{ids}"
    if (shards / "manifest.json").is_file():
        return shards
    from pgdata.jobs.posetransfer.build import BuildConfig, run_build
    from pgdata.jobs.posetransfer.build_pairs import BuildPairsConfig, run_build_pairs
    from pgdata.jobs.posetransfer.sample import SampleConfig, run_sample

    tree, pairs = DATA / f"inshop-{ids}", DATA / f"pairs-{ids}"
    run_sample(SampleConfig(tree, ids=ids, views=4, workers=os.cpu_count() or 1))
    run_build_pairs(
        BuildPairsConfig(dataset="deepfashion", root=tree, out=pairs, images_hw=(256, 176))
    )
    run_build(BuildConfig(source=pairs, out=shards, parsing=False, overwrite=True))
    return shards


def prepare_aligned(n: int) -> Path:
    """The aligned sample (256² halves) → aligned shards, once (cached)."""
    shards = DATA / f"aligned-shards-{n}"
    if (shards / "manifest.json").is_file():
        return shards
    from pgdata.jobs.aligned.build import AlignedBuildConfig, run_build_aligned
    from pgdata.jobs.aligned.sample import AlignedSampleConfig, run_aligned_sample

    run_aligned_sample(AlignedSampleConfig(DATA / f"aligned-{n}", n=n))
    run_build_aligned(AlignedBuildConfig(source=DATA / f"aligned-{n}", out=shards, overwrite=True))
    return shards


def prepare_faces(n: int) -> Path:
    """The faces sample → 256² face shards, once (cached)."""
    shards = DATA / f"face-shards-{n}"
    if (shards / "manifest.json").is_file():
        return shards
    from pgdata.jobs.faces.build import FacesBuildConfig, run_build_faces
    from pgdata.jobs.faces.sample import FacesSampleConfig, run_faces_sample

    run_faces_sample(FacesSampleConfig(DATA / f"faces-{n}", n=n))
    run_build_faces(FacesBuildConfig(source=DATA / f"faces-{n}", out=shards, overwrite=True))
    return shards


def shards_for(config: str, ids: int) -> Path:
    """The cached shard folder the config's family trains on (built on first use)."""
    from pgdata.training.config import load_train_config

    kind = SHARDS_OF.get(load_train_config(ROOT / "train" / f"{config}.toml").family, "pose")
    if kind == "aligned":
        return prepare_aligned(ids)
    if kind == "faces":
        return prepare_faces(ids)
    return prepare(ids)


def _teacher(tmp: Path) -> Path:
    """A randomly initialised teacher checkpoint for the student's distillation target."""
    import torch

    from pgdata.training.config import load_train_config
    from pgdata.training.steps.dptn import DPTNStep

    cfg = load_train_config(ROOT / "train" / "dptn-teacher.toml")
    path = tmp / "teacher.pt"
    nets = DPTNStep.build_networks(cfg)
    torch.save({"G": nets["G"].state_dict(), "config": cfg.to_json()}, path)
    return path


def measure(
    config: str, mode: str, shards: Path, batch: int, steps: int, warmup: int, workers: int
) -> dict[str, Any]:
    """One run in this process; returns its figures."""
    import torch

    from pgdata.training.config import load_train_config
    from pgdata.training.loop import train

    cuda = torch.cuda.is_available()
    modes = GPU_MODES if cuda else CPU_MODES
    sets: dict[str, Any] = {
        **modes[mode],
        "batch_size": batch,
        "steps": warmup + steps,
        "workers": workers,
        "vgg_weights": "random",
        "log_every": 1,
        "sample_every": 0,
        "ckpt_every": 0,
        "tensorboard": False,
    }
    with tempfile.TemporaryDirectory() as tmp:
        if config == "dptn-student":
            sets["teacher_checkpoint"] = str(_teacher(Path(tmp)))
        cfg = load_train_config(ROOT / "train" / f"{config}.toml", sets)
        if cuda:
            torch.cuda.reset_peak_memory_stats()
        t0 = time.perf_counter()
        train(cfg, shards, Path(tmp) / "run")
        wall = time.perf_counter() - t0
        lines = [json.loads(x) for x in (Path(tmp) / "run" / "log.jsonl").read_text().splitlines()]
    timed = [x for x in lines if x["step"] > warmup]
    seconds = sum(x["perf/s_per_it"] for x in timed)
    waited = sum(x["perf/s_per_it"] * x["perf/data_wait"] for x in timed)
    if cuda:
        peak = torch.cuda.max_memory_allocated() / 2**30
    else:  # ru_maxrss is KiB on Linux
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    return {
        "config": config,
        "mode": mode,
        "device": torch.cuda.get_device_name() if cuda else "cpu",
        "batch": batch,
        "s_per_it": seconds / len(timed),
        "data_wait": waited / seconds,
        "peak_gib": peak,
        "run_s": wall,
    }


def main() -> None:
    import torch

    cuda = torch.cuda.is_available()
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=CONFIGS)
    p.add_argument("--modes", nargs="+", default=list(GPU_MODES if cuda else CPU_MODES))
    p.add_argument("--batch", type=int, default=16 if cuda else 2)
    p.add_argument("--steps", type=int, default=30 if cuda else 2, help="timed steps")
    p.add_argument("--warmup", type=int, default=10 if cuda else 1, help="untimed first steps")
    p.add_argument("--workers", type=int, default=min(8, os.cpu_count() or 1) if cuda else 1)
    p.add_argument(
        "--ids", type=int, default=160, help="identities (aligned, faces: images) of the samples"
    )
    p.add_argument("--one", nargs=2, metavar=("CONFIG", "MODE"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.one:
        shards = shards_for(args.one[0], args.ids)
        fig = measure(*args.one, shards, args.batch, args.steps, args.warmup, args.workers)
        print(json.dumps(fig))
        return
    for config in args.configs:  # build every needed shard set once, before timing anything
        shards_for(config, args.ids)

    rows: list[dict[str, Any]] = []
    print(f"{'config':14} {'mode':14} {'s/it':>8} {'img/s':>7} {'wait':>6} {'peak GiB':>9}")
    for config in args.configs:
        for mode in args.modes:
            cmd = [sys.executable, __file__, "--one", config, mode, "--batch", str(args.batch)]
            cmd += ["--steps", str(args.steps), "--warmup", str(args.warmup)]
            cmd += ["--workers", str(args.workers), "--ids", str(args.ids)]
            done = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                print(f"{config:14} {mode:14} failed: {done.stderr.strip().splitlines()[-1:]}")
                continue
            fig = json.loads(done.stdout.strip().splitlines()[-1])
            rows.append(fig)
            ips = fig["batch"] / fig["s_per_it"]
            print(
                f"{config:14} {mode:14} {fig['s_per_it']:8.3f} {ips:7.1f} "
                f"{100 * fig['data_wait']:5.1f}% {fig['peak_gib']:9.2f}",
                flush=True,
            )
    base = {r["mode"]: r for r in rows if r["config"] == "dptn"}
    fast = [r["s_per_it"] for m, r in base.items() if m != "fp32"]
    ratio = base["fp32"]["s_per_it"] / min(fast) if "fp32" in base and fast else None
    summary: dict[str, Any] = {
        "bench": "train",
        "device": rows[0]["device"] if rows else "none",
        "batch": args.batch,
        "ratio": ratio,
        "max_data_wait": max((r["data_wait"] for r in rows), default=None),
        "runs": rows,
    }
    if cuda and ratio is not None:
        summary["targets_met"] = ratio >= TARGET_RATIO and summary["max_data_wait"] < TARGET_WAIT
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
