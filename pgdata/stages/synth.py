"""Procedural persons: keypoints, a CIHP parsing map and an RGB photo that agree by construction.

The sample data must make pose transfer a learnable task without shipping real photos: every
identity has a fixed body, skin, hair and outfit (colours and textures); every view of it is a new
pose of the same person. The parsing map is drawn first from the keypoints (limbs and torso as
filled shapes, painter's order by depth), then the photo is coloured label by label, shaded and
lightly blurred. Everything is a pure function of its arguments and an explicit ``rng``.

Coordinates are generated in a unit frame (person height ~0.8 of the canvas height, centred) and
scaled to the canvas, so any size works (256×256 In-shop, 1024×768 VITON-HD).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from pgdata.labels import J, P

__all__ = [
    "VIEWS",
    "Appearance",
    "Body",
    "random_appearance",
    "random_body",
    "render_person",
    "synth_pose",
]

# In-shop view number -> view word. 6 ("flat") is a garment without a person.
VIEWS: dict[int, str] = {1: "front", 2: "side", 3: "back", 4: "full", 6: "flat", 7: "additional"}


@dataclass(frozen=True)
class Body:
    """Body proportions in canvas-height units."""

    shoulder: float  # half shoulder width
    hip: float  # half hip width
    torso: float  # neck to hip
    upper_arm: float
    forearm: float
    thigh: float
    shin: float
    head: float  # head radius
    limb: float  # limb thickness


@dataclass(frozen=True)
class Appearance:
    """Colours (RGB) and garment choices of one identity."""

    skin: tuple[int, int, int]
    hair: tuple[int, int, int]
    long_hair: bool
    top: tuple[int, int, int]
    top_alt: tuple[int, int, int]
    top_texture: str  # solid | stripes | checks | dots
    long_sleeves: bool
    top_label: int  # P.UPPER_CLOTHES, P.COAT or P.DRESS
    bottom: tuple[int, int, int]
    bottom_kind: str  # pants | shorts | skirt | none (dress)
    shoes: tuple[int, int, int]
    background: tuple[int, int, int]
    background_texture: bool


def random_body(rng: np.random.Generator) -> Body:
    """Draw body proportions."""
    s = rng.uniform(0.92, 1.04)
    return Body(
        shoulder=0.085 * s * rng.uniform(0.9, 1.1),
        hip=0.055 * s * rng.uniform(0.9, 1.1),
        torso=0.27 * s,
        upper_arm=0.16 * s,
        forearm=0.14 * s,
        thigh=0.21 * s,
        shin=0.2 * s,
        head=0.048 * s,
        limb=0.035 * s,
    )


def _colour(rng: np.random.Generator, lo: int = 20, hi: int = 235) -> tuple[int, int, int]:
    c = rng.integers(lo, hi, size=3)
    return (int(c[0]), int(c[1]), int(c[2]))


def random_appearance(rng: np.random.Generator, gender: str, category: str) -> Appearance:
    """Draw one identity's look; the garment follows the In-shop category when it can."""
    skins = [(241, 194, 167), (224, 172, 138), (198, 134, 96), (141, 85, 54), (92, 58, 38)]
    hairs = [(30, 20, 15), (70, 45, 25), (140, 95, 50), (200, 170, 110), (90, 90, 90)]
    cat = category.lower()
    if "dress" in cat or "romper" in cat:
        top_label, bottom_kind = P.DRESS, "none"
    elif "jacket" in cat or "coat" in cat or "cardigan" in cat:
        top_label, bottom_kind = P.COAT, "pants"
    else:
        top_label = P.UPPER_CLOTHES
        if "skirt" in cat:
            bottom_kind = "skirt"
        elif "short" in cat:
            bottom_kind = "shorts"
        else:
            bottom_kind = str(rng.choice(["pants", "pants", "shorts", "skirt"]))
            if gender == "MEN" and bottom_kind == "skirt":
                bottom_kind = "pants"
    return Appearance(
        skin=skins[int(rng.integers(len(skins)))],
        hair=hairs[int(rng.integers(len(hairs)))],
        long_hair=bool(rng.random() < (0.7 if gender == "WOMEN" else 0.1)),
        top=_colour(rng),
        top_alt=_colour(rng),
        top_texture=str(rng.choice(["solid", "stripes", "checks", "dots"])),
        long_sleeves=bool(rng.random() < 0.5),
        top_label=top_label,
        bottom=_colour(rng, 10, 200),
        bottom_kind=bottom_kind,
        shoes=_colour(rng, 0, 120),
        background=_colour(rng, 200, 250),
        background_texture=bool(rng.random() < 0.3),
    )


