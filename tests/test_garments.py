"""``pgdata garments`` on hand-made crawl folders, and the garment kernels."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pgdata.cli import cli
from pgdata.errors import InputFormatError
from pgdata.jobs.garments.garments import GarmentsConfig, run_garments
from pgdata.stages.garments import garment_hash, garment_kind, near_duplicate, normalise_garment
from pgdata.stages.synth_garments import draw_garment, model_photo


def jpeg(rgb: np.ndarray, quality: int = 92) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def png_rgba(rgb: np.ndarray, mask: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.dstack([rgb, mask]), "RGBA").save(buf, "PNG")
    return buf.getvalue()


def resized(rgb: np.ndarray, scale: float) -> np.ndarray:
    im = Image.fromarray(rgb)
    return np.asarray(im.resize((round(im.width * scale), round(im.height * scale)), Image.LANCZOS))


def write_store(
    root: Path, products: list[tuple[str, str, list[bytes]]], store: str = "shop"
) -> Path:
    """A crawl folder: ``root/<store>/items.jsonl`` + files; products are (name, category, images)."""
    d = root / store
    (d / "files").mkdir(parents=True, exist_ok=True)
    lines = []
    for i, (name, category, blobs) in enumerate(products):
        images = []
        for j, data in enumerate(blobs):
            rel = f"files/{i:03d}{j}.img"
            (d / rel).write_bytes(data)
            images.append(
                {
                    "url": f"https://img.example/{i}/{j}",
                    "path": rel,
                    "sha256": hashlib.sha256(data).hexdigest(),
                    "width": 0,
                    "height": 0,
                }
            )
        lines.append(
            json.dumps(
                {
                    "store": store,
                    "url": f"https://shop.example/p/{i}",
                    "name": name,
                    "category": category,
                    "images": images,
                }
            )
        )
    (d / "items.jsonl").write_text("\n".join(lines) + "\n")
    return d


@pytest.fixture(scope="module")
def garments_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, object]:
    root = tmp_path_factory.mktemp("crawl")
    red, _ = draw_garment("tee", (200, 30, 40), seed=1)
    blue, _ = draw_garment("tee", (30, 60, 200), seed=1)
    skirt, _ = draw_garment("shorts", (90, 140, 60), seed=2)
    dress, dmask = draw_garment("dress", (20, 120, 60), seed=3)
    tiny, _ = draw_garment("tank", (10, 10, 10), (60, 80), seed=4)
    write_store(
        root,
        [
            ("Red Tee", "Tees", [jpeg(red)]),
            ("Blue Tee", "Tees", [jpeg(blue)]),
            ("Red Tee again", "Tees", [jpeg(resized(red, 0.8), 60)]),  # near duplicate, smaller
            ("Red Tee copy", "Tees", [jpeg(red)]),  # exact duplicate
            ("Skirt", "Skirts", [jpeg(skirt), jpeg(model_photo(seed=1))]),
            ("Dress", "Dresses", [png_rgba(dress, dmask)]),
            ("Tiny Tank", "Tops", [jpeg(tiny)]),  # its file is changed below
            ("Empty", "Tops", [jpeg(np.full((400, 300, 3), 246, np.uint8))]),
            ("Broken", "Tops", [b"\xff\xd8\xff\xe0 not a jpeg"]),
        ],
    )
    (root / "shop" / "files" / "0060.img").write_bytes(jpeg(tiny) + b"x")  # changed after the crawl
    out = tmp_path_factory.mktemp("garments")
    result = run_garments(GarmentsConfig(src=root, out=out, size_hw=(256, 192)))
    return root, out, result


def test_garments_keeps_colour_variants_and_drops_duplicates(garments_run) -> None:
    root, out, result = garments_run
    records = [json.loads(x) for x in (out / "garments.jsonl").read_text().splitlines()]
    assert sorted(r["name"] for r in records) == ["Blue Tee", "Dress", "Red Tee", "Skirt"]
    rejected = dict(
        line.split(",", 1) for line in (out / "rejected.csv").read_text().splitlines()[1:]
    )
    kinds = {k: v.split(" (")[0].strip('"') for k, v in rejected.items()}
    assert kinds == {
        "shop/files/0020.img": "duplicate_near",
        "shop/files/0030.img": "duplicate_exact",
        "shop/files/0041.img": "not_packshot",
        "shop/files/0060.img": "checksum_mismatch",
        "shop/files/0070.img": "mask_area",
        "shop/files/0080.img": "undecodable",
    }
    assert result.summary().startswith("garments: read 10 images, kept 4")
    report = json.loads((out / "garments.json").read_text())
    assert report["kept"] == 4 and report["rejected_by_reason"]["duplicate_near"] == 1
    assert report["config"]["size_hw"] == [256, 192]
    by_name = {r["name"]: r for r in records}
    assert by_name["Dress"]["mask_source"] == "alpha" and by_name["Dress"]["kind"] == "dresses"
    assert by_name["Skirt"]["kind"] == "lower_body" and by_name["Red Tee"]["kind"] == "upper_body"
    for r in records:
        cloth = np.asarray(Image.open(out / r["cloth"]))
        mask = np.asarray(Image.open(out / r["cloth_mask"]))
        assert cloth.shape == (256, 192, 3) and mask.shape == (256, 192)
        assert ((mask > 32) & (mask < 223)).mean() < 0.01  # a binary mask after JPEG


def test_too_small_and_rerun_cleans_up(garments_run, tmp_path: Path) -> None:
    root, out, _ = garments_run
    result = run_garments(GarmentsConfig(src=root / "shop", out=out, size_hw=(1024, 768)))
    # 600x800 sources cannot fill 768x1024 without upscaling more than 1.25x
    assert result.kept == 0
    assert {r.split(" (")[0] for _, r in result.rejected} >= {"too_small", "duplicate_exact"}
    assert not list((out / "cloth").iterdir()) and not list((out / "cloth-mask").iterdir())


def test_workers_give_the_same_result(garments_run, tmp_path: Path) -> None:
    root, _, _ = garments_run
    outs = [tmp_path / "w1", tmp_path / "w2"]
    for out, workers in zip(outs, (1, 2), strict=True):
        run_garments(GarmentsConfig(src=root, out=out, size_hw=(256, 192), workers=workers))
    a, b = ((o / "garments.jsonl").read_text() for o in outs)
    assert a == b and a.count("\n") == 4
    assert (outs[0] / "rejected.csv").read_text() == (outs[1] / "rejected.csv").read_text()


def test_bad_inputs(tmp_path: Path, runner) -> None:
    with pytest.raises(InputFormatError, match="no items.jsonl"):
        run_garments(GarmentsConfig(src=tmp_path, out=tmp_path / "o"))
    d = write_store(tmp_path / "c", [("Tee", "Tees", [b"x"])])
    item = json.loads((d / "items.jsonl").read_text())
    item["images"][0]["path"] = "../../../etc/passwd"
    (d / "items.jsonl").write_text(json.dumps(item) + "\n")
    result = run_garments(GarmentsConfig(src=tmp_path / "c", out=tmp_path / "o"))
    assert [r.split(" (")[0] for _, r in result.rejected] == ["bad_path"]
    (d / "items.jsonl").write_text('{"images": "nope"}\n')
    r = runner.invoke(cli, ["garments", str(tmp_path / "c"), "--out", str(tmp_path / "o")])
    assert r.exit_code == 1 and "items.jsonl:1: 'images' must be a list" in r.output
    r = runner.invoke(
        cli, ["garments", str(tmp_path / "c"), "--out", str(tmp_path / "o"), "--size", "1024"]
    )
    assert r.exit_code == 2 and "height x width" in r.output


def test_normalise_keeps_aspect_and_centres() -> None:
    rgb, mask = draw_garment("trousers", (50, 70, 120), (300, 400))
    out, m, scale = normalise_garment(rgb, mask, (256, 192), fill=(246, 246, 246))
    assert out.shape == (256, 192, 3) and m.shape == (256, 192)
    ys, xs = np.nonzero(m)
    assert ys.min() > 0 and ys.max() < 255  # margin kept
    assert abs((xs.min() + xs.max()) / 2 - 95.5) <= 1.5  # centred
    assert tuple(out[0, 0]) == (246, 246, 246)
    assert scale == pytest.approx(256 / (int(np.ptp(np.nonzero(mask)[0])) + 1) / 1.08, rel=0.02)
    with pytest.raises(ValueError, match="empty"):
        normalise_garment(rgb, np.zeros_like(mask), (256, 192))


def test_near_duplicate_needs_the_colour_too() -> None:
    red, m = draw_garment("tee", (200, 30, 40), (300, 400), seed=1)
    blue, _ = draw_garment("tee", (30, 60, 200), (300, 400), seed=1)
    a = garment_hash(*normalise_garment(red, m, (128, 96))[:2])
    b = garment_hash(*normalise_garment(blue, m, (128, 96))[:2])
    dup, bits, de = near_duplicate(a, b)
    assert bits <= 6 and de > 50 and not dup
    assert near_duplicate(a, a) == (True, 0, 0.0)


@pytest.mark.parametrize(
    ("texts", "kind"),
    [
        (("Shirt Dress",), "dresses"),
        (("top", "Women > Jumpsuits"), "upper_body"),
        ((None, "Jeans"), "lower_body"),
        (("Short Sleeve Tee",), "upper_body"),
        (("Denim Shorts",), "lower_body"),
        (("와이드 팬츠",), "lower_body"),
        (("Bucket Hat",), "unknown"),
        ((None, None), "unknown"),
    ],
)
def test_garment_kind(texts: tuple[str | None, ...], kind: str) -> None:
    assert garment_kind(*texts) == kind


def test_kept_garments_are_in_shards(garments_run, tmp_path: Path) -> None:
    root, _, _ = garments_run
    from pgdata.shards import ShardReader, read_manifest
    from pgdata.shards.verify import verify_shards

    out = tmp_path / "first"  # the module's run is reused by other tests
    run_garments(GarmentsConfig(src=root, out=out, size_hw=(256, 192)))
    records = [json.loads(x) for x in (out / "garments.jsonl").read_text().splitlines()]
    manifest = read_manifest(out / "shards")
    assert manifest.schema.name == "garments" and manifest.counts["records"] == {"garments": 4}
    stored = {}
    for entry in manifest.shards:
        r = ShardReader(out / "shards" / entry.file)
        for i, gid in enumerate(r.column("id")):
            stored[gid] = (
                r.encoded("cloth", i),
                r.array("cloth_mask", i),
                json.loads(r.column("meta")[i]),
            )
        r.close()
    assert sorted(stored) == sorted(rec["id"] for rec in records)
    for rec in records:
        cloth, mask, meta = stored[rec["id"]]
        assert cloth == (out / rec["cloth"]).read_bytes()
        np.testing.assert_array_equal(mask, np.asarray(Image.open(out / rec["cloth_mask"])))
        assert meta == rec
    assert verify_shards(out / "shards").faults == []
    # small shards roll over; a rerun with other settings replaces them
    copy = tmp_path / "g"
    run_garments(GarmentsConfig(src=root, out=copy, size_hw=(256, 192), shard_mb=0.02))
    assert len(read_manifest(copy / "shards").shards) > 1
    run_garments(GarmentsConfig(src=root, out=copy, size_hw=(128, 96)))
    again = read_manifest(copy / "shards")
    assert len(again.shards) == 1 and again.config["size_hw"] == [128, 96]
    assert verify_shards(copy / "shards").faults == []
