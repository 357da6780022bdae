"""Try-on preprocessing commands: ``parsing``, ``keypoints``, ``densepose``, ``agnostic``,
``cloth-mask`` (one stage each) and ``tryon`` (all of them in order, from a recipe)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from pgdata.cli._common import (
    DIR,
    FILE,
    Progress,
    bundled_option,
    choice_option,
    examples,
    force_option,
    make_config,
    root_argument,
    run_job,
    shown_option,
    strict_option,
)
from pgdata.errors import ConfigError
from pgdata.jobs.tryon.agnostic import AgnosticConfig, run_agnostic
from pgdata.jobs.tryon.cloth_mask import ClothMaskConfig, run_cloth_mask
from pgdata.jobs.tryon.common import StageResult
from pgdata.jobs.tryon.densepose import BACKENDS as DENSEPOSE_BACKENDS
from pgdata.jobs.tryon.densepose import DenseposeConfig, run_densepose
from pgdata.jobs.tryon.keypoints import BACKENDS as KEYPOINT_BACKENDS
from pgdata.jobs.tryon.keypoints import Backend as KeypointBackend
from pgdata.jobs.tryon.keypoints import KeypointsConfig, run_keypoints
from pgdata.jobs.tryon.parsing import SCHEME_NAMES, ParsingConfig, run_parsing
from pgdata.jobs.tryon.pipeline import STAGES, load_tryon_recipe, run_tryon_pipeline
from pgdata.stages.cloth_mask import METHODS


def _stage_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """``--strict`` and ``--force``, shared by the one-stage commands."""
    f = strict_option(
        "Stop at the first bad item instead of listing it in ROOT/rejected-<stage>.csv."
    )(f)
    return force_option()(f)


def _import_option(help: str) -> Callable[[Callable[..., Any]], Any]:
    """``--import DIR``: a folder of an external tool's outputs."""
    return click.option("--import", "import_dir", type=DIR, help=help)


def _run_stage(run: Callable[[Progress], StageResult], stage: str) -> None:
    """Run one stage; rejected items on stderr, the stage summary on stdout."""
    run_job(run, desc=stage, notes=lambda r: [f"rejected {i}: {why}" for i, why in r.rejected])


@click.command(
    "parsing",
    short_help="Import human parsing into image-parse-v3/.",
    epilog=examples(
        "pgdata parsing VITON-HD --import schp-out --scheme lip",
        "pgdata parsing VITON-HD --backend mymodels.parser:build --weights parser.pth",
    ),
)
@root_argument
@_import_option(
    "Parser outputs: <id>.png or <split>/<id>.png (label, palette or exact-palette RGB PNGs)."
)
@choice_option(
    "--scheme",
    choices=SCHEME_NAMES,
    help="Label scheme of the inputs; converted to VITON-HD ids (CIHP with 10 = neck).",
)
@shown_option(
    "--smooth/--no-smooth",
    default=False,
    help="Upsample smaller maps with HR-VITON's smoothing (bilinear one-hot, 15x15 Gaussian sigma 3) instead of nearest.",
)
@click.option(
    "--backend", help="Your parsing model instead of --import: module[:factory] (see README)."
)
@click.option(
    "--weights",
    type=click.Path(exists=True, path_type=Path),
    help="Weights file passed to the --backend factory.",
)
@_stage_options
def parsing(root: Path, **options: Any) -> None:
    """Fill ROOT/image-parse-v3/<id>.png (mode P, VITON-HD palette) for every ROOT/image/<id>.

    ROOT is one split folder (ROOT/image/) or a folder with train/ and test/ split folders.
    """
    cfg = make_config(ParsingConfig, root=root, **options)
    _run_stage(lambda update: run_parsing(cfg, update), "parsing")


@click.command(
    "keypoints",
    short_help="BODY_25 OpenPose JSON and renderings.",
    epilog=examples(
        "pgdata keypoints VITON-HD --import openpose-out",
        "pgdata keypoints VITON-HD --backend mediapipe",
    ),
)
@root_argument
@choice_option(
    "--backend",
    choices=KEYPOINT_BACKENDS,
    help="openpose-json: import OpenPose output (BODY_25 or COCO-18); mediapipe: estimate offline (extra 'mediapipe').",
)
@_import_option("OpenPose JSON folder (<id>_keypoints.json), for --backend openpose-json.")
@shown_option(
    "--min-visibility",
    default=0.5,
    type=click.FloatRange(0, 1),
    help="mediapipe: landmarks less visible than this are missing.",
)
@_stage_options
def keypoints(root: Path, **options: Any) -> None:
    """Fill ROOT/openpose_json/<id>_keypoints.json (OpenPose 1.3, BODY_25) and
    ROOT/openpose_img/<id>_rendered.png for every person photo."""
    cfg = make_config(KeypointsConfig, root=root, **options)
    _run_stage(lambda update: run_keypoints(cfg, update), "keypoints")


@click.command(
    "densepose",
    short_help="HR-VITON image-densepose/ pictures.",
    epilog=examples("pgdata densepose VITON-HD --import densepose-out"),
)
@root_argument
@choice_option(
    "--backend",
    choices=DENSEPOSE_BACKENDS,
    help="import: precomputed outputs; detectron2: run DensePose R-CNN (detectron2 installed).",
)
@_import_option("Precomputed DensePose: <id>.npy / .npz / _IUV.png / .png / .jpg (see README).")
@click.option(
    "--config",
    "config_file",
    type=FILE,
    help="detectron2: DensePose R-CNN config yaml.",
)
@click.option(
    "--weights",
    type=FILE,
    help="detectron2: model weights file.",
)
@_stage_options
def densepose(root: Path, **options: Any) -> None:
    """Fill ROOT/image-densepose/<id>.jpg: fine parts in PARULA colours, opaque on black."""
    cfg = make_config(DenseposeConfig, root=root, **options)
    _run_stage(lambda update: run_densepose(cfg, update), "densepose")