def _rot(angle_deg: float) -> np.ndarray:
    """Unit vector pointing down, rotated by ``angle_deg`` (positive = towards image right)."""
    a = np.deg2rad(angle_deg)
    return np.array([np.sin(a), np.cos(a)])


def synth_pose(
    rng: np.random.Generator, body: Body, view: str, size_hw: tuple[int, int]
) -> np.ndarray:
    """A plausible standing pose seen from ``view``, in canvas pixels.

    Returns:
        ``(18, 3)`` float32 COCO-18 keypoints (x, y, confidence); joints outside the canvas or
        hidden by the view (face from the back, far eye/ear from the side) are missing. The
        ``flat`` view has no person: every joint is missing.
    """
    h, w = size_hw
    kps = np.zeros((18, 3), dtype=np.float32)
    if view == "flat":
        return kps
    # scale (fraction of canvas height per unit) and vertical placement per view
    zoom = {"full": 0.86, "additional": float(rng.choice([1.55, 3.4]))}.get(view, 1.0)
    zoom *= rng.uniform(0.96, 1.04)  # "additional" is a close-up; at 3.4 the hips leave the frame
    neck = np.array([0.0, 0.21 if view != "additional" else 0.12])
    width = {"side": 0.35}.get(view, 1.0)
    facing = 1.0 if rng.random() < 0.5 else -1.0  # side view: which way the nose points
    mirror = -1.0 if view == "back" else 1.0  # person's right is on the image left when facing us

    pts: dict[int, np.ndarray] = {J.NECK: neck}
    sho, hip = body.shoulder * width, body.hip * width
    pts[J.RSHO] = neck + [-mirror * sho, 0.012]
    pts[J.LSHO] = neck + [mirror * sho, 0.012]
    pelvis = neck + [rng.normal(0, 0.006), body.torso]
    pts[J.RHIP] = pelvis + [-mirror * hip, 0.0]
    pts[J.LHIP] = pelvis + [mirror * hip, 0.0]
    for side, (s, e, wr) in ((-1.0, (J.RSHO, J.RELB, J.RWRI)), (1.0, (J.LSHO, J.LELB, J.LWRI))):
        out = side * mirror
        a1 = out * rng.uniform(8, 40)
        a2 = a1 + out * rng.uniform(-35, 25) if rng.random() < 0.7 else rng.uniform(-150, 150)
        pts[e] = pts[s] + body.upper_arm * _rot(a1)
        pts[wr] = pts[e] + body.forearm * _rot(a2)
    for side, (hj, kj, aj) in ((-1.0, (J.RHIP, J.RKNE, J.RANK)), (1.0, (J.LHIP, J.LKNE, J.LANK))):
        out = side * mirror
        a1 = out * rng.uniform(-4, 12)
        pts[kj] = pts[hj] + body.thigh * _rot(a1)
        pts[aj] = pts[kj] + body.shin * _rot(a1 + rng.uniform(-6, 6))
    head = neck + [0.0, -1.25 * body.head]
    if view == "side":
        head = head + [facing * 0.35 * body.head, 0.0]
    pts[J.NOSE] = head + [facing * 0.6 * body.head if view == "side" else 0.0, 0.15 * body.head]
    eye_dx, ear_dx = 0.38 * body.head, 0.9 * body.head
    pts[J.REYE] = head + [-mirror * eye_dx, -0.15 * body.head]
    pts[J.LEYE] = head + [mirror * eye_dx, -0.15 * body.head]
    pts[J.REAR] = head + [-mirror * ear_dx, 0.0]
    pts[J.LEAR] = head + [mirror * ear_dx, 0.0]
    hidden: set[int] = set()
    if view == "back":
        hidden |= {J.NOSE, J.REYE, J.LEYE}
    if view == "side":
        # the far eye and ear are hidden; squeeze the near ones onto the face
        far_eye, far_ear = (J.LEYE, J.LEAR) if facing > 0 else (J.REYE, J.REAR)
        hidden |= {far_eye, far_ear}
        near_eye, near_ear = (J.REYE, J.REAR) if facing > 0 else (J.LEYE, J.LEAR)
        pts[near_eye] = head + [facing * 0.45 * body.head, -0.15 * body.head]
        pts[near_ear] = head + [-facing * 0.1 * body.head, 0.0]

    jitter = rng.normal(0, 0.003, size=(18, 2))
    for j, p in pts.items():
        x = w / 2 + (p[0] + jitter[j, 0]) * h * zoom
        y = (
            (p[1] + jitter[j, 1] - neck[1]) * h * zoom
            + neck[1] * h
            + (0.04 if view == "full" else 0) * h
        )
        if j in hidden or not (0 <= x <= w - 1 and 0 <= y <= h - 1):
            continue
        kps[j] = (round(x), round(y), 1.0)
    return kps


