"""``manifest.json``: the index of a shard folder, written last and only when a build succeeded.

It lists every shard with its split, record and pair counts, size and sha256, plus the schema,
the build config and the sha256 of the inputs list. It holds no paths and no times, so the same
build gives the same bytes wherever and whenever it ran (and after a resume).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pgdata.errors import InputFormatError
from pgdata.io.atomic import atomic_write_text
from pgdata.io.files import read_text
from pgdata.shards.schema import FORMAT_VERSION, Schema

__all__ = ["MANIFEST", "Manifest", "ShardEntry", "read_manifest", "write_manifest"]

MANIFEST = "manifest.json"
_KIND = "pgdata-shards"
_SHA256 = re.compile(r"[0-9a-f]{64}")
_FILE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*\.h5")  # a plain name in the folder, no path


def _entry(s: object, i: int) -> ShardEntry:
    """One ``shards`` item, every field checked (ValueError says which)."""
    if not isinstance(s, dict):
        raise ValueError(f"shards[{i}] is not an object")
    entry = ShardEntry(**s)
    if not isinstance(entry.file, str) or not _FILE.fullmatch(entry.file):
        raise ValueError(f"shards[{i}].file {entry.file!r} is not a shard file name")
    if not isinstance(entry.split, str) or not entry.split:
        raise ValueError(f"shards[{i}].split must be a name")
    for key in ("records", "pairs", "bytes"):
        value = getattr(entry, key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"shards[{i}].{key} must be a count >= 0, found {value!r}")
    if not isinstance(entry.sha256, str) or not _SHA256.fullmatch(entry.sha256):
        raise ValueError(f"shards[{i}].sha256 is not a sha256 hex digest")
    return entry


@dataclass(frozen=True)
class ShardEntry:
    """One shard of the manifest."""

    file: str
    split: str
    records: int
    pairs: int
    bytes: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    """The parsed manifest."""

    schema: Schema
    config: Mapping[str, Any]
    inputs_sha256: str
    pgdata_version: str
    shards: tuple[ShardEntry, ...]
    counts: Mapping[str, Any] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION

    def split_shards(self, split: str) -> list[ShardEntry]:
        """The shards of one split, in order."""
        return [s for s in self.shards if s.split == split]


def write_manifest(folder: Path, manifest: Manifest) -> Path:
    """Write ``folder/manifest.json`` atomically (stable key order, no times, no paths)."""
    doc = {
        "kind": _KIND,
        "format_version": manifest.format_version,
        "pgdata_version": manifest.pgdata_version,
        "schema": manifest.schema.to_dict(),
        "config": manifest.config,
        "inputs_sha256": manifest.inputs_sha256,
        "counts": manifest.counts,
        "shards": [asdict(s) for s in manifest.shards],
    }
    path = folder / MANIFEST
    atomic_write_text(path, json.dumps(doc, indent=1, sort_keys=True) + "\n")
    return path


def read_manifest(folder: Path) -> Manifest:
    """Read and check ``folder/manifest.json``; InputFormatError names what is wrong and the fix."""
    path = folder / MANIFEST
    if not path.is_file():
        partials = sorted(p.name for p in folder.glob("*.partial")) if folder.is_dir() else []
        hint = (
            f"; {len(partials)} .partial file(s) show an interrupted build: rerun the same `pgdata build` to resume"
            if partials
            else "; build shards with `pgdata build`"
        )
        raise InputFormatError(path, "no manifest: not a complete shard folder" + hint)
    try:
        doc = json.loads(read_text(path))
    except (ValueError, RecursionError) as e:
        raise InputFormatError(path, f"manifest is not valid JSON ({e})") from None
    if not isinstance(doc, dict) or doc.get("kind") != _KIND:
        raise InputFormatError(path, f"not a pgdata shard manifest (expected kind {_KIND!r})")
    version = doc.get("format_version")
    if version != FORMAT_VERSION:
        raise InputFormatError(
            path,
            f"shard format version {version}, this pgdata reads version {FORMAT_VERSION}: rebuild the shards "
            "with this version of pgdata",
        )
    try:
        if not isinstance(doc["shards"], list):
            raise ValueError("shards is not a list")
        shards = tuple(_entry(s, i) for i, s in enumerate(doc["shards"]))
        if len({e.file for e in shards}) != len(shards):
            raise ValueError("a shard file is listed twice")
        for key in ("config", "counts", "schema"):
            if not isinstance(doc.get(key, {}), dict):
                raise ValueError(f"{key} is not an object")
        if not isinstance(doc["inputs_sha256"], str) or not isinstance(doc["pgdata_version"], str):
            raise ValueError("inputs_sha256 and pgdata_version must be strings")
        return Manifest(
            schema=Schema.from_dict(doc["schema"]),
            config=doc["config"],
            inputs_sha256=doc["inputs_sha256"],
            pgdata_version=doc["pgdata_version"],
            shards=shards,
            counts=doc.get("counts", {}),
            format_version=version,
        )
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise InputFormatError(path, f"manifest is missing or has a malformed key ({e})") from None