@click.command(
    "agnostic",
    short_help="HR-VITON agnostic-v3.2 and parse-agnostic maps.",
    epilog=examples("pgdata agnostic VITON-HD", "pgdata agnostic VITON-HD --strict --force"),
)
@root_argument
@_stage_options
def agnostic(root: Path, **options: Any) -> None:
    """Fill ROOT/agnostic-v3.2/<id>.jpg and ROOT/image-parse-agnostic-v3.2/<id>.png from the
    photo, its parsing and its BODY_25 keypoints (HR-VITON's rules, any image size)."""
    cfg = make_config(AgnosticConfig, root=root, **options)
    _run_stage(lambda update: run_agnostic(cfg, update), "agnostic")


@click.command(
    "cloth-mask",
    short_help="VITON-HD cloth-mask/ for every garment.",
    epilog=examples(
        "pgdata cloth-mask VITON-HD", "pgdata cloth-mask VITON-HD --method grabcut --force"
    ),
)
@root_argument
@choice_option(
    "--method",
    choices=METHODS,
    help="auto: the alpha channel when the garment has one, else threshold (light background, morphology, largest component); rgb-cut: VITON-HD's all-channels > 240 rule; grabcut refines threshold.",
)
@_stage_options
def cloth_mask(root: Path, **options: Any) -> None:
    """Fill ROOT/cloth-mask/<cid>.jpg (greyscale JPEG, garment 255) for every ROOT/cloth/<cid>;
    transparent PNG garments are also flattened onto white into ROOT/cloth/<cid>.jpg."""
    cfg = make_config(ClothMaskConfig, root=root, **options)
    _run_stage(lambda update: run_cloth_mask(cfg, update), "cloth-mask")


@click.command(
    "tryon",
    short_help="Run the whole try-on preprocessing on a VITON-HD root.",
    epilog=examples(
        "pgdata tryon VITON-HD --recipe viton-hd --profile",
        "pgdata tryon VITON-HD --parsing-import schp-out --keypoints-import openpose-out",
    ),
)
@root_argument
@bundled_option(
    "--recipe",
    "pipelines",
    help="Try-on recipe: the bundled viton-hd or a TOML file. Default: built-in defaults.",
)
@click.option(
    "--stages",
    help=f"Comma-separated subset: {','.join(STAGES)}.  [recipe, else all]",
)
@click.option("--parsing-import", type=DIR, help="Parser outputs folder (overrides the recipe).")
@click.option("--keypoints-import", type=DIR, help="OpenPose JSON folder (overrides the recipe).")
@click.option(
    "--keypoints-backend",
    type=click.Choice(KEYPOINT_BACKENDS),
    help="Keypoint backend (overrides the recipe).",
)
@click.option(
    "--densepose-import", type=DIR, help="Precomputed DensePose folder (overrides the recipe)."
)
@click.option(
    "--profile", is_flag=True, help="Print seconds per image per stage and write ROOT/profile.json."
)
@click.option(
    "--strict", is_flag=True, default=None, help="Stop at the first bad item.  [recipe, else no]"
)
def tryon(
    root: Path,
    recipe: Path | None,
    stages: str | None,
    parsing_import: Path | None,
    keypoints_import: Path | None,
    keypoints_backend: KeypointBackend | None,
    densepose_import: Path | None,
    profile: bool,
    strict: bool | None,
) -> None:
    """Run the missing try-on stages in order on ROOT (parsing, keypoints, densepose, agnostic,
    cloth-mask, pairs); finished outputs are kept, bad items go to ROOT/rejected-<stage>.csv.

    A stage without a source (no import folder, no backend) is left out with a notice.
    """
    chosen = tuple(s.strip() for s in stages.split(",") if s.strip()) if stages else None
    overrides: dict[str, dict[str, Any]] = {
        "parsing": {"import_dir": parsing_import},
        "keypoints": {"import_dir": keypoints_import, "backend": keypoints_backend},
        "densepose": {"import_dir": densepose_import},
    }
    try:
        cfg = load_tryon_recipe(
            recipe, root, stages=chosen, profile=profile, strict=strict or None, overrides=overrides
        )
    except ConfigError as e:
        raise click.UsageError(str(e)) from e
    for note in cfg.notes:
        click.echo(f"notice: {note}", err=True)

    def profile_lines(stages: list[StageResult], timing: dict[str, Any]) -> list[str]:
        if not profile:
            return []
        lines = [
            f"profile: {name:<10} {p['seconds_per_image']:.4f} s/image "
            f"({p['processed']} processed, {p['skipped']} skipped, {p['seconds']:.3f} s)"
            for name, p in timing["stages"].items()
        ]
        return [*lines, f"profile: written to {root / 'profile.json'}"]

    run_job(
        lambda update: run_tryon_pipeline(cfg, lambda _stage, n: update(n)),
        desc="tryon",
        notes=lambda r: [
            f"rejected {s.stage} {item}: {reason}" for s in r.stages for item, reason in s.rejected
        ],
        lines=lambda r: [*(s.summary() for s in r.stages), *profile_lines(r.stages, r.profile)],
    )


COMMANDS = (parsing, keypoints, densepose, agnostic, cloth_mask, tryon)
