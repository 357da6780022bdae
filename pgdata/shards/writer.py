"""Write one shard file atomically: ``NAME.<pid>-<random>.partial`` first, renamed to ``NAME``
when complete.

A shard is written in one go from in-memory columns (a shard is a few hundred MB at most), each
dataset closed as soon as it is written (:func:`_put`: not whenever Python releases the object),
so its bytes depend only on its content: the same records give a byte-identical file, which is
what lets a resumed build reproduce the manifest of an uninterrupted one. The partial file's name
carries the writer's process id and a random part, so two writers (or two attempts of one task on
a Dask worker) never write into the same file.

Just before the rename, ``before_publish(sha256)`` may check the writer still owns the folder
and record the hash (:mod:`pgdata.shards.resume`). A write that fails for lack of space or a
file size limit raises :class:`~pgdata.errors.OutputError` naming the shard; the partial file is
removed and nothing else changes.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from pgdata import __version__
from pgdata.io.atomic import write_error
from pgdata.shards.schema import Schema

__all__ = ["ATTR_PREFIX", "PARTIAL", "ShardFile", "file_sha256", "json_attr", "write_shard"]

ATTR_PREFIX = "pgdata/"
PARTIAL = ".partial"  # suffix of a shard being written


@dataclass(frozen=True)
class ShardFile:
    """A finished shard."""

    name: str
    records: int
    bytes: int
    sha256: str


def file_sha256(path: Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def _check_lengths(schema: Schema, columns: Mapping[str, Any]) -> int:
    missing = [c.name for c in schema.columns if c.name not in columns]
    extra = sorted(set(columns) - {c.name for c in schema.columns})
    if missing or extra:
        raise ValueError(
            f"shard columns do not match schema {schema.name!r}: missing {missing}, unexpected {extra}"
        )
    lengths = {name: len(values) for name, values in columns.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"shard columns have different lengths: {lengths}")
    return next(iter(lengths.values())) if lengths else 0


def write_shard(
    path: Path,
    schema: Schema,
    columns: Mapping[str, Sequence[Any] | np.ndarray],
    *,
    tables: Mapping[str, np.ndarray] | None = None,
    attrs: Mapping[str, str | int | float] | None = None,
    before_publish: Callable[[str], None] | None = None,
) -> ShardFile:
    """Write ``columns`` (one entry per record, per schema column) and ``tables`` to ``path``.

    ``attrs`` are stored under ``pgdata/<key>`` beside the format version, schema and pgdata
    version. ``before_publish(sha256)`` runs when the file is complete, before it is renamed to
    ``path`` (an exception from it stops the rename). Raises ValueError when the columns do not
    match the schema and OutputError when the file cannot be written; on any error the partial
    file is removed and ``path`` is untouched.
    """
    n = _check_lengths(schema, columns)
    tables = dict(tables or {})
    unknown = sorted(set(tables) - set(schema.tables))
    if unknown:
        raise ValueError(
            f"tables {unknown} are not in schema {schema.name!r} (tables: {list(schema.tables)})"
        )
    # unique per attempt: a retried or duplicated task never writes into another attempt's file
    partial = path.with_name(f"{path.name}.{os.getpid()}-{secrets.token_hex(4)}{PARTIAL}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_file(partial, schema, columns, n, tables, attrs)
        sha = file_sha256(partial)
        if before_publish is not None:
            before_publish(sha)
        os.replace(partial, path)
    except (OSError, RuntimeError) as e:  # h5py reports a failed write as either
        with contextlib.suppress(FileNotFoundError):
            os.unlink(partial)
        raise write_error(path, e) from None
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(partial)
        raise
    return ShardFile(path.name, n, path.stat().st_size, sha)


def _write_file(
    partial: Path,
    schema: Schema,
    columns: Mapping[str, Sequence[Any] | np.ndarray],
    n: int,
    tables: Mapping[str, np.ndarray],
    attrs: Mapping[str, str | int | float] | None,
) -> None:
    """The HDF5 part of :func:`write_shard`."""
    with h5py.File(partial, "w", libver=("earliest", "v110")) as f:
        for col in schema.columns:
            values = columns[col.name]
            if col.kind == "encoded":
                offsets = np.zeros(n + 1, dtype=np.int64)
                np.cumsum([len(v) for v in values], out=offsets[1:])
                blob = bytearray(int(offsets[-1]))  # one copy of the bytes, filled in place
                view = memoryview(blob)
                for start, v in zip(offsets[:-1].tolist(), values, strict=True):
                    view[start : start + len(v)] = v
                _put(f, col.name, data=np.frombuffer(blob, dtype=np.uint8))
                _put(f, col.name + "_offsets", data=offsets)
            elif col.kind == "array":
                arr = np.asarray(values, dtype=col.dtype).reshape((n, *col.shape))
                kw: dict[str, Any] = {}
                if col.compression == "gzip" and n:
                    kw = {
                        "chunks": (1, *col.shape),
                        "compression": "gzip",
                        "compression_opts": 1,
                    }
                    if np.dtype(col.dtype).itemsize > 1:
                        kw["shuffle"] = True
                _put(f, col.name, data=arr, **kw)
            else:
                _put(
                    f,
                    col.name,
                    data=np.array(list(values), dtype=object),
                    dtype=h5py.string_dtype(),
                )
        for name, table in sorted(tables.items()):
            _put(f, name, data=np.asarray(table))
        f.attrs[ATTR_PREFIX + "format_version"] = schema.version
        f.attrs[ATTR_PREFIX + "schema"] = schema.to_json()
        f.attrs[ATTR_PREFIX + "version"] = __version__
        f.attrs[ATTR_PREFIX + "records"] = n
        for key, value in sorted((attrs or {}).items()):
            f.attrs[ATTR_PREFIX + key] = value


def _put(f: h5py.File, name: str, **kw: Any) -> None:
    """Create and write dataset ``name``, then close it at once.

    Closing flushes its chunk cache, which is when HDF5 places compressed chunks in the file.
    Left to Python, the close comes when the last reference goes, and another thread can hold one
    for a while (a sampling profiler's stack frames: a Dask worker takes one every 10 ms), which
    moved chunks and made the same records give different shard bytes.
    """
    f.create_dataset(name, track_times=False, **kw).id.close()


def json_attr(value: object) -> str:
    """Stable JSON text for an attribute."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))
