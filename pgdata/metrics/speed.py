"""Model size and inference speed: the ``params`` and ``speed`` presets.

``speed`` reports images per second of a callable at batch 1 and 16 (by default) on one device:
inputs are made once per batch size, the callable is warmed up, then timed in a loop of whole
calls (CUDA synchronised before and after) until both a minimum time and a minimum number of
calls are reached; images/s = batch × calls / seconds. Gradients are off (``torch.inference_mode``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

__all__ = ["SPEED_BATCHES", "SpeedResult", "count_parameters", "measure_speed"]

SPEED_BATCHES = (1, 16)
WARMUP_CALLS = 3
MIN_SECONDS = 1.0
MIN_CALLS = 5


def count_parameters(module: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters (shared tensors counted once), the ``params`` preset."""
    seen: set[int] = set()
    total = 0
    for p in module.parameters():
        if id(p) in seen or (trainable_only and not p.requires_grad):
            continue
        seen.add(id(p))
        total += p.numel()
    return total


@dataclass(frozen=True)
class SpeedResult:
    """Images per second by batch size on ``device``, and the calls and seconds behind each."""

    device: str
    images_per_s: dict[int, float]
    calls: dict[int, int] = field(default_factory=dict)
    seconds: dict[int, float] = field(default_factory=dict)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure_speed(
    fn: Callable[..., object],
    make_inputs: Callable[[int], Sequence[torch.Tensor]],
    *,
    device: str | torch.device = "cpu",
    batch_sizes: Sequence[int] = SPEED_BATCHES,
    warmup: int = WARMUP_CALLS,
    min_seconds: float = MIN_SECONDS,
    min_calls: int = MIN_CALLS,
    clock: Callable[[], float] = time.perf_counter,
) -> SpeedResult:
    """Time ``fn(*make_inputs(b))`` for each batch size ``b``.

    Args:
        fn: the model's inference call (e.g. a generator's ``forward``), already on ``device``.
        make_inputs: ``b`` → the positional input tensors of a batch of ``b`` (moved to ``device``
            here, before timing).
        device: where ``fn`` runs; CUDA is synchronised around the timed loop.
        batch_sizes: batches to time.
        warmup: untimed calls first (allocator, cuDNN autotuning, lazy init).
        min_seconds, min_calls: the timed loop runs until both are reached.
        clock: a monotonic clock in seconds.
    """
    dev = torch.device(device)
    rates: dict[int, float] = {}
    calls: dict[int, int] = {}
    secs: dict[int, float] = {}
    with torch.inference_mode():
        for b in batch_sizes:
            inputs = [t.to(dev) for t in make_inputs(b)]
            for _ in range(warmup):
                fn(*inputs)
            _sync(dev)
            n, start = 0, clock()
            elapsed = 0.0
            while n < min_calls or elapsed < min_seconds:
                fn(*inputs)
                n += 1
                if n >= min_calls:
                    _sync(dev)
                elapsed = clock() - start
            _sync(dev)
            elapsed = clock() - start
            rates[b] = b * n / elapsed if elapsed > 0 else float("inf")
            calls[b], secs[b] = n, elapsed
    return SpeedResult(str(dev), rates, calls, secs)
