"""The package's layers, read from the source: no module imports a layer above its own.

Every ``import pgdata...`` / ``from pgdata... import`` of every module under ``pgdata/`` is read
with :mod:`ast` (imports inside functions count too: a lazy import is still a dependency) and
checked against :data:`MAY_IMPORT`. Jobs are also split by domain: a job of one domain
(``jobs/posetransfer``, ``jobs/tryon``, ``jobs/garments``) never imports another domain's jobs.
New areas must be added here on purpose (the test fails on an unknown one).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "pgdata"

# import nothing from pgdata but each other; anything may import them
BASE = {"errors", "labels", "parallel", "executor"}
MAY_IMPORT: dict[str, set[str]] = {
    "errors": set(),
    "labels": set(),
    "parallel": set(),
    "executor": {"errors", "parallel"},  # where tasks run: here, a process pool, Dask
    "stages": {"labels", "errors"},  # pure kernels
    "io": {"stages"} | BASE,  # files of source formats
    "config": BASE,  # TOML recipes and bundled files
    "pose": {"io", "stages"} | BASE,  # a facade over keypoint tables, kernels and files
    "shards": {"io", "stages"} | BASE,
    "crawl": {"io", "stages"} | BASE,
    "backends": {"io", "stages"} | BASE,
    "data": {"shards", "io", "stages"} | BASE,  # PyTorch loading of shards
    "models": {"stages", "config"} | BASE,  # networks: not training, data, io, shards
    "metrics": {"models", "io", "stages"} | BASE,
    "training": {"data", "models", "io", "shards", "config", "stages"} | BASE,
    "jobs": {
        "stages",
        "io",
        "config",
        "pose",
        "shards",
        "crawl",
        "backends",
        "data",
        "models",
        "metrics",
        "training",
    }
    | BASE,  # everything but the CLI
    "cli": {
        "jobs",
        "stages",
        "io",
        "config",
        "pose",
        "shards",
        "crawl",
        "backends",
        "data",
        "models",
        "metrics",
        "training",
    }
    | BASE,
    "__main__": {"cli"},
}
JOB_DOMAINS = {"posetransfer", "tryon", "garments"}  # at least these; new ones follow the rule


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> list[tuple[int, str]]:
    """``(line, module)`` of every pgdata import in the file (``from pgdata import x`` gives
    ``pgdata.x`` when ``x`` is a module or package, else ``pgdata``)."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "pgdata"]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against this module's package
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            if base.split(".")[0] != "pgdata":
                continue
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                target = PACKAGE.parent / sub.replace(".", "/")
                is_module = target.is_dir() or target.with_suffix(".py").is_file()
                found.append((node.lineno, sub if is_module else base))
    return found


def _area(module: str) -> str:
    """``pgdata.jobs.tryon.build`` → ``jobs``; ``pgdata`` (the root, ``__version__``) → ``""``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _domain(module: str) -> str | None:
    parts = module.split(".")
    return parts[2] if len(parts) > 2 and parts[1] == "jobs" else None


MODULES = sorted(PACKAGE.rglob("*.py"))


def test_the_package_has_the_layers_this_test_knows():
    areas = {_area(_module_name(p)) for p in MODULES} - {""}
    assert areas <= set(MAY_IMPORT), f"add the new area(s) {areas - set(MAY_IMPORT)} to MAY_IMPORT"
    domains = {_domain(_module_name(p)) for p in MODULES} - {None}
    assert JOB_DOMAINS <= domains
    for domain in domains:  # a domain is a package: jobs/<domain>/__init__.py
        assert (PACKAGE / "jobs" / domain / "__init__.py").is_file(), (
            f"jobs/{domain}.py: make it a package"
        )


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_imports_a_higher_layer(path):
    module = _module_name(path)
    area, domain = _area(module), _domain(module)
    if area == "":
        return  # pgdata/__init__.py holds the version only
    wrong = []
    for line, target in _imports(path):
        to_area = _area(target)
        if to_area in ("", area):
            if area == "jobs" and _domain(target) not in (None, domain):
                wrong.append(f"line {line}: {target} (jobs of another domain)")
            continue
        if to_area not in MAY_IMPORT[area]:
            wrong.append(f"line {line}: {target} ({area} may import {sorted(MAY_IMPORT[area])})")
    assert not wrong, f"{path.relative_to(PACKAGE.parent)} imports upwards:\n" + "\n".join(wrong)


def test_the_checker_sees_every_kind_of_import(tmp_path, monkeypatch):
    """The reader itself, on hand-written sources (so a broken parser cannot pass silently)."""
    fake = tmp_path / "pgdata"
    (fake / "stages").mkdir(parents=True)
    (fake / "jobs" / "tryon").mkdir(parents=True)
    (fake / "io.py").write_text("")
    (fake / "jobs" / "tryon" / "x.py").write_text(
        "import pgdata.cli\n"
        "from pgdata import io, __version__\n"
        "from ..garments import y\n"
        "def f():\n    from pgdata.jobs.posetransfer.build import run_build\n"
    )
    monkeypatch.setattr(f"{__name__}.PACKAGE", fake)
    got = _imports(fake / "jobs" / "tryon" / "x.py")
    assert got == [
        (1, "pgdata.cli"),
        (2, "pgdata.io"),
        (2, "pgdata"),
        (3, "pgdata.jobs.garments"),
        (5, "pgdata.jobs.posetransfer.build"),
    ]
