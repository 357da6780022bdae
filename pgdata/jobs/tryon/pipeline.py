"""The VITON-HD / HR-VITON preprocessing pipeline: every try-on stage in order on one root.

``run_tryon_pipeline(cfg)`` runs parsing → keypoints → densepose → agnostic → cloth-mask → pairs
on a dataset root; each stage only does what is missing (finished outputs are skipped), bad items
are quarantined in ``ROOT/rejected-<stage>.csv`` and the run goes on. With ``profile`` it writes
``ROOT/profile.json`` (seconds per image per stage). ``load_tryon_recipe`` builds the config from
``pipelines/viton-hd.toml``; a stage without a source (no import folder, no backend) is left out
with a note, so datasets that ship some outputs (e.g. parsing) still run the rest.

Recipe tables: ``[tryon]`` (``stages``, ``strict``), ``[parsing]``, ``[keypoints]``,
``[densepose]``, ``[agnostic]``, ``[cloth_mask]``, ``[pairs]`` whose keys are the fields of the
stage configs (without ``root``); relative ``import_dir`` paths are taken relative to ROOT.
Other top-level tables (``[build]``) belong to ``pgdata build`` and are ignored here.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from pgdata import __version__
from pgdata.config import Recipe, config_from_mapping, load_recipe
from pgdata.errors import ConfigError
from pgdata.executor import Executor
from pgdata.io.atomic import atomic_write_text
from pgdata.io.lock import folder_lock
from pgdata.io.viton import split_dirs
from pgdata.jobs.tryon.agnostic import AgnosticConfig, run_agnostic
from pgdata.jobs.tryon.cloth_mask import ClothMaskConfig, run_cloth_mask
from pgdata.jobs.tryon.common import StageResult
from pgdata.jobs.tryon.densepose import DenseposeConfig, run_densepose
from pgdata.jobs.tryon.keypoints import KeypointsConfig, run_keypoints
from pgdata.jobs.tryon.pairs import VitonPairsConfig, run_viton_pairs
from pgdata.jobs.tryon.parsing import ParsingConfig, run_parsing

__all__ = [
    "STAGES",
    "TryonConfig",
    "TryonResult",
    "load_tryon_recipe",
    "run_tryon_pipeline",
]

STAGES: tuple[str, ...] = ("parsing", "keypoints", "densepose", "agnostic", "cloth-mask", "pairs")
_TABLES = {
    "parsing": ParsingConfig,
    "keypoints": KeypointsConfig,
    "densepose": DenseposeConfig,
    "agnostic": AgnosticConfig,
    "cloth_mask": ClothMaskConfig,
    "pairs": VitonPairsConfig,
}
PROFILE_JSON = "profile.json"


@dataclass(frozen=True)
class TryonConfig:
    """Resolved pipeline: one config per stage, None where the stage is left out."""

    root: Path
    parsing: ParsingConfig | None = None
    keypoints: KeypointsConfig | None = None
    densepose: DenseposeConfig | None = None
    agnostic: AgnosticConfig | None = None
    cloth_mask: ClothMaskConfig | None = None
    pairs: VitonPairsConfig | None = None
    profile: bool = False
    notes: tuple[str, ...] = ()  # why stages were left out


@dataclass
class TryonResult:
    """Per-stage results in run order, the profile and the notes."""

    root: Path
    stages: list[StageResult] = field(default_factory=list)
    profile: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        """Items quarantined by any stage."""
        return sum(len(s.rejected) for s in self.stages)

    @property
    def problem(self) -> str | None:
        """The first stage that rejected every item it tried (the CLI exits 1), else None."""
        return next((f"tryon: {s.problem}" for s in self.stages if s.problem), None)

    def summary(self) -> str:
        """One line of counts."""
        parts = [f"{s.stage} {s.done}+{s.skipped}/{len(s.rejected)}" for s in self.stages]
        return (
            f"tryon: {len(self.stages)} stages on {self.root} (wrote+done before/rejected: "
            + ", ".join(parts)
            + f"); rejected {self.rejected}"
        )


def _stage_table(recipe: Recipe, name: str) -> dict[str, Any]:
    table = recipe.table(name)
    if "root" in table:
        raise ConfigError(
            f"{recipe.origin}: [{name}] root is the command's ROOT argument, not a key"
        )
    return table


def load_tryon_recipe(
    recipe: Path | Recipe | None,
    root: Path,
    *,
    stages: tuple[str, ...] | None = None,
    profile: bool = False,
    strict: bool | None = None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
) -> TryonConfig:
    """Build a :class:`TryonConfig` from a recipe (None: defaults) for dataset ``root``.

    Args:
        recipe: ``pipelines/viton-hd.toml`` or another try-on recipe (a path, or one already
            read by :func:`pgdata.config.load_recipe`).
        root: dataset root (one split folder or a folder with ``train/``/``test/``).
        stages: run only these (default: the recipe's ``[tryon] stages``, else all).
        profile: write ``ROOT/profile.json``.
        strict: fail on the first bad item (default: the recipe's ``[tryon] strict``, else no).
        overrides: ``{table: {key: value}}`` from command-line flags; None values are ignored.

    Raises:
        ConfigError: unknown tables, keys or stage names, bad values, a recipe of another kind.
    """
    if not isinstance(recipe, Recipe):
        recipe = load_recipe(recipe, default_kind="tryon")
    origin = recipe.origin
    if recipe.kind != "tryon":
        raise ConfigError(f"{origin}: kind = {recipe.kind!r}; a try-on recipe has kind = 'tryon'")
    head = _stage_table(recipe, "tryon")
    bad_head = sorted(set(head) - {"stages", "strict"})
    if bad_head:
        raise ConfigError(
            f"{origin}: [tryon] unknown key(s) {bad_head}; valid: ['stages', 'strict']"
        )
    chosen = stages if stages is not None else tuple(head.get("stages", STAGES))
    bad = [s for s in chosen if s not in STAGES]
    if bad:
        raise ConfigError(f"{origin}: unknown stage(s) {bad}; stages are {list(STAGES)}")
    strict_flag = bool(head.get("strict", False)) if strict is None else strict
    notes: list[str] = []
    built: dict[str, Any] = {}
    for table, cls in _TABLES.items():
        stage = table.replace("_", "-")
        if stage not in chosen:
            continue
        data = _stage_table(recipe, table)
        flags = {k: v for k, v in (overrides or {}).get(table, {}).items() if v is not None}
        merged = {**data, **flags}
        if "import_dir" in merged and merged["import_dir"] is not None:
            d = Path(merged["import_dir"])
            merged["import_dir"] = d if d.is_absolute() else root / d
        if "strict" in {f.name for f in fields(cls)}:
            merged.setdefault("strict", strict_flag)
        note = _missing_source(stage, merged)
        if note:
            notes.append(note)
            continue
        built[table] = config_from_mapping(cls, merged, origin=f"{origin} [{table}]", root=root)
    return TryonConfig(root=root, profile=profile, notes=tuple(notes), **built)


def _missing_source(stage: str, table: Mapping[str, Any]) -> str | None:
    """Why a stage cannot run (no import folder and no model), or None."""
    imp = table.get("import_dir")
    have_dir = isinstance(imp, Path) and imp.is_dir()
    # where the outputs were looked for, or which option would have named them
    where = f"no folder {imp}" if imp is not None else "no import folder given"
    if stage == "parsing" and not have_dir and not table.get("backend"):
        return (
            f"parsing: left out ({where}; give --parsing-import DIR with the parser's <id>.png "
            "or a [parsing] backend)"
        )
    if stage == "keypoints" and table.get("backend", "openpose-json") == "openpose-json":
        if not have_dir:
            return (
                f"keypoints: left out ({where}; give --keypoints-import DIR with OpenPose JSON, "
                "or --keypoints-backend mediapipe)"
            )
    if stage == "densepose" and table.get("backend", "import") == "import" and not have_dir:
        return f"densepose: left out ({where}; give --densepose-import DIR)"
    return None


def run_tryon_pipeline(
    cfg: TryonConfig,
    progress: Callable[[str, int], None] | None = None,
    executor: Executor | None = None,
) -> TryonResult:
    """Run the configured stages in order on ``cfg.root``; return per-stage results and profile.

    ``progress(stage, n)`` is called as items finish. Each stage's items run here, or in chunks
    on ``executor`` (local processes, a Dask cluster: :mod:`pgdata.executor`). Stage errors that
    are not about one item (bad configuration, a missing optional dependency) propagate. The
    root is locked for the whole pipeline (:mod:`pgdata.io.lock`).
    """
    split_dirs(cfg.root)  # fail early on a root that is not a VITON-HD layout
    with folder_lock(cfg.root, "pgdata tryon"):
        return _run_stages(cfg, progress, executor)


def _run_stages(
    cfg: TryonConfig,
    progress: Callable[[str, int], None] | None,
    executor: Executor | None,
) -> TryonResult:
    """:func:`run_tryon_pipeline` with the root locked."""
    result = TryonResult(cfg.root, notes=list(cfg.notes))

    def tick(stage: str) -> Callable[[int], None] | None:
        if progress is None:
            return None
        return lambda n: progress(stage, n)

    t_all = time.perf_counter()
    if cfg.parsing is not None:
        result.stages.append(run_parsing(cfg.parsing, tick("parsing"), executor))
    if cfg.keypoints is not None:
        result.stages.append(run_keypoints(cfg.keypoints, tick("keypoints"), executor))
    if cfg.densepose is not None:
        result.stages.append(run_densepose(cfg.densepose, tick("densepose"), executor))
    if cfg.agnostic is not None:
        result.stages.append(run_agnostic(cfg.agnostic, tick("agnostic"), executor))
    if cfg.cloth_mask is not None:
        result.stages.append(run_cloth_mask(cfg.cloth_mask, tick("cloth-mask"), executor))
    if cfg.pairs is not None:
        t0 = time.perf_counter()
        pairs = run_viton_pairs(replace(cfg.pairs, root=cfg.root))
        stage = StageResult("pairs", done=sum(pairs.pairs.values()), rejected=pairs.rejected)
        stage.seconds = stage.wall = time.perf_counter() - t0
        stage.notes = [str(p) for p in pairs.files]
        result.stages.append(stage)
    result.profile = {
        "pgdata_version": __version__,
        "root": str(cfg.root),
        "total_seconds": round(time.perf_counter() - t_all, 4),
        "stages": {
            s.stage: {
                "processed": s.done + len(s.rejected),
                "skipped": s.skipped,
                "rejected": len(s.rejected),
                "seconds": round(s.seconds, 4),
                "seconds_per_image": round(s.seconds_per_image, 5),
            }
            for s in result.stages
        },
        "notes": result.notes,
    }
    if cfg.profile:
        atomic_write_text(
            cfg.root / PROFILE_JSON, json.dumps(result.profile, indent=2, sort_keys=True) + "\n"
        )
    return result
