"""pix2pix's aligned images: A and B side by side in one file, and the augmentation they share.

An aligned image is ``(H, 2W, 3)``: A in the left half, B in the right (512×256 for 256²
halves, as the facades set ships; ``datasets/combine_A_and_B.py`` makes them). It is split at
``width // 2``, so an odd width would give halves one column apart: :func:`ab_problem` names that.

Training augmentation (pix2pix ``--preprocess resize_and_crop``, ``get_params`` once per pair):
both halves are resized to ``load × load`` (bicubic; 286), then the **same** random
``crop × crop`` window (256) is cut from both and both are mirrored or neither
(:func:`crop_flip_params` draws the parameters once, :func:`resize_crop_flip` applies them to one
half). OpenCV's bicubic is used, not Pillow's, so pixels differ slightly from the reference's.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

__all__ = [
    "CropFlip",
    "ab_problem",
    "combine_ab",
    "crop_flip_params",
    "pair_problem",
    "resize_crop_flip",
    "split_ab",
]

FLIP_PROB = 0.5  # pix2pix flips unless --no_flip


def ab_problem(size_hw: tuple[int, int]) -> str | None:
    """Why an image of ``size_hw`` cannot be an A|B image, or None.

    Odd widths are refused: the two halves would differ by one column.
    """
    h, w = size_hw
    if w < 2 or h < 1:
        return f"too small for two halves ({w}x{h})"
    if w % 2:
        return f"odd width ({w}: halves of {w // 2} and {w - w // 2} columns would differ)"
    return None


def split_ab(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(H, 2W, C)`` → ``(A, B)``, each ``(H, W, C)`` (views, not copies).

    Raises:
        ValueError: the width is odd (see :func:`ab_problem`).
    """
    problem = ab_problem((image.shape[0], image.shape[1]))
    if problem is not None:
        raise ValueError(f"not an A|B image: {problem}")
    half = image.shape[1] // 2
    return image[:, :half], image[:, half:]


def pair_problem(a_hw: tuple[int, int], b_hw: tuple[int, int]) -> str | None:
    """Why images A and B of these sizes cannot be combined, or None (they must be equal)."""
    if a_hw != b_hw:
        return f"halves differ in size: A is {a_hw[1]}x{a_hw[0]}, B is {b_hw[1]}x{b_hw[0]} (WxH)"
    return None


def combine_ab(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``A (H, W, C)`` and ``B (H, W, C)`` → ``(H, 2W, C)`` with A on the left.

    Raises:
        ValueError: the halves differ in shape (see :func:`pair_problem`).
    """
    if a.shape != b.shape:
        problem = pair_problem(a.shape[:2], b.shape[:2]) or f"channels {a.shape} vs {b.shape}"
        raise ValueError(problem)
    return np.concatenate([a, b], axis=1)


@dataclass(frozen=True)
class CropFlip:
    """One pair's augmentation: the crop window's top-left corner and whether to mirror."""

    top: int
    left: int
    flip: bool


def crop_flip_params(
    rng: np.random.Generator, load: int, crop: int, *, flip: bool = True
) -> CropFlip:
    """Draw the crop corner (uniform in ``[0, load − crop]``, each axis) and the flip (p = 0.5)."""
    if crop > load:
        raise ValueError(f"crop size {crop} is larger than the load size {load}")
    top = int(rng.integers(0, load - crop + 1))
    left = int(rng.integers(0, load - crop + 1))
    return CropFlip(top, left, bool(flip and rng.random() < FLIP_PROB))


def resize_crop_flip(image: np.ndarray, load: int, crop: int, params: CropFlip) -> np.ndarray:
    """``(H, W, C)`` uint8 → bicubic ``load × load`` → ``crop × crop`` at ``params`` → mirrored.

    Returns a contiguous ``(crop, crop, C)`` uint8 array. Apply it with the same ``params`` to A
    and B so they stay aligned.
    """
    if image.shape[0] != load or image.shape[1] != load:
        image = cv2.resize(image, (load, load), interpolation=cv2.INTER_CUBIC)
    out = image[params.top : params.top + crop, params.left : params.left + crop]
    if params.flip:
        out = out[:, ::-1]
    return np.ascontiguousarray(out)
