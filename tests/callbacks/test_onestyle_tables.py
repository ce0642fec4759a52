"""onestyle Tables 1-3 and Fig. 5a by the evaluation configs of experiments/eval at tiny size:
which videos go in (one temporal style and different contents for r_t, one video per test clip
for the action accuracy, each clip's own labels for the inversion), the ideal scores of perfect
stand-ins, and Table 1 of a released generator through ``lightning test``."""

from __future__ import annotations

import argparse
import hashlib
import re

import numpy as np
import pytest
import torch
import yaml
from lightning import __version__ as pl_version
from lightning.pytorch import LightningModule, Trainer
from table_helpers import (
    EVAL,
    REPO,
    SYNTHETIC,
    BrightnessFace,
    ColourEmbedder,
    RecordingI3D,
    read_markdown,
    tiny_eval_config,
)
from torch import nn

from stylevideo.callbacks.tables import TableWriter
from stylevideo.cli import StyleVideoCLI, expand_config_bases
from stylevideo.data_modules.synthetic import SyntheticDataModule
from stylevideo.features.lpips_vgg import VGG16_WEIGHTS
from stylevideo.features.pose import KEYPOINT_RCNN_WEIGHTS
from stylevideo.features.requirements import MissingRequirementsError
from stylevideo.methods.onestyle import OneStyle
from stylevideo.metrics.skeleton_action import SKELETON, SkeletonActionModule

FIXTURE = REPO / "tests" / "fixtures" / "onestyle_official.pt"


def _callbacks(name: str) -> list[dict]:
    return yaml.safe_load((EVAL / f"{name}.yaml").read_text())["trainer"]["callbacks"]


def _built(name: str, i: int, **tiny):
    """The i-th callback of an evaluation config, built with its settings and ``tiny`` ones."""
    node = _callbacks(name)[i]
    module, _, cls = node["class_path"].rpartition(".")
    return getattr(__import__(module, fromlist=[cls]), cls)(**(node["init_args"] | tiny))


@pytest.fixture
def datamodule(synthetic_root):
    dm = SyntheticDataModule.from_root(str(synthetic_root), resolution=16, batch_size=3)
    dm.setup()
    return dm


def _test(module, datamodule, *callbacks, folder=None):
    trainer = Trainer(
        accelerator="cpu",
        logger=False,
        callbacks=list(callbacks),
        enable_progress_bar=False,
        enable_model_summary=False,
        enable_checkpointing=False,
        default_root_dir=folder,
        limit_test_batches=1,
    )
    trainer.test(module, datamodule=datamodule)
    return trainer


def test_the_configs_are_the_papers_protocols():
    video, face, _ = _callbacks("onestyle_table1")
    assert video["init_args"]["metrics"] == ["fvd2048_16f", "fvd2048_64f"]
    # 5.2: "100 different sequences using different content styles and the same temporal style"
    assert {k: face["init_args"][k] for k in ("metrics", "embedder", "groups", "group_size", "group_by")} == {
        "metrics": ["lia_r", "identity"],
        "embedder": "arcface",
        "groups": 1,
        "group_size": 100,
        "group_by": "motion_seed",
    }
    video, action, *writers = _callbacks("onestyle_table2")
    assert (video["init_args"]["split"], action["init_args"]["split"]) == ("test", "test")
    assert action["init_args"]["videos_per_pair"] is None and [w["init_args"]["table"] for w in writers] == [
        "table2",
        "table3",
    ]
    face, writer = _callbacks("onestyle_fig5a")
    fig = {k: face["init_args"][k] for k in ("mode", "split", "num_frames", "groups", "animate_inputs")}
    assert fig == {
        "mode": "reconstruct",
        "split": "test",
        "num_frames": 120,
        "groups": 39,
        "animate_inputs": ["actor", "emotion"],
    }
    assert writer["init_args"]["row_hparams"] == ["k"]


