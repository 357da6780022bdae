"""Small shared helpers: the process-pool map and the keypoint checks moved into stages."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from pgdata.executor import LocalExecutor
from pgdata.parallel import parallel_map
from pgdata.stages.keypoints import drop_far_joints, misfit


def _square(x: int) -> int:
    return x * x


def test_parallel_map_keeps_task_order_and_counts_progress():
    ticks: list[int] = []
    tasks = list(range(7))
    assert list(parallel_map(_square, tasks, workers=2, chunksize=2, progress=ticks.append)) == [
        x * x for x in tasks
    ]
    assert ticks == [1] * 7
    assert list(parallel_map(_square, [3], workers=4)) == [9]  # one task: no pool


def _threads(_: int) -> tuple[int, str | None]:
    import cv2

    return cv2.getNumThreads(), os.environ.get("OMP_NUM_THREADS")


def test_pool_workers_run_native_thread_pools_on_one_thread():
    # N worker processes of N OpenCV threads each on N cores fight over them (the Dask speed-up
    # of the try-on stages was 1.68x instead of 1.96x on 2 cores before this)
    assert set(parallel_map(_threads, [0, 1, 2], workers=2)) == {(1, "1")}
    ex = LocalExecutor(workers=2)
    assert {r for _, r in ex.map_unordered(_threads, [0, 1, 2])} == {(1, "1")}


_AFTER_WORK = """
import cv2, numpy as np, torch
from pgdata.executor import LocalExecutor
from pgdata.parallel import parallel_map
from tests.test_helpers import _work
before = cv2.getNumThreads(), torch.get_num_threads()
_work(0)  # this process's OpenCV and PyTorch pools now have running threads
print(sorted(set(parallel_map(_work, [0, 1, 2], workers=2))))
print(sorted({r for _, r in LocalExecutor(workers=2).map_unordered(_work, [0, 1, 2])}))
print((cv2.getNumThreads(), torch.get_num_threads()) == before, before)
"""


def _work(_: int) -> tuple[int, int]:
    import cv2
    import torch

    cv2.GaussianBlur(np.zeros((1500, 1500, 3), np.uint8), (15, 15), 3)
    x = torch.ones(400, 400)
    float((x @ x).sum())
    return cv2.getNumThreads(), torch.get_num_threads()


def test_pools_forked_after_threaded_work_do_not_hang():
    # a forked child that reconfigured OpenCV's pool inherited from a process whose pool had
    # run waited forever (pthread_cond_destroy); a subprocess, so that a hang fails the test
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root)}
    env.pop("OMP_NUM_THREADS", None)
    done = subprocess.run(
        [sys.executable, "-c", _AFTER_WORK], cwd=root, env=env, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.split("\n")
    assert lines[0] == lines[1] == "[(1, 1)]", done.stdout  # the workers: one thread each
    assert lines[2].startswith("True"), done.stdout  # this process got its threads back


def test_drop_far_joints_keeps_a_margin_around_the_image():
    kps = np.array(
        [[-5, 10, 1], [-5.1, 10, 1], [100 + 4, 50, 0.5], [10, 50 + 5.5, 1], [-50, -50, 0]],
        dtype=np.float32,
    )  # image 50 x 100 (H x W), margin 5
    out, dropped = drop_far_joints(kps, (50, 100), 5.0)
    assert dropped
    np.testing.assert_array_equal(out[[0, 2]], kps[[0, 2]])  # within the margin: kept
    assert not out[[1, 3]].any()  # 0.1 and 1.5 px beyond it: missing
    np.testing.assert_array_equal(out[4], kps[4])  # already missing: left as it was
    assert kps[1, 0] == -5.1  # the input is not modified
    assert drop_far_joints(kps[:1], (50, 100), 5.0)[1] is False


def test_misfit_names_what_is_wrong():
    pose = np.zeros((25, 3), np.float32)
    assert misfit(pose, (10, 10)) == "no person detected"
    pose[1] = (5, 5, 1)
    assert misfit(pose, (10, 10)) is None
    pose[2] = (30, 4, 1)
    assert misfit(pose, (10, 20)).startswith(
        "size mismatch: keypoints reach (30, 5) outside the 20x10"
    )
