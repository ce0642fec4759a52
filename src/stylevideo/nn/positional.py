"""Acyclic positional encoding of time: StyleGAN-V's original APE and StyleInV's FFA-APE.

StyleGAN-V (Skorokhodov et al., CVPR 2022, section 3.1) and StyleInV (Wang et al.,
ICCV 2023, section 3.3 and Fig. 4). Noise vectors ``z^m`` sit at anchor points
``t_i = i * delta_z``; a motion mapping of two 1-D convolutions turns them into tokens
``u_{t_i}``; the code ``v_t`` of any (fractional) time ``t`` in ``[t_l, t_r)`` is a learned,
continuous interpolation between the tokens of the two anchors around it:

    raw(t')  = omega * p(u_l) * t' + phi(u_l) * s          (p = tanh(.) + 1: learned periods)
    pos(t')  = [sin raw(t'), cos raw(t')]
    v_t      = pos(t) - lerp(pos(t_l), pos(t_r), a) + lerp(A(u_l), A(u_r), a)
    a        = (t - t_l) / delta_z

so ``v_{t_i} = A(u_{t_i})`` at every anchor and ``v_t`` is continuous across anchors
(``omega``: frequencies with periods log-spaced in ``[min_period, max_period]`` frames,
``s = max_period * omega / 2 pi``; ``p``, ``phi``, ``A``: bias-free linear maps).

- Original APE (``first_frame_aware=False``): padding-less convolutions, so every token
  depends on noise vectors to its right and ``v_0`` changes with the sampled noise.
- FFA-APE (``first_frame_aware=True``): the first anchor's noise is replaced by a learned
  constant ``c_0^m`` and the convolutions are left-sided with constant (zero) left padding
  of ``kernel_size - 1`` (appendix F: kernel 6, padding 5, length kept), so ``u_0`` and
  hence ``v_0`` depend only on ``c_0^m`` and the padding: the same for every noise sequence.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from stylevideo.nn.layers import EqualLinear

__all__ = ["AcyclicPositionalEncoding", "EqualConv1d"]


class EqualConv1d(nn.Module):
    """1-D convolution with equalized learning rate and leaky ReLU (0.2); ``causal`` pads
    ``kernel_size - 1`` zeros on the left only (output length = input length), otherwise no
    padding (output shorter by ``kernel_size - 1``)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        causal: bool,
        lr_mul: float = 0.01,
    ):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size) / lr_mul)
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.scale = lr_mul / math.sqrt(in_channels * kernel_size)
        self.lr_mul, self.causal, self.kernel_size = lr_mul, causal, kernel_size

    def forward(self, x: Tensor) -> Tensor:
        if self.causal:
            x = F.pad(x, (self.kernel_size - 1, 0))
        return F.leaky_relu(F.conv1d(x, self.weight * self.scale, self.bias * self.lr_mul), 0.2)


