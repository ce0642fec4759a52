"""The first-frame-aware sparse discriminator (section 3.4, appendix F: StyleGAN-V's D).

StyleGAN-V (Skorokhodov et al. 2022, section 3.2): every sampled frame goes through the
same 2-D residual trunk down to ``concat_res`` (16x16; the block producing it has its width
divided by ``num_frames_div_factor``); the frames' features are concatenated along the
channels and the trunk continues to 4x4. D is conditioned on the time differences between
consecutive frames ``delta_i = t_{i+1} - t_i``: each is embedded by fixed sinusoids of
log-spaced frequencies plus a learned embedding of its rounded value, the embeddings are
concatenated and mapped (SG2-ADA mapping network, 2 layers) to ``c``, and the logit is
the projection ``<h, c> / sqrt(dim)`` of the epilogue's output. StyleInV feeds it
``[x_0, x_t1, x_t2, x_t3]`` with ``t0 = 0`` (Eq. 3), so ``num_frames = 4``.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from einops import rearrange
from torch import Tensor, nn

from stylevideo.nn.layers import ConvLayer, EqualLinear
from stylevideo.nn.stylegan2 import minibatch_stddev, stylegan2_channels

__all__ = ["SparseVideoDiscriminator", "TimeDifferenceEncoder"]


class _DBlock(nn.Module):
    """Residual D block ``(conv1(conv0(x)) + skip(x)) / sqrt(2)`` with ``in -> tmp -> out``
    channels (SG2-ADA's, which StyleGAN-V widens at the concatenation); ``conv_clamp`` bounds
    the convolutions' activations (not the skip), as SG2-ADA's."""

    def __init__(self, in_channels: int, tmp_channels: int, out_channels: int, conv_clamp: float | None = None):
        super().__init__()
        self.conv0 = ConvLayer(in_channels, tmp_channels, 3, clamp=conv_clamp)
        self.conv1 = ConvLayer(tmp_channels, out_channels, 3, downsample=True, clamp=conv_clamp)
        self.skip = ConvLayer(in_channels, out_channels, 1, downsample=True, activate=False, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        return (self.conv1(self.conv0(x)) + self.skip(x)) / math.sqrt(2)


class TimeDifferenceEncoder(nn.Module):
    """``delta [B, K] -> [B, K * (2F + const_dim)]``: ``sin, cos(pi 2^j delta / R)`` for
    ``j < F = log2 R`` (``R`` = ``max_frames`` rounded up to a power of two) and a learned
    embedding of ``round(delta)`` (StyleGAN-V's ``TemporalDifferenceEncoder``)."""

    def __init__(self, max_frames: int = 128, const_dim: int = 256):
        super().__init__()
        resolution = 2 ** int(np.ceil(np.log2(max_frames)))
        n = int(np.ceil(np.log2(resolution)))
        self.register_buffer("freqs", torch.pi * 2.0 ** torch.arange(n) / resolution, persistent=False)
        self.const_embed = nn.Embedding(max_frames, const_dim) if const_dim > 0 else None
        self.max_frames = max_frames
        self.dim_per_delta = 2 * n + const_dim

    def forward(self, delta: Tensor) -> Tensor:
        raw = delta.float()[..., None] * self.freqs
        parts = [raw.sin(), raw.cos()]
        if self.const_embed is not None:
            parts.insert(0, self.const_embed(delta.round().long().clamp(0, self.max_frames - 1)))
        return torch.cat(parts, dim=-1).flatten(1)


class SparseVideoDiscriminator(nn.Module):
    """``D(frames [B, K, 3, H, W], t [B, K]) -> logits [B]``.

    Args:
        resolution: frame size (a power of two above ``concat_res``).
        channel_base, channel_max: widths ``min(channel_base // res, channel_max)`` (StyleInV:
            16384 / 512, SG2-ADA's ``fmaps=0.5``).
        num_frames: frames per video ``K`` (StyleInV: 4, the first one at ``t0 = 0``).
        concat_res: where the frames' features are concatenated (16).
        num_frames_div_factor: width divisor of the block producing ``concat_res`` (2).
        max_frames: the clip length the time differences come from (128).
        const_dim: size of the learned time-difference embedding (256).
        mapping_layers: layers of the conditioning mapping network (2).
        mbstd_group: minibatch-std group size.
        conv_clamp: activations of the convolutions clamped to ``+-conv_clamp`` (the authors'
            StyleGAN2-ADA setting, 256; None: off).
    """

    def __init__(
        self,
        resolution: int = 256,
        channel_base: int = 16384,
        channel_max: int = 512,
        num_frames: int = 4,
        concat_res: int = 16,
        num_frames_div_factor: int = 2,
        max_frames: int = 128,
        const_dim: int = 256,
        mapping_layers: int = 2,
        mbstd_group: int = 4,
        conv_clamp: float | None = None,
    ):
        super().__init__()
        if resolution <= concat_res:
            raise ValueError(f"resolution ({resolution}) must be above concat_res ({concat_res})")
        ch = stylegan2_channels(resolution, channel_base, channel_max)
        self.num_frames, self.concat_res, self.mbstd_group = num_frames, concat_res, mbstd_group
        self.from_rgb = ConvLayer(3, ch[resolution], 1, clamp=conv_clamp)
        frame_blocks, video_blocks = [], []
        res = resolution
        while res > 4:
            c_in, tmp, c_out = ch[res], ch[res], ch[res // 2]
            if res // 2 == concat_res:
                c_out //= num_frames_div_factor
            if res == concat_res:
                c_in = ch[res] // num_frames_div_factor * num_frames
            (frame_blocks if res > concat_res else video_blocks).append(_DBlock(c_in, tmp, c_out, conv_clamp))
            res //= 2
        self.frame_blocks, self.video_blocks = (
            nn.Sequential(*frame_blocks),
            nn.Sequential(*video_blocks),
        )
        self.time_encoder = TimeDifferenceEncoder(max_frames, const_dim)
        cmap_dim = ch[4]
        c_dim = self.time_encoder.dim_per_delta * (num_frames - 1)
        self.embed = EqualLinear(c_dim, cmap_dim)
        self.mapping = nn.Sequential(
            *(EqualLinear(cmap_dim, cmap_dim, lr_mul=0.01, activation="fused_lrelu") for _ in range(mapping_layers))
        )
        self.final_conv = ConvLayer(ch[4] + 1, ch[4], 3, clamp=conv_clamp)
        self.final_linear = nn.Sequential(
            EqualLinear(ch[4] * 16, ch[4], activation="fused_lrelu"), EqualLinear(ch[4], cmap_dim)
        )
        self.cmap_dim = cmap_dim
        self.to(memory_format=torch.channels_last)  # weights and maps NHWC, as the inversion encoder

    def condition(self, t: Tensor) -> Tensor:
        """The mapped time-difference embedding ``c`` ``[B, cmap_dim]``."""
        y = self.embed(self.time_encoder(t[:, 1:] - t[:, :-1]))
        y = y * torch.rsqrt(y.pow(2).mean(dim=1, keepdim=True) + 1e-8)
        return self.mapping(y)

    def forward(self, frames: Tensor, t: Tensor) -> Tensor:
        b, k = frames.shape[:2]
        if k != self.num_frames or t.shape != (b, k):
            raise ValueError(
                f"expected {self.num_frames} frames per video and t [B, {self.num_frames}], got "
                f"frames {tuple(frames.shape)} and t {tuple(t.shape)}"
            )
        frames = rearrange(frames, "b k c h w -> (b k) c h w").contiguous(memory_format=torch.channels_last)
        x = self.frame_blocks(self.from_rgb(frames))
        x = rearrange(x, "(b k) c h w -> b (k c) h w", b=b).contiguous(memory_format=torch.channels_last)
        x = self.video_blocks(x)
        x = self.final_conv(minibatch_stddev(x, self.mbstd_group, 1).contiguous(memory_format=torch.channels_last))
        h = self.final_linear(x.flatten(1))
        return (h * self.condition(t)).sum(dim=1) / math.sqrt(self.cmap_dim)
