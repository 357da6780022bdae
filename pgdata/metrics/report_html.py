"""``index.html`` of an evaluation report: one self-contained page (inline CSS, relative images).

Everything user-supplied is escaped. The page is plain HTML5 with no script, so it opens from a
file system and renders the same in a headless browser.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pgdata.metrics.presets import PRESETS

if TYPE_CHECKING:
    from pgdata.metrics.folders import FolderScores
    from pgdata.metrics.report import PublishedRow

__all__ = ["GridRow", "format_value", "render_index"]

_DIGITS = {"psnr": 3, "ssim": 4, "fid": 3, "lpips": 4, "pckh": 4, "speed": 1}
_FAMILY_LABEL = {"psnr": "PSNR", "ssim": "SSIM", "fid": "FID", "lpips": "LPIPS", "pckh": "PCKh"}
_MAX_LISTED = 50

_CSS = """
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: right; vertical-align: top; }
th { background: #f3f3f3; } td.name, th.name { text-align: left; }
tr.run td { font-weight: bold; background: #eef6ff; }
.badge { font-size: 0.75em; padding: 0.05em 0.4em; border-radius: 0.3em; background: #ddd; }
.published { background: #fff4d6; } .skip { color: #a33; } .note { color: #666; font-size: 0.85em; }
td.note { min-width: 28em; }
img { height: 192px; display: block; } td.img { text-align: center; }
"""


@dataclass(frozen=True)
class GridRow:
    """One pair of a grid: its name, its per-pair values, ``(column, image path or None)`` cells."""

    name: str
    values: Mapping[str, float]
    cells: Sequence[tuple[str, str | None]]


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def format_value(preset: str, value: float | None) -> str:
    """A number as the report shows it (``params`` in millions)."""
    if value is None:
        return "–"
    if not math.isfinite(value):
        return str(value)
    family = PRESETS[preset].family if preset in PRESETS else preset.split(":")[0]
    if family == "params":
        return f"{value / 1e6:.3f} M"
    return f"{value:.{_DIGITS.get(family, 4)}f}"


def _columns(scores: FolderScores, published: Sequence[PublishedRow]) -> list[tuple[str, str]]:
    """(key, heading): registry presets in order, then ``family:*`` (other protocols)."""
    keys = set(scores.values) | {r.preset for r in published}
    cols = [(k, PRESETS[k].label) for k in PRESETS if k in keys]
    for k in sorted(k for k in keys if k not in PRESETS):
        fam = k.split(":")[0]
        cols.append((k, f"{_FAMILY_LABEL.get(fam, fam)} (other protocol)"))
    return cols


def _metric_table(scores: FolderScores, published: Sequence[PublishedRow]) -> list[str]:
    cols = _columns(scores, published)
    head = "".join(
        f'<th title="{_e(PRESETS[k].protocol) if k in PRESETS else ""}">{_e(h)}</th>'
        for k, h in cols
    )
    out = [
        "<table>",
        f'<tr><th class="name">method</th><th class="name">data</th>{head}<th class="name">notes</th></tr>',
    ]
    cells = []
    for k, _ in cols:
        mv = scores.values.get(k)
        if mv is None:
            cells.append("<td></td>")
        elif mv.skipped:
            cells.append(f'<td class="skip" title="{_e(mv.skipped)}">skipped</td>')
        else:
            cells.append(f'<td title="n = {mv.n}">{_e(format_value(k, mv.value))}</td>')
    out.append(
        f'<tr class="run"><td class="name">this run</td><td class="name">{_e(len(scores.pairs))} pairs</td>'
        f'{"".join(cells)}<td class="name"></td></tr>'
    )
    methods: dict[tuple[str, str], list[PublishedRow]] = {}
    for r in published:
        methods.setdefault((r.method, r.dataset), []).append(r)
    for (method, dataset), rows in methods.items():
        by = {r.preset: r for r in rows}
        tds = "".join(
            f"<td>{_e(format_value(k, by[k].value))}</td>" if k in by else "<td></td>"
            for k, _ in cols
        )
        notes = "; ".join(dict.fromkeys(r.note for r in rows if r.note))
        sources = "; ".join(dict.fromkeys(r.source for r in rows))
        notes = f"{notes} [{sources}]" if notes else f"[{sources}]"
        out.append(
            f'<tr class="published"><td class="name">{_e(method)} <span class="badge">published</span></td>'
            f'<td class="name">{_e(dataset)}</td>{tds}<td class="name note">{_e(notes)}</td></tr>'
        )
    out.append("</table>")
    return out


def _listing(title: str, items: Sequence[str]) -> list[str]:
    if not items:
        return []
    shown = "".join(f"<li>{_e(i)}</li>" for i in items[:_MAX_LISTED])
    more = f"<li>… {len(items) - _MAX_LISTED} more</li>" if len(items) > _MAX_LISTED else ""
    return [
        f"<details><summary>{_e(title)} ({len(items)})</summary><ul>{shown}{more}</ul></details>"
    ]


def _grid(group: str, rows: Sequence[GridRow], ranking: str) -> list[str]:
    if not rows:
        return []
    cols = [c for c, _ in rows[0].cells]
    head = "".join(f"<th>{_e(c)}</th>" for c in cols)
    out = [
        f"<h3>{_e(group)} by {_e(ranking)}</h3>",
        "<table>",
        f'<tr><th class="name">pair</th>{head}</tr>',
    ]
    for r in rows:
        vals = ", ".join(f"{k} {format_value(k, v)}" for k, v in r.values.items())
        tds = "".join(
            f'<td class="img"><img src="{_e(src)}" alt="{_e(col)} of {_e(r.name)}"></td>'
            if src
            else '<td class="img">–</td>'
            for col, src in r.cells
        )
        out.append(
            f'<tr><td class="name">{_e(r.name)}<br><span class="note">{_e(vals)}</span></td>{tds}</tr>'
        )
    out.append("</table>")
    return out


def render_index(
    *,
    title: str,
    scores: FolderScores,
    published: Sequence[PublishedRow],
    grids: Mapping[str, Sequence[GridRow]],
    ranking: str | None,
    context: Mapping[str, str],
) -> str:
    """The whole page as a string."""
    body = [f"<h1>{_e(title)}</h1>", f"<p>{_e(scores.summary())}</p>"]
    if context:
        body.append(
            "<ul>" + "".join(f"<li>{_e(k)}: {_e(v)}</li>" for k, v in context.items()) + "</ul>"
        )
    body.append("<h2>Metrics</h2>")
    body.append(
        '<p class="note">Rows marked <span class="badge">published</span> come from the papers and '
        "studies named in their notes; compare a column only when the protocol (hover a heading) "
        "matches.</p>"
    )
    body += _metric_table(scores, published)
    skipped = [(k, v.skipped) for k, v in scores.values.items() if v.skipped]
    if skipped:
        body.append("<h2>Skipped</h2><ul>")
        body += [
            f'<li><b>{_e(k)}</b>: <span class="skip">{_e(why)}</span></li>' for k, why in skipped
        ]
        body.append("</ul>")
    body += _listing("missing predictions", scores.missing)
    body += _listing("extra predictions", scores.extra)
    body += _listing("unreadable images", [f"{p}: {why}" for p, why in scores.unreadable])
    body.append("<h2>Samples</h2>")
    if ranking is None:
        body.append("<p>No per-pair metric was computed, so there is nothing to rank.</p>")
    else:
        if not ranking.startswith("lpips"):
            body.append(f'<p class="note">LPIPS was not computed; ranked by {_e(ranking)}.</p>')
        for group, rows in grids.items():
            body += _grid(group, rows, ranking)
    body.append(
        '<p class="note">Per-pair values: <a href="pairs.csv">pairs.csv</a>; all values: '
        '<a href="metrics.json">metrics.json</a>, <a href="metrics.csv">metrics.csv</a>.</p>'
    )
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{_e(title)}</title>\n'
        f"<style>{_CSS}</style>\n</head>\n<body>\n" + "\n".join(body) + "\n</body>\n</html>\n"
    )
