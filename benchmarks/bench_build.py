"""Images/s of ``pgdata build`` against a plain ``cv2.imdecode`` loop over the same files.

Data: ``pgdata sample`` (2,000 identities × 5 views = 10,000 images, plus a 2,500-image set) →
``build-pairs --images 256x176``, cached in ``bench-out/build``. Measured side by side, one core
(``OMP_NUM_THREADS=1``, ``--workers 1``):

- decode-only: read every image file and ``cv2.imdecode`` it (what any loader must at least do);
- pgdata build: hash inputs, plan, validate (decode) every image, write shards and manifest,
  without and with parsing maps (gzip, one chunk per record).

Target: build ≥ 0.7× the decode-only rate. Peak resident memory of the build process (ru_maxrss)
is reported for 2,500 and 10,000 images at a 16 MB shard size (smaller than both datasets): a
shard is assembled in memory, so the peak follows the shard size, not the dataset size. The
10,000-image figure at the default 128 MB shards is printed too.
Last line: one JSON object; ``ratio`` = build images/s / decode-only images/s (no parsing).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "bench-out" / "build"


def prepare(name: str, ids: int) -> Path:
    pairs = DATA / name / "pairs"
    if (pairs / "build-pairs.json").is_file():
        return pairs
    from pgdata.jobs.posetransfer.build_pairs import BuildPairsConfig, run_build_pairs
    from pgdata.jobs.posetransfer.sample import SampleConfig, run_sample

    run_sample(SampleConfig(DATA / name / "inshop", ids=ids, views=5, workers=os.cpu_count() or 1))
    run_build_pairs(
        BuildPairsConfig(
            dataset="deepfashion",
            root=DATA / name / "inshop",
            out=pairs,
            images_hw=(256, 176),
            workers=os.cpu_count() or 1,
        )
    )
    return pairs


def decode_loop(pairs: Path) -> tuple[int, float]:
    files = sorted(pairs.glob("train/*.jpg")) + sorted(pairs.glob("test/*.jpg"))
    t0 = time.perf_counter()
    for f in files:
        img = cv2.imdecode(np.frombuffer(f.read_bytes(), np.uint8), cv2.IMREAD_COLOR)
        assert img is not None
    return len(files), time.perf_counter() - t0


def build(pairs: Path, out: Path, parsing: bool) -> float:
    """Wall seconds of one `pgdata build` process."""
    shutil.rmtree(out, ignore_errors=True)
    cmd = [
        sys.executable,
        "-m",
        "pgdata",
        "build",
        "--source",
        str(pairs),
        "--out",
        str(out),
        "--workers",
        "1",
    ]
    cmd.append("--parsing" if parsing else "--no-parsing")
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    return time.perf_counter() - t0


def main() -> None:
    cv2.setNumThreads(1)
    small, big = prepare("small", 500), prepare("big", 2000)
    decode_loop(big)  # warm the page cache
    n, t_decode = decode_loop(big)
    t_build = build(big, DATA / "big" / "shards", parsing=False)
    t_build_parsing = build(big, DATA / "big" / "shards-parsing", parsing=True)
    # peak RSS: each build under a fresh interpreter (ru_maxrss of children is a running max)
    rss_small = _rss_of(small, 16)
    rss_big = _rss_of(big, 16)
    rss_big_default = _rss_of(big, 128)
    decode_rate, build_rate = n / t_decode, n / t_build
    print(f"decode-only loop     : {decode_rate:7.0f} images/s  ({n} images)")
    print(
        f"pgdata build         : {build_rate:7.0f} images/s  ({build_rate / decode_rate:.2f}x of decode-only)"
    )
    print(f"pgdata build+parsing : {n / t_build_parsing:7.0f} images/s")
    print(
        f"peak RSS of build    : {rss_small / 1024:.0f} MiB for 2,500 images, {rss_big / 1024:.0f} MiB for 10,000 "
        f"(16 MB shards); {rss_big_default / 1024:.0f} MiB for 10,000 with 128 MB shards"
    )
    print(
        json.dumps(
            {
                "bench": "build",
                "images": n,
                "size_hw": [256, 176],
                "workers": 1,
                "decode_only_images_s": round(decode_rate, 1),
                "build_images_s": round(build_rate, 1),
                "build_with_parsing_images_s": round(n / t_build_parsing, 1),
                "peak_rss_mib_2500": round(rss_small / 1024, 1),
                "peak_rss_mib_10000": round(rss_big / 1024, 1),
                "peak_rss_mib_10000_128mb_shards": round(rss_big_default / 1024, 1),
                "ratio": round(build_rate / decode_rate, 3),
                "target": 0.7,
            }
        )
    )


def _rss_of(pairs: Path, shard_mb: int) -> int:
    code = (
        "import resource, subprocess, sys;"
        f"subprocess.run([sys.executable, '-m', 'pgdata', 'build', '--source', {str(pairs)!r}, '--out', {str(pairs.parent / 'shards-rss')!r},"
        f" '--workers', '1', '--shard-mb', '{shard_mb}', '--no-parsing', '--overwrite'],"
        " check=True, capture_output=True);"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    shutil.rmtree(pairs.parent / "shards-rss", ignore_errors=True)
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return int(out.stdout.strip())


if __name__ == "__main__":
    main()
