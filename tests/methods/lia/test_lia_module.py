"""The LIA LightningModule: training on real source/driving pairs, animation of real clips."""

import numpy as np
import pytest
import torch
from lia_helpers import TINY, shallow_vgg
from lightning.pytorch import Callback, Trainer
from torch.utils.data import DataLoader

from stylevideo.methods.lia import LIA
from stylevideo.video.io import count_frames, frames_to_tensor, read_frames


class Losses(Callback):
    def __init__(self):
        self.history = []

    def on_train_batch_end(self, trainer, *args):
        logged = trainer.callback_metrics
        self.history.append({k: float(v) for k, v in logged.items() if k.startswith("loss/")})


def real_pairs(real_data, n=2, res=64):
    """``n`` (source, driving) pairs of the real talking-head clip, ``[n, 2, 3, res, res]``."""
    clip = real_data / "voxceleb" / "talking_a.mp4"
    idx = np.linspace(0, count_frames(clip) - 1, 2 * n).round().astype(int)
    return frames_to_tensor(read_frames(clip, idx), res).view(n, 2, 3, res, res)


def test_training_overfits_one_real_clip_and_keeps_d_m_orthonormal(real_data):
    torch.manual_seed(0)
    model = LIA(**TINY)
    model.set_vgg(shallow_vgg())
    frames = real_pairs(real_data, n=1)
    losses = Losses()
    trainer = Trainer(
        max_steps=6,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        accelerator="cpu",
        callbacks=[losses],
    )
    d_m_before = model.autoencoder.D_m.weight.detach().clone()
    trainer.fit(model, DataLoader([{"frames": frames}] * 6, batch_size=None))
    assert trainer.global_step == 6  # one iteration (G and D phases) = one step
    h = losses.history
    assert set(h[0]) == {"loss/g", "loss/recon", "loss/vgg", "loss/adv", "loss/d"}
    recon = [s["loss/recon"] + s["loss/vgg"] for s in h]
    assert recon[-1] < 0.9 * recon[0] and np.mean(recon[-2:]) < np.mean(recon[:2]), recon
    assert h[0]["loss/g"] == pytest.approx(h[0]["loss/recon"] + h[0]["loss/vgg"] + h[0]["loss/adv"], rel=1e-5)
    d_m = model.autoencoder.D_m
    assert not torch.equal(d_m.weight, d_m_before)  # D_m is learned ...
    assert torch.allclose(d_m.directions() @ d_m.directions().T, torch.eye(8), atol=1e-5)  # ... orthonormal
    assert not any(p.requires_grad for n, p in model.named_parameters() if n.endswith("noise.weight"))


def test_animate_real_clip_from_a_still_source_image(real_data):
    from PIL import Image

    torch.manual_seed(0)
    model = LIA(**TINY).eval()
    source = frames_to_tensor(np.asarray(Image.open(real_data / "voxceleb" / "source_a.png").convert("RGB"))[None], 64)
    driving = frames_to_tensor(read_frames(real_data / "voxceleb" / "talking_b.mp4", range(0, 40, 4)), 64)[None]
    for relative in (True, False):
        out = model.animate(source, driving, relative=relative)
        assert out.shape == (1, 10, 3, 64, 64)
        assert out.min() >= -1 and out.max() <= 1 and torch.isfinite(out).all()
    assert model.reference_image(source).shape == (1, 3, 64, 64)
    walk = model.manipulate(source, 0)
    assert walk.shape == (1, 16, 3, 64, 64) and walk.abs().max() <= 1


def test_bad_batches_and_settings_give_clear_errors():
    model = LIA(**TINY)
    with pytest.raises(ValueError, match=r"SourceDriving.*\(3, 3, 3, 64, 64\)"):
        model.source_driving({"frames": torch.zeros(3, 3, 3, 64, 64)})
    with pytest.raises(ValueError, match="drop the smallest scales"):
        LIA(**(TINY | {"vgg_scales": (1.0, 0.5, 0.25, 0.125)}))
    with pytest.raises(ValueError, match=r"driving \[B, T, 3, H, W\]"):
        model.animate(torch.zeros(2, 3, 64, 64), torch.zeros(1, 4, 3, 64, 64))


def test_missing_vgg19_weights_fail_before_training_with_the_url():
    from stylevideo.features.weights import MissingWeightsError

    model = LIA(**TINY)
    trainer = Trainer(
        max_steps=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        accelerator="cpu",
    )
    with pytest.raises(MissingWeightsError, match="vgg19-dcbb9e9d.pth.*download.pytorch.org"):
        trainer.fit(model, DataLoader([{"frames": torch.zeros(2, 2, 3, 64, 64)}], batch_size=None))
    assert trainer.global_step == 0
