"""DensePose inference with detectron2 (optional: detectron2 is not on PyPI).

Install detectron2 and its DensePose project from source (see the README), download a DensePose
R-CNN config and weights, and run ``pgdata densepose ROOT --backend detectron2 --config
densepose_rcnn_R_50_FPN_s1x.yaml --weights model_final.pkl``. Each detected person's fine-part
map (I) is pasted into its box, the most confident person on top, and written in HR-VITON's
``image-densepose`` colours (full opacity on black, not ``apply_net.py show``'s blend).
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import numpy as np

from pgdata.errors import ConfigError, MissingDependencyError
from pgdata.stages.densepose import paste_instances

__all__ = ["INSTALL_HINT", "DetectronDensePose"]

INSTALL_HINT = (
    "the detectron2 DensePose backend needs detectron2 and its DensePose project: "
    "pip install 'git+https://github.com/facebookresearch/detectron2' and "
    "pip install 'git+https://github.com/facebookresearch/detectron2@main#subdirectory=projects/DensePose'"
    "; or compute DensePose elsewhere and use --backend import"
)


def _import() -> tuple[Any, Any, Any, Any]:
    try:
        densepose = importlib.import_module("densepose")
        extractor = importlib.import_module("densepose.vis.extractor")
        config = importlib.import_module("detectron2.config")
        engine = importlib.import_module("detectron2.engine")
    except ImportError:
        raise MissingDependencyError(INSTALL_HINT) from None
    return (
        densepose.add_densepose_config,
        extractor.DensePoseResultExtractor,
        config.get_cfg,
        engine.DefaultPredictor,
    )


class DetectronDensePose:
    """A DensePose R-CNN predictor; ``parts(rgb)`` → ``(H, W)`` uint8 part indices or None."""

    def __init__(
        self, config_file: Path | None, weights: Path | None, min_score: float = 0.8
    ) -> None:
        add_densepose_config, extractor_cls, get_cfg, predictor_cls = _import()
        if config_file is None or weights is None:
            raise ConfigError(
                "--backend detectron2 needs --config (a DensePose yaml) and --weights"
            )
        cfg = get_cfg()
        add_densepose_config(cfg)
        cfg.merge_from_file(str(config_file))
        cfg.MODEL.WEIGHTS = str(weights)
        cfg.MODEL.ROI_HEADS.SCORE_THRESH_TEST = min_score
        cfg.MODEL.DEVICE = "cpu"
        self._predictor = predictor_cls(cfg)
        self._extract = extractor_cls()

    def parts(self, rgb: np.ndarray) -> np.ndarray | None:
        """Fine-part map of the photo, or None when nobody is detected."""
        instances = self._predictor(np.ascontiguousarray(rgb[..., ::-1]))["instances"]
        if len(instances) == 0:
            return None
        results, boxes_xywh = self._extract(instances)
        maps = [r.labels.cpu().numpy().astype(np.uint8) for r in results]
        scores = instances.scores.cpu().numpy() if instances.has("scores") else None
        return paste_instances(rgb.shape[:2], boxes_xywh.cpu().numpy(), maps, scores)
