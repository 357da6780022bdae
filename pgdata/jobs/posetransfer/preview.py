"""``pgdata preview pairs``: an HTML contact sheet of random pairs with their skeletons."""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pgdata.errors import InputFormatError
from pgdata.io.atomic import atomic_write_text
from pgdata.io.images import encode_png, read_rgb
from pgdata.io.pose_csv import DATASETS, FRAME, SPLITS, output_names, read_annotations, read_pairs
from pgdata.stages.draw import overlay_skeleton
from pgdata.stages.keypoints import yx_to_xyc

__all__ = ["PreviewPairsConfig", "PreviewPairsResult", "run_preview_pairs"]


@dataclass(frozen=True)
class PreviewPairsConfig:
    """Options of ``pgdata preview pairs``."""

    pairs_dir: Path
    out: Path
    n: int = 24
    seed: int = 0


@dataclass
class PreviewPairsResult:
    """What the contact sheet shows."""

    out: Path
    pairs: int
    with_images: int  # thumbnails drawn over the image file
    without_images: int  # thumbnails drawn on a black canvas (image file absent)

    def summary(self) -> str:
        """One line of counts."""
        return (
            f"preview: wrote {self.out} ({self.pairs} pairs; {self.with_images} images, "
            f"{self.without_images} skeleton-only)"
        )


def _find_lists(root: Path) -> list[tuple[str, str, Path, Path | None]]:
    """(dataset, split, pairs CSV, annotation CSV or None) found in ``root``."""
    found: list[tuple[str, str, Path, Path | None]] = []
    for dataset in DATASETS:
        for split in SPLITS:
            ann, pairs = output_names(dataset, split)
            if (root / pairs).is_file():
                found.append(
                    (dataset, split, root / pairs, root / ann if (root / ann).is_file() else None)
                )
    return found


def _thumb(
    root: Path, split: str, name: str, kps: np.ndarray | None, frame: tuple[int, int]
) -> tuple[str, bool]:
    path = root / split / name
    has_image = path.is_file()
    rgb = read_rgb(path) if has_image else np.zeros(frame + (3,), dtype=np.uint8)
    if kps is not None:
        rgb = overlay_skeleton(rgb, kps)
    return base64.b64encode(encode_png(rgb)).decode("ascii"), has_image


def run_preview_pairs(cfg: PreviewPairsConfig) -> PreviewPairsResult:
    """Write the contact sheet to ``cfg.out`` (a self-contained HTML file)."""
    lists = _find_lists(cfg.pairs_dir)
    if not lists:
        raise InputFormatError(
            cfg.pairs_dir,
            "no pair CSV found (fasion-resize-pairs-*.csv or market-pairs-*.csv); run `pgdata build-pairs` first",
        )
    candidates: list[tuple[str, str, tuple[str, str], dict[str, np.ndarray]]] = []
    for dataset, split, pairs_path, ann_path in lists:
        kps: dict[str, np.ndarray] = {}
        if ann_path is not None:
            ann = read_annotations(ann_path)
            kps = {n: yx_to_xyc(yx) for n, yx in zip(ann.names, ann.yx, strict=True)}
        candidates.extend((dataset, split, p, kps) for p in read_pairs(pairs_path))
    rng = np.random.default_rng(cfg.seed)
    chosen = rng.permutation(len(candidates))[: cfg.n]
    rows = []
    with_img = without = 0
    for i in sorted(int(c) for c in chosen):
        dataset, split, (a, b), kps = candidates[i]
        cells = []
        for name in (a, b):
            data, has = _thumb(cfg.pairs_dir, split, name, kps.get(name), FRAME[dataset])
            with_img += has
            without += not has
            cells.append(
                f'<td><img src="data:image/png;base64,{data}"><br><code>{html.escape(name)}</code></td>'
            )
        rows.append(f"<tr><td>{split}</td>{''.join(cells)}</tr>")
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>pgdata pairs</title>"
        "<style>body{font-family:sans-serif}td{padding:4px;vertical-align:top;font-size:11px}"
        "img{image-rendering:pixelated}</style></head><body>"
        f"<h1>{len(rows)} random pairs from {html.escape(str(cfg.pairs_dir))}</h1>"
        "<p>source | target, skeletons from the annotation CSV (black canvas where the image is absent)</p>"
        "<table><tr><th>split</th><th>from</th><th>to</th></tr>"
        + "".join(rows)
        + "</table></body></html>\n"
    )
    atomic_write_text(cfg.out, page)
    return PreviewPairsResult(cfg.out, len(rows), with_img, without)
