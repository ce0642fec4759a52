"""Stage 2: pSp inversion into W (Eq. 1) with pSp's losses and optimizer."""

import pytest
import torch
from lightning.pytorch import Trainer
from styleinv_tiny import ENC
from torch import nn
from torch.utils.data import DataLoader

from stylevideo.methods.psp import IdentityLoss, PSPInversion, Ranger

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


def test_ranger_is_radam_with_lookahead():
    torch.manual_seed(0)
    p1, p2 = nn.Parameter(torch.randn(5)), None
    p2 = nn.Parameter(p1.detach().clone())
    ranger, radam = (
        Ranger([p1], lr=0.1, k=3, alpha=0.5),
        torch.optim.RAdam([p2], lr=0.1, betas=(0.95, 0.999), eps=1e-5),
    )
    start = p1.detach().clone()
    for step in range(1, 4):
        for p, opt in ((p1, ranger), (p2, radam)):
            opt.zero_grad()
            (p**2).sum().backward()
            opt.step()
        if step < 3:
            assert torch.allclose(p1, p2)
    assert torch.allclose(p1, start + 0.5 * (p2.detach() - start), atol=1e-6)  # slow weights after k steps
    assert torch.equal(ranger.state[p1]["slow_buffer"], p1.detach())


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
