"""The training loop of ``pgdata train``, top to bottom (nanoGPT's ``train.py`` layout).

1. processes and device, chosen once (``torchrun`` → one rank per device, gloo / nccl);
2. data: the family's dataset over the shard folder, a seeded rank-sharded sampler that yields
   whole optimiser steps, a DataLoader whose workers decode JPEGs while heatmaps are rendered on
   the device in one call per batch;
3. the run folder: a new run, or the checkpoint to resume from (refusals in
   :func:`pgdata.training.checkpoint.open_run`);
4. the family's networks, optimisers and schedules; the checkpoint's state and RNG on resume;
5. the loop: micro-batches → one ``train_step`` (every phase, gradients averaged over ranks) →
   schedulers; every ``log_every`` steps a log line (and the finiteness check), every
   ``sample_every`` a sample grid, every ``ckpt_every`` and at the end a checkpoint.

A non-finite loss stops the run with :class:`TrainingError` before anything else is written, so
the newest checkpoint on disk is the last good one. Only rank 0 writes files, and it holds the
run folder's lock (:mod:`pgdata.io.lock`) from before the folder is checked to the end: a second
run into the same ``--out`` is refused, naming the first.
"""

from __future__ import annotations

import contextlib
import math
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from pgdata import __version__
from pgdata.errors import InputFormatError, PgdataError
from pgdata.io.lock import folder_lock
from pgdata.training import dist
from pgdata.training.checkpoint import (
    CHECKPOINT_FORMAT,
    CHECKPOINT_VERSION,
    capture_rng,
    check_resumable,
    checkpoint_path,
    load_checkpoint,
    manifest_sha256,
    open_run,
    prune_checkpoints,
    restore_rng,
    save_checkpoint,
    write_run_config,
)
from pgdata.training.config import TrainConfig, TrainingError
from pgdata.training.logs import RunLog, grid_image
from pgdata.training.sampling import StepSampler
from pgdata.training.steps import TrainStep, get_family

__all__ = ["TrainResult", "train"]

RANK_SEED_STRIDE = 1_000_003  # per-rank training-time seeds: seed + stride × (rank + 1)


@dataclass(frozen=True)
class TrainResult:
    """What a run did (the same on every rank; paths are rank 0's)."""

    run: Path
    start_step: int
    step: int
    seconds: float
    s_per_it: float
    data_wait: float  # fraction of the wall time spent waiting for batches
    checkpoint: Path | None
    sample: Path | None
    world: int
    networks: dict[str, nn.Module]  # the trained networks, as they are at the end (on the device)


def _seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)


def _batches(
    loader: DataLoader[Any], sampler: StepSampler, start: int, on_epoch: Callable[[int], None]
) -> Iterator[dict[str, Any]]:
    """CPU batches forever, from optimiser step ``start`` on (mid-epoch after a resume)."""
    epoch, done = divmod(start, sampler.steps_per_epoch)
    while True:
        sampler.start_at(epoch, done)
        on_epoch(epoch)  # the dataset's flips; workers copy it when the iterator starts
        yield from loader
        epoch, done = epoch + 1, 0


def train(
    cfg: TrainConfig,
    data: Path,
    out: Path,
    *,
    resume: bool = False,
    force: bool = False,
    on_batch: Callable[[int, dict[str, Any]], None] | None = None,
) -> TrainResult:
    """Train ``cfg.family`` on the shard folder ``data`` into the run folder ``out``.

    Args:
        cfg: the resolved config.
        data: a shard folder written by ``pgdata build``.
        out: the run folder (created; see :func:`pgdata.training.checkpoint.open_run`).
        resume: continue from the newest checkpoint in ``out``.
        force: resume even though the config's identity keys or the shards changed.
        on_batch: called on every rank with ``(step, cpu_batch)`` for each micro-batch before
            it is used (inspection and tests; the batch must not be modified).

    Raises:
        PgdataError: bad config, data, run folder or checkpoint; non-finite loss; CUDA out of
            memory (the message suggests a smaller batch or accumulation).
    """
    env = dist.setup(cfg.device)
    held = contextlib.ExitStack()  # the run folder's lock (rank 0), released however we leave
    try:
        return _train(cfg, Path(data), Path(out), env, resume, force, on_batch, held)
    except torch.cuda.OutOfMemoryError:
        raise TrainingError(
            f"CUDA out of memory at batch_size {cfg.batch_size}: lower it (e.g. --set batch_size="
            f"{max(1, cfg.batch_size // 2)} --set accumulation={cfg.accumulation * 2} keeps the "
            "effective batch), or turn on amp"
        ) from None
    finally:
        held.close()
        dist.teardown()


