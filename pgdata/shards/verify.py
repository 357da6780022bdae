"""``pgdata verify`` and ``pgdata info``: check a shard folder end to end, describe it."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import cv2

from pgdata.errors import InputFormatError, PgdataError
from pgdata.io.images import check_pixels, imdecode_checked, jpeg_corruption
from pgdata.shards.manifest import MANIFEST, ShardEntry, read_manifest
from pgdata.shards.reader import ShardReader
from pgdata.shards.schema import Schema
from pgdata.shards.writer import file_sha256

__all__ = ["PARSE_TIMEOUT_S", "VerifyReport", "shards_info", "verify_shards"]

PARSE_TIMEOUT_S = 60.0  # how long a changed shard may take to be read in its child process


@dataclass
class VerifyReport:
    """Faults found; empty ``faults`` means the folder is sound."""

    shards: int = 0
    records: int = 0
    decoded: int = 0
    faults: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line of counts."""
        state = "OK" if not self.faults else f"{len(self.faults)} fault(s)"
        return f"verify: {state}: {self.shards} shards, {self.records} records, {self.decoded} images decoded"


def _check_shard(
    path: Path,
    reader: ShardReader,
    expected_records: int,
    expected_pairs: int,
    quick: bool,
    report: VerifyReport,
) -> None:
    n = len(reader)
    if n != expected_records:
        report.faults.append(f"{path.name}: {n} records, manifest says {expected_records}")
    schema = reader.schema
    names = reader.column("name") if any(c.name == "name" for c in schema.columns) else None
    if "pairs" in schema.tables:
        pairs = reader.table("pairs")
        if (
            pairs.ndim != 2
            or pairs.shape[1:] != (2,)
            or (pairs.size and (pairs.min() < 0 or pairs.max() >= n))
        ):
            report.faults.append(
                f"{path.name}: pair index out of range or malformed, shape {pairs.shape}"
            )
        elif len(pairs) != expected_pairs:
            report.faults.append(f"{path.name}: {len(pairs)} pairs, manifest says {expected_pairs}")
    report.records += n
    if quick:
        return
    for col in schema.columns:
        if col.kind != "encoded":
            continue
        for i in range(n):
            who = f" ({names[i]})" if names is not None else ""
            problem = _decode_problem(reader.encoded(col.name, i), col.name)
            if problem is None:
                report.decoded += 1
            else:
                report.faults.append(f"{path.name}: record {i}{who}: {problem}")


def _decode_problem(data: bytes, column: str) -> str | None:
    """Why an encoded record is not a sound image (strict: libjpeg warnings count), or None."""
    try:
        check_pixels(data, column)
    except InputFormatError as e:
        return f"{column}: {e.message}"
    img, warning = imdecode_checked(data, cv2.IMREAD_UNCHANGED) if data else (None, "")
    if img is None:
        return f"{column} does not decode"
    if warning:
        return f"{column}: {jpeg_corruption(warning)}"
    return None


def _check_entry(path: Path, entry: ShardEntry, schema: Schema, quick: bool) -> VerifyReport:
    """The faults of one shard's content (schema, lengths, pairs, images), as a report."""
    report = VerifyReport()
    reader = ShardReader(path)
    try:
        if reader.schema != schema:
            report.faults.append(f"{entry.file}: schema differs from the manifest's")
        _check_shard(path, reader, entry.records, entry.pairs, quick, report)
    except (PgdataError, OSError, KeyError, ValueError, TypeError, RuntimeError) as e:
        report.faults.append(f"{entry.file}: {e}")
    finally:
        reader.close()
    return report


def _child(conn: Connection, path: Path, entry: ShardEntry, schema: Schema, quick: bool) -> None:
    conn.send(_check_entry(path, entry, schema, quick))
    conn.close()


def _check_apart(path: Path, entry: ShardEntry, schema: Schema, quick: bool) -> VerifyReport:
    """:func:`_check_entry` of a shard whose bytes changed, in a child process.

    libhdf5 itself can loop forever on some damaged files (a broken global heap): the child is
    stopped after :data:`PARSE_TIMEOUT_S` and the shard reported as unreadable.
    """
    ctx = multiprocessing.get_context("fork")  # the child needs nothing pickled back but a report
    receive, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(send, path, entry, schema, quick), daemon=True)
    proc.start()
    send.close()
    try:
        if receive.poll(PARSE_TIMEOUT_S):
            result: VerifyReport = receive.recv()
            return result
    except EOFError:  # the child died (a crash inside libhdf5)
        pass
    finally:
        proc.kill()
        proc.join()
        receive.close()
    return VerifyReport(
        faults=[f"{entry.file}: damaged beyond reading (libhdf5 gave no answer or crashed)"]
    )


def verify_shards(
    folder: Path, *, quick: bool = False, progress: Callable[[int], None] | None = None
) -> VerifyReport:
    """Check manifest, every shard's presence, size, sha256, schema and lengths; decode every image.

    Never raises for a fault in the data: every fault is a line in the report naming the shard and
    record. Raises only when the manifest itself is unusable.
    """
    manifest = read_manifest(folder)
    report = VerifyReport()
    listed = set()
    for entry in manifest.shards:
        listed.add(entry.file)
        path = folder / entry.file
        report.shards += 1
        if not path.is_file():
            report.faults.append(f"{entry.file}: missing (listed in {MANIFEST})")
            continue
        size = path.stat().st_size
        if size != entry.bytes:
            report.faults.append(f"{entry.file}: {size} bytes, manifest says {entry.bytes}")
        digest = file_sha256(path)
        if digest != entry.sha256:
            report.faults.append(
                f"{entry.file}: sha256 {digest[:12]}… differs from the manifest's {entry.sha256[:12]}…"
            )
        check = _check_apart if digest != entry.sha256 else _check_entry
        part = check(path, entry, manifest.schema, quick)
        report.faults += part.faults
        report.records += part.records
        report.decoded += part.decoded
        if progress is not None:
            progress(1)
    for extra in sorted(folder.glob("*.h5")):
        if extra.name not in listed:
            report.faults.append(f"{extra.name}: shard file not listed in {MANIFEST}")
    return report


def shards_info(folder: Path) -> dict[str, Any]:
    """Counts, sizes, schema and build config of a shard folder (from the manifest)."""
    m = read_manifest(folder)
    splits: dict[str, dict[str, int]] = {}
    for s in m.shards:
        d = splits.setdefault(s.split, {"shards": 0, "records": 0, "pairs": 0, "bytes": 0})
        d["shards"] += 1
        d["records"] += s.records
        d["pairs"] += s.pairs
        d["bytes"] += s.bytes
    return {
        "folder": str(folder),
        "format_version": m.format_version,
        "pgdata_version": m.pgdata_version,
        "splits": splits,
        "total_bytes": sum(s.bytes for s in m.shards),
        "schema": m.schema.to_dict(),
        "config": dict(m.config),
        "counts": dict(m.counts),
        "inputs_sha256": m.inputs_sha256,
    }