class AcyclicPositionalEncoding(nn.Module):
    """``(t [B, T] frames, z [B, N, z_dim]) -> v_t [B, T, v_dim]`` (see the module docstring).

    Args:
        z_dim: size of the anchor noise vectors (appendix F: 512).
        v_dim: size of ``v_t`` (512); half of it are the sine/cosine frequencies.
        delta_z: frames between anchor points (StyleInV: 16 for faces, 128 for Sky/TaiChi).
        kernel_size: taps of the two motion-mapping convolutions (appendix F: 6).
        min_period, max_period: period range of the frequencies in frames (default:
            ``delta_z`` and ``8 * delta_z``; the authors use 16/128 and 32/1024).
        first_frame_aware: FFA-APE (True) or the original APE (False).
        lr_mul: learning-rate multiplier of the convolutions (0.01).
    """

    def __init__(
        self,
        z_dim: int = 512,
        v_dim: int = 512,
        delta_z: int = 16,
        kernel_size: int = 6,
        min_period: float | None = None,
        max_period: float | None = None,
        first_frame_aware: bool = True,
        lr_mul: float = 0.01,
    ):
        super().__init__()
        if v_dim % 2:
            raise ValueError(f"v_dim must be even (sine and cosine halves), got {v_dim}")
        if delta_z <= 0 or kernel_size < 1:
            raise ValueError(f"delta_z and kernel_size must be positive, got {delta_z}, {kernel_size}")
        self.z_dim, self.v_dim, self.delta_z, self.kernel_size = (
            z_dim,
            v_dim,
            float(delta_z),
            kernel_size,
        )
        self.first_frame_aware = first_frame_aware
        min_period = float(min_period if min_period is not None else delta_z)
        max_period = float(max_period if max_period is not None else 8 * delta_z)
        causal = first_frame_aware
        self.c0 = nn.Parameter(torch.randn(z_dim)) if first_frame_aware else None
        self.mapping = nn.Sequential(
            EqualConv1d(z_dim, z_dim, kernel_size, causal, lr_mul),
            EqualConv1d(z_dim, v_dim, kernel_size, causal, lr_mul),
        )
        n = v_dim // 2
        periods = 2 ** np.linspace(np.log2(min_period), np.log2(max_period), n)
        omega = torch.from_numpy(2 * np.pi / periods[::-1].copy()).float()
        self.register_buffer("omega", omega, persistent=False)
        self.register_buffer("phase_scale", max_period * omega / (2 * np.pi), persistent=False)
        self.periods_predictor = EqualLinear(v_dim, n, bias=False)
        self.phase_predictor = EqualLinear(v_dim, n, bias=False)
        self.aligners_predictor = EqualLinear(v_dim, v_dim, bias=False)

    @property
    def extra_noise(self) -> int:
        """Noise vectors the padding-less (original) mapping consumes beyond the tokens it makes."""
        return 0 if self.first_frame_aware else 2 * (self.kernel_size - 1)

    def num_noise(self, t_max: float) -> int:
        """Noise vectors ``N`` needed for times in ``[0, t_max]``: two anchors around the last."""
        return int(math.floor(t_max / self.delta_z)) + 2 + self.extra_noise

    def sample_noise(self, batch: int, t_max: float, generator: torch.Generator | None = None, device=None) -> Tensor:
        """``z^m ~ N(0, I)``: ``[batch, num_noise(t_max), z_dim]``."""
        device = device if device is not None else self.aligners_predictor.weight.device
        return torch.randn(batch, self.num_noise(t_max), self.z_dim, device=device, generator=generator)

    def tokens(self, z: Tensor) -> Tensor:
        """The anchor tokens ``u_{t_i}`` ``[B, N - extra_noise, v_dim]`` (FFA: ``z_0 := c_0^m``)."""
        if self.c0 is not None:
            z = torch.cat([self.c0.to(z.dtype).expand(z.shape[0], 1, -1), z[:, 1:]], dim=1)
        return self.mapping(z.transpose(1, 2)).transpose(1, 2)

    def _pos(self, t: Tensor, periods: Tensor, phases: Tensor) -> Tensor:
        # float64 phases: t reaches hours of frames (appendix A), where float32 loses the phase.
        raw = self.omega.double() * periods.double() * t.double()[..., None] + phases.double() * self.phase_scale
        return torch.cat([raw.sin(), raw.cos()], dim=-1).to(periods.dtype)

    def forward(self, t: Tensor, z: Tensor) -> Tensor:
        if t.ndim != 2 or z.ndim != 3 or z.shape[0] != t.shape[0] or z.shape[2] != self.z_dim:
            raise ValueError(f"expected t [B, T] and z [B, N, {self.z_dim}], got {tuple(t.shape)} and {tuple(z.shape)}")
        u = self.tokens(z)
        left = torch.floor(t / self.delta_z).long()
        if not self.training and (t.min() < 0 or int(left.max()) + 1 >= u.shape[1]):
            raise ValueError(
                f"times must lie in [0, {(u.shape[1] - 1) * self.delta_z}) for {z.shape[1]} noise "
                f"vectors (num_noise(t_max) gives enough), got [{float(t.min())}, {float(t.max())}]"
            )
        index = torch.stack([left, left + 1], dim=-1).flatten(1)  # [B, 2T]
        u_lr = torch.gather(u, 1, index[..., None].expand(-1, -1, u.shape[2])).unflatten(1, (-1, 2))
        u_l, u_r = u_lr.unbind(2)  # [B, T, v_dim] each
        t_l = left.to(t.dtype) * self.delta_z
        a = ((t - t_l) / self.delta_z)[..., None].to(u.dtype)
        periods = torch.tanh(self.periods_predictor(u_l)) + 1
        phases = self.phase_predictor(u_l)
        pos = self._pos(t, periods, phases)
        pos_l = self._pos(t_l, periods, phases)
        pos_r = self._pos(t_l + self.delta_z, periods, phases)
        return (
            pos
            - torch.lerp(pos_l, pos_r, a)
            + torch.lerp(self.aligners_predictor(u_l), self.aligners_predictor(u_r), a)
        )
