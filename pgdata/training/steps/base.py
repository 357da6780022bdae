"""The seam between the one training loop and a model family.

A family (DPTN, PATN, pix2pix, DMFN) is a :class:`TrainStep` subclass that says:

- which configs it accepts beyond the key checks (``check_config``);
- what data it trains on: the shard ``schema``, how to build the dataset (which checks that the
  config's channel counts and sizes fit the shards), collate a batch and move it to the device
  (``dataset``, ``collate``, ``to_device``);
- which networks it trains (``build_networks``: also what ``pgdata models`` counts), with which
  optimisers and learning-rate schedules (``networks``, ``optimizers``, ``schedulers``);
- one forward pass (``forward``) and the ordered updates of a step (``phases``: DPTN is
  "G forward → D step → G step");
- the columns of a sample grid (``sample_columns``);
- for ``pgdata eval`` and ``pgdata export``: the generator alone as one module
  (``inference_net``), its input tensors from a batch (``inference_inputs``, named by
  ``inference_names``) and what turns its output into the evaluated image (``finish``: a crop, a
  composite). :meth:`TrainStep.for_inference` builds a step that holds only the networks, and
  :meth:`TrainStep.infer` runs the three.

The loop owns everything else: devices, accumulation, gradient averaging across ranks,
checkpoints, logging. :meth:`TrainStep.train_step` runs the phases: with one micro-batch the
forward pass is shared by all phases (the reference order exactly); with ``accumulation > 1`` it
is recomputed per phase and micro-batch (without a graph for phases that do not backpropagate
through it), so memory stays that of one micro-batch.
"""

from __future__ import annotations

import contextlib
import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import numpy as np
import torch
from torch import nn
from torch.optim.lr_scheduler import LambdaLR, LRScheduler
from torch.utils.data import Dataset

from pgdata.errors import InputFormatError
from pgdata.shards.manifest import read_manifest
from pgdata.training.config import TrainConfig
from pgdata.training.dist import average_gradients, broadcast_state

__all__ = [
    "Batch",
    "LossFn",
    "Phase",
    "TrainStep",
    "count_parameters",
    "epoch_decay",
    "step_decay",
]

Batch = dict[str, Any]
Outputs = dict[str, torch.Tensor]
M = TypeVar("M", bound=nn.Module)
S = TypeVar("S", bound="TrainStep")
LossFn = Callable[[Batch, Outputs], tuple[torch.Tensor, dict[str, torch.Tensor]]]


@dataclass(frozen=True)
class Phase:
    """One optimiser update inside a training step.

    Attributes:
        optimizer: key of :attr:`TrainStep.optimizers` to step.
        loss: ``(batch, outputs) → (loss, {term: value})``; ``loss`` is backpropagated, the
            terms (detached scalars) are logged.
        through_forward: the loss backpropagates through the forward outputs (the generator
            phase); False for a discriminator phase (it detaches them).
        frozen: networks whose parameters need no gradient during this phase (D in the G phase).
    """

    optimizer: str
    loss: LossFn
    through_forward: bool
    frozen: tuple[str, ...] = ()


def count_parameters(module: nn.Module) -> int:
    """Number of parameters (spectral norm's ``original`` counted once, buffers not at all)."""
    return sum(p.numel() for p in module.parameters())


def epoch_decay(steps_per_epoch: int, flat: int, decay: int) -> Callable[[int], float]:
    """DPTN's ``lambda`` policy per optimiser step: ``1 − max(0, e − flat) / (decay + 1)``.

    ``e`` is the 1-based epoch the step belongs to: 1.0 for ``flat`` epochs, then linear decay
    (generators.md §2.4: 1.0 at epoch 100, ≈ 0.505 at 150, ≈ 0.0099 at 200).
    """

    def factor(step: int) -> float:
        epoch = step // steps_per_epoch + 1
        return 1.0 - max(0, epoch - flat) / float(decay + 1)

    return factor


