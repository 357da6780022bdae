"""PyTorch loading of shards, one module per shard kind.

- :mod:`pgdata.data.posetransfer`: DPTN/PATN-style pose-transfer pairs (``PoseTransferDataset``,
  ``PoseCollate``, ``to_device``);
- :mod:`pgdata.data.tryon`: HR-VITON-style try-on samples (``TryonDataset``, ``tryon_to_device``);
- :mod:`pgdata.data.common`: image decoding and normalisation shared by them.

Everything public is re-exported here, so ``from pgdata.data import PoseTransferDataset`` works.
"""

from pgdata.data.posetransfer import PoseCollate, PoseTransferDataset, to_device
from pgdata.data.tryon import TryonDataset, tryon_to_device

__all__ = ["PoseCollate", "PoseTransferDataset", "TryonDataset", "to_device", "tryon_to_device"]
