"""Manipulation accuracy (vidstyleode Sec. 4, Table 1 "Acc."): CLIP as a zero-shot classifier.

vidstyleode: "the accuracy of the manipulation in the generated video according to the
target textual description, and relative to the GT description of the video". Here, per
frame, CLIP chooses between the two descriptions (the one with the higher cosine
similarity to the frame); a video scores the share of its frames where the target wins;
the metric is the mean over videos.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import Tensor, nn
from torchmetrics import Metric

from stylevideo.features.clip import clip_image_input

__all__ = ["ManipulationAccuracy"]


class ManipulationAccuracy(Metric):
    """``update(videos [B, T, 3, H, W], targets, sources)``, one description pair per video.

    ``model`` is a CLIP model (``encode_image``, ``encode_text``, ``visual.input_resolution``);
    by default ``load_clip(clip_name, weights_path)``.
    """

    higher_is_better = True
    is_differentiable = False
    full_state_update = False

    def __init__(
        self,
        model: nn.Module | None = None,
        clip_name: str = "ViT-B/32",
        weights_path: str | os.PathLike | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if model is None:
            from stylevideo.features.clip import load_clip

            model = load_clip(clip_name, weights_path)
        self.model = model
        self.add_state("score_sum", torch.zeros((), dtype=torch.float64), "sum")
        self.add_state("videos", torch.zeros((), dtype=torch.float64), "sum")

    @torch.no_grad()
    def _text(self, texts: Sequence[str]) -> Tensor:
        import clip

        tokens = clip.tokenize(list(texts), truncate=True).to(self.score_sum.device)
        return F.normalize(self.model.encode_text(tokens).float(), dim=-1)

    @torch.no_grad()
    def update(self, videos: Tensor, targets: Sequence[str], sources: Sequence[str]) -> None:
        if videos.ndim != 5 or not len(targets) == len(sources) == len(videos):
            raise ValueError(
                f"expected videos [B, T, 3, H, W] and B targets and sources, got "
                f"{tuple(videos.shape)}, {len(targets)} and {len(sources)}"
            )
        b, t = videos.shape[:2]
        frames = rearrange(videos, "b t c h w -> (b t) c h w")
        x = clip_image_input(frames, self.model.visual.input_resolution)
        image = F.normalize(self.model.encode_image(x).float(), dim=-1)
        image = rearrange(image, "(b t) d -> b t d", b=b, t=t)
        target, source = self._text(targets), self._text(sources)
        wins = torch.einsum("btd,bd->bt", image, target) > torch.einsum("btd,bd->bt", image, source)
        self.score_sum += wins.double().mean(1).sum()
        self.videos += b

    def compute(self) -> Tensor:
        return self.score_sum / self.videos
