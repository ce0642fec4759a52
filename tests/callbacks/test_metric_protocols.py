"""What the metric names promise: FVD frame indices (StyleGAN-V), FID frames (StyleInV),
generated labels (StyleGAN-V), explicit labels kept, and metric states on the module's device."""

from __future__ import annotations

from collections import Counter
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from lightning.pytorch import Trainer
from test_metrics_callbacks import TinyFeatures, Toy
from test_metrics_semantic import BrightnessClassifier, TwoWordCLIP
from torch import nn
from torchmetrics import Metric

from stylevideo.callbacks.metrics import AnimationMetrics, FaceMetrics, FrameMetrics, VideoMetrics, fvd_protocol
from stylevideo.callbacks.semantic_metrics import ActionMetrics, ManipulationMetrics
from stylevideo.data_modules.synthetic import SyntheticDataModule
from stylevideo.features.i3d import I3D


class FrameIndexVideos(Toy):
    """Generated frame t of every video is a flat grey of uint8 level 2 t + 1."""

    def sample_videos(self, n, num_frames, *, fps_scale=1.0, seed=None, **conditions):
        levels = torch.arange(num_frames) * 2 + 1.5  # + 0.5: the uint8 conversion truncates
        return ((levels - 128) / 127.5).view(1, -1, 1, 1, 1).expand(n, num_frames, 3, 8, 8).clone()


def _generated_times(x: torch.Tensor) -> torch.Tensor | None:
    """The frame times encoded by FrameIndexVideos in uint8 [..., 3, H, W] frames, or None
    for frames that are not flat (real ones)."""
    flat = x.flatten(-2)
    if not (flat == flat[..., :1]).all():
        return None
    return (flat[..., 0, 0].long() - 1) // 2


class RecordingDetector(nn.Module):
    """An I3D stand-in that records what it is fed (uint8 [B, 3, T, H, W])."""

    num_features = 2

    def __init__(self):
        super().__init__()
        self.inputs = []

    def forward(self, x, rescale, resize, return_features):
        self.inputs.append(x.clone())
        return x.float().mean((1, 3, 4))[:, :2]


class RecordingFeatures(TinyFeatures):
    """An Inception stand-in that records the uint8 frames it is fed."""

    def __init__(self):
        super().__init__()
        self.inputs = []

    def forward(self, x):
        self.inputs.append(x.clone())
        return super().forward(x)


@pytest.fixture
def datamodule(synthetic_root):
    return SyntheticDataModule.from_root(str(synthetic_root), resolution=8, batch_size=4)


def _test(datamodule, callback, module=None):
    trainer = Trainer(accelerator="cpu", logger=False, callbacks=[callback], enable_progress_bar=False)
    trainer.test(module or FrameIndexVideos(), datamodule=datamodule)
    return callback.history[-1]["metrics"]


def test_fvd_name_is_stylegan_v_s_span_and_subsampling(datamodule):
    assert fvd_protocol("fvd2048_128f_subsample8f") == (2048, 16, 8)  # 16 frames of a 128-frame span
    assert fvd_protocol("fvd2048_16f") == (2048, 16, 1)
    with pytest.raises(ValueError, match="not a multiple of the subsampling 3"):
        VideoMetrics(["fvd8_10f_subsample3f"])
    detector = RecordingDetector()
    _test(datamodule, VideoMetrics(["fvd6_8f_subsample2f"], batch_size=4, extractors={"i3d": detector}))
    assert all(x.shape[2] == 4 for x in detector.inputs)  # 8 / 2 frames, real and generated
    generated = [t for t in map(_generated_times, (x.transpose(1, 2) for x in detector.inputs)) if t is not None]
    assert sum(len(t) for t in generated) == 6
    assert all(t.tolist() == [[0, 2, 4, 6]] * len(t) for t in generated)  # frames 0, 2, 4, 6 of the span
    real = sum(len(x) for x in detector.inputs) - 6
    assert real == 6  # six train videos have the 8 frames of the span


def test_fid_real_frames_over_whole_videos_and_one_generated_frame_at_a_random_time(datamodule):
    features = RecordingFeatures()
    frame = FrameMetrics(["fid40", "fid200"], num_frames=6, batch_size=8, extractors={"inception_fid": features})
    out = _test(datamodule, frame)
    assert np.isfinite(out["fid40"]) and np.isfinite(out["fid200"])
    datamodule.setup()
    frames_in_split = sum(r.num_frames for r in datamodule.records("train"))
    assert frame.scores["fid40"].real_features_num_samples == 40
    assert frame.scores["fid200"].real_features_num_samples == frames_in_split  # every real frame: 179 < 200
    # generated frames (flat greys): fid40 sees the first 40 of fid200's 200
    times = torch.cat([t for t in map(_generated_times, features.inputs) if t is not None])
    assert len(times) == 240
    assert times.min() >= 0 and times.max() <= 5 and len(set(times.tolist())) == 6  # one per video, at random times
    assert abs(times.float().mean().item() - 2.5) < 0.4


def test_generated_frame_picks_follow_the_two_protocols():
    one = FrameMetrics(["fid30"], num_frames=8, frames_per_video=3)
    video, time = one.picks(30)
    assert video.tolist() == np.repeat(np.arange(10), 3).tolist()
    assert all(len(set(time[video == v])) == 3 for v in range(10))  # distinct times per video
    styleinv = FrameMetrics(["fid30"], num_frames=8, num_videos=6)  # 30 of the 48 frames of 6 videos
    video, time = styleinv.picks(30)
    assert len(set(zip(video, time, strict=True))) == 30 and video.max() < 6 and time.max() < 8
    assert len(set(Counter(video.tolist()).values())) > 1  # not a fixed number per video
    with pytest.raises(ValueError, match="cannot be drawn from 2 videos"):
        FrameMetrics(["fid30"], num_frames=8, num_videos=2)


