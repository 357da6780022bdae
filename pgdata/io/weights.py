"""Pretrained weight files: find them on disk, check their sha256, load them as plain state dicts.

pgdata never downloads. A network that needs pretrained weights (VGG19 for the perceptual losses,
Inception for FID, AlexNet + linear heads for LPIPS) names a :class:`WeightFile`; the user gives
its path, or puts it where :func:`find_weights` looks:

1. the path passed in (``--set vgg_weights=...``, ``--weights-dir``, a config key);
2. ``$PGDATA_WEIGHTS_DIR/<file name>``;
3. the torch hub cache, ``$TORCH_HOME/hub/checkpoints/<file name>`` (``~/.cache/torch`` by default),
   where torchvision and pytorch-fid keep the same files.

The file's sha256 must start with the hex digits in its name (torchvision's convention), so a
wrong or truncated file is refused instead of silently training against random features.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import torch

from pgdata.errors import WeightsError

__all__ = ["KNOWN_WEIGHTS", "WeightFile", "file_sha256", "find_weights", "load_state_dict"]


@dataclass(frozen=True)
class WeightFile:
    """A pretrained weight file pgdata can use but never downloads.

    Attributes:
        name: the file name users have (e.g. ``vgg19-dcbb9e9d.pth``).
        sha256_prefix: leading hex digits of the file's sha256.
        url: where to get it.
        purpose: what pgdata uses it for (said in errors).
    """

    name: str
    sha256_prefix: str
    url: str
    purpose: str


_TV = "https://download.pytorch.org/models/"

KNOWN_WEIGHTS: dict[str, WeightFile] = {
    w.name: w
    for w in (
        WeightFile(
            "vgg19-dcbb9e9d.pth",
            "dcbb9e9d",
            _TV + "vgg19-dcbb9e9d.pth",
            "VGG19 ImageNet features for the perceptual and style losses",
        ),
        WeightFile(
            "pt_inception-2015-12-05-6726825d.pth",
            "6726825d",
            "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/"
            "pt_inception-2015-12-05-6726825d.pth",
            "TF-FID Inception-v3 (fid_tf)",
        ),
        WeightFile(
            "inception_v3_google-0cc3c7bd.pth",
            "0cc3c7bd",
            _TV + "inception_v3_google-0cc3c7bd.pth",
            "torchvision Inception-v3 for the legacy GFLA/DPTN FID (fid_legacy_gfla)",
        ),
        WeightFile(
            "alexnet-owt-7be5be79.pth",
            "7be5be79",
            _TV + "alexnet-owt-7be5be79.pth",
            "AlexNet backbone of LPIPS (lpips_alex)",
        ),
        WeightFile(
            "vgg16-397923af.pth",
            "397923af",
            _TV + "vgg16-397923af.pth",
            "VGG16 backbone of LPIPS-vgg",
        ),
        WeightFile(
            "alex.pth",
            "df73285e35b22355",
            "https://github.com/richzhang/PerceptualSimilarity/raw/master/lpips/weights/v0.1/alex.pth"
            " (or the lpips package: lpips/weights/v0.1/alex.pth)",
            "LPIPS v0.1 linear heads for AlexNet (lpips_alex)",
        ),
    )
}


def _search_dirs() -> list[Path]:
    dirs = []
    env = os.environ.get("PGDATA_WEIGHTS_DIR")
    if env:
        dirs.append(Path(env))
    torch_home = os.environ.get("TORCH_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "torch"
    )
    dirs.append(Path(torch_home) / "hub" / "checkpoints")
    return dirs


def file_sha256(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def _missing(spec: WeightFile, tried: list[Path]) -> WeightsError:
    where = ", ".join(str(p) for p in tried)
    return WeightsError(
        f"{spec.name} (sha256 {spec.sha256_prefix}…) is needed for {spec.purpose}; "
        f"get it from {spec.url} and pass its path, or put it in $PGDATA_WEIGHTS_DIR "
        f"or {_search_dirs()[-1]} (looked in: {where})"
    )


def find_weights(spec: WeightFile, path: str | Path | None = None, *, check: bool = True) -> Path:
    """The path of ``spec``'s file, sha256-checked; :class:`WeightsError` naming what to get.

    ``path`` may be the file itself or a folder holding it. Without ``path`` the search
    directories above are tried in order.
    """
    tried: list[Path] = []
    if path is not None:
        p = Path(path).expanduser()
        candidates = [p / spec.name] if p.is_dir() else [p]
    else:
        candidates = [d / spec.name for d in _search_dirs()]
    for c in candidates:
        tried.append(c)
        if c.is_file():
            if check:
                digest = file_sha256(c)
                if not digest.startswith(spec.sha256_prefix):
                    raise WeightsError(
                        f"{c}: sha256 {digest[:16]}… does not start with {spec.sha256_prefix} "
                        f"as {spec.name} must; get the right file from {spec.url}"
                    )
            return c
    raise _missing(spec, tried)


def load_state_dict(
    spec: WeightFile, path: str | Path | None = None, *, check: bool = True
) -> dict[str, torch.Tensor]:
    """Find, check and load ``spec``'s file as a CPU state dict (``weights_only=True``)."""
    p = find_weights(spec, path, check=check)
    try:
        obj = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises many kinds for a bad file
        raise WeightsError(f"{p}: not a loadable PyTorch state dict ({e})") from None
    if isinstance(obj, dict) and "state_dict" in obj and isinstance(obj["state_dict"], dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise WeightsError(f"{p}: expected a state dict of tensors for {spec.name}")
    return obj
