"""The LIA autoencoder: E, the magnitude MLP, the motion dictionary D_m and G (Eq. 1-6, 11-12).

Also the tools of section 4.4: the reference image x_r (appendix B.4) and linear
manipulation along one direction d_i (Fig. 6).
"""

from __future__ import annotations

import torch
from torch import nn

from stylevideo.methods.lia.networks import (
    Encoder,
    FlowGenerator,
    MotionDictionary,
    magnitude_mlp,
    warp,
)

__all__ = ["LIAAutoencoder"]


class LIAAutoencoder(nn.Module):
    """E + Linear Motion Decomposition + G.

    ``motion_dim`` is M, the size of D_m (paper: 20, Table 5 ablates 5..100); with
    ``motion_dictionary=False`` (Table 4's "w/o D_m") the MLP outputs ``w_{r->d}`` directly.
    """

    def __init__(
        self,
        resolution: int = 256,
        latent_dim: int = 512,
        motion_dim: int = 20,
        motion_dictionary: bool = True,
        mlp_layers: int = 5,
        mlp_activation: str | None = None,
        channel_base: int = 16384,
        channel_max: int = 512,
        align_corners: bool = False,
    ):
        super().__init__()
        self.resolution, self.latent_dim = resolution, latent_dim
        self.E = Encoder(resolution, latent_dim, channel_base, channel_max)
        self.mlp = magnitude_mlp(
            latent_dim, motion_dim if motion_dictionary else latent_dim, mlp_layers, mlp_activation
        )
        self.D_m = MotionDictionary(latent_dim, motion_dim) if motion_dictionary else None
        self.G = FlowGenerator(resolution, latent_dim, channel_base, channel_max, align_corners)

    # -- Eq. 1-4 -------------------------------------------------------------------------------
    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """``z_{x->r} = E(x)`` (Eq. 1) and the appearance features ``x_enc`` (8x8 .. full size)."""
        return self.E(x)

    def magnitudes(self, z: torch.Tensor) -> torch.Tensor:
        """``A_{r->d} = MLP(z_{d->r})``: the magnitudes of the M directions (section 3.1)."""
        return self.mlp(z)

    def latent_path(self, z: torch.Tensor) -> torch.Tensor:
        """``w_{r->d} = sum_i a_i d_i`` with ``A_{r->d} = MLP(z_{d->r})`` (Eq. 2); float32.

        Without D_m, the MLP's output itself.
        """
        out = self.mlp(z)
        return self.D_m(out) if self.D_m is not None else out.float()

    def decode(self, z: torch.Tensor, x_enc: list[torch.Tensor], return_flows: bool = False):
        """G: ``x_{s->d} = G(z_{s->d}, x_enc)`` (Eq. 5-6); see :class:`FlowGenerator`."""
        return self.G(z, x_enc, return_flows)

    def forward(self, source: torch.Tensor, driving: torch.Tensor) -> torch.Tensor:
        """Reconstruct ``x_d`` from ``x_s``: ``G(z_{s->r} + w_{r->d}, x_enc_s)`` (Eq. 4, training).

        Both images go through E in one batch.
        """
        b = source.shape[0]
        z, feats = self.encode(torch.cat([source, driving]))
        z_sd = z[:b] + self.latent_path(z[b:])
        return self.decode(z_sd, [f[:b] for f in feats])

    # -- inference (section 3.4) ------------------------------------------------------------------
    def transfer_origin(self, z_sr: torch.Tensor, relative: bool, first: torch.Tensor | None) -> torch.Tensor:
        """The code to which ``w_{r->t}`` is added for every driving frame ``t``.

        Absolute transfer (Eq. 11): ``z_{s->r}``. Relative transfer (Eq. 12):
        ``z_{s->s} - w_{r->1}`` with ``z_{s->s} = z_{s->r} + w_{r->s}`` and ``x_1 = first``.
        """
        if not relative:
            return z_sr
        return z_sr + self.latent_path(z_sr) - self.latent_path(self.encode(first)[0])

    def animate(
        self,
        source: torch.Tensor,
        driving: torch.Tensor,
        relative: bool = True,
        first: torch.Tensor | None = None,
        chunk: int = 16,
    ) -> torch.Tensor:
        """Transfer the motion of ``driving [B, T, 3, H, W]`` to ``source [B, 3, H, W]``.

        ``z_{s->t} = z_{s->r} + w_{r->t}`` (Eq. 11, ``relative=False``) or
        ``z_{s->s} + (w_{r->t} - w_{r->1})`` (Eq. 12), ``x_1 = first`` (default: the first
        driving frame; pass it when animating a long clip piece by piece). Frames are processed
        ``chunk`` at a time, so memory does not grow with the clip length. Not clamped.
        """
        if driving.ndim != 5 or driving.shape[0] != source.shape[0]:
            raise ValueError(
                f"animate: expected driving [B, T, 3, H, W] with B = {source.shape[0]}, got {tuple(driving.shape)}"
            )
        z_sr, feats = self.encode(source)
        origin = self.transfer_origin(z_sr, relative, driving[:, 0] if first is None else first)
        b, t = driving.shape[:2]
        out = []
        for start in range(0, t, chunk):
            part = driving[:, start : start + chunk]
            n = part.shape[1]
            w_rt = self.latent_path(self.encode(part.flatten(0, 1))[0]).unflatten(0, (b, n))
            x_enc = [f.repeat_interleave(n, dim=0) for f in feats]
            out.append(self.decode((origin[:, None] + w_rt).flatten(0, 1), x_enc).unflatten(0, (b, n)))
        return torch.cat(out, dim=1)

    # -- section 4.4 ------------------------------------------------------------------------------
    def reference_image(self, source: torch.Tensor) -> torch.Tensor:
        """``x_r``: ``x_s`` warped by the flow G decodes from ``z_{s->r}`` alone (appendix B.4).

        The finest flow ``phi_N`` is used (it has the image's resolution).
        """
        z_sr, feats = self.encode(source)
        _, flows, _ = self.decode(z_sr, feats, return_flows=True)
        return warp(source, flows[-1], self.G.blocks[-1].align_corners)

    def manipulate(self, source: torch.Tensor, direction: int, magnitudes: torch.Tensor) -> torch.Tensor:
        """Linear manipulation along ``d_direction`` (section 4.4 g, Fig. 6) -> ``[B, K, 3, H, W]``.

        Frame ``k`` decodes ``z_{s->s} + magnitudes[k] * d_direction`` (the authors' demo walks
        ``[-3, 3]``).
        """
        if self.D_m is None:
            raise ValueError("manipulate needs the motion dictionary D_m (motion_dictionary=True)")
        d = self.D_m.directions()
        if not 0 <= direction < d.shape[0]:
            raise ValueError(f"direction must be in [0, {d.shape[0]}), got {direction}")
        z_sr, feats = self.encode(source)
        z_ss = z_sr + self.latent_path(z_sr)
        k = magnitudes.numel()
        z = z_ss[:, None] + magnitudes.to(z_ss).view(1, k, 1) * d[direction]
        x_enc = [f.repeat_interleave(k, dim=0) for f in feats]
        return self.decode(z.flatten(0, 1), x_enc).unflatten(0, (source.shape[0], k))
