"""LIA's networks: the encoder E, Linear Motion Decomposition and the generator G.

Wang et al., "Latent Image Animator: Learning to Animate Images via Latent Space
Navigation" (ICLR 2022): section 3.1 (E, D_m, Eq. 1-4), section 3.2 (G_f, G_r, Eq. 5-6),
appendix A (Fig. 7 and 8). Layer order, widths and initialisations follow the authors'
code, so their released checkpoints load by renaming alone (:mod:`.official`).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from stylevideo.nn.layers import ConvLayer, EqualConv2d, EqualLinear, ResBlock, Upsample
from stylevideo.nn.stylegan2 import (
    BLUR,
    ConstantInput,
    NoiseInjection,
    StyledConv,
    ToRGB,
    stylegan2_channels,
)

__all__ = [
    "Encoder",
    "FlowGenerator",
    "GBlock",
    "MotionDictionary",
    "UpConv",
    "magnitude_mlp",
    "masked_warp",
    "warp",
]


def _check_images(x: torch.Tensor, resolution: int, name: str) -> None:
    if x.ndim != 4 or x.shape[1] != 3 or tuple(x.shape[2:]) != (resolution, resolution):
        raise ValueError(f"{name}: expected images [B, 3, {resolution}, {resolution}] in [-1, 1], got {tuple(x.shape)}")


class Encoder(nn.Module):
    """E (appendix A, Fig. 7): a 1x1 conv, residual downsampling blocks to 4x4, a 4x4 conv to R^N.

    ``forward(x) -> (z, x_enc)``: the latent code ``z = E(x)`` (``z_{s->r}`` for a source,
    Eq. 1) and the appearance features ``x_enc``: the block outputs from 8x8 up to the input
    resolution (low to high), one per generator block.
    """

    def __init__(
        self,
        resolution: int = 256,
        latent_dim: int = 512,
        channel_base: int = 16384,
        channel_max: int = 512,
    ):
        super().__init__()
        ch = stylegan2_channels(resolution, channel_base, channel_max)
        self.resolution = resolution
        convs: list[nn.Module] = [ConvLayer(3, ch[resolution], 1)]
        res = resolution
        while res > 4:
            convs.append(ResBlock(ch[res], ch[res // 2]))
            res //= 2
        self.convs = nn.ModuleList(convs)
        self.to_latent = EqualConv2d(ch[4], latent_dim, 4, bias=False)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        _check_images(x, self.resolution, "Encoder")
        feats = []
        for conv in self.convs:
            x = conv(x)
            feats.append(x)
        return self.to_latent(x).flatten(1), feats[-2::-1]


def magnitude_mlp(
    latent_dim: int = 512, out_dim: int = 20, num_layers: int = 5, activation: str | None = None
) -> nn.Sequential:
    """The 5-layer MLP mapping ``z_{d->r} = E(x_d)`` to the magnitudes ``A_{r->d}`` (section 3.1).

    ``num_layers - 1`` layers of width ``latent_dim`` and one to ``out_dim`` (M, or N for the
    ablation without D_m). The authors' layers have no nonlinearity (``activation=None``);
    ``"fused_lrelu"`` puts a leaky ReLU after each hidden layer.
    """
    layers = [EqualLinear(latent_dim, latent_dim, activation=activation) for _ in range(num_layers - 1)]
    return nn.Sequential(*layers, EqualLinear(latent_dim, out_dim))


class MotionDictionary(nn.Module):
    """D_m: M learnable directions in R^N, made orthonormal on every forward (Eq. 2-3).

    The learnable matrix ``weight [N, M]`` is orthonormalised by a QR decomposition (the
    numerically stable Gram-Schmidt process): the columns of ``Q`` are the directions
    ``d_1..d_M`` with ``<d_i, d_j> = [i == j]`` (Eq. 3). ``forward(A) = sum_i a_i d_i`` (Eq. 2).
    As in the authors' code, ``1e-8`` is added to the matrix before the decomposition.
    """

    def __init__(self, latent_dim: int = 512, num_directions: int = 20):
        super().__init__()
        if not 0 < num_directions <= latent_dim:
            raise ValueError(f"num_directions must be in [1, latent_dim={latent_dim}], got {num_directions}")
        self.weight = nn.Parameter(torch.randn(latent_dim, num_directions))

    def directions(self) -> torch.Tensor:
        """The orthonormal directions ``D_m``, one per row: ``[M, N]`` float32 (Eq. 3)."""
        with torch.autocast(self.weight.device.type, enabled=False):
            q, _ = torch.linalg.qr(self.weight.float() + 1e-8)
        return q.T

    def forward(self, magnitudes: torch.Tensor) -> torch.Tensor:
        """``w_{r->d} = sum_i a_i d_i`` (Eq. 2): ``[B, M] -> [B, N]`` float32."""
        return magnitudes.float() @ self.directions()


def _identity_grid(h: int, w: int, like: torch.Tensor) -> torch.Tensor:
    """Sampling grid of the identity warp, ``[1, H, W, 2]`` (x, y) in [-1, 1]."""
    ys = torch.linspace(-1, 1, h, device=like.device, dtype=like.dtype)
    xs = torch.linspace(-1, 1, w, device=like.device, dtype=like.dtype)
    return torch.stack(torch.meshgrid(xs, ys, indexing="xy"), dim=-1)[None]


def warp(x: torch.Tensor, flow: torch.Tensor, align_corners: bool = False) -> torch.Tensor:
    """The warping operation T(phi, x): bilinear sampling of ``x`` at ``grid + phi``.

    ``flow [B, 2, H, W]`` is the displacement (x, y) in normalised coordinates (the image
    spans [-1, 1]) from the grid ``linspace(-1, 1)`` of the output pixels. The default is the
    authors' convention, ``grid_sample``'s ``align_corners=False`` (their
    ``networks/styledecoder.py:434``; pixel centres sit at ``(2i + 1) / W - 1``, so a zero flow
    samples the image shrunk by half a pixel at the borders): our checkpoints and theirs are
    interchangeable. ``align_corners=True`` (a zero flow is the identity) is kept for models
    trained with it before; :func:`~stylevideo.methods.lia.export_official_checkpoint` refuses those.
    """
    grid = _identity_grid(flow.shape[2], flow.shape[3], flow) + flow.permute(0, 2, 3, 1)
    return F.grid_sample(x, grid.to(x.dtype), mode="bilinear", padding_mode="zeros", align_corners=align_corners)


def masked_warp(
    x_enc: torch.Tensor, flow: torch.Tensor, mask: torch.Tensor, align_corners: bool = False
) -> torch.Tensor:
    """Eq. 5: ``x'_i = T(phi_i, x_enc_i) * m_i`` (Hadamard product with the mask)."""
    return warp(x_enc, flow, align_corners) * mask


