"""The evaluation report folder: ``metrics.json``, ``metrics.csv``, ``pairs.csv``, ``index.html``.

``metrics.json`` is an object keyed by preset name, each ``{"value": …, "n": …, "protocol": …}``
plus what the preset records (weights sha256, real-set split and size, padding, dropped images);
a skipped preset has ``"value": null`` and ``"skipped": reason``; a non-finite value (PSNR of
identical images) is written as ``null`` with ``"non_finite": "inf"``. ``index.html`` puts the
metric table beside the published reference rows of a bundled CSV (marked *published*), lists the
skipped presets with their reasons, and shows the best, median and worst pairs by LPIPS (by SSIM or
PSNR when LPIPS was not computed), their images copied into ``images/``. Files are written
atomically; ``index.html`` last.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import cv2

from pgdata.errors import InputFormatError
from pgdata.io.atomic import atomic_write_bytes, atomic_write_text
from pgdata.io.images import encode_png, read_rgb
from pgdata.metrics.folders import FolderScores
from pgdata.metrics.presets import PRESETS
from pgdata.metrics.report_html import GridRow, render_index

__all__ = [
    "PublishedRow",
    "ReportFiles",
    "grid_names",
    "load_published",
    "metrics_json",
    "write_report",
]

RANKING = (
    ("lpips_alex", False),
    ("lpips_hrviton", False),
    ("ssim_patn", True),
    ("ssim_gfla51", True),
    ("ssim_hrviton", True),
    ("psnr", True),
)
"""Grid ranking metric, first available: (preset, higher is better)."""
THUMB_HEIGHT = 256
GRID_ROWS = 4
_PUBLISHED_COLUMNS = ["method", "dataset", "preset", "value", "source", "note"]


@dataclass(frozen=True)
class PublishedRow:
    """One published number: ``preset`` is a pgdata preset, or ``family:*`` for another protocol."""

    method: str
    dataset: str
    preset: str
    value: float
    source: str
    note: str


@dataclass(frozen=True)
class ReportFiles:
    """Paths written by :func:`write_report`."""

    metrics_json: Path
    metrics_csv: Path
    pairs_csv: Path
    index_html: Path
    images: list[Path]


def load_published(path: str | Path | None = None) -> list[PublishedRow]:
    """Rows of a published-results CSV (default: the bundled ``pgdata/metrics/data/published.csv``)."""
    if path is None:
        text = resources.files("pgdata.metrics").joinpath("data/published.csv").read_text("utf-8")
        where: str | Path = "pgdata/metrics/data/published.csv"
    else:
        where = Path(path)
        text = where.read_text(encoding="utf-8")
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames != _PUBLISHED_COLUMNS:
        raise InputFormatError(where, f"expected the columns {_PUBLISHED_COLUMNS}", line=1)
    rows = []
    for lineno, r in enumerate(reader, start=2):
        family = r["preset"].split(":")[0]
        if r["preset"] not in PRESETS and not (r["preset"].endswith(":*") and family):
            raise InputFormatError(where, f"unknown preset {r['preset']!r}", line=lineno)
        try:
            value = float(r["value"])
        except ValueError:
            raise InputFormatError(
                where, f"value {r['value']!r} is not a number", line=lineno
            ) from None
        rows.append(
            PublishedRow(r["method"], r["dataset"], r["preset"], value, r["source"], r["note"])
        )
    return rows


def _json_value(v: object) -> object:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, Path):
        return str(v)
    if isinstance(v, Mapping):
        return {str(k): _json_value(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_json_value(x) for x in v]
    return v


def metrics_json(scores: FolderScores) -> dict[str, dict[str, object]]:
    """The ``metrics.json`` object (see the module docstring)."""
    out: dict[str, dict[str, object]] = {}
    for name, mv in scores.values.items():
        entry: dict[str, object] = {"value": _json_value(mv.value), "n": mv.n}
        if mv.value is not None and not math.isfinite(mv.value):
            entry["non_finite"] = str(mv.value)
        entry["protocol"] = PRESETS[name].protocol if name in PRESETS else ""
        entry.update({k: _json_value(v) for k, v in mv.extra.items()})
        if mv.skipped:
            entry["skipped"] = mv.skipped
        out[name] = entry
    return out


def _csv_text(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


def _ranked(scores: FolderScores) -> tuple[str, list[str]] | None:
    """(ranking preset, pair names best first) from the first per-pair preset computed."""
    for preset, higher in RANKING:
        vals = {n: v[preset] for n, v in scores.per_image.items() if preset in v}
        finite = {n: v for n, v in vals.items() if math.isfinite(v)}
        if finite:
            order = sorted(finite, key=lambda n: (-finite[n] if higher else finite[n], n))
            return preset, order
    return None


def _groups(order: list[str], k: int) -> dict[str, list[str]]:
    mid = max(0, len(order) // 2 - k // 2)
    return {"best": order[:k], "median": order[mid : mid + k], "worst": order[::-1][:k]}


def grid_names(scores: FolderScores, grid_rows: int = GRID_ROWS) -> list[str]:
    """The pair names :func:`write_report`'s grids will show (best, median, worst), each once.

    A caller that draws extra grid columns (source, target pose) needs them for these only.
    """
    ranked = _ranked(scores)
    if ranked is None:
        return []
    names = [n for group in _groups(ranked[1], grid_rows).values() for n in group]
    return list(dict.fromkeys(names))


def _thumbnail(src: Path, dst: Path) -> None:
    img = read_rgb(src)
    if img.shape[0] > THUMB_HEIGHT:
        w = max(1, round(img.shape[1] * THUMB_HEIGHT / img.shape[0]))
        img = cv2.resize(img, (w, THUMB_HEIGHT), interpolation=cv2.INTER_AREA)
    atomic_write_bytes(dst, encode_png(img))


def write_report(
    out: str | Path,
    scores: FolderScores,
    *,
    title: str = "pgdata eval",
    published: str | Path | None = None,
    extra_columns: Mapping[str, Mapping[str, Path]] | None = None,
    grid_rows: int = GRID_ROWS,
    context: Mapping[str, str] | None = None,
) -> ReportFiles:
    """Write the report folder ``out`` for ``scores``.

    Args:
        out: the folder (created).
        scores: a :class:`~pgdata.metrics.folders.FolderScores`.
        title: page title.
        published: published-results CSV (default: the bundled one).
        extra_columns: grid columns shown before *target* and *output*, e.g.
            ``{"source": {pair name: path}, "target pose": {pair name: path}}``.
        grid_rows: pairs per grid (best, median, worst).
        context: label → text lines for the page header (data, checkpoint, split…).
    """
    out = Path(out)
    img_dir = out / "images"
    img_dir.mkdir(parents=True, exist_ok=True)
    files_json = out / "metrics.json"
    atomic_write_text(
        files_json, json.dumps(metrics_json(scores), indent=2, ensure_ascii=False) + "\n"
    )
    rows = []
    for name, mv in scores.values.items():
        sha = mv.extra.get("weights_sha256", "")
        rows.append(
            [
                name,
                "" if mv.value is None else repr(mv.value),
                mv.n,
                mv.extra.get("split") or "",
                json.dumps(sha) if isinstance(sha, Mapping) else sha,
                mv.skipped or "",
                PRESETS[name].protocol if name in PRESETS else "",
            ]
        )
    files_csv = out / "metrics.csv"
    header = ["preset", "value", "n", "split", "weights_sha256", "skipped", "protocol"]
    atomic_write_text(files_csv, _csv_text(header, rows))
    per_presets = sorted({k for v in scores.per_image.values() for k in v})
    pair_rows = [
        [p.name, str(p.pred), str(p.gt)]
        + [repr(scores.per_image[p.name].get(k, "")) for k in per_presets]
        for p in scores.pairs
    ]
    files_pairs = out / "pairs.csv"
    atomic_write_text(files_pairs, _csv_text(["name", "pred", "gt", *per_presets], pair_rows))

    ranked = _ranked(scores)
    grids: dict[str, list[GridRow]] = {}
    images: list[Path] = []
    by_name = {p.name: p for p in scores.pairs}
    columns = dict(extra_columns or {})
    if ranked is not None:
        preset, order = ranked
        for group, names in _groups(order, grid_rows).items():
            grid = []
            for rank, name in enumerate(names):
                pair = by_name[name]
                cells: list[tuple[str, str | None]] = []
                sources = [(c, m.get(name)) for c, m in columns.items()]
                sources += [("target", pair.gt), ("output", pair.pred)]
                for col, src in sources:
                    if src is None:
                        cells.append((col, None))
                        continue
                    rel = f"images/{group}-{rank}-{col.replace(' ', '_')}.png"
                    _thumbnail(Path(src), out / rel)
                    images.append(out / rel)
                    cells.append((col, rel))
                grid.append(GridRow(name, scores.per_image[name], cells))
            grids[group] = grid
    html = render_index(
        title=title,
        scores=scores,
        published=load_published(published),
        grids=grids,
        ranking=ranked[0] if ranked else None,
        context=dict(context or {}),
    )
    files_html = out / "index.html"
    atomic_write_text(files_html, html)
    return ReportFiles(files_json, files_csv, files_pairs, files_html, images)
