"""The image StyleGAN2 LightningModule: one iteration = one step, lazy regularisation, EMA, sampling."""

import pytest
import torch
from lightning.pytorch import Trainer
from torch.utils.data import DataLoader

from stylevideo.methods.stylegan2 import StyleGAN2

TINY = dict(resolution=16, z_dim=8, w_dim=8, mapping_layers=2, channel_base=128, channel_max=16, mbstd_group=2)


def frames_loader(n_batches=4, batch=4, res=16):
    torch.manual_seed(0)
    data = [{"frames": torch.rand(batch, 1, 3, res, res) * 2 - 1} for _ in range(n_batches)]
    return DataLoader(data, batch_size=None)


def fit(model, steps, **trainer_kwargs):
    trainer = Trainer(
        max_steps=steps,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        accelerator="cpu",
        **trainer_kwargs,
    )
    trainer.fit(model, frames_loader())
    return trainer


def test_one_iteration_is_one_trainer_step_and_regularisers_run_lazily(monkeypatch):
    torch.manual_seed(0)
    model = StyleGAN2(**TINY, r1_interval=2, pl_interval=3, ada_target=0.6, ada_interval=1)
    calls = {"r1": 0, "pl": 0}
    import stylevideo.methods.gan as loop
    import stylevideo.methods.stylegan2 as module

    for name, where, attr in (("r1", module, "r1_penalty"), ("pl", loop, "path_length_penalty")):
        original = getattr(where, attr)

        def counted(*args, _orig=original, _name=name, **kwargs):
            calls[_name] += 1
            return _orig(*args, **kwargs)

        monkeypatch.setattr(where, attr, counted)
    trainer = fit(model, 5)
    assert trainer.global_step == 5
    assert calls == {"r1": 3, "pl": 2}  # iterations 0, 2, 4 and 0, 3
    assert model.mean_path_length > 0
    assert model.ada.get_extra_state()["calls"] == 5  # the ADA controller saw every D step


def test_ema_generator_follows_the_generator_with_the_half_life_decay():
    torch.manual_seed(0)
    model = StyleGAN2(**TINY, ema_kimg=0.01)  # beta = 0.5 ** (4 / 10)
    before = model.G_ema.synthesis.conv1.conv.weight.clone()
    fit(model, 1)
    beta = 0.5 ** (4 / (0.01 * 1000))  # a half-life of 0.01 kimg = 10 images at batch 4
    expected = beta * before + (1 - beta) * model.G.synthesis.conv1.conv.weight
    assert torch.allclose(model.G_ema.synthesis.conv1.conv.weight, expected, atol=1e-6)
    assert not model.G_ema.training and model.G.training


def test_sample_videos_are_repeated_images_in_range_and_seeded():
    torch.manual_seed(0)
    model = StyleGAN2(**TINY)
    a = model.sample_videos(3, 5, seed=1)
    assert a.shape == (3, 5, 3, 16, 16) and a.min() >= -1 and a.max() <= 1
    assert torch.equal(a[:, 0], a[:, 4])
    assert torch.equal(a, model.sample_videos(3, 5, seed=1))
    assert not torch.equal(a, model.sample_videos(3, 5, seed=2))
    with pytest.raises(ValueError, match="unconditional"):
        model.sample_videos(1, 2, actor=0)


def test_non_finite_losses_are_reported_with_the_term_and_iteration():
    torch.manual_seed(0)
    model = StyleGAN2(**TINY)
    with torch.no_grad():
        model.D.final_linear[1].bias.fill_(float("nan"))
    with pytest.raises(FloatingPointError, match="'d'.*iteration 0"):
        fit(model, 1)


def test_validation_and_test_log_the_held_out_sign_of_d():
    torch.manual_seed(0)
    model = StyleGAN2(**TINY)
    trainer = Trainer(logger=False, enable_progress_bar=False, enable_model_summary=False, accelerator="cpu")
    for run, key in ((trainer.validate, "val/d_real_sign"), (trainer.test, "test/d_real_sign")):
        (result,) = run(model, frames_loader(), verbose=False)
        with torch.no_grad():
            expected = torch.stack([model.D(b["frames"][:, 0]).sign().mean() for b in frames_loader()]).mean()
        assert abs(result[key] - expected.item()) < 1e-6
