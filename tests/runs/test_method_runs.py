"""Every method: bf16 autocast steps stay finite and near float32, fp16 with gradient scaling
trains finite, and a checkpoint taken
mid-epoch resumes to exactly the uninterrupted run (RNG, ADA, EMA, ramps, optimizers, loader)."""

from __future__ import annotations

import copy
import math

import pytest
import torch
from lightning.pytorch import Callback, Trainer, seed_everything
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.plugins.precision import MixedPrecision
from run_helpers import CASES

from stylevideo.callbacks.run_state import RunState
from stylevideo.checkpoint import AtomicCheckpointIO
from stylevideo.data_modules.resumable_loader import ResumableDataLoader


class Losses(Callback):
    """``{step: {name: value}}`` of the logged ``loss/*`` after each step."""

    def __init__(self):
        self.steps: dict[int, dict[str, float]] = {}

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self.steps[trainer.global_step] = {
            k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith("loss/")
        }


def _fit(model, batches, steps: int, root, precision="32-true", ckpt_every=0, ckpt_path=None, plugins=()) -> dict:
    losses = Losses()
    callbacks = [RunState(), losses]
    if ckpt_every:
        callbacks.append(
            ModelCheckpoint(dirpath=root, every_n_train_steps=ckpt_every, save_top_k=-1, filename="{step}")
        )
    trainer = Trainer(
        accelerator="cpu",
        max_steps=steps,
        precision=None if plugins else precision,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=root,
        enable_checkpointing=bool(ckpt_every),
        callbacks=callbacks,
        plugins=[AtomicCheckpointIO(), *plugins],
    )
    trainer.fit(model, ResumableDataLoader(batches, batch_size=None), ckpt_path=ckpt_path)
    return losses.steps


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


BF16_KNOWN = {
    "vidstyleode": "L_C and L_D of an untrained model compare generated frames that differ by less than "
    "the bf16 rounding of the generator's output (CLIP_I itself runs in float32): L_C 2e-3 for 1e-7, "
    "L_D 16% off. A trained model's edits are far above that rounding; not yet measured on a GPU",
}


@pytest.mark.parametrize(
    "method",
    [
        pytest.param(m, marks=pytest.mark.xfail(reason=BF16_KNOWN[m], strict=True)) if m in BF16_KNOWN else m
        for m in CASES
    ],
)
def test_bf16_autocast_step_is_finite_and_close_to_float32(method, tmp_path):
    seed_everything(0)
    model, batches = CASES[method](tmp_path)
    twin = copy.deepcopy(model)
    full = _fit(model, batches[:1], 1, tmp_path / "fp32")[1]
    seed_everything(0)
    half = _fit(twin, batches[:1], 1, tmp_path / "bf16", precision="bf16-mixed")[1]
    assert full.keys() == half.keys() and len(full) >= 2
    for name, value in half.items():
        assert math.isfinite(value), f"{method}: {name} is {value} under bf16"
        assert abs(value - full[name]) <= 0.03 * abs(full[name]) + 1e-3, (
            method,
            name,
            value,
            full[name],
        )


@pytest.mark.parametrize("method", list(CASES))
def test_fp16_autocast_with_grad_scaling_trains_finite(method, tmp_path):
    """16-mixed as on a GPU (Lightning maps it to bf16 on a CPU, so the plugin is built here)."""
    seed_everything(0)
    model, batches = CASES[method](tmp_path)
    plugin = MixedPrecision("16-mixed", "cpu", scaler=torch.amp.GradScaler("cpu"))
    losses = _fit(model, batches[:2], 2, tmp_path, plugins=[plugin])
    assert sorted(losses) == [1, 2]
    assert all(math.isfinite(v) for step in losses.values() for v in step.values()), losses
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert plugin.scaler.get_scale() > 1  # the scaler ran (and did not collapse)


@pytest.mark.parametrize("method", list(CASES))
def test_checkpoint_mid_epoch_resumes_to_the_uninterrupted_run(method, tmp_path):
    seed_everything(0)
    model, batches = CASES[method](tmp_path)
    fresh = copy.deepcopy(model)
    reference = _fit(model, batches, 3, tmp_path / "a", ckpt_every=2)  # one epoch of 3 batches
    seed_everything(123)  # a resume must not depend on the seed the process happens to have
    resumed = _fit(fresh, batches, 3, tmp_path / "b", ckpt_path=str(tmp_path / "a" / "step=2.ckpt"))
    assert list(resumed) == [3]
    assert resumed[3] == reference[3], method
    ckpt = torch.load(tmp_path / "a" / "step=2.ckpt", weights_only=True)  # only safe types inside
    assert ckpt["loops"]["fit_loop"]["state_dict"]["combined_loader"] == [{"epoch": 0, "batches": 2}]
