"""``pgdata sample --kind aligned``: a tiny facades-like set of A|B images (label map | rendering).

Layout written under ``out`` (pix2pix's aligned layout, ready for ``pgdata build --recipe
pipelines/aligned.toml``): ``train/``, ``val/`` and ``test/`` folders of ``facade_NNNNN.png``
images, each ``H × 2W``: the colour label map on the left (A), its photo-like rendering on the right
(B), so ``direction = "AtoB"`` learns labels → photo; then ``sample.json`` (written last).
Same ``(n, size, seed)`` → byte-identical files.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pgdata import __version__
from pgdata.errors import ConfigError
from pgdata.io.atomic import atomic_write_bytes, atomic_write_text
from pgdata.io.images import encode_png
from pgdata.stages.aligned import combine_ab
from pgdata.stages.synth_facades import FACADE_CLASSES, facade_labels, label_colours, render_facade

__all__ = ["AlignedSampleConfig", "AlignedSampleResult", "run_aligned_sample"]

MIN_SIZE = 16
HELD_OUT = 4  # val and test get n // 4 images each (at least 1), like facades' 400 / 100 / 106


@dataclass(frozen=True)
class AlignedSampleConfig:
    """Options of ``pgdata sample --kind aligned``: ``n`` training images of ``size_hw`` halves."""

    out: Path
    n: int = 24
    size_hw: tuple[int, int] = (256, 256)
    seed: int = 0

    def __post_init__(self) -> None:
        if self.n < 1:
            raise ConfigError(f"n must be >= 1, found {self.n}")
        if min(self.size_hw) < MIN_SIZE:
            raise ConfigError(f"size must be at least {MIN_SIZE}x{MIN_SIZE}, found {self.size_hw}")

    def counts(self) -> dict[str, int]:
        """Images per split."""
        held = max(1, self.n // HELD_OUT)
        return {"train": self.n, "val": held, "test": held}


@dataclass
class AlignedSampleResult:
    """What :func:`run_aligned_sample` wrote."""

    out: Path
    counts: dict[str, int]
    size_hw: tuple[int, int]

    def summary(self) -> str:
        """One line of counts."""
        splits = ", ".join(f"{s} {n}" for s, n in self.counts.items())
        h, w = self.size_hw
        return (
            f"sample: wrote {sum(self.counts.values())} A|B images ({2 * w}x{h}: label map | "
            f"rendering) to {self.out} ({splits})"
        )


def run_aligned_sample(
    cfg: AlignedSampleConfig, progress: Callable[[int], None] | None = None
) -> AlignedSampleResult:
    """Write the sample (see the module doc); ``progress(1)`` after each image."""
    index = 0
    for split, count in cfg.counts().items():
        for _ in range(count):
            rng = np.random.default_rng([cfg.seed, index])
            labels = facade_labels(rng, cfg.size_hw)
            ab = combine_ab(label_colours(labels), render_facade(rng, labels))
            atomic_write_bytes(cfg.out / split / f"facade_{index:05d}.png", encode_png(ab))
            index += 1
            if progress is not None:
                progress(1)
    meta = {
        "generator": f"pgdata {__version__}",
        "kind": "aligned",
        "config": {"n": cfg.n, "size_hw": list(cfg.size_hw), "seed": cfg.seed},
        "counts": cfg.counts(),
        "layout": "<split>/facade_NNNNN.png: A (label map) left | B (rendering) right",
        "classes": list(FACADE_CLASSES),
    }
    atomic_write_text(cfg.out / "sample.json", json.dumps(meta, indent=2, sort_keys=True) + "\n")
    return AlignedSampleResult(cfg.out, cfg.counts(), cfg.size_hw)