def _train(
    cfg: TrainConfig,
    data: Path,
    out: Path,
    env: dist.Dist,
    resume: bool,
    force: bool,
    on_batch: Callable[[int, dict[str, Any]], None] | None,
    held: contextlib.ExitStack,
) -> TrainResult:
    family = get_family(cfg.family)
    if env.device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True  # the reference timings use TF32 for fp32
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cudnn.benchmark = True

    # ------------------------------------------------------------------------------ data
    family.check_config(cfg)
    family.check_data(data)
    dataset = family.dataset(cfg, data, cfg.split, train=True)
    data_sha = manifest_sha256(data)
    step_size = cfg.batch_size * cfg.accumulation
    sampler = StepSampler(
        dataset, world=env.world, rank=env.rank, seed=cfg.seed, step_size=step_size
    )
    if sampler.steps_per_epoch == 0:
        raise TrainingError(
            f"{data}: split {cfg.split!r} has {len(dataset)} pairs, fewer than one step needs "  # type: ignore[arg-type]
            f"(batch_size {cfg.batch_size} × accumulation {cfg.accumulation} × {env.world} "
            "processes): lower batch_size"
        )
    # the schedule's epoch: one pass over the split, or epoch_pairs pairs (PATN: 4,000)
    schedule_epoch = sampler.steps_per_epoch
    if cfg.epoch_pairs:
        schedule_epoch = max(1, cfg.epoch_pairs // (step_size * env.world))
    total = cfg.steps or (cfg.epochs_flat + cfg.epochs_decay) * schedule_epoch

    # ------------------------------------------------------------------------ run folder
    verdict: Any = None
    if env.main:
        try:
            if out.exists() and not out.is_dir():
                raise TrainingError(f"--out {out} is a file: give a folder for the run")
            held.enter_context(folder_lock(out, "pgdata train"))  # one run per folder
            verdict = open_run(out, cfg, data_sha, resume=resume, force=force)
        except PgdataError as e:
            verdict = e
    verdict = dist.broadcast_object(verdict, env.world)
    if isinstance(verdict, PgdataError):
        raise verdict
    resume_from: Path | None = verdict

    # ------------------------------------------------- networks, optimisers, schedules
    _seed_everything(cfg.seed)  # same initial weights on every rank
    step_obj = family(cfg, env.device, schedule_epoch)
    start = 0
    if resume_from is not None:
        ckpt = load_checkpoint(resume_from)
        check_resumable(resume_from, ckpt, cfg, data_sha, force=force)
        try:
            step_obj.load_state_dict(ckpt)
        except (KeyError, RuntimeError, ValueError) as e:
            raise InputFormatError(
                resume_from, f"does not fit this config's networks ({e})"
            ) from None
        start = int(ckpt["step"])
        rngs = ckpt["rng"]
        if len(rngs) == env.world:
            restore_rng(rngs[env.rank])
        else:  # resumed (forced) on another number of ranks: fresh, still seeded
            _seed_everything(cfg.seed + RANK_SEED_STRIDE * (env.rank + 1) + start)
    else:
        dist.broadcast_state(step_obj.networks.values(), env.world, params=True)
        _seed_everything(cfg.seed + RANK_SEED_STRIDE * (env.rank + 1))
    if cfg.compile:
        step_obj.compile()
    if env.main:
        out.mkdir(parents=True, exist_ok=True)
        write_run_config(out, cfg, data, data_sha)
    log = RunLog(out, enabled=env.main, total=total, start=start, tensorboard=cfg.tensorboard)

    # the loader draws its worker seeds from its own generator, not from the global RNG
    loader_seed = torch.Generator().manual_seed(cfg.seed)
    loader: DataLoader[Any] = DataLoader(
        dataset,
        batch_size=cfg.batch_size,
        sampler=sampler,
        num_workers=cfg.workers,
        collate_fn=step_obj.collate,
        pin_memory=env.device.type == "cuda",
        generator=loader_seed,
    )
    show = _sample_batch(step_obj, cfg, data) if env.main else None

    # ---------------------------------------------------------------------------- loop
    batches = _batches(loader, sampler, start, getattr(dataset, "set_epoch", lambda e: None))
    step = start
    t_start = t_window = time.perf_counter()
    wait_window = wait_total = 0.0
    window: dict[str, torch.Tensor] = {}
    window_steps = 0
    last_ckpt: Path | None = resume_from
    last_sample: Path | None = None
    try:
        while step < total:
            # one optimiser step = `accumulation` micro-batches; heatmaps rendered on the device
            t0 = time.perf_counter()
            micros = []
            for _ in range(cfg.accumulation):
                cpu_batch = next(batches)
                if on_batch is not None:
                    on_batch(step, cpu_batch)
                micros.append(step_obj.to_device(cpu_batch))
            waited = time.perf_counter() - t0
            wait_window += waited
            wait_total += waited

            terms = step_obj.train_step(micros, env.world)
            for scheduler in step_obj.schedulers.values():
                scheduler.step()
            step += 1
            log.step()
            for name, value in terms.items():
                window[name] = window.get(name, 0.0) + value
            window_steps += 1

            last = step == total
            log_now = step % cfg.log_every == 0 or last
            ckpt_now = (cfg.ckpt_every and step % cfg.ckpt_every == 0) or last
            sample_now = (cfg.sample_every and step % cfg.sample_every == 0) or last
            if log_now or ckpt_now:
                means = _mean_terms(window, window_steps, env.world)  # syncs; same on every rank
                _check_finite(means, step, out, last_ckpt)
            if log_now:
                now = time.perf_counter()
                elapsed = now - t_window
                values: dict[str, float] = {
                    "epoch": step // sampler.steps_per_epoch,
                    "time": now - t_start,
                }
                values["perf/s_per_it"] = elapsed / window_steps
                values["perf/data_wait"] = wait_window / elapsed if elapsed > 0 else 0.0
                for name, opt in step_obj.optimizers.items():
                    values[f"lr/{name}"] = float(opt.param_groups[0]["lr"])
                values.update(means)
                log.scalars(step, values)
                window, window_steps, wait_window, t_window = {}, 0, 0.0, now
            if sample_now and show is not None:
                last_sample = log.image(step, grid_image(step_obj.sample_columns(show)))
            if ckpt_now:
                last_ckpt = _save(out, step_obj, cfg, data_sha, step, sampler.steps_per_epoch, env)
    finally:
        log.close()
    seconds = time.perf_counter() - t_start
    done = step - start
    return TrainResult(
        run=out,
        start_step=start,
        step=step,
        seconds=seconds,
        s_per_it=seconds / done if done else 0.0,
        data_wait=wait_total / seconds if seconds > 0 else 0.0,
        checkpoint=last_ckpt,
        sample=last_sample,
        world=env.world,
        networks=step_obj.networks,
    )


def _mean_terms(window: dict[str, torch.Tensor], steps: int, world: int) -> dict[str, float]:
    """Loss terms averaged over the window's steps and over ranks (one small all-reduce)."""
    if not window:
        return {}
    names = sorted(window)
    stacked = torch.stack([torch.as_tensor(window[n]).float() for n in names]) / steps
    if world > 1:
        torch.distributed.all_reduce(stacked)
        stacked /= world
    return dict(zip(names, stacked.cpu().tolist(), strict=True))


def _check_finite(means: dict[str, float], step: int, out: Path, last_ckpt: Path | None) -> None:
    bad = [f"{n} = {v}" for n, v in means.items() if not math.isfinite(v)]
    if bad:
        kept = f"last good checkpoint {last_ckpt}" if last_ckpt else "no checkpoint was written"
        raise TrainingError(
            f"non-finite loss by step {step} of {out} ({', '.join(bad)}): stopped; {kept}. "
            "Lower lr, or check the data with `pgdata verify`"
        )


def _save(
    out: Path,
    step_obj: TrainStep,
    cfg: TrainConfig,
    data_sha: str,
    step: int,
    spe: int,
    env: dist.Dist,
) -> Path:
    """Checkpoint on rank 0 (every rank contributes its RNG state); keep the newest K."""
    rngs = dist.all_gather_objects(capture_rng(), env.world)
    path = checkpoint_path(out, step)
    if env.main:
        ckpt: dict[str, Any] = {
            "format": CHECKPOINT_FORMAT,
            "format_version": CHECKPOINT_VERSION,
            "family": cfg.family,
            **step_obj.state_dict(),
            "step": step,
            "epoch": step // spe,
            "world_size": env.world,
            "rng": rngs,
            "config": cfg.to_json(),
            "data_sha256": data_sha,
            "pgdata_version": __version__,
        }
        save_checkpoint(path, ckpt)
        prune_checkpoints(out, cfg.keep_last)
    dist.barrier()
    return path


def _sample_batch(step_obj: TrainStep, cfg: TrainConfig, data: Path) -> dict[str, Any]:
    """The pairs every sample grid shows: the first of the test split (else of the train split)."""
    try:
        dataset = step_obj.dataset(cfg, data, "test", train=False)
    except InputFormatError:
        dataset = step_obj.dataset(cfg, data, cfg.split, train=False)
    n = min(cfg.sample_rows, len(dataset))  # type: ignore[arg-type]
    return step_obj.to_device(step_obj.collate([dataset[i] for i in range(n)]))
