"""The bad-input suite (issue 11, point 10): hypothesis profiles, valid files to mutate, counts.

Profiles: ``ci`` (the default; 60 cases per reader, derandomized so a run is repeatable) and
``long`` (1000 fresh random cases per reader): ``HYPOTHESIS_PROFILE=long pytest tests/bad_inputs``.
The cases tried per reader are printed at the end of the run, and written as JSON to the file
named by ``PGDATA_BAD_INPUT_COUNTS`` when that is set.
"""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

from pgdata import __version__
from pgdata.io.images import encode_jpeg, encode_png
from pgdata.io.inshop import write_partition
from pgdata.io.openpose import write_openpose
from pgdata.io.pose_csv import write_annotations, write_pairs
from pgdata.io.viton import encode_parse_png
from pgdata.jobs.posetransfer.build_pairs import BuildPairsConfig, run_build_pairs
from pgdata.jobs.posetransfer.sample import SampleConfig, run_sample
from pgdata.shards.manifest import Manifest, ShardEntry, write_manifest
from pgdata.shards.schema import Column, Schema
from pgdata.shards.writer import write_shard
from tests.bad_inputs import harness

ROOT = Path(__file__).resolve().parents[2]
_QUIET = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example]
settings.register_profile(
    "ci",
    max_examples=60,
    deadline=timedelta(seconds=10),
    derandomize=True,
    database=None,
    suppress_health_check=_QUIET,
)
settings.register_profile(
    "long",
    max_examples=1000,
    deadline=timedelta(seconds=30),
    database=None,
    suppress_health_check=_QUIET,
)
SHARD_HW = (32, 24)


class Valid(dict[str, bytes]):
    """The valid files by name; a short repr keeps hypothesis' failure reports readable."""

    def __repr__(self) -> str:
        return f"<valid files: {', '.join(self)}>"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not harness.COUNTS:
        return
    terminalreporter.section("bad inputs: cases tried per reader (ending in a PgdataError)")
    for reader, n in sorted(harness.COUNTS.items()):
        terminalreporter.write_line(f"{reader:<28} {n:>6} ({harness.ERRORS[reader]})")
    terminalreporter.write_line(f"{'total':<28} {sum(harness.COUNTS.values()):>6}")
    target = os.environ.get("PGDATA_BAD_INPUT_COUNTS")
    if target:
        doc = {"cases": dict(harness.COUNTS), "errors": dict(harness.ERRORS)}
        Path(target).write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")


def _shard_folder(folder: Path) -> None:
    """One valid pose-transfer-like shard and its manifest."""
    rng = np.random.default_rng(0)
    h, w = SHARD_HW
    schema = Schema(
        "bad-inputs",
        (
            Column.jpeg("image", "RGB JPEG"),
            Column.keypoints("keypoints", 18, "x, y, visibility"),
            Column.text("name", "image name"),
            Column.plane("parsing", (h, w), "label ids"),
        ),
        tables=("pairs",),
    )
    n = 3
    columns = {
        "image": [encode_jpeg(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)) for _ in range(n)],
        "keypoints": rng.random((n, 18, 3), dtype=np.float32),
        "name": [f"img{i}.jpg" for i in range(n)],
        "parsing": rng.integers(0, 20, (n, h, w), dtype=np.uint8),
    }
    pairs = np.array([[0, 1], [1, 2]], dtype=np.int32)
    written = write_shard(
        folder / "train-00000.h5",
        schema,
        columns,
        tables={"pairs": pairs},
        attrs={"split": "train"},
    )
    entry = ShardEntry(written.name, "train", n, len(pairs), written.bytes, written.sha256)
    write_manifest(
        folder, Manifest(schema, {"image_hw": list(SHARD_HW)}, "0" * 64, __version__, (entry,))
    )


@pytest.fixture(scope="session")
def valid(tmp_path_factory: pytest.TempPathFactory) -> Valid:
    """A valid example of every format the suite mutates (name -> bytes)."""
    d = tmp_path_factory.mktemp("valid")
    rng = np.random.default_rng(0)
    names = [
        "fashionWOMENDressesid0000000101_1front.jpg",
        "fashionWOMENDressesid0000000101_2side.jpg",
    ]
    yx = rng.integers(-1, 176, (2, 18, 2))
    write_annotations(d / "ann.csv", names, yx)
    write_pairs(d / "pairs.csv", [(names[0], names[1])])
    write_openpose(d / "pose.json", [np.c_[rng.random((25, 2)) * 100, rng.random(25)]])
    partition = [
        ("img/WOMEN/Dresses/id_00000001/01_1_front.jpg", "id_00000001", "train"),
        ("img/WOMEN/Dresses/id_00000001/01_2_side.jpg", "id_00000001", "query"),
    ]
    write_partition(d / "partition.txt", partition)
    labels = rng.integers(0, 20, (32, 24), dtype=np.uint8)
    rgb = rng.integers(0, 256, (32, 24, 3), dtype=np.uint8)
    item = {
        "store": "s",
        "url": "https://s.example/p/1",
        "name": "Dress",
        "images": [{"url": "https://s.example/i.jpg", "path": "files/a.jpg", "sha256": "0" * 64}],
    }
    _shard_folder(d)
    return Valid(
        {
            "annotation": (d / "ann.csv").read_bytes(),
            "pairs": (d / "pairs.csv").read_bytes(),
            "openpose": (d / "pose.json").read_bytes(),
            "partition": (d / "partition.txt").read_bytes(),
            "lst": "\n".join(names).encode() + b"\n",
            "label_png": encode_png(labels),
            "parse_png": encode_parse_png(labels),
            "jpeg": encode_jpeg(rgb, 90),
            "png_rgba": encode_png(np.dstack([rgb, labels * 12])),
            "store": (ROOT / "crawlers" / "fixture_shop.toml").read_bytes(),
            "recipe": (ROOT / "pipelines" / "deepfashion.toml").read_bytes(),
            "train": (ROOT / "train" / "tiny.toml").read_bytes(),
            "items": b"".join(
                json.dumps({**item, "url": f"{item['url']}{i}"}).encode() + b"\n" for i in range(3)
            ),
            "shard": (d / "train-00000.h5").read_bytes(),
            "manifest": (d / "manifest.json").read_bytes(),
        }
    )


@pytest.fixture(scope="session")
def tiny_pairs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small build-pairs folder (6 identities x 2 views at 64x48), read-only."""
    d = tmp_path_factory.mktemp("tiny")
    run_sample(SampleConfig(out=d / "inshop", ids=6, views=2, size_hw=(64, 64)))
    run_build_pairs(
        BuildPairsConfig(
            dataset="deepfashion", root=d / "inshop", out=d / "pairs", images_hw=(64, 48)
        )
    )
    return d / "pairs"
