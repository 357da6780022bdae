"""One rank of the DDP test (run by ``torchrun`` from ``test_train_ddp.py``, not by pytest).

Trains ``train/tiny.toml`` for 2 steps on CPU (gloo) and writes ``DUMP/rank<R>.json``: the pairs
this rank trained on and the sha256 of its networks' final state dicts.

Usage: ``torchrun --nproc-per-node 2 tests/ddp_train_worker.py SHARDS RUN DUMP``
"""

import hashlib
import json
import os
import sys
from pathlib import Path

from pgdata.training.config import load_train_config
from pgdata.training.loop import train

ROOT = Path(__file__).resolve().parents[1]


def state_sha256(module) -> str:
    h = hashlib.sha256()
    for key, value in sorted(module.state_dict().items()):
        h.update(key.encode())
        h.update(value.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def main() -> None:
    data, run, dump = (Path(a) for a in sys.argv[1:4])
    overrides = {"workers": 1, "tensorboard": False, "steps": 2, "log_every": 1, "device": "cpu"}
    cfg = load_train_config(ROOT / "train" / "tiny.toml", overrides)
    seen: list[list[str]] = []
    result = train(
        cfg,
        data,
        run,
        on_batch=lambda step, b: seen.extend(zip(b["P1_path"], b["P2_path"], strict=True)),
    )
    rank = int(os.environ["RANK"])
    record = {
        "world": result.world,
        "pairs": seen,
        "weights": {name: state_sha256(net) for name, net in result.networks.items()},
    }
    (dump / f"rank{rank}.json").write_text(json.dumps(record))


if __name__ == "__main__":
    main()