def _pt(p: np.ndarray) -> tuple[int, int]:
    return (round(float(p[0])), round(float(p[1])))


@dataclass(frozen=True)
class _Figure:
    """Where the painter draws one person: joints and sizes in canvas pixels."""

    p: np.ndarray  # (18, 2) float64 x, y; joints off the canvas continued along the body
    scale: float  # pixels per canvas-height unit of the Body
    t: int  # limb thickness
    head_c: np.ndarray  # (2,) head centre
    head_r: int  # head radius


def _figure(kps: np.ndarray, body: Body, view: str) -> _Figure | None:
    """The figure of ``kps``; None when the neck or a shoulder is missing (nothing to draw)."""
    ok = kps[:, 2] > 0
    if not ok[[J.NECK, J.RSHO, J.LSHO]].all():
        return None
    p = kps[:, :2].astype(np.float64)
    scale = float(np.linalg.norm(p[J.RSHO] - p[J.LSHO])) / (2 * body.shoulder)
    if view == "side":
        scale /= 0.35
    # joints that fell off the canvas are continued along the body so shapes stay whole
    down = np.array([0.0, 1.0]) * scale
    if not ok[J.RHIP]:
        p[J.RHIP] = p[J.RSHO] + down * body.torso
    if not ok[J.LHIP]:
        p[J.LHIP] = p[J.LSHO] + down * body.torso
    for a, b, c, seg1, seg2 in (
        (J.RHIP, J.RKNE, J.RANK, body.thigh, body.shin),
        (J.LHIP, J.LKNE, J.LANK, body.thigh, body.shin),
        (J.RSHO, J.RELB, J.RWRI, body.upper_arm, body.forearm),
        (J.LSHO, J.LELB, J.LWRI, body.upper_arm, body.forearm),
    ):
        if not ok[b]:
            p[b] = p[a] + down * seg1
        if not ok[c]:
            p[c] = p[b] + down * seg2
    head_c = p[J.NECK] + [0.0, -1.25 * body.head * scale]
    if ok[J.NOSE] and view == "side":
        head_c[0] = (p[J.NOSE][0] + p[J.NECK][0]) / 2
    t = max(2, round(body.limb * scale))
    return _Figure(p, scale, t, head_c, max(2, round(body.head * scale)))


def _draw_legs(lab: np.ndarray, f: _Figure, look: Appearance) -> None:
    """Legs and shoes, then trouser legs (pants, shorts) over them."""
    p, t = f.p, f.t
    for hip, kne, ank, leg, shoe in (
        (J.RHIP, J.RKNE, J.RANK, P.RIGHT_LEG, P.RIGHT_SHOE),
        (J.LHIP, J.LKNE, J.LANK, P.LEFT_LEG, P.LEFT_SHOE),
    ):
        cv2.line(lab, _pt(p[hip]), _pt(p[kne]), leg, round(t * 1.5))
        cv2.line(lab, _pt(p[kne]), _pt(p[ank]), leg, round(t * 1.2))
        cv2.ellipse(
            lab, _pt(p[ank] + [0, t * 0.4]), (round(t * 0.9), round(t * 0.5)), 0, 0, 360, shoe, -1
        )
        if look.bottom_kind in ("pants", "shorts"):
            end = (
                p[ank]
                if look.bottom_kind == "pants"
                else (p[hip] + p[kne]) / 2 + (p[kne] - p[hip]) * 0.15
            )
            cv2.line(lab, _pt(p[hip]), _pt((p[hip] + p[kne]) / 2), P.PANTS, round(t * 1.7))
            cv2.line(lab, _pt((p[hip] + p[kne]) / 2), _pt(end), P.PANTS, round(t * 1.55))
            if look.bottom_kind == "pants":
                cv2.line(lab, _pt(p[kne]), _pt(p[ank]), P.PANTS, round(t * 1.4))


