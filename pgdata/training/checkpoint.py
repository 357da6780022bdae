"""Run folders and checkpoints of ``pgdata train``.

A run folder ``RUN`` holds:

- ``config.json``: family, resolved config, shard folder and its manifest's sha256, pgdata version;
- ``ckpt-000200.pt``: checkpoints (the last ``keep_last`` are kept), written atomically;
- ``log.jsonl``, ``samples/step-000200.png``, ``tb/`` (see :mod:`pgdata.training.logs`).

A checkpoint is a plain dict that ``torch.load(path, weights_only=True)`` reads without pgdata:

==================  ==========================================================================
key                 value
==================  ==========================================================================
``format``          ``"pgdata-train-checkpoint"``; ``format_version`` 1
``family``          ``"dptn"`` (which training recipe wrote it)
``networks``        names of the trained networks, e.g. ``["G", "D"]``
``G``, ``D``, ...   each network's state dict (plain, loadable into a fresh model)
``optimizers``      ``{name: optimizer state dict}``; ``schedulers`` likewise
``step``            optimiser steps done; ``epoch``: 0-based epoch of the next step
``world_size``      ranks that trained it
``rng``             one dict per rank: ``torch`` (uint8 tensor), ``cuda`` (list of uint8
                    tensors), ``numpy`` (MT19937 keys as an int64 tensor + pos, has_gauss,
                    cached_gaussian), ``python`` (``random.getstate()`` as lists)
``config``          the resolved :class:`~pgdata.training.config.TrainConfig` as JSON values
``data_sha256``     sha256 of the shard folder's ``manifest.json``
``pgdata_version``  version that wrote it
==================  ==========================================================================
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from pathlib import Path
from typing import IO, Any, cast

import numpy as np
import torch

from pgdata import __version__
from pgdata.errors import InputFormatError
from pgdata.io.atomic import atomic_open, atomic_write_text
from pgdata.io.lock import LOCK_NAME
from pgdata.shards.manifest import MANIFEST
from pgdata.training.config import TrainConfig, TrainingError, config_diff

__all__ = [
    "CHECKPOINT_FORMAT",
    "CHECKPOINT_VERSION",
    "RUN_CONFIG",
    "capture_rng",
    "check_resumable",
    "checkpoint_path",
    "list_checkpoints",
    "load_checkpoint",
    "manifest_sha256",
    "open_run",
    "prune_checkpoints",
    "restore_rng",
    "save_checkpoint",
    "write_run_config",
]

CHECKPOINT_FORMAT = "pgdata-train-checkpoint"
CHECKPOINT_VERSION = 1
RUN_CONFIG = "config.json"
_CKPT_RE = re.compile(r"ckpt-(\d+)\.pt")
_STEP_DIGITS = 6


def checkpoint_path(run: Path, step: int) -> Path:
    """``RUN/ckpt-000200.pt``."""
    return run / f"ckpt-{step:0{_STEP_DIGITS}d}.pt"


def list_checkpoints(run: Path) -> list[tuple[int, Path]]:
    """``[(step, path), ...]`` of the run's checkpoints, oldest first."""
    if not run.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in run.iterdir() if (m := _CKPT_RE.fullmatch(p.name))]
    return sorted(found)


def prune_checkpoints(run: Path, keep_last: int) -> None:
    """Delete all but the newest ``keep_last`` checkpoints."""
    for _, path in list_checkpoints(run)[:-keep_last]:
        path.unlink(missing_ok=True)


def save_checkpoint(path: Path, ckpt: dict[str, Any]) -> None:
    """Write ``ckpt`` to ``path`` atomically: a reader sees the old file or the whole new one."""
    with atomic_open(path, "wb") as f:
        torch.save(ckpt, cast(IO[bytes], f))


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint (``weights_only=True``, on the CPU); InputFormatError if it is not one."""
    path = Path(path)
    if not path.is_file():
        raise InputFormatError(path, "checkpoint not found")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises many kinds for a bad file
        raise InputFormatError(path, f"not a readable PyTorch checkpoint ({e})") from None
    if not isinstance(ckpt, dict):
        raise InputFormatError(path, "not a checkpoint dict")
    return ckpt


def manifest_sha256(folder: Path) -> str:
    """sha256 of ``folder/manifest.json``: identifies the shard set a run trained on."""
    return hashlib.sha256((folder / MANIFEST).read_bytes()).hexdigest()


# ------------------------------------------------------------------------------------------ RNG


def capture_rng() -> dict[str, Any]:
    """This process's RNG states as tensors, ints and lists (``weights_only``-loadable)."""
    kind, keys, pos, has_gauss, cached = np.random.get_state(legacy=True)
    version, state, gauss_next = random.getstate()
    on_cuda = torch.cuda.is_initialized()  # type: ignore[no-untyped-call]
    cuda = torch.cuda.get_rng_state_all() if on_cuda else []
    return {
        "torch": torch.get_rng_state(),
        "cuda": list(cuda),
        "numpy": {
            "kind": str(kind),
            "keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached),
        },
        "python": {"version": version, "state": list(state), "gauss_next": gauss_next},
    }