@pytest.mark.parametrize(
    ("configs", "expected"),
    [
        (
            ["onestyle_synthetic.yaml", "eval/onestyle_table2.yaml"],
            ["VideoMetrics", "ActionMetrics", *["TableWriter"] * 2],
        ),
        (["onestyle_synthetic.yaml", "eval/onestyle_fig5a.yaml"], ["FaceMetrics", "TableWriter"]),
        (["eval/utdmhad_skeleton_recognizer.yaml"], ["ModelCheckpoint"]),
    ],
)
def test_the_configs_build_with_an_experiment(configs, expected, tmp_path):
    argv = [a for c in configs for a in ("--config", str(REPO / "experiments" / c))] + ["--run_dir", str(tmp_path)]
    cli = StyleVideoCLI(args=expand_config_bases(argv), run=False)
    assert [type(c).__name__ for c in cli.trainer.callbacks if type(c).__name__ in expected] == expected
    if configs[0].startswith("eval/"):  # the recogniser of Tables 2-3: 27 UTD-MHAD actions
        assert (type(cli.model).__name__, cli.model.hparams.num_classes) == ("SkeletonActionModule", 27)


# --- Table 1: r_t of one temporal style and different contents ----------------------------


class MotionVideos(LightningModule):
    """Videos whose brightness follows the motion of ``motion_seed`` and whose colour balance
    (not their brightness) follows the content: every group of one motion has r_t = 1."""

    def __init__(self, conditioned: bool = True, shared: bool = True):
        super().__init__()
        self.p = nn.Parameter(torch.zeros(()))
        self.condition_labels = ("actor", "action") if conditioned else ()
        self.shared, self.calls = shared, []

    def test_step(self, batch, batch_idx):
        pass

    def sample_videos(self, n, num_frames, *, fps_scale=1.0, seed=None, motion_seed=None, **content):
        self.calls.append({"n": n, "seed": seed, "motion_seed": motion_seed, **content})
        g = torch.Generator().manual_seed(motion_seed if motion_seed is not None else seed)
        motion = torch.rand(1 if self.shared else n, num_frames, generator=g) - 0.5  # brightness over time
        tint = torch.rand(n, generator=torch.Generator().manual_seed(seed)) * 0.3
        if content:
            tint = (content["actor"] * 3 + content["action"]).float() / 30
        colour = torch.stack([tint, torch.zeros(n), -tint], 1)[:, None, :, None, None]
        return (motion[:, :, None, None, None] + colour).expand(n, num_frames, 3, 8, 8).clamp(-1, 1)


def test_table1_lia_groups_one_motion_with_different_contents(datamodule):
    face = dict(extractors={"face": BrightnessFace(), "arcface": ColourEmbedder()})
    callback = _built("onestyle_table1", 1, num_frames=6, group_size=5, condition_keys=["actor", "action"], **face)
    model = MotionVideos()
    _test(model, datamodule, callback)
    assert callback.history[-1]["metrics"]["lia_r"] == pytest.approx(1.0, abs=1e-4)  # uint8 rounding
    (call,) = model.calls  # one group: one temporal style (motion_seed), 5 videos
    assert (call["n"], call["motion_seed"]) == (5, callback.seed)
    pairs = list(zip(call["actor"].tolist(), call["action"].tolist(), strict=True))
    maps = datamodule.label_maps
    train = {
        (maps["actor"][r.labels["actor"]], maps["action"][r.labels["action"]]) for r in datamodule.records("train")
    }
    assert len(set(pairs)) == 5 and set(pairs) <= train  # different contents that exist
    with pytest.raises(ValueError, match="10 videos with different contents.*have 9"):
        crowded = _built("onestyle_table1", 1, num_frames=6, group_size=10, condition_keys=["actor", "action"], **face)
        _test(MotionVideos(), datamodule, crowded)

    unconditional = MotionVideos(conditioned=False)  # an unconditional model is given no labels
    callback = _built("onestyle_table1", 1, num_frames=6, group_size=5, **face)
    _test(unconditional, datamodule, callback)
    assert set(unconditional.calls[0]) == {"n", "seed", "motion_seed"}
    assert callback.history[-1]["metrics"]["lia_r"] == pytest.approx(1.0, abs=1e-4)
    _test(MotionVideos(conditioned=False, shared=False), datamodule, callback)  # motions that ignore the style
    assert callback.history[-1]["metrics"]["lia_r"] < 0.5


