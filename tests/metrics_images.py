"""Images for the metric tests: synthetic persons (pgdata's sample renderer) and a real photo."""

from __future__ import annotations

from collections.abc import Iterator

import cv2
import numpy as np
import pytest

from pgdata.stages.synth import random_appearance, random_body, render_person, synth_pose

SIZE_HW = (256, 176)  # DeepFashion as PATN/GFLA/DPTN score it


def person(seed: int, size_hw: tuple[int, int] = SIZE_HW, view: str = "front") -> np.ndarray:
    """``(H, W, 3)`` uint8 RGB rendering of a synthetic person."""
    rng = np.random.default_rng(seed)
    body = random_body(rng)
    look = random_appearance(rng, "WOMEN", "Blouses_Shirts")
    kps = synth_pose(rng, body, view, size_hw)
    img, _ = render_person(kps, body, look, view, size_hw, rng)
    return img


def degrade(img: np.ndarray, seed: int, noise: float = 12.0, shift: int = 2) -> np.ndarray:
    """A plausible generator output: blurred, shifted, noisy copy of ``img`` (uint8 RGB)."""
    rng = np.random.default_rng(seed)
    out = cv2.GaussianBlur(img, (5, 5), 1.2).astype(np.float32)
    out = np.roll(out, shift, axis=1) + rng.normal(0.0, noise, img.shape)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def astronaut(size_hw: tuple[int, int] = SIZE_HW) -> np.ndarray:
    """``skimage.data.astronaut()`` (public domain) cropped to the aspect of ``size_hw`` and resized."""
    from skimage.data import astronaut as load

    img = load()
    h, w = size_hw
    crop_w = img.shape[0] * w // h
    x0 = (img.shape[1] - crop_w) // 2
    return np.ascontiguousarray(
        cv2.resize(img[:, x0 : x0 + crop_w], (w, h), interpolation=cv2.INTER_AREA)
    )


def random_image(seed: int, size_hw: tuple[int, int] = SIZE_HW) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (*size_hw, 3), dtype=np.uint8)


def to_batch(*images: np.ndarray):  # type: ignore[no-untyped-def]
    """``(H, W, 3)`` uint8 arrays → ``(B, 3, H, W)`` uint8 tensor."""
    import torch

    return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).contiguous()


def write_png(path, rgb: np.ndarray) -> None:  # type: ignore[no-untyped-def]
    from pgdata.io.images import encode_png

    path.write_bytes(encode_png(rgb))


def pair_folders(root, n: int, size_hw: tuple[int, int] = (64, 56)):  # type: ignore[no-untyped-def]
    """``root/pred`` and ``root/gt`` with ``n`` synthetic person pairs ``img{i}.png``."""
    pred, gt = root / "pred", root / "gt"
    pred.mkdir(parents=True)
    gt.mkdir()
    for i in range(n):
        target = person(i, size_hw)
        write_png(gt / f"img{i}.png", target)
        write_png(pred / f"img{i}.png", degrade(target, 100 + i, noise=4.0 + 3 * i))
    return pred, gt


def scaled_random_state(module, seed: int = 0):  # type: ignore[no-untyped-def]
    """A well-scaled random state dict (He-normal weights, BN near identity) for ``module``."""
    import torch

    g = torch.Generator().manual_seed(seed)
    out = {}
    for k, v in module.state_dict().items():
        if not v.is_floating_point():
            out[k] = v.clone()
        elif k.endswith("running_mean"):
            out[k] = torch.randn(v.shape, generator=g) * 0.1
        elif k.endswith("running_var"):
            out[k] = torch.rand(v.shape, generator=g) + 0.5
        elif k.endswith("bn.weight"):
            out[k] = 1 + 0.1 * torch.randn(v.shape, generator=g)
        elif k.endswith("bias"):
            out[k] = 0.05 * torch.randn(v.shape, generator=g)
        else:
            fan_in = v[0].numel() if v.dim() > 1 else v.numel()
            out[k] = torch.randn(v.shape, generator=g) * (2.0 / fan_in) ** 0.5
    return out


def random_weights_dir(root, fid: bool = False):  # type: ignore[no-untyped-def]
    """A folder of randomly initialised weight files under their real names (hashes won't match)."""
    import torch

    from pgdata.models.alexnet import AlexNet
    from pgdata.models.inception import FIDInceptionV3

    root.mkdir(parents=True, exist_ok=True)
    torch.save(scaled_random_state(AlexNet(classifier=False), 1), root / "alexnet-owt-7be5be79.pth")
    g = torch.Generator().manual_seed(2)
    heads = {
        f"lin{i}.model.1.weight": torch.rand(1, c, 1, 1, generator=g)
        for i, c in enumerate((64, 192, 384, 256, 256))
    }
    torch.save(heads, root / "alex.pth")
    if fid:
        net = FIDInceptionV3()
        torch.save(scaled_random_state(net, 3), root / "pt_inception-2015-12-05-6726825d.pth")
    return root


@pytest.fixture
def one_thread() -> Iterator[None]:
    """Run a test's torch work on one thread: on a busy 2-core machine two threads wait on each
    other (an Inception pass or a 2048-d eigh then takes several times longer)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
