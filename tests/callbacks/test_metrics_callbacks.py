"""Metric callbacks: paper names logged to every logger, JSON next to the checkpoint,
seeded generation, the test-stage protocol, rank sharding, config errors."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from lightning.pytorch import LightningModule, Trainer
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger
from torch import nn

from stylevideo.callbacks.metrics import AnimationMetrics, FaceMetrics, FrameMetrics, VideoMetrics
from stylevideo.data_modules.synthetic import SyntheticDataModule
from stylevideo.features.i3d import I3D


class TinyFeatures(nn.Module):
    """An Inception stand-in: uint8 frames [N, 3, H, W] -> 16 features (or logits)."""

    num_features = 16

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(3, 16, 3, stride=2)

    def forward(self, x):
        return self.conv(x.float() / 127.5 - 1).mean((2, 3))


class Toy(LightningModule):
    """A method with the generation interface: seeded drifting noise, and an animator
    that reproduces the driving clip (relative=False) or blends in the source."""

    def __init__(self):
        super().__init__()
        self.p = nn.Parameter(torch.zeros(()))

    def training_step(self, batch, batch_idx):
        return (self.p - 1) ** 2

    def test_step(self, batch, batch_idx):
        pass

    def validation_step(self, batch, batch_idx):
        pass

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)

    def sample_videos(self, n, num_frames, *, fps_scale=1.0, seed=None, **conditions):
        g = torch.Generator().manual_seed(seed)
        base = torch.rand(n, 1, 3, 16, 16, generator=g) * 2 - 1
        drift = torch.linspace(0, 0.5, num_frames).view(1, -1, 1, 1, 1) / fps_scale
        return (base + drift * (1 + conditions.get("motion_seed", 0) % 3)).clamp(-1, 1)

    def animate(self, source, driving, *, relative=True):
        return driving if not relative else 0.5 * driving + 0.5 * source[:, None]


def _landmarks_from_brightness(frames):
    """A dlib stand-in: a mouth whose size follows the frame's mean brightness."""
    out = np.zeros((len(frames), 68, 2))
    t = np.linspace(0, 2 * np.pi, 12, endpoint=False)
    scale = 1 + frames.reshape(len(frames), -1).mean(1, keepdims=True) / 64
    out[:, 48:60] = np.stack([np.cos(t)[None] * scale, np.sin(t)[None] * scale], -1)
    return out


@pytest.fixture(scope="module")
def tiny_i3d():
    torch.manual_seed(0)
    return I3D(num_classes=16, width=0.125, resize_to=16).eval()


@pytest.fixture
def datamodule(synthetic_root):
    return SyntheticDataModule.from_root(str(synthetic_root), resolution=16, batch_size=4)


def _trainer(tmp_path, callbacks, steps=2):
    return Trainer(
        max_steps=steps,
        accelerator="cpu",
        logger=CSVLogger(tmp_path, name="csv"),
        callbacks=[ModelCheckpoint(dirpath=tmp_path / "ckpt"), *callbacks],
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=tmp_path,
        limit_val_batches=0,
    )


def _logged(tmp_path) -> set[str]:
    (csv,) = tmp_path.glob("csv/*/metrics.csv")
    return set(csv.read_text().splitlines()[0].split(","))


def test_video_and_frame_metrics_during_fit(tmp_path, datamodule, tiny_i3d):
    video = VideoMetrics(
        ["fvd8_4f", "fvd4_4f", "fvd8_2f_subsample2f", "warping_error"],
        every_n_steps=1,
        batch_size=4,
        warping_videos=2,
        warping_frames=4,
        extractors={"i3d": tiny_i3d},
    )
    frame = FrameMetrics(
        ["fid12", "is10"],
        every_n_steps=2,
        num_frames=4,
        frames_per_video=2,
        batch_size=4,
        extractors={"inception_fid": TinyFeatures(), "inception_is": TinyFeatures()},
    )
    _trainer(tmp_path, [video, frame]).fit(Toy(), datamodule=datamodule)
    assert {
        "fvd8_4f",
        "fvd8_2f_subsample2f",
        "warping_error",
        "fid12",
        "is10",
        "is10_std",
    } <= _logged(tmp_path)
    records = json.loads((tmp_path / "ckpt" / "metrics.json").read_text())
    assert [(r["family"], r["step"]) for r in records] == [("video", 1), ("video", 2), ("frame", 2)]
    first, second = (r["metrics"] for r in records[:2])
    assert first == second  # seeded generation: the same videos at every evaluation
    assert video.scores["fvd8_4f"].num_real == 8  # real statistics: 8 clips, computed once
    assert video.scores["fvd4_4f"].num_real == 4 and video.scores["fvd4_4f"].fake_count == 4
    assert all(np.isfinite(v) for r in records for v in r["metrics"].values())