def released_generator(tmp_path) -> str:
    """The fixture's generator in the authors' train.py layout (its narrowed widths are not
    their table, so its args do not claim a channel multiplier)."""
    reference = torch.load(FIXTURE, weights_only=True)["checkpoint"]
    args = {k: v for k, v in reference["args"].items() if k != "channel_multiplier"}
    path = tmp_path / "mead_released.pt"
    torch.save({"g_ema": reference["g_ema"], "args": argparse.Namespace(**args)}, path)
    return str(path)


def test_table1_of_a_released_generator_through_lightning_test(tmp_path, synthetic_root):
    names = {"fvd2048_16f": "fvd6_2f", "fvd2048_64f": "fvd6_4f"}
    stand_ins = {
        "face": {"class_path": "table_helpers.BrightnessFace"},
        "arcface": {"class_path": "table_helpers.ColourEmbedder"},
    }
    labels = ["actor", "action"]  # the synthetic data's label names (MEAD: actor, emotion)
    tiny = tiny_eval_config(
        "onestyle_table1",
        {
            0: {"metrics": list(names.values()), "batch_size": 3, "condition_keys": labels},
            1: {"num_frames": 4, "group_size": 4, "condition_keys": labels, "extractors": stand_ins},
            2: {"metric_names": names},
        },
        tmp_path / "tiny.yaml",
        model={
            "class_path": "stylevideo.methods.onestyle.OfficialOneStyle",
            "init_args": {"checkpoint": released_generator(tmp_path)},
        },
        data={"init_args": {"root": str(synthetic_root), "resolution": 64, "batch_size": 3, **SYNTHETIC}},
        trainer={"logger": False, "accelerator": "cpu", "devices": 1, "enable_progress_bar": False},
    )
    config = yaml.safe_load(tiny.read_text())
    config["trainer"]["callbacks"][0]["init_args"]["extractors"] = {"i3d": {"class_path": "table_helpers.RecordingI3D"}}
    tiny.write_text(yaml.safe_dump(config, sort_keys=False))
    argv = ["test", "--config", str(REPO / "experiments" / "onestyle_synthetic.yaml"), "--config"]
    argv += [str(EVAL / "onestyle_table1.yaml"), "--config", str(tiny), "--run_dir", str(tmp_path / "run")]
    cli = StyleVideoCLI(args=expand_config_bases(argv))
    assert type(cli.model).__name__ == "OfficialOneStyle" and cli.model.condition_labels == ("actor", "action")
    fed = cli.trainer.callbacks[0].scores["fvd6_2f"].detector.seen
    # 6 real clips of 2 and of 4 frames, then 6 generated videos of 4 frames: FVD16 their first 2
    assert [tuple(x.shape[:3]) for x in fed] == [(3, 3, 2)] * 2 + [(3, 3, 4)] * 2 + [(3, 3, 2), (3, 3, 4)] * 2
    assert torch.equal(fed[4], fed[5][:, :, :2]) and torch.equal(fed[6], fed[7][:, :, :2])

    grid = read_markdown(tmp_path / "run" / "table1.md")
    assert grid[0] == ["Method", "FVD16/64", "r_t", "ArcFace"]
    assert grid[5] == ["Ours(C)", "115/655", "0.7", "0.96±0.02"]
    assert grid[6][0] == "ours: OfficialOneStyle (mead_released.pt)"
    assert re.fullmatch(r"-?\d+/-?\d+", grid[6][1]) and re.fullmatch(r"-?\d\.\d\d±\S+", grid[6][3])
    assert -1 <= float(grid[6][2]) <= 1
    text = (tmp_path / "run" / "table1.md").read_text()
    digest = hashlib.sha256((tmp_path / "mead_released.pt").read_bytes()).hexdigest()
    assert f"Checkpoint: {tmp_path / 'mead_released.pt'} (sha256 {digest})" in text
    assert "groups=1, group_size=4, group_by=motion_seed, embedder=arcface" in text
    assert "Deviation: ArcFace: pSp's IR-SE50 ArcFace" in text and "extractor 'arcface' is a stand-in" in text


