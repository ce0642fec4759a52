"""The shared base of the adversarial methods (manual optimization).

One training iteration runs several optimizer phases (D, lazy R1, G, lazy path length,
...). Lightning counts every ``optimizer.step()`` as a trainer step; here exactly one
phase per iteration is *counted* (the main generator phase), so ``trainer.global_step``,
``max_steps`` and every schedule count iterations, as the papers do.

Data parallel training (``strategy=ddp``): DDP's reducer stays idle (every backward runs
under ``no_sync``) and :meth:`GANModule.optimize` averages the gradients of the stepped
optimizer's parameters over the ranks with one flat all-reduce before the step, as NVlabs'
StyleGAN2-ADA / StyleGAN3 training loops do. The reducer cannot serve these phases well: each
backward touches only one network (the others are frozen by ``toggled_optimizer``), several
backward passes follow one forward call, and R1 / path length differentiate through
gradients; with ``find_unused_parameters`` it would traverse the graph and all-reduce every
parameter of every network in every phase. Floating-point buffers (``w_avg``, the path-length
mean, batch-norm statistics, the EMA copies) are averaged over the ranks after every
iteration (``on_train_batch_end``: a subclass overriding it calls ``super()``), so the ranks
hold identical models.
"""

from __future__ import annotations

import abc
import copy
from contextlib import nullcontext

import torch
import torch.distributed as dist
from lightning.pytorch import LightningModule
from lightning.pytorch.core.optimizer import LightningOptimizer
from lightning.pytorch.strategies import DDPStrategy
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from stylevideo.methods.predict import PredictMixin
from stylevideo.nn.ada import AdaptiveAugment
from stylevideo.nn.gan_losses import path_length_penalty

__all__ = ["GANModule", "StyleGAN2Loop", "ema_beta"]


def ema_beta(batch_size: int, ema_kimg: float) -> float:
    """EMA decay for a half-life of ``ema_kimg`` thousand images (StyleGAN2: 10 kimg)."""
    return 0.5 ** (batch_size / max(ema_kimg * 1000, 1e-8))


