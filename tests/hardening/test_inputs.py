"""Issue 11, findings 4 to 8: bounded reads, no path escapes, checked values, one-line errors,
duplicate keypoint rows listed."""

from __future__ import annotations

import json
import math
import os
import resource
import shutil
import subprocess
import sys
import threading
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pgdata.cli import cli
from pgdata.config import config_from_mapping, load_recipe, load_toml
from pgdata.crawl.config import load_store, parse_store
from pgdata.errors import ConfigError, InputFormatError
from pgdata.io.images import decode_rgb
from pgdata.io.pose_csv import read_annotations, read_pairs, write_annotations
from pgdata.io.reports import read_rejected_csv
from pgdata.jobs.aligned.build import AlignedBuildConfig
from pgdata.jobs.faces.build import FacesBuildConfig
from pgdata.jobs.garments.crawl import CrawlConfig
from pgdata.jobs.garments.garments import GarmentsConfig
from pgdata.jobs.posetransfer.build import BuildConfig, run_build
from pgdata.jobs.posetransfer.build_pairs import BuildPairsConfig, run_build_pairs
from pgdata.jobs.tryon.build import TryonBuildConfig
from pgdata.shards import ShardReader, read_manifest

ANNOTATION = "fasion-resize-annotation-train.csv"
HANG_S = 120  # a build that has not finished by then is hanging


def _stored_names(out: Path) -> set[str]:
    return {
        str(n) for e in read_manifest(out).shards for n in ShardReader(out / e.file).column("name")
    }


def _run_guarded(fn: Any) -> Any:
    """``fn()`` in a daemon thread; fail (instead of hanging the suite) if it does not return."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as e:  # noqa: BLE001 - handed to the test thread
            box["error"] = e

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(HANG_S)
    assert not t.is_alive(), f"hung for {HANG_S} s"
    if "error" in box:
        raise box["error"]
    return box["value"]


# ---------------------------------------------------------------------- 4. unbounded reads

_READ_PROBE = """
import json, sys
from pgdata.errors import PgdataError
from pgdata.io.files import read_bytes
out = {}
for path in sys.argv[1:]:
    try:
        out[path] = "read %d bytes" % len(read_bytes(path))
    except PgdataError as e:
        out[path] = str(e)
