"""The command line: config bases, run folders, every experiment instantiates, one real fit."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from stylevideo.cli import RUN_DIR_ENV, StyleVideoCLI, expand_config_bases, resolve_run_dir

REPO = Path(__file__).resolve().parents[1]
EXPERIMENTS = sorted((REPO / "experiments").glob("*.yaml"))
LIGHTNING = Path(sys.executable).parent / "lightning"


def test_base_chain_expands_outermost_first(tmp_path):
    (tmp_path / "a.yaml").write_text("trainer: {max_steps: 1}\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.yaml").write_text("base: ../a.yaml\n")
    (tmp_path / "sub" / "c.yaml").write_text("base: b.yaml\nseed_everything: 3\n")
    argv = expand_config_bases(["fit", "--config", str(tmp_path / "sub" / "c.yaml"), "--trainer.max_steps=2"])
    assert argv == [
        "fit",
        "--config",
        str(tmp_path / "a.yaml"),
        "--config",
        str(tmp_path / "sub" / "b.yaml"),
        "--config",
        str(tmp_path / "sub" / "c.yaml"),
        "--trainer.max_steps=2",
    ]
    assert expand_config_bases(["--config={'trainer': {}}"]) == ["--config", "{'trainer': {}}"]


def test_base_chain_errors_name_the_file(tmp_path):
    (tmp_path / "loop.yaml").write_text("base: loop.yaml\n")
    with pytest.raises(ValueError, match="loop.yaml extends itself"):
        expand_config_bases(["--config", str(tmp_path / "loop.yaml")])
    (tmp_path / "bad.yaml").write_text("base: missing.yaml\n")
    with pytest.raises(FileNotFoundError, match="missing.yaml"):
        expand_config_bases(["--config", str(tmp_path / "bad.yaml")])


def test_run_dir_resolution(tmp_path, monkeypatch):
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    monkeypatch.setenv("STYLEVIDEO_RUN_ID", "r1")
    assert resolve_run_dir("exp", None, None, root=str(tmp_path)) == tmp_path / "exp" / "r1"
    (tmp_path / "exp" / "r1").mkdir(parents=True)
    assert resolve_run_dir("exp", None, None, root=str(tmp_path)) == tmp_path / "exp" / "r1-1"  # never reused
    ckpt = tmp_path / "exp" / "r1" / "checkpoints" / "last.ckpt"
    ckpt.parent.mkdir()
    ckpt.write_bytes(b"x")
    assert resolve_run_dir("exp", None, "last", root=str(tmp_path)) == tmp_path / "exp" / "r1"  # resume in place
    assert resolve_run_dir("exp", str(tmp_path / "x"), "last", root=str(tmp_path)) == tmp_path / "x"


@pytest.mark.parametrize("experiment", EXPERIMENTS, ids=[p.stem for p in EXPERIMENTS])
def test_every_experiment_parses_and_instantiates(experiment, tmp_path, monkeypatch):
    """Every experiment builds, with cuDNN's algorithm timing on; one whose stage input (a null
    ``*_ckpt`` key, e.g. StyleInV's generator from stage 1) is not given refuses with an error
    that names the key."""
    monkeypatch.setattr(torch.backends.cudnn, "benchmark", False)
    args = expand_config_bases(["--config", str(experiment), "--run_dir", str(tmp_path)])
    model_args = yaml.safe_load(experiment.read_text())["model"].get("init_args") or {}
    unset = [k for k, v in model_args.items() if k.endswith("_ckpt") and v is None]
    if unset:
        with pytest.raises(ValueError, match=f"({'|'.join(unset)}) is not set"):
            StyleVideoCLI(args=args, run=False)
        return
    cli = StyleVideoCLI(args=args, run=False)
    assert cli.model is not None and cli.datamodule is not None
    assert Path(cli.trainer.default_root_dir) == tmp_path
    assert cli.config.experiment == experiment.stem
    assert torch.backends.cudnn.benchmark, "the trainer leaves cuDNN's algorithm timing off"


@pytest.mark.slow
def test_lightning_fit_end_to_end_writes_a_complete_run_folder(tmp_path):
    run_dir = tmp_path / "run"
    env = {**os.environ, "WANDB_MODE": "offline", "STYLEVIDEO_CACHE": str(tmp_path / "cache")}
    proc = subprocess.run(
        [
            str(LIGHTNING),
            "fit",
            "--config",
            "experiments/stylegan2_synthetic.yaml",
            "--run_dir",
            str(run_dir),
            "--trainer.max_steps=2",
            "--trainer.log_every_n_steps=1",
            "--data.init_args.num_workers=0",
            "--data.init_args.batch_size=4",
            "--data.init_args.num_actors=2",
            "--data.init_args.clips_per_pair=2",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert f"Run folder: {run_dir}" in proc.stdout
    assert (run_dir / "checkpoints" / "last.ckpt").is_file()
    assert list((run_dir / "samples").glob("*.mp4"))
    rows = list(csv.DictReader(open(run_dir / "csv" / "metrics.csv")))
    assert any(row.get("loss/g") for row in rows)
    assert list((run_dir / "wandb").glob("offline-run-*"))
    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert config["model"]["class_path"] == "stylevideo.methods.stylegan2.StyleGAN2"
    assert config["trainer"]["max_steps"] == 2


@pytest.mark.slow
def test_print_config_and_module_alias():
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "stylevideo",
            "fit",
            "--config",
            "experiments/stylegan2_synthetic.yaml",
            "--print_config",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    printed = yaml.safe_load(proc.stdout)
    assert printed["model"]["init_args"]["resolution"] == 32
    assert printed["trainer"]["logger"][0]["class_path"] == "stylevideo.loggers.WandbLogger"


def test_every_run_gets_exactly_one_run_state_and_atomic_checkpoint_io(tmp_path):
    from stylevideo.callbacks.run_state import RunState
    from stylevideo.checkpoint import AtomicCheckpointIO

    bare = tmp_path / "bare.yaml"  # an experiment that replaces the base's callbacks and plugins
    bare.write_text(
        f"base: {REPO / 'experiments' / 'stylegan2_synthetic.yaml'}\n"
        "trainer: {callbacks: [], plugins: [], logger: false}\n"
    )
    for config in (REPO / "experiments" / "stylegan2_synthetic.yaml", bare):
        argv = ["--config", str(config), "--run_dir", str(tmp_path)]
        cli = StyleVideoCLI(args=expand_config_bases(argv), run=False)
        assert sum(isinstance(c, RunState) for c in cli.trainer.callbacks) == 1, config.name
        assert isinstance(cli.trainer.strategy.checkpoint_io, AtomicCheckpointIO), config.name


def test_an_integer_batch_limit_is_a_number_of_batches_a_float_a_fraction(tmp_path):
    config = tmp_path / "limits.yaml"
    config.write_text(f"base: {REPO / 'experiments' / 'stylegan2_synthetic.yaml'}\ntrainer: {{limit_val_batches: 1}}\n")
    argv = ["--config", str(config), "--run_dir", str(tmp_path), "--trainer.limit_test_batches=0.5"]
    trainer = StyleVideoCLI(args=expand_config_bases(argv), run=False).trainer
    assert (trainer.limit_val_batches, type(trainer.limit_val_batches)) == (1, int)  # one batch, not 100%
    assert (trainer.limit_test_batches, type(trainer.limit_test_batches)) == (0.5, float)
    assert trainer.limit_train_batches == 1.0  # Lightning's default: every batch


def test_a_sweep_agents_run_id_names_the_run_folder_and_the_wandb_run(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_SWEEP_ID", "sw1")
    monkeypatch.setenv("WANDB_RUN_ID", "abc123")
    monkeypatch.setenv("SLURM_JOB_ID", "77")  # several sweep runs may share one SLURM job
    monkeypatch.chdir(tmp_path)
    config = REPO / "experiments" / "stylegan2_synthetic.yaml"
    cli = StyleVideoCLI(args=expand_config_bases(["--config", str(config)]), run=False)
    assert Path(cli.trainer.default_root_dir) == Path("runs") / "stylegan2_synthetic" / "abc123"
    wandb_logger = next(lg for lg in cli.trainer.loggers if type(lg).__name__ == "WandbLogger")
    assert wandb_logger._wandb_init["id"] == "abc123"


def test_a_slurm_job_id_names_one_folder_for_every_rank_and_every_requeue(tmp_path, monkeypatch):
    for var in ("STYLEVIDEO_RUN_ID", "WANDB_SWEEP_ID", RUN_DIR_ENV):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("SLURM_JOB_ID", "4242")
    first = resolve_run_dir("exp", None, None, root=str(tmp_path))
    first.mkdir(parents=True)  # another rank created it first, or this is the requeued job
    again = resolve_run_dir("exp", None, None, root=str(tmp_path))
    assert again == first == tmp_path / "exp" / "4242"
