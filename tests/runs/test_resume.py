"""Exact resume: a run killed with SIGKILL and resumed with ``--ckpt_path last`` continues as if
never stopped; runs with the same seed are identical."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml
from run_helpers import REPO, SYNTHETIC, read_losses

LIGHTNING = Path(sys.executable).parent / "lightning"
STEPS, PER_EPOCH, KILL_AFTER = 12, 5, 7


def _config(tmp_path: Path, synthetic_root: Path) -> Path:
    """stylegan2_synthetic at a tiny size: 5 iterations per epoch, a checkpoint every step, the
    callbacks replaced (RunState comes from the CLI) and no loggers."""
    config = {
        "base": str(REPO / "experiments" / "stylegan2_synthetic.yaml"),
        "trainer": {
            "max_steps": STEPS,
            "logger": False,
            "enable_progress_bar": False,
            "callbacks": [
                {
                    "class_path": "lightning.pytorch.callbacks.ModelCheckpoint",
                    "init_args": {"save_last": True, "save_top_k": 0, "every_n_train_steps": 1},
                },
                {"class_path": "run_helpers.LossRecorder"},
            ],
        },
        "model": {
            "init_args": {
                "channel_base": 256,
                "channel_max": 16,
                "z_dim": 16,
                "w_dim": 16,
                "mapping_layers": 2,
                "r1_interval": 3,
                "pl_interval": 2,
                "ada_target": 0.0,
                "ada_interval": 2,
                "ada_kimg": 0.02,
            }
        },
        "data": {
            "init_args": {
                "root": str(synthetic_root),
                "batch_size": 4,
                "num_workers": 1,
                "samples_per_epoch": 4 * PER_EPOCH,
                **SYNTHETIC,
            }
        },
    }
    path = tmp_path / "resume.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def _fit(config: Path, cwd: Path, *args: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "STYLEVIDEO_RUN_ID": "r1",
        "WANDB_MODE": "offline",
        "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")]),
    }
    log = open(cwd / f"log-{len(list(cwd.glob('log-*')))}.txt", "w")
    return subprocess.Popen(
        [str(LIGHTNING), "fit", "--config", str(config), *args],
        cwd=cwd,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def _wait_lines(path: Path, n: int, proc: subprocess.Popen, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while not (path.exists() and len(path.read_text().splitlines()) >= n):
        assert proc.poll() is None, "the run ended before it could be killed"
        assert time.monotonic() < deadline, "the run did not reach the kill point"
        time.sleep(0.05)


@pytest.mark.slow
def test_killed_run_resumes_exactly_and_same_seed_runs_agree(tmp_path, synthetic_root):
    config = _config(tmp_path, synthetic_root)
    reference = _fit(config, tmp_path, "--experiment", "reference")
    victim = _fit(config, tmp_path)  # experiment "resume", run folder runs/resume/r1
    run = tmp_path / "runs" / "resume" / "r1"
    _wait_lines(run / "losses.jsonl", KILL_AFTER, victim)
    victim.send_signal(signal.SIGKILL)  # mid-epoch (epoch 2 of 5 iterations), maybe mid-save
    victim.wait()
    assert reference.wait(timeout=600) == 0, (tmp_path / "log-0.txt").read_text()[-3000:]
    before = read_losses(run / "losses.jsonl")
    resumed_from = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)["global_step"]
    assert KILL_AFTER - 1 <= resumed_from < 2 * PER_EPOCH  # mid-epoch: inside the second epoch

    resumed = _fit(config, tmp_path, "--ckpt_path", "last")  # finds runs/resume/r1 by itself
    assert resumed.wait(timeout=600) == 0, sorted(tmp_path.glob("log-*"))[-1].read_text()[-3000:]
    expected = read_losses(tmp_path / "runs" / "reference" / "r1" / "losses.jsonl")
    after = read_losses(run / "losses.jsonl")
    assert sorted(expected) == list(range(1, STEPS + 1))
    for step in range(1, KILL_AFTER + 1):  # two runs with the same seed
        assert before[step] == expected[step], f"step {step}: {before[step]} != {expected[step]}"
    for step in range(resumed_from + 1, STEPS + 1):  # the resumed steps: every loss term equal
        assert after[step] == expected[step], f"step {step} after resuming from {resumed_from}"
    resumed_terms = set().union(*(after[step] for step in range(resumed_from + 1, STEPS + 1)))
    assert {"loss/d", "loss/g", "loss/r1", "loss/pl"} <= resumed_terms  # lazy terms too


def test_every_experiment_has_a_fixed_seed():
    from stylevideo.cli import _config_chain

    for experiment in sorted((REPO / "experiments").glob("*.yaml")):
        chain = [yaml.safe_load(f.read_text()) for f in _config_chain(experiment)]
        seed = [c["seed_everything"] for c in chain if c.get("seed_everything") is not None][-1]
        assert isinstance(seed, int) and not isinstance(seed, bool), (experiment.name, seed)


def test_csv_metrics_of_a_resumed_run_continue_the_file(tmp_path):
    from stylevideo.loggers import CSVLogger

    first = CSVLogger(tmp_path, name="csv", version="")
    for step in range(6):  # steps 4 and 5 come after the checkpoint of step 3
        first.log_metrics({"loss/g": float(step)}, step=step)
    first.save()
    resumed = CSVLogger(tmp_path, name="csv", version="")
    for step in range(4, 8):
        resumed.log_metrics({"loss/g": 10.0 + step, "loss/d": 1.0}, step=step)
    resumed.save()
    rows = list(csv.DictReader(open(tmp_path / "csv" / "metrics.csv")))
    assert [(int(r["step"]), float(r["loss/g"])) for r in rows] == [
        (0, 0.0),
        (1, 1.0),
        (2, 2.0),
        (3, 3.0),
        (4, 14.0),
        (5, 15.0),
        (6, 16.0),
        (7, 17.0),
    ]
    assert [r["loss/d"] for r in rows] == ["", "", "", "", "1.0", "1.0", "1.0", "1.0"]
