"""``pgdata sample``: write a synthetic In-shop, VITON-HD, aligned A|B or faces sample."""

from __future__ import annotations

from pathlib import Path

import click

from pgdata.cli._common import (
    SizeHW,
    choice_option,
    make_config,
    out_dir_option,
    run_job,
    seed_option,
    workers_option,
)
from pgdata.jobs.aligned.sample import AlignedSampleConfig, run_aligned_sample
from pgdata.jobs.faces.sample import FacesSampleConfig, run_faces_sample
from pgdata.jobs.posetransfer.sample import SampleConfig, run_sample
from pgdata.jobs.tryon.sample import TryonSampleConfig, run_tryon_sample

KINDS = ("inshop", "tryon", "aligned", "faces")
TRYON_SIZE_HW = (1024, 768)  # VITON-HD's person and garment size
SMALL_SIZE_HW = (256, 256)  # aligned halves and the faces' crop size, as facades and DMFN
DEFAULT_VIEWS = 4  # In-shop images per identity


EXAMPLES = """\b
Examples:
  pgdata sample --out out/inshop --ids 24
  pgdata sample --out out/viton --kind tryon --ids 4 --size 256x192
  pgdata sample --out out/facades --kind aligned --ids 40
  pgdata sample --out out/faces --kind faces --ids 64 --size 128x128
"""
"""The end of ``--help``: real invocations (``\\b`` keeps click from rewrapping them)."""


@click.command(short_help="Write a synthetic DeepFashion In-shop sample dataset.", epilog=EXAMPLES)
@out_dir_option("Folder to write the sample into.", old_argument="out_argument")
@click.option(
    "--ids",
    default=24,
    show_default=True,
    type=click.IntRange(min=1),
    help="Number of identities (tryon: persons; aligned, faces: training images).",
)
@click.option(
    "--views",
    type=click.IntRange(1, 6),
    help=f"Images per identity (In-shop view kinds: front, side, back, full, additional, flat); inshop only.  [default: {DEFAULT_VIEWS}]",
)
@seed_option("Random seed; same seed, same bytes.")
@workers_option("Rendering processes.")
@choice_option(
    "--kind",
    choices=KINDS,
    help="inshop: DeepFashion In-shop tree; tryon: VITON-HD persons and garments; aligned: "
    "pix2pix A|B images (label map | rendering); faces: face photos with landmarks.",
)
@click.option(
    "--size",
    "size_hw",
    type=SizeHW(),
    help="tryon: HEIGHTxWIDTH of persons and garments [1024x768]; aligned: of each half "
    "[256x256]; faces: SIZExSIZE, the smallest photo side [256x256].",
)
def sample(
    out: Path,
    ids: int,
    views: int | None,
    seed: int,
    workers: int,
    kind: str,
    size_hw: tuple[int, int] | None,
) -> None:
    """Write a deterministic synthetic dataset in the DeepFashion In-shop layout into --out.

    Images are 256x256 like the real In-shop low-res release (img/<MEN|WOMEN>/<Category>/
    id_XXXXXXXX/NN_k_view.jpg), with CIHP parsing PNGs (parsing/...), COCO-18 keypoints in the
    PATN annotation format (keypoints.csv, 256x256 frame) and list_eval_partition.txt. Persons are
    drawn from their keypoints, so image, parsing and keypoints agree.

    With --kind tryon: a VITON-HD root (test/image, test/cloth with JPEG and transparent PNG
    garments) plus precomputed/ parser, OpenPose and DensePose outputs for `pgdata tryon`.

    With --kind aligned: train/ val/ test/ folders of A|B images for pix2pix (A = a facade's colour
    label map, B = its rendering). With --kind faces: train/ and test/ face photos of varied sizes
    and landmarks.csv (five points each) for DMFN inpainting.
    """
    if views is not None and kind != "inshop":
        raise click.UsageError(f"--views applies to --kind inshop, not --kind {kind}")
    if kind in ("aligned", "faces"):
        _sample_small(kind, out, ids, seed, size_hw or SMALL_SIZE_HW)
        return
    if kind == "tryon":
        tryon_cfg = make_config(
            TryonSampleConfig, out=out, persons=ids, seed=seed, size_hw=size_hw or TRYON_SIZE_HW
        )
        run_job(
            lambda update: run_tryon_sample(tryon_cfg, progress=update), desc="sample", total=ids
        )
        return
    if size_hw is not None:
        raise click.UsageError(
            "--size applies to --kind tryon, aligned, faces (In-shop samples are 256x256)"
        )
    views = views or DEFAULT_VIEWS
    cfg = make_config(SampleConfig, out=out, ids=ids, views=views, seed=seed, workers=workers)
    run_job(lambda update: run_sample(cfg, progress=update), desc="sample", total=ids * views)


def _sample_small(kind: str, out: Path, n: int, seed: int, size_hw: tuple[int, int]) -> None:
    """``--kind aligned`` and ``--kind faces``."""
    if kind == "aligned":
        aligned = make_config(AlignedSampleConfig, out=out, n=n, size_hw=size_hw, seed=seed)
        total = sum(aligned.counts().values())
        run_job(
            lambda update: run_aligned_sample(aligned, progress=update), desc="sample", total=total
        )
        return
    if size_hw[0] != size_hw[1]:
        raise click.BadParameter(
            f"faces: give SIZExSIZE (the smallest photo side), not {size_hw[0]}x{size_hw[1]}",
            param_hint="--size",
        )
    faces = make_config(FacesSampleConfig, out=out, n=n, size=size_hw[0], seed=seed)
    total = sum(faces.counts().values())
    run_job(lambda update: run_faces_sample(faces, progress=update), desc="sample", total=total)
