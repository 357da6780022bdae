"""``pgdata sample``: a deterministic synthetic DeepFashion In-shop dataset.

Layout written under ``out`` (mirrors the real In-shop low-res release, whose images are 256×256;
``build-pairs --images 256x176`` then applies the reference 40-column crop):

- ``img/<MEN|WOMEN>/<Category>/id_<8 digits>/<NN>_<k>_<view>.jpg``: 256×256 RGB JPEG (q95);
- ``parsing/<same path>.png``: CIHP label ids (0..19) as a grey PNG, same size;
- ``list_eval_partition.txt``: the In-shop split (train / query / gallery by identity);
- ``keypoints.csv``: COCO-18 keypoints in the PATN annotation format (``name:[ys]:[xs]``,
  -1 = missing), PATN-style flat names, in the 256×256 frame of the images;
- ``sample.json``: what was generated (written last).

Same ``(ids, views, seed, size)`` → byte-identical files.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from pgdata import __version__
from pgdata.errors import ConfigError
from pgdata.io.atomic import atomic_write_bytes, atomic_write_text
from pgdata.io.images import encode_jpeg, encode_png
from pgdata.io.inshop import INSHOP_CATEGORIES, InShopImage, flat_name, write_partition
from pgdata.io.pose_csv import write_annotations
from pgdata.labels import TORSO_JOINTS
from pgdata.parallel import parallel_map
from pgdata.stages.keypoints import xyc_to_yx
from pgdata.stages.synth import VIEWS, random_appearance, random_body, render_person, synth_pose

__all__ = ["SampleConfig", "SampleResult", "run_sample"]

# views a person is photographed in, in the order they are handed out; "flat" (6) last
_VIEW_ORDER = (1, 2, 3, 4, 7, 6)


@dataclass(frozen=True)
class SampleConfig:
    """Parameters of ``pgdata sample``."""

    out: Path
    ids: int = 24
    views: int = 4
    seed: int = 0
    size_hw: tuple[int, int] = (256, 256)
    test_every: int = 4  # every n-th identity goes to the test split (query/gallery)
    workers: int = 1

    def __post_init__(self) -> None:
        if self.ids < 1:
            raise ConfigError("ids must be >= 1")
        if not 1 <= self.views <= len(_VIEW_ORDER):
            raise ConfigError(f"views must be in 1..{len(_VIEW_ORDER)} (In-shop view kinds)")


@dataclass
class SampleResult:
    """What ``run_sample`` wrote."""

    out: Path
    identities: int
    images: int
    train: int
    test: int
    missing_torso: int  # images the pair rule will drop (a shoulder or hip not visible)

    def summary(self) -> str:
        """One line of counts."""
        return (
            f"sample: wrote {self.images} images of {self.identities} identities to {self.out} "
            f"(train {self.train}, test {self.test}; {self.missing_torso} without full torso)"
        )


@dataclass(frozen=True)
class _Identity:
    index: int
    gender: str
    category: str
    item_id: str
    outfit: str
    view_nos: tuple[int, ...]
    test: bool


@dataclass
class _Rendered:
    image: InShopImage
    jpeg: bytes
    png: bytes
    kps: np.ndarray


def _identities(cfg: SampleConfig) -> list[_Identity]:
    rng = np.random.default_rng(cfg.seed)
    numbers = np.sort(rng.choice(np.arange(1, 99_999), size=cfg.ids, replace=False))
    out = []
    for i, number in enumerate(numbers):
        gender = "WOMEN" if rng.random() < 0.6 else "MEN"
        cats = INSHOP_CATEGORIES[gender]
        category = cats[int(rng.integers(len(cats)))]
        outfit = f"{int(rng.integers(1, 5)):02d}"
        # each identity starts its views at a different kind so the sample mixes them
        start = int(rng.integers(0, 5)) if cfg.views < 5 else 0
        kinds = [_VIEW_ORDER[(start + k) % 5] for k in range(min(cfg.views, 5))]
        if cfg.views == 6:
            kinds.append(6)
        view_nos = tuple(sorted(kinds))
        out.append(
            _Identity(
                i,
                gender,
                category,
                f"{int(number):08d}",
                outfit,
                view_nos,
                i % cfg.test_every == cfg.test_every - 1,
            )
        )
    return out


def _render_identity(args: tuple[_Identity, int, tuple[int, int]]) -> list[_Rendered]:
    ident, seed, size_hw = args
    rng = np.random.default_rng([seed, ident.index])
    body = random_body(rng)
    look = random_appearance(rng, ident.gender, ident.category)
    out = []
    for view_no in ident.view_nos:
        view = VIEWS[view_no]
        vrng = np.random.default_rng([seed, ident.index, view_no])
        kps = synth_pose(vrng, body, view, size_hw)
        rgb, labels = render_person(kps, body, look, view, size_hw, vrng)
        rel = f"img/{ident.gender}/{ident.category}/id_{ident.item_id}/{ident.outfit}_{view_no}_{view}.jpg"
        img = InShopImage(
            rel, ident.gender, ident.category, ident.item_id, ident.outfit, view_no, view
        )
        out.append(_Rendered(img, encode_jpeg(rgb, 95), encode_png(labels), kps))
    return out


def _rendered(cfg: SampleConfig, idents: list[_Identity]) -> Iterator[list[_Rendered]]:
    tasks = [(ident, cfg.seed, cfg.size_hw) for ident in idents]
    yield from parallel_map(_render_identity, tasks, workers=cfg.workers, chunksize=8)


def run_sample(cfg: SampleConfig, progress: Callable[[int], None] | None = None) -> SampleResult:
    """Write the sample dataset; ``progress(n)`` is called after each identity with its image count."""
    out = cfg.out
    idents = _identities(cfg)
    partition: list[tuple[str, str, str]] = []
    names: list[str] = []
    kps_rows: list[np.ndarray] = []
    n_train = n_test = 0
    for ident, rendered in zip(idents, _rendered(cfg, idents), strict=True):
        for k, r in enumerate(rendered):
            atomic_write_bytes(out / r.image.rel_path, r.jpeg)
            png_rel = "parsing/" + r.image.rel_path.split("/", 1)[1].rsplit(".", 1)[0] + ".png"
            atomic_write_bytes(out / png_rel, r.png)
            status = "train" if not ident.test else ("query" if k == 0 else "gallery")
            partition.append((r.image.rel_path, r.image.identity, status))
            names.append(flat_name(r.image, "patn"))
            kps_rows.append(r.kps)
            n_train += not ident.test
            n_test += ident.test
        if progress is not None:
            progress(len(rendered))
    kps = np.stack(kps_rows)
    write_annotations(out / "keypoints.csv", names, xyc_to_yx(kps))
    write_partition(out / "list_eval_partition.txt", partition)
    torso_missing = int((kps[:, list(TORSO_JOINTS), 2] <= 0).any(axis=1).sum())
    result = SampleResult(out, len(idents), len(names), n_train, n_test, torso_missing)
    meta = {
        "generator": f"pgdata {__version__}",
        "config": {
            k: (str(v) if isinstance(v, Path) else v)
            for k, v in asdict(cfg).items()
            if k not in ("out", "workers")
        },
        "identities": result.identities,
        "images": result.images,
        "train": n_train,
        "test": n_test,
        "image_size_hw": list(cfg.size_hw),
        "keypoints": "keypoints.csv (PATN annotation format, COCO-18, 256x256 frame)",
    }
    atomic_write_text(out / "sample.json", json.dumps(meta, indent=2, sort_keys=True) + "\n")
    return result
