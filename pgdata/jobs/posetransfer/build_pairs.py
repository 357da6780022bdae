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

Outputs are written atomically; ``build-pairs.json`` (counts and the resolved config) last.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np

from pgdata import __version__
from pgdata.errors import ConfigError, InputFormatError
from pgdata.io import inshop
from pgdata.io.atomic import atomic_write_bytes, atomic_write_text
from pgdata.io.files import read_bytes
from pgdata.io.images import decode_label_png, decode_rgb, encode_jpeg, encode_png, image_size
from pgdata.io.openpose import best_person, read_openpose
from pgdata.io.pose_csv import (
    FRAME,
    SPLITS,
    Annotations,
    Dataset,
    output_names,
    read_annotations,
    write_annotations,
    write_pairs,
)
from pgdata.io.reports import REJECTED_CSV, count_reasons, write_rejected_csv
from pgdata.parallel import parallel_map
from pgdata.stages.keypoints import body25_to_coco18, crop_resize_yx_reference, xyc_to_yx, yx_to_xyc
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
    jpeg_quality: int = 95
    rule: PairRule = field(default_factory=PairRule)
    strict: bool = False
    workers: int = 1

    def __post_init__(self) -> None:
        files = self.annotations_train is not None or self.annotations_test is not None
        if (self.root is None) == (not files):
            raise ConfigError(
                "give either --root DIR (a dataset tree) or --annotations-train/--annotations-test "
                "FILE (existing annotation CSVs), not both and not neither"
            )
        if files and (self.images_hw or self.keypoints or self.train_list or self.test_list):
            raise ConfigError(
                "--images, --keypoints, --train-list and --test-list need --root "
                "(annotation files carry no images)"
            )
        if (self.train_list is None) != (self.test_list is None):
            raise ConfigError("give both --train-list and --test-list, or neither")


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
        return "build-pairs: " + "; ".join(parts)


@dataclass
class _Row:
    name: str
    yx: np.ndarray  # (18, 2) int, pose-transfer frame
    source: Path | None  # image file (tree mode)
    parsing: Path | None = None  # parsing label PNG (tree mode, when the tree has one)


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
) -> tuple[dict[str, list[_Row]], list[tuple[str, str]], dict[str, int]]:
    rows: dict[str, list[_Row]] = {}
    rejected: list[tuple[str, str]] = []
    read: dict[str, int] = {}
    for split, path in (("train", cfg.annotations_train), ("test", cfg.annotations_test)):
        if path is None:
            continue
        ann = read_annotations(path)
        read[split] = len(ann)
        ann = _dedupe(ann, path, cfg.strict, rejected)
        rows[split] = [_Row(n, yx, None) for n, yx in zip(ann.names, ann.yx, strict=True)]
    return rows, rejected, read


# --------------------------------------------------------------------------------- dataset trees


def _crop_params(src_hw: tuple[int, int], dst_hw: tuple[int, int]) -> tuple[int, float, float]:
    """(crop_x, ratio_y, ratio_x) taking a source frame to the target by a centred column crop.

    256×256 → 256×176 gives the reference (40, 1.0, 1.0).
    """
    (sh, sw), (dh, dw) = src_hw, dst_hw
    scale = dh / sh
    keep_w = dw / scale
    if keep_w > sw + 1e-6:
        raise ConfigError(
            f"cannot make {dh}x{dw} images from {sh}x{sw} sources by cropping columns: the target "
            "is wider than the source's aspect ratio"
        )
    crop = round((sw - keep_w) / 2)
    return crop, dh / sh, dw / (sw - 2 * crop)


