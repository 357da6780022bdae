"""``pgdata parsing``: import (or compute) human parsing into ``image-parse-v3/<id>.png``.

Sources, per person: a result file in ``import_dir`` (``<id>.png`` or ``<split>/<id>.png``: a
label PNG, a palette PNG or an RGB visualisation whose colours are exactly the VITON-HD or VOC
palette), or a user's parsing model (``backend``, see :mod:`pgdata.backends.plugin`). Ids are
validated against the scheme, converted to VITON-HD ids with the named tables, resized to the
photo when only the resolution differs (nearest, or upsample-and-smooth), and written as mode-P
PNGs with the VITON-HD palette.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from pgdata.backends.plugin import ParsingModel, load_parsing_model
from pgdata.errors import ConfigError
from pgdata.executor import Executor
from pgdata.io.files import read_bytes
from pgdata.io.images import read_rgb
from pgdata.io.viton import (
    decode_parse_png,
    find_import,
    find_input,
    output_path,
    person_ids,
    split_dirs,
    write_parse_png,
)
from pgdata.jobs.tryon.common import (
    Item,
    Processor,
    Rejected,
    StageResult,
    photo_size,
    run_stage,
)
from pgdata.labels import SCHEMES
from pgdata.stages.parsing import resize_parsing, to_viton, unknown_labels, upsample_smooth

__all__ = ["SCHEME_NAMES", "ParsingConfig", "Scheme", "run_parsing"]

Scheme = Literal["cihp", "lip", "atr", "pascal"]
SCHEME_NAMES: tuple[Scheme, ...] = ("cihp", "lip", "atr", "pascal")  # the keys of labels.SCHEMES
# a parsing result may differ from the photo in resolution, not in aspect ratio
ASPECT_TOLERANCE = 0.01


@dataclass(frozen=True)
class ParsingConfig:
    """Options of ``pgdata parsing``."""

    root: Path
    import_dir: Path | None = None
    scheme: Scheme = "cihp"
    smooth: bool = False  # upsample-and-smooth smaller maps (HR-VITON: 15x15, sigma 3)
    backend: str | None = None  # module[:factory] of a user parsing model
    weights: Path | None = None
    force: bool = False
    strict: bool = False

    def __post_init__(self) -> None:
        if self.scheme not in SCHEMES:
            raise ConfigError(f"scheme {self.scheme!r}: expected one of {sorted(SCHEMES)}")
        if self.import_dir is None and self.backend is None:
            raise ConfigError(
                "parsing needs a source: --import DIR (parser outputs) or --backend MODULE"
            )


def fit_to(labels: np.ndarray, size_hw: tuple[int, int], source: Path, smooth: bool) -> np.ndarray:
    """Resize a label map to the photo's size when only the resolution differs."""
    (lh, lw), (h, w) = labels.shape, size_hw
    if (lh, lw) == (h, w):
        return labels
    if abs(lh / lw - h / w) > ASPECT_TOLERANCE * (h / w):
        raise Rejected(source, f"size mismatch: parsing is {lw}x{lh}, image is {w}x{h} (W x H)")
    if smooth and lh < h:
        return upsample_smooth(labels, size_hw)
    return resize_parsing(labels, size_hw)


def _process(
    cfg: ParsingConfig, model: ParsingModel | None, split_of: dict[Path, str], item: Item
) -> None:
    """Write one person's ``image-parse-v3`` map (or raise Rejected)."""
    n_labels = len(SCHEMES[cfg.scheme][0])
    image = find_input(item.split_dir, "image", item.key)
    assert image is not None  # items come from the image folder
    size = photo_size(image)
    src = (
        find_import(cfg.import_dir, split_of[item.split_dir], [f"{item.key}.png"])
        if cfg.import_dir is not None
        else None
    )
    if src is not None:
        labels = decode_parse_png(read_bytes(src), src, n_labels)
    elif model is not None:
        src = image
        labels = np.asarray(model(read_rgb(image)), dtype=np.uint8)
        bad = unknown_labels(labels, n_labels)
        if labels.ndim != 2 or bad:
            raise Rejected(
                image, f"parsing model returned bad labels (ids {bad}, shape {labels.shape})"
            )
    else:
        raise Rejected(image, f"no parsing result: {item.key}.png not in {cfg.import_dir}")
    labels = fit_to(to_viton(labels, cfg.scheme), size, src, cfg.smooth)
    write_parse_png(output_path(item.split_dir, "parse", item.key), labels)


@contextmanager
def _processor(cfg: ParsingConfig) -> Iterator[Processor]:
    """The model (when there is a backend) is loaded once per processor."""
    model = load_parsing_model(cfg.backend, cfg.weights) if cfg.backend is not None else None
    split_of = {d: s for s, d in split_dirs(cfg.root)}
    yield functools.partial(_process, cfg, model, split_of)


def run_parsing(
    cfg: ParsingConfig,
    progress: Callable[[int], None] | None = None,
    executor: Executor | None = None,
) -> StageResult:
    """Fill ``image-parse-v3/`` of every split folder of ``cfg.root`` (here, or in chunks on
    ``executor``)."""
    return run_stage(
        "parsing",
        cfg.root,
        person_ids,
        ("parse",),
        functools.partial(_processor, cfg),
        force=cfg.force,
        strict=cfg.strict,
        progress=progress,
        executor=executor,
    )
