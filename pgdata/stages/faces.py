"""Face images: the square centre crop + resize of the faces import, and procedural faces.

Import (``pgdata build --recipe pipelines/faces.toml``): every photo is cropped to its centred
square (side = the shorter side, as DMFN's ``centerCrop`` for CelebA) and resized to
``size × size`` (256; area interpolation, an antialiased downscale). A photo whose shorter side
is below ``size`` would have to be enlarged: :func:`face_problem` refuses it. Landmarks follow
the same transform (:func:`crop_resize_landmarks`).

Landmarks are float32 ``(K, 3)``: x, y in pixels of their image, and visibility (0 = missing).
The sample faces carry CelebA's five (:data:`FACE_LANDMARKS`, left and right as seen in the image).

Procedural faces (``pgdata sample --kind faces``, :func:`render_face`): a background gradient,
hair, an elliptic face with ears, eyebrows, eyes with irises, a nose and a mouth, with a random
skin/hair/eye colour, scale, position and roll, then shading noise and a light blur. The five
landmarks are where the eyes, nose tip and mouth corners are drawn. Pure functions of their
arguments and ``rng``.
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = [
    "FACE_LANDMARKS",
    "centre_square",
    "crop_resize_face",
    "crop_resize_landmarks",
    "face_problem",
    "render_face",
]

FACE_LANDMARKS = ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")
"""CelebA's five landmarks, in its order (left/right as seen in the image)."""


def centre_square(size_hw: tuple[int, int]) -> tuple[int, int, int]:
    """``(top, left, side)`` of the centred square of an ``(H, W)`` image (side = min(H, W))."""
    h, w = size_hw
    side = min(h, w)
    return (h - side) // 2, (w - side) // 2, side


def face_problem(size_hw: tuple[int, int], size: int) -> str | None:
    """Why an ``(H, W)`` photo cannot become a ``size²`` face crop, or None.

    The centre square would have to be enlarged when its side is below ``size``.
    """
    h, w = size_hw
    if min(h, w) < size:
        return (
            f"smaller than the crop ({w}x{h}: the shorter side {min(h, w)} is below {size}; "
            "faces are cropped, never enlarged)"
        )
    return None


def crop_resize_face(image: np.ndarray, size: int) -> np.ndarray:
    """``(H, W, 3)`` uint8 → its centre square resized to ``(size, size, 3)`` uint8 (area).

    Raises:
        ValueError: the shorter side is below ``size`` (see :func:`face_problem`).
    """
    problem = face_problem((image.shape[0], image.shape[1]), size)
    if problem is not None:
        raise ValueError(problem)
    top, left, side = centre_square((image.shape[0], image.shape[1]))
    square = image[top : top + side, left : left + side]
    if side == size:
        return np.ascontiguousarray(square)
    return cv2.resize(square, (size, size), interpolation=cv2.INTER_AREA)


def crop_resize_landmarks(landmarks: np.ndarray, size_hw: tuple[int, int], size: int) -> np.ndarray:
    """Landmarks ``(K, 3)`` of an ``(H, W)`` photo → the same points in its ``size²`` crop.

    ``x' = (x − left + 0.5) · size / side − 0.5`` (pixel centres map onto pixel centres, as the
    resize does), likewise ``y``; a point outside the square becomes missing (visibility 0).
    """
    top, left, side = centre_square(size_hw)
    scale = size / side
    out = np.asarray(landmarks, dtype=np.float32).copy()
    out[:, 0] = (out[:, 0] - left + 0.5) * scale - 0.5
    out[:, 1] = (out[:, 1] - top + 0.5) * scale - 0.5
    outside = (out[:, 0] < -0.5) | (out[:, 0] > size - 0.5)
    outside |= (out[:, 1] < -0.5) | (out[:, 1] > size - 0.5)
    out[outside | (out[:, 2] <= 0), :] = 0.0
    return out


# ------------------------------------------------------------------------------- procedural

_SKIN = ((255, 220, 190), (235, 190, 150), (200, 150, 110), (150, 100, 70), (100, 65, 45))
_HAIR = ((30, 25, 20), (90, 60, 35), (160, 120, 70), (210, 180, 120), (120, 40, 25))
_IRIS = ((70, 110, 160), (80, 60, 40), (60, 120, 80), (40, 30, 25))
_FACE_HEIGHT = (0.62, 0.78)
"""Face height as a fraction of the image's shorter side."""
_MAX_ROLL = 12.0  # degrees
_SHIFT = 0.05  # largest offset of the face centre, as a fraction of the shorter side
_NOISE = 6.0  # grey levels of the shading noise


def _pick(rng: np.random.Generator, table: tuple[tuple[int, int, int], ...]) -> np.ndarray:
    base = np.array(table[int(rng.integers(len(table)))], dtype=np.float64)
    return np.clip(base + rng.normal(0, 8, 3), 0, 255)


def _col(c: np.ndarray) -> tuple[int, int, int]:
    return int(c[0]), int(c[1]), int(c[2])


