"""Data-parallel plumbing: one process per device under ``torchrun``, rank 0 writes.

``torchrun --nproc-per-node N -m pgdata train ...`` sets ``RANK``, ``WORLD_SIZE`` and
``LOCAL_RANK``; :func:`setup` then joins the process group (gloo on CPU, nccl on CUDA). Without
those variables it is a single process and nothing here communicates.

Gradients are averaged across ranks with one all-reduce per optimiser step
(:func:`average_gradients`), the arithmetic ``DistributedDataParallel`` does. A GAN step runs
the discriminator inside the generator's backward pass and accumulates over micro-batches, so
averaging explicitly right before each ``optimizer.step()`` replaces DDP's hooks, ``no_sync``
contexts and unused-parameter bookkeeping with one visible line. Buffers (BatchNorm running
statistics) are copied from rank 0 after every step, as DDP's ``broadcast_buffers`` does.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from pgdata.errors import ConfigError

__all__ = [
    "Dist",
    "all_gather_objects",
    "average_gradients",
    "barrier",
    "broadcast_object",
    "broadcast_state",
    "pick_device",
    "setup",
    "teardown",
]


@dataclass(frozen=True)
class Dist:
    """Where this process stands: ``rank`` of ``world`` processes, on ``device``."""

    rank: int
    world: int
    device: torch.device

    @property
    def main(self) -> bool:
        """True on rank 0, the only process that writes files."""
        return self.rank == 0


def pick_device(choice: str) -> torch.device:
    """``"auto"`` → CUDA when available, else CPU; ``"cuda"`` without a device is a ConfigError."""
    if choice == "auto":
        choice = "cuda" if torch.cuda.is_available() else "cpu"
    if choice == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device = 'cuda' but torch sees no CUDA device: use --device cpu")
    if choice not in ("cpu", "cuda"):
        raise ConfigError(f"device: {choice!r} is not one of ['auto', 'cpu', 'cuda']")
    return torch.device(choice)


def setup(device_choice: str) -> Dist:
    """Pick the device once and, under ``torchrun``, join the process group."""
    device = pick_device(device_choice)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    if device.type == "cuda":
        local = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local)
        device = torch.device("cuda", local)
    if world > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return Dist(rank=rank, world=world, device=device)


def teardown() -> None:
    """Leave the process group (no-op in a single process)."""
    if dist.is_initialized():
        dist.destroy_process_group()


def barrier() -> None:
    """Wait for every rank (no-op in a single process)."""
    if dist.is_initialized():
        dist.barrier()


def average_gradients(params: Iterable[nn.Parameter], world: int) -> None:
    """Replace each ``.grad`` by its mean over ranks: one all-reduce of the flattened gradients."""
    if world == 1:
        return
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat.div_(world)
    offset = 0
    for g in grads:
        n = g.numel()
        g.copy_(flat[offset : offset + n].view_as(g))
        offset += n


def broadcast_state(modules: Iterable[nn.Module], world: int, *, params: bool) -> None:
    """Copy rank 0's buffers (and parameters when ``params``) to every rank.

    One broadcast per dtype: the tensors are flattened into one buffer, sent, and copied back.
    """
    if world == 1:
        return
    by_dtype: dict[torch.dtype, list[torch.Tensor]] = {}
    for module in modules:
        tensors = list(module.buffers()) + (list(module.parameters()) if params else [])
        for t in tensors:
            by_dtype.setdefault(t.dtype, []).append(t.data)
    for group in by_dtype.values():
        flat = torch.cat([t.reshape(-1) for t in group])
        dist.broadcast(flat, src=0)
        offset = 0
        for t in group:
            t.copy_(flat[offset : offset + t.numel()].view_as(t))
            offset += t.numel()


def broadcast_object(obj: Any, world: int) -> Any:
    """Rank 0's ``obj`` on every rank (picklable objects: the run-folder verdict, errors)."""
    if world == 1:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def all_gather_objects(obj: Any, world: int) -> list[Any]:
    """``[obj of rank 0, obj of rank 1, ...]`` on every rank (the RNG states for a checkpoint)."""
    if world == 1:
        return [obj]
    out: list[Any] = [None] * world
    dist.all_gather_object(out, obj)
    return out