class _KeypointSource:
    """Keypoints for tree images: an annotation CSV or a folder of OpenPose JSON files."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.table: dict[str, np.ndarray] | None = None
        self.unused: set[str] = set()
        if path.is_file():
            ann = read_annotations(path)
            self.table = {n: yx_to_xyc(yx) for n, yx in zip(ann.names, ann.yx, strict=True)}
            self.unused = set(self.table)
        elif not path.is_dir():
            raise InputFormatError(
                path, "keypoints: expected an annotation CSV or a folder of OpenPose JSON files"
            )

    def get(self, candidates: Sequence[str], json_stems: Sequence[str]) -> np.ndarray | None:
        """(18, 3) keypoints for the first name found, None if the image has no annotation."""
        if self.table is not None:
            for name in candidates:
                if name in self.table:
                    self.unused.discard(name)
                    return self.table[name]
            return None
        for stem in json_stems:
            f = self.path / f"{stem}_keypoints.json"
            if f.is_file():
                person = best_person(read_openpose(f))
                if person is None:
                    return np.zeros((18, 3), dtype=np.float32)  # no person: an all-missing row
                return body25_to_coco18(person) if len(person) == 25 else person
        return None


@dataclass(frozen=True)
class _TreeImage:
    path: Path
    rel: str
    names: tuple[str, ...]  # output name first, then other spellings to look keypoints up by
    json_stems: tuple[str, ...]
    split: str | None
    parsing: Path | None = None


def _scan_deepfashion(
    cfg: BuildPairsConfig, root: Path, rejected: list[tuple[str, str]]
) -> list[_TreeImage]:
    images, strays = inshop.scan_images(root)
    for rel in strays:
        rejected.append(
            (rel, "not an In-shop image name (<GENDER>/<Category>/id_<8>/<NN>_<k>_<view>.jpg)")
        )
    image_root = inshop.find_image_root(root)
    split_of: dict[str, str]
    order: dict[str, int] = {}
    if cfg.train_list is not None and cfg.test_list is not None:
        train = inshop.read_split_list(cfg.train_list)
        test = inshop.read_split_list(cfg.test_list)
        split_of = {n: "train" for n in train}
        split_of.update({n: "test" for n in test})
        order = {n: i for i, n in enumerate(train + test)}
        by_list = True
    else:
        part = inshop.find_partition(root)
        if part is None:
            raise InputFormatError(
                root,
                "no split: give --train-list/--test-list (PATN train.lst/test.lst) or put the In-shop "
                "list_eval_partition.txt in the dataset root",
            )
        split_of = {
            rel: ("train" if status == "train" else "test")
            for rel, status in inshop.read_partition(part).items()
        }
        by_list = False
    out = []
    for img in images:
        names = (inshop.flat_name(img, cfg.naming),) + tuple(
            inshop.flat_name(img, n) for n in inshop.NAMINGS if n != cfg.naming
        )
        within = (root / img.rel_path).relative_to(image_root).as_posix().rsplit(".", 1)[0]
        stems = (within, img.rel_path.rsplit(".", 1)[0]) + tuple(n[:-4] for n in names)
        if by_list:
            split = next((split_of[n] for n in names if n in split_of), None)
        else:
            split = split_of.get("img/" + within + ".jpg", split_of.get(img.rel_path))
        parsing = root / "parsing" / (within + ".png")
        out.append(
            _TreeImage(
                root / img.rel_path,
                img.rel_path,
                names,
                stems,
                split,
                parsing if parsing.is_file() else None,
            )
        )
    if by_list:
        # rows follow the lists' order, as PATN's files do; unlisted images go last
        big = len(order)
        out.sort(key=lambda t: next((order[n] for n in t.names if n in order), big))
    return out


def _scan_market(root: Path, rejected: list[tuple[str, str]]) -> list[_TreeImage]:
    out = []
    for split, folder in (("train", "bounding_box_train"), ("test", "bounding_box_test")):
        d = root / folder
        if not d.is_dir():
            raise InputFormatError(root, f"no {folder}/ folder: expected a Market-1501 tree")
        for p in sorted(d.iterdir()):
            if p.suffix.lower() != ".jpg":
                if p.is_file() and not p.name.startswith("."):
                    rejected.append((f"{folder}/{p.name}", "not a .jpg file"))
                continue
            out.append(_TreeImage(p, f"{folder}/{p.name}", (p.name,), (p.stem,), split))
    return out


def _from_tree(
    cfg: BuildPairsConfig,
) -> tuple[dict[str, list[_Row]], list[tuple[str, str]], dict[str, int]]:
    assert cfg.root is not None  # validated
    root = cfg.root
    rejected: list[tuple[str, str]] = []
    if cfg.dataset == "deepfashion":
        images = _scan_deepfashion(cfg, root, rejected)
    else:
        images = _scan_market(root, rejected)
    kp_path = cfg.keypoints or root / "keypoints.csv"
    if not kp_path.exists():
        raise InputFormatError(
            kp_path,
            "no keypoints: give --keypoints with an annotation CSV or a folder of OpenPose JSON "
            "files (<image stem>_keypoints.json)",
        )
    source = _KeypointSource(kp_path)
    frame = cfg.images_hw or FRAME[cfg.dataset]
    rows: dict[str, list[_Row]] = {s: [] for s in SPLITS}
    read = Counter[str]()
    seen: dict[str, str] = {}
    for img in images:
        name = img.names[0]
        if img.split is None:
            rejected.append((img.rel, "not in the split lists / partition file"))
            continue
        read[img.split] += 1
        if name in seen:
            msg = f"duplicate output name {name} (also {seen[name]})"
            if cfg.strict:
                raise InputFormatError(img.path, msg)
            rejected.append((img.rel, msg))
            continue
        kps = source.get(img.names, img.json_stems)
        if kps is None:
            if cfg.strict:
                raise InputFormatError(img.path, f"image has no keypoint annotation in {kp_path}")
            rejected.append((img.rel, "image without keypoint annotation"))
            continue
        try:
            src_hw: tuple[int, int] | None = image_size(img.path)
        except InputFormatError:
            src_hw = None
        if src_hw is None:
            if cfg.strict:
                raise InputFormatError(img.path, "cannot read the image")
            rejected.append((img.rel, "unreadable image"))
            continue
        seen[name] = img.rel
        crop, ry, rx = _crop_params(src_hw, frame)
        yx = crop_resize_yx_reference(xyc_to_yx(kps), crop_x=crop, ratio_y=ry, ratio_x=rx)
        rows[img.split].append(_Row(name, yx, img.path, img.parsing))
    for name in sorted(source.unused):
        if cfg.strict:
            raise InputFormatError(kp_path, f"annotation for {name!r} has no image in {root}")
        rejected.append((name, "keypoint annotation without image"))
    return rows, rejected, dict(read)


_ConvertTask = tuple[Path, Path, tuple[int, int], int, Path | None, Path | None]


def _convert_image(args: _ConvertTask) -> str | None:
    """Crop/resize one image (and its parsing map) into the pose-transfer frame.

    Returns an error text or None. Parsing maps are label ids: cropped the same way and resized
    with nearest neighbour only.
    """
    src, dst, (h, w), quality, parsing_src, parsing_dst = args
    if parsing_src is not None and parsing_dst is not None:
        try:
            labels = decode_label_png(read_bytes(parsing_src), parsing_src)
        except (InputFormatError, OSError):
            return "unreadable parsing map (expected a grey 8-bit label PNG)"
        crop, _, _ = _crop_params(labels.shape[:2], (h, w))
        labels = labels[:, crop : labels.shape[1] - crop] if crop else labels
        atomic_write_bytes(parsing_dst, encode_png(resize_parsing(labels, (h, w))))
    data = read_bytes(src)
    try:
        rgb = decode_rgb(data, src)
    except InputFormatError:
        return "cannot decode image"
    sh, sw = rgb.shape[:2]
    if (sh, sw) == (h, w) and src.suffix.lower() in (".jpg", ".jpeg"):
        atomic_write_bytes(dst, data)  # already in the frame: keep the original bytes
        return None
    crop, _, _ = _crop_params((sh, sw), (h, w))
    rgb = rgb[:, crop : sw - crop] if crop else rgb
    if rgb.shape[:2] != (h, w):
        interp = cv2.INTER_AREA if rgb.shape[0] > h else cv2.INTER_LINEAR
        rgb = cv2.resize(rgb, (w, h), interpolation=interp)
    atomic_write_bytes(dst, encode_jpeg(rgb, quality))
    return None


def _write_images(
    cfg: BuildPairsConfig,
    rows: dict[str, list[_Row]],
    rejected: list[tuple[str, str]],
    progress: Callable[[int], None] | None,
) -> dict[str, list[_Row]]:
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
    out: dict[str, list[_Row]] = {}
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
    if from_files:
        rows, rejected, read = _from_files(cfg)
    else:
        rows, rejected, read = _from_tree(cfg)
        if cfg.images_hw is not None:
            rows = _write_images(cfg, rows, rejected, progress)
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
    result = BuildPairsResult(splits, rejected, files)
    report = {
        "pgdata_version": __version__,
        "config": _jsonable(asdict(cfg)),
        "splits": {k: _jsonable(asdict(v)) for k, v in splits.items()},
        "rejected": len(rejected),
        "rejected_by_reason": dict(count_reasons(rejected)),
    }
    atomic_write_text(
        cfg.out / "build-pairs.json", json.dumps(report, indent=2, sort_keys=True) + "\n"
    )
    files.append(cfg.out / "build-pairs.json")
    return result


def _jsonable(obj: object) -> object:
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    return obj
