"""Issue 11, findings 1 and 3: shards are never re-blessed, corrupt JPEGs never get in, and the
loader checks what it opens."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import cv2
import h5py
import numpy as np
import pytest

from pgdata.data import PoseTransferDataset
from pgdata.errors import InputFormatError
from pgdata.io.jpeg import jpeg_info
from pgdata.io.pose_csv import read_annotations
from pgdata.io.reports import read_rejected_csv
from pgdata.jobs.posetransfer.build import BuildConfig, run_build
from pgdata.shards import ShardReader, read_manifest
from pgdata.shards.verify import verify_shards
from pgdata.shards.writer import file_sha256
from tests.hardening.helpers import dataset_offset, flip

# bytes XOR-ed in the middle of a JPEG's entropy-coded data: headers and the end marker stay
CORRUPT_RUN = 256


def _copy(src: Path, dst: Path) -> Path:
    return Path(shutil.copytree(src, dst))


def _damage_entropy(data: bytes) -> bytes:
    """``data`` with bytes in the middle of its scan XOR-ed: markers and length kept."""
    sos = data.index(b"\xff\xda")
    middle = (sos + len(data)) // 2
    out = bytearray(data)
    for i in range(middle, middle + CORRUPT_RUN):
        out[i] ^= 0x5A
    return bytes(out)


def _rebless(folder: Path, file: str, **fields: int) -> None:
    """Make the manifest agree with the shard file as it is now (size, sha256, other fields)."""
    doc = json.loads((folder / "manifest.json").read_text())
    for entry in doc["shards"]:
        if entry["file"] == file:
            entry["bytes"] = (folder / file).stat().st_size
            entry["sha256"] = file_sha256(folder / file)
            entry.update(fields)
    (folder / "manifest.json").write_text(json.dumps(doc))


def test_rebuild_replaces_a_corrupted_shard_instead_of_blessing_it(hard_pairs, built, tmp_path):
    out = _copy(built, tmp_path / "shards")
    before = read_manifest(out)
    target = out / before.shards[0].file
    keypoints = ShardReader(target).column("keypoints")
    flip(target, dataset_offset(target, "keypoints") + 1)
    assert not np.array_equal(ShardReader(target).column("keypoints"), keypoints)

    result = run_build(BuildConfig(source=hard_pairs, out=out, parsing=False))
    assert (result.shards_written, result.shards_kept) == (1, len(before.shards) - 1)
    assert f"rebuilt 1 ({before.shards[0].file}: sha256 differs" in result.summary()
    assert read_manifest(out) == before  # the recorded hashes, not the corrupted file's
    assert verify_shards(out).faults == []
    np.testing.assert_array_equal(ShardReader(target).column("keypoints"), keypoints)


def test_a_corrupt_jpeg_in_the_source_is_quarantined(pairs_copy, tmp_path):
    name = read_annotations(pairs_copy / "fasion-resize-annotation-train.csv").names[0]
    image = pairs_copy / "train" / name
    good = image.read_bytes()
    bad = _damage_entropy(good)
    # an independent look: headers and end marker intact, yet the pixels are not the image's
    info = jpeg_info(bad)
    assert info is not None and info.complete and info.baseline
    decoded = cv2.imdecode(np.frombuffer(bad, np.uint8), cv2.IMREAD_COLOR)
    original = cv2.imdecode(np.frombuffer(good, np.uint8), cv2.IMREAD_COLOR)
    assert np.abs(decoded.astype(int) - original).mean() > 1
    image.write_bytes(bad)

    out = tmp_path / "shards"
    run_build(BuildConfig(source=pairs_copy, out=out, parsing=False))
    reasons = dict(read_rejected_csv(out / "rejected.csv"))
    assert reasons[f"train/{name}"].startswith("corrupt JPEG data")
    stored = {
        str(n) for e in read_manifest(out).shards for n in ShardReader(out / e.file).column("name")
    }
    assert name not in stored


def test_verify_decodes_strictly(built, tmp_path):
    out = _copy(built, tmp_path / "shards")
    entry = read_manifest(out).shards[0]
    shard = out / entry.file
    with h5py.File(shard, "r") as f:
        start, end = (int(v) for v in f["image_offsets"][1:3])
        jpeg = bytes(f["image"][start:end])
        name = f["name"].asstr()[1]
    bad = _damage_entropy(jpeg)
    assert cv2.imdecode(np.frombuffer(bad, np.uint8), cv2.IMREAD_COLOR) is not None  # decodes
    with open(shard, "r+b") as f:  # noqa: PTH123 - byte surgery in place
        f.seek(dataset_offset(shard, "image") + start)
        f.write(bad)
    _rebless(out, entry.file)  # as if the shard had been built with the corrupt bytes

    faults = verify_shards(out).faults
    assert len(faults) == 1
    assert faults[0].startswith(f"{entry.file}: record 1 ({name}): image: corrupt JPEG data")


def test_loader_refuses_out_of_range_pair_indices(built, tmp_path):
    out = _copy(built, tmp_path / "shards")
    entry = read_manifest(out).split_shards("train")[0]
    with h5py.File(out / entry.file, "r+") as f:
        f["pairs"][0, 0] = -1  # numpy would wrap it to the last record
    _rebless(out, entry.file)
    with pytest.raises(InputFormatError, match=rf"{entry.file}: pair 0 refers to record -1"):
        PoseTransferDataset(out, "train")


def test_loader_refuses_a_record_count_other_than_the_manifests(built, tmp_path):
    out = _copy(built, tmp_path / "shards")
    entry = read_manifest(out).split_shards("train")[0]
    _rebless(out, entry.file, records=entry.records + 1)
    with pytest.raises(
        InputFormatError,
        match=rf"{entry.file}: holds {entry.records} train records, manifest\.json says {entry.records + 1}",
    ):
        PoseTransferDataset(out, "train")


def test_loader_refuses_swapped_shards(built, tmp_path):
    out = _copy(built, tmp_path / "shards")
    train, test = out / "train-00000.h5", out / "test-00000.h5"
    os.replace(train, out / "tmp.h5")
    os.replace(test, train)
    os.replace(out / "tmp.h5", test)
    with pytest.raises(InputFormatError, match=r"train-00000\.h5"):
        PoseTransferDataset(out, "train")


def test_loader_checks_sha256_on_open_when_asked(built, tmp_path):
    out = _copy(built, tmp_path / "shards")
    entry = read_manifest(out).split_shards("train")[0]
    flip(out / entry.file, dataset_offset(out / entry.file, "keypoints") + 5)  # same size
    assert len(PoseTransferDataset(out, "train")) > 0  # the cheap check: size only
    with pytest.raises(InputFormatError, match=rf"{entry.file}: sha256 .* differs"):
        PoseTransferDataset(out, "train", verify_on_open=True)
