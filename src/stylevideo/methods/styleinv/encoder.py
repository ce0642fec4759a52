"""The StyleInV motion generator (section 3.2, Fig. 3, Eq. 2, appendix F).

``w_t = StyleInV(w0, t) = E(G(w0), s_t) + w0`` (Eq. 2): the inversion encoder E of
stage 2 (a pSp IR-SE50 backbone into W) with an AdaIN residual block (StarGAN-v2,
residual connection and variance normalisation) after each of its four stages, driven by
the temporal style ``s_t = FC(FC([w0, v_t]))`` where ``v_t`` is the FFA-APE code of time
``t`` (:class:`~stylevideo.nn.positional.AcyclicPositionalEncoding`). E's output is the
residual with respect to ``w0`` (not ``w_avg`` as in Eq. 1).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import torch
from einops import rearrange
from torch import Tensor, nn

from stylevideo.nn.irse import WIDTHS, IRSEBackbone
from stylevideo.nn.layers import EqualLinear
from stylevideo.nn.positional import AcyclicPositionalEncoding

__all__ = ["AdaIN", "AdaINResBlock", "ModulatedInversionEncoder", "StyleInVNet", "TemporalStyle"]


class AdaIN(nn.Module):
    """``AdaIN(x, s) = (1 + gamma(s)) * IN(x) + beta(s)`` with ``[gamma, beta]`` an affine map
    ("A" in Fig. 3) of the style (StarGAN-v2)."""

    def __init__(self, style_dim: int, channels: int, lr_mul: float = 1.0):
        super().__init__()
        self.norm = nn.InstanceNorm2d(channels, affine=False)
        self.fc = EqualLinear(style_dim, 2 * channels, lr_mul=lr_mul)

    def forward(self, x: Tensor, s: Tensor) -> Tensor:
        gamma, beta = self.fc(s)[..., None, None].chunk(2, dim=1)
        return (1 + gamma) * self.norm(x) + beta


class AdaINResBlock(nn.Module):
    """StarGAN-v2's ``AdainResBlk`` without resampling:
    ``out = x + conv2(lrelu(AdaIN(conv1(lrelu(AdaIN(x, s))), s)))``, divided by ``sqrt(2)``
    when ``normalize`` (variance normalisation, appendix F). Convs are He-initialised."""

    def __init__(self, channels: int, style_dim: int, normalize: bool = True, lr_mul: float = 1.0):
        super().__init__()
        self.norm1, self.norm2 = (
            AdaIN(style_dim, channels, lr_mul),
            AdaIN(style_dim, channels, lr_mul),
        )
        self.conv1 = nn.Conv2d(channels, channels, 3, 1, 1)
        self.conv2 = nn.Conv2d(channels, channels, 3, 1, 1)
        self.actv = nn.LeakyReLU(0.2)
        self.normalize = normalize
        for conv in (self.conv1, self.conv2):
            nn.init.kaiming_normal_(conv.weight, mode="fan_in", nonlinearity="relu")
            nn.init.zeros_(conv.bias)

    def forward(self, x: Tensor, s: Tensor) -> Tensor:
        h = self.conv1(self.actv(self.norm1(x, s)))
        out = x + self.conv2(self.actv(self.norm2(h, s)))
        return out / math.sqrt(2) if self.normalize else out


class ModulatedInversionEncoder(nn.Module):
    """``E(x, s_t)``: IR-SE backbone, an :class:`AdaINResBlock` after each stage, global average
    pooling and ``EqualLinear(widths[-1], w_dim)`` (Fig. 3 right).

    ``forward(x [B, 3, H, W], s [B, T, style_dim]) -> [B, T, w_dim]``: one image per video and
    T styles. The stem and the first stage see no style, so they run once per video and
    their output is repeated over T (exactly what running all B*T copies would give, batch
    statistics included). Weights and feature maps are channels-last (NHWC), the convolution
    libraries' native layout: with the discriminator's in NHWC too, the StyleInV step at 256x256
    took 0.857-0.876x the time of NCHW on the CPU (docs/benchmarks.md).
    """

    def __init__(
        self,
        w_dim: int = 512,
        style_dim: int = 512,
        num_layers: int = 50,
        mode: str = "ir_se",
        widths: Sequence[int] = WIDTHS,
        units: Sequence[int] | None = None,
        normalize_adain: bool = True,
        lr_mul: float = 1.0,
    ):
        super().__init__()
        backbone = IRSEBackbone(num_layers, mode, 3, widths, units)
        self.input_layer, self.body, self.stage_ends = (
            backbone.input_layer,
            backbone.body,
            backbone.stage_ends,
        )
        self.adains = nn.ModuleList(AdaINResBlock(c, style_dim, normalize_adain, lr_mul) for c in backbone.widths)
        self.output_pool = nn.AdaptiveAvgPool2d(1)
        self.linear = EqualLinear(backbone.out_channels, w_dim)
        self.to(memory_format=torch.channels_last)

    def forward(self, x: Tensor, s: Tensor) -> Tensor:
        b, t = s.shape[:2]
        s = rearrange(s, "b t d -> (b t) d")
        h = self.input_layer(x.contiguous(memory_format=torch.channels_last))
        first = self.stage_ends[0]
        for unit in self.body[: first + 1]:
            h = unit(h)
        h = h.repeat_interleave(t, dim=0).contiguous(memory_format=torch.channels_last)  # [(b t), C, H, W]
        stage = 0
        h = self.adains[0](h, s)
        for i in range(first + 1, len(self.body)):
            h = self.body[i](h)
            if i in self.stage_ends:
                stage += 1
                h = self.adains[stage](h, s)
        out = self.linear(self.output_pool(h).flatten(1))
        return rearrange(out, "(b t) d -> b t d", b=b, t=t)

    def load_inversion_encoder(self, state: Mapping[str, Tensor]) -> None:
        """Initialise from a stage-2 :class:`~stylevideo.nn.psp.PSPEncoderW` state dict: the
        backbone convolutions (with their BN/PReLU/SE) and the output linear layer, as the
        authors' code does; the AdaIN blocks keep their initialisation (section 3.2)."""
        own = self.state_dict()
        wanted = {k for k in own if not k.startswith("adains.")}
        missing = wanted - set(state)
        if missing:
            raise KeyError(
                f"the inversion encoder state lacks {sorted(missing)[:5]} "
                "(expected a pSp W encoder "
                "with the same backbone widths)"
            )
        shapes = [k for k in wanted if state[k].shape != own[k].shape]
        if shapes:
            raise ValueError(
                f"inversion encoder shapes differ at {shapes[:5]}: "
                f"{[tuple(state[k].shape) for k in shapes[:5]]} vs "
                f"{[tuple(own[k].shape) for k in shapes[:5]]}"
            )
        self.load_state_dict({k: state[k] for k in wanted}, strict=False)


