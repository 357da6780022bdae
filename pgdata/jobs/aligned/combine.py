"""``pgdata combine-ab A_DIR B_DIR --out DIR``: pairs of images → pix2pix's A|B images.

As pix2pix's ``datasets/combine_A_and_B.py``: for every image of ``A_DIR`` the image of the same
name (path inside its split folder, extension ignored) in ``B_DIR`` is put on its right, giving
one ``H × 2W`` image in ``OUT`` under the same split folder (``train/ val/ test/`` when ``A_DIR``
has them, else flat) and name. A JPEG source gives a JPEG (``quality``), anything else a PNG.

An image without a partner, one that does not decode, or a pair whose halves differ in size is
named in ``OUT/rejected.csv`` and counted; under ``strict`` the first one stops the command
before anything is written. ``rejected.csv`` is written last.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pgdata.errors import ConfigError, InputFormatError
from pgdata.io.atomic import atomic_write_bytes
from pgdata.io.files import read_bytes
from pgdata.io.folders import image_splits, split_folder
from pgdata.io.images import decode_rgb, encode_jpeg, encode_png
from pgdata.io.reports import REJECTED_CSV, count_reasons, write_rejected_csv
from pgdata.parallel import parallel_map
from pgdata.stages.aligned import combine_ab, pair_problem

__all__ = ["CombineConfig", "CombineResult", "run_combine"]

_JPEG_SUFFIXES = (".jpg", ".jpeg")


@dataclass(frozen=True)
class CombineConfig:
    """Options of ``pgdata combine-ab``."""

    a_dir: Path
    b_dir: Path
    out: Path
    quality: int = 95
    strict: bool = False
    workers: int = 1

    def __post_init__(self) -> None:
        if not 1 <= self.quality <= 100:
            raise ConfigError(f"quality must be in 1..100, found {self.quality}")
        if self.workers < 1:
            raise ConfigError(f"workers must be >= 1, found {self.workers}")


@dataclass
class CombineResult:
    """What :func:`run_combine` wrote."""

    out: Path
    written: dict[str, int]  # split -> A|B images
    skipped: dict[str, int]  # reason kind -> count

    def summary(self) -> str:
        """One line of counts."""
        splits = ", ".join(f"{s} {n}" for s, n in self.written.items()) or "none"
        kinds = ", ".join(f"{k}={n}" for k, n in sorted(self.skipped.items()))
        return (
            f"combine-ab: wrote {sum(self.written.values())} A|B images to {self.out} ({splits}); "
            f"skipped {sum(self.skipped.values())}" + (f": {kinds}" if kinds else "")
        )


@dataclass(frozen=True)
class _Pair:
    split: str
    a: Path
    b: Path
    out: Path


def _stem(name: str) -> str:
    return name.rsplit(".", 1)[0]


def _match(cfg: CombineConfig) -> tuple[list[_Pair], list[tuple[str, str]]]:
    """Pairs by split and name without extension; the unmatched as rejections."""
    a_splits = image_splits(cfg.a_dir)
    b_splits = image_splits(cfg.b_dir)
    pairs: list[_Pair] = []
    rejected: list[tuple[str, str]] = []
    for split, names in a_splits.items():
        a_root, b_root = split_folder(cfg.a_dir, split), split_folder(cfg.b_dir, split)
        b_names = {_stem(n): n for n in b_splits.get(split, [])}
        out_root = cfg.out / split if a_root != cfg.a_dir else cfg.out
        for name in names:
            partner = b_names.pop(_stem(name), None)
            if partner is None:
                rejected.append(
                    (str(a_root / name), f"no partner (nothing named {_stem(name)}.* in B)")
                )
                continue
            pairs.append(_Pair(split, a_root / name, b_root / partner, out_root / name))
        rejected += [
            (str(b_root / n), f"no partner (nothing named {s}.* in A)") for s, n in b_names.items()
        ]
    for split in sorted(set(b_splits) - set(a_splits)):
        root = split_folder(cfg.b_dir, split)
        rejected += [
            (str(root / n), f"no partner (A has no {split} split)") for n in b_splits[split]
        ]
    return pairs, rejected


def _combined(pair: _Pair) -> np.ndarray | str:
    """The A|B image of a pair, or why there is none."""
    try:
        a = decode_rgb(read_bytes(pair.a), pair.a)
        b = decode_rgb(read_bytes(pair.b), pair.b)
    except InputFormatError as e:
        return f"cannot decode ({e})"
    problem = pair_problem(a.shape[:2], b.shape[:2])
    return problem if problem is not None else combine_ab(a, b)


def _write(args: tuple[_Pair, int]) -> tuple[_Pair, str | None]:
    """Combine and write one pair (module level: runs in worker processes)."""
    pair, quality = args
    ab = _combined(pair)
    if isinstance(ab, str):
        return pair, ab
    jpeg = pair.a.suffix.lower() in _JPEG_SUFFIXES
    atomic_write_bytes(pair.out, encode_jpeg(ab, quality) if jpeg else encode_png(ab))
    return pair, None


def run_combine(cfg: CombineConfig, progress: Callable[[int], None] | None = None) -> CombineResult:
    """Combine every matched pair of ``cfg.a_dir`` and ``cfg.b_dir`` into ``cfg.out``.

    Raises:
        InputFormatError: under ``strict``, the first unmatched, undecodable or mismatched image
            (nothing is written then).
    """
    pairs, rejected = _match(cfg)
    if cfg.strict:
        if rejected:
            item, reason = rejected[0]
            raise InputFormatError(item, f"{reason} (--strict)")
        for pair in pairs:  # check every pair before writing any
            ab = _combined(pair)
            if isinstance(ab, str):
                raise InputFormatError(pair.a, f"{ab} (--strict)")
    written: dict[str, int] = {}
    tasks = [(p, cfg.quality) for p in pairs]
    for pair, failed in parallel_map(_write, tasks, workers=cfg.workers):
        if failed is not None:
            rejected.append((str(pair.a), failed))
        else:
            written[pair.split] = written.get(pair.split, 0) + 1
        if progress is not None:
            progress(1)
    cfg.out.mkdir(parents=True, exist_ok=True)
    write_rejected_csv(cfg.out / REJECTED_CSV, rejected)
    return CombineResult(cfg.out, written, dict(count_reasons(rejected)))
