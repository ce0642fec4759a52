"""The protocols of lia Tables 1-2 and vidstyleode Tables 1, 2 and 6 on the synthetic data, with
stand-in detectors: which videos, frames and sources go in, the ideal score of a perfect model, the
authors' per-video averaging, and the table writer's choice of columns by data module."""

from __future__ import annotations

import csv
import os
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import yaml
from jsonargparse import ArgumentParser
from lightning.pytorch import Callback, LightningModule, Trainer
from test_metric_protocols import RecordingDetector
from test_metrics_callbacks import TinyFeatures, _landmarks_from_brightness

from stylevideo.callbacks.animation_metrics import AnimationMetrics
from stylevideo.callbacks.metrics import FrameMetrics, VideoMetrics
from stylevideo.callbacks.tables import EVAL_DIR, TableWriter
from stylevideo.callbacks.video_fid import VideoFIDMetrics
from stylevideo.data_modules import fashion, ravdess, taichi, ted, voxceleb
from stylevideo.data_modules.folder import VideoFolderDataModule
from stylevideo.data_modules.synthetic import SyntheticDataModule
from stylevideo.metrics.animation_protocol import cross_identity_sources
from stylevideo.video.io import frames_to_tensor, read_frames
from stylevideo.video.synthetic import generate_synthetic_dataset

RES = 16


class Animator(LightningModule):
    """Records every ``animate`` / ``edit`` call and returns ``scale`` times the driving frames
    (1: a perfect reconstruction)."""

    def __init__(self, scale: float = 1.0):
        super().__init__()
        self.p = torch.nn.Parameter(torch.zeros(()))
        self.scale, self.calls = scale, []

    def test_step(self, batch, batch_idx):
        pass

    def animate(self, source, driving, *, relative=True, **options):
        self.calls.append(SimpleNamespace(source=source.clone(), driving=driving.clone(), relative=relative, **options))
        return driving * self.scale

    def edit(self, clips, sources, targets):
        self.calls.append(SimpleNamespace(driving=clips.clone(), targets=list(targets)))
        return clips * self.scale

    def descriptions(self, batch):
        return [f"video {v}" for v in batch["video_id"]]


def decoded(record, n=None) -> torch.Tensor:
    """A video decoded independently of the data module: its first ``n`` frames, ``[T, 3, RES, RES]``."""
    return frames_to_tensor(read_frames(record.path, np.arange(n or record.num_frames)), RES)


def brightness_embedding(frames: np.ndarray) -> np.ndarray:
    """A face-embedder stand-in: the mean colour of each frame."""
    return frames.reshape(len(frames), -1, 3).mean(1) / 255


FACE = SimpleNamespace(landmarks=_landmarks_from_brightness, descriptors=brightness_embedding)


class PairDistance(torch.nn.Module):
    """An LPIPS stand-in: the mean absolute difference of each frame pair."""

    def forward(self, x, y):
        return (x - y).abs().mean((1, 2, 3), keepdim=True)


class ColourStatistics(torch.nn.Module):
    """A ResNeXt stand-in for the video FID: per-channel mean and std of a video."""

    num_features = 6

    def features(self, videos):
        return torch.cat([videos.float().mean(dim=(1, 3, 4)), videos.float().std(dim=(1, 3, 4))], dim=1)


@pytest.fixture(scope="module")
def dm(synthetic_root):
    datamodule = SyntheticDataModule.from_root(str(synthetic_root), resolution=RES, batch_size=4)
    datamodule.setup()
    return datamodule


def run_test(dm, module, *callbacks, folder=None):
    trainer = Trainer(
        accelerator="cpu",
        logger=False,
        callbacks=list(callbacks),
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=folder,
    )
    trainer.test(module, datamodule=dm)
    return trainer


def test_lia_table1_every_frame_of_every_test_video_and_a_perfect_score(dm, tmp_path):
    records = dm.records("test")
    assert len({r.num_frames for r in records}) > 1  # videos of several lengths, none left out
    anim = AnimationMetrics(
        ["l1", "lpips", "akd", "mkr", "aed"],
        whole_videos=True,
        num_clips=None,
        chunk=7,
        split="test",
        extractors={"face": FACE, "lpips": PairDistance()},
    )
    model = Animator()
    run_test(dm, model, anim, folder=tmp_path)
    assert anim.history[-1]["metrics"] == {
        "l1": 0,
        "lpips": 0,
        "akd": 0,
        "mkr": 0,
        "aed": 0,
        "aed/missing_frame_rate": 0,
    }
    calls = iter(model.calls)
    for record in records:  # in index order, each whole, in parts of at most 7 frames
        video = decoded(record)
        parts = [next(calls) for _ in range(0, len(video), 7)]
        assert torch.equal(torch.cat([c.driving[0] for c in parts]), video)
        assert all(torch.equal(c.source[0], video[0]) and c.relative is False for c in parts)  # Eq. 11
    assert next(calls, None) is None


