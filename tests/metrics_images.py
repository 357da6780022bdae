"""Images for the metric tests: synthetic persons (pgdata's sample renderer) and a real photo."""

from __future__ import annotations

import cv2
import numpy as np

from pgdata.stages.synth import random_appearance, random_body, render_person, synth_pose

SIZE_HW = (256, 176)  # DeepFashion as PATN/GFLA/DPTN score it


def person(seed: int, size_hw: tuple[int, int] = SIZE_HW, view: str = "front") -> np.ndarray:
    """``(H, W, 3)`` uint8 RGB rendering of a synthetic person."""
    rng = np.random.default_rng(seed)
    body = random_body(rng)
    look = random_appearance(rng, "WOMEN", "Blouses_Shirts")
    kps = synth_pose(rng, body, view, size_hw)
    img, _ = render_person(kps, body, look, view, size_hw, rng)
    return img


def degrade(img: np.ndarray, seed: int, noise: float = 12.0, shift: int = 2) -> np.ndarray:
    """A plausible generator output: blurred, shifted, noisy copy of ``img`` (uint8 RGB)."""
    rng = np.random.default_rng(seed)
    out = cv2.GaussianBlur(img, (5, 5), 1.2).astype(np.float32)
    out = np.roll(out, shift, axis=1) + rng.normal(0.0, noise, img.shape)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def astronaut(size_hw: tuple[int, int] = SIZE_HW) -> np.ndarray:
    """``skimage.data.astronaut()`` (public domain) cropped to the aspect of ``size_hw`` and resized."""
    from skimage.data import astronaut as load

    img = load()
    h, w = size_hw
    crop_w = img.shape[0] * w // h
    x0 = (img.shape[1] - crop_w) // 2
    return np.ascontiguousarray(
        cv2.resize(img[:, x0 : x0 + crop_w], (w, h), interpolation=cv2.INTER_AREA)
    )


def random_image(seed: int, size_hw: tuple[int, int] = SIZE_HW) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (*size_hw, 3), dtype=np.uint8)


def to_batch(*images: np.ndarray):  # type: ignore[no-untyped-def]
    """``(H, W, 3)`` uint8 arrays → ``(B, 3, H, W)`` uint8 tensor."""
    import torch

    return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).contiguous()
