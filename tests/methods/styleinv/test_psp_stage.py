"""Stage 2: pSp inversion into W (Eq. 1) with pSp's losses and optimizer."""

import math

import pytest
import torch
from lightning.pytorch import Trainer
from styleinv_tiny import ENC
from torch import nn
from torch.utils.data import DataLoader

from stylevideo.methods.psp import IdentityLoss, PSPInversion, ranger

FAST = dict(**ENC, backbone_init=None, lpips_pretrained=False, id_lambda=0.0)


def test_eq1_inversion_and_loss_terms_equal_their_formulas(stage_ckpts):
    torch.manual_seed(0)
    m = PSPInversion(stage_ckpts[0], w_norm_lambda=0.5, **FAST)
    x = torch.rand(3, 3, 32, 32) * 2 - 1
    offset = m.encoder(x)
    assert torch.allclose(m.invert(x), offset + m.G.w_avg)
    y_hat = m.G.synthesis(offset + m.G.w_avg, "const")
    assert torch.allclose(m(x), y_hat, atol=1e-6)
    losses = m.losses(x)
    assert torch.allclose(losses["l2"], ((y_hat - x) ** 2).mean(), atol=1e-6)
    assert torch.allclose(losses["w_norm"], 0.5 * offset.norm(dim=1).mean(), atol=1e-6)
    assert torch.allclose(losses["lpips"], 0.8 * m._lpips[0](y_hat, x).mean(), atol=1e-6)
    assert "id" not in losses
    with pytest.raises(ValueError, match="data.resolution"):
        m.losses(torch.zeros(1, 3, 64, 64))


def test_identity_loss_is_one_minus_cosine_on_the_face_crop():
    torch.manual_seed(0)
    crops = []

    class Net(nn.Module):  # a stand-in with ArcFace's interface: [N, 3, 112, 112] -> [N, D]
        def forward(self, x):
            crops.append(x.shape)
            return x.mean((2, 3))

    loss = IdentityLoss(Net())
    y = torch.rand(2, 3, 256, 256)
    assert torch.allclose(loss(y, y), torch.zeros(()), atol=1e-6)
    assert crops[0] == (2, 3, 112, 112)
    y_hat = torch.rand(2, 3, 256, 256)
    e1 = nn.functional.normalize(y_hat[:, :, 35:223, 32:220].mean((2, 3)), dim=1)
    e2 = nn.functional.normalize(y[:, :, 35:223, 32:220].mean((2, 3)), dim=1)
    assert torch.allclose(loss(y_hat, y), (1 - (e1 * e2).sum(1)).mean(), atol=1e-5)


def _ranger_reference(p0, grads, lr, k=6, alpha=0.5, b1=0.95, b2=0.999, eps=1e-5, gc=True):
    """Ranger 20.4.11 transcribed in float64: gradient centralisation (Yong et al. 2020) of every
    gradient of more than one dimension, RAdam (Liu et al. 2020; momentum steps while the SMA
    length is at most 5) and Lookahead (Zhang et al. 2019)."""
    p, slow = p0.clone(), p0.clone()
    m, v = torch.zeros_like(p0), torch.zeros_like(p0)
    rho_inf = 2 / (1 - b2) - 1
    for t, g in enumerate(grads, start=1):
        if gc and g.ndim > 1:
            g = g - g.mean(dim=tuple(range(1, g.ndim)), keepdim=True)
        m, v = b1 * m + (1 - b1) * g, b2 * v + (1 - b2) * g * g
        rho = rho_inf - 2 * t * b2**t / (1 - b2**t)
        if rho > 5:
            r = math.sqrt((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho))
            p = p - lr * r * math.sqrt(1 - b2**t) / (1 - b1**t) * m / (v.sqrt() + eps)
        else:
            p = p - lr / (1 - b1**t) * m
        if t % k == 0:
            slow = slow + alpha * (p - slow)
            p = slow.clone()
    return p


def test_stage2_ranger_is_radam_with_lookahead_and_gradient_centralisation():
    """13 steps cover the momentum steps (t <= 5), the rectified ones and two Lookahead syncs."""
    torch.manual_seed(0)
    weight = nn.Parameter(torch.randn(3, 4, 2, dtype=torch.float64))
    bias = nn.Parameter(torch.randn(3, dtype=torch.float64))
    start = [weight.detach().clone(), bias.detach().clone()]
    grads = [[torch.randn(3, 4, 2, dtype=torch.float64) + 1, torch.randn(3, dtype=torch.float64)] for _ in range(13)]
    opt = ranger([weight, bias], lr=0.05)
    for g_w, g_b in grads:
        weight.grad, bias.grad = g_w.clone(), g_b.clone()
        opt.step()
    for param, p0, i in ((weight, start[0], 0), (bias, start[1], 1)):
        expected = _ranger_reference(p0, [g[i] for g in grads], lr=0.05)
        torch.testing.assert_close(param.detach(), expected, rtol=1e-10, atol=1e-12)
    without_gc = _ranger_reference(start[0], [g[0] for g in grads], lr=0.05, gc=False)
    assert (without_gc - weight.detach()).abs().max() > 1e-3  # the centralisation is what made the difference


def test_stage2_trains_with_that_ranger(stage_ckpts):
    opt = PSPInversion(stage_ckpts[0], **FAST).configure_optimizers()
    assert type(opt).__name__ == "Ranger" and opt.use_gc and opt.gc_gradient_threshold == 1


def test_a_few_steps_reduce_the_reconstruction_loss(stage_ckpts):
    torch.manual_seed(0)
    m = PSPInversion(stage_ckpts[0], optimizer="adam", lr=1e-3, lpips_lambda=0.0, **FAST)
    with torch.no_grad():  # invertible targets: images of the generator itself
        x = m.G.synthesis(m.G.mapping(torch.randn(4, 16)), "const")
    before = m.losses(x)["l2"].item()
    Trainer(
        max_steps=8,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        accelerator="cpu",
    ).fit(m, DataLoader([{"frames": x[:, None]}] * 8, batch_size=None))
    assert m.losses(x)["l2"].item() < 0.8 * before


def test_generator_ckpt_is_required_and_arcface_init_names_the_missing_file(stage_ckpts):
    with pytest.raises(ValueError, match="generator_ckpt is not set"):
        PSPInversion(None, **FAST)
    with pytest.raises(FileNotFoundError, match="model_ir_se50.pth"):
        PSPInversion(stage_ckpts[0], **{**FAST, "backbone_init": "arcface"})
