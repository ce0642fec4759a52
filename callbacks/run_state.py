"""What Lightning does not checkpoint: per-rank random streams and rank-local module state.

Lightning's ``seed_everything`` seeds every rank alike, so DDP ranks would draw the same
latents and noise. :class:`RunState` gives each rank its own stream and makes training
randomness exactly resumable:

- at the start of training each rank seeds Python, NumPy and torch (CPU and CUDA) with a seed
  derived from ``(seed_everything's seed, rank)``;
- the streams are snapshotted after every training step and put back before the next one, so
  whatever runs between steps (validation, sample videos, metrics, checkpointing, a new
  dataloader iterator) never shifts the training randomness;
- checkpoints hold the snapshot of every rank (gathered to rank 0) and the module's
  ``rank_local_state()`` when it has one (ADA's partial window); a resumed run puts each
  rank's back, so the steps after ``--ckpt_path last`` are those of an uninterrupted run.

Resuming on a different number of ranks re-seeds from ``(seed, rank, step)`` with a warning.
The CLI adds this callback to every run that lacks it.
"""

from __future__ import annotations

import os
import random
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from lightning.pytorch import Callback, LightningModule, Trainer
from lightning.pytorch.utilities import rank_zero_warn

__all__ = ["RunState", "collect_rng_states", "rank_seed", "set_rng_states"]


def rank_seed(seed: int, rank: int, step: int = 0) -> int:
    """A 32-bit seed for ``rank`` from the run's seed (and the step, when re-seeding a resume)."""
    return int(np.random.SeedSequence([seed, rank, step]).generate_state(1)[0])


def collect_rng_states() -> dict[str, Any]:
    """Python, NumPy and torch (CPU, current CUDA device) states, as checkpoint-safe types."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    state = {
        "python": random.getstate(),
        "numpy": (kind, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, gauss),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state()
    return state


def set_rng_states(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    kind, keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, gauss))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state(state["cuda"])


def _seed_all(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also every CUDA device


class RunState(Callback):
    """Per-rank seeding and exact resume of the random streams (see the module docstring)."""

    def __init__(self) -> None:
        self._snapshot: dict[str, Any] | None = None
        self._restored: dict[str, Any] | None = None
        self._trainer: Trainer | None = None

    @property
    def state_key(self) -> str:
        return "RunState"

    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        self._trainer = trainer

    def on_train_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        restored, self._restored = self._restored, None
        rank, world = trainer.global_rank, trainer.world_size
        if restored is not None and len(restored["ranks"]) == world:
            own = restored["ranks"][rank]
            set_rng_states(own["rng"])
            if own.get("module") is not None and hasattr(pl_module, "load_rank_local_state"):
                pl_module.load_rank_local_state(own["module"])
        else:
            seed = os.environ.get("PL_GLOBAL_SEED")
            if restored is not None:
                rank_zero_warn(
                    f"RunState: the checkpoint has the random states of {len(restored['ranks'])} "
                    f"ranks, this run has {world}; re-seeding (the resume is not exact)"
                )
            if seed is not None or restored is not None:
                _seed_all(rank_seed(int(seed or 0), rank, trainer.global_step))
        self._snapshot = collect_rng_states()

    def on_train_batch_start(self, trainer: Trainer, pl_module: LightningModule, batch: Any, batch_idx: int) -> None:
        if self._snapshot is not None:
            set_rng_states(self._snapshot)

    def on_train_batch_end(
        self, trainer: Trainer, pl_module: LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        self._snapshot = collect_rng_states()

    def state_dict(self) -> dict[str, Any]:
        module = self._trainer.lightning_module if self._trainer is not None else None
        own = {
            "rng": self._snapshot if self._snapshot is not None else collect_rng_states(),
            "module": module.rank_local_state() if hasattr(module, "rank_local_state") else None,
        }
        ranks = [own]
        if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
            ranks = [None] * dist.get_world_size()
            dist.all_gather_object(ranks, _to_cpu(own))
        return {"ranks": ranks}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._restored = state_dict


def _to_cpu(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.cpu()
    if isinstance(value, dict):
        return {k: _to_cpu(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_to_cpu(v) for v in value)
    return value
