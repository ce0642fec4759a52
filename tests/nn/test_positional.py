"""Acyclic positional encoding (StyleGAN-V) and its first-frame-aware variant (StyleInV 3.3)."""

import pytest
import torch

from stylevideo.nn.positional import AcyclicPositionalEncoding


def ape(ffa=True, **kw):
    torch.manual_seed(0)
    return AcyclicPositionalEncoding(z_dim=16, v_dim=16, delta_z=4, kernel_size=3, first_frame_aware=ffa, **kw).eval()


def test_ffa_v0_is_the_same_for_any_noise_and_v_t_differs_for_t_positive():
    enc = ape()
    t = torch.tensor([[0.0, 1.0, 5.5, 17.0]]).expand(2, -1)
    z = enc.sample_noise(2, 17.0)
    v = enc(t, z)
    assert torch.allclose(v[0, 0], v[1, 0], atol=1e-6)
    assert (v[0, 1:] - v[1, 1:]).abs().amax(-1).min() > 1e-3


def test_original_ape_v0_depends_on_the_noise():
    enc = ape(ffa=False)
    t = torch.zeros(2, 1)
    v = enc(t, enc.sample_noise(2, 0.0))
    assert (v[0, 0] - v[1, 0]).abs().max() > 1e-3
    assert enc.num_noise(10.0) == 4 + 2 * 2  # two anchors around t=10 plus 2 (k - 1) for the valid convs


def test_v_equals_the_aligner_of_the_token_at_every_anchor():
    enc = ape()
    z = enc.sample_noise(1, 12.0)
    u = enc.tokens(z)
    anchors = torch.tensor([[0.0, 4.0, 8.0, 12.0]])
    v = enc(anchors, z)
    assert torch.allclose(v[0], enc.aligners_predictor(u[0, :4]), atol=1e-5)


def test_v_t_is_continuous_in_t_including_across_anchors():
    enc = ape()
    z = enc.sample_noise(1, 40.0)
    t = torch.arange(0, 40, 0.01)[None]
    v = enc(t, z)
    step = (v[0, 1:] - v[0, :-1]).norm(dim=-1)
    scale = v[0].norm(dim=-1).mean()
    assert step.max() < 0.05 * scale  # 0.01 frames apart: no jump anywhere, anchors included
    far = (v[0, 400:] - v[0, :-400]).norm(dim=-1).mean()
    assert far > 20 * step.mean()  # while the code does move over 4 frames


def test_ffa_tokens_are_causal_noise_to_the_right_does_not_change_earlier_codes():
    enc = ape()
    z = enc.sample_noise(1, 20.0)
    z2 = z.clone()
    z2[:, 3:] = torch.randn_like(z2[:, 3:])
    t = torch.tensor([[0.0, 2.0, 5.0, 7.9]])  # anchors 0, 1, 2 only
    assert torch.allclose(enc(t, z), enc(t, z2))


def test_times_outside_the_noise_range_are_rejected_in_eval():
    enc = ape()
    z = enc.sample_noise(1, 8.0)
    with pytest.raises(ValueError, match="times must lie"):
        enc(torch.tensor([[20.0]]), z)
    with pytest.raises(ValueError, match="expected t"):
        enc(torch.zeros(3), z)
