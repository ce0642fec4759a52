"""StyleGAN-V's sparse video discriminator as StyleInV uses it."""

import pytest
import torch

from stylevideo.methods.styleinv.discriminator import (
    SparseVideoDiscriminator,
    TimeDifferenceEncoder,
)


def d(**kw):
    torch.manual_seed(0)
    return SparseVideoDiscriminator(
        32, channel_base=256, channel_max=32, max_frames=16, const_dim=8, mbstd_group=2, **kw
    )


def test_frames_are_concatenated_at_16x16_with_halved_width():
    disc = d()
    # widths min(256 // res, 32): 8 at 32x32, 16 at 16x16 -> the 32x32 block outputs 16 / 2
    assert len(disc.frame_blocks) == 1 and disc.frame_blocks[0].conv1[-2].weight.shape[0] == 16 // 2
    assert disc.video_blocks[0].conv0[0].weight.shape[1] == 4 * (16 // 2)
    logits = disc(torch.randn(4, 4, 3, 32, 32), torch.tensor([[0.0, 3, 4, 7]]).expand(4, -1))
    assert logits.shape == (4,)


def test_logits_depend_on_frame_order_and_on_the_time_differences():
    disc = d()
    frames = torch.randn(2, 4, 3, 32, 32)
    t = torch.tensor([[0.0, 3, 4, 7]]).expand(2, -1)
    base = disc(frames, t)
    assert not torch.allclose(base, disc(frames.flip(1), t))
    assert not torch.allclose(base, disc(frames, t * 2))
    assert torch.allclose(base, disc(frames, t + 5.0))  # only differences matter


def test_time_difference_embedding_is_sinusoids_plus_a_learned_table():
    enc = TimeDifferenceEncoder(max_frames=128, const_dim=4)
    assert enc.freqs.numel() == 7 and enc.dim_per_delta == 18
    emb = enc(torch.tensor([[2.0]]))
    assert torch.allclose(emb[0, 4:11], torch.sin(2.0 * torch.pi * 2.0 ** torch.arange(7) / 128))
    assert torch.equal(emb[0, :4], enc.const_embed.weight[2])


def test_wrong_number_of_frames_is_rejected():
    with pytest.raises(ValueError, match="4 frames"):
        d()(torch.randn(2, 3, 3, 32, 32), torch.zeros(2, 3))
    with pytest.raises(ValueError, match="concat_res"):
        SparseVideoDiscriminator(16)
