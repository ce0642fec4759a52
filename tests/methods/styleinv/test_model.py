"""StyleInV stage 3: FFA-ST losses (Eq. 3-6), sparse timestamps, generation modes, checkpoints."""

import pytest
import torch
from lightning.pytorch import Trainer
from styleinv_tiny import TINY
from torch.utils.data import DataLoader

from stylevideo.methods.styleinv.model import (
    StyleInV,
    first_frame_l2,
    latent_regularization,
    sample_sparse_times,
)


def model(stage_ckpts, **kw):
    torch.manual_seed(0)
    return StyleInV(*stage_ckpts, **{**TINY, **kw})


def real_batches(n=2, b=2):
    torch.manual_seed(1)
    return [{"frames": torch.rand(b, 4, 3, 32, 32) * 2 - 1, "t": torch.tensor([[0.0, 2, 3, 6]] * b)} for _ in range(n)]


def fit(m, steps, data=None):
    trainer = Trainer(
        max_steps=steps,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        accelerator="cpu",
    )
    trainer.fit(m, DataLoader(data or real_batches(steps), batch_size=None))
    return trainer


def test_eq4_and_eq5_equal_their_formulas():
    x0, y0 = torch.randn(2, 3, 8, 8), torch.randn(2, 3, 8, 8)
    assert torch.allclose(first_frame_l2(x0, y0), ((x0 - y0) ** 2).mean())
    e = torch.randn(3, 4, 5)
    expected = sum(e[:, i].pow(2).sum(-1).sqrt() for i in range(4)).mean()
    assert torch.allclose(latent_regularization(e), expected)


def test_sparse_times_start_at_zero_and_follow_the_sampler():
    torch.manual_seed(0)
    t = sample_sparse_times(512, clip_length=128, num_sparse=3, max_distance=32)
    assert t.shape == (512, 4) and torch.equal(t[:, 0], torch.zeros(512))
    assert (t[:, 1:].diff(dim=1) > 0).all() and (t[:, 1] < t[:, 2]).all()
    span = t[:, 3] - t[:, 1]
    assert set(span.round().int().tolist()) == {2, 4, 8, 16, 32}
    assert torch.allclose(span, span.round(), atol=1e-4) and (t[:, 3] <= 127).all()
    assert (t[:, 1] != t[:, 1].round()).any()  # fractional offsets (the authors' use_fractional_t)
    inner = t[:, 2] - t[:, 1]
    assert torch.allclose(inner, inner.round(), atol=1e-4)
    with pytest.raises(ValueError, match="power-of-two"):
        sample_sparse_times(1, clip_length=3, num_sparse=4, max_distance=32)


def test_training_step_feeds_d_the_initial_frame_and_logs_eq4_eq5(stage_ckpts, monkeypatch):
    m = model(stage_ckpts, ada_target=None, r1_interval=1)
    seen, fakes = [], []
    original_d, original_fakes = m.D.forward, m.fakes
    monkeypatch.setattr(m.D, "forward", lambda frames, t: seen.append((frames.detach(), t)) or original_d(frames, t))
    monkeypatch.setattr(m, "fakes", lambda b: fakes.append(original_fakes(b)) or fakes[-1])
    trainer = fit(m, 1)
    assert trainer.global_step == 1
    first = fakes[0]
    # encoder step: D sees [G(w0), y_t1, y_t2, y_t3] at t = [0, t1, t2, t3] (Eq. 3, appendix F)
    frames, t = seen[0]
    assert torch.equal(frames[:, 0], first["x0"]) and torch.equal(frames[:, 1:], first["y"][:, 1:].detach())
    assert torch.equal(t[:, 0], torch.zeros(2))
    assert torch.allclose(first["x0"], m.synthesize(first["w0"]))
    metrics = trainer.callback_metrics
    assert torch.allclose(metrics["loss/l2"], 10 * ((first["x0"] - first["y"][:, 0]) ** 2).mean(), rtol=1e-4)
    # lambda_reg 0.0125: the paper's 0.05 on the authors' mean over the 4 timestamps
    assert torch.allclose(metrics["loss/reg"], 0.0125 * latent_regularization(first["residual"]), rtol=1e-4)
    # discriminator step: real clips with their first frame, then the R1 pass
    real = real_batches(1)[0]
    assert any(torch.equal(f, real["frames"]) for f, _ in seen[2:])
    assert {"loss/d", "loss/r1", "loss/adv"} <= set(metrics)


