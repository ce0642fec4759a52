"""VidStyleODE's continuous dynamics (vidstyleode.txt section 3 "Continuous dynamics
representation", supplementary section 7 "Dynamic representation network f_D", Eq. 2 / 11).

- :class:`FrameEncoder` (f_D): a 2-D ResNet (after the Swapping Autoencoder's encoder) maps
  every frame ``M x N x 3`` to ``m_d x n_d x d_sp`` (128x128 -> 8x8x64, 128x96 -> 8x6x64);
  its residual blocks are the authors' (:class:`ReflectResBlock`: reflection padding, no blur).
- :class:`DynamicsEncoder`: the frame codes are read by a ConvGRU **in reverse order**, so the
  last state it produces belongs to the first frame; between two observations the state is
  advanced by one Euler step of an encoder ODE (Vid-ODE's ODE-ConvGRU, which the paper
  adapts). A 1x1 head gives ``z_d0`` (``m_ode x n_ode x d_ode``, ``d_ode`` = 512).
- :class:`LatentODE`: the autonomous ODE ``dz/dt = f_theta(z)`` (a convolutional ``f_theta``),
  solved from ``z_d0`` at t = 0 with torchdiffeq (dopri5, optionally the adjoint method) at
  any, possibly irregular, per-video timestamps (Eq. 11: ``z_dT = z_d0 + int_0^T f_theta``).

Time is in units of ``time_unit`` frames (the module scales it) and starts at the first
observed frame. The ODE parts run in float32 with autocast disabled (tolerances are float32).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn
from torchdiffeq import odeint, odeint_adjoint

from stylevideo.nn.convgru import ConvGRU
from stylevideo.nn.layers import ConvLayer, EqualConv2d, FusedLeakyReLU

__all__ = ["DynamicsEncoder", "FrameEncoder", "LatentODE", "ODEFunc", "ReflectResBlock"]


class ReflectResBlock(nn.Module):
    """f_D's downsampling block as the authors build it (``src/modules/image_encoder.py:78-87``:
    rosinality's ``ResBlock`` with ``blur_kernel=[1]`` and ``reflection_pad=True``,
    ``src/modules/stylegan2/model.py:583-662``): conv 3x3 on the reflection-padded input, then
    conv 3x3 with stride 2 on the input reflection-padded by one row and column at the top and
    left, each with a leaky ReLU; the skip is an unpadded stride-2 1x1 conv; no blur anywhere;
    ``(conv path + skip) / sqrt(2)``."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.conv1 = nn.Sequential(
            nn.ReflectionPad2d(1), EqualConv2d(in_channels, in_channels, 3, bias=False), FusedLeakyReLU(in_channels)
        )
        self.conv2 = nn.Sequential(
            nn.ReflectionPad2d((1, 0, 1, 0)),
            EqualConv2d(in_channels, out_channels, 3, stride=2, bias=False),
            FusedLeakyReLU(out_channels),
        )
        self.skip = EqualConv2d(in_channels, out_channels, 1, stride=2, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.conv2(self.conv1(x)) + self.skip(x)) / math.sqrt(2)


class FrameEncoder(nn.Module):
    """f_D: ``[N, 3, H, W] -> [N, d_sp, H / 2^downsamplings, W / 2^downsamplings]``.

    FromRGB (1x1) -> ``downsamplings`` :class:`ReflectResBlock` s (widths
    ``min(channel_base * 2^i, channel_max)``) -> two 1x1 layers to ``d_sp`` channels; every
    spatial code vector is L2-normalised, as in the Swapping Autoencoder. On the CPU the
    convolutions run channels-last (16 frames at 128 x 128, forward + backward: 0.60-0.64 ->
    0.54-0.55 s); the codes come back contiguous for the ConvGRU's 8 x 8 convolutions, which
    are slower channels-last.
    """

    def __init__(self, d_sp: int = 64, downsamplings: int = 4, channel_base: int = 32, channel_max: int = 512):
        super().__init__()
        widths = [min(channel_base * 2**i, channel_max) for i in range(downsamplings + 1)]
        self.from_rgb = ConvLayer(3, widths[0], 1)
        self.down = nn.Sequential(*(ReflectResBlock(widths[i], widths[i + 1]) for i in range(downsamplings)))
        self.to_code = nn.Sequential(
            ConvLayer(widths[-1], widths[-1], 1), ConvLayer(widths[-1], d_sp, 1, activate=False)
        )
        self.downsamplings = downsamplings

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.device.type == "cpu":
            x = x.contiguous(memory_format=torch.channels_last)
        return F.normalize(self.to_code(self.down(self.from_rgb(x))), dim=1, eps=1e-8).contiguous()


