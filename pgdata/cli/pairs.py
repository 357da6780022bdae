"""``pgdata build-pairs``: pose-transfer pair lists in the PATN/GFLA/DPTN format."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import click

from pgdata.cli._common import (
    FILE,
    SizeHW,
    choice_option,
    echo_result,
    examples,
    make_config,
    out_dir_option,
    quality_option,
    run_job,
    seed_option,
    shown_option,
    source_option,
    strict_option,
    workers_option,
)
from pgdata.io.inshop import NAMINGS, Naming
from pgdata.io.pose_csv import DATASETS, Dataset
from pgdata.jobs.posetransfer.build_pairs import BuildPairsConfig, run_build_pairs
from pgdata.labels import COCO18_JOINTS, TORSO_JOINTS
from pgdata.stages.pairs import GROUP_KEYS, GroupKey, PairRule

VITON_HD = "viton-hd"  # --dataset value that takes the try-on code path


def _joints(ctx: click.Context, param: click.Parameter, value: str) -> tuple[int, ...]:
    if value.strip().lower() == "none":
        return ()
    try:
        joints = tuple(int(v) for v in value.split(","))
    except ValueError:
        raise click.BadParameter(
            "expected comma-separated COCO-18 joint indices, e.g. 2,5,8,11, or 'none'"
        ) from None
    bad = [j for j in joints if not 0 <= j < len(COCO18_JOINTS)]
    if bad:
        raise click.BadParameter(f"joint indices must be 0..17 (COCO-18), got {bad}")
    return joints


def _prefixes(ctx: click.Context, param: click.Parameter, value: str) -> tuple[str, ...]:
    return tuple(p for p in value.split(",") if p) if value.strip().lower() != "none" else ()


@click.command(
    "build-pairs",
    short_help="Build pose-transfer pair lists (and annotations, images).",
    epilog=examples(
        "pgdata build-pairs --dataset deepfashion --source In-shop --images 256x176 --out data/fashion",
        "pgdata build-pairs --dataset market1501 --annotations-test market-annotation-test.csv --out data/market",
    ),
)
@click.option(
    "--dataset",
    type=click.Choice((*DATASETS, VITON_HD)),
    required=True,
    help="Which dataset: a pose-transfer one, or viton-hd (try-on train_pairs.txt / test_pairs.txt from --source).",
)
@source_option(
    "Dataset tree: In-shop (img/, list_eval_partition.txt) or Market-1501 (bounding_box_train/, bounding_box_test/); viton-hd: the try-on root.",
    required=False,
    old="--root",
)
@click.option(
    "--annotations-train",
    type=FILE,
    help="Existing annotation CSV (name:keypoints_y:keypoints_x) of the train split.",
)
@click.option("--annotations-test", type=FILE, help="Existing annotation CSV of the test split.")
@out_dir_option("Output folder.")
@click.option(
    "--keypoints",
    type=click.Path(exists=True, path_type=Path),
    help="With --source: an annotation CSV (in the --keypoints-size frame; its row order is kept), or a folder of OpenPose JSON files (<stem>_keypoints.json, BODY_25 or COCO-18, in each image's pixels). Default: SOURCE/keypoints.csv (what `pgdata sample` writes).",
)
@click.option(
    "--keypoints-size",
    "keypoints_hw",
    type=SizeHW(),
    help="HEIGHTxWIDTH frame of the --keypoints CSV, whatever size the images have (images of another size are resized to it).  [256x256 DeepFashion (In-shop low-res), 128x64 Market-1501]",
)
@choice_option(
    "--naming",
    choices=NAMINGS,
    help="DeepFashion flat names: patn = fashionWOMENBlouses_Shirtsid..._1front.jpg (PATN/GFLA/DPTN), defgan = fasionWOMENBlousesShirtsid... (Deformable-GAN).",
)
@click.option(
    "--train-list",
    type=FILE,
    help="PATN train.lst (split by name list instead of the In-shop partition file).",
)
@click.option("--test-list", type=FILE, help="PATN test.lst.")
@click.option(
    "--images",
    "images_hw",
    type=SizeHW(),
    help="Also write images into OUT/train and OUT/test at this HEIGHTxWIDTH (DeepFashion: 256x176, the reference centred 40-column crop of 256x256).",
)
@quality_option("JPEG quality of re-encoded images.")
@click.option(
    "--group-key",
    type=click.Choice(GROUP_KEYS),
    default=None,
    help="Pair grouping: prefix = text before the first '_' (reference); outfit = text before the last '_'. Default: outfit when the names are PATN-style DeepFashion names (fashionWOMENBlouses_Shirts...; the key is inferred from PATN's published counts, see docs), else prefix.",
)
@shown_option(
    "--required-joints",
    default=",".join(map(str, TORSO_JOINTS)),
    callback=_joints,
    help="Keep an image only if these COCO-18 joints are present ('none' keeps all).",
)
@shown_option(
    "--exclude-prefixes",
    default="-1,0000",
    callback=_prefixes,
    help="Drop names starting with these (Market-1501 junk and distractors); 'none' keeps all.",
)
@click.option(
    "--max-pairs-per-group",
    type=click.IntRange(min=1),
    default=None,
    help="Cap pairs per group (seeded choice, order kept). Default: no cap (reference).",
)
@shown_option(
    "--test-cap",
    type=click.IntRange(min=1),
    default=12000,
    help="Keep at most this many test pairs (seeded permutation, reference 12000).",
)
@click.option(
    "--no-test-cap", is_flag=True, help="Keep every test pair, in group order (no shuffle)."
)
@seed_option("Seed of the test permutation (RandomState) and the per-group cap.")
@strict_option("Fail on the first bad item instead of listing it in rejected.csv.")
@click.option(
    "--unpaired",
    is_flag=True,
    help="viton-hd: give each person a seeded random other garment (unpaired lists) instead of its own.",
)
@workers_option("Processes for image conversion.")
@click.option(
    "--follow-symlinks",
    is_flag=True,
    help="Also read tree images that are symbolic links to files outside --source "
    "(refused otherwise).",
)
def build_pairs(
    dataset: Dataset | Literal["viton-hd"],
    source: Path | None,
    annotations_train: Path | None,
    annotations_test: Path | None,
    out: Path,
    keypoints: Path | None,
    keypoints_hw: tuple[int, int] | None,
    naming: Naming,
    train_list: Path | None,
    test_list: Path | None,
    images_hw: tuple[int, int] | None,
    quality: int,
    group_key: GroupKey | None,
    required_joints: tuple[int, ...],
    exclude_prefixes: tuple[str, ...],
    max_pairs_per_group: int | None,
    test_cap: int,
    no_test_cap: bool,
    seed: int,
    strict: bool,
    unpaired: bool,
    workers: int,
    follow_symlinks: bool,
) -> None:
    """Write the pair lists PATN, GFLA and DPTN read, byte-compatible with the published CSVs.

    \b
    From annotation CSVs:  --annotations-train/--annotations-test FILE -> OUT/<pairs>.csv
    From a dataset tree:   --source DIR -> annotation CSVs, pair CSVs, rejected.csv
                           (and, with --images, OUT/train/*.jpg, OUT/test/*.jpg)

    Pair rule (reference defaults): keep images with both shoulders and both hips, group by
    identity, every ordered pair of distinct images in file order; the test list is shuffled by
    RandomState(seed) and capped at --test-cap. Rows keep the order of the annotation CSV they
    come from (split lists order rows only for OpenPose JSON keypoints). Keypoints are never
    rescaled by an image's size: an image not at its keypoints' frame is resized to it.
    """
    if dataset == VITON_HD:
        _viton_pairs(source, out, unpaired, seed, annotations_train or annotations_test)
        return
    if unpaired:
        raise click.UsageError("--unpaired applies to --dataset viton-hd")
    rule = PairRule(
        required_joints=required_joints,
        exclude_prefixes=exclude_prefixes,
        key=group_key,
        max_pairs_per_group=max_pairs_per_group,
        test_cap=None if no_test_cap else test_cap,
        seed=seed,
    )
    cfg = make_config(
        BuildPairsConfig,
        dataset=dataset,
        out=out,
        root=source,
        annotations_train=annotations_train,
        annotations_test=annotations_test,
        keypoints=keypoints,
        keypoints_hw=keypoints_hw,
        naming=naming,
        train_list=train_list,
        test_list=test_list,
        images_hw=images_hw,
        jpeg_quality=quality,
        rule=rule,
        strict=strict,
        workers=workers,
        follow_symlinks=follow_symlinks,
    )
    run_job(
        lambda update: run_build_pairs(cfg, progress=update),
        desc="images",
        lines=lambda r: r.files,
    )


def _viton_pairs(
    root: Path | None, out: Path, unpaired: bool, seed: int, annotations: Path | None
) -> None:
    """``--dataset viton-hd``: VITON-HD pair lists of the split folders under --root."""
    from pgdata.jobs.tryon.pairs import VitonPairsConfig, run_viton_pairs

    if root is None or annotations is not None:
        raise click.UsageError(
            "--dataset viton-hd needs --source (SOURCE/image/ + SOURCE/cloth/, or SOURCE/train/ "
            "and SOURCE/test/)"
        )
    cfg = VitonPairsConfig(root=root, out=out, unpaired=unpaired, seed=seed)
    result = run_viton_pairs(cfg)
    for item, reason in result.rejected:
        click.echo(f"rejected {item}: {reason}", err=True)
    for path in result.files:
        echo_result(str(path))
    echo_result(result.summary())