class TemporalStyle(nn.Module):
    """``s_t = FC2(FC1([w0, v_t]))``: two equalized FC layers with leaky ReLU and learning-rate
    multiplier 0.01 over the concatenation of the initial latent and the motion code
    (appendix F)."""

    def __init__(self, w_dim: int = 512, v_dim: int = 512, style_dim: int = 512, lr_mul: float = 0.01):
        super().__init__()
        self.fc1 = EqualLinear(w_dim + v_dim, style_dim, lr_mul=lr_mul, activation="fused_lrelu")
        self.fc2 = EqualLinear(style_dim, style_dim, lr_mul=lr_mul, activation="fused_lrelu")

    def forward(self, w0: Tensor, v: Tensor) -> Tensor:
        x = torch.cat([w0[:, None].expand(-1, v.shape[1], -1), v], dim=-1)
        # EqualLinear's fused activation adds its bias along dim 1: run it on [(B T), D].
        return self.fc2(self.fc1(x.flatten(0, 1))).unflatten(0, x.shape[:2])


class StyleInVNet(nn.Module):
    """The motion generator: FFA-APE (or the original APE), the temporal style and the
    modulated inversion encoder.

    ``forward(x0, w0, t, z) -> (w_t, E)``: ``x0 = G(w0)`` ``[B, 3, H, W]``, ``w0 [B, w_dim]``,
    times ``t [B, T]`` (frames, fractional allowed), anchor noise ``z [B, N, z_dim]``; returns
    ``w_t = E + w0`` (Eq. 2) and the encoder output ``E`` ``[B, T, w_dim]`` (Eq. 5).
    ``use_encoder=False`` is Table 3's "w/o inversion encoder": ``w_t = s_t + w0``.
    """

    def __init__(
        self,
        w_dim: int = 512,
        z_dim: int = 512,
        v_dim: int = 512,
        delta_z: int = 16,
        kernel_size: int = 6,
        min_period: float | None = None,
        max_period: float | None = None,
        first_frame_aware: bool = True,
        use_encoder: bool = True,
        num_layers: int = 50,
        widths: Sequence[int] = WIDTHS,
        units: Sequence[int] | None = None,
        normalize_adain: bool = True,
    ):
        super().__init__()
        self.ape = AcyclicPositionalEncoding(
            z_dim, v_dim, delta_z, kernel_size, min_period, max_period, first_frame_aware
        )
        self.style = TemporalStyle(w_dim, v_dim, w_dim)
        self.encoder = (
            ModulatedInversionEncoder(w_dim, w_dim, num_layers, "ir_se", widths, units, normalize_adain)
            if use_encoder
            else None
        )

    def forward(self, x0: Tensor | None, w0: Tensor, t: Tensor, z: Tensor) -> tuple[Tensor, Tensor]:
        s = self.style(w0, self.ape(t, z))
        residual = self.encoder(x0, s) if self.encoder is not None else s
        return residual + w0[:, None], residual