def _background(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    top, bottom = rng.uniform(60, 230, 3), rng.uniform(40, 210, 3)
    t = np.linspace(0.0, 1.0, h)[:, None, None]
    img = (1 - t) * top[None, None, :] + t * bottom[None, None, :]
    return np.repeat(img, w, axis=1)


def render_face(
    rng: np.random.Generator, size_hw: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """A procedural face photo and its five landmarks.

    Args:
        rng: the only source of randomness.
        size_hw: ``(H, W)`` of the photo (any aspect ratio; the face sits near the centre).

    Returns:
        ``(H, W, 3)`` uint8 RGB and float32 ``(5, 3)`` landmarks (x, y, 1) in
        :data:`FACE_LANDMARKS` order, in the photo's pixels.
    """
    h, w = size_hw
    side = min(h, w)
    img = _background(rng, h, w)
    skin, hair, iris = _pick(rng, _SKIN), _pick(rng, _HAIR), _pick(rng, _IRIS)
    fh = side * rng.uniform(*_FACE_HEIGHT) / 2  # half face height
    fw = fh * rng.uniform(0.68, 0.8)  # half face width
    cx = w / 2 + rng.uniform(-_SHIFT, _SHIFT) * side
    cy = h / 2 + rng.uniform(-_SHIFT, _SHIFT) * side
    roll = rng.uniform(-_MAX_ROLL, _MAX_ROLL)
    rot = np.deg2rad(roll)
    c, s = np.cos(rot), np.sin(rot)

    def at(u: float, v: float) -> tuple[float, float]:
        """Face frame (u right, v down, in half-face units) → image pixels."""
        x, y = u * fw, v * fh
        return cx + c * x - s * y, cy + s * x + c * y

    def pt(u: float, v: float) -> tuple[int, int]:
        x, y = at(u, v)
        return round(x), round(y)

    def axes(a: float, b: float) -> tuple[int, int]:
        return max(1, round(a * fw)), max(1, round(b * fh))

    long_hair = rng.random() < 0.5
    if long_hair:
        cv2.ellipse(img, pt(0, 0.15), axes(1.25, 1.05), roll, 0, 360, _col(hair), -1)
    cv2.ellipse(img, pt(-1.0, 0.05), axes(0.16, 0.2), roll, 0, 360, _col(skin * 0.93), -1)
    cv2.ellipse(img, pt(1.0, 0.05), axes(0.16, 0.2), roll, 0, 360, _col(skin * 0.93), -1)
    cv2.ellipse(img, pt(0, 0), axes(1.0, 1.0), roll, 0, 360, _col(skin), -1)
    cv2.ellipse(img, pt(0, -0.55), axes(1.05, 0.55), roll, 180, 360, _col(hair), -1)

    eye_u, eye_v = rng.uniform(0.36, 0.44), rng.uniform(-0.2, -0.08)
    eye_a, eye_b = rng.uniform(0.16, 0.2), rng.uniform(0.07, 0.09)
    brow = _col(hair * 0.8)
    for sign in (-1, 1):
        u = sign * eye_u
        cv2.ellipse(img, pt(u, eye_v), axes(eye_a, eye_b), roll, 0, 360, (245, 245, 240), -1)
        cv2.circle(img, pt(u, eye_v), max(1, round(eye_b * fh * 0.9)), _col(iris), -1)
        cv2.circle(img, pt(u, eye_v), max(1, round(eye_b * fh * 0.4)), (15, 15, 15), -1)
        b0, b1 = pt(u - 0.18, eye_v - 0.17), pt(u + 0.18, eye_v - 0.2 + 0.04 * sign)
        cv2.line(img, b0, b1, brow, max(1, round(0.035 * fh)))

    nose_v = rng.uniform(0.18, 0.28)
    nose_pts = np.array([pt(0, eye_v + 0.08), pt(-0.1, nose_v), pt(0.1, nose_v)], np.int32)
    cv2.polylines(img, [nose_pts], True, _col(skin * 0.75), max(1, round(0.02 * fh)))
    mouth_v, mouth_u = rng.uniform(0.48, 0.58), rng.uniform(0.24, 0.32)
    lips = _col(np.clip(skin * np.array([0.95, 0.55, 0.55]), 0, 255))
    cv2.ellipse(img, pt(0, mouth_v), axes(mouth_u, rng.uniform(0.05, 0.1)), roll, 0, 360, lips, -1)

    img += rng.normal(0.0, _NOISE, img.shape)
    img = cv2.GaussianBlur(np.clip(img, 0, 255).astype(np.float32), (0, 0), 0.6)
    photo = np.clip(np.round(img), 0, 255).astype(np.uint8)
    marks = [at(-eye_u, eye_v), at(eye_u, eye_v), at(0, nose_v), at(-mouth_u, mouth_v)]
    marks.append(at(mouth_u, mouth_v))
    landmarks = np.array([[x, y, 1.0] for x, y in marks], dtype=np.float32)
    return photo, landmarks