def test_lia_table1_l1_and_lpips_are_averaged_per_video_then_over_videos(dm, tmp_path):
    anim = AnimationMetrics(
        ["l1", "lpips"], whole_videos=True, num_clips=None, chunk=5, split="test", extractors={"lpips": PairDistance()}
    )
    run_test(dm, Animator(scale=0.5), anim, folder=tmp_path)
    videos = [decoded(r).double().numpy() for r in dm.records("test")]
    # LIA's evaluation.py: |0.5 (clamp(recon) - real)| averaged per video (line 123), then np.mean over videos
    l1 = [np.abs(0.5 * (np.clip(0.5 * v, -1, 1) - v)).mean() for v in videos]
    lpips = [np.abs(0.5 * v - v).mean() for v in videos]  # the stand-in's per-frame distance, averaged per video
    pooled = np.concatenate([np.abs(0.25 * v).ravel() for v in videos]).mean()
    out = anim.history[-1]["metrics"]
    assert out["l1"] == pytest.approx(np.mean(l1), rel=1e-6) and out["lpips"] == pytest.approx(np.mean(lpips), rel=1e-5)
    assert abs(np.mean(l1) - pooled) > 1e-4  # the pooled mean over all frames is another number


def test_lia_table2_pairs_relative_transfer_and_a_perfect_video_fid(dm, tmp_path):
    """Inner-dataset (VoxCeleb column) and cross-dataset (GermanPublicTV: sources from a folder of
    videos) in one run, both columns written by the table."""
    sources = tmp_path / "germanpublictv"
    sources.mkdir()
    for record in dm.records("train")[:3]:
        os.symlink(record.path, sources / f"{record.video_id.replace('/', '_')}.mp4")
    inner = VideoFIDMetrics(num_frames=10, chunk=4, extractors={"resnext3d": ColourStatistics()})
    cross = VideoFIDMetrics(
        num_frames=10,
        prefix="cross_dataset/",
        source_data=VideoFolderDataModule(str(sources), resolution=RES, cache_dir=str(tmp_path / "cache")),
        extractors={"resnext3d": ColourStatistics()},
    )
    writer = TableWriter("lia", "table2", groups={"SyntheticDataModule": ["VoxCeleb", "GermanPublicTV"]})
    model = Animator()
    run_test(dm, model, inner, cross, writer, folder=tmp_path / "run")
    records = {r.video_id: r for r in dm.records("test")}
    for name, source_ids in (("pairs_test.csv", set(records)), ("pairs_cross_dataset_test.csv", None)):
        with open(tmp_path / "run" / name, newline="") as f:
            pairs = list(csv.reader(f))[1:]
        assert sorted(d for _, d in pairs) == sorted(records)  # every test video drives once
        if source_ids is not None:
            assert all(s in source_ids and s != d for s, d in pairs)
    assert {s for s, _ in pairs} <= {p.stem for p in sources.iterdir()}  # cross-dataset sources from the folder
    assert inner.pairs == str(tmp_path / "run" / "pairs_test.csv")  # the protocol line names the file
    with open(tmp_path / "run" / "pairs_test.csv", newline="") as f:
        (source_id, driving_id), *_ = list(csv.reader(f))[1:]
    first = [c for c in model.calls if c.driving.shape[1] > 0][:3]  # the first pair's parts: 4 + (1 + 4) + (1 + 2)
    expected = decoded(records[driving_id], 10)
    assert torch.equal(first[0].source[0], decoded(records[source_id], 1)[0])
    assert torch.equal(torch.cat([first[0].driving[0], first[1].driving[0, 1:], first[2].driving[0, 1:]]), expected)
    assert all(c.relative and torch.equal(c.driving[0, 0], expected[0]) for c in first)  # Eq. 12, anchored at x_1
    out = inner.history[-1]["metrics"] | cross.history[-1]["metrics"]
    assert abs(out["video_fid"]) < 1e-6 and abs(out["cross_dataset/video_fid"]) < 1e-6
    row = (tmp_path / "run" / "table2.md").read_text().splitlines()
    assert any(line.startswith("| ours: Animator (no checkpoint) | 0.000 | 0.000 |") for line in row)


