"""StepSampler + the loop's batch stream: whole steps, disjoint ranks, resumable across epochs."""

import pytest
import torch
from torch.utils.data import DataLoader

from pgdata.training.loop import _batches
from pgdata.training.sampling import StepSampler


class _Range(torch.utils.data.Dataset):
    def __init__(self, n):
        self.n = n
        self.epochs = []

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return i

    def set_epoch(self, epoch):
        self.epochs.append(epoch)


def _stream(n, *, world, rank, start, steps, batch=2, accumulation=2, seed=5):
    data = _Range(n)
    sampler = StepSampler(data, world=world, rank=rank, seed=seed, step_size=batch * accumulation)
    loader = DataLoader(data, batch_size=batch, sampler=sampler)
    it = _batches(loader, sampler, start, data.set_epoch)
    out = [[next(it).tolist() for _ in range(accumulation)] for _ in range(steps)]
    return out, sampler.steps_per_epoch, data.epochs


def test_steps_are_whole_and_resume_anywhere_gives_the_same_stream():
    full, spe, epochs = _stream(23, world=1, rank=0, start=0, steps=12)
    assert spe == 5  # 23 // 4: the tail of 3 is dropped each epoch
    assert epochs == [0, 1, 2]
    for e in range(2):
        flat = [i for step in full[e * spe : (e + 1) * spe] for b in step for i in b]
        assert len(set(flat)) == 20 and max(flat) < 23
    assert full[:spe] != full[spe : 2 * spe]  # reshuffled per epoch
    for start in (1, 5, 7):
        resumed, _, _ = _stream(23, world=1, rank=0, start=start, steps=12 - start)
        assert resumed == full[start:]


@pytest.mark.parametrize("world", [2, 3])
def test_ranks_see_disjoint_indices(world):
    seen = []
    for rank in range(world):
        stream, spe, _ = _stream(40, world=world, rank=rank, start=0, steps=2)
        seen.append({i for step in stream for b in step for i in b})
    assert all(len(s) == 8 for s in seen)
    assert sum(len(s) for s in seen) == len(set().union(*seen))