def test_without_ffa_d_the_discriminator_sees_three_frames(stage_ckpts):
    m = model(stage_ckpts, first_frame_in_d=False, lambda_l2=0.0, ada_target=None)
    assert m.D.num_frames == 3
    trainer = fit(m, 1)
    assert "loss/l2" not in trainer.callback_metrics


def test_sample_videos_shape_seed_and_fractional_time_interpolation(stage_ckpts):
    m = model(stage_ckpts).eval()
    a = m.sample_videos(1, 6, seed=3)
    assert a.shape == (1, 6, 3, 32, 32) and a.abs().max() <= 1
    assert torch.equal(a, m.sample_videos(1, 6, seed=3))
    dense = m.sample_videos(1, 11, seed=3, fps_scale=2.0)  # t = 0, 0.5, ..., 5 (appendix A)
    assert torch.allclose(dense[:, ::2], a, atol=1e-5)
    w0 = torch.randn(1, 32)
    t = torch.tensor([0.3, 0.301, 1.3, 2.0, 2.001, 3.0, 4.3, 4.301, 5.3])
    w = m.latents(w0, t, seed=0)[0]
    for i in (0, 3, 6):  # continuous in t: a thousandth of a frame moves w far less than a frame
        assert (w[i + 1] - w[i]).norm() < 0.1 * (w[i + 2] - w[i]).norm()
    with pytest.raises(ValueError, match="unconditional"):
        m.sample_videos(1, 2, actor=0)


def test_long_videos_are_generated_in_chunks_with_one_motion(stage_ckpts):
    m = model(stage_ckpts, generation_chunk=3).eval()
    w0, t = torch.randn(2, 32), torch.arange(10.0)
    z = m.SI_ema.ape.sample_noise(2, 9.0)
    chunked = m.latents(w0, t, z=z)
    whole = m.SI_ema(m.synthesize(w0), w0, t.expand(2, -1), z)[0]
    assert torch.allclose(chunked, whole, atol=1e-5)


def test_animate_inverts_the_source_with_the_stage2_encoder(stage_ckpts):
    m = model(stage_ckpts).eval()
    source = torch.rand(2, 3, 64, 64) * 2 - 1  # resized to the generator's 32x32
    video = m.animate(source, torch.zeros(2, 5, 3, 32, 32), seed=0)
    assert video.shape == (2, 5, 3, 32, 32)
    w0 = m.invert(source)
    expected = m.decode(m.latents(w0, torch.arange(5.0), seed=0))
    assert torch.allclose(video, expected, atol=1e-5)
    with pytest.raises(ValueError, match="num_frames"):
        m.animate(source)


def test_checkpoint_restores_without_the_stage_files(stage_ckpts, tmp_path):
    import shutil

    g, e = (
        shutil.copy(stage_ckpts[0], tmp_path / "g.ckpt"),
        shutil.copy(stage_ckpts[1], tmp_path / "e.ckpt"),
    )
    m = model((str(g), str(e)))
    trainer = fit(m, 1)
    trainer.save_checkpoint(tmp_path / "styleinv.ckpt")
    (tmp_path / "g.ckpt").unlink()
    (tmp_path / "e.ckpt").unlink()
    restored = StyleInV.load_from_checkpoint(tmp_path / "styleinv.ckpt", map_location="cpu").eval()
    m.eval()
    assert torch.equal(restored.sample_videos(1, 3, seed=0), m.sample_videos(1, 3, seed=0))


def test_missing_stage_checkpoints_give_clear_errors(stage_ckpts, tmp_path):
    with pytest.raises(ValueError, match="generator_ckpt is not set"):
        StyleInV(None, stage_ckpts[1], **TINY)
    with pytest.raises(FileNotFoundError, match="encoder_ckpt=.*stage 2"):
        StyleInV(stage_ckpts[0], str(tmp_path / "nope.ckpt"), **TINY)
    with pytest.raises(KeyError, match="not a PSPInversion checkpoint"):
        StyleInV(stage_ckpts[0], stage_ckpts[0], **TINY)