def test_generated_labels_are_tuples_of_the_split_with_their_frequency():
    """StyleGAN-V draws a random dataset item's label for each generated video: only pairs that
    exist, as often as they exist. Here (a, x) 6 times, (a, y) 3 times, (b, y) once; (b, x) never."""
    records = [
        SimpleNamespace(labels={"actor": a, "action": b})
        for a, b, k in [("a", "x", 6), ("a", "y", 3), ("b", "y", 1)]
        for _ in range(k)
    ]
    dm = SimpleNamespace(
        label_maps={"actor": {"a": 0, "b": 1}, "action": {"x": 0, "y": 1}},
        records=lambda split: records if split == "train" else [],
        num_classes=lambda key: 2,
    )
    seen = []

    class Recorder(Toy):
        def sample_videos(self, n, num_frames, **kwargs):
            seen.append((kwargs["actor"], kwargs["action"]))
            return torch.zeros(n, num_frames, 3, 2, 2)

    trainer = SimpleNamespace(global_rank=0, world_size=1, datamodule=dm)
    cb = VideoMetrics(["fvd3000_2f"], batch_size=500, condition_keys=["actor", "action"])
    list(cb.generated(trainer, Recorder(), 3000, 2))
    pairs = Counter(
        zip(torch.cat([a for a, _ in seen]).tolist(), torch.cat([b for _, b in seen]).tolist(), strict=True)
    )
    assert (1, 0) not in pairs and sum(pairs.values()) == 3000
    for pair, share in {(0, 0): 0.6, (0, 1): 0.3, (1, 1): 0.1}.items():
        assert pairs[pair] / 3000 == pytest.approx(share, abs=0.03)
    seen.clear()
    uniform = VideoMetrics(
        ["fvd3000_2f"], batch_size=500, condition_keys=["actor", "action"], condition_sampling="uniform"
    )
    list(uniform.generated(trainer, Recorder(), 3000, 2))
    pairs = Counter(
        zip(torch.cat([a for a, _ in seen]).tolist(), torch.cat([b for _, b in seen]).tolist(), strict=True)
    )
    assert pairs[(1, 0)] / 3000 == pytest.approx(0.25, abs=0.03)  # the option: each key uniformly


def test_condition_keys_never_replace_the_labels_the_action_callback_passes(synthetic_root):
    from test_metrics_semantic import Actor

    dm = SyntheticDataModule.from_root(str(synthetic_root), resolution=8, batch_size=4)
    cb = ActionMetrics(
        ["action_top1"],
        videos_per_pair=2,
        num_frames=4,
        condition_keys=["actor", "action"],
        extractors={"classifier": BrightnessClassifier()},
    )
    assert _test(dm, cb, Actor()) == {"action_top1": 1.0}  # scored against the labels it was made for


def _landmarks(frames):
    return np.zeros((len(frames), 68, 2))


def _descriptors(frames):
    return np.ones((len(frames), 8))


class _PairDistance(nn.Module):
    def forward(self, x, y):
        return (x - y).abs().mean((1, 2, 3), keepdim=True)


def test_every_callback_builds_its_metrics_at_setup_on_the_module_device(datamodule):
    """NCCL gathers only device tensors: every state of every metric on ``pl_module.device``
    (the meta device stands in for a GPU) once ``setup`` has run, before the first step
    (Lightning sets ``pl_module.device`` to the run's device before calling ``setup``)."""
    datamodule.setup()
    face = SimpleNamespace(landmarks=_landmarks, descriptors=_descriptors)
    callbacks = [
        VideoMetrics(["fvd4_4f", "warping_error"], extractors={"i3d": I3D(num_classes=4, width=0.125, resize_to=16)}),
        FrameMetrics(["fid10", "is10"], extractors={"inception_fid": TinyFeatures(), "inception_is": TinyFeatures()}),
        FaceMetrics(["lia_r", "identity"], extractors={"face": face}),
        AnimationMetrics(["l1", "lpips", "akd", "mkr", "aed"], extractors={"face": face, "lpips": _PairDistance()}),
        ActionMetrics(["action_top1"], extractors={"classifier": BrightnessClassifier()}),
        ManipulationMetrics(["manipulation_acc"], extractors={"clip": TwoWordCLIP()}),
    ]
    module = Toy().to("meta")
    trainer = SimpleNamespace(datamodule=datamodule, callbacks=callbacks)
    callbacks[0].setup(trainer, module, "predict")
    assert not callbacks[0].scores  # a predict run builds nothing (and needs no detector)
    for cb in callbacks:
        cb.setup(trainer, module, "test")
        metrics = [m for metric in cb.scores.values() for m in metric.modules() if isinstance(m, Metric)]
        assert len(metrics) >= len(cb.metrics) - ("mkr" in cb.metrics), type(cb).__name__
        for metric in metrics:
            assert metric.device == module.device, (type(cb).__name__, type(metric).__name__)
            states = [s for v in metric.metric_state.values() for s in (v if isinstance(v, list) else [v])]
            assert all(s.device == module.device for s in states), (type(cb).__name__, type(metric).__name__)