class GANModule(PredictMixin, LightningModule):
    """Manual optimization with iteration-counted steps, finite-loss checks, EMA helpers,
    explicit DDP gradient averaging and the shared prediction interface."""

    def __init__(self):
        super().__init__()
        self.automatic_optimization = False

    @property
    def iteration(self) -> int:
        """Training iterations completed (``trainer.global_step``; 0 outside a trainer)."""
        return self.trainer.global_step if self._trainer is not None else 0

    def check_finite(self, losses: dict[str, torch.Tensor]) -> None:
        """Raise on a non-finite loss, naming the term and the iteration."""
        for name, value in losses.items():
            if not torch.isfinite(value.detach()).all():
                bad = value.detach().flatten()[0].item()
                raise FloatingPointError(
                    f"{type(self).__name__}: loss term {name!r} is {bad} at iteration {self.iteration}"
                )

    def optimize(
        self, optimizer: LightningOptimizer, losses: dict[str, torch.Tensor], counted: bool = False
    ) -> torch.Tensor:
        """Backward the sum of ``losses``, average the gradients over DDP ranks, step ``optimizer``.

        Call inside ``with self.toggled_optimizer(optimizer):`` so that only this
        optimizer's parameters get gradients. ``counted=True`` for the one phase per
        iteration that advances ``global_step``.
        """
        self.check_finite(losses)
        total = sum(losses.values())
        optimizer.zero_grad(set_to_none=True)
        with self._reducer_off():
            self.manual_backward(total)
        self.all_reduce_gradients(optimizer)
        if counted:
            optimizer.step()
        else:
            self.trainer.strategy.optimizer_step(optimizer.optimizer, closure=_no_closure)
        return total.detach()

    # -- data parallel ------------------------------------------------------------------------
    def _world(self) -> int:
        """Number of ranks to average over (1 outside a distributed run)."""
        if self._trainer is None or not (dist.is_available() and dist.is_initialized()):
            return 1
        return self.trainer.world_size

    def _reducer_off(self):
        model = self.trainer.model if self._trainer is not None else None
        return model.no_sync() if isinstance(model, DistributedDataParallel) else nullcontext()

    @torch.no_grad()
    def all_reduce_gradients(self, optimizer: LightningOptimizer | torch.optim.Optimizer) -> None:
        """Average the gradients of ``optimizer``'s parameters over the ranks (one all-reduce
        per dtype). Every rank must have gradients for the same parameters."""
        world = self._world()
        if world == 1:
            return
        if not isinstance(self.trainer.strategy, DDPStrategy):
            raise ValueError(
                f"{type(self).__name__} averages its gradients itself and supports "
                f"strategy=ddp; got {type(self.trainer.strategy).__name__}"
            )
        params = [p for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
        for grads in _by_dtype([p.grad for p in params]):
            flat = torch.cat([g.flatten() for g in grads])
            dist.all_reduce(flat)
            flat /= world
            for g, avg in zip(grads, flat.split([g.numel() for g in grads]), strict=True):
                g.copy_(avg.view_as(g))

    @torch.no_grad()
    def sync_buffers(self) -> None:
        """Average the floating-point buffers over the ranks, exactly keeping those that agree.

        ``b <- b_0 + mean_r(b_r - b_0)``: a buffer equal on every rank (constant noise, ADA's
        p) is left bit-identical; running statistics become their cross-rank mean, which for
        an EMA of batch means is the single-process EMA of the global batch mean.
        """
        world = self._world()
        if world == 1:
            return
        for bufs in _by_dtype([b for b in self.buffers() if b.is_floating_point()]):
            flat = torch.cat([b.flatten() for b in bufs])
            ref = flat.clone()
            dist.broadcast(ref, src=0)
            flat -= ref
            dist.all_reduce(flat)
            ref += flat / world
            for b, avg in zip(bufs, ref.split([b.numel() for b in bufs]), strict=True):
                b.copy_(avg.view_as(b))

    def on_train_batch_end(self, outputs, batch, batch_idx: int) -> None:
        self.sync_buffers()

    def rank_local_state(self) -> dict:
        """State that differs between ranks and is not in ``state_dict``: ADA's partial window."""
        return {name: m.get_extra_state() for name, m in self.named_modules() if isinstance(m, AdaptiveAugment)}

    def load_rank_local_state(self, state: dict) -> None:
        for name, extra in state.items():
            self.get_submodule(name).set_extra_state(extra)

    # -- EMA ------------------------------------------------------------------------------------
    @staticmethod
    def make_ema(module: nn.Module) -> nn.Module:
        """A frozen copy for the exponential moving average of ``module``'s weights."""
        ema = copy.deepcopy(module).eval()
        ema.requires_grad_(False)
        return ema

    @staticmethod
    @torch.no_grad()
    def update_ema(ema: nn.Module, module: nn.Module, beta: float) -> None:
        """``ema <- beta * ema + (1 - beta) * module`` for parameters; buffers are copied."""
        for p_ema, p in zip(ema.parameters(), module.parameters(), strict=True):
            p_ema.lerp_(p.detach(), 1.0 - beta)
        for b_ema, b in zip(ema.buffers(), module.buffers(), strict=True):
            b_ema.copy_(b)


class StyleGAN2Loop(GANModule, abc.ABC):
    """The StyleGAN2 training iteration, written once for every method that trains with it
    (image StyleGAN2, its style-transfer fine-tuning, onestyle).

    Phases (Karras et al. 2020, appendix B; the rosinality / NVlabs loops): the discriminator
    step on real against generated samples (ADA updated from the real logits), lazy R1 every
    ``r1_interval`` iterations (``gamma / 2 * r1_interval * E||grad D||^2``, in float32), the
    generator step (the counted one), lazy path-length regularisation every ``pl_interval``
    iterations on ``batch / pl_batch_shrink`` samples (``pl_weight * pl_interval * PL``),
    and the EMA of ``G`` into ``G_ema`` with the half-life ``ema_kimg`` thousand samples of
    the global batch. A method supplies the pieces, each from the ``step`` dict of
    :meth:`prepare_step`:

    - :meth:`discriminator_losses` -> ``({term: loss}, real logits for ADA)``;
    - :meth:`r1_penalties` -> ``{term: E||grad_x D(x)||^2}`` on real samples;
    - :meth:`generator_losses` -> ``{term: loss}``;
    - :meth:`path_length_sample` -> ``(images, ws)`` of ``m`` fresh samples.

    Hyper-parameters read from ``hparams``: ``r1_gamma, r1_interval, pl_weight, pl_interval,
    pl_batch_shrink, pl_decay, ema_kimg``; the module has ``G``, ``G_ema``, ``ada`` (or None)
    and a ``mean_path_length`` buffer.
    """

    @abc.abstractmethod
    def prepare_step(self, batch: dict) -> dict:
        """What the phases share for one batch; must hold ``n``, the per-rank batch size, and
        may hold ``logs`` (extra values to log)."""

    @abc.abstractmethod
    def discriminator_losses(self, step: dict) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        """``({term: loss}, real logits for ADA)``."""

    @abc.abstractmethod
    def r1_penalties(self, step: dict) -> dict[str, torch.Tensor]:
        """``{term: E||grad_x D(x)||^2}`` on the real samples."""

    @abc.abstractmethod
    def generator_losses(self, step: dict) -> dict[str, torch.Tensor]:
        """``{term: loss}``."""

    @abc.abstractmethod
    def path_length_sample(self, step: dict, m: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``(images, ws)`` of ``m`` fresh samples."""

    def training_step(self, batch: dict, batch_idx: int) -> None:
        hp = self.hparams
        opt_g, opt_d = self.optimizers()
        step = self.prepare_step(batch)
        n, it = step["n"], self.iteration
        logs = dict(step.get("logs", {}))

        with self.toggled_optimizer(opt_d):
            losses, real_logits = self.discriminator_losses(step)
            total = self.optimize(opt_d, losses)
            logs |= {f"loss/{k}": v.detach() for k, v in losses.items()} | {"loss/d": total}
            if self.ada is not None:
                self.ada.update(real_logits)
            if hp.r1_gamma > 0 and it % hp.r1_interval == 0:
                with torch.autocast(self.device.type, enabled=False):
                    r1 = self.r1_penalties(step)
                if r1:
                    self.optimize(opt_d, {k: hp.r1_gamma / 2 * v * hp.r1_interval for k, v in r1.items()})
                    logs |= {f"loss/{k}": v.detach() for k, v in r1.items()}

        with self.toggled_optimizer(opt_g):
            losses = self.generator_losses(step)
            total = self.optimize(opt_g, losses, counted=True)
            logs |= {f"loss/{k}": v.detach() for k, v in losses.items()} | {"loss/g": total}
            if hp.pl_weight > 0 and it % hp.pl_interval == 0:
                images, ws = self.path_length_sample(step, max(1, n // hp.pl_batch_shrink))
                pl, self.mean_path_length = path_length_penalty(images, ws, self.mean_path_length, hp.pl_decay)
                self.optimize(opt_g, {"pl": hp.pl_weight * pl * hp.pl_interval})
                logs["loss/pl"] = pl.detach()

        self.update_ema(self.G_ema, self.G, ema_beta(n * self.trainer.world_size, hp.ema_kimg))
        if self.ada is not None:
            logs["ada/p"], logs["ada/r_t"] = self.ada.p, self.ada.r_t
        self.log_dict(logs, prog_bar=True, batch_size=n)


def _by_dtype(tensors: list[torch.Tensor]) -> list[list[torch.Tensor]]:
    groups: dict[tuple, list[torch.Tensor]] = {}
    for t in tensors:
        groups.setdefault((t.dtype, t.device), []).append(t)
    return list(groups.values())


def _no_closure() -> None:
    return None
