"""Reading a dataset tree for ``build-pairs``: In-shop and Market-1501 scanning, keypoints
from an annotation CSV or OpenPose JSON files, the split, the frames and the row order.

See :mod:`pgdata.jobs.posetransfer.build_pairs` for the rules (frames, row order); this module
applies them and returns one :class:`Row` per kept image, per split, in output order.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from pgdata.errors import ConfigError, InputFormatError
from pgdata.io import inshop
from pgdata.io.files import SourceRoot
from pgdata.io.images import image_size
from pgdata.io.openpose import best_person, read_openpose
from pgdata.io.pose_csv import SPLITS, read_annotations
from pgdata.stages.keypoints import body25_to_coco18, crop_resize_yx_reference, xyc_to_yx, yx_to_xyc

if TYPE_CHECKING:  # the config class lives with the job; this module only reads its fields
    from pgdata.jobs.posetransfer.build_pairs import BuildPairsConfig

__all__ = [
    "KeypointSource",
    "Row",
    "TreeImage",
    "crop_params",
    "rows_from_tree",
    "scan_deepfashion",
    "scan_market",
]


@dataclass
class Row:
    name: str
    yx: np.ndarray  # (18, 2) int, pose-transfer frame
    source: Path | None  # image file (tree mode)
    parsing: Path | None = None  # parsing label PNG (tree mode, when the tree has one)
    from_hw: tuple[int, int] = (0, 0)  # frame of the source keypoints (tree mode)
    image_hw: tuple[int, int] = (0, 0)  # size of the source image (tree mode)
    order: int = 0  # row of the keypoint annotation CSV (tree mode)


def crop_params(src_hw: tuple[int, int], dst_hw: tuple[int, int]) -> tuple[int, float, float]:
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


class KeypointSource:
    """Keypoints for tree images: an annotation CSV or a folder of OpenPose JSON files.

    A name on several rows of the CSV: the **first row wins**; every later row is listed in
    :attr:`duplicates` (name, its line, the first row's line), which the job reports (or, with
    ``strict``, refuses), as the annotation-file mode does.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.table: dict[str, np.ndarray] | None = None
        self.row: dict[str, int] = {}  # name -> row of the annotation CSV
        self.unused: set[str] = set()
        self.duplicates: list[tuple[str, int, int]] = []  # (name, line, line of the first row)
        if path.is_file():
            ann = read_annotations(path)
            self.table = {}
            first: dict[str, int] = {}
            for i, (n, yx, line) in enumerate(zip(ann.names, ann.yx, ann.lines, strict=True)):
                if n in self.table:
                    self.duplicates.append((n, line, first[n]))
                    continue
                self.table[n], self.row[n], first[n] = yx_to_xyc(yx), i, line
            self.unused = set(self.table)
        elif not path.is_dir():
            raise InputFormatError(
                path, "keypoints: expected an annotation CSV or a folder of OpenPose JSON files"
            )

    def get(
        self, candidates: Sequence[str], json_stems: Sequence[str]
    ) -> tuple[np.ndarray, int] | None:
        """(18, 3) keypoints for the first name found and its CSV row (0 for JSON files), or
        None if the image has no annotation."""
        if self.table is not None:
            for name in candidates:
                if name in self.table:
                    self.unused.discard(name)
                    return self.table[name], self.row[name]
            return None
        for stem in json_stems:
            f = self.path / f"{stem}_keypoints.json"
            if f.is_file():
                person = best_person(read_openpose(f))
                if person is None:  # no person: an all-missing row
                    return np.zeros((18, 3), dtype=np.float32), 0
                return (body25_to_coco18(person) if len(person) == 25 else person), 0
        return None


@dataclass(frozen=True)
class TreeImage:
    path: Path
    rel: str
    names: tuple[str, ...]  # output name first, then other spellings to look keypoints up by
    json_stems: tuple[str, ...]
    split: str | None
    parsing: Path | None = None


