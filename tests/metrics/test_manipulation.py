"""Manipulation accuracy: CLIP zero-shot preference of target over source description."""

from __future__ import annotations

import warnings

import pytest
import torch
from torch import nn

from stylevideo.features.clip import clip_image_input, load_clip
from stylevideo.features.weights import MissingWeightsError
from stylevideo.metrics.manipulation import ManipulationAccuracy

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import clip


class ColourCLIP(nn.Module):
    """A CLIP stand-in that knows two words: images embed as their mean colour (R, B)."""

    def __init__(self):
        super().__init__()
        self.visual = nn.Module()
        self.visual.input_resolution = 16
        self.words = {int(clip.tokenize(w)[0, 1]): v for w, v in (("red", (1.0, 0.0)), ("blue", (0.0, 1.0)))}

    def encode_image(self, x):
        return x[:, [0, 2]].mean((2, 3)) + 3.0  # normalised input: shift to positive

    def encode_text(self, tokens):
        return torch.tensor([self.words[int(t[1])] for t in tokens])


def test_accuracy_is_the_share_of_frames_where_the_target_wins():
    red = torch.tensor([1.0, -1.0, -1.0]).view(1, 3, 1, 1).expand(1, 3, 8, 8)
    blue = torch.tensor([-1.0, -1.0, 1.0]).view(1, 3, 1, 1).expand(1, 3, 8, 8)
    videos = torch.stack([torch.cat([red, red, red, red]), torch.cat([red, blue, blue, blue])])
    metric = ManipulationAccuracy(model=ColourCLIP())
    metric.update(videos, targets=["red", "blue"], sources=["blue", "red"])
    assert metric.compute().item() == pytest.approx((1.0 + 0.75) / 2)
    with pytest.raises(ValueError, match="B targets"):
        metric.update(videos, targets=["red"], sources=["blue"])


def test_clip_input_is_centre_cropped_and_normalised():
    frames = torch.zeros(1, 3, 20, 40)
    frames[..., 10:30] = 1.0  # white centre square of a wide frame
    x = clip_image_input(frames, 16)
    assert x.shape == (1, 3, 16, 16)
    white = (torch.ones(3) - torch.tensor([0.4815, 0.4578, 0.4082])) / torch.tensor([0.2686, 0.2613, 0.2758])
    assert torch.allclose(x[0, :, 8, 8], white, atol=1e-3)


def test_a_clip_file_loads_through_the_loader(tmp_path, monkeypatch):
    from clip.model import CLIP

    torch.manual_seed(0)
    tiny = CLIP(32, 32, 1, 64, 16, 77, 49408, 64, 1, 1)  # width 64: clip infers 1 head
    torch.save(tiny.state_dict(), tmp_path / "ViT-B-32.pt")
    monkeypatch.setenv("STYLEVIDEO_WEIGHTS", str(tmp_path))
    metric = ManipulationAccuracy()
    assert metric.model.visual.input_resolution == 32
    metric.update(torch.rand(2, 2, 3, 24, 24) * 2 - 1, ["a red shirt"] * 2, ["a blue shirt"] * 2)
    assert 0 <= metric.compute().item() <= 1
    with pytest.raises(MissingWeightsError, match="ViT-B-16.pt"):
        load_clip("ViT-B/16")
