import io

import numpy as np
import pytest
from PIL import Image

from pgdata.errors import InputFormatError
from pgdata.io.viton import decode_parse_png, encode_parse_png, read_parse_png
from pgdata.labels import CIHP_PALETTE, VOC_PALETTE, P
from pgdata.stages.parsing import (
    UnknownColoursError,
    colours_to_labels,
    group_7,
    group_13,
    remap_labels,
    resize_parsing,
    split_sides,
    to_viton,
    unknown_labels,
    upsample_smooth,
)

HR = "viton_hd_hrviton_00006_00"


def _png(arr: np.ndarray, mode: str, palette: bytes | None = None) -> bytes:
    im = Image.fromarray(arr)
    if palette is not None:
        im.putpalette(palette)
    elif mode != im.mode:
        im = im.convert(mode)
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()


def test_remap_and_unknown_labels():
    lab = np.array([[0, 4, 11], [17, 8, 16]], np.uint8)
    atr = to_viton(lab, "atr")
    assert atr.tolist() == [[0, P.UPPER_CLOTHES, P.FACE], [P.SCARF, P.PANTS, 0]]
    assert unknown_labels(np.array([[0, 19, 20, 250]], np.uint8), 20) == [20, 250]
    with pytest.raises(ValueError, match=r"\[18, 19\]"):
        remap_labels(np.array([[18, 19]], np.uint8), tuple(range(18)))
    assert to_viton(np.array([[10]], np.uint8), "lip")[0, 0] == P.DRESS
    assert to_viton(np.array([[10]], np.uint8), "cihp")[0, 0] == P.NECK


def test_pascal_sides_follow_the_torso_centre():
    lab = np.zeros((10, 20), np.uint8)
    lab[2:8, 8:12] = 2  # torso
    lab[2:6, 5:7] = 3  # an arm on the image left -> person's right
    lab[2:6, 13:15] = 4  # an arm on the image right -> person's left
    lab[8:10, 8:10] = 6
    lab[8:10, 10:12] = 5
    out = to_viton(lab, "pascal")
    assert (out[2:6, 5:7] == P.RIGHT_ARM).all() and (out[2:6, 13:15] == P.LEFT_ARM).all()
    assert (out[8:10, 8:10] == P.RIGHT_LEG).all() and (out[8:10, 10:12] == P.LEFT_LEG).all()
    assert (out[2:8, 8:12][lab[2:8, 8:12] == 2] == P.UPPER_CLOTHES).all()
    assert not split_sides(np.zeros((3, 3), np.uint8)).any()


def test_colours_to_labels_exact_palette_only():
    lab = np.array([[0, 5, 13], [14, 15, 19]], np.uint8)
    pal = np.frombuffer(CIHP_PALETTE, np.uint8).reshape(256, 3)
    assert np.array_equal(colours_to_labels(pal[lab], CIHP_PALETTE, 20), lab)
    off = pal[lab].copy()
    off[0, 1] = (255, 85, 0)  # the CIHP_PGN colour before VITON-HD's 255 -> 254 change
    with pytest.raises(UnknownColoursError, match=r"\(255, 85, 0\)"):
        colours_to_labels(off, CIHP_PALETTE, 20)


def test_decode_modes_and_errors(tmp_path):
    lab = (np.arange(48, dtype=np.uint8) % 20).reshape(6, 8)
    assert np.array_equal(decode_parse_png(_png(lab, "L"), "x"), lab)  # grey ids
    assert np.array_equal(decode_parse_png(_png(lab, "P", VOC_PALETTE), "x"), lab)  # SCHP
    pal = np.frombuffer(CIHP_PALETTE, np.uint8).reshape(256, 3)
    assert np.array_equal(decode_parse_png(_png(pal[lab], "RGB"), "x"), lab)
    voc = np.frombuffer(VOC_PALETTE, np.uint8).reshape(256, 3)
    assert np.array_equal(decode_parse_png(_png(voc[lab], "RGB"), "x"), lab)
    noisy = pal[lab].copy()
    noisy[0, 0] = (1, 2, 3)
    with pytest.raises(InputFormatError, match=r"vis.png: RGB parsing image .*\(1, 2, 3\)"):
        decode_parse_png(_png(noisy, "RGB"), "vis.png")
    bad = lab.copy()
    bad[0, :2] = (20, 42)
    with pytest.raises(InputFormatError, match=r"p.png: unknown labels \[20, 42\]"):
        decode_parse_png(_png(bad, "L"), "p.png")
    with pytest.raises(InputFormatError, match=r"ids 0\.\.17"):
        decode_parse_png(_png(np.full((2, 2), 18, np.uint8), "L"), "a.png", 18)
    (tmp_path / "junk.png").write_bytes(b"not a png")
    with pytest.raises(InputFormatError, match="junk.png: cannot read"):
        read_parse_png(tmp_path / "junk.png")
    with pytest.raises(InputFormatError, match="not found"):
        read_parse_png(tmp_path / "none.png")


def test_writer_matches_viton_hd_files(tryon_data):
    shipped = tryon_data / HR / "image-parse-v3" / "00006_00.png"
    with Image.open(shipped) as im:
        assert im.mode == "P"
        shipped_palette = im.getpalette()
        shipped_ids = np.array(im)
    assert bytes(shipped_palette) == CIHP_PALETTE
    labels = read_parse_png(shipped)
    assert set(np.unique(labels)) == {0, 2, 5, 9, 10, 13, 14, 15}
    with Image.open(io.BytesIO(encode_parse_png(labels))) as im:
        assert im.mode == "P" and bytes(im.getpalette()) == CIHP_PALETTE
        assert "transparency" not in im.info
        assert np.array_equal(np.array(im), shipped_ids)
    # label 14 (left arm) lies on the image right
    cols = np.nonzero(labels == P.LEFT_ARM)[1]
    assert cols.mean() > labels.shape[1] / 2


def test_resize_is_nearest_and_smooth_upsampling_keeps_ids():
    lab = np.zeros((64, 48), np.uint8)
    lab[10:50, 10:38] = 5
    lab[20:30, 20:28] = 13
    big = resize_parsing(lab, (256, 192))
    assert set(np.unique(big)) == {0, 5, 13}
    assert np.array_equal(resize_parsing(big, (64, 48)), lab)
    smooth = upsample_smooth(lab, (256, 192))
    assert set(np.unique(smooth)) <= {0, 5, 13}
    assert (smooth == big).mean() > 0.97


def test_group_13_and_7():
    lab = np.array([[0, 10, 5, 6], [14, 3, 11, 19]], np.uint8)
    ch = group_13(lab)
    assert ch.shape == (13, 2, 4) and (ch.sum(axis=0) == 1).all()
    assert ch[0, 0, 1] == 1 and ch[3, 0, 3] == 1 and ch[12, 1, 1] == 1 and ch[10, 1, 3] == 1
    seven = group_7(ch)
    assert seven.shape == (7, 2, 4) and (seven.sum(axis=0) == 1).all()
    assert seven[2, 0, 2] == 1 and seven[4, 1, 0] == 1 and seven[1, 1, 3] == 1
