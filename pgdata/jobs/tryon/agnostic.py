"""``pgdata agnostic``: HR-VITON's ``agnostic-v3.2/<id>.jpg`` and ``image-parse-agnostic-v3.2/<id>.png``.

Inputs per person: the photo, its parsing (``image-parse-v3`` or ``image-parse``) and its BODY_25
keypoints (``openpose_json`` or ``openpose-json``, ``people[0]`` as the reference reads). The
kernels are :func:`pgdata.stages.agnostic.person_agnostic` and
:func:`~pgdata.stages.agnostic.parse_agnostic`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pgdata.executor import Executor
from pgdata.io.images import read_rgb, write_jpeg
from pgdata.io.openpose import read_openpose
from pgdata.io.viton import (
    find_input,
    output_path,
    person_ids,
    read_parse_png,
    write_parse_png,
)
from pgdata.jobs.tryon.common import (
    Item,
    Processor,
    Rejected,
    StageResult,
    check_fits,
    run_stage,
)
from pgdata.stages.agnostic import MissingJointsError, parse_agnostic, person_agnostic
from pgdata.stages.keypoints import coco18_to_body25

__all__ = ["AgnosticConfig", "run_agnostic"]

OUTPUTS = ("agnostic", "parse_agnostic")  # the io.viton kinds this stage writes


@dataclass(frozen=True)
class AgnosticConfig:
    """Options of ``pgdata agnostic``."""

    root: Path
    quality: int = 95  # JPEG quality of agnostic-v3.2
    force: bool = False
    strict: bool = False


def _process(cfg: AgnosticConfig, item: Item) -> None:
    """Write one person's agnostic image and parse-agnostic map (or raise Rejected)."""
    image_path = find_input(item.split_dir, "image", item.key)
    assert image_path is not None
    parse_path = find_input(item.split_dir, "parse", item.key)
    if parse_path is None:
        raise Rejected(image_path, "no parsing (run `pgdata parsing` first)")
    json_path = find_input(item.split_dir, "openpose_json", item.key)
    if json_path is None:
        raise Rejected(image_path, "no keypoints (run `pgdata keypoints` first)")
    image = read_rgb(image_path)
    labels = read_parse_png(parse_path)
    if labels.shape != image.shape[:2]:
        raise Rejected(
            parse_path,
            f"size mismatch: parsing is {labels.shape[1]}x{labels.shape[0]}, image is "
            f"{image.shape[1]}x{image.shape[0]} (W x H)",
        )
    people = read_openpose(json_path)
    if not people:
        raise Rejected(json_path, "no person detected")
    pose = people[0] if len(people[0]) == 25 else coco18_to_body25(people[0])
    check_fits(pose, labels.shape, json_path)
    try:
        agnostic = person_agnostic(image, labels, pose)
    except MissingJointsError as e:
        raise Rejected(json_path, str(e)) from None
    write_parse_png(
        output_path(item.split_dir, "parse_agnostic", item.key), parse_agnostic(labels, pose)
    )
    write_jpeg(output_path(item.split_dir, "agnostic", item.key), agnostic, cfg.quality)


@contextmanager
def _processor(cfg: AgnosticConfig) -> Iterator[Processor]:
    yield functools.partial(_process, cfg)


def run_agnostic(
    cfg: AgnosticConfig,
    progress: Callable[[int], None] | None = None,
    executor: Executor | None = None,
) -> StageResult:
    """Fill ``agnostic-v3.2/`` and ``image-parse-agnostic-v3.2/`` of every split of ``cfg.root``
    (here, or in chunks on ``executor``)."""
    return run_stage(
        "agnostic",
        cfg.root,
        person_ids,
        OUTPUTS,
        functools.partial(_processor, cfg),
        force=cfg.force,
        strict=cfg.strict,
        progress=progress,
        executor=executor,
    )