print(json.dumps(out))
"""


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))


def test_only_regular_files_are_read(tmp_path):
    (tmp_path / "zero.jpg").symlink_to("/dev/zero")
    os.mkfifo(tmp_path / "fifo.jpg")
    (tmp_path / "dir.jpg").mkdir()
    (tmp_path / "eio.jpg").symlink_to("/proc/self/mem")  # a regular file whose read fails (EIO)
    (tmp_path / "fine.jpg").write_bytes(b"12345")
    names = ["zero.jpg", "fifo.jpg", "dir.jpg", "eio.jpg", "fine.jpg"]
    res = subprocess.run(
        [sys.executable, "-c", _READ_PROBE, *(str(tmp_path / n) for n in names)],
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=_limit_memory,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    got = {Path(k).name: v for k, v in json.loads(res.stdout).items()}
    assert got["zero.jpg"].endswith("zero.jpg: not a regular file (character device)")
    assert got["fifo.jpg"].endswith("fifo.jpg: not a regular file (FIFO)")
    assert got["dir.jpg"].endswith("dir.jpg: not a regular file (directory)")
    assert got["eio.jpg"].endswith("eio.jpg: cannot read (Input/output error)")
    assert got["fine.jpg"] == "read 5 bytes"


def test_build_quarantines_unreadable_files(pairs_copy, tmp_path, monkeypatch):
    names = read_annotations(pairs_copy / ANNOTATION).names
    images = [pairs_copy / "train" / n for n in names[:4]]
    for p in images:
        p.unlink()
    images[0].mkdir()
    os.mkfifo(images[1])
    images[2].symlink_to("/proc/self/mem")
    images[3].write_bytes(b"\xff\xd8" + b"\0" * (2 << 20))  # 2 MB: over a 1 MB cap
    monkeypatch.setenv("PGDATA_MAX_FILE_MB", "1")
    out = tmp_path / "shards"
    cfg = BuildConfig(source=pairs_copy, out=out, parsing=False, follow_symlinks=True)
    result = _run_guarded(lambda: run_build(cfg))
    reasons = dict(read_rejected_csv(out / "rejected.csv"))
    assert reasons[f"train/{names[0]}"] == "not a regular file (directory)"
    assert reasons[f"train/{names[1]}"] == "not a regular file (FIFO)"
    assert reasons[f"train/{names[2]}"] == "cannot read (Input/output error)"
    assert reasons[f"train/{names[3]}"].startswith("larger than the 1 MB limit")
    assert result.rejected == 4
    assert not set(names[:4]) & _stored_names(out)


def _png_header_bomb(side: int) -> bytes:
    """A valid 1-bit grey PNG of side x side pixels, all black: small file, huge image."""
    row = b"\0" + b"\0" * ((side + 7) // 8)
    comp = zlib.compressobj(9)
    body = b"".join(comp.compress(row) for _ in range(side)) + comp.flush()

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data).to_bytes(4, "big")
        return len(data).to_bytes(4, "big") + kind + data + crc

    ihdr = side.to_bytes(4, "big") * 2 + bytes([1, 0, 0, 0, 0])
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


def test_pixel_bombs_are_refused_before_decoding(pairs_copy, tmp_path):
    bomb = _png_header_bomb(30000)
    assert len(bomb) < 200_000
    with pytest.raises(InputFormatError, match=r"bomb\.png: 900\.0 megapixels, more than the 64"):
        decode_rgb(bomb, "bomb.png")
    name = read_annotations(pairs_copy / ANNOTATION).names[0]
    (pairs_copy / "train" / name).write_bytes(bomb)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out = tmp_path / "shards"
    run_build(BuildConfig(source=pairs_copy, out=out, parsing=False))
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    reasons = dict(read_rejected_csv(out / "rejected.csv"))
    assert reasons[f"train/{name}"].startswith("900.0 megapixels, more than the 64")
    assert grown_mb < 300  # decoding it would take 900 MB to 2.7 GB


# ------------------------------------------------------------------------- 5. path escapes


def _outside_copy(pairs: Path, name: str, dst: Path) -> Path:
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(pairs / "train" / name, dst)
    return dst


def test_annotation_names_cannot_leave_the_source(pairs_copy, tmp_path):
    ann = read_annotations(pairs_copy / ANNOTATION)
    _outside_copy(pairs_copy, ann.names[0], tmp_path / "outside" / "secret.jpg")
    escape = "../../outside/secret.jpg"  # from SOURCE/train/ to tmp_path/outside/
    assert (pairs_copy / "train" / escape).resolve().is_file()
    write_annotations(
        pairs_copy / ANNOTATION, [*ann.names, escape], np.concatenate([ann.yx, ann.yx[:1]])
    )
    out = tmp_path / "shards"
    for follow in (False, True):
        run_build(
            BuildConfig(
                source=pairs_copy, out=out, parsing=False, follow_symlinks=follow, overwrite=True
            )
        )
        assert escape not in _stored_names(out)
        reasons = dict(read_rejected_csv(out / "rejected.csv"))
        assert reasons[f"train/{escape}"] == "path leads outside the source folder"


def test_symlinks_out_of_the_source_need_follow_symlinks(pairs_copy, tmp_path):
    name = read_annotations(pairs_copy / ANNOTATION).names[0]
    target = _outside_copy(pairs_copy, name, tmp_path / "elsewhere" / name)
    (pairs_copy / "train" / name).unlink()
    (pairs_copy / "train" / name).symlink_to(target)
    out = tmp_path / "shards"
    run_build(BuildConfig(source=pairs_copy, out=out, parsing=False))
    assert name not in _stored_names(out)
    reason = dict(read_rejected_csv(out / "rejected.csv"))[f"train/{name}"]
    assert (
        reason
        == "symbolic link to a file outside the source folder (pass --follow-symlinks to allow)"
    )
    run_build(
        BuildConfig(source=pairs_copy, out=out, parsing=False, follow_symlinks=True, overwrite=True)
    )
    assert name in _stored_names(out)


def test_build_pairs_tree_images_must_stay_inside_the_source(sample_tree, tmp_path):
    tree = Path(shutil.copytree(sample_tree, tmp_path / "tree"))
    image = sorted((tree / "img").rglob("*.jpg"))[0]
    rel = image.relative_to(tree).as_posix()
    outside = tmp_path / "elsewhere" / image.name
    outside.parent.mkdir()
    shutil.copyfile(image, outside)
    image.unlink()
    image.symlink_to(outside)
    out = tmp_path / "pairs"
    run_build_pairs(BuildPairsConfig(dataset="deepfashion", root=tree, out=out))
    reasons = dict(read_rejected_csv(out / "rejected.csv"))
    assert (
        reasons[rel]
        == "symbolic link to a file outside the source folder (pass --follow-symlinks to allow)"
    )
    run_build_pairs(
        BuildPairsConfig(dataset="deepfashion", root=tree, out=out, follow_symlinks=True)
    )
    assert rel not in dict(read_rejected_csv(out / "rejected.csv"))


# ----------------------------------------------------------------------- 6. unchecked values

BAD_VALUES = [
    (BuildConfig, "heatmap_sigma", -6.0),
    (BuildConfig, "shard_mb", math.nan),
    (BuildConfig, "workers", 0),
    (BuildConfig, "image_hw", [0, 176]),
    (TryonBuildConfig, "shard_mb", math.inf),
    (TryonBuildConfig, "workers", 0),
    (TryonBuildConfig, "jpeg_quality", 0),
    (AlignedBuildConfig, "shard_mb", math.nan),
    (FacesBuildConfig, "shard_mb", math.nan),
    (GarmentsConfig, "workers", 0),
    (GarmentsConfig, "shard_mb", math.nan),
    (GarmentsConfig, "max_upscale", -1.0),
    (GarmentsConfig, "quality", 101),
    (BuildPairsConfig, "workers", 0),
    (BuildPairsConfig, "jpeg_quality", 0),
    (CrawlConfig, "max_minutes", math.nan),
    (CrawlConfig, "max_items", 0),
]


def _toml(value: object) -> str:
    """A TOML literal (TOML spells the IEEE specials nan and inf)."""
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else "inf"
    return json.dumps(value)


REQUIRED: dict[type, dict[str, Any]] = {
    BuildConfig: {"source": "s", "out": "o"},
    TryonBuildConfig: {"source": "s", "out": "o"},
    AlignedBuildConfig: {"source": "s", "out": "o"},
    FacesBuildConfig: {"source": "s", "out": "o"},
    GarmentsConfig: {"src": "s", "out": "o"},
    BuildPairsConfig: {"dataset": "deepfashion", "out": "o", "root": "r"},
    CrawlConfig: {"store": "s", "out": "o"},
}


@pytest.mark.parametrize(
    ("cls", "key", "value"), BAD_VALUES, ids=lambda v: getattr(v, "__name__", str(v))
)
def test_every_config_value_is_range_checked(cls, key, value, tmp_path):
    recipe = tmp_path / "recipe.toml"
    recipe.write_text(f"[build]\n{key} = {_toml(value)}\n")
    table = load_toml(recipe)["build"]
    with pytest.raises(ConfigError) as err:
        config_from_mapping(cls, table | REQUIRED[cls], origin=str(recipe))
    assert str(err.value).startswith(f"{recipe}: {key}")


def test_a_bad_recipe_value_is_one_line_naming_file_and_key(hard_pairs, tmp_path, runner):
    recipe = tmp_path / "bad.toml"
    recipe.write_text('kind = "pose-transfer"\n[build]\nheatmap_sigma = -6\n')
    res = runner.invoke(
        cli,
        [
            "build",
            "--recipe",
            str(recipe),
            "--source",
            str(hard_pairs),
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert res.exit_code != 0
    assert (
        res.output.strip().splitlines()[-1]
        == f"Error: {recipe}: heatmap_sigma must be a finite number > 0, found -6.0"
    )
    assert not (tmp_path / "o" / "manifest.json").exists()


# -------------------------------------------------------------- 7. tracebacks instead of errors


def test_huge_coordinate_is_an_input_error(tmp_path):
    path = tmp_path / "a.csv"
    ys = ", ".join(["10"] * 17 + ["100000000000000000000000"])
    path.write_text(f"name:keypoints_y:keypoints_x\nx.jpg:[{ys}]:[{', '.join(['5'] * 18)}]\n")
    with pytest.raises(
        InputFormatError,
        match=r"a\.csv:2: column keypoints_y: 100000000000000000000000 is out of range",
    ):
        read_annotations(path)


BINARY = b"\x89\xff\xfe\x00binary\xc3\x28"


def test_binary_files_are_input_errors(tmp_path):
    for name, read, kind in [
        ("pairs.csv", read_pairs, InputFormatError),
        ("recipe.toml", load_recipe, ConfigError),
        ("store.toml", load_store, ConfigError),
    ]:
        path = tmp_path / name
        path.write_bytes(BINARY)
        with pytest.raises(kind) as err:
            read(path)
        assert str(path) in str(err.value) and "UTF-8" in str(err.value)


def test_image_url_rewrite_with_a_missing_group_is_refused_at_load():
    store = {
        "name": "s",
        "allowed_domains": ["s.example"],
        "start_urls": ["https://s.example/"],
        "product_url": "/p/",
        "product": {"image_url_rewrite": [r"\?w=\d+", r"?w=\2"]},
    }
    with pytest.raises(
        ConfigError,
        match=r"product\.image_url_rewrite: expected a replacement .*invalid group reference 2",
    ):
        parse_store(store)


def test_a_selector_cssselect_cannot_translate_is_refused_at_load():
    store = {
        "name": "s",
        "allowed_domains": ["s.example"],
        "start_urls": ["https://s.example/"],
        "listing": {"product_links": ":a()"},  # found by the bad-input suite's long profile
    }
    with pytest.raises(ConfigError, match=r"listing\.product_links: expected a valid CSS selector"):
        parse_store(store)


def test_a_malformed_store_url_is_refused_at_load():
    store = {
        "name": "s",
        "allowed_domains": ["s.example"],
        "start_urls": ["https://[s.example/"],  # found by the bad-input suite's long profile
        "product_url": "/p/",
    }
    with pytest.raises(
        ConfigError, match=r"start_urls: expected absolute http\(s\) URLs \(Invalid IPv6"
    ):
        parse_store(store)


def test_file_size_limit_during_a_build_is_one_line(hard_pairs, tmp_path, runner):
    out = tmp_path / "shards"
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (400_000, hard))  # shards are about 1 MB
    try:
        res = runner.invoke(
            cli, ["build", "--source", str(hard_pairs), "--out", str(out), "--no-parsing"]
        )
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    assert res.exit_code == 1
    last = res.output.strip().splitlines()[-1]
    assert last.startswith(f"Error: {out}/") and "File too large" in last
    assert not (out / "manifest.json").exists() and not list(out.glob("*.partial"))
    run_build(BuildConfig(source=hard_pairs, out=out, parsing=False))  # then a rerun completes
    assert (out / "manifest.json").is_file()


# ------------------------------------------------------------------------ 8. silent choices


def test_duplicate_keypoint_rows_are_listed_and_the_first_wins(sample_tree, tmp_path):
    clean = tmp_path / "clean"
    run_build_pairs(BuildPairsConfig(dataset="deepfashion", root=sample_tree, out=clean))
    text = (sample_tree / "keypoints.csv").read_text()
    lines = text.rstrip("\n").split("\n")
    name, ys, xs = lines[1].split(":")
    moved = (
        "["
        + ", ".join(str(int(v) + 3 if int(v) >= 0 else -1) for v in ys.strip("[]").split(","))
        + "]"
    )
    dup = tmp_path / "keypoints.csv"
    dup.write_text(text + f"{name}:{moved}:{xs}\n")
    out = tmp_path / "dup"
    run_build_pairs(
        BuildPairsConfig(dataset="deepfashion", root=sample_tree, out=out, keypoints=dup)
    )
    for csv in (ANNOTATION, "fasion-resize-annotation-test.csv"):
        assert (out / csv).read_bytes() == (clean / csv).read_bytes()
    reasons = dict(read_rejected_csv(out / "rejected.csv"))
    assert (
        reasons[name] == f"duplicate name in keypoints.csv (line {len(lines) + 1}; first at line 2)"
    )
    with pytest.raises(InputFormatError, match=rf"keypoints\.csv:{len(lines) + 1}: duplicate name"):
        run_build_pairs(
            BuildPairsConfig(
                dataset="deepfashion",
                root=sample_tree,
                out=tmp_path / "s",
                keypoints=dup,
                strict=True,
            )
        )
