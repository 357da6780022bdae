"""``pgdata eval`` (a trained model's test outputs, or any two folders) and ``pgdata export``."""

from __future__ import annotations

from pathlib import Path

import click

from pgdata.cli._common import DIR, SizeHW, choice_option, make_config, run_job, shown_option
from pgdata.metrics.presets import PRESETS

__all__ = ["eval_cmd", "export_cmd"]

EVAL_EXAMPLES = """\b
Examples:
  pgdata eval --run runs/dptn --data shards/fashion --out reports/dptn --pad-white 256 --speed
  pgdata eval --pred out/ --gt test/image --out report --preset ssim_hrviton --preset lpips_hrviton
"""
EXPORT_EXAMPLES = """\b
Examples:
  pgdata export --checkpoint runs/dptn-student --format onnx --out student.onnx
  pgdata export --checkpoint runs/dmfn/ckpt-100000.pt --format torchscript --out dmfn.pt
"""
"""The end of ``--help``: real invocations (``\\b`` keeps click from rewrapping them)."""

PATH = click.Path(exists=True, path_type=Path)


@click.command(
    "eval",
    short_help="Score a trained model's test outputs, or any two folders of images.",
    epilog=EVAL_EXAMPLES,
)
@click.option("--run", type=DIR, help="Run folder of `pgdata train` (its newest checkpoint).")
@click.option("--checkpoint", type=PATH, help="A checkpoint file (instead of or with --run).")
@click.option(
    "--data", "--source", "data", type=DIR, help="Shard folder to generate from (with --run)."
)
@click.option("--pred", type=DIR, help="Folder of generated images (folder mode, with --gt).")
@click.option("--gt", type=DIR, help="Folder of ground-truth images, matched by file name.")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Report folder: metrics.json, metrics.csv, pairs.csv, index.html (+ generated/, target/).",
)
@click.option(
    "--preset",
    "presets",
    multiple=True,
    type=click.Choice(list(PRESETS)),
    help="Metric preset (repeatable).  [psnr, ssim_patn, ssim_gfla51, fid_tf, lpips_alex; "
    "+ params with --run, + speed with --speed]",
)
@click.option(
    "--pad-white",
    type=click.IntRange(min=1),
    default=None,
    help="Pad PSNR/SSIM inputs with white to this width (256: DPTN/PATN on 256x176).",
)
@click.option(
    "--weights-dir",
    type=PATH,
    default=None,
    help="Folder of pretrained weight files (else $PGDATA_WEIGHTS_DIR, the torch hub cache).",
)
@click.option("--lpips-heads", type=PATH, default=None, help="LPIPS v0.1 alex.pth.")
@click.option(
    "--fid-real", type=PATH, default=None, help="FID real set: image folder or stats .npz."
)
@click.option("--fid-real-split", default=None, help="Split the FID real set is (recorded).")
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Cache FID real statistics here.",
)
@click.option("--strict", is_flag=True, help="Missing, extra or unreadable files are errors.")
@choice_option("--match", choices=("name", "stem"), help="Match --pred and --gt files by.")
@click.option("--split", default="test", show_default=True, help="Shard split to evaluate.")
@click.option("--mask-set", type=DIR, default=None, help="Fixed inpainting masks (`pgdata masks`).")
@click.option("--speed", is_flag=True, help="Time the generator: eager and ONNX Runtime.")
@click.option("--onnx", type=PATH, default=None, help="With --speed: an exported .onnx to time.")
@click.option(
    "--limit", type=click.IntRange(min=1), default=None, help="Evaluate the first N pairs only."
)
@shown_option("--batch-size", default=16, type=click.IntRange(min=1), help="Images per batch.")
@shown_option("--workers", default=0, type=click.IntRange(min=0), help="Loader processes.")
@shown_option("--device", default="auto", help="auto, cpu, cuda or cuda:N.")
def eval_cmd(
    run: Path | None,
    checkpoint: Path | None,
    data: Path | None,
    pred: Path | None,
    gt: Path | None,
    out: Path,
    presets: tuple[str, ...],
    pad_white: int | None,
    weights_dir: Path | None,
    lpips_heads: Path | None,
    fid_real: Path | None,
    fid_real_split: str | None,
    cache_dir: Path | None,
    strict: bool,
    match: str,
    split: str,
    mask_set: Path | None,
    speed: bool,
    onnx: Path | None,
    limit: int | None,
    batch_size: int,
    workers: int,
    device: str,
) -> None:
    """Score generated images under the papers' protocols and write a report folder.

    Model mode (--run and/or --checkpoint, with --data): generate the split's outputs in batches
    on --device as PNG at the dataset's size (pose transfer named as DPTN does:
    SOURCE_2_TARGET_vis.png; inpainting scored on the composite), then score them. Folder mode
    (--pred with --gt): score any two folders matched by file name (try-on results, other code's
    outputs). Presets whose weight files are absent are skipped with the reason. Prints one line
    per preset, the path of index.html, then a summary.
    """
    from pgdata.jobs.evaluate.common import ScoreOptions

    model = run is not None or checkpoint is not None
    folders = pred is not None or gt is not None
    if model == folders:
        raise click.UsageError(
            "give --run/--checkpoint with --data (a trained model), or --pred with --gt (folders)"
        )
    options = make_config(
        ScoreOptions,
        presets=presets,
        pad_white=pad_white,
        weights=weights_dir,
        lpips_heads=lpips_heads,
        fid_real=fid_real,
        fid_real_split=fid_real_split,
        cache_dir=cache_dir,
        batch_size=batch_size,
        device=device,
    )
    if folders:
        if pred is None or gt is None:
            raise click.UsageError("folder mode needs both --pred and --gt")
        for flag, value in (("--speed", speed), ("--mask-set", mask_set), ("--onnx", onnx)):
            if value:
                raise click.UsageError(f"{flag} needs a trained model (--run or --checkpoint)")
        from pgdata.jobs.evaluate.folders import EvalFoldersConfig, run_eval_folders

        fcfg = make_config(
            EvalFoldersConfig, pred=pred, gt=gt, out=out, options=options, strict=strict,
            match=match,
        )  # fmt: skip
        run_job(
            lambda update: run_eval_folders(fcfg, update),
            desc="eval",
            notes=lambda r: r.notes,
            lines=lambda r: r.lines(),
        )
        return
    if data is None:
        raise click.UsageError("model mode needs --data SHARDS (the shards to generate from)")
    from pgdata.jobs.evaluate.model import EvalModelConfig, run_eval_model

    mcfg = make_config(
        EvalModelConfig, data=data, out=out, run=run, checkpoint=checkpoint, split=split,
        options=options, speed=speed, onnx=onnx, mask_set=mask_set, workers=workers, limit=limit,
    )  # fmt: skip
    run_job(
        lambda update: run_eval_model(mcfg, update),
        desc="generate",
        notes=lambda r: r.notes,
        lines=lambda r: r.lines(),
    )


