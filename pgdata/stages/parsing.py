"""Human-parsing label maps: validation, scheme remapping, palette decoding, resizing, grouping.

A label map is an ``(H, W)`` uint8 array of label ids. The VITON-HD / HR-VITON files use the
CIHP/LIP 20-id scheme with id 10 = neck (``pgdata.labels.CIHP_LABELS``); parsers also emit LIP,
ATR (18) and Pascal-Person-Part (7) ids, which :func:`to_viton` converts with the named tables of
:mod:`pgdata.labels`. Resizing is always nearest-neighbour (:func:`resize_parsing`); the optional
upsample-and-smooth step (:func:`upsample_smooth`) is the documented replacement for HR-VITON's
undocumented one.
"""

from __future__ import annotations

import cv2
import numpy as np

from pgdata.labels import HRVITON_7_GROUPS, HRVITON_13_GROUPS, SCHEMES, P

__all__ = [
    "UnknownColoursError",
    "colours_to_labels",
    "group_13",
    "group_7",
    "remap_labels",
    "resize_parsing",
    "split_sides",
    "to_viton",
    "unknown_labels",
    "upsample_smooth",
]


class UnknownColoursError(ValueError):
    """An RGB parsing image holds colours that are not in the palette (``colours`` lists some)."""

    def __init__(self, colours: list[tuple[int, int, int]], n_unknown: int) -> None:
        self.colours = colours
        self.n_unknown = n_unknown
        shown = ", ".join(str(c) for c in colours[:8])
        more = f" and {n_unknown - 8} more" if n_unknown > 8 else ""
        super().__init__(f"{n_unknown} colours are not in the palette: {shown}{more}")


def unknown_labels(labels: np.ndarray, n_labels: int) -> list[int]:
    """Sorted ids in ``labels`` that are ``>= n_labels`` (empty list when the map is valid)."""
    counts = np.bincount(np.asarray(labels, dtype=np.uint8).ravel(), minlength=256)
    return [int(i) for i in np.flatnonzero(counts[n_labels:]) + n_labels]


def remap_labels(labels: np.ndarray, table: tuple[int, ...] | np.ndarray) -> np.ndarray:
    """Map every id ``i`` of an ``(H, W)`` uint8 map to ``table[i]``.

    Raises:
        ValueError: the map holds an id outside the table (check with :func:`unknown_labels`).
    """
    lut = np.zeros(256, dtype=np.uint8)
    tab = np.asarray(table, dtype=np.uint8)
    bad = unknown_labels(labels, len(tab))
    if bad:
        raise ValueError(f"label ids {bad} are outside the table (0..{len(tab) - 1})")
    lut[: len(tab)] = tab
    return np.ascontiguousarray(lut[labels])


def split_sides(labels: np.ndarray) -> np.ndarray:
    """Give limb pixels on the image left of the body's centre line the person's *right* ids.

    For maps whose arms are all ``LEFT_ARM`` and legs all ``LEFT_LEG`` (the Pascal-Person-Part
    conversion). The centre line is the mean column of the torso (upper clothes), or of all body
    pixels without a torso. Assumes a frontal photo, as VITON-HD's are.
    """
    out = labels.copy()
    cols = np.nonzero(labels == P.UPPER_CLOTHES)[1]
    if cols.size == 0:
        cols = np.nonzero(labels != P.BACKGROUND)[1]
    if cols.size == 0:
        return out
    centre = float(cols.mean())
    image_left = np.arange(labels.shape[1])[None, :] < centre
    out[(labels == P.LEFT_ARM) & image_left] = P.RIGHT_ARM
    out[(labels == P.LEFT_LEG) & image_left] = P.RIGHT_LEG
    return out


def to_viton(labels: np.ndarray, scheme: str) -> np.ndarray:
    """Convert a map in ``scheme`` (``cihp``, ``lip``, ``atr``, ``pascal``) to VITON-HD ids.

    Raises:
        ValueError: unknown scheme or ids outside the scheme.
    """
    if scheme not in SCHEMES:
        raise ValueError(f"unknown scheme {scheme!r}; expected one of {sorted(SCHEMES)}")
    out = remap_labels(labels, SCHEMES[scheme][1])
    return split_sides(out) if scheme == "pascal" else out


