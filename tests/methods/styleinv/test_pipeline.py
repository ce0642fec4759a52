"""All three StyleInV stages through the CLI, each checkpoint feeding the next (a few steps)."""

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from stylevideo.methods.styleinv.pipeline import STAGES, stage_experiments

EXPERIMENTS = Path(__file__).resolve().parents[3] / "experiments"

TINY_DATA = [
    "--data.init_args.num_actors",
    "3",
    "--data.init_args.actions",
    "[talk,nod,smile]",
    "--data.init_args.clips_per_pair",
    "3",
    "--data.init_args.min_frames",
    "12",
    "--data.init_args.max_frames",
    "24",
    "--data.init_args.video_resolution",
    "32",
    "--data.init_args.num_workers",
    "0",
    "--trainer.max_steps",
    "1",
]


def test_stage_configs_are_found_and_unknown_experiments_refused(tmp_path):
    configs = stage_experiments("styleinv_synthetic", EXPERIMENTS)
    assert [p.name for p in configs.values()] == [f"{s}_synthetic.yaml" for s in STAGES]
    with pytest.raises(ValueError, match="styleinv_<dataset>"):
        stage_experiments("stylegan2_synthetic", EXPERIMENTS)
    with pytest.raises(FileNotFoundError, match="psp_nowhere"):
        (tmp_path / "styleinv_nowhere.yaml").write_text("{}")
        stage_experiments("styleinv_nowhere", tmp_path)


@pytest.mark.slow
def test_three_stages_chain_through_the_cli(tmp_path, synthetic_root):
    run = tmp_path / "run"
    cmd = [
        sys.executable,
        "-m",
        "stylevideo.methods.styleinv.pipeline",
        "styleinv_synthetic",
        "--run_dir",
        str(run),
        "--stage",
        "stylegan2=--data.init_args.batch_size 4",
        "--stage",
        "psp=--data.init_args.batch_size 2",
        "--stage",  # clips of 12 frames: the tiny videos are shorter than the config's 32
        "styleinv=--data.init_args.batch_size 2 --data.init_args.sampler.init_args.clip_length 12 "
        "--model.init_args.clip_length 12",
        "--",
        "--data.init_args.root",
        str(synthetic_root),
        *TINY_DATA,
    ]
    proc = subprocess.run(cmd, cwd=EXPERIMENTS.parent, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    finals = {s: run / s / "checkpoints" / "final.ckpt" for s in STAGES}
    assert all(p.is_file() for p in finals.values())
    hp = torch.load(finals["styleinv"], map_location="cpu", weights_only=True)["hyper_parameters"]
    assert hp["generator_ckpt"] == str(finals["stylegan2"]) and hp["encoder_ckpt"] == str(finals["psp"])
    assert (run / "styleinv" / "samples" / "final.mp4").is_file()
    again = subprocess.run(
        cmd, cwd=EXPERIMENTS.parent, capture_output=True, text=True, timeout=300
    )  # finished stages are kept
    assert again.returncode == 0 and again.stdout.count("not trained again") == 3