def _draw_hips(lab: np.ndarray, f: _Figure, look: Appearance) -> None:
    """The seat of pants and shorts; a skirt or the skirt of a dress."""
    p, t = f.p, f.t
    hips_c = (p[J.RHIP] + p[J.LHIP]) / 2
    knees_c = (p[J.RKNE] + p[J.LKNE]) / 2
    half_hip = abs(p[J.LHIP][0] - p[J.RHIP][0]) / 2 + t
    if look.bottom_kind == "pants" or look.bottom_kind == "shorts":
        poly = np.array([p[J.RHIP] - [0, t * 0.3], p[J.LHIP] - [0, t * 0.3], hips_c + [0, t * 1.5]])
        cv2.fillConvexPoly(lab, np.round(poly).astype(np.int32), P.PANTS)
    if look.bottom_kind == "skirt" or look.top_label == P.DRESS:
        hem = hips_c + (knees_c - hips_c) * 0.8
        label = P.SKIRT if look.bottom_kind == "skirt" else P.DRESS
        poly = np.array(
            [
                hips_c + [-half_hip, -t * 0.3],
                hips_c + [half_hip, -t * 0.3],
                hem + [half_hip * 1.5, 0],
                hem + [-half_hip * 1.5, 0],
            ]
        )
        cv2.fillConvexPoly(lab, np.round(poly).astype(np.int32), label)


def _draw_torso(lab: np.ndarray, f: _Figure, body: Body, look: Appearance, view: str) -> None:
    """Neck, then the top garment over the torso (widened in a side view)."""
    p, t = f.p, f.t
    cv2.line(
        lab,
        _pt(p[J.NECK]),
        _pt(p[J.NECK] + [0, -0.6 * body.head * f.scale]),
        P.NECK,
        round(t * 1.1),
    )
    torso = np.array(
        [
            p[J.RSHO] + [0, -t * 0.3],
            p[J.LSHO] + [0, -t * 0.3],
            p[J.LHIP] + [0, t * 0.2],
            p[J.RHIP] + [0, t * 0.2],
        ]
    )
    if view == "side":
        centre = torso.mean(axis=0)
        torso = centre + (torso - centre) * [2.4, 1.0]
    cv2.fillConvexPoly(lab, np.round(torso).astype(np.int32), look.top_label)


def _draw_arms(lab: np.ndarray, f: _Figure, look: Appearance) -> None:
    """Arms (skin), then sleeves over them (a dress has upper-clothes sleeves)."""
    p, t = f.p, f.t
    sleeve = look.top_label if look.top_label != P.DRESS else P.UPPER_CLOTHES
    for sho, elb, wri, arm in (
        (J.RSHO, J.RELB, J.RWRI, P.RIGHT_ARM),
        (J.LSHO, J.LELB, J.LWRI, P.LEFT_ARM),
    ):
        cv2.line(lab, _pt(p[sho]), _pt(p[elb]), arm, t)
        cv2.line(lab, _pt(p[elb]), _pt(p[wri]), arm, round(t * 0.9))
        cv2.circle(lab, _pt(p[wri]), round(t * 0.6), arm, -1)
        sleeve_end = (
            p[wri] - (p[wri] - p[elb]) * 0.1 if look.long_sleeves else (p[sho] + p[elb]) / 2
        )
        cv2.line(lab, _pt(p[sho]), _pt(sleeve_end), sleeve, round(t * 1.3))
        if look.long_sleeves:
            cv2.line(lab, _pt(p[sho]), _pt(p[elb]), sleeve, round(t * 1.3))


def _draw_head(lab: np.ndarray, f: _Figure, view: str) -> None:
    """Face, then hair on top (all hair from the back)."""
    cv2.circle(lab, _pt(f.head_c), f.head_r, P.FACE, -1)
    if view == "back":
        cv2.circle(lab, _pt(f.head_c), f.head_r, P.HAIR, -1)
        return
    cv2.ellipse(
        lab,
        _pt(f.head_c - [0, f.head_r * 0.35]),
        (f.head_r, round(f.head_r * 0.7)),
        0,
        180,
        360,
        P.HAIR,
        -1,
    )


