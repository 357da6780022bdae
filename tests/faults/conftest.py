"""The fault suite's profiles and summary.

The short profile (one kill per target) runs with the default suite; the long one (more kill
points, marker ``faults_long``) runs only when asked: ``pytest -m faults_long tests/faults``. The
seed and every kill (target, where it landed, survived, data lost) are printed at the end; with
``PGDATA_FAULT_REPORT=FILE`` they are also written there as JSON.
"""

from __future__ import annotations

import os

import pytest

from tests.faults import harness


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if "faults_long" in (config.option.markexpr or ""):
        return
    skip = pytest.mark.skip(reason="long fault profile: pytest -m faults_long tests/faults")
    for item in items:
        if item.get_closest_marker("faults_long"):
            item.add_marker(skip)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not harness.KILLS:
        return
    terminalreporter.section(f"fault suite: kill -9 points (PGDATA_FAULT_SEED={harness.SEED})")
    by_target: dict[str, list[int]] = {}
    for k in harness.KILLS:
        by_target.setdefault(k.target, []).append(int(k.survived))
        state = "survived" if k.survived else "FAILED"
        terminalreporter.write_line(f"{k.target:<12} #{k.index}: {k.point}; {state}, lost {k.lost}")
    counts = ", ".join(f"{t} {sum(v)}/{len(v)}" for t, v in by_target.items())
    lost = sum(k.lost for k in harness.KILLS)
    terminalreporter.write_line(f"kills survived: {counts}; data lost: {lost}")
    target = os.environ.get("PGDATA_FAULT_REPORT")
    if target:
        harness.write_report(target)
