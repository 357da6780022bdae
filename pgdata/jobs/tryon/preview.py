"""``pgdata preview tryon``: an HTML page with one row per try-on sample, to check a dataset by eye.

Columns: image | parsing | skeleton | densepose | agnostic | parse-agnostic | cloth | mask; PNG
thumbnails embedded as data URIs (self-contained file). Parse maps are shown in the VITON-HD
palette colours; the cloth of a person is the one its ``<split>_pairs.txt`` line names (else the
garment with the same id). Missing files show as an empty cell marked "missing".
"""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from pgdata.errors import InputFormatError
from pgdata.io.atomic import atomic_write_text
from pgdata.io.images import encode_png, read_rgb
from pgdata.io.viton import find_input, person_ids, read_garment, read_parse_png, split_dirs
from pgdata.labels import CIHP_PALETTE

__all__ = ["COLUMNS", "PreviewTryonConfig", "PreviewTryonResult", "run_preview_tryon"]

COLUMNS = (
    ("image", "image"),
    ("parsing", "parse"),
    ("skeleton", "openpose_img"),
    ("densepose", "densepose"),
    ("agnostic", "agnostic"),
    ("parse-agnostic", "parse_agnostic"),
    ("cloth", "cloth"),
    ("mask", "cloth_mask"),
)
_PALETTE = np.frombuffer(CIHP_PALETTE, dtype=np.uint8).reshape(256, 3)


@dataclass(frozen=True)
class PreviewTryonConfig:
    """Options of ``pgdata preview tryon``."""

    root: Path
    out: Path
    n: int = 24  # rows per split, in id order
    thumb_height: int = 256


@dataclass
class PreviewTryonResult:
    """What the page shows."""

    out: Path
    rows: int
    missing: int  # empty cells

    def summary(self) -> str:
        """One line of counts."""
        return f"preview: wrote {self.out} ({self.rows} samples; {self.missing} missing cells)"


def _pairs(root: Path, split: str, split_dir: Path) -> dict[str, str]:
    for d in (root, split_dir, split_dir.parent):
        f = d / f"{split}_pairs.txt"
        if f.is_file():
            out = {}
            for line in f.read_text(encoding="utf-8").splitlines():
                parts = line.split()
                if len(parts) == 2:
                    out[Path(parts[0]).stem] = Path(parts[1]).stem
            return out
    return {}


def _thumb(path: Path, kind: str, height: int) -> str:
    if kind in ("parse", "parse_agnostic"):
        rgb = _PALETTE[read_parse_png(path, 256)]
    elif kind in ("cloth", "cloth_mask"):
        g = read_garment(path)
        rgb = (
            g[..., :3]
            if g.shape[2] == 3
            else g[..., :3] * (g[..., 3:] / 255) + 255 * (1 - g[..., 3:] / 255)
        )
        rgb = rgb.astype(np.uint8)
    else:
        rgb = read_rgb(path)
    h, w = rgb.shape[:2]
    width = max(1, round(w * height / h))
    small = cv2.resize(np.ascontiguousarray(rgb), (width, height), interpolation=cv2.INTER_AREA)
    return base64.b64encode(encode_png(small)).decode("ascii")


def run_preview_tryon(cfg: PreviewTryonConfig) -> PreviewTryonResult:
    """Write the page to ``cfg.out``."""
    splits = split_dirs(cfg.root)
    rows: list[str] = []
    missing = 0
    for split, d in splits:
        pairs = _pairs(cfg.root, split, d)
        for key in person_ids(d)[: cfg.n]:
            cells = [f"<td><code>{html.escape(split)}/{html.escape(key)}</code></td>"]
            for _, kind in COLUMNS:
                item = pairs.get(key, key) if kind in ("cloth", "cloth_mask") else key
                path = find_input(d, kind, item)
                if path is None:
                    missing += 1
                    cells.append('<td class="missing">missing</td>')
                    continue
                try:
                    data = _thumb(path, kind, cfg.thumb_height)
                except InputFormatError as e:
                    missing += 1
                    cells.append(f'<td class="missing">{html.escape(str(e))}</td>')
                    continue
                cells.append(f'<td><img src="data:image/png;base64,{data}"></td>')
            rows.append("<tr>" + "".join(cells) + "</tr>")
    if not rows:
        raise InputFormatError(cfg.root, "no person images in image/ to preview")
    header = "".join(f"<th>{name}</th>" for name, _ in COLUMNS)
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>pgdata try-on preview</title>"
        "<style>body{font-family:sans-serif}td{padding:2px;vertical-align:top;font-size:11px}"
        "td.missing{background:#eee;color:#900;min-width:80px}</style></head><body>"
        f"<h1>{len(rows)} try-on samples from {html.escape(str(cfg.root))}</h1>"
        f"<table><tr><th>sample</th>{header}</tr>" + "".join(rows) + "</table></body></html>\n"
    )
    atomic_write_text(cfg.out, page)
    return PreviewTryonResult(cfg.out, len(rows), missing)