def colours_to_labels(rgb: np.ndarray, palette: bytes, n_labels: int) -> np.ndarray:
    """``(H, W, 3)`` uint8 RGB → ``(H, W)`` ids, only when every colour is exactly a palette entry.

    ``palette`` is a flat 768-byte RGB palette; entries ``0..n_labels-1`` are the labels.

    Raises:
        UnknownColoursError: some colour is not one of the first ``n_labels`` entries.
    """
    pal = np.frombuffer(palette, dtype=np.uint8)[: 3 * n_labels].reshape(n_labels, 3)
    key = (
        rgb[..., 0].astype(np.int32) << 16 | rgb[..., 1].astype(np.int32) << 8 | rgb[..., 2]
    ).ravel()
    pal_key = pal[:, 0].astype(np.int32) << 16 | pal[:, 1].astype(np.int32) << 8 | pal[:, 2]
    uniq, inverse = np.unique(key, return_inverse=True)
    # first palette index of each colour (duplicated palette colours resolve to the lower id)
    order = np.argsort(pal_key, kind="stable")
    pos = np.searchsorted(pal_key[order], uniq)
    pos = np.minimum(pos, len(order) - 1)
    found = pal_key[order][pos] == uniq
    if not found.all():
        bad = uniq[~found]
        cols = [(int(k >> 16), int((k >> 8) & 255), int(k & 255)) for k in bad[:8]]
        raise UnknownColoursError(cols, int(bad.size))
    ids = order[pos].astype(np.uint8)
    return np.ascontiguousarray(ids[inverse].reshape(rgb.shape[:2]))


def resize_parsing(labels: np.ndarray, size_hw: tuple[int, int]) -> np.ndarray:
    """Nearest-neighbour resize of an ``(H, W)`` label map to ``size_hw`` (never interpolates ids)."""
    h, w = size_hw
    if labels.shape == (h, w):
        return labels
    return np.ascontiguousarray(cv2.resize(labels, (w, h), interpolation=cv2.INTER_NEAREST))


def upsample_smooth(
    labels: np.ndarray, size_hw: tuple[int, int], ksize: int = 15, sigma: float = 3.0
) -> np.ndarray:
    """Resize a low-resolution map with smooth boundaries: HR-VITON's parse-upsampling step.

    Each present label's one-hot plane is resized bilinearly to ``size_hw`` and blurred by a
    ``ksize``×``ksize`` Gaussian of ``sigma`` (HR-VITON's 15×15, σ = 3); every pixel takes the
    label of the largest plane (lowest id on ties). The reference's exact upsampling mode and
    re-quantisation are undocumented; this is pgdata's documented choice.

    Returns:
        ``(H, W)`` uint8 label map at ``size_hw``.
    """
    h, w = size_hw
    present = np.flatnonzero(np.bincount(labels.ravel(), minlength=256))
    best = np.full((h, w), -1.0, dtype=np.float32)
    out = np.zeros((h, w), dtype=np.uint8)
    for lab in present:
        plane = (labels == lab).astype(np.float32)
        plane = cv2.resize(plane, (w, h), interpolation=cv2.INTER_LINEAR)
        plane = cv2.GaussianBlur(plane, (ksize, ksize), sigma)
        better = plane > best
        best[better] = plane[better]
        out[better] = lab
    return out


def group_13(labels: np.ndarray) -> np.ndarray:
    """HR-VITON's 13-channel one-hot: ``(13, H, W)`` float32 from an ``(H, W)`` VITON-HD map.

    Channel ``c`` is 1 where the id is in ``HRVITON_13_GROUPS[c]``; channel 3 is the parse cloth
    mask. Ids 20..255 belong to no channel.
    """
    lut = np.full(256, 255, dtype=np.uint8)
    for c, (_, ids) in enumerate(HRVITON_13_GROUPS):
        lut[list(ids)] = c
    idx = lut[labels]
    planes = idx[None] == np.arange(len(HRVITON_13_GROUPS), dtype=np.uint8)[:, None, None]
    return np.asarray(planes, dtype=np.float32)


def group_7(channels13: np.ndarray) -> np.ndarray:
    """The generator's 7-channel regrouping ``(..., 7, H, W)`` of ``(..., 13, H, W)`` channels."""
    return np.stack(
        [channels13[..., list(ids), :, :].sum(axis=-3) for _, ids in HRVITON_7_GROUPS], axis=-3
    )
