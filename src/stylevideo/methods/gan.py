"""The shared base of the adversarial methods (manual optimization).

One training iteration runs several optimizer phases (D, lazy R1, G, lazy path length,
...). Lightning counts every ``optimizer.step()`` as a trainer step; here exactly one
phase per iteration is *counted* (the main generator phase), so ``trainer.global_step``,
``max_steps`` and every schedule count iterations, as the papers do.
"""

from __future__ import annotations

import copy

import torch
from lightning.pytorch import LightningModule
from lightning.pytorch.core.optimizer import LightningOptimizer
from torch import nn

__all__ = ["GANModule", "ema_beta"]


def ema_beta(batch_size: int, ema_kimg: float) -> float:
    """EMA decay for a half-life of ``ema_kimg`` thousand images (StyleGAN2: 10 kimg)."""
    return 0.5 ** (batch_size / max(ema_kimg * 1000, 1e-8))


class GANModule(LightningModule):
    """Manual optimization with iteration-counted steps, finite-loss checks and EMA helpers."""

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
                raise FloatingPointError(
                    f"{type(self).__name__}: loss term {name!r} is {value.detach().flatten()[0].item()} "
                    f"at iteration {self.iteration}"
                )

    def optimize(self, optimizer: LightningOptimizer, losses: dict[str, torch.Tensor],
                 counted: bool = False) -> torch.Tensor:
        """Backward the sum of ``losses`` and step ``optimizer``.

        Call inside ``with self.toggled_optimizer(optimizer):`` so that only this
        optimizer's parameters get gradients. ``counted=True`` for the one phase per
        iteration that advances ``global_step``.
        """
        self.check_finite(losses)
        total = sum(losses.values())
        optimizer.zero_grad(set_to_none=True)
        self.manual_backward(total)
        if counted:
            optimizer.step()
        else:
            self.trainer.strategy.optimizer_step(optimizer.optimizer, closure=_no_closure)
        return total.detach()

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
        for p_ema, p in zip(ema.parameters(), module.parameters()):
            p_ema.lerp_(p.detach(), 1.0 - beta)
        for b_ema, b in zip(ema.buffers(), module.buffers()):
            b_ema.copy_(b)


def _no_closure() -> None:
    return None
