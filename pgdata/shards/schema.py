"""What a shard holds: named columns of one record each, plus per-shard tables.

Column kinds:

- ``encoded``: variable-length encoded bytes (JPEG, PNG) in one ``uint8`` blob dataset ``<name>``
  plus ``<name>_offsets`` (``int64``, N + 1 entries, record i = ``blob[off[i]:off[i+1]]``).
  Faster than vlen datasets and readable by plain h5py.
- ``array``: a fixed-shape array per record, stored as ``(N, *shape)``; with ``compression``
  ("gzip") it is chunked one record per chunk so random reads stay cheap (plain h5py, no plugin).
- ``string``: one UTF-8 string per record.

Tables are whole-shard datasets that are not one-per-record (e.g. the pair index).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

__all__ = ["FORMAT_VERSION", "Column", "Schema"]

FORMAT_VERSION = 1
ColumnKind = Literal["encoded", "array", "string"]


@dataclass(frozen=True)
class Column:
    """One per-record column."""

    name: str
    kind: ColumnKind
    dtype: str = "uint8"  # array columns
    shape: tuple[int, ...] = ()  # array columns: per-record shape
    compression: str | None = None  # array columns: None or "gzip"
    encoding: str = ""  # encoded columns: "jpeg", "png"
    doc: str = ""

    def __post_init__(self) -> None:
        if self.kind not in ("encoded", "array", "string"):
            raise ValueError(f"column {self.name!r}: unknown kind {self.kind!r}")
        if self.compression not in (None, "gzip"):
            raise ValueError(f"column {self.name!r}: compression must be None or 'gzip'")

    @classmethod
    def jpeg(cls, name: str, doc: str) -> Column:
        """JPEG bytes per record."""
        return cls(name, "encoded", encoding="jpeg", doc=doc)

    @classmethod
    def plane(cls, name: str, size_hw: tuple[int, int], doc: str) -> Column:
        """A uint8 ``(H, W)`` plane per record (label map, mask), gzip, one record per chunk."""
        return cls(name, "array", "uint8", size_hw, "gzip", doc=doc)

    @classmethod
    def keypoints(cls, name: str, joints: int, doc: str) -> Column:
        """float32 ``(J, 3)`` keypoints per record: x, y, confidence in image pixels."""
        return cls(name, "array", "float32", (joints, 3), doc=doc)

    @classmethod
    def text(cls, name: str, doc: str) -> Column:
        """One UTF-8 string per record."""
        return cls(name, "string", doc=doc)


@dataclass(frozen=True)
class Schema:
    """The columns and tables of one kind of shard, versioned."""

    name: str
    columns: tuple[Column, ...]
    tables: tuple[str, ...] = ()
    version: int = FORMAT_VERSION
    notes: Mapping[str, str] = field(default_factory=dict)

    def column(self, name: str) -> Column:
        """The column called ``name``; KeyError listing the known ones otherwise."""
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(
            f"schema {self.name!r} has no column {name!r}; columns: {[c.name for c in self.columns]}"
        )

    def to_json(self) -> str:
        """Stable JSON text (stored in every shard and the manifest)."""
        return json.dumps(self.to_dict(), sort_keys=True)

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form."""
        d = asdict(self)
        d["notes"] = dict(self.notes)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Schema:
        """Inverse of :meth:`to_dict`."""
        cols = tuple(Column(**{**c, "shape": tuple(c["shape"])}) for c in d["columns"])
        return cls(d["name"], cols, tuple(d["tables"]), int(d["version"]), dict(d.get("notes", {})))
