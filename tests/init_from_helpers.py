"""Runs that start from a released file (``init_from``): what the module holds before its first step."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from lightning.pytorch import Callback, LightningModule, Trainer
from torch.utils.data import DataLoader


class BeforeFirstStep(Callback):
    """``probe(module)`` (under ``no_grad``) at the first training batch, before its step, and
    a copy of the module's state dict then: what the run starts from."""

    def __init__(self, probe: Callable[[LightningModule], Any] = lambda module: None):
        self.probe, self.seen, self.state = probe, None, None

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx: int) -> None:
        if self.state is None:
            with torch.no_grad():
                self.seen = self.probe(pl_module)
            self.state = {k: v.detach().clone() for k, v in pl_module.state_dict().items() if torch.is_tensor(v)}


def fit(model: LightningModule, batches: list[dict], steps: int, *callbacks, ckpt_path=None) -> Trainer:
    """``steps`` training iterations on the CPU, cycling through ``batches``."""
    trainer = Trainer(
        max_steps=steps,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        accelerator="cpu",
        callbacks=list(callbacks),
    )
    trainer.fit(
        model, DataLoader([batches[i % len(batches)] for i in range(steps)], batch_size=None), ckpt_path=ckpt_path
    )
    return trainer


def moved(before: dict[str, torch.Tensor], module: torch.nn.Module, prefix: str) -> bool:
    """Whether a parameter of the network ``prefix`` changed since ``before`` (a state dict copy)."""
    return any(
        not torch.equal(before[f"{prefix}.{name}"], p.detach())
        for name, p in module.get_submodule(prefix).named_parameters()
    )


def in_eval(probe: Callable[[LightningModule], Any]) -> Callable[[LightningModule], Any]:
    """``probe`` run with the module in eval mode (running batch-norm statistics), then back in training mode."""

    def run(module: LightningModule) -> Any:
        module.eval()
        try:
            return probe(module)
        finally:
            module.train()

    return run


def rosinality_state(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Our Generator state in rosinality's names (``style.*`` mapping, synthesis at the top)."""
    out = {}
    for key, value in state.items():
        if key.startswith("mapping.layers."):
            out["style." + key[len("mapping.layers.") :]] = value
        elif key.startswith("synthesis."):
            out[key[len("synthesis.") :]] = value
    return out
