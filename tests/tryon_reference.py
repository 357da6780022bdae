"""HR-VITON's parse-agnostic and person-agnostic rules written the reference way (PIL ImageDraw
on full-size images), from the description in shared/reference/tryon.md §4-5. An independent
implementation the pgdata kernels are compared with."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw


def _missing(p: np.ndarray, i: int) -> bool:
    return bool(p[i, 0] == 0.0 and p[i, 1] == 0.0)


def reference_parse_agnostic(labels: np.ndarray, pose: np.ndarray) -> np.ndarray:
    h, w = labels.shape
    p = pose[:, :2].astype(np.float64)
    r = 10
    out = Image.fromarray(labels.copy())
    for label, ids in ((14, [2, 5, 6, 7]), (15, [5, 2, 3, 4])):
        mask = Image.new("L", (w, h), "black")
        draw = ImageDraw.Draw(mask)
        prev = ids[0]
        for i in ids[1:]:
            if _missing(p, prev) or _missing(p, i):
                continue
            draw.line([tuple(p[j]) for j in (prev, i)], "white", width=r * 10)
            x, y = p[i]
            rad = r * 4 if i == ids[-1] else r * 15
            draw.ellipse((x - rad, y - rad, x + rad, y + rad), "white", "white")
            prev = i
        arm = (np.array(mask) / 255) * (labels == label)
        out.paste(0, None, Image.fromarray(np.uint8(arm * 255), "L"))
    for ids in ((5, 6, 7), (10,)):
        sel = np.isin(labels, ids).astype(np.uint8) * 255
        out.paste(0, None, Image.fromarray(sel, "L"))
    return np.array(out)


def reference_person_agnostic(
    image: np.ndarray, labels: np.ndarray, pose: np.ndarray
) -> np.ndarray:
    h, w = labels.shape
    p = pose[:, :2].astype(np.float64).copy()
    head = np.isin(labels, (4, 13)).astype(np.uint8) * 255
    lower = np.isin(labels, (9, 12, 16, 17, 18, 19)).astype(np.uint8) * 255
    im = Image.fromarray(image)
    ag = im.copy()
    draw = ImageDraw.Draw(ag)
    a = np.linalg.norm(p[5] - p[2])
    b = np.linalg.norm(p[12] - p[9])
    m = (p[9] + p[12]) / 2
    p[9] = m + (p[9] - m) / b * a
    p[12] = m + (p[12] - m) / b * a
    r = int(a / 16) + 1
    for i in (9, 12):
        x, y = p[i]
        draw.ellipse((x - r * 3, y - r * 6, x + r * 3, y + r * 6), "gray", "gray")
    draw.line([tuple(p[i]) for i in (2, 9)], "gray", width=r * 6)
    draw.line([tuple(p[i]) for i in (5, 12)], "gray", width=r * 6)
    draw.line([tuple(p[i]) for i in (9, 12)], "gray", width=r * 12)
    draw.polygon([tuple(p[i]) for i in (2, 5, 12, 9)], "gray", "gray")
    x, y = p[1]
    draw.rectangle((x - r * 5, y - r * 9, x + r * 5, y), "gray", "gray")
    draw.line([tuple(p[i]) for i in (2, 5)], "gray", width=r * 12)
    for i in (2, 5):
        x, y = p[i]
        draw.ellipse((x - r * 5, y - r * 6, x + r * 5, y + r * 6), "gray", "gray")
    for i in (3, 4, 6, 7):
        if _missing(p, i - 1) or _missing(p, i):
            continue
        draw.line([tuple(p[j]) for j in (i - 1, i)], "gray", width=r * 10)
        x, y = p[i]
        draw.ellipse((x - r * 5, y - r * 5, x + r * 5, y + r * 5), "gray", "gray")
    for label, ids in ((14, [5, 6, 7]), (15, [2, 3, 4])):
        mask = Image.new("L", (w, h), "white")
        md = ImageDraw.Draw(mask)
        x, y = p[ids[0]]
        md.ellipse((x - r * 5, y - r * 6, x + r * 5, y + r * 6), "black", "black")
        for i in ids[1:]:
            if _missing(p, i - 1) or _missing(p, i):
                continue
            md.line([tuple(p[j]) for j in (i - 1, i)], "black", width=r * 10)
            x, y = p[i]
            if i != ids[-1]:
                md.ellipse((x - r * 5, y - r * 5, x + r * 5, y + r * 5), "black", "black")
        md.ellipse((x - r * 4, y - r * 4, x + r * 4, y + r * 4), "black", "black")
        arm = (np.array(mask) / 255) * (labels == label)
        ag.paste(im, None, Image.fromarray(np.uint8(arm * 255), "L"))
    ag.paste(im, None, Image.fromarray(head, "L"))
    ag.paste(im, None, Image.fromarray(lower, "L"))
    return np.array(ag)
