"""Small shared helpers: the process-pool map and the keypoint checks moved into stages."""

from __future__ import annotations

import os

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
