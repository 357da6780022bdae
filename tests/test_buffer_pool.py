"""The loader's reused CPU buffers (issue 10, point 9): reused when free, never while anything
holds them, and the batches they carry are exactly the freshly allocated ones."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from pgdata.data import PoseCollate, PoseTransferDataset, to_device
from pgdata.data.common import BufferPool, _empty_huge_pages
from pgdata.stages.heatmaps import render_heatmaps
from tests.train_shards import pose_shards

SHAPE = (2, 18, 16, 12)


def test_a_free_buffer_is_reused_and_a_held_one_never():
    pool = BufferPool()
    a = pool.take(SHAPE)
    ptr = a.data_ptr()
    del a
    b = pool.take(SHAPE)
    assert b.data_ptr() == ptr  # nothing held it: the same memory again
    c = pool.take(SHAPE)  # b is held by this test: another buffer
    assert c.data_ptr() != ptr

    holders = {
        "a dict": lambda t: {"BP1": t},
        "a view": lambda t: t[0],
        "a numpy array": lambda t: t.numpy(),
        "an autograd graph": lambda t: torch.nn.functional.linear(
            t, torch.ones(12, 12, requires_grad=True)
        ),
    }
    for what, hold in holders.items():
        pool = BufferPool()
        t = pool.take(SHAPE)
        ptr = t.data_ptr()
        holder = hold(t)
        del t
        assert pool.take(SHAPE).data_ptr() != ptr, what
        del holder
        assert pool.take(SHAPE).data_ptr() == ptr, what


def test_shared_buffers_leave_the_pool_and_copies_start_empty():
    pool = BufferPool()
    t = pool.take(SHAPE)
    ptr = t.share_memory_().data_ptr()  # what sending a batch from a worker does
    del t
    assert pool.take(SHAPE).data_ptr() != ptr
    copy = pickle.loads(pickle.dumps(pool))
    assert isinstance(copy, BufferPool) and not copy._tensors
    assert not pickle.loads(pickle.dumps(PoseCollate())).buffers._tensors


def test_inference_tensors_are_reused_only_in_inference_mode():
    pool = BufferPool()
    with torch.inference_mode():
        t = pool.take(SHAPE)
        ptr = t.data_ptr()
        del t
    outside = pool.take(SHAPE)
    assert outside.data_ptr() != ptr and not outside.is_inference()
    outside.fill_(1.0)  # an inference tensor would refuse this in-place write out here
    with torch.inference_mode():
        assert pool.take(SHAPE).data_ptr() == ptr


def test_at_most_keep_buffers_of_a_shape_are_pooled():
    pool = BufferPool(keep=2)
    held = [pool.take(SHAPE) for _ in range(5)]
    assert len(pool._tensors) == 2 and len({t.data_ptr() for t in held}) == 5


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> PoseTransferDataset:
    return PoseTransferDataset(pose_shards(tmp_path_factory.mktemp("pool"), ids=4), "train")


def _expected_heatmaps(keypoints: torch.Tensor, hw: tuple[int, int]) -> np.ndarray:
    return np.stack([render_heatmaps(k.numpy(), hw) for k in keypoints])


def test_collated_batches_are_right_while_buffers_are_reused(dataset):
    collate = PoseCollate()
    n = len(dataset)
    held = collate([dataset[i % n] for i in range(4)])  # kept all along
    hw = tuple(held["P1"].shape[-2:])
    heatmaps_at: dict[int, set[int]] = {}
    batch = None
    for start in (4, 8, 12, 16):
        # `batch` still holds the previous batch while the next one is made, as in a loop
        batch = collate([dataset[i % n] for i in range(start, start + 4)])
        heatmaps_at[start] = {batch["BP1"].data_ptr(), batch["BP2"].data_ptr()}
        for k in ("BP1", "BP2"):
            expected = _expected_heatmaps(batch["K" + k[-1]], hw)
            np.testing.assert_allclose(batch[k].numpy(), expected, atol=1e-6)
        fresh = torch.stack([dataset[i % n]["P1"] for i in range(start, start + 4)])
        assert torch.equal(batch["P1"], fresh.to(torch.float32) / 127.5 - 1.0)
    # 4 buffers of a shape are pooled: the held batch and the one at 4 fill them; the batch at 8
    # (made while 4 is still held) gets buffers of its own, the one at 12 those of 4, free again
    assert heatmaps_at[12] == heatmaps_at[4]
    assert not heatmaps_at[8] & heatmaps_at[4] and not heatmaps_at[16] & heatmaps_at[4]
    np.testing.assert_allclose(held["BP1"].numpy(), _expected_heatmaps(held["K1"], hw), atol=1e-6)


def test_to_device_on_the_cpu_matches_the_collate_path(dataset):
    samples = [dataset[i] for i in range(3)]
    rendered = PoseCollate()(samples)
    for _ in range(3):  # the same batch again and again: reused buffers, the same values
        moved = to_device(PoseCollate(heatmaps=False)(samples), "cpu")
        for k in ("P1", "P2", "BP1", "BP2"):
            assert torch.equal(moved[k], rendered[k]), k


@pytest.mark.parametrize(
    ("shape", "dtype"),
    [
        ((16, 18, 256, 176), torch.float32),
        ((16, 3, 256, 176), torch.float32),
        ((7, 5), torch.uint8),
    ],
)
def test_large_buffers_start_on_a_huge_page_boundary(shape, dtype):
    """Big pool buffers are C-contiguous tensors on a 2 MB boundary with one storage user (as
    torch.empty's) and no view base; small ones are plain torch.empty."""
    t = _empty_huge_pages(shape, dtype)
    assert tuple(t.shape) == shape and t.dtype == dtype and t.is_contiguous()
    assert t._base is None
    plain = torch.empty(shape, dtype=dtype)
    uses = torch._C._storage_Use_Count
    assert uses(t.untyped_storage()._cdata) == uses(plain.untyped_storage()._cdata)
    if t.numel() * t.element_size() >= 4 << 20:
        assert t.data_ptr() % (2 << 20) == 0
    t.fill_(3)  # every byte of the tensor lies inside its storage
    assert int(t.sum()) == 3 * t.numel()
