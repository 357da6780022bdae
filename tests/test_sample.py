import hashlib
from pathlib import Path

import cv2
import numpy as np

from pgdata.io.inshop import flat_name, parse_inshop_path, read_partition, scan_images
from pgdata.io.pose_csv import read_annotations
from pgdata.jobs.posetransfer.sample import SampleConfig, run_sample
from pgdata.labels import TORSO_JOINTS
from pgdata.stages.keypoints import yx_to_xyc


def _digest(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_same_seed_same_bytes_any_worker_count(tmp_path):
    a = run_sample(SampleConfig(tmp_path / "a", ids=6, views=5, seed=3))
    run_sample(SampleConfig(tmp_path / "b", ids=6, views=5, seed=3, workers=2))
    run_sample(SampleConfig(tmp_path / "c", ids=6, views=5, seed=4))
    da, db, dc = _digest(tmp_path / "a"), _digest(tmp_path / "b"), _digest(tmp_path / "c")
    assert a.images == 30 and len(da) == 30 * 2 + 3
    assert da == db
    assert da != dc


def test_layout_is_inshop(sample_tree):
    images, strays = scan_images(sample_tree)
    assert len(images) == 96 and strays == []
    partition = read_partition(sample_tree / "list_eval_partition.txt")
    assert sorted(partition) == sorted(i.rel_path for i in images)
    assert set(partition.values()) == {"train", "query", "gallery"}
    by_id: dict[str, set[str]] = {}
    for rel, status in partition.items():
        by_id.setdefault(parse_inshop_path(rel).item_id, set()).add(
            "train" if status == "train" else "test"
        )
    assert all(len(s) == 1 for s in by_id.values())  # an identity is in one split only
    ann = read_annotations(sample_tree / "keypoints.csv")
    assert sorted(ann.names) == sorted(flat_name(i) for i in images)
    for img in images[:8]:
        rgb = cv2.imread(str(sample_tree / img.rel_path))
        assert rgb.shape == (256, 256, 3)


def test_image_parsing_and_keypoints_agree(sample_tree):
    images, _ = scan_images(sample_tree)
    ann = read_annotations(sample_tree / "keypoints.csv")
    kps_by_name = dict(zip(ann.names, yx_to_xyc(ann.yx), strict=True))
    on_body = total = 0
    for img in images:
        kps = kps_by_name[flat_name(img)]
        png = sample_tree / "parsing" / img.rel_path.split("/", 1)[1].replace(".jpg", ".png")
        labels = cv2.imread(str(png), cv2.IMREAD_UNCHANGED)
        assert labels.dtype == np.uint8 and labels.shape == (256, 256) and labels.max() <= 19
        photo = cv2.imread(str(sample_tree / img.rel_path)).astype(int)
        if img.view == "flat":
            assert not kps[:, 2].any()
            continue
        for x, y, c in kps[list(TORSO_JOINTS) + [1]]:
            if c > 0:
                total += 1
                on_body += labels[int(y), int(x)] != 0
        # the person differs from the background colour
        bg = photo[labels == 0].mean(axis=0)
        person = photo[labels != 0].mean(axis=0)
        assert np.abs(bg - person).max() > 10
    assert total > 200 and on_body / total > 0.97


def test_sample_has_images_the_pair_rule_drops(sample_tree):
    ann = read_annotations(sample_tree / "keypoints.csv")
    kps = yx_to_xyc(ann.yx)
    torso_ok = (kps[:, list(TORSO_JOINTS), 2] > 0).all(axis=1)
    assert 0 < (~torso_ok).sum() < len(kps) // 3