def _draw_parsing(
    kps: np.ndarray, body: Body, look: Appearance, view: str, size_hw: tuple[int, int]
) -> np.ndarray:
    """Paint the CIHP label map in painter's order; unknown joints are extrapolated off-canvas."""
    lab = np.zeros(size_hw, dtype=np.uint8)
    f = _figure(kps, body, view)
    if f is None:
        return lab
    if look.long_hair:  # hair behind the shoulders
        cv2.ellipse(
            lab,
            _pt(f.head_c + [0, f.head_r]),
            (round(f.head_r * 1.25), round(f.head_r * 2.0)),
            0,
            0,
            360,
            P.HAIR,
            -1,
        )
    _draw_legs(lab, f, look)
    _draw_hips(lab, f, look)
    _draw_torso(lab, f, body, look, view)
    _draw_arms(lab, f, look)
    _draw_head(lab, f, view)
    return lab


def _texture(h: int, w: int, kind: str, period: int) -> np.ndarray:
    """Bool (H, W): where the alternate colour of a textured garment shows."""
    yy, xx = np.mgrid[0:h, 0:w]
    if kind == "stripes":
        return np.asarray((yy // period) % 2 == 0)
    if kind == "checks":
        return np.asarray(((yy // period) + (xx // period)) % 2 == 0)
    if kind == "dots":
        return np.asarray(
            ((yy % period) - period / 2) ** 2 + ((xx % period) - period / 2) ** 2
            < (period / 4) ** 2
        )
    return np.zeros((h, w), dtype=bool)


def render_person(
    kps: np.ndarray,
    body: Body,
    look: Appearance,
    view: str,
    size_hw: tuple[int, int],
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Render the parsing map and the photo of one view.

    Args:
        kps: ``(18, 3)`` COCO-18 keypoints from :func:`synth_pose` (canvas pixels).
        body, look: the identity.
        view: In-shop view word; ``flat`` renders the garment alone.
        size_hw: canvas ``(H, W)``.
        rng: noise source (only the sensor noise depends on it).

    Returns:
        ``(H, W, 3)`` uint8 RGB photo and ``(H, W)`` uint8 CIHP label map.
    """
    h, w = size_hw
    if view == "flat":
        lab = np.zeros((h, w), dtype=np.uint8)
        cx, cy, sx, sy = w // 2, h // 2, w // 4, h // 4
        poly = np.array(
            [
                [cx - sx, cy - sy],
                [cx + sx, cy - sy],
                [cx + sx // 2, cy + sy],
                [cx - sx // 2, cy + sy],
            ]
        )
        cv2.fillConvexPoly(lab, poly.astype(np.int32), look.top_label)
    else:
        lab = _draw_parsing(kps, body, look, view, size_hw)
    period = max(3, h // 40)
    colours = np.zeros((256, 3), dtype=np.float32)
    colours[P.BACKGROUND] = look.background
    colours[[P.HAIR]] = look.hair
    colours[[P.FACE, P.NECK, P.LEFT_ARM, P.RIGHT_ARM, P.LEFT_LEG, P.RIGHT_LEG]] = look.skin
    colours[[P.UPPER_CLOTHES, P.COAT, P.DRESS]] = look.top
    colours[[P.PANTS, P.SKIRT]] = look.bottom
    colours[[P.LEFT_SHOE, P.RIGHT_SHOE]] = look.shoes
    img = colours[lab]
    garment = np.isin(lab, (P.UPPER_CLOTHES, P.COAT, P.DRESS))
    alt = garment & _texture(h, w, look.top_texture, period)
    img[alt] = look.top_alt
    if look.background_texture:
        bg = lab == P.BACKGROUND
        img[bg & _texture(h, w, "checks", period * 3)] *= 0.93
    # face details so the head's orientation is visible
    for j, col in ((J.REYE, (30, 30, 30)), (J.LEYE, (30, 30, 30)), (J.NOSE, (150, 90, 80))):
        if kps[j, 2] > 0:
            cv2.circle(img, (int(kps[j, 0]), int(kps[j, 1])), max(1, h // 170), col, -1)
    # soft light from the top left, sensor noise, slight blur
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    light = 1.05 - 0.12 * (yy / h) - 0.06 * (xx / w)
    img = img * light[..., None] + rng.normal(0.0, 2.0, size=img.shape).astype(np.float32)
    img = cv2.GaussianBlur(np.clip(img, 0, 255).astype(np.uint8), (3, 3), 0.6)
    return img, lab
