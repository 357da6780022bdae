"""The report folder: metrics.json/csv, published rows, skipped reasons, a valid page whose images exist."""

from __future__ import annotations

import csv
import json
from html.parser import HTMLParser
from pathlib import Path

import pytest

from pgdata.errors import InputFormatError
from pgdata.metrics.evaluators import MetricValue
from pgdata.metrics.folders import FolderScoreConfig, FolderScores, score_folders
from pgdata.metrics.report import load_published, metrics_json, write_report
from tests.metrics_images import pair_folders, random_weights_dir

VOID = {"meta", "img", "br", "hr", "link", "input", "col", "area", "base", "source", "wbr"}


class _Checker(HTMLParser):
    """Fails on unbalanced tags; collects image sources, links and table rows."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.images: list[str] = []
        self.links: list[str] = []
        self.text: list[str] = []
        self.doctype = False

    def handle_decl(self, decl: str) -> None:
        self.doctype = self.doctype or decl.lower() == "doctype html"

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "img":
            self.images.append(a.get("src") or "")
            if not a.get("alt"):
                self.errors.append("img without alt")
        if tag == "a":
            self.links.append(a.get("href") or "")
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory) -> FolderScores:
    root = tmp_path_factory.mktemp("report")
    pred, gt = pair_folders(root / "data", 9, size_hw=(64, 56))
    weights = random_weights_dir(root / "w")
    mp = pytest.MonkeyPatch()
    mp.setenv("PGDATA_WEIGHTS_DIR", str(root / "none"))
    mp.setenv("TORCH_HOME", str(root / "none"))
    try:
        cfg = FolderScoreConfig(
            pred,
            gt,
            presets=("psnr", "ssim_patn", "ssim_gfla51", "fid_tf", "lpips_alex", "pckh"),
            weights=weights,
            check_weights=False,
        )
        return score_folders(cfg)
    finally:
        mp.undo()


def _check_page(out: Path) -> _Checker:
    page = (out / "index.html").read_text(encoding="utf-8")
    checker = _Checker()
    checker.feed(page)
    checker.close()
    assert checker.doctype
    assert not checker.errors, checker.errors
    assert not checker.stack, f"unclosed: {checker.stack}"
    for src in checker.images + [h for h in checker.links if not h.startswith("http")]:
        assert (out / src).is_file(), src
    return checker


def test_report_files(tmp_path: Path, scored: FolderScores) -> None:
    files = write_report(tmp_path / "REPORT", scored, title="tiny <model> & co")
    data = json.loads(files.metrics_json.read_text())
    assert list(data) == ["psnr", "ssim_patn", "ssim_gfla51", "fid_tf", "lpips_alex", "pckh"]
    assert (
        data["psnr"]["value"] == pytest.approx(scored.values["psnr"].value)
        and data["psnr"]["n"] == 9
    )
    assert data["lpips_alex"]["weights_sha256"]["heads_sha256"]
    assert data["fid_tf"]["value"] is None and "pt_inception" in data["fid_tf"]["skipped"]
    assert "keypoint backend" in data["pckh"]["skipped"]
    assert all("protocol" in v for v in data.values())
    rows = list(csv.DictReader(files.metrics_csv.read_text().splitlines()))
    assert [r["preset"] for r in rows] == list(data)
    assert float(rows[0]["value"]) == pytest.approx(data["psnr"]["value"])
    pairs = list(csv.DictReader(files.pairs_csv.read_text().splitlines()))
    assert len(pairs) == 9 and set(pairs[0]) >= {"name", "psnr", "lpips_alex"}

    checker = _check_page(files.index_html.parent)
    text = " ".join(checker.text)
    assert "tiny <model> & co" in text  # escaped in the source, shown as typed
    assert "published" in text and "DPTN (study base)" in text and "HR-VITON" in text
    assert "19.150" in text and "0.7674" in text and "0.0695" in text
    assert "skipped" in text and "pt_inception-2015-12-05-6726825d.pth" in text
    assert "best by lpips_alex" in text and "worst by lpips_alex" in text
    assert len(checker.images) == 3 * 4 * 2  # best/median/worst × 4 rows × (target, output)


def test_grids_order_and_extra_columns(tmp_path: Path, scored: FolderScores) -> None:
    lp = {n: v["lpips_alex"] for n, v in scored.per_image.items()}
    order = sorted(lp, key=lambda n: lp[n])
    src = {p.name: p.gt for p in scored.pairs}
    files = write_report(
        tmp_path / "R", scored, grid_rows=2, extra_columns={"source": src, "target pose": {}}
    )
    page = files.index_html.read_text()
    best = page.index("best by"), page.index("median by"), page.index("worst by")
    assert page.index(order[0], best[0]) < best[1]  # lowest LPIPS first among the best
    assert page.index(order[-1], best[2]) > best[2]  # highest LPIPS in the worst grid
    checker = _check_page(files.index_html.parent)
    assert len(checker.images) == 3 * 2 * 3  # source, target, output; target pose missing
    assert ">–<" in page


def test_ranked_by_ssim_without_lpips(tmp_path: Path, scored: FolderScores) -> None:
    values = {k: v for k, v in scored.values.items() if k != "lpips_alex"}
    per = {
        n: {k: x for k, x in v.items() if k != "lpips_alex"} for n, v in scored.per_image.items()
    }
    other = FolderScores(values, per, scored.pairs)
    files = write_report(tmp_path / "R", other)
    page = files.index_html.read_text()
    assert "LPIPS was not computed; ranked by ssim_patn" in page
    _check_page(files.index_html.parent)


def test_non_finite_values_in_json(scored: FolderScores) -> None:
    same = FolderScores({"psnr": MetricValue(float("inf"), 2, {"pad_white": None})}, {}, [])
    data = metrics_json(same)
    assert data["psnr"]["value"] is None and data["psnr"]["non_finite"] == "inf"
    json.dumps(data, allow_nan=False)


def test_published_csv(tmp_path: Path) -> None:
    rows = load_published()
    base = {r.preset: r.value for r in rows if r.method == "DPTN (study base)"}
    assert base == {
        "psnr": 19.150,
        "ssim_patn": 0.7674,
        "fid_legacy_gfla": 11.457,
        "lpips_alex": 0.1956,
    }
    student = {r.preset: r.value for r in rows if r.method.startswith("DPTN student")}
    assert student == {
        "psnr": 19.175,
        "ssim_patn": 0.7660,
        "fid_legacy_gfla": 12.023,
        "lpips_alex": 0.1981,
    }
    assert {(r.preset, r.value) for r in rows if r.method.startswith("HR-VITON")} == {
        ("ssim_hrviton", 0.882),
        ("lpips_hrviton", 0.0695),
    }
    bad = tmp_path / "bad.csv"
    bad.write_text("method,dataset,preset,value,source,note\nX,D,ssim_foo,1,s,\n")
    with pytest.raises(InputFormatError, match=r"bad.csv:2: unknown preset 'ssim_foo'"):
        load_published(bad)
    bad.write_text("method,value\n")
    with pytest.raises(InputFormatError, match="expected the columns"):
        load_published(bad)