# --- Tables 2-3: one video per test clip, its pair's labels, the recogniser named ----------


class PairVideos(LightningModule):
    """A perfect conditional generator: the real test clips of the requested (actor, action)."""

    condition_labels = ("actor", "action")

    def __init__(self, clips: torch.Tensor, actors: torch.Tensor, actions: torch.Tensor):
        super().__init__()
        self.save_hyperparameters(ignore=["clips", "actors", "actions"])
        self.hparams.update(dt_time_points=3, time_discriminator=True)
        self.p = nn.Parameter(torch.zeros(()))
        self.clips, self.actors, self.actions, self.calls = clips, actors, actions, []

    def test_step(self, batch, batch_idx):
        pass

    def sample_videos(self, n, num_frames, *, fps_scale=1.0, seed=None, actor=None, action=None):
        self.calls.append((actor.tolist(), action.tolist()))
        rows = [
            int(((self.actors == a) & (self.actions == c)).nonzero()[0]) for a, c in zip(actor, action, strict=True)
        ]
        return self.clips[rows, :num_frames]


class OracleRecognizer(nn.Module):
    """A perfect recogniser for the real clips: the action of the clip a video is."""

    description = "oracle (test)"

    def __init__(self, clips: torch.Tensor, actions: torch.Tensor, num_classes: int = 3):
        super().__init__()
        self.clips, self.actions, self.num_classes, self.seen = clips, actions, num_classes, 0

    def forward(self, videos):
        self.seen += len(videos)
        which = [next(i for i, c in enumerate(self.clips) if torch.equal(c[: v.shape[0]], v.cpu())) for v in videos]
        return nn.functional.one_hot(self.actions[which], self.num_classes).float()


def test_tables2_and_3_one_video_per_test_clip_and_the_recogniser_named(datamodule, tmp_path):
    batches = list(datamodule.clip_dataloader(12, split="test"))
    clips, actors, actions = (torch.cat([b[k] for b in batches]) for k in ("frames", "actor", "action"))
    oracle = OracleRecognizer(clips, actions)
    action = _built("onestyle_table2", 1, num_frames=8, extractors={"classifier": oracle})
    video = _built("onestyle_table2", 0, metrics=["fvd9_4f"], batch_size=3, extractors={"i3d": RecordingI3D()})
    names = {"metric_names": {"fvd2048_16f": "fvd9_4f"}}
    writers = [_built("onestyle_table2", i, **names) for i in (2, 3)]
    model = PairVideos(clips, actors, actions)
    _test(model, datamodule, video, action, *writers, folder=tmp_path)
    assert action.history[-1]["metrics"] == {"action_top1": 1.0, "action_top3": 1.0}
    assert oracle.seen == len(datamodule.records("test")) == 9  # one video per test clip
    test_pairs = set(zip(actors.tolist(), actions.tolist(), strict=True))
    generated = [p for a, c in model.calls for p in zip(a, c, strict=True)]
    assert len(generated) == 9 + 9 and set(generated) <= test_pairs  # FVD's labels: those of test clips
    assert video.scores["fvd9_4f"].num_real == 9  # against the real test clips

    two, three = (read_markdown(tmp_path / f"table{i}.md") for i in (2, 3))
    assert two[0] == ["Methods", "StyleGAN-V", "ImaGINator", "Ours(C)", "ours: PairVideos (no checkpoint)"]
    assert two[2][1:4] == ["n/a", "(0, 25)", "(68.5, 93.5)"] and two[2][4] == "(100.0, 100.0)"
    assert three[-1][0] == "ours: PairVideos dt_time_points=3 time_discriminator=True (no checkpoint)"
    assert three[-1][2] == "100.0/100.0"
    assert "Action recogniser: oracle (test) (given in the config)" in (tmp_path / "table2.md").read_text()