def step_decay(milestones: tuple[int, ...], gamma: float) -> Callable[[int], float]:
    """``MultiStepLR`` as a rule per optimiser step: ``gamma ** (milestones reached)``.

    The factor of step ``s`` (0-based, the number of steps already done) counts the milestones
    ``m ≤ s``: with ``[100000]`` and 0.5 the lr halves once 100,000 steps are done (DMFN).
    """

    def factor(step: int) -> float:
        return float(gamma ** sum(step >= m for m in milestones))

    return factor


class TrainStep(ABC):
    """Base class of a model family's training recipe (see the module docstring).

    Subclasses set :attr:`schema`, implement the abstract methods and, in ``__init__``, fill
    :attr:`networks`, :attr:`optimizers` and :attr:`schedulers`.
    """

    family: ClassVar[str] = ""
    schema: ClassVar[str] = "pose-transfer"
    """The ``manifest.json`` schema name of the shards it trains on."""
    recipe_hint: ClassVar[str] = "pgdata build --recipe pipelines/deepfashion.toml"
    compiled: ClassVar[tuple[str, ...]] = ("G",)
    """Networks ``compile = true`` compiles (see :meth:`compile`)."""
    inference_names: ClassVar[tuple[str, ...]] = ("input",)
    """Names of the :meth:`inference_inputs` tensors (the exported model's input names)."""

    def __init__(self, cfg: TrainConfig, device: torch.device, steps_per_epoch: int) -> None:
        self.cfg = cfg
        self.device = device
        self.steps_per_epoch = steps_per_epoch
        self.networks: dict[str, nn.Module] = {}
        self.optimizers: dict[str, torch.optim.Optimizer] = {}
        self.schedulers: dict[str, LRScheduler] = {}

    # ------------------------------------------------------------------ what a family provides

    @staticmethod
    @abstractmethod
    def build_networks(cfg: TrainConfig, *, init: bool = True) -> dict[str, nn.Module]:
        """Freshly initialised trained networks by checkpoint name (``{"G": ..., "D": ...}``).

        ``init=False`` may skip costly initialisation: only the shapes matter (``pgdata models``).
        """

    @classmethod
    @abstractmethod
    def dataset(cls, cfg: TrainConfig, folder: Path, split: str, *, train: bool) -> Dataset[Any]:
        """The dataset of one split (``train=False``: no augmentation, for sample grids)."""

    @abstractmethod
    def collate(self, samples: list[Any]) -> Batch:
        """Samples → one CPU batch (runs in the loader workers)."""

    @abstractmethod
    def to_device(self, batch: Batch) -> Batch:
        """A CPU batch → model inputs on :attr:`device` (once per micro-batch)."""

    @abstractmethod
    def forward(self, batch: Batch) -> Outputs:
        """The generator forward pass the phases' losses read (runs under autocast)."""

    @abstractmethod
    def phases(self) -> list[Phase]:
        """The updates of one step, in order."""

    @abstractmethod
    def sample_columns(self, batch: Batch) -> list[np.ndarray]:
        """``(B, H, W, 3)`` uint8 panels, one array per grid column (eval mode, no grad)."""

    # ------------------------------------------------------------ inference (eval and export)

    @classmethod
    def for_inference(cls: type[S], cfg: TrainConfig, device: torch.device) -> S:
        """A step that only generates (``pgdata eval``, ``pgdata export``).

        It holds the networks of :meth:`build_networks` (uninitialised: load a checkpoint's state
        next) on ``device`` in eval mode, and nothing else: no optimisers, losses, VGG19, teacher
        or plugin networks, so no weight file but the checkpoint is needed. ``amp`` and
        ``compile`` are off: outputs are computed in float32 by the eager networks.
        """
        step = cls.__new__(cls)
        TrainStep.__init__(step, dataclasses.replace(cfg, amp=False, compile=False), device, 1)
        step.networks = cls.build_networks(step.cfg, init=False)
        for net in step.networks.values():
            step.place(net).eval()
        step.setup_inference()
        return step

    def setup_inference(self) -> None:
        """Set what :meth:`to_device` and :meth:`inference_inputs` read besides ``cfg``,
        ``device`` and ``networks`` (called by :meth:`for_inference`; the base class needs none)."""
        return None

    def inference_net(self) -> nn.Module:
        """The generator alone as one module (what ``pgdata export`` writes).

        ``net(*self.inference_inputs(batch))`` → ``(B, C, H', W')`` float images in [-1, 1].
        Default: ``networks["G"]``.
        """
        return self.networks["G"]

    def inference_inputs(self, batch: Batch) -> tuple[torch.Tensor, ...]:
        """The :meth:`inference_net` input tensors of a :meth:`to_device` batch (batch first)."""
        raise NotImplementedError(f"the {self.family!r} family defines no generator inputs")

    def finish(self, batch: Batch, out: torch.Tensor) -> torch.Tensor:
        """The :meth:`inference_net` output → the image that is evaluated (default: as it is;
        pix2pix-pose crops its padding, DMFN composites the hole into the known pixels)."""
        return out

    def infer(self, batch: Batch) -> torch.Tensor:
        """The evaluated output of a :meth:`to_device` batch: ``(B, C, H, W)`` float32 in
        [-1, 1], computed in eval mode without gradients (the network's mode is restored)."""
        net = self.inference_net()
        was_training = net.training
        net.eval()
        try:
            with torch.no_grad(), self.autocast():
                out = net(*self.inference_inputs(batch))
        finally:
            net.train(was_training)
        return self.finish(batch, out.float())

    # ------------------------------------------------------------------ shared by the families

    @classmethod
    def check_config(cls, cfg: TrainConfig) -> None:
        """Refuse a config this family cannot train, before anything is read or written.

        Override to check combinations ``TrainConfig.__post_init__`` cannot (it does not know
        the family); raise :class:`~pgdata.errors.ConfigError` naming the key and the fix.
        The base class accepts every config.
        """
        return None

    @classmethod
    def check_data(cls, folder: Path) -> None:
        """Refuse shards of another schema before anything else reads them."""
        found = read_manifest(folder).schema.name
        if found != cls.schema:
            raise InputFormatError(
                folder,
                f"holds {found!r} shards, but the {cls.family!r} family trains on {cls.schema!r} "
                f"shards (build them with `{cls.recipe_hint}`)",
            )

    def adam(self, params: Any, lr: float) -> torch.optim.Adam:
        """Adam with the config's betas and no weight decay (DPTN, PATN, pix2pix, DMFN)."""
        return torch.optim.Adam(params, lr=lr, betas=(self.cfg.beta1, self.cfg.beta2))

    def gan_optimizers(self, g: nn.Module, discriminators: Mapping[str, nn.Module]) -> None:
        """Set :attr:`optimizers` and :attr:`schedulers`: Adam for ``G`` at ``lr``, then one per
        discriminator (by its name) at ``lr × lr_d_ratio``, each with the lr schedule."""
        cfg = self.cfg
        self.optimizers = {"G": self.adam(g.parameters(), cfg.lr)}
        for name, d in discriminators.items():
            self.optimizers[name] = self.adam(d.parameters(), cfg.lr * cfg.lr_d_ratio)
        self.schedulers = {name: self.schedule(opt) for name, opt in self.optimizers.items()}

    def schedule(self, optimizer: torch.optim.Optimizer) -> LambdaLR:
        """The config's lr policy, stepped every optimiser step: ``"linear"`` = constant then
        linear decay per epoch (:func:`epoch_decay`), ``"step"`` = :func:`step_decay`."""
        cfg = self.cfg
        if cfg.lr_policy == "step":
            return LambdaLR(optimizer, step_decay(cfg.lr_milestones, cfg.lr_gamma))
        return LambdaLR(
            optimizer, epoch_decay(self.steps_per_epoch, cfg.epochs_flat, cfg.epochs_decay)
        )

    def autocast(self) -> contextlib.AbstractContextManager[Any]:
        """bf16 autocast on CUDA when ``amp`` is on; nothing on the CPU (fp32 there)."""
        if self.device.type == "cuda" and self.cfg.amp:
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def place(self, module: M) -> M:
        """Move a network to the device (channels_last on CUDA when configured)."""
        module.to(self.device)
        if self.device.type == "cuda" and self.cfg.channels_last:
            module.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
        return module

    def compile(self) -> None:
        """``torch.compile`` the :attr:`compiled` networks in place (state dict keys unchanged).

        Discriminators stay eager by default: they are small, and a spectral-norm network called
        twice before one backward (real, then fake) fails under ``torch.compile`` (torch 2.13),
        whose functionalised power iteration saves ``_v`` for backward and then updates it in
        place.
        """
        for name in self.compiled:
            self.networks[name].compile()

    def eager(self, name: str) -> Callable[..., Any]:
        """Network ``name``'s forward without ``torch.compile`` (sample grids: eval mode and
        ``no_grad`` would otherwise trigger a second compilation)."""
        return self.networks[name].forward

    @contextlib.contextmanager
    def _frozen(self, names: tuple[str, ...]) -> Iterator[None]:
        params = [p for n in names for p in self.networks[n].parameters()]
        for p in params:
            p.requires_grad_(False)
        try:
            yield
        finally:
            for p in params:
                p.requires_grad_(True)

    def train_step(self, micros: list[Batch], world: int) -> dict[str, torch.Tensor]:
        """Run every phase once over the micro-batches; return the mean loss terms (detached).

        Each phase: zero grads → backward of ``loss / len(micros)`` per micro-batch → gradients
        averaged over ranks → ``optimizer.step()``. Schedulers are the loop's business.
        """
        k = len(micros)
        terms: dict[str, torch.Tensor] = {}
        shared: Outputs | None = None
        if k == 1:
            with self.autocast():
                shared = self.forward(micros[0])
        for phase in self.phases():
            opt = self.optimizers[phase.optimizer]
            opt.zero_grad(set_to_none=True)
            with self._frozen(phase.frozen):
                for batch in micros:
                    out = shared
                    if out is None:
                        with torch.set_grad_enabled(phase.through_forward), self.autocast():
                            out = self.forward(batch)
                    with self.autocast():
                        loss, parts = phase.loss(batch, out)
                    (loss / k).backward()  # type: ignore[no-untyped-call]
                    for name, value in parts.items():
                        terms[name] = terms.get(name, 0.0) + value.detach().float() / k
            params = [p for group in opt.param_groups for p in group["params"]]
            average_gradients(params, world)
            opt.step()
        broadcast_state(self.networks.values(), world, params=False)
        return terms

    def state_dict(self) -> dict[str, Any]:
        """Networks by name plus ``optimizers`` and ``schedulers`` (the checkpoint's model part)."""
        state: dict[str, Any] = {name: net.state_dict() for name, net in self.networks.items()}
        state["networks"] = list(self.networks)
        state["optimizers"] = {k: o.state_dict() for k, o in self.optimizers.items()}
        state["schedulers"] = {k: s.state_dict() for k, s in self.schedulers.items()}
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Undo :meth:`state_dict` (networks strictly; RuntimeError names mismatched keys).

        The optimisers' hyper-parameters (lr, betas) stay those of this config, and each lr is
        set where this config's schedule puts it at the checkpoint's step: the same values
        unless a resume was forced with a changed config.
        """
        for name, net in self.networks.items():
            net.load_state_dict(state[name])
        for k, opt in self.optimizers.items():
            fresh = [{h: v for h, v in g.items() if h != "params"} for g in opt.param_groups]
            opt.load_state_dict(state["optimizers"][k])
            for group, hyper in zip(opt.param_groups, fresh, strict=True):
                group.update(hyper)
        for k, sched in self.schedulers.items():
            sched.load_state_dict(state["schedulers"][k])
            if isinstance(sched, LambdaLR):
                sched.base_lrs = [g["initial_lr"] for g in sched.optimizer.param_groups]
                for group, base, rule in zip(
                    sched.optimizer.param_groups, sched.base_lrs, sched.lr_lambdas, strict=True
                ):
                    group["lr"] = base * rule(sched.last_epoch)
