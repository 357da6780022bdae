"""Generator speed for ``pgdata eval --speed``: PyTorch eager and ONNX Runtime, images/s.

The ``speed`` preset's value is PyTorch eager at batch 1 on the eval device; ``extra`` holds:

- ``eager``: images/s at batch 1 and 16 on the eval device;
- ``eager_cpu``: batch 1 on the CPU (only when the eval device is not the CPU);
- ``onnxruntime_cpu``: batch 1 with ONNX Runtime's CPU provider, from the model exported with
  :func:`pgdata.training.export.export_onnx` (or the ``.onnx`` file given), or the reason it
  could not run (``onnxruntime_skipped``), and ``onnx_max_abs_diff``: the largest difference
  between its output and PyTorch's on the timed input;
- ``threads``: CPU threads both runtimes use (torch's intra-op count).

Inputs are real test samples (the first one repeated to fill a batch), made once per batch size
on the device; timing is :func:`pgdata.metrics.speed.measure_speed` (warm-up, then whole calls
until a minimum time and number of calls).
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import default_collate

from pgdata.errors import InputFormatError, MissingDependencyError
from pgdata.metrics.evaluators import MetricValue
from pgdata.metrics.speed import SPEED_BATCHES, measure_speed
from pgdata.training.config import TrainingError
from pgdata.training.export import export_onnx, onnx_session, run_onnx
from pgdata.training.inference import GENERATOR, Trained
from pgdata.training.steps import TrainStep

__all__ = ["ORT_BATCH", "model_speed"]

ORT_BATCH = 1  # the teacher/student study's point: cheaper inference, one image at a time


def _inputs(step: TrainStep, sample: dict[str, Any], b: int) -> tuple[torch.Tensor, ...]:
    """The inference inputs of a batch of ``b`` copies of ``sample`` on ``step``'s device."""
    batch = default_collate([sample] * b)
    return step.inference_inputs(step.to_device(batch))


def _cpu_twin(trained: Trained) -> TrainStep:
    """The same generator on the CPU (for the CPU rows when the eval device is a GPU)."""
    twin = type(trained.step).for_inference(trained.cfg, torch.device("cpu"))
    twin.networks[GENERATOR].load_state_dict(trained.generator.state_dict())
    return twin


def model_speed(
    trained: Trained,
    sample: dict[str, Any],
    *,
    onnx: Path | None = None,
    batch_sizes: Sequence[int] = SPEED_BATCHES,
    min_seconds: float | None = None,
) -> MetricValue:
    """The ``speed`` preset of ``trained`` on one dataset ``sample`` (see the module docstring).

    Args:
        trained: the loaded generator.
        sample: one item of the family's dataset (uncollated).
        onnx: an exported ``.onnx`` of this generator; default: exported here (dynamo exporter).
        batch_sizes: eager batch sizes on the eval device.
        min_seconds: minimum timed seconds per measurement (default: ``measure_speed``'s).
    """
    step = trained.step
    timing: dict[str, Any] = {} if min_seconds is None else {"min_seconds": min_seconds}
    net = step.inference_net()
    # inputs made before timing, outside inference mode: to_device may reuse its buffers later
    prepared = {b: _inputs(step, sample, b) for b in batch_sizes}
    eager = measure_speed(
        net,
        lambda b: prepared[b],
        device=step.device,
        batch_sizes=batch_sizes,
        **timing,
    )
    extra: dict[str, object] = {
        "device": eager.device,
        "eager": {str(b): v for b, v in eager.images_per_s.items()},
        "threads": torch.get_num_threads(),
    }
    cpu = step if step.device.type == "cpu" else _cpu_twin(trained)
    cpu_net = cpu.inference_net()
    inputs = _inputs(cpu, sample, ORT_BATCH)
    if cpu is not step:
        rate = measure_speed(cpu_net, lambda b: inputs, batch_sizes=[ORT_BATCH], **timing)
        extra["eager_cpu"] = {str(ORT_BATCH): rate.images_per_s[ORT_BATCH]}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            path = onnx
            if path is None:
                path = Path(tmp) / "generator.onnx"
                export_onnx(cpu_net, _inputs(cpu, sample, 2), cpu.inference_names, path)
                extra["onnx_exported"] = "dynamo"
            else:
                extra["onnx_file"] = str(path)
            try:
                session = onnx_session(path)
                got = run_onnx(session, inputs)
            except MissingDependencyError:
                raise
            except Exception as e:  # onnxruntime raises its own kinds
                why = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
                raise InputFormatError(
                    path, f"ONNX Runtime cannot run it on this generator's inputs ({why})"
                ) from None
            with torch.no_grad():
                want = cpu_net(*inputs).float().numpy()
            if got.shape != want.shape:
                raise InputFormatError(
                    path,
                    f"outputs {got.shape}, the generator {want.shape}: not an export of this "
                    "model at this image size",
                )
            extra["onnx_max_abs_diff"] = float(np.abs(got - want).max())
            ort = measure_speed(
                lambda *xs: run_onnx(session, xs),
                lambda b: inputs,
                batch_sizes=[ORT_BATCH],
                **timing,
            )
            extra["onnxruntime_cpu"] = {str(ORT_BATCH): ort.images_per_s[ORT_BATCH]}
    except (MissingDependencyError, TrainingError) as e:
        extra["onnxruntime_skipped"] = str(e)
    smallest = min(eager.images_per_s)
    return MetricValue(eager.images_per_s[smallest], smallest, extra)