def test_a_skeleton_recogniser_checkpoint_loads_with_its_pose_network_declared(datamodule, tmp_path):
    ckpt = tmp_path / "skeleton.ckpt"
    module = SkeletonActionModule(3, width=8, blocks=2)
    torch.save(
        {
            "state_dict": module.state_dict(),
            "hyper_parameters": dict(module.hparams),
            "pytorch-lightning_version": pl_version,
        },
        ckpt,
    )
    callback = _built("onestyle_table2", 1, classifier_ckpt=str(ckpt), num_frames=4)
    assert callback.required_weights("test") == {KEYPOINT_RCNN_WEIGHTS: None}  # checked before the run
    assert callback.required_weights("fit") == {}

    def pose(frames):  # a pose-network stand-in: 17 points from the frame's brightness
        return np.repeat(frames.reshape(len(frames), -1).mean(1)[:, None, None], 17, 1).repeat(2, 2)

    callback = _built("onestyle_table2", 1, classifier_ckpt=str(ckpt), num_frames=4, extractors={"pose": pose})
    assert callback.required_weights("test") == {}
    batches = list(datamodule.clip_dataloader(12, split="test"))
    clips, actors, actions = (torch.cat([b[k] for b in batches]) for k in ("frames", "actor", "action"))
    trainer = _test(PairVideos(clips, actors, actions), datamodule, callback)
    recogniser = callback.scores["accuracy"].classifier
    assert recogniser.description == SKELETON and recogniser.keypoints.keypoints is pose
    lines = TableWriter("onestyle", "table2").protocol(trainer, trainer.lightning_module)
    digest = hashlib.sha256(ckpt.read_bytes()).hexdigest()
    assert f"Action recogniser: {SKELETON}; {ckpt} (sha256 {digest})" in lines


# --- Fig. 5a: each clip inverted with its own labels, correlated with its inversion --------


class Inverter(LightningModule):
    """A perfect inversion: ``animate`` returns the driving clip; it records the labels given."""

    def __init__(self):
        super().__init__()
        self.p = nn.Parameter(torch.zeros(()))
        self.labels = []

    def test_step(self, batch, batch_idx):
        pass

    def animate(self, source, driving, *, relative=True, **labels):
        assert not relative
        self.labels.append({k: v.tolist() for k, v in labels.items()})
        return driving


def test_fig5a_inverts_each_clip_with_its_labels(datamodule, tmp_path):
    face = {"face": BrightnessFace()}
    labels = ["actor", "action"]  # the synthetic data's names for MEAD's actor and emotion
    callback = _built("onestyle_fig5a", 0, num_frames=6, groups=4, batch_size=2, animate_inputs=labels, extractors=face)
    model = Inverter()
    _test(model, datamodule, callback)
    assert callback.history[-1]["metrics"]["lia_r"] == pytest.approx(1.0)
    clips = list(datamodule.clip_dataloader(6, split="test", max_clips=4, batch_size=2))
    assert model.labels == [{k: b[k].tolist() for k in labels} for b in clips]  # each clip's own labels
    with pytest.raises(ValueError, match=r"animate_inputs \['emotion'\] are not labels of the 'test' clips"):
        _test(Inverter(), datamodule, _built("onestyle_fig5a", 0, num_frames=6, groups=2, extractors=face))

    # onestyle itself: its inversion needs LPIPS-VGG, checked before the run when a callback animates
    torch.manual_seed(0)
    tiny = dict(resolution=16, k=8, style_dim=8, mapping_layers=2, motion_layers=2, channel_base=64, channel_max=8)
    onestyle = OneStyle(**tiny, num_actors=3, num_actions=3, dt_time_dim=8, dt_embed_dim=8, inversion_steps=2)
    callback = _built("onestyle_fig5a", 0, num_frames=4, groups=2, batch_size=2, animate_inputs=labels, extractors=face)
    with pytest.raises(MissingRequirementsError, match=VGG16_WEIGHTS):
        _test(onestyle, datamodule, callback)
    assert not callback.history
    onestyle.set_perceptual(lambda fake, real: (fake - real).abs().mean((1, 2, 3)))  # an LPIPS stand-in
    trainer = _test(onestyle, datamodule, callback)
    assert -1 <= callback.history[-1]["metrics"]["lia_r"] <= 1
    writer = TableWriter("onestyle", "fig5a", row_hparams=["k"])
    assert writer.row_name(trainer, onestyle) == "ours: OneStyle k=8 (no checkpoint)"
