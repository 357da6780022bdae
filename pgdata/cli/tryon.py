"""Try-on preprocessing commands: ``parsing``, ``keypoints``, ``densepose``, ``agnostic``,
``cloth-mask`` (one stage each) and ``tryon`` (all of them in order, from a recipe)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from pgdata.cli._common import echo_result, progress_bar
from pgdata.errors import ConfigError
from pgdata.jobs.tryon.common import StageResult

_ROOT = click.argument("root", type=click.Path(exists=True, file_okay=False, path_type=Path))
_IMPORT = click.Path(exists=True, file_okay=False, path_type=Path)


def _common(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.option(
        "--strict",
        is_flag=True,
        help="Stop at the first bad item instead of listing it in ROOT/rejected-<stage>.csv.",
    )(f)
    f = click.option("--force", is_flag=True, help="Redo items whose outputs already exist.")(f)
    return f


def _run(stage: str, fn: Callable[[Callable[[int], None]], StageResult]) -> None:
    with progress_bar(None, stage) as update:
        result = fn(update)
    for item, reason in result.rejected:
        click.echo(f"rejected {item}: {reason}", err=True)
    echo_result(result.summary())


def _config(build: Callable[[], Any]) -> Any:
    try:
        return build()
    except ConfigError as e:
        raise click.UsageError(str(e)) from e


@click.command("parsing", short_help="Import human parsing into image-parse-v3/.")
@_ROOT
@click.option(
    "--import",
    "import_dir",
    type=_IMPORT,
    help="Parser outputs: <id>.png or <split>/<id>.png (label, palette or exact-palette RGB PNGs).",
)
@click.option(
    "--scheme",
    type=click.Choice(["cihp", "lip", "atr", "pascal"]),
    default="cihp",
    show_default=True,
    help="Label scheme of the inputs; converted to VITON-HD ids (CIHP with 10 = neck).",
)
@click.option(
    "--smooth/--no-smooth",
    default=False,
    show_default=True,
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
@_common
def parsing(
    root: Path,
    import_dir: Path | None,
    scheme: str,
    smooth: bool,
    backend: str | None,
    weights: Path | None,
    force: bool,
    strict: bool,
) -> None:
    """Fill ROOT/image-parse-v3/<id>.png (mode P, VITON-HD palette) for every ROOT/image/<id>.

    ROOT is one split folder (ROOT/image/) or a folder with train/ and test/ split folders.
    """
    from pgdata.jobs.tryon.parsing import ParsingConfig, run_parsing

    cfg = _config(
        lambda: ParsingConfig(root, import_dir, scheme, smooth, backend, weights, force, strict)  # type: ignore[arg-type]
    )
    _run("parsing", lambda p: run_parsing(cfg, p))


@click.command("keypoints", short_help="BODY_25 OpenPose JSON and renderings.")
@_ROOT
@click.option(
    "--backend",
    type=click.Choice(["openpose-json", "mediapipe"]),
    default="openpose-json",
    show_default=True,
    help="openpose-json: import OpenPose output (BODY_25 or COCO-18); mediapipe: estimate offline (extra 'mediapipe').",
)
@click.option(
    "--import",
    "import_dir",
    type=_IMPORT,
    help="OpenPose JSON folder (<id>_keypoints.json), for --backend openpose-json.",
)
@click.option(
    "--min-visibility",
    default=0.5,
    show_default=True,
    type=click.FloatRange(0, 1),
    help="mediapipe: landmarks less visible than this are missing.",
)
@_common
def keypoints(
    root: Path,
    backend: str,
    import_dir: Path | None,
    min_visibility: float,
    force: bool,
    strict: bool,
) -> None:
    """Fill ROOT/openpose_json/<id>_keypoints.json (OpenPose 1.3, BODY_25) and
    ROOT/openpose_img/<id>_rendered.png for every person photo."""
    from pgdata.jobs.tryon.keypoints import KeypointsConfig, run_keypoints

    cfg = _config(
        lambda: KeypointsConfig(root, backend, import_dir, min_visibility, force, strict)  # type: ignore[arg-type]
    )
    _run("keypoints", lambda p: run_keypoints(cfg, p))


@click.command("densepose", short_help="HR-VITON image-densepose/ pictures.")
@_ROOT
@click.option(
    "--backend",
    type=click.Choice(["import", "detectron2"]),
    default="import",
    show_default=True,
    help="import: precomputed outputs; detectron2: run DensePose R-CNN (detectron2 installed).",
)
@click.option(
    "--import",
    "import_dir",
    type=_IMPORT,
    help="Precomputed DensePose: <id>.npy / .npz / _IUV.png / .png / .jpg (see README).",
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="detectron2: DensePose R-CNN config yaml.",
)
@click.option(
    "--weights",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="detectron2: model weights file.",
)
@_common
def densepose(
    root: Path,
    backend: str,
    import_dir: Path | None,
    config_file: Path | None,
    weights: Path | None,
    force: bool,
    strict: bool,
) -> None:
    """Fill ROOT/image-densepose/<id>.jpg: fine parts in PARULA colours, opaque on black."""
    from pgdata.jobs.tryon.densepose import DenseposeConfig, run_densepose

    cfg = _config(
        lambda: DenseposeConfig(
            root,
            backend,  # type: ignore[arg-type]
            import_dir,
            config_file,
            weights,
            force=force,
            strict=strict,
        )
    )
    _run("densepose", lambda p: run_densepose(cfg, p))


@click.command("agnostic", short_help="HR-VITON agnostic-v3.2 and parse-agnostic maps.")
@_ROOT
@_common
def agnostic(root: Path, force: bool, strict: bool) -> None:
    """Fill ROOT/agnostic-v3.2/<id>.jpg and ROOT/image-parse-agnostic-v3.2/<id>.png from the
    photo, its parsing and its BODY_25 keypoints (HR-VITON's rules, any image size)."""
    from pgdata.jobs.tryon.agnostic import AgnosticConfig, run_agnostic

    cfg = AgnosticConfig(root, force=force, strict=strict)
    _run("agnostic", lambda p: run_agnostic(cfg, p))


@click.command("cloth-mask", short_help="VITON-HD cloth-mask/ for every garment.")
@_ROOT
@click.option(
    "--method",
    type=click.Choice(["auto", "alpha", "threshold", "grabcut"]),
    default="auto",
    show_default=True,
    help="auto: the alpha channel when the garment has one, else threshold (light background, morphology, largest component); grabcut refines threshold.",
)
@_common
def cloth_mask(root: Path, method: str, force: bool, strict: bool) -> None:
    """Fill ROOT/cloth-mask/<cid>.jpg (greyscale JPEG, garment 255) for every ROOT/cloth/<cid>;
    transparent PNG garments are also flattened onto white into ROOT/cloth/<cid>.jpg."""
    from pgdata.jobs.tryon.cloth_mask import ClothMaskConfig, run_cloth_mask

    cfg = ClothMaskConfig(root, method, force=force, strict=strict)  # type: ignore[arg-type]
    _run("cloth-mask", lambda p: run_cloth_mask(cfg, p))


@click.command("tryon", short_help="Run the whole try-on preprocessing on a VITON-HD root.")
@_ROOT
@click.option(
    "--recipe",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Try-on recipe (pipelines/viton-hd.toml). Default: built-in defaults.",
)
@click.option(
    "--stages",
    help="Comma-separated subset: parsing,keypoints,densepose,agnostic,cloth-mask,pairs.  [recipe, else all]",
)
@click.option(
    "--parsing-import", type=_IMPORT, help="Parser outputs folder (overrides the recipe)."
)
@click.option(
    "--keypoints-import", type=_IMPORT, help="OpenPose JSON folder (overrides the recipe)."
)
@click.option(
    "--keypoints-backend",
    type=click.Choice(["openpose-json", "mediapipe"]),
    help="Keypoint backend (overrides the recipe).",
)
@click.option(
    "--densepose-import", type=_IMPORT, help="Precomputed DensePose folder (overrides the recipe)."
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
    keypoints_backend: str | None,
    densepose_import: Path | None,
    profile: bool,
    strict: bool | None,
) -> None:
    """Run the missing try-on stages in order on ROOT (parsing, keypoints, densepose, agnostic,
    cloth-mask, pairs); finished outputs are kept, bad items go to ROOT/rejected-<stage>.csv.

    A stage without a source (no import folder, no backend) is left out with a notice.
    """
    from pgdata.jobs.tryon.pipeline import load_tryon_recipe, run_tryon_pipeline

    chosen = tuple(s.strip() for s in stages.split(",") if s.strip()) if stages else None
    overrides: dict[str, dict[str, Any]] = {
        "parsing": {"import_dir": parsing_import},
        "keypoints": {"import_dir": keypoints_import, "backend": keypoints_backend},
        "densepose": {"import_dir": densepose_import},
    }
    cfg = _config(
        lambda: load_tryon_recipe(
            recipe, root, stages=chosen, profile=profile, strict=strict or None, overrides=overrides
        )
    )
    for note in cfg.notes:
        click.echo(f"notice: {note}", err=True)
    with progress_bar(None, "tryon") as update:
        result = run_tryon_pipeline(cfg, lambda _stage, n: update(n))
    for stage in result.stages:
        for item, reason in stage.rejected:
            click.echo(f"rejected {stage.stage} {item}: {reason}", err=True)
        echo_result(stage.summary())
    if profile:
        for name, p in result.profile["stages"].items():
            echo_result(
                f"profile: {name:<10} {p['seconds_per_image']:.4f} s/image "
                f"({p['processed']} processed, {p['skipped']} skipped, {p['seconds']:.3f} s)"
            )
        echo_result(f"profile: written to {root / 'profile.json'}")
    echo_result(result.summary())


COMMANDS = (parsing, keypoints, densepose, agnostic, cloth_mask, tryon)
