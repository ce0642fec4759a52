"""LIA's training augmentation of (source, driving) pairs (the authors' ``augmentations.py``).

The paper is silent on augmentation; the authors' trainer augments TaiChi pairs with a random
crop, a horizontal flip and a colour jitter, TED pairs with the flip and the jitter, and
VoxCeleb pairs not at all (``AugmentationTransform(crop, flip, jitter)`` in their dataset
classes). Every draw applies to the source and the driving frame of a pair alike:

- crop: a ``crop`` fraction of the side (their 224 of 256 px) at a uniformly random integer
  offset, resized back to the frame size (bilinear);
- flip: horizontal, with probability 1/2;
- jitter: their ``ColorJitter(0.1, 0.1, 0.1, 0.1)`` applies each of its four adjustments to
  the *original* image in a shuffled order and keeps the last result, so exactly one
  adjustment, chosen uniformly, is applied: brightness, contrast or saturation by a factor
  uniform in ``[1 - jitter, 1 + jitter]``, or the hue shifted by a uniform
  ``[-jitter, jitter]`` of a turn.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
import torchvision.transforms.v2.functional as TF

__all__ = ["JITTERS", "PairAugment", "PairDraw"]

JITTERS = ("brightness", "contrast", "saturation", "hue")


@dataclass
class PairDraw:
    """The random choices for a batch of pairs: crop offsets ``[B, 2]`` (y, x) in pixels (None:
    no crop), flips ``[B]`` bool, the jitter ``op`` ``[B]`` (index into ``JITTERS``, -1: none) and
    its ``factor`` ``[B]``."""

    offsets: torch.Tensor | None
    flip: torch.Tensor
    op: torch.Tensor
    factor: torch.Tensor


class PairAugment:
    """``(x_s, x_d) -> (x_s', x_d')`` for images ``[B, 3, H, W]`` in [-1, 1], one draw per pair.

    Args:
        crop: side fraction of the random crop (TaiChi: 224 / 256 = 0.875; None: no crop).
        flip: random horizontal flips.
        jitter: strength of the colour jitter (0.1; 0: none).
    """

    def __init__(self, crop: float | None = None, flip: bool = False, jitter: float = 0.0):
        if crop is not None and not 0 < crop <= 1:
            raise ValueError(f"crop must be a fraction in (0, 1], got {crop}")
        if not 0 <= jitter <= 0.5:
            raise ValueError(f"jitter must be in [0, 0.5], got {jitter}")
        self.crop, self.flip, self.jitter = crop, flip, jitter

    @property
    def active(self) -> bool:
        return self.crop is not None or self.flip or self.jitter > 0

    def crop_size(self, size: int) -> int:
        return max(1, round(self.crop * size))

    def draw(
        self, batch: int, size: tuple[int, int], device=None, generator: torch.Generator | None = None
    ) -> PairDraw:
        """Random choices for ``batch`` pairs of frames of ``size = (H, W)``."""

        def uniform(n):
            return torch.rand(n, device=device, generator=generator)

        offsets = None
        if self.crop is not None:
            room = torch.tensor([size[0] - self.crop_size(size[0]) + 1, size[1] - self.crop_size(size[1]) + 1])
            offsets = (uniform((batch, 2)).cpu() * room).long()
        flip = uniform(batch) < 0.5 if self.flip else torch.zeros(batch, dtype=torch.bool, device=device)
        if self.jitter > 0:
            op = (uniform(batch) * len(JITTERS)).long().clamp_max(len(JITTERS) - 1)
            factor = (uniform(batch) * 2 - 1) * self.jitter
            factor = torch.where(op == JITTERS.index("hue"), factor, 1 + factor)
        else:
            op, factor = torch.full((batch,), -1, device=device), torch.ones(batch, device=device)
        return PairDraw(offsets, flip, op, factor)

    @staticmethod
    def apply(images: torch.Tensor, draw: PairDraw, crop_size: tuple[int, int] | None = None) -> torch.Tensor:
        """``images [B, 3, H, W]`` in [-1, 1] transformed by ``draw`` (one pair member)."""
        h, w = images.shape[-2:]
        out = []
        for i, x in enumerate(images):
            x = x[None]
            if draw.offsets is not None:
                y0, x0 = (int(v) for v in draw.offsets[i])
                x = x[..., y0 : y0 + crop_size[0], x0 : x0 + crop_size[1]]
                x = F.interpolate(x, size=(h, w), mode="bilinear", align_corners=False, antialias=True)
            if draw.flip[i]:
                x = x.flip(-1)
            op = int(draw.op[i])
            if op >= 0:
                adjust = getattr(TF, f"adjust_{JITTERS[op]}")
                x = adjust(((x + 1) / 2).clamp(0, 1), float(draw.factor[i])) * 2 - 1
            out.append(x)
        return torch.cat(out)

    def __call__(
        self, x_s: torch.Tensor, x_d: torch.Tensor, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.active:
            return x_s, x_d
        size = tuple(x_s.shape[-2:])
        draw = self.draw(x_s.shape[0], size, x_s.device, generator)
        crop = None if self.crop is None else (self.crop_size(size[0]), self.crop_size(size[1]))
        return self.apply(x_s, draw, crop), self.apply(x_d, draw, crop)