def test_vidstyleode_table2_cross_identity_sources_and_perfect_akd(dm, tmp_path):
    records = {r.video_id: r for r in dm.records("test")}
    firsts = {v: decoded(r, 1)[0] for v, r in records.items()}
    sources = cross_identity_sources(dm, "test", seed=0)(list(records))
    for driving, source in zip(records, sources, strict=True):
        (match,) = [v for v, frame in firsts.items() if torch.equal(frame, source)]
        assert records[match].labels["actor"] != records[driving].labels["actor"]  # another identity
    same = AnimationMetrics(["akd", "aed"], num_clips=4, num_frames=6, split="test", extractors={"face": FACE})
    cross = AnimationMetrics(["akd"], mode="cross", num_clips=4, num_frames=6, split="test", extractors={"face": FACE})
    model = Animator()
    run_test(dm, model, same, cross, folder=tmp_path)
    assert same.history[-1]["metrics"]["akd"] == 0 and cross.history[-1]["metrics"]["akd_cross"] == 0
    crossed = model.calls[-1]  # the cross callback's batch: sources are other actors' first frames
    assert crossed.relative and not any(
        torch.equal(s, d) for s, d in zip(crossed.source, crossed.driving[:, 0], strict=True)
    )


@pytest.fixture(scope="module")
def long_clips(tmp_path_factory):
    """Two test videos of 34 frames: the span of 12 frames at 10 fps on 30-fps video."""
    root = generate_synthetic_dataset(
        tmp_path_factory.mktemp("long"), num_actors=2, actions=("talk",), clips_per_pair=3,
        min_frames=34, max_frames=34, resolution=RES, fps=30, seed=1,
    )  # fmt: skip
    return SyntheticDataModule.from_root(str(root), resolution=RES, batch_size=2)


def test_vidstyleode_tables_1_and_6_frames_and_perfect_scores(long_clips, tmp_path):
    """Table 1: edited test clips, FVD on every 3rd of 34 frames, FID on one frame per video; Table 6:
    same-identity animation with the content code option passed to animate."""
    detector = RecordingDetector()
    table1 = VideoMetrics(["fvd2_36f_subsample3f"], mode="edit", split="test", extractors={"i3d": detector})
    frames = FrameMetrics(
        ["fid2"], mode="edit", split="test", num_frames=34, extractors={"inception_fid": TinyFeatures()}
    )
    table6 = VideoMetrics(
        ["fvd2_36f_subsample3f"],
        mode="reconstruct",
        split="test",
        prefix="mean_frame/",
        animate_options={"content": "mean"},
        extractors={"i3d": RecordingDetector()},
    )
    model = Animator()
    run_test(long_clips, model, table1, frames, table6, folder=tmp_path)
    out = table1.history[-1]["metrics"] | frames.history[-1]["metrics"] | table6.history[-1]["metrics"]
    assert all(abs(out[k]) < 1e-6 for k in ("fvd2_36f_subsample3f", "fid2", "mean_frame/fvd2_36f_subsample3f"))
    clips = torch.stack([decoded(r) for r in long_clips.records("test")])
    fed = ((clips[:, ::3] * 127.5 + 128).clamp(0, 255).to(torch.uint8)).permute(0, 2, 1, 3, 4)
    assert [x.shape[2] for x in detector.inputs] == [12, 12] and all(torch.equal(x, fed) for x in detector.inputs)
    edits, animations = model.calls[:2], model.calls[-1:]
    assert [e.targets for e in edits] == [
        [f"video {v}" for v in reversed([r.video_id for r in long_clips.records("test")])]
    ] * 2
    assert animations[0].content == "mean" and animations[0].relative is False
    assert torch.equal(animations[0].source, clips[:, 0])
    with pytest.raises(ValueError, match="animate_options need mode 'reconstruct'"):
        VideoMetrics(["fvd2_16f"], mode="sample", animate_options={"content": "mean"})


def test_animate_inputs_are_the_source_clips_entries_in_every_mode():
    """vidstyleode's Fashion model (no inverter) gets each clip's W+ codes ``inversion``: its own in
    reconstruct and edit, in cross the source clip's (the previous of the batch, as its first frame)."""
    frames, codes = torch.rand(3, 4, 3, RES, RES), torch.randn(3, 4, 2, 5)
    batch = {"frames": frames, "inversion": codes, "text": ["a", "b", "c"]}
    model = Animator()
    model.edit = lambda clips, sources, targets, **inputs: model.calls.append(SimpleNamespace(**inputs)) or clips
    for mode, expected in (("reconstruct", codes), ("cross", codes[[2, 0, 1]]), ("edit", codes)):
        VideoMetrics(["fvd2_4f"], mode=mode, animate_inputs=["inversion"]).animated(model, batch)
        assert torch.equal(model.calls[-1].inversion, expected), mode
    assert torch.equal(model.calls[1].source, frames[[2, 0, 1], 0]) and model.calls[1].relative is True
    with pytest.raises(ValueError, match=r"animate_inputs \['actor'\] are not entries"):
        VideoMetrics(["fvd2_4f"], mode="reconstruct", animate_inputs=["actor"]).animated(model, batch)
    with pytest.raises(ValueError, match="needs batches of 2 clips or more"):
        VideoMetrics(["fvd2_4f"], mode="cross").animated(model, {"frames": frames[:1]})
    with pytest.raises(ValueError, match="animate_inputs are for real clips' modes"):
        VideoMetrics(["fvd2_4f"], mode="sample", animate_inputs=["inversion"])


