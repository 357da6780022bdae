"""Registers the ``browser`` marker for the tests in this folder until ``pyproject.toml`` does.

``--strict-markers`` rejects an unregistered marker at collection; this keeps the suite green
either way and can be deleted once ``browser`` is in ``[tool.pytest.ini_options] markers``.
"""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    if not any(line.split(":")[0].strip() == "browser" for line in config.getini("markers")):
        config.addinivalue_line("markers", "browser: renders a page in headless Chromium")
