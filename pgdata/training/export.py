"""The generator alone as a file: ONNX (for ONNX Runtime) or TorchScript, with a dynamic batch.

ONNX goes through torch's ``dynamo=True`` exporter (``torch.export`` + onnxscript; opset
:data:`ONNX_OPSET`), the one torch maintains. The older TorchScript-based exporter
(``exporter="legacy"``, opset 17) also exports every pgdata family with the same outputs and is 10-
20× faster to run, but torch 2.13 deprecates it. TorchScript files come from ``torch.jit.trace``
(the families' forward passes have no data-dependent control flow; torch 2.13 deprecates
TorchScript too, so it is offered for existing C++ / mobile runtimes only).

Both formats fix the image size the model was exported at and leave the batch dimension free.
The first input's batch dimension is named ``batch`` in ONNX. Metadata travels with the file:
ONNX ``metadata_props`` and a TorchScript extra file ``pgdata.json`` (family, checkpoint, step,
input names and shapes, value ranges). Files are written atomically. The optional dependencies
(``onnx``, ``onnxruntime``, ``onnxscript``: ``pip install 'pgdata[onnx]'``) are imported here only.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import tempfile
import warnings
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from pgdata.errors import MissingDependencyError
from pgdata.io.atomic import atomic_write_bytes
from pgdata.training.config import TrainingError

__all__ = [
    "EXPORT_FORMATS",
    "EXPORTERS",
    "LEGACY_OPSET",
    "ONNX_OPSET",
    "Exporter",
    "Format",
    "export_onnx",
    "export_torchscript",
    "load_torchscript",
    "onnx_session",
    "run_onnx",
]

Format = Literal["onnx", "torchscript"]
Exporter = Literal["dynamo", "legacy"]
EXPORT_FORMATS: tuple[Format, ...] = ("onnx", "torchscript")
EXPORTERS: tuple[Exporter, ...] = ("dynamo", "legacy")
ONNX_OPSET = 18
LEGACY_OPSET = 17
OUTPUT_NAME = "output"
BATCH_AXIS = "batch"
METADATA_FILE = "pgdata.json"
_ONNX_HINT = "pip install 'pgdata[onnx]' (onnx, onnxruntime, onnxscript)"
_NOISY_LOGGERS = ("torch.onnx", "torch.export", "torch._dynamo", "onnxscript")


@contextlib.contextmanager
def _quiet() -> Iterator[io.StringIO]:
    """Keep the exporters' progress lines, log records and warnings off the console.

    They print progress to stdout, log "torchvision is not installed" and deprecation notices,
    and warn about traced shapes (expected: only the batch dimension is free). What they print
    is collected in the yielded buffer, for an error message.
    """
    buffer = io.StringIO()
    levels = {name: logging.getLogger(name).level for name in _NOISY_LOGGERS}
    try:
        for name in _NOISY_LOGGERS:
            logging.getLogger(name).setLevel(logging.ERROR)
        with (
            contextlib.redirect_stdout(buffer),
            contextlib.redirect_stderr(buffer),
            warnings.catch_warnings(),
        ):
            warnings.simplefilter("ignore")
            yield buffer
    finally:
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


def _import_onnx() -> tuple[Any, Any]:
    try:
        import onnx
        import onnxruntime  # type: ignore[import-untyped]
    except ImportError as e:
        raise MissingDependencyError(f"ONNX export needs {e.name}: {_ONNX_HINT}") from None
    return onnx, onnxruntime


def export_onnx(
    net: nn.Module,
    inputs: Sequence[torch.Tensor],
    names: Sequence[str],
    path: str | Path,
    *,
    exporter: Exporter = "dynamo",
    opset: int | None = None,
    metadata: Mapping[str, object] | None = None,
) -> int:
    """Write ``net`` (eval mode, on the CPU) as ONNX to ``path``; return the opset used.

    Args:
        net: the module; ``net(*inputs)`` returns one ``(B, C, H, W)`` tensor.
        inputs: example inputs (batch ≥ 2 is safest, so no size-1 dimension gets specialised).
        names: input names (``output`` is the output's).
        exporter: ``"dynamo"`` (default) or ``"legacy"`` (see the module docstring).
        opset: ONNX opset (default :data:`ONNX_OPSET`, legacy :data:`LEGACY_OPSET`).
        metadata: string key/values stored in the model's ``metadata_props``.

    Raises:
        MissingDependencyError: onnx / onnxscript not installed.
        TrainingError: the exporter failed (its message, one line).
    """
    onnx, _ = _import_onnx()
    net = net.eval()
    args = tuple(inputs)
    opset = opset or (ONNX_OPSET if exporter == "dynamo" else LEGACY_OPSET)
    # no torch.no_grad(): under it, eval-mode attention takes a fused fast path that the legacy
    # exporter cannot translate (aten::_native_multi_head_attention)
    with _quiet() as log, contextlib.ExitStack() as stack:
        try:
            if exporter == "dynamo":
                batch = torch.export.Dim(BATCH_AXIS, min=1)
                program = torch.onnx.export(
                    net,
                    args,
                    None,
                    dynamo=True,
                    input_names=list(names),
                    output_names=[OUTPUT_NAME],
                    dynamic_shapes=tuple({0: batch} for _ in args),
                    opset_version=opset,
                    verbose=False,
                )
                if program is None:  # pragma: no cover - torch returns the program without f
                    raise RuntimeError("the exporter returned no program")
                model = program.model_proto
            else:
                axes = {name: {0: BATCH_AXIS} for name in [*names, OUTPUT_NAME]}
                tmp = tempfile.TemporaryDirectory()
                stack.callback(tmp.cleanup)
                legacy_file = Path(tmp.name) / "model.onnx"
                torch.onnx.export(
                    net,
                    args,
                    legacy_file,
                    dynamo=False,
                    input_names=list(names),
                    output_names=[OUTPUT_NAME],
                    dynamic_axes=axes,
                    opset_version=opset,
                )
                model = onnx.load(str(legacy_file))
        except Exception as e:  # the exporters raise many kinds
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            tail = log.getvalue().strip().splitlines()[-1:] or [""]
            other = "legacy" if exporter == "dynamo" else "dynamo"
            raise TrainingError(
                f"ONNX export ({exporter}) failed: {first} {tail[0]}".rstrip()
                + f"; try --exporter {other} or --format torchscript"
            ) from None
    for key, value in (metadata or {}).items():
        prop = model.metadata_props.add()
        prop.key, prop.value = str(key), str(value)
    atomic_write_bytes(Path(path), model.SerializeToString())
    return opset


def export_torchscript(
    net: nn.Module,
    inputs: Sequence[torch.Tensor],
    path: str | Path,
    *,
    metadata: Mapping[str, object] | None = None,
) -> None:
    """Trace ``net`` on ``inputs`` and write the TorchScript module to ``path`` (atomically).

    The tracer's own re-run check is off (attention's fast path records differently named
    constants on a second run); the caller compares outputs instead.
    """
    with _quiet():
        try:
            traced = torch.jit.trace(  # type: ignore[no-untyped-call]
                net.eval(), tuple(inputs), check_trace=False
            )
            buf = io.BytesIO()
            extra = {METADATA_FILE: json.dumps(dict(metadata or {}), sort_keys=True)}
            torch.jit.save(traced, buf, _extra_files=extra)
        except Exception as e:  # the tracer raises many kinds
            raise TrainingError(f"TorchScript export failed: {str(e).splitlines()[0]}") from None
    atomic_write_bytes(Path(path), buf.getvalue())


def load_torchscript(path: str | Path) -> tuple[torch.jit.ScriptModule, dict[str, Any]]:
    """A TorchScript file of :func:`export_torchscript` and its metadata (on the CPU)."""
    extra = {METADATA_FILE: ""}
    with _quiet():
        module = torch.jit.load(  # type: ignore[no-untyped-call]
            str(path), map_location="cpu", _extra_files=extra
        )
    meta = json.loads(extra[METADATA_FILE]) if extra[METADATA_FILE] else {}
    return module, meta


def onnx_session(path: str | Path, threads: int | None = None) -> Any:
    """An ONNX Runtime CPU session of ``path`` (``threads`` intra-op threads; default: torch's)."""
    _, ort = _import_onnx()
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or torch.get_num_threads()
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # errors only
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def run_onnx(session: Any, inputs: Sequence[torch.Tensor]) -> np.ndarray:
    """Run an ONNX Runtime session on CPU tensors (matched to its inputs by position)."""
    feed = {
        meta.name: np.ascontiguousarray(t.detach().cpu().numpy())
        for meta, t in zip(session.get_inputs(), inputs, strict=True)
    }
    out: np.ndarray = session.run(None, feed)[0]
    return out
