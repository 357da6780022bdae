"""PyTorch loading of shards, one module per shard kind.

- :mod:`pgdata.data.posetransfer`: DPTN/PATN-style pose-transfer pairs (``PoseTransferDataset``,
  ``PoseCollate``, ``to_device``);
- :mod:`pgdata.data.tryon`: HR-VITON-style try-on samples (``TryonDataset``, ``tryon_to_device``);
- :mod:`pgdata.data.aligned`: pix2pix's A|B images with the shared crop and flip
  (``AlignedDataset``, ``aligned_to_device``);
- :mod:`pgdata.data.faces`: faces with on-the-fly or fixed inpainting masks (``FacesDataset``,
  ``faces_to_device``);
- :mod:`pgdata.data.common`: opening a split, image decoding and normalisation shared by them.

Everything public is re-exported here, so ``from pgdata.data import PoseTransferDataset`` works.
"""

from pgdata.data.aligned import AlignedDataset, aligned_to_device
from pgdata.data.faces import FacesDataset, faces_to_device
from pgdata.data.posetransfer import PoseCollate, PoseTransferDataset, to_device
from pgdata.data.tryon import TryonDataset, tryon_to_device

__all__ = [
    "AlignedDataset",
    "FacesDataset",
    "PoseCollate",
    "PoseTransferDataset",
    "TryonDataset",
    "aligned_to_device",
    "faces_to_device",
    "to_device",
    "tryon_to_device",
]