def restore_rng(state: dict[str, Any]) -> None:
    """Undo :func:`capture_rng` (CUDA states only when this process uses CUDA)."""
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_initialized():  # type: ignore[no-untyped-call]
        torch.cuda.set_rng_state_all(state["cuda"])
    n = state["numpy"]
    np.random.set_state(
        (
            n["kind"],
            n["keys"].numpy().astype(np.uint32),
            n["pos"],
            n["has_gauss"],
            n["cached_gaussian"],
        )
    )
    p = state["python"]
    random.setstate((p["version"], tuple(p["state"]), p["gauss_next"]))


# ----------------------------------------------------------------------------------- run folder


def _record(cfg: TrainConfig, data: Path, data_sha: str) -> dict[str, Any]:
    return {
        "family": cfg.family,
        "config": cfg.to_json(),
        "data": str(data),
        "data_sha256": data_sha,
        "pgdata_version": __version__,
    }


def write_run_config(run: Path, cfg: TrainConfig, data: Path, data_sha: str) -> None:
    """Write ``RUN/config.json`` (atomically; rewritten on resume with the new runtime keys)."""
    text = json.dumps(_record(cfg, data, data_sha), indent=1, sort_keys=True) + "\n"
    atomic_write_text(run / RUN_CONFIG, text)


def _differences(stored: dict[str, Any], cfg: TrainConfig, data_sha: str) -> list[str]:
    """What differs between a stored run record / checkpoint and this run (identity keys only)."""
    old = {k: v for k, v in dict(stored.get("config", {})).items() if k in cfg.identity()}
    diffs = config_diff(old, cfg.identity())
    if stored.get("data_sha256") != data_sha:
        old_sha = str(stored.get("data_sha256"))[:12]
        diffs.append(f"shards: manifest sha256 {old_sha}… -> {data_sha[:12]}…")
    return diffs


def _summary(diffs: list[str], limit: int = 3) -> str:
    more = f" and {len(diffs) - limit} more" if len(diffs) > limit else ""
    return "; ".join(diffs[:limit]) + more


def open_run(
    run: Path, cfg: TrainConfig, data_sha: str, *, resume: bool, force: bool
) -> Path | None:
    """Check ``run`` can hold this run; return the checkpoint to resume from, or None to start.

    Refused (TrainingError, one line): a non-empty folder that is not a run; a run with another
    config or shard set (with ``resume``: unless ``force``); this same run without ``resume``.
    A run folder without any checkpoint (a run that failed early) is started afresh. Leftover
    temporary files of an interrupted checkpoint write are removed.
    """
    if run.exists() and not run.is_dir():
        raise TrainingError(f"--out {run} is a file: give a folder for the run")
    if not run.exists() or not any(p.name != LOCK_NAME for p in run.iterdir()):
        if resume:
            raise TrainingError(f"--resume: {run} holds no run; drop --resume to start one there")
        return None
    for tmp in run.glob(".ckpt-*.tmp"):
        tmp.unlink(missing_ok=True)
    record_path = run / RUN_CONFIG
    if not record_path.is_file():
        raise TrainingError(
            f"--out {run} is not empty and holds no {RUN_CONFIG}: not a pgdata run; choose a new or empty folder"
        )
    try:
        record = json.loads(record_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise InputFormatError(record_path, f"not valid JSON ({e})") from None
    checkpoints = list_checkpoints(run)
    if not checkpoints:
        return None  # a run that stopped before its first checkpoint starts afresh
    diffs = _differences(record, cfg, data_sha)
    if record.get("family") != cfg.family:
        diffs.insert(0, f"family: {record.get('family')!r} -> {cfg.family!r}")
    if not resume:
        if diffs:
            raise TrainingError(
                f"--out {run} holds another run ({_summary(diffs)}): choose another folder"
            )
        raise TrainingError(
            f"--out {run} already holds this run (step {checkpoints[-1][0]}): pass --resume to continue it or choose another folder"
        )
    if diffs and not force:
        raise TrainingError(
            f"--resume refused: {run} was trained differently ({_summary(diffs)}); "
            "pass --force to resume anyway"
        )
    return checkpoints[-1][1]


def check_resumable(
    path: Path, ckpt: dict[str, Any], cfg: TrainConfig, data_sha: str, *, force: bool
) -> None:
    """Refuse a checkpoint of another format, family, config or shard set (unless ``force``)."""
    if ckpt.get("format") != CHECKPOINT_FORMAT:
        raise InputFormatError(
            path, f"not a pgdata training checkpoint (no format {CHECKPOINT_FORMAT!r})"
        )
    if ckpt.get("format_version") != CHECKPOINT_VERSION:
        raise InputFormatError(
            path,
            f"checkpoint format version {ckpt.get('format_version')}, this pgdata resumes version "
            f"{CHECKPOINT_VERSION}",
        )
    if ckpt.get("family") != cfg.family:
        raise TrainingError(
            f"{path}: a {ckpt.get('family')!r} checkpoint, this run trains {cfg.family!r}"
        )
    diffs = _differences(ckpt, cfg, data_sha)
    if diffs and not force:
        raise TrainingError(
            f"--resume refused: {path} was trained differently ({_summary(diffs)}); pass --force to resume anyway"
        )
