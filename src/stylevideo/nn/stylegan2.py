"""StyleGAN2 generator and discriminator in pure PyTorch (Karras et al., CVPR 2020).

One implementation serves 32x32 test models and 1024x1024 checkpoints: channels per
resolution are ``min(channel_base // res, channel_max)`` (config-f: 32768 / 512, the
rosinality ``channel_multiplier=2``). The generator takes ``z`` (through the mapping
network), ``w`` (one vector, broadcast to every layer) or ``w+`` (one vector per layer).
Module names inside the synthesis network follow the rosinality layout, so
:func:`load_rosinality_checkpoint` only renames the mapping network.

What the released StyleGAN2-ADA networks need is here too (Karras et al., NeurIPS 2020, and
their stylegan2-ada-pytorch ``training/networks.py``): ``conv_clamp`` (activations clamped to
``+-256``), label conditioning ``c`` (an embedding concatenated to ``z`` in the mapping
network; D projects its output on a mapped ``c``), and non-square images
(``aspect_ratio`` = width / height: StyleGAN-Human's 1024x512 starts from a 4x2 constant).
:func:`load_generator` / :func:`load_discriminator` read rosinality ``.pt``, NVlabs ``.pkl``
(without executing them, :mod:`stylevideo.nn.nvlabs_pickle`) and stylevideo checkpoints.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from stylevideo.nn.layers import (
    Blur,
    ConvLayer,
    EqualLinear,
    FusedLeakyReLU,
    PixelNorm,
    ResBlock,
    Upsample,
)

__all__ = [
    "ConstantInput",
    "Discriminator",
    "Generator",
    "MappingNetwork",
    "ModulatedConv2d",
    "NoiseInjection",
    "NoiseMode",
    "StyledConv",
    "SynthesisNetwork",
    "ToRGB",
    "base_width",
    "load_discriminator",
    "load_generator",
    "minibatch_stddev",
    "stylegan2_channels",
]

NoiseMode = Literal["random", "const", "none"]
BLUR = (1, 3, 3, 1)


def stylegan2_channels(resolution: int, channel_base: int = 32768, channel_max: int = 512) -> dict[int, int]:
    """Channels at each resolution 4..``resolution``: ``min(channel_base // res, channel_max)``."""
    log2 = int(math.log2(resolution))
    if 2**log2 != resolution or resolution < 4:
        raise ValueError(f"resolution must be a power of two >= 4, got {resolution}")
    return {2**i: min(channel_base // 2**i, channel_max) for i in range(2, log2 + 1)}


def base_width(aspect_ratio: float) -> int:
    """Width of the 4-pixel-high first block for ``aspect_ratio`` = width / height (1: 4, 0.5: 2)."""
    width = 4 * aspect_ratio
    if width < 1 or width != int(width):
        raise ValueError(f"aspect_ratio * 4 must be a positive integer (4 x W first block), got {aspect_ratio}")
    return int(width)


class ModulatedConv2d(nn.Module):
    """Modulated convolution with weight demodulation (StyleGAN2 Eq. 1-3).

    The per-sample weights ``w'_ijk = s_i w_ijk`` (Eq. 1), demodulated by
    ``1/sqrt(sum_ik w'^2 + eps)`` (Eq. 3), run as ONE grouped convolution with the batch
    folded into the groups. Where those weights outnumber the input and output activations
    (the wide low-resolution layers), the same product is computed by scaling the activations
    instead: input channels by ``s_i``, the shared weights, output channels by the
    demodulation factor (NVlabs' ``fused_modconv=False``), which builds no per-sample weights.
    The modulation and demodulation are computed in float32 (stable under autocast);
    ``upsample`` uses a stride-2 transposed convolution + blur.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        style_dim: int,
        demodulate: bool = True,
        upsample: bool = False,
        blur_kernel: Sequence[float] = BLUR,
    ):
        super().__init__()
        self.in_channels, self.out_channels, self.kernel_size = in_channels, out_channels, kernel_size
        self.demodulate, self.upsample = demodulate, upsample
        self.scale = 1 / math.sqrt(in_channels * kernel_size**2)
        self.weight = nn.Parameter(torch.randn(1, out_channels, in_channels, kernel_size, kernel_size))
        self.modulation = EqualLinear(style_dim, in_channels, bias_init=1.0)
        if upsample:
            p = (len(blur_kernel) - 2) - (kernel_size - 1)
            self.blur = Blur(blur_kernel, pad=((p + 1) // 2 + 1, p // 2 + 1), upsample_factor=2)

    def modulated_weight(self, style: torch.Tensor) -> torch.Tensor:
        """Per-sample weights ``[B, out, in, k, k]`` in float32 (Eq. 1 and 3)."""
        s = self.modulation(style).float()
        weight = self.scale * self.weight.float() * s[:, None, :, None, None]
        if self.demodulate:
            weight = weight * torch.rsqrt(weight.pow(2).sum(dim=(2, 3, 4), keepdim=True) + 1e-8)
        return weight

    def modulates_activations(self, x: torch.Tensor) -> bool:
        """Whether :meth:`forward` scales the activations of ``x`` rather than the weights.

        It does when a sample's weights ``[out, in, k, k]`` outnumber ``(in + out) H W`` (``H x W``
        the input size): the wide low-resolution layers, where building per-sample weights and
        the grouped convolution cost more than scaling the maps (measured on the CPU). Never in
        reduced precision (16-bit inputs or autocast): the scaled maps would be rounded twice
        more than the weights, which are modulated in float32, and float16's range could be exceeded.
        """
        if x.dtype in (torch.float16, torch.bfloat16) or torch.is_autocast_enabled(x.device.type):
            return False
        _, c, h, w = x.shape
        o = self.out_channels
        return o * c * self.kernel_size**2 > (c + o) * h * w

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        if self.modulates_activations(x):
            return self.forward_modulated_activations(x, style)
        return self.forward_modulated_weights(x, style)

    def forward_modulated_activations(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        """``conv(x * s, w) * d``: Eq. 1-3 without per-sample weights."""
        s = self.modulation(style).float() * self.scale  # [B, in], the equalized-lr scale folded in
        weight = self.weight[0]
        x = x * s.to(x.dtype)[:, :, None, None]
        if self.upsample:
            out = self.blur(F.conv_transpose2d(x, weight.transpose(0, 1), stride=2))
        else:
            out = F.conv2d(x, weight, padding=self.kernel_size // 2)
        if not self.demodulate:
            return out
        demod = torch.rsqrt(s.square() @ weight.float().square().sum(dim=(2, 3)).T + 1e-8)  # [B, out]
        return out * demod.to(out.dtype)[:, :, None, None]

    def forward_modulated_weights(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        """One grouped convolution with the per-sample weights of :meth:`modulated_weight`."""
        b, c, h, w = x.shape
        k, o = self.kernel_size, self.out_channels
        weight = self.modulated_weight(style).to(x.dtype)
        x = x.reshape(1, b * c, h, w)
        if self.upsample:
            weight = weight.transpose(1, 2).reshape(b * c, o, k, k)
            out = F.conv_transpose2d(x, weight, stride=2, groups=b)
            return self.blur(out.view(b, o, *out.shape[2:]))
        out = F.conv2d(x, weight.reshape(b * o, c, k, k), padding=k // 2, groups=b)
        return out.view(b, o, *out.shape[2:])

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"demodulate={self.demodulate}, upsample={self.upsample}"
        )


class NoiseInjection(nn.Module):
    """Adds per-pixel noise scaled by a learned strength (``B`` in StyleGAN's Fig. 1)."""

    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor, noise: torch.Tensor | None) -> torch.Tensor:
        return x if noise is None else x + self.weight * noise.to(x.dtype)


class ConstantInput(nn.Module):
    """The learned 4x4 constant (``4 x width`` for non-square images) the synthesis network starts from."""

    def __init__(self, channels: int, size: int = 4, width: int | None = None):
        super().__init__()
        self.input = nn.Parameter(torch.randn(1, channels, size, size if width is None else width))

    def forward(self, batch: int) -> torch.Tensor:
        return self.input.expand(batch, -1, -1, -1)


class StyledConv(nn.Module):
    """Modulated conv -> noise -> bias + leaky ReLU [-> clamp to ``+-conv_clamp``]."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        style_dim: int,
        upsample: bool = False,
        blur_kernel: Sequence[float] = BLUR,
        demodulate: bool = True,
        conv_clamp: float | None = None,
    ):
        super().__init__()
        self.conv = ModulatedConv2d(
            in_channels,
            out_channels,
            kernel_size,
            style_dim,
            demodulate=demodulate,
            upsample=upsample,
            blur_kernel=blur_kernel,
        )
        self.noise = NoiseInjection()
        self.activate = FusedLeakyReLU(out_channels, clamp=conv_clamp)

    def forward(self, x: torch.Tensor, style: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
        return self.activate(self.noise(self.conv(x, style), noise))


class ToRGB(nn.Module):
    """1x1 modulated conv (no demodulation) to RGB [clamped to ``+-conv_clamp``], added to the
    upsampled skip image."""

    def __init__(
        self,
        in_channels: int,
        style_dim: int,
        upsample: bool = True,
        blur_kernel: Sequence[float] = BLUR,
        out_channels: int = 3,
        conv_clamp: float | None = None,
    ):
        super().__init__()
        if upsample:
            self.upsample = Upsample(blur_kernel)
        self.conv = ModulatedConv2d(in_channels, out_channels, 1, style_dim, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(1, out_channels, 1, 1))
        self.conv_clamp = conv_clamp

    def forward(self, x: torch.Tensor, style: torch.Tensor, skip: torch.Tensor | None = None) -> torch.Tensor:
        out = self.conv(x, style) + self.bias.to(x.dtype)
        if self.conv_clamp is not None:
            out = out.clamp(-self.conv_clamp, self.conv_clamp)
        return out if skip is None else out + self.upsample(skip)


class MappingNetwork(nn.Module):
    """``f: Z -> W``: pixel norm, then ``num_layers`` equalized FC layers with lr multiplier 0.01.

    With ``c_dim > 0`` the label ``c`` is embedded (an equalized linear layer to
    ``embed_features``, default ``w_dim``), pixel-normed and concatenated after the normed
    ``z`` (StyleGAN2-ADA's conditioning; ``z_dim = 0``: the label alone, as in its D).
    """

    def __init__(
        self,
        z_dim: int = 512,
        w_dim: int = 512,
        num_layers: int = 8,
        lr_mul: float = 0.01,
        c_dim: int = 0,
        embed_features: int | None = None,
    ):
        super().__init__()
        embed_features = (w_dim if embed_features is None else embed_features) if c_dim else 0
        if z_dim + embed_features == 0:
            raise ValueError("the mapping network needs z_dim > 0 or c_dim > 0")
        self.z_dim, self.c_dim = z_dim, c_dim
        self.embed = EqualLinear(c_dim, embed_features) if c_dim else None
        dims = [z_dim + embed_features] + [w_dim] * num_layers
        self.layers = nn.Sequential(
            PixelNorm(),
            *(
                EqualLinear(i, o, lr_mul=lr_mul, activation="fused_lrelu")
                for i, o in zip(dims[:-1], dims[1:], strict=True)
            ),
        )

    def forward(self, z: torch.Tensor | None, c: torch.Tensor | None = None) -> torch.Tensor:
        if self.embed is None:
            return self.layers(z)
        if c is None or c.shape[-1] != self.c_dim:
            raise ValueError(f"this mapping network is conditional: pass c [B, {self.c_dim}]")
        y = self.layers[0](self.embed(c.float()))
        x = y if self.z_dim == 0 else torch.cat([self.layers[0](z), y.to(z.dtype)], dim=1)
        for layer in self.layers[1:]:
            x = layer(x)
        return x


class SynthesisNetwork(nn.Module):
    """``g: W+ -> image``: constant input, two styled convs per resolution, skip ToRGBs.

    ``ws`` is ``[B, num_ws, w_dim]`` (W+) or ``[B, w_dim]`` (W, used for every layer).
    Noise modes: ``random`` draws fresh noise each call, ``const`` uses the network's
    fixed noise buffers (identical for every call and every frame), ``none`` adds none.
    An explicit ``noise`` list (one broadcastable tensor per layer) overrides the mode.
    Images are ``resolution x resolution * aspect_ratio`` (height x width); ``conv_clamp``
    clamps every convolution's output (StyleGAN2-ADA). ``channels`` (``{resolution: width}``
    for 4..``resolution``) replaces the width rule of ``channel_base``/``channel_max`` (e.g.
    the onestyle authors' own table).
    """

    def __init__(
        self,
        resolution: int = 256,
        w_dim: int = 512,
        channel_base: int = 32768,
        channel_max: int = 512,
        blur_kernel: Sequence[float] = BLUR,
        out_channels: int = 3,
        aspect_ratio: float = 1.0,
        conv_clamp: float | None = None,
        channels: Mapping[int, int] | None = None,
    ):
        super().__init__()
        self.resolution, self.w_dim, self.aspect_ratio = resolution, w_dim, aspect_ratio
        ch = stylegan2_channels(resolution, channel_base, channel_max)
        if channels is not None:
            if missing := sorted(set(ch) - set(channels)):
                raise ValueError(f"channels must give a width for every resolution in {sorted(ch)}; missing {missing}")
            ch = {res: int(channels[res]) for res in ch}
        width = base_width(aspect_ratio)
        self.log_size = int(math.log2(resolution))
        self.num_ws = self.log_size * 2 - 2
        self.num_layers = (self.log_size - 2) * 2 + 1
        self.input = ConstantInput(ch[4], 4, width)
        styled = dict(blur_kernel=blur_kernel, conv_clamp=conv_clamp)
        rgb = dict(blur_kernel=blur_kernel, out_channels=out_channels, conv_clamp=conv_clamp)
        self.conv1 = StyledConv(ch[4], ch[4], 3, w_dim, **styled)
        self.to_rgb1 = ToRGB(ch[4], w_dim, upsample=False, **rgb)
        self.convs, self.to_rgbs = nn.ModuleList(), nn.ModuleList()
        self.noises = nn.Module()
        for i in range(self.num_layers):
            scale = 2 ** ((i + 1) // 2)
            self.noises.register_buffer(f"noise_{i}", torch.randn(1, 1, 4 * scale, width * scale))
        for res in range(3, self.log_size + 1):
            c_in, c_out = ch[2 ** (res - 1)], ch[2**res]
            self.convs.append(StyledConv(c_in, c_out, 3, w_dim, upsample=True, **styled))
            self.convs.append(StyledConv(c_out, c_out, 3, w_dim, **styled))
            self.to_rgbs.append(ToRGB(c_out, w_dim, **rgb))

    def make_noise(self, batch: int, mode: NoiseMode, device=None) -> list[torch.Tensor | None]:
        """Per-layer noise for a mode: fresh ``[B,1,h,w]``, the const buffers, or None."""
        buffers = [getattr(self.noises, f"noise_{i}") for i in range(self.num_layers)]
        if mode == "const":
            return buffers
        if mode == "none":
            return [None] * self.num_layers
        if mode == "random":
            return [torch.randn(batch, 1, *b.shape[2:], device=device or b.device) for b in buffers]
        raise ValueError(f"noise_mode must be 'random', 'const' or 'none', got {mode!r}")

    def forward(
        self, ws: torch.Tensor, noise_mode: NoiseMode = "random", noise: Sequence[torch.Tensor | None] | None = None
    ) -> torch.Tensor:
        if ws.ndim == 2:
            ws = ws[:, None].expand(-1, self.num_ws, -1)
        if ws.shape[1] != self.num_ws:
            raise ValueError(f"expected {self.num_ws} style vectors (W+), got ws of shape {tuple(ws.shape)}")
        b = ws.shape[0]
        noise = list(noise) if noise is not None else self.make_noise(b, noise_mode, ws.device)
        x = self.conv1(self.input(b), ws[:, 0], noise[0])
        skip = self.to_rgb1(x, ws[:, 1])
        for j, to_rgb in enumerate(self.to_rgbs):
            i = 2 * j + 1
            x = self.convs[2 * j](x, ws[:, i], noise[i])
            x = self.convs[2 * j + 1](x, ws[:, i + 1], noise[i + 1])
            skip = to_rgb(x, ws[:, i + 2], skip)
        return skip


class Generator(nn.Module):
    """Mapping + synthesis, a tracked ``w_avg`` for truncation, style mixing for training.

    ``c_dim``: label size of a conditional generator (``G(z, c=...)``); ``aspect_ratio``,
    ``conv_clamp``: see :class:`SynthesisNetwork`. ``arch`` holds the constructor arguments
    that define the architecture (a checkpoint rebuilds it from them).
    """

    def __init__(
        self,
        resolution: int = 256,
        z_dim: int = 512,
        w_dim: int = 512,
        mapping_layers: int = 8,
        channel_base: int = 32768,
        channel_max: int = 512,
        lr_mlp: float = 0.01,
        w_avg_beta: float = 0.995,
        noise_mode: NoiseMode = "random",
        blur_kernel: Sequence[float] = BLUR,
        c_dim: int = 0,
        aspect_ratio: float = 1.0,
        conv_clamp: float | None = None,
    ):
        super().__init__()
        self.z_dim, self.w_dim, self.resolution, self.c_dim = z_dim, w_dim, resolution, c_dim
        self.w_avg_beta, self.noise_mode = w_avg_beta, noise_mode
        self.arch = dict(
            resolution=resolution,
            z_dim=z_dim,
            w_dim=w_dim,
            mapping_layers=mapping_layers,
            channel_base=channel_base,
            channel_max=channel_max,
            lr_mlp=lr_mlp,
            c_dim=c_dim,
            aspect_ratio=aspect_ratio,
            conv_clamp=conv_clamp,
        )
        self.mapping = MappingNetwork(z_dim, w_dim, mapping_layers, lr_mlp, c_dim)
        self.synthesis = SynthesisNetwork(
            resolution, w_dim, channel_base, channel_max, blur_kernel, aspect_ratio=aspect_ratio, conv_clamp=conv_clamp
        )
        self.register_buffer("w_avg", torch.zeros(w_dim))

    @property
    def num_ws(self) -> int:
        return self.synthesis.num_ws

    def truncate(self, ws: torch.Tensor, psi: float = 1.0, cutoff: int | None = None) -> torch.Tensor:
        """Truncation trick ``w_avg + psi (w - w_avg)`` on the first ``cutoff`` layers (all if None)."""
        if psi == 1.0:
            return ws
        w_avg = self.w_avg.to(ws.dtype)
        truncated = w_avg.lerp(ws, psi)
        if cutoff is None or ws.ndim == 2:
            return truncated
        return torch.cat([truncated[:, :cutoff], ws[:, cutoff:]], dim=1)

    def map(
        self,
        z: torch.Tensor,
        psi: float = 1.0,
        cutoff: int | None = None,
        update_w_avg: bool = False,
        c: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``z [B, z_dim] (, c [B, c_dim]) -> ws [B, num_ws, w_dim]``; optionally tracks ``w_avg`` (EMA of w)."""
        w = self.mapping(z, c)
        if update_w_avg:
            with torch.no_grad():
                self.w_avg.copy_(w.detach().float().mean(0).lerp(self.w_avg, self.w_avg_beta))
        return self.truncate(w[:, None].expand(-1, self.num_ws, -1), psi, cutoff)

    def mix_styles(self, ws: torch.Tensor, prob: float, c: torch.Tensor | None = None) -> torch.Tensor:
        """Style mixing regularisation: with probability ``prob``, layers from a random
        crossover point on take the styles of a second z (same label; one crossover per batch)."""
        if prob <= 0 or torch.rand(()) >= prob:
            return ws
        cutoff = int(torch.randint(1, self.num_ws, ()))
        ws2 = self.map(torch.randn(ws.shape[0], self.z_dim, device=ws.device), c=c)
        return torch.cat([ws[:, :cutoff], ws2[:, cutoff:]], dim=1)

    def forward(
        self,
        z: torch.Tensor,
        psi: float = 1.0,
        cutoff: int | None = None,
        noise_mode: NoiseMode | None = None,
        mixing_prob: float = 0.0,
        return_ws: bool = False,
        c: torch.Tensor | None = None,
    ):
        ws = self.mix_styles(self.map(z, psi, cutoff, update_w_avg=self.training, c=c), mixing_prob, c)
        img = self.synthesis(ws, noise_mode or self.noise_mode)
        return (img, ws) if return_ws else img

    @torch.no_grad()
    def mean_latent(self, n: int = 4096) -> torch.Tensor:
        """Average w over ``n`` random z (when a checkpoint carries no ``latent_avg``)."""
        return self.mapping(torch.randn(n, self.z_dim, device=self.w_avg.device)).mean(0)


def minibatch_stddev(x: torch.Tensor, group_size: int | None = 4, num_channels: int = 1) -> torch.Tensor:
    """Append the minibatch standard deviation feature (Karras et al. 2018, section 3).

    Samples ``i, i + B/G, ...`` form a group of ``G`` (the largest divisor of the batch
    not above ``group_size``; None: the whole batch); the std over each group, averaged over
    features and pixels, is appended as ``num_channels`` extra channels.
    """
    b, c, h, w = x.shape
    group_size = b if group_size is None else group_size
    g = max(d for d in range(1, min(group_size, b) + 1) if b % d == 0)
    y = x.float().view(g, -1, num_channels, c // num_channels, h, w)
    y = torch.sqrt(y.var(0, unbiased=False) + 1e-8).mean(dim=(2, 3, 4))  # [B/G, num_channels]
    y = y[:, :, None, None].repeat(g, 1, h, w).to(x.dtype)
    return torch.cat([x, y], dim=1)


class Discriminator(nn.Module):
    """Residual StyleGAN2 discriminator with minibatch standard deviation.

    ``features(x, resolution)`` runs the trunk down to a resolution (methods that fuse
    per-frame features reuse it); ``head(features)`` is the 4x4 epilogue. Inputs are
    ``resolution x resolution * aspect_ratio``; ``conv_clamp`` clamps the activations of the
    convolutions (not the skips). With ``c_dim > 0`` (StyleGAN2-ADA's projection
    discriminator) the epilogue outputs ``cmap_dim`` features (default: the 4x4 width) and the
    logit is ``<features, mapping(c)> / sqrt(cmap_dim)``, ``mapping`` a
    :class:`MappingNetwork` of the label alone (``mapping_layers`` layers).
    """

    def __init__(
        self,
        resolution: int = 256,
        channel_base: int = 32768,
        channel_max: int = 512,
        in_channels: int = 3,
        mbstd_group: int | None = 4,
        mbstd_channels: int = 1,
        blur_kernel: Sequence[float] = BLUR,
        aspect_ratio: float = 1.0,
        conv_clamp: float | None = None,
        c_dim: int = 0,
        cmap_dim: int | None = None,
        mapping_layers: int = 8,
    ):
        super().__init__()
        ch = stylegan2_channels(resolution, channel_base, channel_max)
        self.resolution, self.mbstd_group, self.mbstd_channels = resolution, mbstd_group, mbstd_channels
        self.aspect_ratio, self.c_dim = aspect_ratio, c_dim
        convs: list[nn.Module] = [ConvLayer(in_channels, ch[resolution], 1, clamp=conv_clamp)]
        res = resolution
        while res > 4:
            convs.append(ResBlock(ch[res], ch[res // 2], blur_kernel, clamp=conv_clamp))
            res //= 2
        self.convs = nn.Sequential(*convs)
        self.final_conv = ConvLayer(ch[4] + mbstd_channels, ch[4], 3, clamp=conv_clamp)
        self.cmap_dim = (ch[4] if cmap_dim is None else cmap_dim) if c_dim else 0
        self.final_linear = nn.Sequential(
            EqualLinear(ch[4] * 4 * base_width(aspect_ratio), ch[4], activation="fused_lrelu"),
            EqualLinear(ch[4], self.cmap_dim or 1),
        )
        self.mapping = MappingNetwork(0, self.cmap_dim, mapping_layers, c_dim=c_dim) if c_dim else None

    def features(self, x: torch.Tensor, resolution: int = 4) -> torch.Tensor:
        """Trunk activations at height ``resolution`` (a power of two between 4 and the input height)."""
        x = self.convs[0](x)
        for block in self.convs[1:]:
            if x.shape[-2] <= resolution:
                break
            x = block(x)
        return x

    def head(self, features: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        """Minibatch std, 3x3 conv and two FC layers on 4x4 features -> one logit per sample."""
        x = minibatch_stddev(features, self.mbstd_group, self.mbstd_channels)
        out = self.final_linear(self.final_conv(x).flatten(1))
        if self.mapping is None:
            return out
        return (out * self.mapping(None, c)).sum(dim=1, keepdim=True) / math.sqrt(self.cmap_dim)

    def forward(self, x: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        return self.head(self.features(x), c)


# The file formats are read in stylevideo.nn.stylegan2_checkpoints, which builds this module's
# networks; these entry points import it when called.


def load_generator(path: str | os.PathLike, key: str | None = None) -> tuple[Generator, torch.Tensor]:
    """A released or trained StyleGAN2 generator -> ``(generator in eval mode, w_avg)``.

    Reads a rosinality ``.pt`` (``key`` default ``g_ema``), an NVlabs ``.pkl`` (``G_ema``; read
    without executing anything) or a stylevideo Lightning checkpoint (``G_ema``). Noise mode
    ``const``: ``generator(z, c=c)`` reproduces NVlabs' ``G_ema(z, c, noise_mode='const')``,
    ``generator(z, psi=psi, c=c)`` its truncation around the file's ``w_avg``.
    """
    from stylevideo.nn import stylegan2_checkpoints

    return stylegan2_checkpoints.load_generator(path, key)


def load_discriminator(path: str | os.PathLike, key: str | None = None) -> Discriminator:
    """The discriminator of a rosinality ``.pt`` (``d``), NVlabs ``.pkl`` (``D``) or stylevideo
    checkpoint (``D``), in eval mode: ``D(img, c)`` reproduces NVlabs' ``D(img, c)``."""
    from stylevideo.nn import stylegan2_checkpoints

    return stylegan2_checkpoints.load_discriminator(path, key)
