import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, default_collate

from pgdata.cli import cli
from pgdata.data import TryonDataset, tryon_to_device
from pgdata.io.openpose import read_openpose
from pgdata.io.viton import read_pairs_txt, read_parse_png
from pgdata.jobs.tryon.build import TryonBuildConfig, run_build_tryon
from pgdata.jobs.tryon.sample import TryonSampleConfig, run_tryon_sample
from pgdata.shards import ShardReader, read_manifest
from pgdata.shards.verify import verify_shards

ROOT = Path(__file__).resolve().parents[1]
RECIPE = ROOT / "pipelines" / "viton-hd.toml"


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("tryon-shards")
    run_tryon_sample(TryonSampleConfig(d / "root", persons=4, size_hw=(256, 192)))
    run_build_tryon(TryonBuildConfig(source=d / "root", out=d / "shards", recipe=RECIPE))
    return d / "root", d / "shards"


def test_stages_run_then_every_pair_line_is_a_record(built):
    root, shards = built
    split = root / "test"
    pairs = read_pairs_txt(root / "test_pairs.txt")
    manifest = read_manifest(shards)
    assert (
        manifest.schema.name == "tryon"
        and manifest.counts["records"] == {"test": len(pairs)}
        and pairs
    )
    r = ShardReader(shards / manifest.shards[0].file)
    assert list(zip(r.column("person"), r.column("cloth_id"), strict=True)) == pairs
    for i, (person, cloth) in enumerate(pairs):
        assert r.encoded("image", i) == (split / "image" / f"{person}.jpg").read_bytes()
        assert r.encoded("agnostic", i) == (split / "agnostic-v3.2" / f"{person}.jpg").read_bytes()
        np.testing.assert_array_equal(
            r.array("parse", i), read_parse_png(split / "image-parse-v3" / f"{person}.png")
        )
        np.testing.assert_array_equal(
            r.array("parse_agnostic", i),
            read_parse_png(split / "image-parse-agnostic-v3.2" / f"{person}.png"),
        )
        mask = cv2.imread(str(split / "cloth-mask" / f"{cloth}.jpg"), cv2.IMREAD_GRAYSCALE)
        np.testing.assert_array_equal(r.array("cloth_mask", i), mask)
        kps = read_openpose(split / "openpose_json" / f"{person}_keypoints.json")[0]
        np.testing.assert_array_equal(r.array("keypoints", i), kps)
    r.close()
    assert verify_shards(shards).faults == []


def test_rerun_keeps_shards_and_manifest(built, tmp_path):
    root, shards = built
    copy = tmp_path / "shards"
    shutil.copytree(shards, copy)
    before = (copy / "manifest.json").read_bytes()
    result = run_build_tryon(TryonBuildConfig(source=root, out=copy, recipe=RECIPE))
    assert (result.shards_written, result.shards_kept) == (0, 1)
    assert (copy / "manifest.json").read_bytes() == before


def test_missing_stage_output_is_rejected_with_the_stage_to_run(built, tmp_path):
    root = shutil.copytree(built[0], tmp_path / "root")
    person = read_pairs_txt(root / "test_pairs.txt")[0][0]
    (root / "test" / "agnostic-v3.2" / f"{person}.jpg").unlink()
    result = run_build_tryon(
        TryonBuildConfig(source=root, out=tmp_path / "shards", run_stages=False)
    )
    rejected = (tmp_path / "shards" / "rejected.csv").read_text()
    assert result.rejected == 1 and "pgdata agnostic" in rejected and person in rejected


def test_loader_gives_hrviton_inputs(built):
    _, shards = built
    ds = TryonDataset(shards, "test")
    loader = DataLoader(ds, batch_size=2, num_workers=2, collate_fn=default_collate)
    batch = tryon_to_device(next(iter(loader)), "cpu")
    assert batch["image"].shape == (2, 3, 256, 192) and batch["image"].dtype == torch.float32
    assert float(batch["image"].min()) >= -1 and float(batch["image"].max()) <= 1
    assert batch["parse13"].shape == (2, 13, 256, 192)
    assert torch.all(batch["parse13"].sum(dim=1) == 1)
    # channel 3 ("upper") is exactly the upper-clothes, dress and coat ids
    upper = (batch["parse"] == 5) | (batch["parse"] == 6) | (batch["parse"] == 7)
    assert torch.equal(batch["parse13"][:, 3].bool(), upper)
    assert set(batch["cloth_mask"].unique().tolist()) <= {0.0, 1.0}
    assert batch["keypoints"].shape == (2, 25, 3) and batch["im_name"][0].endswith(".jpg")


def test_cli_build_with_tryon_recipe(built, runner, tmp_path):
    root, _ = built
    res = runner.invoke(
        cli, ["build", "--recipe", str(RECIPE), "--source", str(root), "--out", str(tmp_path / "s")]
    )
    assert res.exit_code == 0, res.output
    assert res.output.strip().splitlines()[-1].startswith("build: wrote 1 try-on shards")
    res = runner.invoke(
        cli,
        [
            "build",
            "--recipe",
            str(RECIPE),
            "--source",
            str(root),
            "--out",
            str(tmp_path / "t"),
            "--image-size",
            "256x192",
        ],
    )
    assert res.exit_code == 2 and "pose-transfer options" in res.output
