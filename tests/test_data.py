import multiprocessing

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, DistributedSampler

from pgdata.data import PoseCollate, PoseTransferDataset, to_device
from pgdata.errors import InputFormatError
from pgdata.io.pose_csv import read_pairs
from pgdata.jobs.posetransfer.build import BuildConfig, run_build
from pgdata.jobs.posetransfer.build_pairs import BuildPairsConfig, run_build_pairs
from pgdata.stages.heatmaps import render_heatmaps


@pytest.fixture(scope="module")
def shards(sample_tree, tmp_path_factory):
    d = tmp_path_factory.mktemp("data")
    run_build_pairs(
        BuildPairsConfig(
            dataset="deepfashion", root=sample_tree, out=d / "pairs", images_hw=(256, 176)
        )
    )
    run_build(BuildConfig(source=d / "pairs", out=d / "shards", shard_mb=0.3))
    return d


def _batches(ds, workers, **kw):
    loader = DataLoader(
        ds, batch_size=8, shuffle=False, num_workers=workers, collate_fn=PoseCollate(), **kw
    )
    return list(loader)


def test_samples_follow_the_pair_csv_and_are_normalised(shards):
    ds = PoseTransferDataset(shards / "shards", "test")
    pairs = read_pairs(shards / "pairs" / "fasion-resize-pairs-test.csv")
    assert len(ds) == len(pairs)
    assert [(ds[i]["P1_path"], ds[i]["P2_path"]) for i in range(len(ds))] == pairs
    batch = PoseCollate()([ds[0], ds[1]])
    assert batch["P1"].shape == (2, 3, 256, 176) and batch["P1"].dtype == torch.float32
    assert -1.0 <= float(batch["P1"].min()) and float(batch["P1"].max()) <= 1.0
    assert batch["BP1"].shape == (2, 18, 256, 176)
    ref = render_heatmaps(batch["K2"][1].numpy(), (256, 176))
    np.testing.assert_allclose(batch["BP2"][1].numpy(), ref, atol=1e-6)


@pytest.mark.parametrize("context", [None, "spawn"])
def test_two_workers_give_the_same_batches_as_none(shards, context):
    ds = PoseTransferDataset(shards / "shards", "train", flip_prob=0.5, seed=3)
    ctx = multiprocessing.get_context(context) if context else None
    a = _batches(ds, 0)
    b = _batches(ds, 2, multiprocessing_context=ctx)
    assert len(a) == len(b) == -(-len(ds) // 8)
    for x, y in zip(a, b, strict=True):
        assert x["P1_path"] == y["P1_path"]
        for k in ("P1", "P2", "BP1", "BP2", "K1", "K2"):
            assert torch.equal(x[k], y[k]), k


def test_flip_mirrors_images_keypoints_and_heatmaps(shards):
    plain = PoseTransferDataset(shards / "shards", "train")
    flipped = PoseTransferDataset(shards / "shards", "train", flip_prob=1.0)
    for i in (0, 5):
        a, b = plain[i], flipped[i]
        assert torch.equal(b["P1"], a["P1"].flip(-1)) and torch.equal(b["P2"], a["P2"].flip(-1))
        ba, bb = PoseCollate()([a]), PoseCollate()([b])
        # left/right channels swap and the maps mirror: flip(BP1 of a) == BP1 of b with pairs swapped
        perm = [0, 1, 5, 6, 7, 2, 3, 4, 11, 12, 13, 8, 9, 10, 15, 14, 17, 16]
        np.testing.assert_allclose(
            bb["BP1"][0].numpy(), ba["BP1"][0, perm].flip(-1).numpy(), atol=1e-6
        )
    draws = [
        PoseTransferDataset(shards / "shards", "train", flip_prob=0.5)[i]["P1"] for i in range(20)
    ]
    assert 0 < sum(torch.equal(d, plain[i]["P1"].flip(-1)) for i, d in enumerate(draws)) < 20


def test_to_device_matches_collate_rendering(shards):
    ds = PoseTransferDataset(shards / "shards", "train")
    samples = [ds[i] for i in range(4)]
    on_cpu = PoseCollate()(samples)
    deferred = to_device(PoseCollate(heatmaps=False)(samples), "cpu")
    for k in ("P1", "P2", "BP1", "BP2"):
        assert torch.equal(on_cpu[k], deferred[k]), k


def test_distributed_sampler_splits_pairs(shards):
    ds = PoseTransferDataset(shards / "shards", "train")
    seen = []
    for rank in range(2):
        sampler = DistributedSampler(ds, num_replicas=2, rank=rank, shuffle=True, seed=1)
        sampler.set_epoch(1)
        loader = DataLoader(
            ds, batch_size=4, sampler=sampler, collate_fn=PoseCollate(heatmaps=False)
        )
        seen += [p for b in loader for p in zip(b["P1_path"], b["P2_path"], strict=True)]
    assert sorted(set(seen)) == sorted(
        {(ds[i]["P1_path"], ds[i]["P2_path"]) for i in range(len(ds))}
    )


def test_unknown_split_is_a_clear_error(shards):
    with pytest.raises(InputFormatError, match="no shards for split 'val'"):
        PoseTransferDataset(shards / "shards", "val")
