import cv2
import numpy as np
import pytest
from PIL import Image

from pgdata.errors import InputFormatError as Rejected
from pgdata.io.densepose import read_densepose
from pgdata.labels import DENSEPOSE_PARULA
from pgdata.stages.densepose import decode_densepose, paste_instances, render_densepose


def _parts(rng: np.random.Generator, h: int = 64, w: int = 48) -> np.ndarray:
    parts = np.zeros((h, w), np.uint8)
    parts[8:56, 8:40] = rng.integers(1, 25, size=(48 // 8, 32 // 8)).repeat(8, 0).repeat(8, 1)
    return parts


def test_render_and_decode_round_trip():
    parts = _parts(np.random.default_rng(0))
    rgb = render_densepose(parts)
    assert rgb.shape == (64, 48, 3) and tuple(rgb[0, 0]) == (0, 0, 0)
    assert tuple(rgb[parts == 2][0]) == DENSEPOSE_PARULA[2] if (parts == 2).any() else True
    assert np.array_equal(decode_densepose(rgb), parts)
    noisy = np.clip(rgb.astype(int) + np.random.default_rng(1).integers(-3, 4, rgb.shape), 0, 255)
    assert np.array_equal(decode_densepose(noisy.astype(np.uint8)), parts)
    with pytest.raises(ValueError, match="above 24"):
        render_densepose(np.full((2, 2), 25, np.uint8))


def test_decode_shipped_image_densepose(tryon_data):
    rgb = np.array(
        Image.open(tryon_data / "viton_hd_hrviton_00006_00" / "image-densepose" / "00006_00.jpg")
    )
    parts = decode_densepose(rgb)
    body = parts > 0
    assert 0.3 < body.mean() < 0.45  # 62 % black
    dist = np.linalg.norm(rgb[body].astype(int) - render_densepose(parts)[body].astype(int), axis=1)
    assert np.median(dist) <= 2
    counts = np.bincount(parts[body], minlength=25)
    assert int(np.argmax(counts)) == 2 and 100_000 < counts[2] < 150_000


def test_paste_instances_resizes_into_boxes_best_on_top():
    a = np.full((4, 4), 2, np.uint8)
    b = np.full((2, 2), 7, np.uint8)
    out = paste_instances((20, 30), np.array([[0, 0, 8, 8], [4, 4, 10, 10]]), [a, b], [0.9, 0.5])
    assert (out[0:4, 0:4] == 2).all() and (out[6:8, 6:8] == 2).all()  # a (0.9) pasted last
    assert (out[10:14, 10:14] == 7).all() and out[15, 15] == 0
    clipped = paste_instances((10, 10), np.array([[-5, 5, 10, 10]]), [b])
    assert (clipped[5:, :5] == 7).all() and clipped[:5].sum() == 0


def test_import_formats(tmp_path):
    parts = _parts(np.random.default_rng(2))
    size = parts.shape
    np.save(tmp_path / "a.npy", parts)
    iuv = np.stack([parts, parts * 3, parts * 5], axis=0)
    np.save(tmp_path / "b.npy", iuv)  # (3, H, W), I first
    np.savez(tmp_path / "c.npz", parts=parts)
    np.savez(
        tmp_path / "d.npz",
        boxes=np.array([[8, 8, 32, 48]]),
        parts_0=parts[8:56, 8:40],
        scores=np.array([0.99]),
    )
    cv2.imwrite(str(tmp_path / "e_IUV.png"), np.dstack([parts, parts, parts]))
    for name in ("a.npy", "b.npy", "c.npz", "d.npz", "e_IUV.png"):
        assert np.array_equal(read_densepose(tmp_path / name, size), parts), name
    big = parts.repeat(4, 0).repeat(4, 1)  # JPEG chroma subsampling blurs 8 px blocks
    cv2.imwrite(str(tmp_path / "g.jpg"), render_densepose(big)[..., ::-1])
    assert (read_densepose(tmp_path / "g.jpg", big.shape) == big).mean() > 0.93  # lossy
    np.save(tmp_path / "bad.npy", np.full(size, 30, np.uint8))
    with pytest.raises(Rejected, match="outside 0..24"):
        read_densepose(tmp_path / "bad.npy", size)
    (tmp_path / "junk.npz").write_bytes(b"nope")
    with pytest.raises(Rejected, match="unreadable"):
        read_densepose(tmp_path / "junk.npz", size)