class UpConv(nn.Module):
    """G_r's layer (appendix A: "UpConv, Conv1x1 + Upsample"): Eq. 6.

    ``o_i = f(x'_i) + g(o_{i-1})``: ``f`` is a 1x1 conv with bias and leaky ReLU plus an
    output bias, ``g`` the FIR 2x upsampling.
    """

    def __init__(self, in_channels: int, blur_kernel: Sequence[float] = BLUR):
        super().__init__()
        self.upsample = Upsample(blur_kernel)
        self.conv = ConvLayer(in_channels, 3, 1)
        self.bias = nn.Parameter(torch.zeros(1, 3, 1, 1))

    def forward(self, x: torch.Tensor, skip: torch.Tensor | None = None) -> torch.Tensor:
        out = self.conv(x) + self.bias.to(x.dtype)
        return out if skip is None else out + self.upsample(skip)


class GBlock(nn.Module):
    """One G block (Fig. 8b): StyleConv up + StyleConv (G_f), flow/mask, warp, UpConv (G_r).

    The flow head (a 1x1 modulated conv, styled by ``z_{s->d}``, plus the upsampled head output
    of the previous block) outputs 3 channels: ``phi_i = tanh(.[:2])`` and ``m_i = sigmoid(.[2])``.
    The masked warped features ``x'_i`` (Eq. 5) feed G_r (Eq. 6) and replace the masked part of
    G_f's features: ``h <- x'_i + h * (1 - m_i)``.
    """

    def __init__(self, in_channels: int, out_channels: int, style_dim: int, align_corners: bool = False):
        super().__init__()
        self.align_corners = align_corners
        self.conv_up = StyledConv(in_channels, out_channels, 3, style_dim, upsample=True)
        self.conv = StyledConv(out_channels, out_channels, 3, style_dim)
        self.to_flow = ToRGB(out_channels, style_dim, upsample=True, out_channels=3)
        self.to_rgb = UpConv(out_channels)

    def forward(self, h, z, x_enc, flow_skip=None, rgb_skip=None):
        """``-> (h, head output (pre-activation flow/mask), o_i, phi_i, m_i)``."""
        h = self.conv(self.conv_up(h, z), z)
        head = self.to_flow(h, z, flow_skip)
        flow, mask = torch.tanh(head[:, :2]), torch.sigmoid(head[:, 2:])
        x_prime = masked_warp(x_enc, flow, mask, self.align_corners)
        return x_prime + h * (1 - mask), head, self.to_rgb(x_prime, rgb_skip), flow, mask


class FlowGenerator(nn.Module):
    """G (section 3.2, appendix A): a constant 4x4 input and StyleConv, then one G block per
    doubling of the resolution (6 blocks from 8x8 to 256x256), every layer styled by ``z_{s->d}``.

    ``forward(z, x_enc)`` returns ``x_{s->d} = o_N`` (Eq. 6); with ``return_flows`` also the
    flow fields ``phi_i`` and masks ``m_i`` of every block (low to high resolution).
    No noise is injected (the noise strengths exist for checkpoint compatibility and are frozen).
    """

    def __init__(
        self,
        resolution: int = 256,
        style_dim: int = 512,
        channel_base: int = 16384,
        channel_max: int = 512,
        align_corners: bool = False,
    ):
        super().__init__()
        ch = stylegan2_channels(resolution, channel_base, channel_max)
        if resolution < 8:
            raise ValueError(f"resolution must be at least 8, got {resolution}")
        self.resolution = resolution
        self.input = ConstantInput(ch[4])
        self.conv1 = StyledConv(ch[4], ch[4], 3, style_dim)
        self.blocks = nn.ModuleList(GBlock(ch[res // 2], ch[res], style_dim, align_corners) for res in sorted(ch)[1:])
        for module in self.modules():
            if isinstance(module, NoiseInjection):
                module.requires_grad_(False)

    @property
    def num_blocks(self) -> int:
        return len(self.blocks)

    def forward(self, z: torch.Tensor, x_enc: Sequence[torch.Tensor], return_flows: bool = False):
        if len(x_enc) != self.num_blocks:
            raise ValueError(
                f"FlowGenerator: expected {self.num_blocks} appearance feature maps "
                f"(8x8 to {self.resolution}x{self.resolution}), got {len(x_enc)}"
            )
        h = self.conv1(self.input(z.shape[0]), z)
        head = rgb = None
        flows, masks = [], []
        for block, feat in zip(self.blocks, x_enc, strict=True):
            h, head, rgb, flow, mask = block(h, z, feat, head, rgb)
            flows.append(flow)
            masks.append(mask)
        return (rgb, flows, masks) if return_flows else rgb
