"""``pgdata build``, ``pgdata verify`` and ``pgdata info``: HDF5 shards."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from pgdata.cli._common import (
    DIR,
    SizeHW,
    bundled_option,
    dask_options,
    echo_result,
    examples,
    out_dir_option,
    quality_option,
    run_job,
    workers_option,
)
from pgdata.config import Recipe, config_from_mapping, load_recipe
from pgdata.jobs.aligned.build import AlignedBuildConfig, run_build_aligned
from pgdata.jobs.faces.build import FacesBuildConfig, run_build_faces
from pgdata.jobs.posetransfer.build import BuildConfig, run_build
from pgdata.jobs.tryon.build import TryonBuildConfig, run_build_tryon
from pgdata.shards.verify import shards_info, verify_shards

# flags that only pose-transfer recipes use
_POSE_ONLY = ("image_hw", "annotation_hw", "parsing", "store_heatmaps")
# recipe kinds of image folders
_FOLDER_KINDS = ("aligned", "faces")


EXAMPLES = """\b
Examples:
  pgdata build --recipe deepfashion --source data/fashion --out shards/fashion
  pgdata build --recipe viton-hd --source VITON-HD --out shards/viton --dask tcp://head:8786
  pgdata build --recipe aligned --source facades --out shards/facades --strict
  pgdata build --recipe faces --source celeba-hq --out shards/faces --image-size 256x256
