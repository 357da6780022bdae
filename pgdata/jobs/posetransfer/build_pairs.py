"""``pgdata build-pairs``: pose-transfer annotation CSVs, pair lists and resized images.

Two modes:

- **annotation files** (``annotations_train`` / ``annotations_test``): run the pair algorithm on
  existing annotation CSVs and write the pair lists only. This reproduces the published
  Market-1501 and Deformable-GAN pair files row for row.
- **dataset tree** (``root``): read a DeepFashion In-shop tree (or a Market-1501 tree with
  ``bounding_box_train/`` and ``bounding_box_test/``), take keypoints from OpenPose JSON files or
  an annotation CSV, split by PATN's lists or the In-shop partition file, and write the
  annotation CSVs in the pose-transfer frame (256×176 for DeepFashion, with the reference
  40-column crop), the pair lists and, with ``images``, the cropped/resized images in
  ``out/train`` and ``out/test``.

Frames. The keypoints of an annotation CSV are in that file's frame (``keypoints_hw``: 256×256
for DeepFashion, the In-shop low-res frame of the Deformable-GAN files; 128×64 for Market-1501),
whatever size the images have; OpenPose JSON keypoints are in their image's own pixels. They are
moved to the output frame by the reference crop/resize of that frame, never by an image's size.
An image that is not at its keypoints' frame is resized to it before the crop (a repair named in
the summary), or stops the run under ``strict``.

Row order. With keypoints from an annotation CSV the rows of each split keep **that file's row
order** (the published test pairs are a seeded shuffle by row position, so any other order
changes them); with OpenPose JSON keypoints, which give no order, rows follow PATN's split lists
when given, else the image paths.

Outputs are written atomically; ``build-pairs.json`` (counts, the output frame ``frame_hw`` that
``pgdata build`` reads, and the resolved config) last. A run that keeps no image sets
``problem`` (the CLI exits 1).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np

from pgdata import __version__
from pgdata.config import check_number
from pgdata.errors import ConfigError, InputFormatError
from pgdata.io import inshop
from pgdata.io.atomic import atomic_write_bytes, atomic_write_text
from pgdata.io.files import read_bytes
from pgdata.io.images import decode_label_png, decode_rgb, encode_jpeg, encode_png
from pgdata.io.pose_csv import (
    FRAME,
    SOURCE_FRAME,
    SPLITS,
    Annotations,
    Dataset,
    output_names,
    read_annotations,
    write_annotations,
    write_pairs,
)
from pgdata.io.reports import (
    REJECTED_CSV,
    count_reasons,
    counted,
    nothing_kept,
    write_rejected_csv,
)
from pgdata.jobs.posetransfer.build import frame_repair
from pgdata.jobs.posetransfer.trees import Row, crop_params, rows_from_tree
from pgdata.parallel import parallel_map
from pgdata.stages.keypoints import yx_to_xyc
from pgdata.stages.pairs import PairRule, PairStats, make_pairs
from pgdata.stages.parsing import resize_parsing

__all__ = ["BuildPairsConfig", "BuildPairsResult", "SplitSummary", "run_build_pairs"]


@dataclass(frozen=True)
class BuildPairsConfig:
    """Resolved options of ``pgdata build-pairs`` (saved into ``build-pairs.json``)."""

    dataset: Dataset
    out: Path
    root: Path | None = None
    annotations_train: Path | None = None
    annotations_test: Path | None = None
    keypoints: Path | None = None
    naming: inshop.Naming = "patn"
    train_list: Path | None = None
    test_list: Path | None = None
    images_hw: tuple[int, int] | None = None
    keypoints_hw: tuple[int, int] | None = None  # frame of a --keypoints CSV (None: the dataset's)
    jpeg_quality: int = 95
    rule: PairRule = field(default_factory=PairRule)
    strict: bool = False
    workers: int = 1
    follow_symlinks: bool = False  # read tree files that are links to places outside ``root``

    def __post_init__(self) -> None:
        files = self.annotations_train is not None or self.annotations_test is not None
        if (self.root is None) == (not files):
            raise ConfigError(
                "give either --source DIR (a dataset tree) or --annotations-train/"
                "--annotations-test FILE (existing annotation CSVs), not both and not neither"
            )
        if files and (
            self.images_hw
            or self.keypoints
            or self.keypoints_hw
            or self.train_list
            or self.test_list
        ):
            raise ConfigError(
                "--images, --keypoints, --keypoints-size, --train-list and --test-list need "
                "--source (a dataset tree; annotation files carry no images)"
            )
        if (self.train_list is None) != (self.test_list is None):
            raise ConfigError("give both --train-list and --test-list, or neither")
        check_number("workers", self.workers, ge=1)
        check_number("jpeg_quality", self.jpeg_quality, ge=1, le=100)

    @property
    def frame_hw(self) -> tuple[int, int]:
        """The output frame: ``images_hw``, else the dataset's pose-transfer frame."""
        return self.images_hw or FRAME[self.dataset]

    @property
    def source_frame_hw(self) -> tuple[int, int]:
        """The frame of a ``keypoints`` annotation CSV: ``keypoints_hw``, else the dataset's."""
        return self.keypoints_hw or SOURCE_FRAME[self.dataset]


