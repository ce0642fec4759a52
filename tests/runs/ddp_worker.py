"""One rank of the 2-process DDP test (gloo, CPU): ``python ddp_worker.py OUT SYNTHETIC_ROOT``.

The test launches it twice with RANK / LOCAL_RANK / WORLD_SIZE / MASTER_ADDR / MASTER_PORT set
(as torchrun or srun would), so Lightning's ``strategy="ddp"`` joins the two processes. It runs

1. ``keyed``: KeyedStyleGAN2 on KeyedFrames (latents keyed by global sample index, constant
   noise, no style mixing or path length: nothing random but the keyed latents), saved for the
   comparison with a single process on the global batch;
2. ``full``: StyleGAN2 with every random part on (ADA with a fast p, style mixing, random noise,
   lazy R1 and path length) on the synthetic data module through the resumable loader, with a
   checkpoint at the end;
3. ``methods``: two iterations of every method's tiny case (run_helpers.CASES).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import torch
from lightning.pytorch import Trainer, seed_everything
from lightning.pytorch.callbacks import ModelCheckpoint
from run_helpers import CASES, SYNTHETIC, TINY_GAN, KeyedFrames, KeyedStyleGAN2
from torch.utils.data import DataLoader, DistributedSampler

from stylevideo.callbacks.run_state import RunState
from stylevideo.checkpoint import AtomicCheckpointIO
from stylevideo.data_modules.synthetic import SyntheticDataModule
from stylevideo.methods.stylegan2 import StyleGAN2
from stylevideo.video.sampling import RandomFrames

KEYED = dict(
    TINY_GAN,
    noise_mode="const",
    style_mixing=0.0,
    pl_weight=0.0,
    r1_interval=2,
    r1_gamma=1.0,
    mbstd_group=2,
    ema_kimg=0.01,
)
FULL = dict(
    TINY_GAN,
    resolution=32,
    ada_target=-1.0,
    ada_interval=1,
    ada_kimg=0.01,
    pl_interval=2,
    r1_interval=2,
    mbstd_group=2,
    ema_kimg=0.01,
)
STEPS = 4


def trainer(steps: int, root: Path, **kwargs) -> Trainer:
    return Trainer(
        accelerator="cpu",
        devices=kwargs.pop("devices", 2),
        strategy=kwargs.pop("strategy", "ddp"),
        max_steps=steps,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=str(root),
        callbacks=[RunState(), *kwargs.pop("callbacks", [])],
        **kwargs,
    )


def keyed(out: Path, devices: int = 2, batch: int = 2) -> dict:
    """Train the keyed model; returns its final state and what it drew and saw."""
    seed_everything(0)
    model = KeyedStyleGAN2(**KEYED)
    data = KeyedFrames()
    if devices > 1:  # rank r takes samples r, r + 2, ...: its part of the single process's batches
        sampler = DistributedSampler(data, num_replicas=devices, rank=int(os.environ["RANK"]), shuffle=False)
        t = trainer(STEPS, out, use_distributed_sampler=False, enable_checkpointing=False)
    else:
        sampler = None
        t = trainer(STEPS, out, devices=1, strategy="auto", enable_checkpointing=False)
    t.fit(model, DataLoader(data, batch_size=batch, sampler=sampler, shuffle=False))
    return {"state": model.state_dict(), "rng_draws": model.rng_draws, "seen_keys": model.seen_keys}


def full(out: Path, synthetic_root: str) -> dict:
    seed_everything(0)
    model = StyleGAN2(**FULL)
    dm = SyntheticDataModule(
        root=synthetic_root,
        resolution=32,
        batch_size=2,
        sampler=RandomFrames(1),
        samples_per_epoch=12,
        **SYNTHETIC,
    )
    ckpt = ModelCheckpoint(dirpath=str(out / "checkpoints"), save_last=True, save_top_k=0, every_n_train_steps=STEPS)
    t = trainer(STEPS, out, callbacks=[ckpt], plugins=[AtomicCheckpointIO()])
    t.fit(model, dm)
    loader = t.train_dataloader
    epoch_keys = [key for b in loader.batch_sampler for key in b]
    return {
        "state": model.state_dict(),
        "ada_p": float(model.ada.p),
        "epoch_keys": epoch_keys,
        "loader": type(loader).__name__,
        "mean_path_length": float(model.mean_path_length),
    }


def methods(out: Path) -> dict:
    """Each method's state after two DDP iterations (rank r trains on batches r, r + 2, ...)."""
    states = {}
    for name, case in CASES.items():
        seed_everything(0)
        folder = out / name / str(int(os.environ["RANK"]))
        folder.mkdir(parents=True)
        model, batches = case(folder)
        trainer(2, folder, enable_checkpointing=False).fit(model, DataLoader(batches + batches, batch_size=None))
        states[name] = model.state_dict()
    return states


if __name__ == "__main__":
    out, synthetic_root = Path(sys.argv[1]), sys.argv[2]
    torch.set_num_threads(1)
    results = {
        "keyed": keyed(out / "keyed"),
        "full": full(out / "full", synthetic_root),
        "methods": methods(out / "methods"),
    }
    rank = torch.distributed.get_rank()
    torch.save(results, out / f"rank{rank}.pt")
