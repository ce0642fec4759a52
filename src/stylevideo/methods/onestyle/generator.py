"""The onestyle generator (section 3.1, Fig. 1): F_t, time2vec, F_c and StyleGAN2's synthesis G.

- ``F_t``: a 4-layer MLP mapping ``z_m`` to the k-dimensional motion style ``m`` (Eq. 2);
- ``time2vec`` ``v(t)``: one linear term and k - 1 learned sinusoids (Eq. 1);
- the temporal style ``w_m^t = m * v(t)`` (Eq. 3-4): one ``m`` per video, any real ``t``;
- ``F_c``: the content style ``w_c``, the concatenation of the actor code (actor embedding
  through StyleGAN2's 8-layer mapping MLP) and the action embedding scaled by the ramp
  factor (Fig. 1: "a vector formed by concatenation of actor and action embeddings");
  unconditional models map a random ``z_c`` instead of an actor;
- ``G``: the shared StyleGAN2 :class:`SynthesisNetwork`; every layer receives ``[w_c, w_m^t]``.

Options reproduce the authors' released generators (``model.py``; :mod:`.official`):
``content_fusion="sum"`` (``w_c = mapping(e_actor) + ramp * e_action``), ``channels`` (their
width table, 256 channels at 4x4 including the constant input) and ``time2vec_linear_last``
(their ``t2v`` puts the linear term last). The defaults are the paper's.

Conditions are integer ids (``[B]``) or, to interpolate conditions over time (section 5.5),
float class weights ``[B, N]`` / ``[B, T, N]`` that mix the embeddings linearly.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import torch
from torch import nn

from stylevideo.nn.stylegan2 import MappingNetwork, NoiseMode, SynthesisNetwork
from stylevideo.nn.time2vec import Time2Vec

__all__ = ["ContentStyle", "OneStyleGenerator", "embed_condition"]


def embed_condition(embedding: nn.Embedding, label: torch.Tensor, name: str) -> torch.Tensor:
    """Embed ids ``[B]`` / ``[B, T]`` or mix embeddings with float weights ``[..., N]``."""
    n = embedding.num_embeddings
    if label.is_floating_point():
        if label.shape[-1] != n:
            raise ValueError(f"{name} weights must end in {n} classes, got shape {tuple(label.shape)}")
        return label.to(embedding.weight.dtype) @ embedding.weight
    return embedding(label.long())


class ContentStyle(nn.Module):
    """``F_c``: ``w_c = [mapping(e_actor or z_c), ramp * e_action]`` (section 3.1, Fig. 1).

    ``num_actors = 0``: no actor embedding, the mapping MLP takes a random ``z_c``
    (unconditional generation); ``num_actions = 0``: no action part. ``fusion="sum"``:
    ``w_c = mapping(e_actor) + ramp * e_action`` (the authors' ``Generator.forward``), of size
    ``style_dim`` instead of ``2 style_dim``.
    """

    def __init__(
        self,
        style_dim: int = 128,
        num_actors: int = 0,
        num_actions: int = 0,
        mapping_layers: int = 8,
        lr_mlp: float = 0.01,
        fusion: Literal["concat", "sum"] = "concat",
    ):
        super().__init__()
        if fusion not in ("concat", "sum"):
            raise ValueError(f"content fusion must be 'concat' (the paper) or 'sum' (the authors'), got {fusion!r}")
        self.style_dim, self.num_actors, self.num_actions, self.fusion = style_dim, num_actors, num_actions, fusion
        self.mapping = MappingNetwork(style_dim, style_dim, mapping_layers, lr_mlp)
        self.actor_embed = nn.Embedding(num_actors, style_dim) if num_actors else None
        self.action_embed = nn.Embedding(num_actions, style_dim) if num_actions else None

    @property
    def dim(self) -> int:
        """Size of ``w_c``."""
        return self.style_dim * (2 if self.num_actions and self.fusion == "concat" else 1)

    def forward(
        self,
        actor: torch.Tensor | None = None,
        action: torch.Tensor | None = None,
        z_c: torch.Tensor | None = None,
        ramp: float | torch.Tensor = 1.0,
    ) -> torch.Tensor:
        """``w_c`` ``[B, dim]``, or ``[B, T, dim]`` when a condition varies per frame."""
        if self.actor_embed is not None:
            if actor is None:
                raise ValueError(f"this generator is conditioned on {self.num_actors} actors: pass actor")
            e = embed_condition(self.actor_embed, actor, "actor")
            w = self.mapping(e.reshape(-1, e.shape[-1])).view(*e.shape[:-1], -1)
        else:
            if actor is not None:
                raise ValueError("this generator has no actor condition (num_actors=0); got actor")
            if z_c is None:
                raise ValueError("an unconditional content style needs z_c [B, style_dim]")
            w = self.mapping(z_c)
        if self.action_embed is None:
            if action is not None:
                raise ValueError("this generator has no action condition (num_actions=0); got action")
            return w
        if action is None:
            raise ValueError(f"this generator is conditioned on {self.num_actions} actions: pass action")
        a = ramp * embed_condition(self.action_embed, action, "action")
        if a.ndim > w.ndim:
            w = w[:, None].expand(-1, a.shape[1], -1)
        elif w.ndim > a.ndim:
            a = a[:, None].expand(-1, w.shape[1], -1)
        return w + a if self.fusion == "sum" else torch.cat([w, a], dim=-1)


class OneStyleGenerator(nn.Module):
    """``G([w_c, m * v(t)])``: videos ``[B, T, 3, H, W]`` at arbitrary (real) times ``t [B, T]``.

    Args:
        resolution: frame size (power of two).
        k: size of ``z_m``, ``m`` and ``v(t)`` (paper: 64, 128, 256).
        style_dim: size of the actor code and of the action embedding (each part of ``w_c``).
        num_actors, num_actions: condition vocabularies (0: not conditioned on it).
        mapping_layers: depth of F_c's mapping MLP (StyleGAN2: 8).
        motion_layers: depth of F_t (paper: 4).
        channel_base, channel_max: synthesis widths (config-f: 32768, 512).
        lr_mlp: learning-rate multiplier of the MLPs (StyleGAN2: 0.01).
        omega_std: standard deviation of the initial time2vec frequencies (authors: 1).
        content_fusion: ``"concat"`` (Fig. 1) or ``"sum"`` (the authors' code), see :class:`ContentStyle`.
        channels: synthesis widths ``{resolution: width}`` replacing channel_base/channel_max.
        time2vec_linear_last: the linear time2vec term last (the authors' code) instead of first.
    """

    def __init__(
        self,
        resolution: int = 128,
        k: int = 128,
        style_dim: int = 128,
        num_actors: int = 0,
        num_actions: int = 0,
        mapping_layers: int = 8,
        motion_layers: int = 4,
        channel_base: int = 32768,
        channel_max: int = 512,
        lr_mlp: float = 0.01,
        omega_std: float = 1.0,
        content_fusion: Literal["concat", "sum"] = "concat",
        channels: Mapping[int, int] | None = None,
        time2vec_linear_last: bool = False,
    ):
        super().__init__()
        self.k, self.resolution = k, resolution
        self.F_t = MappingNetwork(k, k, motion_layers, lr_mlp)
        self.time2vec = Time2Vec(k, omega_std, time2vec_linear_last)
        self.F_c = ContentStyle(style_dim, num_actors, num_actions, mapping_layers, lr_mlp, content_fusion)
        self.synthesis = SynthesisNetwork(resolution, self.F_c.dim + k, channel_base, channel_max, channels=channels)

    @property
    def w_dim(self) -> int:
        return self.synthesis.w_dim

    def motion_style(self, z_m: torch.Tensor) -> torch.Tensor:
        """``m = F_t(z_m)`` (Eq. 2), ``[B, k]``."""
        return self.F_t(z_m)

    def temporal_style(self, m: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """``w_m^t = m * v(t)`` (Eq. 3-4): ``m [B, k]``, ``t [B, T]`` -> ``[B, T, k]``."""
        return m[:, None, :] * self.time2vec(t)

    def styles(
        self,
        t: torch.Tensor,
        *,
        z_m: torch.Tensor | None = None,
        m: torch.Tensor | None = None,
        actor: torch.Tensor | None = None,
        action: torch.Tensor | None = None,
        z_c: torch.Tensor | None = None,
        ramp: float | torch.Tensor = 1.0,
    ) -> torch.Tensor:
        """The per-frame style ``[w_c, w_m^t]``, ``[B, T, w_dim]``; pass ``z_m`` or ``m``."""
        if t.ndim != 2:
            raise ValueError(f"t must be [B, T] frame times, got shape {tuple(t.shape)}")
        if (z_m is None) == (m is None):
            raise ValueError("pass exactly one of z_m (through F_t) and m (a motion style)")
        m = self.motion_style(z_m) if m is None else m
        w_m = self.temporal_style(m, t)
        w_c = self.F_c(actor, action, z_c, ramp)
        if w_c.ndim == 2:
            w_c = w_c[:, None].expand(-1, t.shape[1], -1)
        return torch.cat([w_c.to(w_m.dtype), w_m], dim=-1)

    def synthesize(
        self,
        w: torch.Tensor,
        noise_mode: NoiseMode = "const",
        chunk: int | None = None,
        return_ws: bool = False,
    ):
        """Frames ``[B, T, 3, H, W]`` from styles ``w [B, T, w_dim]`` (every layer gets the same
        style); ``chunk`` frames per synthesis call bound the memory of long videos.
        ``return_ws`` also returns the W+ tensor ``[B*T, num_ws, w_dim]`` the frames came from.
        ``noise_mode`` is ``const`` for videos: the network's fixed noise, the same in every frame
        (the authors' ``generate.py`` draws new noise for every frame, ``random`` here); training
        passes its own mode."""
        b, t = w.shape[:2]
        ws = w.reshape(b * t, 1, -1).expand(-1, self.synthesis.num_ws, -1)
        if chunk is None or chunk >= b * t:
            frames = self.synthesis(ws, noise_mode)
        else:
            frames = torch.cat([self.synthesis(part, noise_mode) for part in ws.split(chunk)])
        frames = frames.view(b, t, *frames.shape[1:])
        return (frames, ws) if return_ws else frames

    def forward(
        self,
        t: torch.Tensor,
        *,
        z_m: torch.Tensor | None = None,
        m: torch.Tensor | None = None,
        actor: torch.Tensor | None = None,
        action: torch.Tensor | None = None,
        z_c: torch.Tensor | None = None,
        ramp: float | torch.Tensor = 1.0,
        noise_mode: NoiseMode = "const",
        chunk: int | None = None,
        return_ws: bool = False,
    ):
        """Frames at times ``t [B, T]`` of videos with motion ``z_m``/``m`` and this content."""
        w = self.styles(t, z_m=z_m, m=m, actor=actor, action=action, z_c=z_c, ramp=ramp)
        return self.synthesize(w, noise_mode, chunk, return_ws)

    @torch.no_grad()
    def mean_motion_style(self, n: int = 10000) -> torch.Tensor:
        """Average ``m`` over ``n`` random ``z_m`` (the start of the temporal GAN inversion)."""
        device = self.time2vec.omega.device
        return self.motion_style(torch.randn(n, self.k, device=device)).mean(0)
