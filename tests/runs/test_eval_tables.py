"""``lightning test`` with the evaluation configs of experiments/eval/ writes the papers' tables:
lia Table 1 (and 4, 5) from the authors' checkpoint layout given as ``--ckpt_path``, vidstyleode
Table 2 from the synthetic experiment. The configs are used as they are, but for the data module
they fill a group for (the synthetic one) and, for speed, fewer or shorter clips."""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from run_helpers import REPO, SYNTHETIC
from torchvision.models import AlexNet

from stylevideo.cli import main
from stylevideo.data_modules.synthetic import SyntheticDataModule
from stylevideo.methods.lia import load_official_checkpoint

EVAL = REPO / "experiments" / "eval"
FIXTURE = REPO / "tests" / "fixtures" / "lia_official.pt"
SYNTHETIC_ARGS = [f"--data.init_args.{k}={v}" for k, v in SYNTHETIC.items() if k != "actions"] + [
    "--data.init_args.actions=[talk, nod, smile]",
    "--data.init_args.num_workers=0",
    "--trainer.logger=false",
    "--trainer.enable_progress_bar=false",
]


def eval_config(tmp_path: Path, name: str, groups: list[str] | None, **overrides) -> Path:
    """experiments/eval/<name>.yaml with its writers' groups given for SyntheticDataModule and
    ``overrides`` set in its metric callbacks."""
    config = yaml.safe_load((EVAL / f"{name}.yaml").read_text())
    for callback in config["trainer"]["callbacks"]:
        args = callback["init_args"]
        if callback["class_path"].endswith("TableWriter"):
            args["groups"] = {"SyntheticDataModule": groups}
        else:
            args.update(overrides)
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def alexnet_features(folder: Path) -> None:
    """A random-weight AlexNet backbone for LPIPS, where the weight loader looks for it."""
    with torch.device("meta"):
        features = AlexNet().features
    features = features.to_empty(device="cpu")
    for layer in features:
        if isinstance(layer, torch.nn.Conv2d):
            layer.reset_parameters()
    folder.mkdir(parents=True, exist_ok=True)
    torch.save({f"features.{k}": v for k, v in features.state_dict().items()}, folder / "alexnet-owt-7be5be79.pth")


def read_table(path: Path) -> list[list[str]]:
    lines = [line for line in path.read_text().splitlines() if line.startswith("|") and "---" not in line]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines]


def authors_l1(model, videos) -> float:
    """LIA's evaluation.py in float64: per video, gen(first frame, frame) for every frame, the mean of
    |0.5 (clamp(recon) - real)|; then the mean over videos."""
    per_video = []
    for video in videos:
        frames = video[0]  # [T, 3, H, W]: gen(source, target) for every target, as a batch of frames
        with torch.no_grad():
            recon = model.autoencoder(frames[:1].expand_as(frames), frames)
        per_video.append(np.abs(0.5 * (recon.clamp(-1, 1).double().numpy() - frames.double().numpy())).mean())
    return float(np.mean(per_video))


@pytest.mark.slow
def test_lia_table1_from_the_authors_checkpoint(tmp_path, synthetic_root, monkeypatch):
    """``--ckpt_path`` names a file in the authors' layout (their argparse ``args`` included); the
    run writes Tables 1, 4 and 5 with the paper's rows, our row and the protocol, and our L1 is the
    authors' evaluation of that checkpoint over the evaluated videos."""
    reference = torch.load(FIXTURE, weights_only=True)
    official = dict(reference["checkpoint"], args=argparse.Namespace(**reference["checkpoint"]["args"]))
    ckpt = tmp_path / "000002.pt"
    torch.save(official, ckpt)
    alexnet_features(tmp_path / "weights")  # $STYLEVIDEO_WEIGHTS (conftest)
    config = eval_config(tmp_path, "lia_table1", ["VoxCeleb"], num_clips=2)
    arch = ["--model.init_args.resolution=32", "--model.init_args.latent_dim=8", "--model.init_args.motion_dim=4"]
    arch += [
        "--model.init_args.channel_base=256",
        "--model.init_args.channel_max=8",
        "--model.init_args.vgg_scales=[1.0, 0.5]",
    ]
    run = tmp_path / "run"
    main(
        ["test", "--config", str(REPO / "experiments" / "lia_synthetic.yaml"), "--config", str(config)]
        + ["--ckpt_path", str(ckpt), "--run_dir", str(run), f"--data.init_args.root={synthetic_root}"]
        + ["--data.init_args.resolution=32", "--data.init_args.batch_size=4", "--trainer.limit_test_batches=0.34"]
        + [*arch, *SYNTHETIC_ARGS]
    )
    table = read_table(run / "table1.md")
    assert table[0][:5] == ["Method", "VoxCeleb L1", "VoxCeleb AKD", "VoxCeleb AED", "VoxCeleb LPIPS"]
    assert [row[0] for row in table[1:]] == [
        "X2Face",
        "Monkey-Net",
        "FOMM",
        "MRAA w/o bg",
        "Ours",
        "ours: LIA (000002.pt)",
    ]
    assert table[-1][5:] == [""] * 8  # the TaichiHD and TED-talks columns are other runs'
    with open(run / "table1.csv", newline="") as f:
        ours = list(csv.reader(f))[-1]
    dm = SyntheticDataModule.from_root(str(synthetic_root), resolution=32)
    videos = [batch["frames"] for batch in dm.video_dataloader("test", max_videos=2)]
    expected = authors_l1(load_official_checkpoint(ckpt), videos)
    assert float(ours[1]) == pytest.approx(expected, rel=1e-5)
    text = (run / "table1.md").read_text()
    assert f"Checkpoint: {ckpt} (sha256 " in text and "whole_videos=True" in text
    assert "Deviation: AKD: dlib's 68 face landmarks" in text and "Pretrained file alexnet_imagenet" in text
    assert [row[0] for row in read_table(run / "table4.md")] == ["Method", "w/o D_m", "Full", "ours: LIA (000002.pt)"]
    assert read_table(run / "table5.md")[-1][:3] == ["ours: LIA (000002.pt)", ours[1][:5], f"{float(ours[4]):.2f}"]


@pytest.mark.slow
def test_vidstyleode_table2_from_the_synthetic_experiment(tmp_path, synthetic_root):
    config = eval_config(tmp_path, "vidstyleode_table2", ["RAVDESS"], num_clips=2, num_frames=6, batch_size=2)
    run = tmp_path / "run"
    main(
        ["test", "--config", str(REPO / "experiments" / "vidstyleode_synthetic.yaml"), "--config", str(config)]
        + ["--run_dir", str(run), f"--data.init_args.root={synthetic_root}", "--data.init_args.resolution=32"]
        + ["--data.init_args.batch_size=2", "--trainer.limit_test_batches=0.2", *SYNTHETIC_ARGS]
    )
    table = read_table(run / "table2.md")
    assert table[0] == ["Method"] + [
        f"{g} {c}" for g in ("Fashion Videos", "RAVDESS") for c in ("AKD_C", "AKD_S", "AED_S")
    ]
    assert [row[0] for row in table[1:]] == [
        "StyleGAN-V [44]",
        "MRAA [43]",
        "Ours",
        "ours: VidStyleODE (no checkpoint)",
    ]
    assert table[-1][1:4] == ["", "", ""] and "not run" not in table[-1]  # our three RAVDESS cells are filled
    text = (run / "table2.md").read_text()
    assert "AnimationMetrics: metrics=['akd'], mode=cross" in text and "keypoints=face" in text
