"""VITON-HD pair lists (``train_pairs.txt`` / ``test_pairs.txt``): ``<person> <cloth>`` per line.

Paired: each person with the garment of the same id (``00006_00.jpg 00006_00.jpg``), persons
without one are listed as rejected. Unpaired: garments in a seeded random permutation (numpy
``default_rng(seed)``), cycled when there are fewer garments than persons, and no person gets
its own garment when another exists. Used by ``pgdata build-pairs --dataset viton-hd`` and by
the try-on pipeline's last stage.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pgdata.io.atomic import atomic_write_text
from pgdata.io.viton import cloth_ids, find_input, output_path, person_ids, split_dirs

__all__ = ["VitonPairsConfig", "VitonPairsResult", "make_viton_pairs", "run_viton_pairs"]


@dataclass(frozen=True)
class VitonPairsConfig:
    """Options of ``pgdata build-pairs --dataset viton-hd``."""

    root: Path
    out: Path | None = None  # folder of the pair lists; default: root
    unpaired: bool = False
    seed: int = 0


@dataclass
class VitonPairsResult:
    """What was written."""

    files: list[Path] = field(default_factory=list)
    pairs: dict[str, int] = field(default_factory=dict)  # split -> lines
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (item, reason)

    def summary(self) -> str:
        """One line of counts."""
        parts = [f"{split} {n} pairs" for split, n in self.pairs.items()]
        return f"build-pairs: viton-hd: {', '.join(parts)}; rejected {len(self.rejected)}"


def make_viton_pairs(
    persons: list[str], cloths: list[str], *, unpaired: bool, seed: int = 0
) -> tuple[list[tuple[str, str]], list[str]]:
    """``(pairs, persons without a garment)`` of person and garment ids (see the module doc)."""
    if not unpaired:
        have = set(cloths)
        return [(p, p) for p in persons if p in have], [p for p in persons if p not in have]
    if not cloths:
        return [], list(persons)
    rng = np.random.default_rng(seed)
    perm = [cloths[int(i)] for i in rng.permutation(len(cloths))]
    chosen = [perm[i % len(perm)] for i in range(len(persons))]
    if len(set(cloths)) > 1:
        for i, p in enumerate(persons):
            if chosen[i] == p:  # swap with the next person whose garment differs
                for k in range(1, len(persons) + 1):
                    j = (i + k) % len(persons)
                    if chosen[j] != p and chosen[i] != persons[j]:
                        chosen[i], chosen[j] = chosen[j], chosen[i]
                        break
                else:
                    chosen[i] = next(c for c in perm if c != p)
    return list(zip(persons, chosen, strict=True)), []


def run_viton_pairs(cfg: VitonPairsConfig) -> VitonPairsResult:
    """Write ``<split>_pairs.txt`` for every split folder of ``cfg.root`` into ``cfg.out``."""
    out = cfg.out or cfg.root
    result = VitonPairsResult()
    for split, d in split_dirs(cfg.root):
        persons = person_ids(d)
        pairs, lonely = make_viton_pairs(
            persons, cloth_ids(d), unpaired=cfg.unpaired, seed=cfg.seed
        )
        lines = []
        for p, c in pairs:
            img = find_input(d, "image", p)
            cloth = output_path(d, "cloth", c)
            if not cloth.is_file():
                cloth = find_input(d, "cloth", c) or cloth
            lines.append(f"{img.name if img else p + '.jpg'} {cloth.name}\n")
        result.rejected += [(f"{split}/{p}", "no garment with the same id") for p in lonely]
        path = out / f"{split}_pairs.txt"
        atomic_write_text(path, "".join(lines))
        result.files.append(path)
        result.pairs[split] = len(lines)
    return result
