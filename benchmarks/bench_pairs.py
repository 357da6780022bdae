"""``build-pairs`` on a DeepFashion-sized annotation set (52,712 rows), against a pandas reference.

Writes synthetic annotation CSVs with the real PATN split names (``tests/data/deepfashion``
train.lst / test.lst when present, else synthetic names of the same shape) and random COCO-18
keypoints (~20% of rows without a torso), then times, side by side:

- reference: pose-gan / PATN ``create_pairs_dataset.py`` as written there (``pd.read_csv(sep=':')``,
  ``json.loads`` per row, permutations per group, ``DataFrame.sample`` for the test split), with
  the outfit key PATN names need;
- pgdata: ``run_build_pairs`` on the same files (parse, validate, pair, write CSVs and report).

Expectation: pgdata under 10 s. Last line: one JSON object, ``ratio`` = reference s / pgdata s.
"""

from __future__ import annotations

import itertools
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from pgdata.io.pose_csv import read_pairs, write_annotations
from pgdata.jobs.posetransfer.build_pairs import BuildPairsConfig, run_build_pairs

SHARED = Path(__file__).resolve().parents[1] / "tests" / "data" / "deepfashion"


def names() -> tuple[list[str], list[str], str]:
    if (SHARED / "train.lst").is_file():
        read = lambda p: [s.strip() for s in p.read_text().splitlines() if s.strip()]  # noqa: E731
        return read(SHARED / "train.lst"), read(SHARED / "test.lst"), "PATN train.lst/test.lst"
    rng = np.random.default_rng(0)
    views = ["1front", "2side", "3back", "4full", "7additional"]
    out = []
    for i in range(52712 // 4 + 1):
        cat = ["Blouses_Shirts", "Tees_Tanks", "Dresses"][i % 3]
        out += [
            f"fashionWOMEN{cat}id{i:08d}01_{v}.jpg" for v in rng.choice(views, 4, replace=False)
        ]
    out = out[:52712]
    return out[:48674], out[48674:], "synthetic names"


def write_split(path: Path, split_names: list[str], rng: np.random.Generator) -> None:
    n = len(split_names)
    yx = rng.integers(0, 176, size=(n, 18, 2))
    yx[rng.random((n, 18)) < 0.05] = -1
    yx[rng.random(n) < 0.1, 2] = -1
    write_annotations(path, split_names, yx)


def reference(ann_path: Path, test: bool) -> list[tuple[str, str]]:
    df = pd.read_csv(ann_path, sep=":")
    groups: dict[str, list[str]] = {}
    for _, row in df.iterrows():
        ys, xs = json.loads(row["keypoints_y"]), json.loads(row["keypoints_x"])
        if all(ys[j] != -1 and xs[j] != -1 for j in (2, 5, 8, 11)) and not row["name"].startswith(
            ("-1", "0000")
        ):
            groups.setdefault(row["name"].rsplit("_", 1)[0], []).append(row["name"])
    pairs = [p for g in groups.values() for p in itertools.permutations(g, 2)]
    frame = pd.DataFrame(pairs, columns=["from", "to"])
    if test:
        frame = frame.sample(n=min(12000, len(frame)), replace=False, random_state=0)
    return list(frame.itertuples(index=False, name=None))


def main() -> None:
    train, test, source = names()
    rng = np.random.default_rng(1)
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        write_split(d / "train.csv", train, rng)
        write_split(d / "test.csv", test, rng)
        t0 = time.perf_counter()
        cfg = BuildPairsConfig(
            dataset="deepfashion",
            out=d / "out",
            annotations_train=d / "train.csv",
            annotations_test=d / "test.csv",
        )
        result = run_build_pairs(cfg)
        t_pg = time.perf_counter() - t0
        t0 = time.perf_counter()
        ref_train, ref_test = reference(d / "train.csv", False), reference(d / "test.csv", True)
        t_ref = time.perf_counter() - t0
        same = ref_train == read_pairs(
            d / "out" / "fasion-resize-pairs-train.csv"
        ) and ref_test == read_pairs(d / "out" / "fasion-resize-pairs-test.csv")
    print(f"{len(train) + len(test)} rows ({source}): {result.summary()}", file=sys.stderr)
    print(f"pgdata build-pairs : {t_pg:6.2f} s")
    print(f"pandas reference   : {t_ref:6.2f} s   (same pairs: {same})")
    print(
        json.dumps(
            {
                "bench": "build_pairs",
                "rows": len(train) + len(test),
                "names": source,
                "train_pairs": result.splits["train"].pairs.pairs,
                "test_pairs": result.splits["test"].pairs.pairs,
                "pgdata_s": round(t_pg, 3),
                "reference_s": round(t_ref, 3),
                "same_pairs": same,
                "ratio": round(t_ref / t_pg, 2),
                "target_s": 10,
            }
        )
    )


if __name__ == "__main__":
    main()