@dataclass
class SplitSummary:
    """Counts for one split."""

    read: int = 0
    rejected: int = 0
    pairs: PairStats = field(default_factory=PairStats)


@dataclass
class BuildPairsResult:
    """What ``run_build_pairs`` did."""

    splits: dict[str, SplitSummary]
    rejected: list[tuple[str, str]]  # (item, reason)
    files: list[Path]
    repaired: dict[str, int] = field(default_factory=dict)  # kind -> images
    problem: str | None = None  # set when no image was kept: the CLI exits 1 with it

    def summary(self) -> str:
        """One line of counts for the CLI."""
        parts = []
        for split, s in self.splits.items():
            parts.append(
                f"{split}: read {s.read}, kept {s.pairs.kept}, rejected {s.rejected}, "
                f"key {s.pairs.key}, "
                f"{s.pairs.groups} groups ({s.pairs.singletons} with one image), "
                f"{s.pairs.pairs} pairs"
            )
        line = "build-pairs: " + "; ".join(parts)
        return line + (f"; repaired {counted(self.repaired)}" if self.repaired else "")


# --------------------------------------------------------------------------- annotation-file mode


def _dedupe(
    ann: Annotations, path: Path, strict: bool, rejected: list[tuple[str, str]]
) -> Annotations:
    first: dict[str, int] = {}
    keep: list[int] = []
    for i, (name, line) in enumerate(zip(ann.names, ann.lines, strict=True)):
        if name in first:
            reason = f"duplicate name in {path.name} (line {line}; first at line {first[name]})"
            if strict:
                raise InputFormatError(
                    path, f"duplicate name {name!r} (first at line {first[name]})", line=line
                )
            rejected.append((name, reason))
            continue
        first[name] = line
        keep.append(i)
    if len(keep) == len(ann):
        return ann
    return Annotations([ann.names[i] for i in keep], ann.yx[keep], [ann.lines[i] for i in keep])


def _from_files(
    cfg: BuildPairsConfig,
) -> tuple[dict[str, list[Row]], list[tuple[str, str]], dict[str, int]]:
    rows: dict[str, list[Row]] = {}
    rejected: list[tuple[str, str]] = []
    read: dict[str, int] = {}
    for split, path in (("train", cfg.annotations_train), ("test", cfg.annotations_test)):
        if path is None:
            continue
        ann = read_annotations(path)
        read[split] = len(ann)
        ann = _dedupe(ann, path, cfg.strict, rejected)
        rows[split] = [Row(n, yx, None) for n, yx in zip(ann.names, ann.yx, strict=True)]
    return rows, rejected, read