def _conv_net(channels: int, hidden: int, layers: int) -> nn.Sequential:
    """Vid-ODE's ODE network: conv3x3 -> [tanh, conv3x3] x layers -> tanh -> conv3x3."""
    modules: list[nn.Module] = [nn.Conv2d(channels, hidden, 3, padding=1)]
    for _ in range(layers):
        modules += [nn.Tanh(), nn.Conv2d(hidden, hidden, 3, padding=1)]
    modules += [nn.Tanh(), nn.Conv2d(hidden, channels, 3, padding=1)]
    return nn.Sequential(*modules)


class ODEFunc(nn.Module):
    """The autonomous vector field ``f_theta(z)`` (time is ignored: Eq. 2's ODE is autonomous)."""

    def __init__(self, channels: int = 512, hidden: int = 256, layers: int = 2):
        super().__init__()
        self.net = _conv_net(channels, hidden, layers)
        self.nfe = 0  # function evaluations of the last solve (a diagnostic)

    def forward(self, t: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        self.nfe += 1
        return self.net(z)


class LatentODE(nn.Module):
    """Eq. 11: ``z_d(t) = z_d0 + int_0^t f_theta(z_d) dt`` at per-video times ``t [B, Q] >= 0``.

    The videos of a batch share one solve over the sorted union of their timestamps (plus
    0); each video then reads its own. ``adjoint=True`` backpropagates with the adjoint
    method (memory constant in the number of solver steps).
    """

    def __init__(
        self,
        channels: int = 512,
        hidden: int = 256,
        layers: int = 2,
        method: str = "dopri5",
        rtol: float = 1e-3,
        atol: float = 1e-4,
        adjoint: bool = False,
    ):
        super().__init__()
        self.func = ODEFunc(channels, hidden, layers)
        self.method, self.rtol, self.atol, self.adjoint = method, rtol, atol, adjoint

    def forward(self, z0: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """``z0 [B, C, m, n]``, ``t [B, Q]`` -> ``[B, Q, C, m, n]``."""
        if t.ndim != 2 or t.shape[0] != z0.shape[0]:
            raise ValueError(f"LatentODE: t must be [B, Q] with B = {z0.shape[0]}, got {tuple(t.shape)}")
        with torch.autocast(z0.device.type, enabled=False):
            z0, t = z0.float(), t.float()
            grid, where = torch.unique(torch.cat([t.new_zeros(1), t.flatten()]), sorted=True, return_inverse=True)
            if grid[0] < 0:  # one host sync; torchdiffeq's step control syncs on every step anyway
                raise ValueError("LatentODE: times must be >= 0 (relative to the first observed frame)")
            self.func.nfe = 0
            if grid.numel() == 1:  # every requested time is 0
                states = z0[None]
            else:
                solve = odeint_adjoint if self.adjoint else odeint
                states = solve(self.func, z0, grid, rtol=self.rtol, atol=self.atol, method=self.method)
            index = where[1:].view(t.shape)  # [B, Q] positions in the grid
            batch = torch.arange(t.shape[0], device=t.device)[:, None].expand_as(index)
            return states[index, batch]


class DynamicsEncoder(nn.Module):
    """f_D + reverse ODE-ConvGRU + latent ODE: frames at times -> ``z_d0`` -> ``z_d(t)``.

    Args:
        frame_size: ``(M, N)`` the frames are resized to before f_D (paper: 128 x 128 faces,
            128 x 96 fashion).
        d_sp: f_D's channels (64). d_ode: channels of ``z_d`` (512).
        downsamplings: f_D's halvings (4: 128 -> 8).
        ode_hidden, ode_layers: width and depth of the ODE networks.
        method, rtol, atol, adjoint: the torchdiffeq solver of Eq. 11.
    """

    def __init__(
        self,
        frame_size: tuple[int, int] = (128, 128),
        d_sp: int = 64,
        d_ode: int = 512,
        downsamplings: int = 4,
        channel_base: int = 32,
        channel_max: int = 512,
        ode_hidden: int = 256,
        ode_layers: int = 2,
        gru_kernel: int = 3,
        method: str = "dopri5",
        rtol: float = 1e-3,
        atol: float = 1e-4,
        adjoint: bool = False,
    ):
        super().__init__()
        self.frame_size = tuple(frame_size)
        if any(s % 2**downsamplings for s in self.frame_size):
            raise ValueError(
                f"DynamicsEncoder: frame_size {self.frame_size} is not divisible by "
                f"2^downsamplings = {2**downsamplings}"
            )
        self.grid = (self.frame_size[0] // 2**downsamplings, self.frame_size[1] // 2**downsamplings)
        self.d_ode = d_ode
        self.frame_encoder = FrameEncoder(d_sp, downsamplings, channel_base, channel_max)
        self.gru = ConvGRU(d_sp, d_ode, gru_kernel)
        self.encoder_ode = ODEFunc(d_ode, ode_hidden, ode_layers)
        self.to_z0 = nn.Sequential(nn.Conv2d(d_ode, d_ode, 1), nn.ReLU(), nn.Conv2d(d_ode, d_ode, 1))
        self.ode = LatentODE(d_ode, ode_hidden, ode_layers, method, rtol, atol, adjoint)

    def frame_codes(self, frames: torch.Tensor) -> torch.Tensor:
        """f_D on every frame: ``[B, K, 3, H, W] -> [B, K, d_sp, m_d, n_d]`` (one batched pass)."""
        b = frames.shape[0]
        x = rearrange(frames, "b k c h w -> (b k) c h w")
        if tuple(x.shape[-2:]) != self.frame_size:
            x = F.interpolate(x, size=self.frame_size, mode="bicubic", align_corners=False, antialias=True)
        return rearrange(self.frame_encoder(x), "(b k) c h w -> b k c h w", b=b)

    def encode(self, frames: torch.Tensor, t: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """``z_d0 [B, d_ode, m, n]`` of frames ``[B, K, 3, H, W]`` seen at rising times ``t [B,K]``.

        The ConvGRU reads frame K-1 first and frame 0 last; before reading frame ``i`` the
        state takes one Euler step of the encoder ODE over ``t_i - t_{i+1}`` (one hundredth
        of a time unit before the last frame, as Vid-ODE). ``mask [B, K]`` (1 = observed)
        lets a frame be skipped (the state then only follows the ODE).
        """
        if frames.ndim != 5 or t.shape != frames.shape[:2]:
            raise ValueError(
                f"DynamicsEncoder.encode: frames [B, K, 3, H, W] and t [B, K] expected, got "
                f"{tuple(frames.shape)} and {tuple(t.shape)}"
            )
        codes = self.frame_codes(frames)
        with torch.autocast(frames.device.type, enabled=False):
            t = t.float()
            steps = torch.cat([t[:, :-1] - t[:, 1:], t.new_full((t.shape[0], 1), -0.01)], dim=1)

            def euler(h: torch.Tensor, i: int) -> torch.Tensor:
                return h + self.encoder_ode(t, h) * steps[:, i, None, None, None]

            h = self.gru(codes.float(), mask=mask, reverse=True, transition=euler)
            return self.to_z0(h)

    def solve(self, z_d0: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """``z_d(t) [B, Q, d_ode, m, n]`` at times ``t [B, Q]`` (>= 0, any order, Eq. 11)."""
        return self.ode(z_d0, t)
