"""Helpers every shard dataset shares: opening a split, image decoding in the worker,
normalisation on the device, reusable CPU buffers for large batch tensors."""

from __future__ import annotations

import ctypes
import math
import sys
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from pgdata.errors import InputFormatError
from pgdata.shards.manifest import Manifest, ShardEntry, read_manifest
from pgdata.shards.reader import ShardReader

__all__ = ["BufferPool", "SplitRecords", "decode_column", "normalise", "split_entries"]

# OpenCV >= 4.10 decodes straight to RGB
_IMREAD_RGB = getattr(cv2, "IMREAD_COLOR_RGB", None)


def normalise(images: torch.Tensor, *, out: torch.Tensor | None = None) -> torch.Tensor:
    """uint8 ``(B, C, H, W)`` → float32 in [-1, 1] (``ToTensor`` + ``Normalize(0.5, 0.5)``),
    written into ``out`` (float32, same shape and device) when given."""
    if out is None:
        return images.to(torch.float32).div_(127.5).sub_(1.0)
    # the same values as torch.div(images, 127.5, out=out) (uint8 -> float32 is exact), but a
    # float division in place is vectorised where the mixed-type one is not: 2.2x faster
    return out.copy_(images).div_(127.5).sub_(1.0)


class BufferPool:
    """CPU tensors for a loader's large per-batch outputs, handed out again once free.

    A fresh float32 batch of heatmaps (16 pairs × 18 joints × 256 × 176 is 52 MB) costs more than
    rendering into it: glibc's malloc maps blocks above its mmap threshold (32 MB at most) afresh
    and unmaps them on free, so each batch page-faults and the kernel zeroes the pages again.
    ``benchmarks/bench_loader.py`` measures the difference. Buffers of 4 MB and more are asked
    for on transparent huge pages (:func:`_empty_huge_pages`). One pool per process (a DataLoader
    worker unpickles an empty one).

    :meth:`take` reuses a tensor only when nothing else holds it: no other Python reference, no
    view or autograd graph (the tensor's use count), no NumPy array or other tensor on its memory
    (the storage's use count), and never once it was moved to shared memory (a batch a worker
    sends lives on in the main process). So keeping a batch (gradient accumulation) is safe: its
    tensors stay busy and the pool makes new ones. A tensor made under ``torch.inference_mode`` is
    only reused there (and an ordinary one only outside). At most ``keep`` tensors of each shape are
    pooled: with the default 4, a loop that holds the previous batch while the next one is made
    (``batch = next(it)``) reuses the same buffers all along, two images and two heatmap tensors
    per batch.
    """

    def __init__(self, keep: int = 4) -> None:
        self.keep = keep
        self._tensors: list[torch.Tensor] = []
        self._free_refs = 0  # sys.getrefcount of a pooled tensor nothing else holds
        self._free_storage_uses = 0

    def __reduce__(self) -> tuple[Any, ...]:
        return (BufferPool, (self.keep,))  # a copy in another process starts empty

    def _is_free(self, t: torch.Tensor, *, calibrate: bool = False) -> bool:
        """Whether nothing but the pool (and the caller's loop variable) holds ``t``.

        Called as ``self._is_free(t)`` with ``t`` a local of :meth:`take`, so the Python
        reference count of a free tensor is the same every time; ``calibrate`` records it (and
        the storage's use count) for a tensor just made.
        """
        refs, storage_uses = sys.getrefcount(t), _storage_uses(t)
        if calibrate:
            self._free_refs, self._free_storage_uses = refs, storage_uses
        return (
            refs == self._free_refs
            and storage_uses == self._free_storage_uses
            and int(getattr(t, _USE_COUNT)()) == 1
            and not _shared(t)
        )

    def take(self, shape: tuple[int, ...], dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """A CPU tensor of ``shape`` and ``dtype`` with arbitrary contents: a free pooled one, or
        a new one (pooled while fewer than ``keep`` are)."""
        same = 0
        inference = torch.is_inference_mode_enabled()  # inference tensors stay in inference mode
        for t in self._tensors:
            if tuple(t.shape) == shape and t.dtype == dtype and t.is_inference() == inference:
                if self._is_free(t):
                    return t
                same += 1
        self._tensors = [x for x in self._tensors if not _shared(x)]
        t = _empty_huge_pages(shape, dtype)
        if same >= self.keep:  # all busy: a tensor of its own, not pooled
            return t
        self._tensors.append(t)
        if not self._free_refs:
            self._is_free(t, calibrate=True)
        return t


_HUGE_PAGE = 2 << 20  # x86-64 and arm64 transparent huge pages
_MADV_HUGEPAGE = 14  # <sys/mman.h>
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform == "linux" else None


def _empty_huge_pages(shape: tuple[int, ...], dtype: torch.dtype) -> torch.Tensor:
    """``torch.empty(shape, dtype=dtype)``, asking Linux for transparent huge pages when it
    spans some: a batch of heatmaps is written once per batch, and with 4 KB pages a quarter of
    that time is page-table walks (TLB misses). With THP off or unavailable it is a plain
    ``torch.empty`` (``madvise`` only advises); the tensor starts on a 2 MB boundary of its own
    storage, with no view base (the pool's free test counts one storage user)."""
    itemsize = torch.empty(0, dtype=dtype).element_size()
    nbytes = math.prod(shape) * itemsize
    if _LIBC is None or nbytes < 2 * _HUGE_PAGE:
        return torch.empty(shape, dtype=dtype)
    flat = torch.empty(nbytes + _HUGE_PAGE, dtype=torch.uint8)
    skip = -flat.data_ptr() % _HUGE_PAGE  # to the next 2 MB boundary (a multiple of itemsize)
    _LIBC.madvise(ctypes.c_void_p(flat.data_ptr() + skip), ctypes.c_size_t(nbytes), _MADV_HUGEPAGE)
    strides = [math.prod(shape[i + 1 :]) for i in range(len(shape))]  # C-contiguous
    out = torch.empty(0, dtype=dtype)
    return out.set_(flat.untyped_storage(), skip // itemsize, shape, strides)


_USE_COUNT = "_use_count"  # Tensor._use_count(): references to the tensor held in C++ too


def _shared(t: torch.Tensor) -> bool:
    """Whether ``t``'s memory was moved to shared memory (sent to another process)."""
    return bool(t.untyped_storage().is_shared())


def _storage_uses(t: torch.Tensor) -> int:
    """How many tensors (and arrays) share ``t``'s memory, as the storage counts them."""
    return int(torch._C._storage_Use_Count(t.untyped_storage()._cdata))


def decode_column(reader: ShardReader, column: str, i: int) -> np.ndarray:
    """Record ``i`` of an encoded image column → ``(H, W, 3)`` uint8 RGB.

    Raises:
        InputFormatError: the bytes do not decode (names the shard, record and column).
    """
    buf = np.frombuffer(reader.encoded(column, i), np.uint8)
    img = cv2.imdecode(buf, _IMREAD_RGB if _IMREAD_RGB is not None else cv2.IMREAD_COLOR)
    if img is None:
        raise InputFormatError(
            reader.path, f"record {i}: {column} does not decode; run `pgdata verify`"
        )
    return img if _IMREAD_RGB is not None else cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def split_entries(folder: Path, split: str, schema: str) -> tuple[Manifest, list[ShardEntry]]:
    """The manifest of a shard folder of ``schema`` and the shards of ``split``.

    Raises:
        InputFormatError: another schema (naming it), or no shard of that split (listing the
            splits there).
    """
    manifest = read_manifest(folder)
    if manifest.schema.name != schema:
        raise InputFormatError(
            folder, f"schema {manifest.schema.name!r} is not a {schema!r} shard set"
        )
    entries = manifest.split_shards(split)
    if not entries:
        splits = sorted({s.split for s in manifest.shards})
        raise InputFormatError(folder, f"no shards for split {split!r}; splits here: {splits}")
    return manifest, entries


class SplitRecords:
    """The records of one split of a shard folder, for a dataset class to build on: the shard
    readers (metadata read, handles closed: each DataLoader worker reopens its own), a flat
    index of ``(shard, row)``, every record's name, and the epoch its random draws use."""

    def __init__(self, folder: str | Path, split: str, schema: str) -> None:
        self.folder = Path(folder)
        self.manifest, entries = split_entries(self.folder, split, schema)
        self.epoch = 0
        self.readers = [ShardReader(self.folder / e.file, expect=e) for e in entries]
        self._index = [(s, i) for s, e in enumerate(entries) for i in range(e.records)]
        self._names = []
        for r in self.readers:
            self._names.append(r.column("name"))
            r.close()

    def __len__(self) -> int:
        return len(self._index)

    def set_epoch(self, epoch: int) -> None:
        """Change the random draws (the training loop calls it before each epoch)."""
        self.epoch = epoch

    def record(self, index: int) -> tuple[int, int, str]:
        """``(shard, row, name)`` of record ``index``."""
        s, i = self._index[index]
        return s, i, str(self._names[s][i])
