"""The reference files in ``tests/data/`` are the published bytes their README lists."""

from __future__ import annotations

import hashlib
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"


def _listed() -> dict[str, str]:
    lines = (DATA / "SHA256SUMS").read_text(encoding="utf-8").splitlines()
    return {line.split()[1]: line.split()[0] for line in lines if line.strip()}


def test_every_listed_file_has_its_published_hash():
    listed = _listed()
    assert len(listed) >= 39
    for rel, sha in listed.items():
        assert hashlib.sha256((DATA / rel).read_bytes()).hexdigest() == sha, rel


def test_every_reference_file_is_listed_and_documented():
    listed = _listed()
    readme = (DATA / "README.md").read_text(encoding="utf-8")
    files = {
        p.relative_to(DATA).as_posix()
        for p in DATA.rglob("*")
        if p.is_file() and p.name not in ("README.md", "SHA256SUMS")
    }
    assert files == set(listed)
    for rel, sha in listed.items():
        assert sha in readme, f"{rel}: its sha256 is not in tests/data/README.md"