def scan_deepfashion(
    cfg: BuildPairsConfig, root: Path, rejected: list[tuple[str, str]]
) -> list[TreeImage]:
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
            TreeImage(
                root / img.rel_path,
                img.rel_path,
                names,
                stems,
                split,
                parsing if parsing.is_file() else None,
            )
        )
    if by_list:
        # rows follow the lists' order (used where the keypoints give none); unlisted images last
        big = len(order)
        out.sort(key=lambda t: next((order[n] for n in t.names if n in order), big))
    return out


def _inside(
    images: list[TreeImage], root: SourceRoot, rejected: list[tuple[str, str]]
) -> list[TreeImage]:
    """The images (and parsing maps) whose files lie inside the tree; the others rejected."""
    kept = []
    for img in images:
        problem = root.problem(img.path)
        if problem is None and img.parsing is not None and root.problem(img.parsing):
            problem = f"parsing map: {root.problem(img.parsing)}"
        if problem is None:
            kept.append(img)
        else:
            rejected.append((img.rel, problem))
    return kept


def scan_market(root: Path, rejected: list[tuple[str, str]]) -> list[TreeImage]:
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
            out.append(TreeImage(p, f"{folder}/{p.name}", (p.name,), (p.stem,), split))
    return out


def rows_from_tree(
    cfg: BuildPairsConfig,
) -> tuple[dict[str, list[Row]], list[tuple[str, str]], dict[str, int]]:
    assert cfg.root is not None  # validated
    root = cfg.root
    rejected: list[tuple[str, str]] = []
    if cfg.dataset == "deepfashion":
        images = scan_deepfashion(cfg, root, rejected)
    else:
        images = scan_market(root, rejected)
    images = _inside(images, SourceRoot.of(root, follow_symlinks=cfg.follow_symlinks), rejected)
    kp_path = cfg.keypoints or root / "keypoints.csv"
    if not kp_path.exists():
        raise InputFormatError(
            kp_path,
            "no keypoints: give --keypoints with an annotation CSV or a folder of OpenPose JSON "
            "files (<image stem>_keypoints.json)",
        )
    source = KeypointSource(kp_path)
    for dup, line, first in source.duplicates:
        if cfg.strict:
            raise InputFormatError(
                kp_path, f"duplicate name {dup!r} (first at line {first})", line=line
            )
        rejected.append(
            (dup, f"duplicate name in {kp_path.name} (line {line}; first at line {first})")
        )
    frame = cfg.frame_hw
    rows: dict[str, list[Row]] = {s: [] for s in SPLITS}
    read = Counter[str]()
    seen: dict[str, str] = {}
    for img in images:
        name = img.names[0]
        if img.split is None:
            rejected.append((img.rel, "not in the split lists / partition file"))
            source.unused.difference_update(img.names)  # its row has an image: not reported
            continue
        read[img.split] += 1
        if name in seen:
            msg = f"duplicate output name {name} (also {seen[name]})"
            if cfg.strict:
                raise InputFormatError(img.path, msg)
            rejected.append((img.rel, msg))
            continue
        found = source.get(img.names, img.json_stems)
        if found is None:
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
        kps, order = found
        # a CSV's keypoints are in its frame whatever the image size; JSON ones in the image's
        from_hw = cfg.source_frame_hw if source.table is not None else src_hw
        if cfg.strict and cfg.images_hw is not None and src_hw != from_hw:
            raise InputFormatError(
                img.path,
                f"image is {src_hw[0]}x{src_hw[1]}, not the {from_hw[0]}x{from_hw[1]} frame of "
                f"the keypoints in {kp_path} (never rescaled by image size): give "
                "--keypoints-size, or drop --strict to resize such images",
            )
        seen[name] = img.rel
        crop, ry, rx = crop_params(from_hw, frame)
        yx = crop_resize_yx_reference(xyc_to_yx(kps), crop_x=crop, ratio_y=ry, ratio_x=rx)
        rows[img.split].append(Row(name, yx, img.path, img.parsing, from_hw, src_hw, order))
    if source.table is not None:
        for split_rows in rows.values():  # the annotation CSV's row order (module docstring)
            split_rows.sort(key=lambda r: r.order)
    for name in sorted(source.unused):
        if cfg.strict:
            raise InputFormatError(kp_path, f"annotation for {name!r} has no image in {root}")
        rejected.append((name, "keypoint annotation without image"))
    return rows, rejected, dict(read)
