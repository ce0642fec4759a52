"""The training objective, Eq. 6-10, term by term against direct computations."""

import torch
import torch.nn.functional as F

from stylevideo.methods.vidstyleode.losses import (
    clip_consistency_loss,
    clip_directional_loss,
    latent_direction_loss,
    splice_appearance_loss,
    splice_structure_loss,
)


def test_clip_consistency_is_eq_7():
    e = torch.randn(2, 3, 5)
    expected = []
    for b in range(2):
        total = 0.0
        for i in range(3):
            for j in range(i, 3):  # j >= i
                total += 1 - F.cosine_similarity(e[b, i], e[b, j], dim=0)
        expected.append(total)
    assert torch.allclose(clip_consistency_loss(e), torch.stack(expected).mean(), atol=1e-5)
    same = torch.randn(1, 1, 5).expand(2, 4, 5)
    assert clip_consistency_loss(same).abs() < 1e-5  # identical frames are consistent
    assert torch.allclose(clip_consistency_loss(3 * e), clip_consistency_loss(e), atol=1e-5)


def test_splice_appearance_and_structure_are_eq_8_and_9():
    content, frames = torch.randn(2, 7), torch.randn(2, 3, 7)
    expected = sum(F.mse_loss(frames[:, i], content, reduction="none").mean(1) for i in range(3)).mean()
    assert torch.allclose(splice_appearance_loss(content, frames), expected, atol=1e-6)
    real, gen = torch.randn(2, 3, 4, 4), torch.randn(2, 3, 4, 4)
    expected = sum(((gen[:, i] - real[:, i]) ** 2).mean((1, 2)) for i in range(3)).mean()
    assert torch.allclose(splice_structure_loss(real, gen), expected, atol=1e-6)
    assert splice_structure_loss(real, real) == 0 and splice_appearance_loss(content, content[:, None]) == 0


def test_clip_directional_is_eq_10():
    src, tgt = torch.randn(3, 6), torch.randn(3, 6)
    edited, ref = torch.randn(3, 4, 6), torch.randn(3, 4, 6)
    delta_t = F.normalize(tgt, dim=-1) - F.normalize(src, dim=-1)
    delta_v = (F.normalize(edited, dim=-1) - F.normalize(ref, dim=-1)).mean(1)
    expected = (1 - F.cosine_similarity(delta_v, delta_t, dim=-1)).mean()
    assert torch.allclose(clip_directional_loss(src, tgt, edited, ref), expected, atol=1e-6)


def test_clip_directional_extremes_and_videos_without_a_direction():
    src = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    tgt = torch.tensor([[0.0, 1.0], [1.0, 0.0]])  # the second video's target is its source
    ref = torch.tensor([[1.0, 0.0]]).expand(2, 3, 2)
    toward = torch.tensor([[0.0, 1.0]]).expand(2, 3, 2)
    assert clip_directional_loss(src, tgt, toward, ref).abs() < 1e-6  # only video 0 counts
    away = torch.tensor([[0.0, -1.0]]).expand(2, 3, 2)  # Delta_V = (-1, -1) _|_ Delta_T = (-1, 1)
    assert torch.allclose(clip_directional_loss(src, tgt, away, ref), torch.tensor(1.0))
    assert clip_directional_loss(src, src, toward, ref) == 0  # no direction at all


def test_latent_direction_loss_is_the_mean_norm_of_the_directions():
    delta = torch.randn(2, 3, 6, 4, requires_grad=True)
    loss = latent_direction_loss(delta)
    norms = torch.stack([delta[b, i].flatten().norm() for b in range(2) for i in range(3)])
    assert torch.allclose(loss, norms.mean(), atol=1e-6)
    (grad,) = torch.autograd.grad(loss, delta)
    unit = delta / delta.flatten(-2).norm(dim=-1)[..., None, None]
    assert torch.allclose(grad, unit / 6, atol=1e-6)  # pulls every direction toward zero
    assert latent_direction_loss(torch.zeros(2, 3, 6, 4)) == 0
