"""Read one shard, opening the HDF5 file lazily and once per process.

A ``ShardReader`` can be created in the main process and handed to DataLoader workers: the file
is opened on first use, and reopened when the process id changed (after a fork), so no HDF5
handle is ever shared between processes. It pickles without its handle (``spawn`` works too).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from pgdata.errors import InputFormatError
from pgdata.shards.schema import FORMAT_VERSION, Schema
from pgdata.shards.writer import ATTR_PREFIX

__all__ = ["ShardReader"]


class ShardReader:
    """Random access to the records of one shard file."""

    def __init__(self, path: str | Path) -> None:
        self._reset(Path(path))

    def _reset(self, path: Path) -> None:
        """Point at ``path`` with nothing open (also what an unpickled copy starts from)."""
        self.path = path
        self._file: h5py.File | None = None
        self._pid: int | None = None
        self._offsets: dict[str, np.ndarray] = {}
        self._datasets: dict[str, h5py.Dataset] = {}

    # -- opening ------------------------------------------------------------------------------
    def _open(self) -> h5py.File:
        if self._file is None or self._pid != os.getpid():
            try:
                f = h5py.File(self.path, "r")
            except FileNotFoundError:
                raise InputFormatError(self.path, "shard file not found") from None
            except OSError as e:
                raise InputFormatError(self.path, f"not a readable HDF5 file ({e})") from None
            self._file, self._pid, self._offsets, self._datasets = f, os.getpid(), {}, {}
            self._validate(f)
        return self._file

    def _validate(self, f: h5py.File) -> None:
        version = f.attrs.get(ATTR_PREFIX + "format_version")
        if version != FORMAT_VERSION:
            raise InputFormatError(
                self.path,
                f"shard format version {version}, expected {FORMAT_VERSION}: rebuild with this pgdata",
            )
        schema = self.schema
        n = int(f.attrs[ATTR_PREFIX + "records"])
        for col in schema.columns:
            if col.name not in f:
                raise InputFormatError(
                    self.path, f"dataset {col.name!r} of schema {schema.name!r} is missing"
                )
            if col.kind == "encoded":
                off = f[col.name + "_offsets"][()]
                if (
                    len(off) != n + 1
                    or off[0] != 0
                    or (np.diff(off) < 0).any()
                    or off[-1] != f[col.name].shape[0]
                ):
                    raise InputFormatError(
                        self.path,
                        f"{col.name}_offsets is inconsistent (expected {n + 1} non-decreasing offsets "
                        f"ending at the blob length {f[col.name].shape[0]})",
                    )
                self._offsets[col.name] = off
            else:
                ds = f[col.name]
                if ds.shape[0] != n:
                    raise InputFormatError(
                        self.path, f"{col.name!r} has {ds.shape[0]} rows, expected {n}"
                    )
                if col.kind == "array" and (
                    tuple(ds.shape[1:]) != col.shape or ds.dtype != np.dtype(col.dtype)
                ):
                    raise InputFormatError(
                        self.path,
                        f"{col.name!r} is {ds.dtype} {tuple(ds.shape[1:])}, schema says {col.dtype} {col.shape}",
                    )

    def close(self) -> None:
        """Close the file (it reopens on next use)."""
        if self._file is not None and self._pid == os.getpid():
            self._file.close()
        self._file = None

    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._reset(Path(state["path"]))

    # -- metadata -----------------------------------------------------------------------------
    @property
    def attrs(self) -> dict[str, Any]:
        """The ``pgdata/*`` attributes, prefix stripped, JSON texts left as text."""
        f = self._open()
        return {k[len(ATTR_PREFIX) :]: v for k, v in f.attrs.items() if k.startswith(ATTR_PREFIX)}

    @property
    def schema(self) -> Schema:
        """The schema stored in the shard."""
        f = self._file if self._file is not None else self._open()
        return Schema.from_dict(json.loads(f.attrs[ATTR_PREFIX + "schema"]))

    def __len__(self) -> int:
        return int(self._open().attrs[ATTR_PREFIX + "records"])

    # -- data ---------------------------------------------------------------------------------
    def encoded(self, column: str, i: int) -> bytes:
        """The encoded bytes of record ``i`` of an ``encoded`` column."""
        ds = self._dataset(column)
        off = self._offsets[column]
        return bytes(ds[off[i] : off[i + 1]].tobytes())

    def _dataset(self, column: str) -> h5py.Dataset:
        f = self._open()
        ds = self._datasets.get(column)
        if ds is None:
            ds = self._datasets[column] = f[column]
        return ds

    def array(self, column: str, i: int) -> np.ndarray:
        """Record ``i`` of an ``array`` column."""
        return np.asarray(self._dataset(column)[i])

    def column(self, column: str) -> np.ndarray:
        """A whole column (arrays, strings as ``str``) read into memory."""
        ds = self._open()[column]
        if h5py.check_string_dtype(ds.dtype) is not None:
            return np.asarray(ds.asstr()[()], dtype=object)
        return np.asarray(ds[()])

    def table(self, name: str) -> np.ndarray:
        """A whole-shard table, e.g. ``pairs_train``."""
        f = self._open()
        if name not in f:
            raise InputFormatError(self.path, f"table {name!r} not in shard")
        return np.asarray(f[name][()])
