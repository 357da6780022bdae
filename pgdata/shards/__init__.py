"""HDF5 shards: schema, atomic writer, manifest and a lazily opening reader."""

from pgdata.shards.manifest import MANIFEST, Manifest, ShardEntry, read_manifest, write_manifest
from pgdata.shards.reader import ShardReader
from pgdata.shards.schema import FORMAT_VERSION, Column, Schema
from pgdata.shards.writer import ShardFile, file_sha256, write_shard

__all__ = [
    "FORMAT_VERSION",
    "MANIFEST",
    "Column",
    "Manifest",
    "Schema",
    "ShardEntry",
    "ShardFile",
    "ShardReader",
    "file_sha256",
    "read_manifest",
    "write_manifest",
    "write_shard",
]
