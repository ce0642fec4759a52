"""The SyntheticBenchmark callback through ``Trainer.validate``: stand-in generators and
animators whose right answers are known (real clips, noise, the driving clip, a still frame)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import yaml
from learning_helpers import bench_data
from lightning.pytorch import LightningDataModule, LightningModule, Trainer
from torch.utils.data import DataLoader

from stylevideo.callbacks.synthetic_benchmark import SyntheticBenchmark
from stylevideo.callbacks.tables import EVAL_DIR as EVAL
from stylevideo.metrics.synthetic import load_clips


class _StandIn(LightningModule):
    """A module with nothing to train; ``validate`` runs the callback (``on_test``)."""

    def __init__(self):
        super().__init__()
        self.dummy = torch.nn.Parameter(torch.zeros(()))

    def validation_step(self, batch, batch_idx):
        pass


class RealClips(_StandIn):
    """``sample_videos`` answers with held-out real clips of the asked (actor, action), or noise."""

    def __init__(self, clips, noise: bool = False):
        super().__init__()
        self.clips, self.noise = clips, noise

    def sample_videos(self, n, num_frames, *, fps_scale=1.0, seed=None, actor=None, action=None):
        g = torch.Generator().manual_seed(seed)
        videos = []
        for a, b in zip(actor.tolist(), action.tolist(), strict=True):
            i = next(i for i in range(len(self.clips.actor)) if (self.clips.actor[i], self.clips.action[i]) == (a, b))
            start = int(torch.randint(len(self.clips.frames[i]) - num_frames + 1, (), generator=g))
            videos.append(self.clips.frames[i][start : start + num_frames])
        videos = torch.stack(videos)
        return torch.rand(videos.shape, generator=g) * 2 - 1 if self.noise else videos


class Animator(_StandIn):
    """``animate`` answers with the driving clip itself (``copy``) or the still source frame."""

    def __init__(self, kind: str):
        super().__init__()
        self.kind = kind

    def animate(self, source, driving, *, relative=True):
        return driving if self.kind == "copy" else source[:, None].expand_as(driving)


def _validate(module, dm, **kwargs) -> dict[str, float]:
    callback = SyntheticBenchmark(**kwargs)
    trainer = Trainer(
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_val_batches=1,
        callbacks=[callback],
    )
    trainer.validate(module, datamodule=dm, verbose=False)
    return callback.history[-1]["metrics"]


ACCURACY_AND_FD = ["synth_actor_acc", "synth_action_acc", "synth_fd"]


def test_sample_mode_scores_real_clips_high_and_noise_low(judges, bench_root):
    """With the settings of experiments/eval/synthetic_benchmark.yaml (fewer videos, given judges)."""
    dm = bench_data(bench_root)
    test_clips = load_clips(dm, "test", 32, 16)
    (node,) = yaml.safe_load((EVAL / "synthetic_benchmark.yaml").read_text())["trainer"]["callbacks"]
    assert node["init_args"]["metrics"] == ACCURACY_AND_FD and node["init_args"]["mode"] == "sample"
    kwargs = node["init_args"] | dict(extractors={"judges": judges}, videos_per_pair=2)
    real = _validate(RealClips(test_clips), dm, **kwargs)
    noise = _validate(RealClips(test_clips, noise=True), dm, **kwargs)
    assert real["synth_actor_acc"] >= 0.9 and real["synth_action_acc"] >= 0.75, real
    assert noise["synth_actor_acc"] <= 0.6 and noise["synth_action_acc"] <= 0.6, noise  # 1 class of 3
    assert noise["synth_fd"] > 10 * real["synth_fd"], (real, noise)


def test_reconstruct_mode_scores_a_copy_of_the_driving_clip_and_a_still_frame(judges, bench_root):
    dm = bench_data(bench_root)
    metrics = [*ACCURACY_AND_FD, "synth_mouth_r"]
    kwargs = dict(metrics=metrics, mode="reconstruct", split="val", extractors={"judges": judges})
    copy = _validate(Animator("copy"), dm, **kwargs)
    still = _validate(Animator("still"), dm, **kwargs)
    assert copy["synth_actor_acc"] >= 0.9 and copy["synth_action_acc"] >= 0.75, copy
    assert abs(copy["synth_fd"]) < 1e-6  # the animations are the real clips
    assert copy["synth_mouth_r"] >= 0.6, copy
    assert still["synth_mouth_r"] == 0.0  # a still mouth correlates with nothing
    # which driving clips count: those whose true mouth area varies (std >= 5% of the mean)
    moving = 0
    for batch in dm.clip_dataloader(16, split="val", batch_size=64):
        for video, frames in zip(batch["video_id"], batch["t"].long().numpy(), strict=True):
            p = dm.mouth_polygon(video)[frames].astype(np.float64)
            area = 0.5 * np.abs(
                (p[:, :, 0] * np.roll(p[:, :, 1], -1, 1) - np.roll(p[:, :, 0], -1, 1) * p[:, :, 1]).sum(1)
            )
            moving += area.std() >= 0.05 * area.mean()
    assert copy["synth_mouth_r/videos"] == still["synth_mouth_r/videos"] == moving >= 4
    assert copy["synth_mouth_r/skipped"] == 9 - moving


def test_cross_mode_labels_the_source_actor_and_the_driving_action(judges, bench_root):
    """A still source frame shows the source's actor: right in ``cross`` mode, where the label
    is the source clip's actor (the previous clip of the batch), wrong for most clips when the
    driving clip's actor is expected (``reconstruct`` mode on the same videos)."""
    dm = bench_data(bench_root)
    kwargs = dict(metrics=["synth_actor_acc"], split="val", extractors={"judges": judges})

    class SourceOfCross(Animator):
        def animate(self, source, driving, *, relative=True):
            return driving.roll(1, 0)[:, :1].expand_as(driving)  # the cross source as a still, in both modes

    cross = _validate(SourceOfCross("still"), dm, mode="cross", **kwargs)
    own = _validate(SourceOfCross("still"), dm, mode="reconstruct", **kwargs)
    assert cross["synth_actor_acc"] >= 0.9, cross
    assert own["synth_actor_acc"] <= 0.8, own


class _NotSynthetic(LightningDataModule):
    def val_dataloader(self):
        return DataLoader([torch.zeros(1)])


def test_refuses_what_it_cannot_score():
    with pytest.raises(ValueError, match="unknown metric"):
        SyntheticBenchmark(metrics=["fvd"])
    with pytest.raises(ValueError, match="mode must be"):
        SyntheticBenchmark(metrics=["synth_fd"], mode="edit")
    with pytest.raises(ValueError, match="synth_mouth_r needs a driving clip"):
        SyntheticBenchmark(metrics=["synth_mouth_r"])
    with pytest.raises(TypeError, match="SyntheticDataModule, got _NotSynthetic"):
        _validate(Animator("copy"), _NotSynthetic(), metrics=["synth_fd"], mode="reconstruct")
