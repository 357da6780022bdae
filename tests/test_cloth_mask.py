"""Cloth-mask kernel: synthetic packshots with exact masks, and the shipped VITON-HD masks."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pgdata.stages.cloth_mask import (
    background_stats,
    cloth_mask,
    fill_holes,
    has_alpha,
    largest_component,
    mask_iou,
    resolve_method,
)
from tests.garment_synth import KINDS, draw_garment, model_photo

COLOURS = [(200, 30, 40), (30, 60, 200), (20, 20, 20), (220, 205, 180), (90, 140, 60)]


def jpeg_roundtrip(rgb: np.ndarray, quality: int = 90) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=quality)
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("bg", [(246, 246, 246), (255, 255, 255)])
def test_threshold_mask_on_synthetic_packshots(kind: str, bg: tuple[int, int, int]) -> None:
    for i, colour in enumerate(COLOURS):
        rgb, truth = draw_garment(kind, colour, (300, 400), bg=bg, shadow=i % 2 == 1, seed=i)
        mask = cloth_mask(jpeg_roundtrip(rgb))
        assert mask.dtype == np.uint8 and mask.shape == truth.shape
        assert set(np.unique(mask)) <= {0, 255}
        assert mask_iou(mask, truth) >= 0.97, (kind, colour)


def test_grabcut_refinement_keeps_quality() -> None:
    rgb, truth = draw_garment("dress", (220, 205, 180), (300, 400), shadow=True, seed=3)
    img = jpeg_roundtrip(rgb)
    assert mask_iou(cloth_mask(img, "grabcut"), truth) >= 0.97


def test_alpha_channel_is_the_mask() -> None:
    rgb, truth = draw_garment("tee", (200, 30, 40), (120, 160))
    rgba = np.dstack([rgb, truth])
    assert has_alpha(rgba) and resolve_method(rgba) == "alpha"
    assert np.array_equal(cloth_mask(rgba), truth)
    opaque = np.dstack([rgb, np.full_like(truth, 255)])
    assert not has_alpha(opaque) and resolve_method(opaque) == "threshold"
    assert mask_iou(cloth_mask(opaque), truth) >= 0.97
    with pytest.raises(ValueError, match="alpha"):
        cloth_mask(opaque, "alpha")


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="uint8"):
        cloth_mask(np.zeros((4, 4, 3), np.float32))
    with pytest.raises(ValueError, match="unknown"):
        cloth_mask(np.zeros((4, 4, 3), np.uint8), "magic")  # type: ignore[arg-type]
    blank = np.full((50, 40, 3), 246, np.uint8)
    assert not cloth_mask(blank).any()


def test_background_stats_tell_packshots_from_photos() -> None:
    rgb, _ = draw_garment("tee", (30, 60, 200), (300, 400))
    assert background_stats(rgb).plain
    assert not background_stats(model_photo((300, 400))).plain
    assert not background_stats(np.full((40, 40, 3), 120, np.uint8)).plain


def test_components_and_holes() -> None:
    m = np.zeros((20, 20), np.uint8)
    m[2:12, 2:12] = 255
    m[5:8, 5:8] = 0  # a hole
    m[15:18, 15:18] = 255  # a speck
    out = fill_holes(largest_component(m))
    assert out[6, 6] == 255 and out[16, 16] == 0
    assert int((out > 0).sum()) == 100


def test_shipped_viton_hd_cloth_masks(tryon_data: Path) -> None:
    clothes = sorted(tryon_data.glob("*/cloth/*.jpg"))
    assert len(clothes) == 3
    for path in clothes:
        rgb = np.asarray(Image.open(path).convert("RGB"))
        ref = np.asarray(Image.open(path.parent.parent / "cloth-mask" / path.name).convert("L"))
        for method in ("threshold", "rgb-cut"):
            assert mask_iou(cloth_mask(rgb, method), ref) >= 0.95, (path.name, method)


def test_rgb_cut_is_the_reference_rule() -> None:
    rgb = np.full((60, 60, 3), 246, np.uint8)
    rgb[20:40, 20:40] = (241, 241, 200)  # only blue is at or below 240: garment
    rgb[5:10, 5:10] = (241, 241, 241)  # all channels above 240: background
    mask = cloth_mask(rgb, "rgb-cut")
    assert mask[30, 30] == 255 and mask[7, 7] == 0
    assert int((mask > 0).sum()) == 400