@click.command(
    "export",
    short_help="Export a trained generator alone as ONNX or TorchScript.",
    epilog=EXPORT_EXAMPLES,
)
@click.option(
    "--checkpoint",
    type=PATH,
    required=True,
    help="A checkpoint file, or a run folder (its newest checkpoint).",
)
@choice_option("--format", "fmt", choices=("onnx", "torchscript"), help="File format.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="File to write (e.g. generator.onnx, generator.pt).",
)
@click.option(
    "--size",
    type=SizeHW(),
    default=None,
    help="Image size HxW to export at.  [the size the model was trained at]",
)
@choice_option("--exporter", choices=("dynamo", "legacy"), help="ONNX exporter of torch.")
@click.option("--opset", type=click.IntRange(min=17), default=None, help="ONNX opset [18].")
def export_cmd(
    checkpoint: Path,
    fmt: str,
    out: Path,
    size: tuple[int, int] | None,
    exporter: str,
    opset: int | None,
) -> None:
    """Write the generator alone (dynamic batch, fixed image size) and check the file: it is
    loaded back and run at batch 1 and 3, and its output must equal PyTorch's within 1e-4.
    Needs onnx, onnxruntime and onnxscript for ONNX (pip install 'pgdata[onnx]').
    """
    from pgdata.jobs.evaluate.export import ExportConfig, run_export

    cfg = make_config(
        ExportConfig, checkpoint=checkpoint, out=out, format=fmt, size_hw=size,
        exporter=exporter, opset=opset,
    )  # fmt: skip
    run_job(lambda update: run_export(cfg), desc=None)
