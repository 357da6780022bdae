"""The report page in a real browser: headless Chromium takes a screenshot of ``index.html``."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from pgdata.metrics.folders import FolderScoreConfig, score_folders
from pgdata.metrics.report import write_report
from tests.metrics_images import pair_folders

SHOT_MIN_BYTES = 10_000  # a blank page is a few kB


@pytest.mark.browser
def test_page_renders_in_headless_chromium(tmp_path: Path) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("chromium is not installed (make test-browser installs it)")
    pred, gt = pair_folders(tmp_path / "data", 6)
    scores = score_folders(FolderScoreConfig(pred, gt, presets=("psnr", "ssim_patn", "fid_tf")))
    files = write_report(tmp_path / "R", scores)
    shot = tmp_path / "shot.png"
    subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            f"--screenshot={shot}",
            "--window-size=1280,2400",
            files.index_html.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    assert shot.is_file() and shot.stat().st_size > SHOT_MIN_BYTES