def test_table_columns_chosen_by_data_module():
    writer = TableWriter("lia", "table1", groups={"TaiChiDataModule": ["TaichiHD"], "TEDTalkDataModule": ["TED-talks"]})
    for name, group in (("TaiChiDataModule", ["TaichiHD"]), ("TEDTalkDataModule", ["TED-talks"])):
        writer.setup(SimpleNamespace(datamodule=type(name, (), {})()), None, "test")
        assert writer.groups == group
    with pytest.raises(ValueError, match="this run's data module is VoxCelebDataModule"):
        writer.setup(SimpleNamespace(datamodule=type("VoxCelebDataModule", (), {})()), None, "test")
    with pytest.raises(ValueError, match="needs groups from"):
        TableWriter("lia", "table1", groups={"TaiChiDataModule": ["Taichi"]})


CONFIGS = sorted(p.stem for p in Path(EVAL_DIR).glob("*_table*.yaml") if p.stem.startswith(("lia", "vidstyleode")))
#: Columns a config leaves to another run or config: bodies' AED (no re-ID network), the
#: GermanPublicTV column (lia_table2_germanpublictv.yaml adds it).
LEFT_OUT = {"lia_table1_body": {"aed"}, "lia_table2": {"cross_dataset/video_fid"}}


def _logged(callback) -> set[str]:
    names = [
        n + "_cross" if getattr(callback, "mode", None) == "cross" and n.startswith("akd") else n
        for n in callback.metrics
    ]
    return {callback.prefix + n for n in names}


@pytest.mark.parametrize("name", CONFIGS)
def test_every_evaluation_config_builds_and_computes_its_tables_columns(name):
    """Each config's callbacks parse as LightningCLI parses them (jsonargparse) and build; the
    metrics they log fill every column of the groups their writers fill, for data modules that exist."""
    assert len(CONFIGS) == 9
    config = yaml.safe_load((Path(EVAL_DIR) / f"{name}.yaml").read_text())
    parser = ArgumentParser(exit_on_error=False)
    parser.add_argument("--callbacks", type=list[Callback])
    nodes = config["trainer"].get("callbacks") or config["trainer"]["callbacks+"]  # + : appended to another config's
    callbacks = parser.instantiate(parser.parse_object({"callbacks": nodes})).callbacks
    logged = set().union(*(_logged(c) for c in callbacks if not isinstance(c, TableWriter)))
    writers = [c for c in callbacks if isinstance(c, TableWriter)]
    if name == "lia_table2_germanpublictv":
        assert not writers and logged == {"cross_dataset/video_fid"}
        return
    modules = {
        c.__name__ for m in (fashion, ravdess, taichi, ted, voxceleb) for c in vars(m).values() if isinstance(c, type)
    }
    missing = set()
    for writer in writers:
        groups = writer.groups_by_data or {"": writer.groups}
        assert set(groups) <= modules | {""}, groups
        filled = {g for gs in groups.values() for g in gs}
        needed = {writer.metric_names.get(m, m) for c in writer.table.columns if c.group in filled for m in c.metrics}
        missing |= needed - logged
    assert missing == LEFT_OUT.get(name, set())


def test_metrics_json_goes_to_the_run_folder_when_the_tested_checkpoints_folder_is_read_only(tmp_path, monkeypatch):
    """``--ckpt_path /shared/weights/vox.pt``: a released file's folder is often read-only."""
    from stylevideo.callbacks.metric_base import MetricCallback

    ckpt = tmp_path / "weights" / "vox.pt"
    ckpt.parent.mkdir()
    ckpt.write_bytes(b"")
    trainer = SimpleNamespace(ckpt_path=str(ckpt), checkpoint_callback=None, default_root_dir=str(tmp_path / "run"))
    assert MetricCallback.json_path(trainer) == ckpt.parent / "metrics.json"
    writable = os.access
    monkeypatch.setattr(os, "access", lambda path, mode: Path(path) != ckpt.parent and writable(path, mode))
    assert MetricCallback.json_path(trainer) == tmp_path / "run" / "metrics.json"
