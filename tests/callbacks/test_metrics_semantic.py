"""Action-recognition and manipulation-accuracy callbacks with stand-ins of known answers."""

from __future__ import annotations

import warnings

import pytest
import torch
from lightning.pytorch import Trainer
from test_metrics_callbacks import Toy
from torch import nn

from stylevideo.callbacks.semantic_metrics import ActionMetrics, ManipulationMetrics
from stylevideo.data_modules.synthetic import SyntheticDataModule

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import clip


class Actor(Toy):
    """Videos whose brightness encodes the conditioned action; edits paint the target colour."""

    def sample_videos(self, n, num_frames, *, fps_scale=1.0, seed=None, actor=None, action=None):
        assert actor is not None and action is not None
        return (action.float() / 4 - 0.5).view(n, 1, 1, 1, 1).expand(n, num_frames, 3, 8, 8)

    def descriptions(self, batch):
        return ["red" if i % 2 == 0 else "blue" for i in range(len(batch["frames"]))]

    def edit(self, video, sources, targets):
        colour = {"red": torch.tensor([1.0, -1.0, -1.0]), "blue": torch.tensor([-1.0, -1.0, 1.0])}
        return torch.stack([colour[t].view(3, 1, 1).expand_as(v[0]) for t, v in zip(targets, video, strict=True)])[
            :, None
        ].expand_as(video)


class BrightnessClassifier(nn.Module):
    """Reads the action back from the brightness; ``shift`` makes it wrong by that many ids."""

    def __init__(self, shift=0):
        super().__init__()
        self.shift = shift

    def forward(self, videos):
        action = ((videos.mean((1, 2, 3, 4)) + 0.5) * 4).round().long()
        return nn.functional.one_hot((action + self.shift) % 3, 3).float() + torch.tensor([0.0, 0.2, 0.1])


class TwoWordCLIP(nn.Module):
    def __init__(self):
        super().__init__()
        self.visual = nn.Module()
        self.visual.input_resolution = 8
        self.words = {int(clip.tokenize(w)[0, 1]): v for w, v in (("red", (1.0, 0.0)), ("blue", (0.0, 1.0)))}

    def encode_image(self, x):
        return x[:, [0, 2]].mean((2, 3)) + 3.0

    def encode_text(self, tokens):
        return torch.tensor([self.words[int(t[1])] for t in tokens])


@pytest.fixture
def datamodule(synthetic_root):
    return SyntheticDataModule.from_root(str(synthetic_root), resolution=8, batch_size=4)


def _test(datamodule, callback):
    Trainer(accelerator="cpu", logger=False, callbacks=[callback], enable_progress_bar=False).test(
        Actor(), datamodule=datamodule
    )
    return callback.history[-1]["metrics"]


def test_action_accuracy_of_videos_generated_for_the_split_pairs(datamodule):
    datamodule.setup()
    right = ActionMetrics(
        ["action_top1", "action_top3"],
        videos_per_pair=2,
        num_frames=4,
        extractors={"classifier": BrightnessClassifier()},
    )
    assert len(right.pairs(datamodule)) == 9  # 3 actors x 3 actions in the test split
    assert _test(datamodule, right) == {"action_top1": 1.0, "action_top3": 1.0}
    wrong = ActionMetrics(
        ["action_top1", "action_top3"],
        videos_per_pair=2,
        num_frames=4,
        extractors={"classifier": BrightnessClassifier(shift=1)},
    )
    assert _test(datamodule, wrong) == {"action_top1": 0.0, "action_top3": 1.0}
    with pytest.raises(ValueError, match="classifier_ckpt"):
        ActionMetrics(["action_top1"])


def test_manipulation_accuracy_of_edits_towards_the_next_description(datamodule):
    cb = ManipulationMetrics(["manipulation_acc"], num_clips=4, num_frames=3, extractors={"clip": TwoWordCLIP()})
    assert _test(datamodule, cb) == {"manipulation_acc": 1.0}
