"""DeepFashion In-shop: the image tree, the naming rules and the split files.

Tree: ``img/<MEN|WOMEN>/<Category>/id_<8 digits>/<NN>_<k>_<view>.jpg`` (``NN`` outfit number,
``k`` view number tied to the view word: 1 front, 2 side, 3 back, 4 full, 6 flat, 7 additional).
The partition file ``list_eval_partition.txt`` has a count line, a header line and one
``<path> <item_id> <train|query|gallery>`` row per image.

Flat names used by the pose-transfer code:

- ``patn`` (GFLA's ``generate_fashion_datasets.py``, used by PATN/GFLA/DPTN):
  ``WOMEN/Blouses_Shirts/id_00000637/03_1_front.jpg`` → ``fashionWOMENBlouses_Shirtsid0000063703_1front.jpg``
- ``defgan`` (Deformable-GAN ``split_fasion_dataset.py``): prefix ``fasion`` and the category's
  underscores removed → ``fasionWOMENBlousesShirtsid0000063703_1front.jpg``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pgdata.errors import InputFormatError
from pgdata.io.atomic import atomic_open
from pgdata.io.files import read_text

__all__ = [
    "NAMINGS",
    "PATN_NAME_RE",
    "InShopImage",
    "Naming",
    "find_image_root",
    "find_partition",
    "flat_name",
    "parse_inshop_path",
    "read_partition",
    "read_split_list",
    "scan_images",
    "write_partition",
]

Naming = Literal["patn", "defgan"]
NAMINGS: tuple[Naming, ...] = ("patn", "defgan")
INSHOP_CATEGORIES: dict[str, tuple[str, ...]] = {
    "MEN": (
        "Denim",
        "Jackets_Vests",
        "Pants",
        "Shirts_Polos",
        "Shorts",
        "Suiting",
        "Sweaters",
        "Sweatshirts_Hoodies",
        "Tees_Tanks",
    ),
    "WOMEN": (
        "Blouses_Shirts",
        "Cardigans",
        "Denim",
        "Dresses",
        "Graphic_Tees",
        "Jackets_Coats",
        "Leggings",
        "Pants",
        "Rompers_Jumpsuits",
        "Shorts",
        "Skirts",
        "Sweaters",
        "Tees_Tanks",
    ),
}
PATN_NAME_RE = re.compile(r"^fashion(MEN|WOMEN)([A-Za-z_]+?)id(\d{8})(\d{2})_(\d+)([a-z]+)\.jpg$")
_PATH_RE = re.compile(
    r"^(?:.*/)?(MEN|WOMEN)/([A-Za-z_]+)/id_(\d{8})/(\d{2})_(\d+)_([a-z]+)\.(jpg|jpeg|png)$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class InShopImage:
    """One In-shop image, identified by its place in the tree."""

    rel_path: (
        str  # relative to the dataset root, '/'-separated, e.g. img/MEN/Denim/id_.../01_1_front.jpg
    )
    gender: str
    category: str
    item_id: str  # 8 digits
    outfit: str  # 2 digits
    view_no: int
    view: str

    @property
    def identity(self) -> str:
        """``id_XXXXXXXX`` as in the partition file."""
        return f"id_{self.item_id}"


def parse_inshop_path(rel_path: str) -> InShopImage:
    """Parse a ``.../<GENDER>/<Category>/id_<8>/<NN>_<k>_<view>.jpg`` path; ValueError if not one."""
    m = _PATH_RE.match(rel_path.replace("\\", "/"))
    if m is None:
        raise ValueError(
            f"{rel_path!r} is not an In-shop image path "
            "(<MEN|WOMEN>/<Category>/id_<8 digits>/<NN>_<k>_<view>.jpg)"
        )
    gender, category, item_id, outfit, k, view, _ = m.groups()
    return InShopImage(rel_path, gender, category, item_id, outfit, int(k), view)


def _patn(img: InShopImage) -> str:
    return (
        f"fashion{img.gender}{img.category}id{img.item_id}{img.outfit}_{img.view_no}{img.view}.jpg"
    )


def _defgan(img: InShopImage) -> str:
    category = img.category.replace("_", "")
    return f"fasion{img.gender}{category}id{img.item_id}{img.outfit}_{img.view_no}{img.view}.jpg"


_NAMERS: dict[str, Callable[[InShopImage], str]] = {"patn": _patn, "defgan": _defgan}


def flat_name(img: InShopImage, naming: Naming = "patn") -> str:
    """The flat pose-transfer file name of an In-shop image in the given naming."""
    try:
        return _NAMERS[naming](img)
    except KeyError:
        raise ValueError(f"unknown naming {naming!r}; expected one of {NAMINGS}") from None


def find_image_root(root: Path) -> Path:
    """The folder that holds ``MEN/`` and ``WOMEN/``: ``root/img`` or ``root/Img/img``."""
    for cand in (root / "img", root / "Img" / "img", root / "img_highres", root):
        if (cand / "MEN").is_dir() or (cand / "WOMEN").is_dir():
            return cand
    raise InputFormatError(
        root,
        "no In-shop image tree found: expected img/MEN or img/WOMEN (or Img/img/...) below it; "
        "generate a sample with `pgdata sample DIR`",
    )


def scan_images(root: Path) -> tuple[list[InShopImage], list[str]]:
    """Walk the image tree under ``root``.

    Returns:
        the In-shop images sorted by path (paths relative to ``root``), and the relative paths
        of files that do not follow the In-shop naming (to report, not to use).
    """
    image_root = find_image_root(root)
    images: list[InShopImage] = []
    strays: list[str] = []
    for p in sorted(image_root.rglob("*")):
        if not p.is_file() or p.name.startswith("."):
            continue
        rel = p.relative_to(root).as_posix()
        try:
            images.append(parse_inshop_path(rel))
        except ValueError:
            strays.append(rel)
    return images, strays


def find_partition(root: Path) -> Path | None:
    """``root/list_eval_partition.txt`` or ``root/Eval/list_eval_partition.txt`` if present."""
    for cand in (root / "list_eval_partition.txt", root / "Eval" / "list_eval_partition.txt"):
        if cand.is_file():
            return cand
    return None


def read_partition(path: Path) -> dict[str, str]:
    """Read ``list_eval_partition.txt`` into ``{image path: train|query|gallery}``."""
    lines = read_text(path).splitlines()
    if len(lines) < 2 or lines[1].split() != ["image_name", "item_id", "evaluation_status"]:
        raise InputFormatError(
            path,
            "expected a count line, then the header 'image_name item_id evaluation_status' "
            "(DeepFashion In-shop list_eval_partition.txt)",
            line=2,
        )
    out: dict[str, str] = {}
    for lineno, line in enumerate(lines[2:], start=3):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 3 or parts[2] not in ("train", "query", "gallery"):
            raise InputFormatError(
                path,
                f"expected '<path> <item_id> train|query|gallery', found {line!r}",
                line=lineno,
            )
        out[parts[0]] = parts[2]
    try:
        declared = int(lines[0].strip())
    except ValueError:
        raise InputFormatError(
            path, f"first line must be the row count, found {lines[0]!r}", line=1
        ) from None
    if declared != len(out):
        raise InputFormatError(
            path, f"first line declares {declared} rows but the file has {len(out)}", line=1
        )
    return out


def write_partition(path: Path, rows: Iterable[tuple[str, str, str]]) -> None:
    """Write ``(image path, item_id, status)`` rows as an In-shop ``list_eval_partition.txt``."""
    rows = list(rows)
    with atomic_open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(f"{len(rows)}\nimage_name item_id evaluation_status\n")
        for rel, item, status in rows:
            f.write(f"{rel:<70} {item:<12} {status}\n")


def read_split_list(path: Path) -> list[str]:
    """Read a PATN ``train.lst``/``test.lst``: stripped lines ending in ``.jpg``, in file order."""
    try:
        text = read_text(path)
    except InputFormatError as e:
        raise InputFormatError(path, f"split list: {e.message}") from None
    return [s for s in (line.strip() for line in text.splitlines()) if s.endswith(".jpg")]