_ConvertTask = tuple[Path, Path, tuple[int, int], int, Path | None, Path | None, tuple[int, int]]


def _resize(rgb: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    """``rgb`` at ``hw`` (area when shrinking, bilinear when enlarging); as is when already."""
    if rgb.shape[:2] == hw:
        return rgb
    interp = cv2.INTER_AREA if rgb.shape[0] > hw[0] else cv2.INTER_LINEAR
    return cv2.resize(rgb, (hw[1], hw[0]), interpolation=interp)


def _convert_image(args: _ConvertTask) -> str | None:
    """Bring one image (and its parsing map) to its keypoints' frame ``from_hw``, then crop and
    resize it into the pose-transfer frame exactly as the keypoints were.

    Returns an error text or None. Parsing maps are label ids: resized with nearest neighbour
    only and cropped the same way.
    """
    src, dst, (h, w), quality, parsing_src, parsing_dst, from_hw = args
    crop, _, _ = crop_params(from_hw, (h, w))
    if parsing_src is not None and parsing_dst is not None:
        try:
            labels = decode_label_png(read_bytes(parsing_src), parsing_src)
        except (InputFormatError, OSError):
            return "unreadable parsing map (expected a grey 8-bit label PNG)"
        if labels.shape[:2] != from_hw:
            labels = resize_parsing(labels, from_hw)
        labels = labels[:, crop : labels.shape[1] - crop] if crop else labels
        atomic_write_bytes(parsing_dst, encode_png(resize_parsing(labels, (h, w))))
    try:
        data = read_bytes(src)
    except InputFormatError as e:  # not a regular file, too large, an I/O error
        return f"unreadable image ({e.message})"
    try:
        rgb = decode_rgb(data, src)
    except InputFormatError:
        return "cannot decode image"
    if rgb.shape[:2] == (h, w) == from_hw and src.suffix.lower() in (".jpg", ".jpeg"):
        atomic_write_bytes(dst, data)  # already in the frame: keep the original bytes
        return None
    rgb = _resize(rgb, from_hw)  # an image not at its keypoints' frame (a counted repair)
    rgb = rgb[:, crop : from_hw[1] - crop] if crop else rgb
    atomic_write_bytes(dst, encode_jpeg(_resize(rgb, (h, w)), quality))
    return None


def _write_images(
    cfg: BuildPairsConfig,
    rows: dict[str, list[Row]],
    rejected: list[tuple[str, str]],
    progress: Callable[[int], None] | None,
) -> dict[str, list[Row]]:
    assert cfg.images_hw is not None
    tasks: list[_ConvertTask] = [
        (
            r.source,
            cfg.out / split / r.name,
            cfg.images_hw,
            cfg.jpeg_quality,
            r.parsing,
            cfg.out / "parsing" / split / (r.name.rsplit(".", 1)[0] + ".png")
            if r.parsing
            else None,
            r.from_hw,
        )
        for split, rs in rows.items()
        for r in rs
        if r.source is not None
    ]
    errors = list(
        parallel_map(_convert_image, tasks, workers=cfg.workers, chunksize=64, progress=progress)
    )
    failed = {str(t[0]): e for t, e in zip(tasks, errors, strict=True) if e is not None}
    if failed and cfg.strict:
        src, err = next(iter(failed.items()))
        raise InputFormatError(src, err)
    out: dict[str, list[Row]] = {}
    for split, rs in rows.items():
        out[split] = []
        for r in rs:
            if str(r.source) in failed:
                rejected.append((r.name, failed[str(r.source)]))
            else:
                out[split].append(r)
    return out


def run_build_pairs(
    cfg: BuildPairsConfig, progress: Callable[[int], None] | None = None
) -> BuildPairsResult:
    """Build pair lists (and annotation CSVs and images in tree mode) into ``cfg.out``."""
    from_files = cfg.root is None
    repaired: Counter[str] = Counter()
    if from_files:
        rows, rejected, read = _from_files(cfg)
    else:
        rows, rejected, read = rows_from_tree(cfg)
        if cfg.images_hw is not None:
            rows = _write_images(cfg, rows, rejected, progress)
            repaired.update(  # only CSV keypoints have a frame of their own
                frame_repair(r.image_hw, r.from_hw, what="keypoint")
                for rs in rows.values()
                for r in rs
                if r.image_hw != r.from_hw
            )
    files: list[Path] = []
    splits: dict[str, SplitSummary] = {}
    for split in SPLITS:
        if split not in rows:
            continue
        names = [r.name for r in rows[split]]
        yx = np.stack([r.yx for r in rows[split]]) if names else np.zeros((0, 18, 2), np.int64)
        pairs, stats = make_pairs(names, yx_to_xyc(yx), cfg.rule, sample=(split == "test"))
        ann_name, pair_name = output_names(cfg.dataset, split)
        if not from_files:
            write_annotations(cfg.out / ann_name, names, yx)
            files.append(cfg.out / ann_name)
        write_pairs(cfg.out / pair_name, pairs)
        files.append(cfg.out / pair_name)
        splits[split] = SplitSummary(
            read=read.get(split, 0), rejected=read.get(split, 0) - len(names), pairs=stats
        )
    write_rejected_csv(cfg.out / REJECTED_CSV, rejected)
    files.append(cfg.out / REJECTED_CSV)
    kept = sum(len(rs) for rs in rows.values())
    problem = None if kept else _nothing_read(cfg, rejected)
    result = BuildPairsResult(splits, rejected, files, dict(repaired), problem)
    report = {
        "pgdata_version": __version__,
        "config": _jsonable(asdict(cfg)),
        "splits": {k: _jsonable(asdict(v)) for k, v in splits.items()},
        "rejected": len(rejected),
        "rejected_by_reason": dict(count_reasons(rejected)),
        "repaired": dict(repaired),
    }
    if not from_files:  # the frame of the annotation CSVs written here (`pgdata build` reads it)
        report["frame_hw"] = list(cfg.frame_hw)
    atomic_write_text(
        cfg.out / "build-pairs.json", json.dumps(report, indent=2, sort_keys=True) + "\n"
    )
    files.append(cfg.out / "build-pairs.json")
    return result


def _nothing_read(cfg: BuildPairsConfig, rejected: list[tuple[str, str]]) -> str:
    """The one line of a run that kept no image: what was expected, the commonest rejection."""
    if cfg.root is None:
        return nothing_kept("build-pairs read no annotation row from the CSVs given", rejected)
    expected = f"build-pairs read no image under {cfg.root}: expected " + (
        "img/<MEN|WOMEN>/<Category>/id_<8 digits>/<NN>_<k>_<view>.jpg photos with keypoints "
        "and a split (list_eval_partition.txt or --train-list/--test-list)"
        if cfg.dataset == "deepfashion"
        else "bounding_box_train/ and bounding_box_test/ photos with keypoints"
    )
    kp = cfg.keypoints or cfg.root / "keypoints.csv"
    return nothing_kept(
        expected,
        rejected,
        {
            "image without keypoint annotation": f"no image name matches a row of {kp} (try "
            "--naming defgan or --naming patn, or --keypoints with the right file)",
            "keypoint annotation without image": f"the photos named in {kp} are not under "
            f"{cfg.root}",
            "not in the split lists / partition file": "the split lists name other images "
            "(check --train-list/--test-list or list_eval_partition.txt)",
            "not an In-shop image name": "put the photos in the In-shop layout "
            "(img/<GENDER>/<Category>/id_<8 digits>/<NN>_<k>_<view>.jpg)",
            "unreadable image": "the photos do not decode: check the files",
        },
    )


def _jsonable(obj: object) -> object:
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    return obj