def test_test_stage_writes_the_protocol_next_to_the_tested_checkpoint(tmp_path, datamodule):
    trainer = _trainer(tmp_path, [], steps=1)
    module = Toy()
    trainer.fit(module, datamodule=datamodule)
    ckpt = tmp_path / "run.ckpt"
    trainer.save_checkpoint(ckpt)
    faces = FaceMetrics(
        ["lia_r"],
        num_frames=6,
        groups=2,
        group_size=3,
        batch_size=4,
        extractors={"face": SimpleNamespace(landmarks=_landmarks_from_brightness)},
    )
    tester = Trainer(
        accelerator="cpu",
        logger=False,
        callbacks=[faces],
        enable_progress_bar=False,
        default_root_dir=tmp_path / "elsewhere",
    )
    (results,) = tester.test(Toy(), datamodule=datamodule, ckpt_path=str(ckpt))
    assert {"lia_r", "lia_r/missing_frame_rate", "lia_r/skipped_videos"} <= set(results)
    (record,) = json.loads((tmp_path / "metrics.json").read_text())
    assert record["stage"] == "test" and record["ckpt_path"] == str(ckpt)
    assert record["metrics"]["lia_r/missing_frame_rate"] == 0
    # `lightning validate --ckpt_path` runs the same protocol for modules with validation_step
    tester.validate(Toy(), datamodule=datamodule, ckpt_path=str(ckpt))
    records = json.loads((tmp_path / "metrics.json").read_text())
    assert [r["stage"] for r in records] == ["test", "validate"]
    assert records[1]["metrics"] == records[0]["metrics"]


def test_reconstruction_scores_of_a_perfect_animator(tmp_path, datamodule):
    anim = AnimationMetrics(
        ["l1", "akd", "mkr"],
        num_clips=4,
        num_frames=6,
        batch_size=4,
        extractors={"face": SimpleNamespace(landmarks=_landmarks_from_brightness)},
    )
    faces = FaceMetrics(
        ["lia_r"],
        mode="reconstruct",
        num_frames=6,
        groups=4,
        batch_size=4,
        extractors={"face": SimpleNamespace(landmarks=_landmarks_from_brightness)},
    )
    trainer = Trainer(
        accelerator="cpu",
        logger=False,
        callbacks=[anim, faces],
        enable_progress_bar=False,
        default_root_dir=tmp_path,
    )
    trainer.test(Toy(), datamodule=datamodule)
    out = anim.history[0]["metrics"] | faces.history[0]["metrics"]
    assert out["l1"] == 0 and out["akd"] == 0 and out["mkr"] == 0
    assert out["lia_r"] == pytest.approx(1.0)
    assert len(json.loads((tmp_path / "checkpoints" / "metrics.json").read_text())) == 2


def test_generation_is_sharded_by_batch_with_fixed_seeds():
    cb = VideoMetrics(["fvd10_2f"], batch_size=3)
    module = Toy()

    def run(rank, world):
        trainer = SimpleNamespace(global_rank=rank, world_size=world, datamodule=None)
        return {int(index[0]): v for index, v in cb.generated(trainer, module, 10, 2)}

    single = run(0, 1)
    split = run(0, 2) | run(1, 2)
    assert sorted(single) == sorted(split) == [0, 3, 6, 9]
    assert len(single[9]) == 1  # 10 videos: the last batch has one
    assert all(torch.equal(single[k], split[k]) for k in single)


def test_conditions_are_fixed_or_drawn_uniformly_per_video_from_the_batch_seed():
    seen = []

    class Recorder(Toy):
        def sample_videos(self, n, num_frames, **kwargs):
            seen.append(kwargs)
            return super().sample_videos(n, num_frames, **kwargs)

    cb = VideoMetrics(
        ["fvd6_2f"],
        batch_size=3,
        conditions={"emotion": 2},
        condition_keys=["actor"],
        condition_sampling="uniform",
        fps_scale=0.5,
    )
    trainer = SimpleNamespace(global_rank=0, world_size=1, datamodule=SimpleNamespace(num_classes=lambda key: 4))
    first = [v for _, v in cb.generated(trainer, Recorder(), 6, 2)]
    again = [v for _, v in cb.generated(trainer, Recorder(), 6, 2)]
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))
    assert [k["seed"] for k in seen[:2]] == [0, 1] and all(k["emotion"] == 2 for k in seen)
    assert all(k["fps_scale"] == 0.5 and k["actor"].shape == (3,) for k in seen)
    assert all(0 <= int(a) < 4 for k in seen for a in k["actor"])
    assert torch.equal(seen[0]["actor"], seen[2]["actor"])  # same batch seed, same labels


def test_configuration_errors_are_explicit():
    with pytest.raises(ValueError, match="fvd<clips>_<span>f"):
        VideoMetrics(["fvd_16"])
    with pytest.raises(ValueError, match="need mode 'reconstruct'"):
        AnimationMetrics(["l1"], mode="cross")
    with pytest.raises(ValueError, match="group_by"):
        FaceMetrics(["lia_r"], group_by=None)
    cb = AnimationMetrics(["akd"])
    with pytest.raises(TypeError, match="animate"):
        cb.check_module(LightningModule())
