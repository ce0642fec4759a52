"""onestyle's two discriminators (section 3.2, Fig. 1).

- ``D_s``, the shuffle discriminator: a 2-D CNN per frame, the flattened features of the two
  frames of a pair concatenated and scored by fully connected layers. Real pairs are
  consecutive real frames; fake pairs for D are generated frames whose first frame comes
  from another video of the batch (:func:`derangement`), fake pairs for G are unshuffled.
- ``D_t``, the time-conditioned projection discriminator (Miyato & Koyama 2018): per-frame
  2-D CNN features concatenated in temporal order; linear heads ``d_t``, ``d_action`` and
  ``d_actor`` on them; its own time2vec encodes each time point, concatenated; the score is
  the weighted sum of three dot products
  ``<d_t(h), [v(t_1), .., v(t_n)]> / sqrt(n tau) + ramp <e_action, d_action(h)> / sqrt(c)
  + <e_actor, d_actor(h)> / sqrt(c)`` (weights as in the authors' code). ``n`` time points:
  3 in the paper, 1 in the ablation of Table 3.

Both trunks are StyleGAN2's residual discriminator trunk (``ConvLayer`` from RGB, then
``ResBlock`` s down to 4x4) at the same widths.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from stylevideo.nn.layers import ConvLayer, EqualLinear, ResBlock
from stylevideo.nn.stylegan2 import minibatch_stddev, stylegan2_channels
from stylevideo.nn.time2vec import Time2Vec

__all__ = ["ShuffleDiscriminator", "TimeConditionedDiscriminator", "derangement"]


def derangement(n: int, device=None, generator: torch.Generator | None = None) -> torch.Tensor:
    """A random permutation with no fixed point: ``perm[i] != i`` for every ``i`` (``n >= 2``).

    The batch is put in a random cyclic order and every element is mapped to its successor.
    """
    if n < 2:
        raise ValueError(f"pairing frames of different videos needs a batch of at least 2 videos, got {n}")
    order = torch.randperm(n, device=device, generator=generator)
    perm = torch.empty_like(order)
    perm[order] = order.roll(-1)
    return perm


def _trunk(resolution: int, channel_base: int, channel_max: int) -> tuple[nn.Sequential, int]:
    """StyleGAN2's discriminator trunk from RGB down to 4x4 and its output channels."""
    ch = stylegan2_channels(resolution, channel_base, channel_max)
    layers: list[nn.Module] = [ConvLayer(3, ch[resolution], 1)]
    res = resolution
    while res > 4:
        layers.append(ResBlock(ch[res], ch[res // 2]))
        res //= 2
    return nn.Sequential(*layers), ch[4]


def _head(in_dim: int, hidden: int, out_dim: int) -> nn.Sequential:
    return nn.Sequential(EqualLinear(in_dim, hidden, activation="fused_lrelu"), EqualLinear(hidden, out_dim))


class ShuffleDiscriminator(nn.Module):
    """``D_s``: pair logits from ``[features(first), features(second)]`` (section 3.2)."""

    def __init__(self, resolution: int = 128, channel_base: int = 32768, channel_max: int = 512):
        super().__init__()
        self.convs, c = _trunk(resolution, channel_base, channel_max)
        self.final_linear = _head(2 * c * 16, c, 1)

    def features(self, frames: torch.Tensor) -> torch.Tensor:
        """Flattened 4x4 trunk features of every frame: ``[..., 3, H, W] -> [..., C * 16]``."""
        lead = frames.shape[:-3]
        return self.convs(frames.reshape(-1, *frames.shape[-3:])).reshape(*lead, -1)

    def score(self, first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
        """Logits ``[...]`` of pairs given the features of their two frames ``[..., F]``."""
        pairs = torch.cat([first, second], dim=-1)
        return self.final_linear(pairs.reshape(-1, pairs.shape[-1])).view(pairs.shape[:-1])

    def forward(self, pairs: torch.Tensor) -> torch.Tensor:
        """Logits ``[N]`` of frame pairs ``[N, 2, 3, H, W]``."""
        f = self.features(pairs)
        return self.score(f[:, 0], f[:, 1])


class TimeConditionedDiscriminator(nn.Module):
    """``D_t``: a projection discriminator on ``n`` frames, their times and the conditions.

    Args:
        resolution: frame size.
        num_frames: time points per sample (paper 3; ablation 1).
        num_actors, num_actions: condition vocabularies (0: no such projection).
        time_dim: size of D_t's own time2vec (authors: 128).
        embed_dim: size of the actor/action embeddings of the projections (authors: 128).
        feature_channels: channels of the last 3x3 conv before flattening (authors: 128).
        channel_base, channel_max: trunk widths (config-f).
        mbstd_group, mbstd_channels: minibatch standard deviation over the frames of the batch.
    """

    def __init__(
        self,
        resolution: int = 128,
        num_frames: int = 3,
        num_actors: int = 0,
        num_actions: int = 0,
        time_dim: int = 128,
        embed_dim: int = 128,
        feature_channels: int = 128,
        channel_base: int = 32768,
        channel_max: int = 512,
        mbstd_group: int = 4,
        mbstd_channels: int = 1,
    ):
        super().__init__()
        self.num_frames, self.time_dim, self.embed_dim = num_frames, time_dim, embed_dim
        self.mbstd_group, self.mbstd_channels = mbstd_group, mbstd_channels
        self.convs, c = _trunk(resolution, channel_base, channel_max)
        self.final_conv = ConvLayer(c + mbstd_channels, feature_channels, 3)
        flat = num_frames * feature_channels * 16
        self.d_t = _head(flat, c, num_frames * time_dim)
        self.time2vec = Time2Vec(time_dim)
        self.d_action = _head(flat, c, embed_dim) if num_actions else None
        self.action_embed = nn.Embedding(num_actions, embed_dim) if num_actions else None
        self.d_actor = _head(flat, c, embed_dim) if num_actors else None
        self.actor_embed = nn.Embedding(num_actors, embed_dim) if num_actors else None

    def features(self, frames: torch.Tensor) -> torch.Tensor:
        """``h``: per-frame features in temporal order, ``[B, n, 3, H, W] -> [B, n*F]``."""
        if frames.ndim != 5 or frames.shape[1] != self.num_frames:
            raise ValueError(f"D_t takes [B, {self.num_frames}, 3, H, W] frames, got {tuple(frames.shape)}")
        b = frames.shape[0]
        x = self.convs(frames.flatten(0, 1))
        x = self.final_conv(minibatch_stddev(x, self.mbstd_group, self.mbstd_channels))
        return x.reshape(b, -1)

    def projections(
        self,
        frames: torch.Tensor,
        t: torch.Tensor,
        actor: torch.Tensor | None = None,
        action: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        """The normalised dot products ``time``, ``action``, ``actor`` (each ``[B]``)."""
        h = self.features(frames)
        v = self.time2vec(t).flatten(1)  # [B, n * time_dim], time points in order
        out = {"time": (self.d_t(h) * v).sum(1) / math.sqrt(v.shape[1])}
        for name, head, embed, label in (
            ("action", self.d_action, self.action_embed, action),
            ("actor", self.d_actor, self.actor_embed, actor),
        ):
            if head is None:
                continue
            if label is None:
                raise ValueError(f"D_t is conditioned on {name}s: pass {name}")
            out[name] = (head(h) * embed(label.long())).sum(1) / math.sqrt(self.embed_dim)
        return out

    def forward(
        self,
        frames: torch.Tensor,
        t: torch.Tensor,
        actor: torch.Tensor | None = None,
        action: torch.Tensor | None = None,
        ramp: float | torch.Tensor = 1.0,
    ) -> torch.Tensor:
        """Logits ``[B]``: ``time + ramp * action + actor`` projections."""
        p = self.projections(frames, t, actor, action)
        score = p["time"]
        if "action" in p:
            score = score + ramp * p["action"]
        if "actor" in p:
            score = score + p["actor"]
        return score
