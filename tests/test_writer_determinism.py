"""The shard writer's bytes depend only on the records, not on when Python releases HDF5 objects.

Found by the fault suite (issue 15): on a Dask worker a shard written after a client kill had
other bytes than the same shard of an uninterrupted build (the same data, compressed chunks 2 KB
further on). Dask's sampling profiler holds the worker's stack frames for a moment every 10 ms;
a frame that holds a just-written dataset delayed its close, and with it the flush of its chunk
cache, which is when HDF5 places compressed chunks. The writer now closes each dataset itself.
Here a thread holds every frame it sees, as the profiler does, while the same shard is written
again and again: every copy must have the bytes of one written without it.
"""

from __future__ import annotations

import hashlib
import sys
import threading
import time
from pathlib import Path

import numpy as np

from pgdata.shards.schema import Column, Schema
from pgdata.shards.writer import write_shard

N, H, W = 4, 64, 48
REPEATS = 12


def _shard(path: Path) -> str:
    rng = np.random.default_rng(0)
    schema = Schema(
        "determinism",
        (
            Column.plane("parsing", (H, W), "labels, gzip chunks"),
            Column("heat", "array", "float16", (18, H, W), "gzip", doc="gzip chunks, shuffle"),
            Column.text("name", "vlen strings"),
        ),
    )
    columns = {
        "parsing": rng.integers(0, 20, (N, H, W), dtype=np.uint8),
        "heat": rng.random((N, 18, H, W), dtype=np.float32).astype(np.float16),
        "name": [f"img_{i:03d}.jpg" for i in range(N)],
    }
    written = write_shard(path, schema, columns)
    return written.sha256


def test_the_same_records_give_the_same_bytes_while_another_thread_holds_frames(tmp_path):
    reference = _shard(tmp_path / "ref.h5")
    held: list[object] = []
    stop = threading.Event()

    def profiler() -> None:  # keeps the last few samples of every thread's frames alive
        while not stop.is_set():
            held.append(sys._current_frames())
            del held[:-4]
            time.sleep(0.0005)

    thread = threading.Thread(target=profiler, daemon=True)
    thread.start()
    try:
        hashes = {_shard(tmp_path / f"s{i}.h5") for i in range(REPEATS)}
    finally:
        stop.set()
        thread.join()
    assert hashes == {reference}
    assert reference == hashlib.sha256((tmp_path / "ref.h5").read_bytes()).hexdigest()
