"""The HDF5 step of ``pgdata garments``: ``GARMENTS/shards/`` from the kept garments.

One record per kept garment: ``cloth`` (the JPEG bytes of ``cloth/<id>.jpg``), ``cloth_mask``
(uint8 (H, W) as decoded from ``cloth-mask/<id>.jpg``, gzip), ``id``, ``kind`` and ``meta`` (the
garment's ``garments.jsonl`` line: store, product fields, hashes). Shards roll over by size and
resume like every pgdata build (:mod:`pgdata.shards.resume`); a rerun with other settings
replaces them, since they are derived from this command's own outputs.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from pgdata.errors import InputFormatError
from pgdata.executor import Executor
from pgdata.io.files import read_bytes, stamp
from pgdata.io.images import decode_mask
from pgdata.shards.build import Plan, PlannedShard, ShardContent, build_shards, pack, shard_file
from pgdata.shards.schema import Column, Schema
from pgdata.shards.writer import json_attr
from pgdata.stages.garments import GARMENT_KINDS

__all__ = ["SHARDS_DIR", "garments_schema", "write_garment_shards"]

SHARDS_DIR = "shards"
SPLIT = "garments"  # the one "split" of garment shards: garments-00000.h5, ...
MEDIA = ("cloth", "cloth_mask")  # the files of a garments.jsonl record that go into a shard


def garments_schema(size_hw: tuple[int, int]) -> Schema:
    """Schema of garment shards at ``size_hw`` (height, width)."""
    h, w = size_hw
    return Schema(
        name="garments",
        columns=(
            Column.jpeg("cloth", f"garment on white, RGB JPEG {h}x{w} (HxW)"),
            Column.plane("cloth_mask", (h, w), "mask as decoded from the JPEG; >= 128 is garment"),
            Column.text("id", "garment id (file stem in cloth/)"),
            Column.text("kind", " | ".join(GARMENT_KINDS)),
            Column.text("meta", "the garments.jsonl record (JSON)"),
        ),
    )


def _stamp(path: Path) -> tuple[str, int]:
    """("size:mtime_ns", size) of a file this command has just written."""
    found = stamp(path)
    if found is None:
        raise InputFormatError(path, "garment file vanished while the shards were being planned")
    return found


def _write_task(
    args: tuple[PlannedShard, Path, Path, list[dict[str, Any]], tuple[int, int], dict[str, Any]],
) -> dict[str, Any]:
    shard, base, out, records, size_hw, config = args
    cols: dict[str, list[Any]] = {"cloth": [], "cloth_mask": [], "id": [], "kind": [], "meta": []}
    rejected: list[tuple[str, str]] = []
    digest = hashlib.sha256()
    for r in records:
        cloth = read_bytes(base / r["cloth"])
        mask_bytes = read_bytes(base / r["cloth_mask"])
        digest.update(hashlib.sha256(cloth).digest() + hashlib.sha256(mask_bytes).digest())
        try:
            mask: np.ndarray | None = decode_mask(mask_bytes)
        except InputFormatError:
            mask = None
        if mask is None or mask.shape != size_hw:
            rejected.append((r["cloth_mask"], "mask does not decode at the garment size"))
            continue
        cols["cloth"].append(cloth)
        cols["cloth_mask"].append(mask)
        cols["id"].append(str(r["id"]))
        cols["kind"].append(str(r["kind"]))
        cols["meta"].append(json.dumps(r, ensure_ascii=False, sort_keys=True))
    content = ShardContent(cols, rejected, inputs_sha256=digest.hexdigest())
    return content.write(out, shard, garments_schema(size_hw), config)


def write_garment_shards(
    base: Path,
    records: list[dict[str, Any]],
    size_hw: tuple[int, int],
    *,
    shard_mb: float = 128.0,
    workers: int = 1,
    executor: Executor | None = None,
) -> tuple[Path, int, int]:
    """Write ``base/shards/`` from ``records`` (paths relative to ``base``), one task per shard
    on ``executor`` (default: ``workers`` local processes; with Dask, ``base`` must be absolute).

    Returns:
        the shard folder, the number of shards and the number of records stored.
    """
    out = base / SHARDS_DIR
    config = {"size_hw": list(size_hw), "shard_mb": shard_mb}
    sizes = [sum(_stamp(base / r[key])[1] for key in MEDIA) for r in records]
    planned, tasks = [], []
    stamp = hashlib.sha256(json_attr(config).encode())
    for k, run in enumerate(pack(sizes, shard_mb)):
        group = [records[i] for i in run]
        file = shard_file(SPLIT, k)
        h = hashlib.sha256(json_attr([config, file, group]).encode())
        for r in group:
            for key in MEDIA:
                h.update(_stamp(base / r[key])[0].encode())
        shard = PlannedShard(file, SPLIT, h.hexdigest())
        planned.append(shard)
        tasks.append((shard, base, out, group, size_hw, config))
        stamp.update(shard.spec_sha.encode())
    done = build_shards(
        out,
        Plan("garments", config, stamp.hexdigest(), planned, tasks),
        _write_task,
        schema=garments_schema(size_hw),
        overwrite=True,
        workers=workers,
        executor=executor,
    )
    return out, len(done.entries), done.records.get(SPLIT, 0)
