import csv
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
from PIL import Image

from pgdata.cli import cli
from pgdata.errors import InputFormatError
from pgdata.io.pose_csv import read_annotations, read_pairs, write_annotations
from pgdata.jobs.posetransfer.build import BuildConfig, offimage_margin, run_build
from pgdata.jobs.posetransfer.build_pairs import BuildPairsConfig, run_build_pairs
from pgdata.jobs.posetransfer.sample import SampleConfig, run_sample
from pgdata.shards import ShardReader, read_manifest
from pgdata.shards.verify import verify_shards
from pgdata.stages.heatmaps import render_heatmaps
from pgdata.stages.keypoints import yx_to_xyc

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def pairs_dir(sample_tree, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("bp") / "pairs"
    run_build_pairs(
        BuildPairsConfig(dataset="deepfashion", root=sample_tree, out=out, images_hw=(256, 176))
    )
    return out


@pytest.fixture(scope="module")
def big_pairs_dir(tmp_path_factory) -> Path:
    """300 images: enough shards at a tiny shard size to kill a build in the middle."""
    d = tmp_path_factory.mktemp("big")
    run_sample(SampleConfig(d / "inshop", ids=60, views=5, workers=2))
    run_build_pairs(
        BuildPairsConfig(
            dataset="deepfashion",
            root=d / "inshop",
            out=d / "pairs",
            images_hw=(256, 176),
            workers=2,
        )
    )
    return d / "pairs"


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def test_round_trip_bytes_keypoints_parsing_pairs(pairs_dir, tmp_path):
    out = tmp_path / "shards"
    result = run_build(BuildConfig(source=pairs_dir, out=out))
    manifest = read_manifest(out)
    assert [c.name for c in manifest.schema.columns] == [
        "image",
        "keypoints",
        "name",
        "person",
        "parsing",
    ]
    margin = offimage_margin(6.0)
    for split in ("train", "test"):
        ann = read_annotations(pairs_dir / f"fasion-resize-annotation-{split}.csv")
        want_kps = dict(zip(ann.names, yx_to_xyc(ann.yx), strict=True))
        pairs = read_pairs(pairs_dir / f"fasion-resize-pairs-{split}.csv")
        got_pairs: list[tuple[int, tuple[str, str]]] = []
        records = 0
        for entry in manifest.split_shards(split):
            r = ShardReader(out / entry.file)
            names = list(r.column("name"))
            records += len(names)
            for i, name in enumerate(names):
                # baseline JPEG already at 256x176: the original bytes, bit for bit
                assert r.encoded("image", i) == (pairs_dir / split / name).read_bytes()
                k = want_kps[name].copy()
                far = (k[:, 2] > 0) & (
                    (k[:, 0] < -margin)
                    | (k[:, 0] > 175 + margin)
                    | (k[:, 1] < -margin)
                    | (k[:, 1] > 255 + margin)
                )
                k[far] = 0
                np.testing.assert_array_equal(r.array("keypoints", i), k)
                png = np.asarray(
                    Image.open(pairs_dir / "parsing" / split / name.replace(".jpg", ".png"))
                )
                np.testing.assert_array_equal(r.array("parsing", i), png)
            for (a, b), rank in zip(r.table("pairs"), r.table("pairs_rank"), strict=True):
                got_pairs.append((int(rank), (names[a], names[b])))
            r.close()
        assert records == len(ann.names)
        assert [p for _, p in sorted(got_pairs)] == pairs
        assert result.pairs[split] == len(pairs)
    assert verify_shards(out).faults == []


def test_rollover_by_size_keeps_pairs_inside_shards(big_pairs_dir, tmp_path):
    out = tmp_path / "shards"
    result = run_build(BuildConfig(source=big_pairs_dir, out=out, shard_mb=0.2, parsing=False))
    manifest = read_manifest(out)
    train = manifest.split_shards("train")
    assert len(train) >= 5
    assert all(e.bytes < 0.2e6 * 2 for e in train)
    total_pairs = len(read_pairs(big_pairs_dir / "fasion-resize-pairs-train.csv"))
    assert sum(e.pairs for e in train) == total_pairs == result.pairs["train"]
    persons_per_shard = [set(ShardReader(out / e.file).column("person")) for e in train]
    for i, a in enumerate(persons_per_shard):  # an outfit never straddles two shards
        for b in persons_per_shard[i + 1 :]:
            assert not a & b


def _build_cmd(src: Path, out: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "pgdata",
        "build",
        "--source",
        str(src),
        "--out",
        str(out),
        "--shard-mb",
        "0.1",
        "--no-parsing",
        *extra,
    ]


@pytest.fixture(scope="module")
def uninterrupted(big_pairs_dir, tmp_path_factory) -> Path:
    ref = tmp_path_factory.mktemp("ref") / "shards"
    subprocess.run(_build_cmd(big_pairs_dir, ref), check=True, capture_output=True)
    return ref


@pytest.mark.slow
@pytest.mark.parametrize("kill_when", ["first-shard", "partial"])
def test_resume_after_kill_gives_identical_manifest(
    big_pairs_dir, uninterrupted, tmp_path, kill_when
):
    ref = uninterrupted
    out = tmp_path / "out"
    proc = subprocess.Popen(
        _build_cmd(big_pairs_dir, out), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    pattern = "*.h5" if kill_when == "first-shard" else "*.partial"
    deadline = time.time() + 60
    while time.time() < deadline and not (out.is_dir() and any(out.glob(pattern))):
        time.sleep(0.002)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (out / "manifest.json").exists(), "build finished before it could be killed"
    complete_before = {p.name: p.stat().st_mtime_ns for p in out.glob("*.h5")}
    res = subprocess.run(_build_cmd(big_pairs_dir, out), check=True, capture_output=True, text=True)
    assert (out / "manifest.json").read_bytes() == (ref / "manifest.json").read_bytes()
    assert not list(out.glob("*.partial"))
    kept = [n for n, t in complete_before.items() if (out / n).stat().st_mtime_ns == t]
    assert len(kept) == len(complete_before)  # complete shards were not rewritten
    assert f"reused {len(kept)} complete shards" in res.stdout
    assert verify_shards(out, quick=True).faults == []


def test_changed_input_or_config_is_refused_unless_overwrite(pairs_dir, tmp_path):
    src = _copy(pairs_dir, tmp_path / "src")
    out = tmp_path / "shards"
    run_build(BuildConfig(source=src, out=out))
    run_build(BuildConfig(source=src, out=out))  # same build: fine, nothing rewritten
    with pytest.raises(InputFormatError, match="a build with another config; use --overwrite"):
        run_build(BuildConfig(source=src, out=out, jpeg_quality=90))
    victim = next((src / "train").glob("*.jpg"))
    victim.write_bytes(victim.read_bytes()[:-100] + b"\x00" * 98 + b"\xff\xd9")
    with pytest.raises(InputFormatError, match="a build of other inputs .files changed since"):
        run_build(BuildConfig(source=src, out=out))
    run_build(BuildConfig(source=src, out=out, overwrite=True))
    assert verify_shards(out).faults == []


def _jpeg(mode: str, size=(176, 256)) -> bytes:
    buf = io.BytesIO()
    color = {"L": 128, "CMYK": (10, 20, 30, 0), "RGB": (1, 2, 3)}[mode]
    Image.new(mode, size, color).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def test_bad_inputs_are_repaired_or_quarantined(pairs_dir, tmp_path):
    src = _copy(pairs_dir, tmp_path / "src")
    ann = read_annotations(src / "fasion-resize-annotation-train.csv")
    pairs = read_pairs(src / "fasion-resize-pairs-train.csv")
    names = ann.names
    in_pairs = {n for p in pairs for n in p}
    victims = [n for n in names if n in in_pairs][:8]
    img = src / "train"
    data = (img / victims[0]).read_bytes()
    (img / victims[0]).write_bytes(b"")  # zero-byte
    (img / victims[1]).write_bytes(data[: len(data) // 2])  # truncated
    (img / victims[2]).write_bytes(os.urandom(3000))  # garbage
    (img / victims[3]).unlink()  # annotation row without image
    (img / victims[4]).write_bytes(_jpeg("L"))  # grey: repaired
    (img / victims[5]).write_bytes(_jpeg("CMYK"))  # CMYK: repaired
    rgba = io.BytesIO()
    Image.new("RGBA", (176, 256), (255, 0, 0, 0)).save(rgba, "PNG")
    (img / victims[6]).write_bytes(rgba.getvalue())  # a PNG with alpha under a .jpg name: repaired
    (img / "stray.jpg").write_bytes(data)  # image without annotation
    yx = ann.yx.copy()
    row = names.index(victims[7])
    yx[row, 0] = (5000, 5000)  # nose far outside the image: marked missing
    write_annotations(src / "fasion-resize-annotation-train.csv", names, yx)

    out = tmp_path / "shards"
    result = run_build(BuildConfig(source=src, out=out))
    with open(out / "rejected.csv", newline="") as f:
        rejected = list(csv.reader(f))[1:]
    reasons = {item.split("/", 1)[1]: reason for item, reason in rejected}
    assert reasons[victims[0]] == "zero-byte image"
    assert reasons[victims[1]].startswith("truncated JPEG")
    assert reasons[victims[2]].startswith("cannot decode")
    assert reasons[victims[3]] == "annotation row without image"
    assert reasons["stray.jpg"] == "image without annotation"
    assert len(rejected) == 5 == result.rejected
    assert result.repaired["grey image converted to RGB"] == 1
    assert result.repaired["CMYK image converted to RGB"] == 1
    assert result.repaired["alpha composited onto white"] == 1
    assert result.repaired["keypoints far outside the image marked missing"] >= 1
    lost = {victims[i] for i in range(4)}
    assert result.dropped_pairs == sum(1 for a, b in pairs if a in lost or b in lost)
    assert result.pairs["train"] == len(pairs) - result.dropped_pairs
    assert "rejected 5" in result.summary()
    # repaired images were re-encoded as RGB JPEG; the far joint is missing
    r = ShardReader(out / read_manifest(out).split_shards("train")[0].file)
    names_in = list(r.column("name"))
    grey = np.asarray(Image.open(io.BytesIO(r.encoded("image", names_in.index(victims[4])))))
    assert grey.shape == (256, 176, 3)
    assert r.array("keypoints", names_in.index(victims[7]))[0].tolist() == [0, 0, 0]
    assert verify_shards(out).faults == []


def test_verify_catches_flipped_byte_and_missing_shard(big_pairs_dir, tmp_path, runner):
    out = tmp_path / "shards"
    run_build(BuildConfig(source=big_pairs_dir, out=out, shard_mb=0.3, parsing=False))
    res = runner.invoke(cli, ["verify", str(out)])
    assert res.exit_code == 0 and res.output.strip().endswith("images decoded")
    entries = read_manifest(out).shards
    target = out / entries[0].file
    with h5py.File(target, "r+") as f:  # wipe the header of record 1's JPEG
        off = f["image_offsets"][()]
        f["image"][int(off[1]) : int(off[1]) + 400] = 0
        name = f["name"].asstr()[1]
    (out / entries[-1].file).unlink()
    res = runner.invoke(cli, ["verify", str(out)])
    assert res.exit_code == 1
    assert f"{entries[0].file}: sha256" in res.output
    assert f"{entries[-1].file}: missing" in res.output
    quick = runner.invoke(cli, ["verify", "--quick", str(out)])
    assert quick.exit_code == 1 and "does not decode" not in quick.output
    assert f"{entries[0].file}: record 1 ({name}): image does not decode" in res.output


def test_cli_build_info_and_recipe(pairs_dir, tmp_path, runner):
    out = tmp_path / "shards"
    res = runner.invoke(
        cli,
        [
            "build",
            "--recipe",
            str(ROOT / "pipelines" / "deepfashion.toml"),
            "--source",
            str(pairs_dir),
            "--out",
            str(out),
            "--workers",
            "2",
            "--shard-mb",
            "0.5",
        ],
    )
    assert res.exit_code == 0, res.output
    assert res.output.strip().splitlines()[-1].startswith("build: wrote ")
    res = runner.invoke(cli, ["info", str(out)])
    assert res.exit_code == 0 and "train:" in res.output and "keypoints" in res.output
    assert res.output.strip().splitlines()[-1].startswith("info: ")
    doc = json.loads(runner.invoke(cli, ["info", "--json", str(out)]).output)
    assert doc["config"]["image_hw"] == [256, 176] and doc["schema"]["name"] == "pose-transfer"
    bad = tmp_path / "bad.toml"
    bad.write_text('kind = "pose-transfer"\n[build]\nshard_megabytes = 3\n')
    res = runner.invoke(
        cli,
        ["build", "--recipe", str(bad), "--source", str(pairs_dir), "--out", str(tmp_path / "x")],
    )
    assert res.exit_code == 1 and "unknown key(s) ['shard_megabytes']" in res.output
    res = runner.invoke(cli, ["verify", str(tmp_path)])
    assert res.exit_code == 1 and "no manifest" in res.output


def test_recipes_parse_into_their_config():
    from pgdata.config import config_from_mapping, load_recipe

    recipes = [
        p for p in (ROOT / "pipelines").glob("*.toml") if 'kind = "pose-transfer"' in p.read_text()
    ]
    assert len(recipes) >= 2
    for path in recipes:
        table = load_recipe(path).table("build")
        cfg = config_from_mapping(
            BuildConfig, table, origin=str(path), source=Path("."), out=Path(".")
        )
        assert cfg.image_hw in ((256, 176), (128, 64))


def test_store_heatmaps_and_shard_attributes(pairs_dir, tmp_path):
    out = tmp_path / "shards"
    run_build(BuildConfig(source=pairs_dir, out=out, store_heatmaps=True, parsing=False))
    entry = read_manifest(out).split_shards("test")[0]
    r = ShardReader(out / entry.file)
    maps = r.array("heatmaps", 2)
    assert maps.dtype == np.float16 and maps.shape == (18, 256, 176)
    ref = render_heatmaps(r.array("keypoints", 2), (256, 176))
    np.testing.assert_allclose(maps.astype(np.float32), ref, atol=1e-3)
    attrs = r.attrs
    assert attrs["format_version"] == 1 and attrs["split"] == "test" and attrs["version"]
    assert json.loads(attrs["config"])["store_heatmaps"] is True
    assert len(attrs["inputs_sha256"]) == 64


def test_market1501_recipe_end_to_end(tmp_path, runner):
    from pgdata.io.images import encode_jpeg

    root = tmp_path / "market"
    rng = np.random.default_rng(0)
    names, yx = [], []
    for folder, ids in (("bounding_box_train", ("0002", "0007")), ("bounding_box_test", ("0003",))):
        (root / folder).mkdir(parents=True)
        for pid in ids:
            for cam in range(3):
                name = f"{pid}_c{cam + 1}s1_00{cam}451_01.jpg"
                (root / folder / name).write_bytes(
                    encode_jpeg(rng.integers(0, 255, (128, 64, 3), dtype=np.uint8))
                )
                names.append(name)
                yx.append(np.column_stack([rng.integers(0, 128, 18), rng.integers(0, 64, 18)]))
    write_annotations(root / "keypoints.csv", names, np.stack(yx))
    run_build_pairs(
        BuildPairsConfig(
            dataset="market1501", root=root, out=tmp_path / "pairs", images_hw=(128, 64)
        )
    )
    res = runner.invoke(
        cli,
        [
            "build",
            "--recipe",
            str(ROOT / "pipelines" / "market1501.toml"),
            "--source",
            str(tmp_path / "pairs"),
            "--out",
            str(tmp_path / "shards"),
        ],
    )
    assert res.exit_code == 0, res.output
    manifest = read_manifest(tmp_path / "shards")
    assert manifest.config["image_hw"] == [128, 64] and manifest.counts["pairs"] == {
        "train": 12,
        "test": 6,
    }
    r = ShardReader(tmp_path / "shards" / manifest.split_shards("train")[0].file)
    assert sorted(set(r.column("person"))) == ["0002", "0007"]  # Market groups by person id
    assert verify_shards(tmp_path / "shards").faults == []