"""
"""The end of ``--help``: real invocations (``\\b`` keeps click from rewrapping them)."""


@click.command(
    short_help="Build HDF5 shards (pose transfer, try-on, aligned A|B, faces).", epilog=EXAMPLES
)
@bundled_option(
    "--recipe",
    "pipelines",
    help="Recipe: a bundled name (deepfashion, market1501, viton-hd, aligned, faces; see `pgdata recipes`) or a TOML file; flags override its [build] values.",
)
@click.option(
    "--source",
    type=DIR,
    required=True,
    help="Pose transfer: what `pgdata build-pairs` wrote (annotation and pair CSVs, <split>/ images, parsing/<split>/ maps). Try-on: the VITON-HD root. Aligned / faces: a folder of images, with train/ val/ test/ folders or flat.",
)
@out_dir_option("Shard folder to write (resumes an interrupted build of the same inputs).")
@workers_option(
    "Processes writing shards in parallel (one writer per file).  [recipe, else 1]", default=None
)
@dask_options("shard (and try-on stage)")
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
    help="HEIGHTxWIDTH of stored images; others are resized (faces: square, the crop size).  [recipe, else 256x176; faces 256x256]",
)
@click.option(
    "--annotation-size",
    "annotation_hw",
    type=SizeHW(),
    default=None,
    help="Pose transfer: HEIGHTxWIDTH frame the annotation CSVs' keypoints are in, whatever size the images have (images of another size are resized to it).  [recipe, else the source's build-pairs.json, else 256x176 DeepFashion, 128x64 Market-1501]",
)
@quality_option(
    "JPEG quality for re-encoded images.  [recipe, else 95]",
    default=None,
    minimum=1,
    dest="jpeg_quality",
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
@click.option(
    "--strict/--no-strict",
    default=None,
    help="Stop at the first bad image before writing anything, instead of repairing or skipping "
    "and counting it (pose transfer: an image not at the annotation frame; aligned: an odd width; "
    "faces: too small; all: unreadable).  [recipe, else no]",
)
@click.option("--overwrite", is_flag=True, help="Replace shards of a different build in --out.")
@click.option(
    "--follow-symlinks",
    is_flag=True,
    help="Pose transfer: also read images that are symbolic links to files outside --source "
    "(refused otherwise; '..' in a name is always refused).",
)
def build(
    recipe: Path | None,
    source: Path,
    out: Path,
    overwrite: bool,
    profile: bool,
    strict: bool | None,
    follow_symlinks: bool,
    **flags: Any,
) -> None:
    """Write HDF5 shards into OUT: pose-transfer (JPEG bytes, keypoints, parsing, pair index) from
    a build-pairs folder, or try-on (pipelines/viton-hd.toml: runs the missing preprocessing stages on
    the VITON-HD root SOURCE, then one record per pair-list line).

    Shards are written to NAME.<pid>-<random>.partial and renamed when complete; manifest.json
    comes last. With --dask the shard tasks (and a try-on recipe's stage work) run on a Dask
    cluster instead of local processes: the same shards, the same manifest.
    Rerun the same command after a crash to resume: complete shards whose bytes are the ones
    recorded when they were written are kept and the manifest is the same as an uninterrupted
    build's. One build per OUT at a time (OUT/.pgdata-lock). Bad items are repaired or listed in
    OUT/rejected.csv.

    Aligned recipes import pix2pix's A|B images as they are; faces recipes crop each photo to its
    centred square and resize it (photos smaller than the crop are skipped).
    """
    spec = load_recipe(recipe)
    table = spec.table("build")
    if follow_symlinks and spec.kind != "pose-transfer":
        raise click.UsageError("--follow-symlinks applies to pose-transfer recipes")
    if spec.kind in _FOLDER_KINDS:
        _build_folder(spec, table, source, out, overwrite, strict, flags)
        return
    if spec.kind == "tryon":
        if strict is not None:
            raise click.UsageError(
                "--strict applies to pose-transfer, aligned and faces recipes (try-on: "
                "`pgdata tryon --strict`)"
            )
        pose_only = sorted(k for k in _POSE_ONLY if flags[k] is not None)
        if pose_only:
            raise click.UsageError(
                f"{', '.join(pose_only)}: pose-transfer options; not used by try-on recipes"
            )
        tryon_cfg = config_from_mapping(
            TryonBuildConfig,
            table,
            origin=spec.origin,
            source=source,
            out=out,
            recipe=spec,
            overwrite=overwrite,
            profile=profile,
            shard_mb=flags["shard_mb"],
            jpeg_quality=flags["jpeg_quality"],
            workers=flags["workers"],
            dask=flags["dask"],
            dask_retries=flags["dask_retries"],
        )
        run_job(
            lambda update: run_build_tryon(tryon_cfg, progress=update),
            desc="build",
            notes=lambda r: [*r.notes, *([r.stages.summary()] if r.stages else []), r.times()],
            lines=lambda r: r.shards,
        )
        return
    cfg = config_from_mapping(
        BuildConfig,
        table,
        origin=spec.origin,
        source=source,
        out=out,
        overwrite=overwrite,
        strict=strict,
        follow_symlinks=follow_symlinks or None,
        **flags,
    )
    run_job(
        lambda update: run_build(cfg, progress=update),
        desc="build",
        notes=lambda r: [*r.notes, r.times()],
        lines=lambda r: r.shards,
    )


def _build_folder(
    spec: Recipe,
    table: dict[str, Any],
    source: Path,
    out: Path,
    overwrite: bool,
    strict: bool | None,
    flags: dict[str, Any],
) -> None:
    """``pgdata build`` for the image-folder kinds: aligned A|B images and faces."""
    unused = ["parsing", "store_heatmaps", "annotation_hw"] + (
        ["image_hw", "jpeg_quality"] * (spec.kind == "aligned")
    )
    given = sorted(k for k in unused if flags[k] is not None)
    if given:
        raise click.UsageError(f"{', '.join(given)}: not used by {spec.kind} recipes")
    common = {
        "origin": spec.origin,
        "source": source,
        "out": out,
        "overwrite": overwrite,
        "strict": strict,
        "shard_mb": flags["shard_mb"],
        "workers": flags["workers"],
        "dask": flags["dask"],
        "dask_retries": flags["dask_retries"],
    }
    if spec.kind == "aligned":
        aligned = config_from_mapping(AlignedBuildConfig, table, **common)
        run_job(
            lambda update: run_build_aligned(aligned, progress=update),
            desc="build",
            notes=lambda r: [r.times()],
            lines=lambda r: r.shards,
        )
        return
    size = None
    if flags["image_hw"] is not None:
        h, w = flags["image_hw"]
        if h != w:
            raise click.BadParameter(
                f"faces are square: give SIZExSIZE, not {h}x{w}", param_hint="--image-size"
            )
        size = h
    faces = config_from_mapping(
        FacesBuildConfig, table, size=size, jpeg_quality=flags["jpeg_quality"], **common
    )
    run_job(
        lambda update: run_build_faces(faces, progress=update),
        desc="build",
        notes=lambda r: [r.times()],
        lines=lambda r: r.shards,
    )


@click.command(
    short_help="Check a shard folder: manifest, hashes, schema, images.",
    epilog=examples("pgdata verify shards/fashion", "pgdata verify shards/viton --quick"),
)
@click.argument("folder", type=DIR)
@click.option("--quick", is_flag=True, help="Skip decoding every image.")
def verify(folder: Path, quick: bool) -> None:
    """Verify FOLDER: the manifest, every shard's presence, size and sha256, the schema, equal column
    lengths, the pair index, and (unless --quick) that every image decodes. Exits 1 on any fault,
    naming the shard and the record."""
    report = run_job(
        lambda update: verify_shards(folder, quick=quick, progress=update),
        desc="verify",
        notes=lambda r: r.faults,
    )
    if report.faults:
        click.get_current_context().exit(1)
    if not report.shards:  # a sound but empty folder: the build behind it kept nothing
        raise click.ClickException(
            f"{folder}: the manifest lists 0 shards: the build behind it kept no record (its "
            "rejected.csv names why); fix the input and rebuild"
        )


@click.command(
    short_help="Describe a shard folder.",
    epilog=examples("pgdata info shards/fashion", "pgdata info shards/fashion --json"),
)
@click.argument("folder", type=DIR)
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
