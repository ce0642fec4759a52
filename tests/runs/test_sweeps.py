"""W&B sweeps: the command a sweep agent runs for each sweep file is a valid CLI call."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import wandb.wandb_agent
import yaml
from run_helpers import REPO

from stylevideo.cli import expand_config_bases, main

SWEEPS = sorted((REPO / "experiments" / "sweeps").glob("*.yaml"))


def agent_command(sweep: dict, values: dict, monkeypatch, tmp_path) -> list[str]:
    """The argv ``wandb agent`` would start for one run with ``values`` (wandb's own code)."""
    started = []

    class Recorder:
        def __init__(self, command=None, **kwargs):
            started.append(command)

    monkeypatch.setattr(wandb.wandb_agent, "AgentProcess", Recorder)
    monkeypatch.setenv("WANDB_DIR", str(tmp_path))
    monkeypatch.setenv("WANDB_SWEEP_ID", "sweep0")
    agent = wandb.wandb_agent.Agent(api=None, queue=None, sweep_id="sweep0")
    agent._sweep_command = list(sweep["command"])
    agent._command_run(
        {
            "run_id": "run0",
            "program": sweep.get("program", ""),
            "args": {k: {"value": v} for k, v in values.items()},
        }
    )
    return started[0]


@pytest.mark.slow
@pytest.mark.parametrize("path", SWEEPS, ids=[p.stem for p in SWEEPS])
def test_sweep_agent_command_runs_the_cli_with_the_swept_values(path, monkeypatch, tmp_path, capsys):
    sweep = yaml.safe_load(path.read_text())
    assert sweep["project"] == "stylevideo"  # the project the runs log to (stylevideo.loggers)
    params = sweep["parameters"]
    grid = [
        dict(zip(params, combo, strict=True)) for combo in itertools.product(*(p["values"] for p in params.values()))
    ]
    for values in (grid[0], grid[-1]):
        argv = agent_command(sweep, values, monkeypatch, tmp_path)
        assert argv[:3] == ["/usr/bin/env", "lightning", "fit"]
        assert argv[-len(values) :] == [f"--{k}={v}" for k, v in values.items()]
        monkeypatch.chdir(REPO)
        with pytest.raises(SystemExit) as exit_:
            main(argv[2:] + ["--print_config"])
        assert exit_.value.code in (0, None)
        config = yaml.safe_load(capsys.readouterr().out)
        for key, value in values.items():
            node = config
            for part in key.split("."):
                node = node[part]
            assert node == value, key
    if "metric" in sweep:  # the experiment logs the metric under that name
        logged = {
            cb["init_args"].get("prefix", "") + m
            for cb in config["trainer"]["callbacks"]
            if "metrics" in cb.get("init_args", {})
            for m in cb["init_args"]["metrics"]
        }
        assert sweep["metric"]["name"] in logged, logged


def test_every_sweep_points_at_an_existing_experiment():
    for path in SWEEPS:
        command = yaml.safe_load(path.read_text())["command"]
        assert command[-1] == "${args}" and "fit" in command
        config = Path(REPO / command[command.index("--config") + 1])
        assert config.is_file(), f"{path.name}: {config} does not exist"
        assert expand_config_bases(["--config", str(config)])[1].endswith("base/default.yaml")
