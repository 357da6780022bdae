"""Read one shard, opening the HDF5 file lazily and once per process.

A ``ShardReader`` can be created in the main process and handed to DataLoader workers: the file
is opened on first use, and reopened when the process id changed (after a fork), so no HDF5
handle is ever shared between processes. It pickles without its handle (``spawn`` works too).

On open it checks what it will serve before serving it: the format version, the schema's
columns, equal lengths, monotone offsets, and that no dataset claims more bytes than the file
can hold (a damaged header must not make a read allocate gigabytes). Given the manifest's entry
(``expect``), it also checks the file's size, record count and split (a swapped or truncated
shard is an error naming it, never the wrong data) and, with ``verify_sha256``, its sha256.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from pgdata.errors import InputFormatError
from pgdata.shards.manifest import MANIFEST, ShardEntry
from pgdata.shards.schema import FORMAT_VERSION, Schema
from pgdata.shards.writer import ATTR_PREFIX, file_sha256

__all__ = ["ShardReader"]

# how many times a compressed dataset may outgrow the file (gzip's best ratio is about 1000:1)
MAX_EXPANSION = 1100
_FLOOR = 1 << 20  # bytes any dataset may claim, whatever the file size


class ShardReader:
    """Random access to the records of one shard file.

    Args:
        path: the shard file.
        expect: its manifest entry: size, records and split are checked on first open.
        verify_sha256: also check the file's sha256 against ``expect`` (once per reader).
    """

    def __init__(
        self,
        path: str | Path,
        *,
        expect: ShardEntry | None = None,
        verify_sha256: bool = False,
    ) -> None:
        self._reset(Path(path), expect, verify_sha256)

    def _reset(self, path: Path, expect: ShardEntry | None, verify_sha256: bool) -> None:
        """Point at ``path`` with nothing open (also what an unpickled copy starts from)."""
        self.path = path
        self.expect = expect
        self.verify_sha256 = verify_sha256
        self._file: h5py.File | None = None
        self._pid: int | None = None
        self._offsets: dict[str, np.ndarray] = {}
        self._datasets: dict[str, h5py.Dataset] = {}

    # -- opening ------------------------------------------------------------------------------
    def _open(self) -> h5py.File:
        if self._file is None or self._pid != os.getpid():
            size = self._check_file()
            try:
                f = h5py.File(self.path, "r")
            except FileNotFoundError:
                raise InputFormatError(self.path, "shard file not found") from None
            except OSError as e:
                raise InputFormatError(self.path, f"not a readable HDF5 file ({e})") from None
            self._file, self._pid, self._offsets, self._datasets = f, os.getpid(), {}, {}
            try:
                self._validate(f, size)
            except InputFormatError:
                self.close()
                raise
            except (KeyError, TypeError, ValueError, OSError, RuntimeError, AttributeError) as e:
                self.close()
                raise InputFormatError(
                    self.path, f"malformed shard ({type(e).__name__}: {e}); run `pgdata verify`"
                ) from None
        return self._file

    def _check_file(self) -> int:
        """The file's size, checked against the manifest entry (and its sha256 when asked)."""
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            raise InputFormatError(self.path, "shard file not found") from None
        e = self.expect
        if e is None:
            return size
        if size != e.bytes:
            raise InputFormatError(
                self.path,
                f"{size} bytes, {MANIFEST} says {e.bytes}: the shard was replaced, truncated or "
                "swapped; run `pgdata verify` and rebuild",
            )
        if self.verify_sha256:
            digest = file_sha256(self.path)
            if digest != e.sha256:
                raise InputFormatError(
                    self.path,
                    f"sha256 {digest[:12]}… differs from the {MANIFEST}'s {e.sha256[:12]}…: the "
                    "shard changed since it was built; run `pgdata verify` and rebuild",
                )
            self.verify_sha256 = False  # once per reader: workers inherit the verdict
        return size

    def _bounded(self, ds: h5py.Dataset, size: int) -> None:
        """Refuse a dataset that claims more bytes than the file could hold."""
        ratio = 1 if ds.chunks is None else MAX_EXPANSION
        claimed = int(np.prod(ds.shape, dtype=np.float64)) * ds.dtype.itemsize
        if claimed > max(size, _FLOOR) * ratio:
            raise InputFormatError(
                self.path,
                f"dataset {ds.name!r} claims {claimed} bytes in a {size}-byte file: damaged shard",
            )

    def _validate(self, f: h5py.File, size: int) -> None:
        version = f.attrs.get(ATTR_PREFIX + "format_version")
        if version != FORMAT_VERSION:
            raise InputFormatError(
                self.path,
                f"shard format version {version}, expected {FORMAT_VERSION}: rebuild with this pgdata",
            )
        schema = self.schema
        n = int(f.attrs[ATTR_PREFIX + "records"])
        e = self.expect
        if e is not None:
            split = f.attrs.get(ATTR_PREFIX + "split")
            if n != e.records or (split is not None and split != e.split):
                raise InputFormatError(
                    self.path,
                    f"holds {n} {split} records, {MANIFEST} says {e.records} {e.split} records: "
                    "swapped or foreign shard; run `pgdata verify`",
                )
        for name in f:
            if isinstance(f[name], h5py.Dataset):
                self._bounded(f[name], size)
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
        return {"path": self.path, "expect": self.expect, "verify_sha256": self.verify_sha256}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._reset(Path(state["path"]), state.get("expect"), bool(state.get("verify_sha256")))

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
    @contextlib.contextmanager
    def _reading(self, what: str) -> Iterator[None]:
        """Turn a failed read inside the file (damaged data, bad UTF-8) into an error naming it."""
        try:
            yield
        except (OSError, RuntimeError, ValueError, KeyError, TypeError, AttributeError) as e:
            raise InputFormatError(
                self.path, f"cannot read {what} ({type(e).__name__}: {e}); run `pgdata verify`"
            ) from None

    def encoded(self, column: str, i: int) -> bytes:
        """The encoded bytes of record ``i`` of an ``encoded`` column."""
        ds = self._dataset(column)
        off = self._offsets[column]
        with self._reading(f"record {i} of {column!r}"):
            return bytes(ds[off[i] : off[i + 1]].tobytes())

    def _dataset(self, column: str) -> h5py.Dataset:
        f = self._open()
        ds = self._datasets.get(column)
        if ds is None:
            with self._reading(f"column {column!r}"):
                ds = self._datasets[column] = f[column]
        return ds

    def array(self, column: str, i: int) -> np.ndarray:
        """Record ``i`` of an ``array`` column."""
        ds = self._dataset(column)
        with self._reading(f"record {i} of {column!r}"):
            return np.asarray(ds[i])

    def column(self, column: str) -> np.ndarray:
        """A whole column (arrays, strings as ``str``) read into memory."""
        f = self._open()
        with self._reading(f"column {column!r}"):
            ds = f[column]
            if h5py.check_string_dtype(ds.dtype) is not None:
                return np.asarray(ds.asstr()[()], dtype=object)
            return np.asarray(ds[()])

    def table(self, name: str) -> np.ndarray:
        """A whole-shard table, e.g. ``pairs_train``."""
        f = self._open()
        if name not in f:
            raise InputFormatError(self.path, f"table {name!r} not in shard")
        with self._reading(f"table {name!r}"):
            return np.asarray(f[name][()])
