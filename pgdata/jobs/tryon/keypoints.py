"""``pgdata keypoints``: BODY_25 OpenPose JSON + skeleton rendering for every person photo.

Backends: ``openpose-json`` imports OpenPose output (BODY_25 or COCO-18, the most confident
person; COCO-18 is converted with mid-hip synthesised); ``mediapipe`` estimates BlazePose
landmarks offline and maps them onto BODY_25 (neck and mid-hip synthesised). Writes
``openpose_json/<id>_keypoints.json`` (OpenPose 1.3, one person) and
``openpose_img/<id>_rendered.png``.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pgdata.errors import ConfigError
from pgdata.executor import Executor
from pgdata.io.atomic import atomic_write_bytes
from pgdata.io.images import encode_png, read_rgb
from pgdata.io.openpose import best_person, read_openpose, write_openpose
from pgdata.io.viton import find_import, find_input, output_path, person_ids, split_dirs
from pgdata.jobs.tryon.common import (
    Item,
    Processor,
    Rejected,
    StageResult,
    check_fits,
    photo_size,
    run_stage,
)
from pgdata.stages.blazepose import MIN_VISIBILITY
from pgdata.stages.keypoints import coco18_to_body25
from pgdata.stages.pose_render import render_openpose

if TYPE_CHECKING:
    from pgdata.backends.mediapipe_pose import MediaPipePose

__all__ = ["BACKENDS", "KeypointsConfig", "run_keypoints"]

OUTPUTS = ("openpose_json", "openpose_img")  # the io.viton kinds this stage writes

Backend = Literal["openpose-json", "mediapipe"]
BACKENDS: tuple[Backend, ...] = ("openpose-json", "mediapipe")


@dataclass(frozen=True)
class KeypointsConfig:
    """Options of ``pgdata keypoints``."""

    root: Path
    backend: Backend = "openpose-json"
    import_dir: Path | None = None
    min_visibility: float = MIN_VISIBILITY  # mediapipe: landmarks below are missing
    force: bool = False
    strict: bool = False

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ConfigError(f"keypoint backend {self.backend!r}: expected one of {BACKENDS}")
        if self.backend == "openpose-json" and self.import_dir is None:
            raise ConfigError("--backend openpose-json needs --import DIR (OpenPose JSON files)")


def _process(
    cfg: KeypointsConfig,
    estimator: MediaPipePose | None,
    split_of: dict[Path, str],
    item: Item,
) -> None:
    """Write one person's OpenPose JSON and rendering (or raise Rejected)."""
    image = find_input(item.split_dir, "image", item.key)
    assert image is not None
    json_out = output_path(item.split_dir, "openpose_json", item.key)
    size = photo_size(image)
    if json_out.is_file() and not cfg.force:  # only the rendering is missing
        people = read_openpose(json_out)
        pose = people[0] if people else None
        source = json_out
    elif estimator is not None:
        pose = estimator.estimate(read_rgb(image))
        source = image
    else:
        assert cfg.import_dir is not None
        names = (f"{item.key}_keypoints.json", f"{item.key}.json")
        found = find_import(cfg.import_dir, split_of[item.split_dir], names)
        if found is None:
            raise Rejected(
                image, f"no keypoints: {item.key}_keypoints.json not in {cfg.import_dir}"
            )
        pose = best_person(read_openpose(found))
        source = found
    if pose is None:
        raise Rejected(source, "no person detected")
    if len(pose) == 18:
        pose = coco18_to_body25(pose)
    check_fits(pose, size, source)
    if not json_out.is_file() or cfg.force:
        write_openpose(json_out, [pose])
    rendering = render_openpose(pose, size)
    atomic_write_bytes(output_path(item.split_dir, "openpose_img", item.key), encode_png(rendering))


@contextmanager
def _processor(cfg: KeypointsConfig) -> Iterator[Processor]:
    """MediaPipe's estimator (``backend = "mediapipe"``) is opened once per processor."""
    split_of = {d: s for s, d in split_dirs(cfg.root)}
    with contextlib.ExitStack() as stack:
        estimator = None
        if cfg.backend == "mediapipe":
            from pgdata.backends.mediapipe_pose import MediaPipePose

            estimator = stack.enter_context(MediaPipePose(cfg.min_visibility))
        yield functools.partial(_process, cfg, estimator, split_of)


def run_keypoints(
    cfg: KeypointsConfig,
    progress: Callable[[int], None] | None = None,
    executor: Executor | None = None,
) -> StageResult:
    """Fill ``openpose_json/`` and ``openpose_img/`` of every split folder of ``cfg.root`` (here,
    or in chunks on ``executor``)."""
    return run_stage(
        "keypoints",
        cfg.root,
        person_ids,
        OUTPUTS,
        functools.partial(_processor, cfg),
        force=cfg.force,
        strict=cfg.strict,
        progress=progress,
        executor=executor,
    )
