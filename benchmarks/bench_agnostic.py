"""Agnostic person image + parse-agnostic map at 768×1024 (W×H): pgdata vs the HR-VITON way.

- reference: HR-VITON's ``get_agnostic`` and ``get_parse_agnostic`` rules written here the way
  the reference code runs them: PIL ``ImageDraw`` on full-size ``Image`` objects, float masks
  through ``np.array`` and ``Image.paste`` (``shared/reference/tryon.md`` §4-5);
- pgdata: :func:`pgdata.stages.agnostic.person_agnostic` + :func:`~pgdata.stages.agnostic.parse_agnostic`
  (OpenCV fixed-point drawing, uint8 masks, lookup tables).

Inputs are decoded arrays of VITON-HD sample 00006_00 from ``../shared/data/tryon`` when present,
else a synthetic person of ``pgdata sample --kind tryon``. One core (OpenCV single-threaded).
Target: ratio ≥ 3 and ≤ 15 ms per image. The last line is one JSON object with ``ratio`` =
reference seconds / pgdata seconds per image.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402

from pgdata.io.openpose import read_openpose  # noqa: E402
from pgdata.io.viton import read_parse_png  # noqa: E402
from pgdata.stages.agnostic import parse_agnostic, person_agnostic  # noqa: E402

SAMPLE = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "tryon"
SAMPLE = SAMPLE / "viton_hd_hrviton_00006_00"


def _gone(p: np.ndarray, i: int) -> bool:
    return bool(p[i, 0] == 0.0 and p[i, 1] == 0.0)


def reference_parse_agnostic(im_parse: Image.Image, pose: np.ndarray) -> Image.Image:
    """HR-VITON ``get_parse_agnostic``: PIL masks per arm, paste 0 over them."""
    label = np.array(im_parse)
    upper = (label == 5).astype(np.float32) + (label == 6) + (label == 7)
    neck = (label == 10).astype(np.float32)
    r = 10
    out = im_parse.copy()
    for parse_id, ids in ((14, [2, 5, 6, 7]), (15, [5, 2, 3, 4])):
        mask = Image.new("L", im_parse.size, "black")
        draw = ImageDraw.Draw(mask)
        prev = ids[0]
        for i in ids[1:]:
            if _gone(pose, prev) or _gone(pose, i):
                continue
            draw.line([tuple(pose[j]) for j in (prev, i)], "white", width=r * 10)
            x, y = pose[i]
            rad = r * 4 if i == ids[-1] else r * 15
            draw.ellipse((x - rad, y - rad, x + rad, y + rad), "white", "white")
            prev = i
        arm = (np.array(mask) / 255) * (label == parse_id).astype(np.float32)
        out.paste(0, None, Image.fromarray(np.uint8(arm * 255), "L"))
    out.paste(0, None, Image.fromarray(np.uint8(upper * 255), "L"))
    out.paste(0, None, Image.fromarray(np.uint8(neck * 255), "L"))
    return out


def reference_agnostic(im: Image.Image, im_parse: Image.Image, pose_in: np.ndarray) -> Image.Image:
    """HR-VITON ``CPDataset.get_agnostic`` (with the hand canvas at the image's own size)."""
    pose = pose_in.copy()
    label = np.array(im_parse)
    head = ((label == 4) + (label == 13)).astype(np.float32)
    lower = np.isin(label, (9, 12, 16, 17, 18, 19)).astype(np.float32)
    ag = im.copy()
    draw = ImageDraw.Draw(ag)
    a = np.linalg.norm(pose[5] - pose[2])
    b = np.linalg.norm(pose[12] - pose[9])
    m = (pose[9] + pose[12]) / 2
    pose[9] = m + (pose[9] - m) / b * a
    pose[12] = m + (pose[12] - m) / b * a
    r = int(a / 16) + 1
    for i in (9, 12):
        x, y = pose[i]
        draw.ellipse((x - r * 3, y - r * 6, x + r * 3, y + r * 6), "gray", "gray")
    draw.line([tuple(pose[i]) for i in (2, 9)], "gray", width=r * 6)
    draw.line([tuple(pose[i]) for i in (5, 12)], "gray", width=r * 6)
    draw.line([tuple(pose[i]) for i in (9, 12)], "gray", width=r * 12)
    draw.polygon([tuple(pose[i]) for i in (2, 5, 12, 9)], "gray", "gray")
    x, y = pose[1]
    draw.rectangle((x - r * 5, y - r * 9, x + r * 5, y), "gray", "gray")
    draw.line([tuple(pose[i]) for i in (2, 5)], "gray", width=r * 12)
    for i in (2, 5):
        x, y = pose[i]
        draw.ellipse((x - r * 5, y - r * 6, x + r * 5, y + r * 6), "gray", "gray")
    for i in (3, 4, 6, 7):
        if _gone(pose, i - 1) or _gone(pose, i):
            continue
        draw.line([tuple(pose[j]) for j in (i - 1, i)], "gray", width=r * 10)
        x, y = pose[i]
        draw.ellipse((x - r * 5, y - r * 5, x + r * 5, y + r * 5), "gray", "gray")
    for parse_id, ids in ((14, [5, 6, 7]), (15, [2, 3, 4])):
        mask = Image.new("L", im.size, "white")
        md = ImageDraw.Draw(mask)
        x, y = pose[ids[0]]
        md.ellipse((x - r * 5, y - r * 6, x + r * 5, y + r * 6), "black", "black")
        for i in ids[1:]:
            if _gone(pose, i - 1) or _gone(pose, i):
                continue
            md.line([tuple(pose[j]) for j in (i - 1, i)], "black", width=r * 10)
            x, y = pose[i]
            if i != ids[-1]:
                md.ellipse((x - r * 5, y - r * 5, x + r * 5, y + r * 5), "black", "black")
        md.ellipse((x - r * 4, y - r * 4, x + r * 4, y + r * 4), "black", "black")
        arm = (np.array(mask) / 255) * (label == parse_id).astype(np.float32)
        ag.paste(im, None, Image.fromarray(np.uint8(arm * 255), "L"))
    ag.paste(im, None, Image.fromarray(np.uint8(head * 255), "L"))
    ag.paste(im, None, Image.fromarray(np.uint8(lower * 255), "L"))
    return ag


def load_inputs() -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    if SAMPLE.is_dir():
        rgb = cv2.cvtColor(cv2.imread(str(SAMPLE / "image" / "00006_00.jpg")), cv2.COLOR_BGR2RGB)
        labels = read_parse_png(SAMPLE / "image-parse-v3" / "00006_00.png")
        pose = read_openpose(SAMPLE / "openpose_json" / "00006_00_keypoints.json")[0]
        return rgb, labels, pose, "VITON-HD 00006_00"
    from pgdata.jobs.tryon.sample import TryonSampleConfig, run_tryon_sample
    from pgdata.stages.keypoints import coco18_to_body25

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        run_tryon_sample(TryonSampleConfig(out, persons=1))
        rgb = cv2.cvtColor(cv2.imread(str(out / "test/image/00001_00.jpg")), cv2.COLOR_BGR2RGB)
        labels = cv2.imread(str(out / "precomputed/parsing/00001_00.png"), cv2.IMREAD_UNCHANGED)
        pose = coco18_to_body25(
            read_openpose(out / "precomputed/openpose_json/00001_00_keypoints.json")[0]
        )
    return rgb, labels, pose, "synthetic person (shared data absent)"


def best_of(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    cv2.setNumThreads(1)
    rgb, labels, pose, source = load_inputs()
    h, w = labels.shape
    xy = pose[:, :2].astype(np.float64)
    im = Image.fromarray(rgb)
    im_parse = Image.fromarray(labels, "L").convert("P")
    im_parse.putpalette(list(range(256)) * 3)

    def reference() -> tuple[Image.Image, Image.Image]:
        return reference_agnostic(im, im_parse, xy), reference_parse_agnostic(im_parse, xy)

    def ours() -> tuple[np.ndarray, np.ndarray]:
        return person_agnostic(rgb, labels, pose), parse_agnostic(labels, pose)

    # same pictures on both sides before timing anything
    ref_ag, ref_pa = reference()
    our_ag, our_pa = ours()
    agree_parse = float((np.array(ref_pa) == our_pa).mean())
    grey_ref = (np.array(ref_ag) == 128).all(axis=2)
    grey_ours = (our_ag == 128).all(axis=2)
    agree_mask = float((grey_ref == grey_ours).mean())
    assert agree_parse > 0.999 and agree_mask > 0.995, (agree_parse, agree_mask)

    t_ref = best_of(reference, 7)
    t_ours = best_of(ours, 21)
    t_pa = best_of(lambda: parse_agnostic(labels, pose), 21)
    print(f"input                       : {source}, {w}x{h} (W x H), one core")
    print(f"reference PIL (HR-VITON way): {t_ref * 1e3:7.2f} ms / image")
    print(
        f"pgdata (OpenCV, uint8)      : {t_ours * 1e3:7.2f} ms / image "
        f"({t_ref / t_ours:.1f}x; parse-agnostic alone {t_pa * 1e3:.2f} ms)"
    )
    print(f"agreement with the reference: parse {agree_parse:.5f}, agnostic mask {agree_mask:.5f}")
    print(
        json.dumps(
            {
                "bench": "agnostic",
                "input": source,
                "size_wh": [w, h],
                "threads": 1,
                "reference_ms": round(t_ref * 1e3, 3),
                "pgdata_ms": round(t_ours * 1e3, 3),
                "pgdata_parse_agnostic_ms": round(t_pa * 1e3, 3),
                "agreement_parse": round(agree_parse, 6),
                "agreement_agnostic_mask": round(agree_mask, 6),
                "target_ratio": 3,
                "target_ms": 15,
                "ratio": round(t_ref / t_ours, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
