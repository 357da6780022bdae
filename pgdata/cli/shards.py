"""``pgdata build``, ``pgdata verify`` and ``pgdata info``: HDF5 shards."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from pgdata.cli._common import SizeHW, echo_result, progress_bar
from pgdata.config import config_from_mapping, load_toml
from pgdata.errors import ConfigError
from pgdata.jobs.posetransfer.build import BuildConfig, BuildResult, run_build
from pgdata.jobs.tryon.build import TryonBuildConfig, TryonBuildResult, run_build_tryon
from pgdata.shards.verify import shards_info, verify_shards

RECIPE_KINDS = ("pose-transfer", "tryon")


def _recipe(path: Path | None) -> tuple[str, dict[str, Any]]:
    """(kind, [build] table) of a recipe; pose-transfer defaults without one.

    A try-on recipe's stage tables are read by :func:`pgdata.jobs.tryon.load_tryon_recipe`.
    """
    if path is None:
        return "pose-transfer", {}
    doc = load_toml(path)
    kind = doc.get("kind", "pose-transfer")
    unknown = sorted(set(doc) - {"kind", "build"})
    if unknown and kind != "tryon":
        raise ConfigError(
            f"{path}: unknown top-level key(s) {unknown}; expected 'kind' and a [build] table"
        )
    if kind not in RECIPE_KINDS:
        raise ConfigError(f"{path}: kind = {kind!r}; this pgdata builds {list(RECIPE_KINDS)}")
    build = doc.get("build", {})
    if not isinstance(build, dict):
        raise ConfigError(f"{path}: [build] must be a table")
    return kind, build


@click.command(short_help="Build HDF5 shards (pose transfer or try-on).")
@click.option(
    "--recipe",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Recipe TOML (pipelines/deepfashion.toml, market1501.toml, viton-hd.toml); flags override its [build] values.",
)
@click.option(
    "--source",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    required=True,
    help="Pose transfer: what `pgdata build-pairs` wrote (annotation and pair CSVs, <split>/ images, parsing/<split>/ maps). Try-on: the VITON-HD root.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Shard folder to write (resumes an interrupted build of the same inputs).",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Processes writing shards in parallel (one writer per file).  [recipe, else 1]",
)
@click.option(
    "--shard-mb",
    type=click.FloatRange(min=0.001),
    default=None,
    help="Roll over to a new shard at about this many MB.  [recipe, else 128]",
)
@click.option(
    "--image-size",
    "image_hw",
    type=SizeHW(),
    default=None,
    help="HEIGHTxWIDTH of stored images; others are resized.  [recipe, else 256x176]",
)
@click.option(
    "--quality",
    "jpeg_quality",
    type=click.IntRange(1, 100),
    default=None,
    help="JPEG quality for re-encoded images.  [recipe, else 95]",
)
@click.option(
    "--parsing/--no-parsing",
    default=None,
    help="Store parsing maps when the source has them.  [recipe, else yes]",
)
@click.option(
    "--store-heatmaps/--no-store-heatmaps",
    default=None,
    help="Also store float16 gzip heatmaps (large; the loader renders them anyway).",
)
@click.option(
    "--profile",
    is_flag=True,
    help="Try-on recipes: write ROOT/profile.json (seconds per image per stage).",
)
@click.option("--overwrite", is_flag=True, help="Replace shards of a different build in --out.")
def build(
    recipe: Path | None, source: Path, out: Path, overwrite: bool, profile: bool, **flags: Any
) -> None:
    """Write HDF5 shards into OUT: pose-transfer (JPEG bytes, keypoints, parsing, pair index) from
    a build-pairs folder, or try-on (pipelines/viton-hd.toml: runs the missing preprocessing stages on
    the VITON-HD root SOURCE, then one record per pair-list line).

    Shards are written to NAME.partial and renamed when complete; manifest.json comes last. Rerun
    the same command after a crash to resume: complete shards are kept and the manifest is the
    same as an uninterrupted build's. Bad items are repaired or listed in OUT/rejected.csv.
    """
    kind, table = _recipe(recipe)
    origin = str(recipe) if recipe else "defaults"
    result: BuildResult | TryonBuildResult
    if kind == "tryon":
        pose_only = sorted(
            k for k in ("image_hw", "parsing", "store_heatmaps") if flags.get(k) is not None
        )
        if pose_only:
            raise click.UsageError(
                f"{', '.join(pose_only)}: pose-transfer options; not used by try-on recipes"
            )
        tcfg = config_from_mapping(
            TryonBuildConfig,
            table,
            origin=origin,
            source=source,
            out=out,
            recipe=recipe,
            overwrite=overwrite,
            profile=profile,
            shard_mb=flags.get("shard_mb"),
            jpeg_quality=flags.get("jpeg_quality"),
            workers=flags.get("workers"),
        )
        with progress_bar(None, "build") as update:
            result = run_build_tryon(tcfg, progress=update)
        for note in result.notes:
            click.echo(note, err=True)
        if result.stages is not None:
            click.echo(result.stages.summary(), err=True)
    else:
        cfg = config_from_mapping(
            BuildConfig, table, origin=origin, source=source, out=out, overwrite=overwrite, **flags
        )
        with progress_bar(None, "build") as update:
            result = run_build(cfg, progress=update)
    for entry in sorted(out.glob("*.h5")):
        echo_result(str(entry))
    echo_result(result.summary())


@click.command(short_help="Check a shard folder: manifest, hashes, schema, images.")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--quick", is_flag=True, help="Skip decoding every image.")
def verify(folder: Path, quick: bool) -> None:
    """Verify FOLDER: the manifest, every shard's presence, size and sha256, the schema, equal column
    lengths, the pair index, and (unless --quick) that every image decodes. Exits 1 on any fault,
    naming the shard and the record."""
    with progress_bar(None, "verify") as update:
        report = verify_shards(folder, quick=quick, progress=update)
    for fault in report.faults:
        click.echo(fault, err=True)
    echo_result(report.summary())
    if report.faults:
        click.get_current_context().exit(1)


@click.command(short_help="Describe a shard folder.")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the whole description as JSON.")
def info(folder: Path, as_json: bool) -> None:
    """Print FOLDER's counts per split, sizes, schema and build config."""
    d = shards_info(folder)
    if as_json:
        echo_result(json.dumps(d, indent=1, sort_keys=True))
        return
    echo_result(
        f"{d['folder']}: pgdata shards, format {d['format_version']}, written by pgdata {d['pgdata_version']}"
    )
    for split, s in d["splits"].items():
        echo_result(
            f"  {split}: {s['shards']} shards, {s['records']} images, {s['pairs']} pairs, {s['bytes'] / 1e6:.1f} MB"
        )
    echo_result("  schema " + d["schema"]["name"] + ":")
    for c in d["schema"]["columns"]:
        shape = f" {c['dtype']}{tuple(c['shape'])}" if c["kind"] == "array" else ""
        echo_result(f"    {c['name']:<10} {c['kind']}{shape}  {c['doc']}")
    echo_result("  config: " + json.dumps(d["config"], sort_keys=True))
    counts = d["counts"]
    echo_result(
        f"info: {sum(s['shards'] for s in d['splits'].values())} shards, "
        f"{sum(s['records'] for s in d['splits'].values())} images, {d['total_bytes'] / 1e6:.1f} MB; "
        f"rejected {counts.get('rejected', 0)}, dropped pairs {counts.get('dropped_pairs', 0)}"
    )
