"""What a run reports while it trains: progress bar, ``log.jsonl``, TensorBoard, sample grids.

Only rank 0 logs (the loop builds :class:`RunLog` with ``enabled=False`` elsewhere).

- progress: tqdm on stderr with the latest losses (hidden when stderr is not a terminal);
- ``RUN/log.jsonl``: one JSON object per logged step: ``step``, ``epoch`` (0-based), ``time``
  (seconds since this process started training), ``perf/s_per_it``, ``perf/data_wait`` (fraction
  of the wall time spent waiting for batches), ``lr/<optimizer>`` and every loss term (λ-weighted,
  averaged over the steps since the previous line and over ranks);
- TensorBoard (``RUN/tb``): the same numbers as scalars (loss terms as ``loss/<term>``) and each
  sample grid as an image;
- ``RUN/samples/step-000200.png``: sample grids, one row per pair, columns as the family names
  them (DPTN: source | source pose | target pose | target | output).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import IO, Any

import numpy as np
import torch
from tqdm import tqdm

from pgdata.io.atomic import atomic_write_bytes, atomic_write_text
from pgdata.io.images import encode_png
from pgdata.stages.draw import draw_skeleton

__all__ = ["LOG_FILE", "RunLog", "grid_image", "pose_panel", "to_uint8", "truncate_log"]

LOG_FILE = "log.jsonl"
SAMPLES = "samples"
TENSORBOARD = "tb"


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """``(B, 3, H, W)`` float in [-1, 1] → ``(B, H, W, 3)`` uint8 RGB (values clamped)."""
    x = images.detach().float().cpu().clamp(-1.0, 1.0).add(1.0).mul(127.5).round()
    return x.to(torch.uint8).permute(0, 2, 3, 1).numpy()


def pose_panel(keypoints: torch.Tensor, size_hw: tuple[int, int]) -> np.ndarray:
    """``(B, 18, 3)`` keypoints (x, y, visibility) → ``(B, H, W, 3)`` uint8 skeleton drawings."""
    kps = keypoints.detach().float().cpu().numpy()
    return np.stack([draw_skeleton(k, size_hw)[0] for k in kps])


def grid_image(columns: list[np.ndarray]) -> np.ndarray:
    """Columns of ``(B, H, W, 3)`` uint8 panels → one ``(B·H, n·W, 3)`` image (row = pair)."""
    return np.concatenate([np.concatenate(list(c), axis=0) for c in columns], axis=1)


def truncate_log(run: Path, step: int) -> None:
    """Drop ``log.jsonl`` lines past ``step`` (written after the checkpoint a run resumes from)."""
    path = run / LOG_FILE
    if not path.is_file():
        return
    kept = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            if int(json.loads(line)["step"]) <= step:
                kept.append(line)
        except (json.JSONDecodeError, KeyError, TypeError, ValueError):
            break  # a torn last line from a killed run
    atomic_write_text(path, "".join(f"{line}\n" for line in kept))


class RunLog:
    """The reporting of one run (a no-op when ``enabled`` is False).

    Args:
        run: the run folder.
        enabled: this process writes (rank 0).
        total: steps the run will reach (for the progress bar).
        start: step the run starts from (a resume).
        tensorboard: also write TensorBoard event files.
    """

    def __init__(
        self, run: Path, *, enabled: bool, total: int, start: int, tensorboard: bool
    ) -> None:
        self.run = run
        self.enabled = enabled
        self._file: IO[str] | None = None
        self._tb: Any = None
        self._bar: tqdm[Any] | None = None
        if not enabled:
            return
        (run / SAMPLES).mkdir(parents=True, exist_ok=True)
        truncate_log(run, start)
        self._file = open(run / LOG_FILE, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()
        if tensorboard:
            from torch.utils.tensorboard import SummaryWriter  # slow import: only when used

            self._tb = SummaryWriter(log_dir=str(run / TENSORBOARD), purge_step=start or None)
        self._bar = tqdm(
            total=total, initial=start, desc="train", unit="it", file=sys.stderr, disable=None
        )

    def step(self, n: int = 1) -> None:
        """Advance the progress bar."""
        if self._bar is not None:
            self._bar.update(n)

    def scalars(self, step: int, values: dict[str, float]) -> None:
        """One ``log.jsonl`` line, TensorBoard scalars and the progress-bar postfix."""
        if not self.enabled:
            return
        assert self._file is not None
        self._file.write(json.dumps({"step": step, **values}) + "\n")
        self._file.flush()
        if self._tb is not None:
            for key, value in values.items():
                if key in ("step", "epoch", "time"):
                    continue
                tag = key if "/" in key else f"loss/{key}"
                self._tb.add_scalar(tag, value, step)
        if self._bar is not None:
            losses = {
                k: f"{v:.3g}"
                for k, v in values.items()
                if "/" not in k and k not in ("epoch", "time")
            }
            self._bar.set_postfix(losses, refresh=False)

    def image(self, step: int, grid: np.ndarray) -> Path | None:
        """Write ``samples/step-NNNNNN.png`` (and to TensorBoard); returns the PNG path."""
        if not self.enabled:
            return None
        path = self.run / SAMPLES / f"step-{step:06d}.png"
        atomic_write_bytes(path, encode_png(grid))
        if self._tb is not None:
            self._tb.add_image("samples", grid, step, dataformats="HWC")
        return path

    def close(self) -> None:
        """Flush and close everything (safe to call twice)."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        if self._file is not None:
            self._file.close()
            self._file = None
        if self._tb is not None:
            self._tb.close()
            self._tb = None
