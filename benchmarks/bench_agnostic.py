"""Agnostic person image + parse-agnostic map at 768×1024 (W×H): pgdata vs the HR-VITON way.

- reference: HR-VITON's ``get_agnostic`` and ``get_parse_agnostic`` rules the way the reference
  code runs them: PIL ``ImageDraw`` on full-size ``Image`` objects, float masks through
  ``np.array`` and ``Image.paste`` (``shared/reference/tryon.md`` §4-5). It is the one in
  ``tests/tryon_reference.py``, the same the agnostic tests compare against;
- pgdata: :func:`pgdata.stages.agnostic.person_agnostic` + :func:`~pgdata.stages.agnostic.parse_agnostic`
  (OpenCV fixed-point drawing, uint8 masks, lookup tables).

Inputs are decoded arrays of VITON-HD sample 00006_00 from ``tests/data/tryon`` when present,
else a synthetic person of ``pgdata sample --kind tryon``. One core (OpenCV single-threaded).
Target: ratio ≥ 3 and ≤ 15 ms per image. The last line is one JSON object with ``ratio`` =
reference seconds / pgdata seconds per image.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import cv2  # noqa: E402
import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pgdata.io.openpose import read_openpose  # noqa: E402
from pgdata.io.viton import read_parse_png  # noqa: E402
from pgdata.stages.agnostic import parse_agnostic, person_agnostic  # noqa: E402
from tests.tryon_reference import reference_parse_agnostic, reference_person_agnostic  # noqa: E402

SAMPLE = ROOT / "tests" / "data" / "tryon" / "viton_hd_hrviton_00006_00"


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
    return rgb, labels, pose, "synthetic person (tests/data absent)"


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

    def reference() -> tuple[np.ndarray, np.ndarray]:
        return reference_person_agnostic(rgb, labels, pose), reference_parse_agnostic(labels, pose)

    def ours() -> tuple[np.ndarray, np.ndarray]:
        return person_agnostic(rgb, labels, pose), parse_agnostic(labels, pose)

    # same pictures on both sides before timing anything
    ref_ag, ref_pa = reference()
    our_ag, our_pa = ours()
    agree_parse = float((ref_pa == our_pa).mean())
    grey_ref = (ref_ag == 128).all(axis=2)
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
