"""``pgdata sample --kind faces``: procedural face photos with five landmarks each.

Layout written under ``out`` (ready for ``pgdata build --recipe pipelines/faces.toml``):
``train/face_NNNNN.png`` and ``test/face_NNNNN.png`` photos of varied sizes (each side between
``size`` and 1.3 × ``size``, so the import's centre crop and resize have work to do);
``landmarks.csv`` (CelebA's five points, see :mod:`pgdata.io.landmarks`); ``sample.json`` last.
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
from pgdata.io.landmarks import LANDMARKS_CSV, write_landmarks
from pgdata.stages.faces import FACE_LANDMARKS, render_face

__all__ = ["FacesSampleConfig", "FacesSampleResult", "run_faces_sample"]

MIN_SIZE = 16
MAX_STRETCH = 1.3  # photo sides are drawn in [size, 1.3 size]
HELD_OUT = 4  # the test split gets n // 4 faces (at least 1)


@dataclass(frozen=True)
class FacesSampleConfig:
    """Options of ``pgdata sample --kind faces``: ``n`` training faces of at least ``size``²."""

    out: Path
    n: int = 24
    size: int = 256
    seed: int = 0

    def __post_init__(self) -> None:
        if self.n < 1:
            raise ConfigError(f"n must be >= 1, found {self.n}")
        if self.size < MIN_SIZE:
            raise ConfigError(f"size must be >= {MIN_SIZE}, found {self.size}")

    def counts(self) -> dict[str, int]:
        """Faces per split."""
        return {"train": self.n, "test": max(1, self.n // HELD_OUT)}


@dataclass
class FacesSampleResult:
    """What :func:`run_faces_sample` wrote."""

    out: Path
    counts: dict[str, int]
    size: int

    def summary(self) -> str:
        """One line of counts."""
        splits = ", ".join(f"{s} {n}" for s, n in self.counts.items())
        return (
            f"sample: wrote {sum(self.counts.values())} faces (sides {self.size}-"
            f"{round(self.size * MAX_STRETCH)} px, {len(FACE_LANDMARKS)} landmarks each) to "
            f"{self.out} ({splits})"
        )


def run_faces_sample(
    cfg: FacesSampleConfig, progress: Callable[[int], None] | None = None
) -> FacesSampleResult:
    """Write the sample (see the module doc); ``progress(1)`` after each face."""
    names: list[str] = []
    marks: list[np.ndarray] = []
    index = 0
    high = round(cfg.size * MAX_STRETCH)
    for split, count in cfg.counts().items():
        for _ in range(count):
            rng = np.random.default_rng([cfg.seed, index])
            size_hw = (int(rng.integers(cfg.size, high + 1)), int(rng.integers(cfg.size, high + 1)))
            photo, landmarks = render_face(rng, size_hw)
            name = f"{split}/face_{index:05d}.png"
            atomic_write_bytes(cfg.out / name, encode_png(photo))
            names.append(name)
            marks.append(landmarks)
            index += 1
            if progress is not None:
                progress(1)
    write_landmarks(cfg.out / LANDMARKS_CSV, FACE_LANDMARKS, names, np.stack(marks))
    meta = {
        "generator": f"pgdata {__version__}",
        "kind": "faces",
        "config": {"n": cfg.n, "size": cfg.size, "seed": cfg.seed},
        "counts": cfg.counts(),
        "layout": "<split>/face_NNNNN.png; landmarks.csv (name relative to this folder)",
        "landmarks": list(FACE_LANDMARKS),
    }
    atomic_write_text(cfg.out / "sample.json", json.dumps(meta, indent=2, sort_keys=True) + "\n")
    return FacesSampleResult(cfg.out, cfg.counts(), cfg.size)
