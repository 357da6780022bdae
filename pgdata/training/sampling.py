"""Which pairs each rank trains on, in an order that a resumed run can pick up mid-epoch.

:class:`StepSampler` is a ``DistributedSampler`` (seeded shuffle per epoch, each rank a disjoint
slice) that yields whole optimiser steps only (``batch_size × accumulation`` indices per step;
the tail that does not fill a step is dropped, as DPTN truncates to a batch multiple) and can
skip the steps of an epoch a checkpoint already trained on. The order depends only on
``(seed, epoch, rank, world)``, so it is the same with any number of loader workers and after a
resume.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from torch.utils.data import Dataset, DistributedSampler

__all__ = ["StepSampler"]


class StepSampler(DistributedSampler[Any]):
    """Seeded, rank-sharded indices in whole optimiser steps, resumable within an epoch.

    Args:
        dataset: the training set (only its length is used).
        world, rank: number of processes and this one's rank.
        seed: shuffle seed (the permutation of epoch ``e`` uses ``seed + e``).
        step_size: indices per optimiser step and rank (``batch_size × accumulation``).
    """

    def __init__(
        self, dataset: Dataset[Any], *, world: int, rank: int, seed: int, step_size: int
    ) -> None:
        super().__init__(
            dataset, num_replicas=world, rank=rank, shuffle=True, seed=seed, drop_last=True
        )
        self.step_size = step_size
        self.steps_per_epoch = self.num_samples // step_size
        self.skip_steps = 0

    def start_at(self, epoch: int, steps_done: int) -> None:
        """Iterate epoch ``epoch`` from its step ``steps_done`` (0 = the whole epoch)."""
        self.set_epoch(epoch)
        self.skip_steps = steps_done

    def __iter__(self) -> Iterator[Any]:
        indices = list(super().__iter__())[: self.steps_per_epoch * self.step_size]
        return iter(indices[self.skip_steps * self.step_size :])

    def __len__(self) -> int:
        return (self.steps_per_epoch - self.skip_steps) * self.step_size
