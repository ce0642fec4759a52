"""All three StyleInV stages through the CLI, each checkpoint feeding the next (a few steps)."""

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from stylevideo.cli import RUN_DIR_ENV, ConfigError
from stylevideo.methods.styleinv import pipeline
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
    with pytest.raises(ConfigError, match="psp_nowhere"):
        (tmp_path / "styleinv_nowhere.yaml").write_text("{}")
        stage_experiments("styleinv_nowhere", tmp_path)


def test_default_root_dir_is_the_root_of_the_pipeline_run(tmp_path, monkeypatch):
    monkeypatch.setenv("STYLEVIDEO_RUN_ID", "r7")
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    fits = []
    monkeypatch.setattr(pipeline, "_fit", lambda config, run_dir, args: fits.append(run_dir) or run_dir / "final.ckpt")
    exp = ["styleinv_synthetic", "--experiments_dir", str(EXPERIMENTS)]
    pipeline.main([*exp, "--trainer.default_root_dir", str(tmp_path / "out")])
    assert fits == [tmp_path / "out" / "styleinv_synthetic" / "r7" / s for s in STAGES]
    fits.clear()
    pipeline.main([*exp, "--", f"--trainer.default_root_dir={tmp_path / 'after'}"])  # with every stage's arguments
    assert fits == [tmp_path / "after" / "styleinv_synthetic" / "r7" / s for s in STAGES]


def test_errors_are_one_line_as_the_cli_reports_them(tmp_path, monkeypatch):
    monkeypatch.setenv("PL_GLOBAL_SEED", "0")
    monkeypatch.setenv(RUN_DIR_ENV, "")  # restored after: the CLI sets them
    with pytest.raises(SystemExit) as exit:
        pipeline.main(["stylegan2_synthetic", "--experiments_dir", str(EXPERIMENTS)])
    assert str(exit.value.code) == "error: the pipeline runs styleinv_<dataset> experiments, got 'stylegan2_synthetic'"
    missing = tmp_path / "ffhq.pkl"
    args = ["styleinv_synthetic", "--experiments_dir", str(EXPERIMENTS), "--trainer.default_root_dir", str(tmp_path)]
    with pytest.raises(SystemExit) as exit:  # stage 1's run checks its files first
        pipeline.main([*args, "--stage", f"stylegan2=--model.init_args.init_from {missing}"])
    assert str(exit.value.code).startswith(
        f"error: this run needs 1 missing file(s) or package(s):\n  - init_from={missing} does not exist"
    )
    assert not (tmp_path / "styleinv_synthetic").exists()  # nothing created


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
