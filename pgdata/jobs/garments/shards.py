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
from pgdata.io.files import read_bytes, stamp
from pgdata.io.images import decode_mask
from pgdata.shards.resume import PlannedShard, finish_build, run_plan
from pgdata.shards.schema import Column, Schema
from pgdata.shards.writer import json_attr, write_shard

__all__ = ["SHARDS_DIR", "garments_schema", "write_garment_shards"]

SHARDS_DIR = "shards"


def garments_schema(size_hw: tuple[int, int]) -> Schema:
    """Schema of garment shards at ``size_hw`` (height, width)."""
    h, w = size_hw
    return Schema(
        name="garments",
        columns=(
            Column(
                "cloth", "encoded", encoding="jpeg", doc=f"garment on white, RGB JPEG {h}x{w} (HxW)"
            ),
            Column(
                "cloth_mask",
                "array",
                "uint8",
                (h, w),
                "gzip",
                doc="mask as decoded from the JPEG; >= 128 is garment",
            ),
            Column("id", "string", doc="garment id (file stem in cloth/)"),
            Column("kind", "string", doc="upper_body | lower_body | dresses | unknown"),
            Column("meta", "string", doc="the garments.jsonl record (JSON)"),
        ),
    )


def _stamp(path: Path) -> tuple[str, int]:
    """("size:mtime_ns", size) of a file this command has just written."""
    found = stamp(path)
    if found is None:
        raise InputFormatError(path, "garment file vanished while the shards were being planned")
    return found


def _write_task(
    args: tuple[str, str, Path, Path, list[dict[str, Any]], tuple[int, int], dict[str, Any]],
) -> dict[str, Any]:
    file, spec_sha, base, out, records, size_hw, config = args
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
    result = {
        "rejected": rejected,
        "repaired": {},
        "dropped_pairs": 0,
        "pairs": 0,
        "inputs_sha256": digest.hexdigest(),
    }
    shard = write_shard(
        out / file,
        garments_schema(size_hw),
        cols,
        attrs={
            "split": "garments",
            "config": json_attr(config),
            "spec_sha256": spec_sha,
            "inputs_sha256": digest.hexdigest(),
            "result": json_attr(result),
        },
    )
    return {
        **result,
        "file": file,
        "records": shard.records,
        "bytes": shard.bytes,
        "sha256": shard.sha256,
    }


def write_garment_shards(
    base: Path,
    records: list[dict[str, Any]],
    size_hw: tuple[int, int],
    *,
    shard_mb: float = 128.0,
    workers: int = 1,
) -> tuple[Path, int, int]:
    """Write ``base/shards/`` from ``records`` (paths relative to ``base``).

    Returns:
        the shard folder, the number of shards and the number of records stored.
    """
    out = base / SHARDS_DIR
    config = {"size_hw": list(size_hw), "shard_mb": shard_mb}
    groups: list[list[dict[str, Any]]] = []
    size = 0
    for r in records:
        nbytes = sum(_stamp(base / r[key])[1] for key in ("cloth", "cloth_mask"))
        if not groups or size + nbytes > shard_mb * 1e6:
            groups.append([])
            size = 0
        groups[-1].append(r)
        size += nbytes
    planned, tasks = [], []
    stamp = hashlib.sha256(json_attr(config).encode())
    for k, group in enumerate(groups):
        file = f"garments-{k:05d}.h5"
        h = hashlib.sha256(json_attr([config, file, group]).encode())
        for r in group:
            for key in ("cloth", "cloth_mask"):
                h.update(_stamp(base / r[key])[0].encode())
        planned.append(PlannedShard(file, "garments", h.hexdigest()))
        tasks.append((file, h.hexdigest(), base, out, group, size_hw, config))
        stamp.update(h.hexdigest().encode())
    run = run_plan(
        out,
        kind="garments",
        config=config,
        inputs_stamp=stamp.hexdigest(),
        shards=planned,
        tasks=tasks,
        write=_write_task,
        overwrite=True,
        workers=workers,
    )
    done = finish_build(out, planned, run, schema=garments_schema(size_hw), config=config)
    return out, len(done.entries), done.records.get("garments", 0)
