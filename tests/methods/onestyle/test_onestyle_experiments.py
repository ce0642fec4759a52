"""onestyle's experiment configs (section 4 settings) and one end-to-end fit through the CLI."""

from __future__ import annotations

import csv
import importlib
import inspect
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from stylevideo.methods.onestyle import OneStyle

REPO = Path(__file__).resolve().parents[3]
LIGHTNING = Path(sys.executable).parent / "lightning"
PAPER = {  # experiment: (actors, actions, action label)
    "onestyle_mead": (30, 8, "emotion"),
    "onestyle_mead_uncond": (0, 0, "action"),
    "onestyle_ravdess": (24, 8, "emotion"),
    "onestyle_utdmhad": (8, 27, "action"),
}


def load(name: str) -> dict:
    return yaml.safe_load((REPO / "experiments" / f"{name}.yaml").read_text())


@pytest.mark.parametrize("name", sorted(PAPER))
def test_dataset_experiments_use_the_paper_settings(name):
    config = load(name)
    assert config["base"] == "base/default.yaml"
    model, data = config["model"], config["data"]
    assert model["class_path"] == "stylevideo.methods.onestyle.OneStyle"
    args = model["init_args"]
    assert set(args) <= set(inspect.signature(OneStyle).parameters)
    actors, actions, label = PAPER[name]
    assert (args["num_actors"], args["num_actions"], args.get("action_label", "action")) == (
        actors,
        actions,
        label,
    )
    assert args["resolution"] == data["init_args"]["resolution"] == 128
    assert data["init_args"]["batch_size"] == 16  # 16 triplets
    assert data["init_args"]["sampler"] == {
        "class_path": "stylevideo.video.sampling.ConsecutiveFrames",
        "init_args": {"n": 3},
    }
    assert config["trainer"]["max_steps"] == 120000
    defaults = {k: v.default for k, v in inspect.signature(OneStyle).parameters.items()}
    assert (defaults["ramp_start"], defaults["ramp_end"], defaults["lr"]) == (4000, 6000, 0.002)
    assert "ramp_start" not in args and "lr" not in args  # the paper's values
    module, _, cls = data["class_path"].rpartition(".")
    try:
        datamodule = getattr(importlib.import_module(module), cls)
    except ImportError:
        pytest.skip(f"{data['class_path']} is not in the tree yet")
    accepted = set()  # the module's arguments and those it forwards (**kwargs) to its bases
    for cls in datamodule.__mro__:
        if "__init__" in vars(cls):
            accepted |= set(inspect.signature(cls.__init__).parameters)
    assert set(data["init_args"]) <= accepted


@pytest.mark.slow
def test_fit_the_synthetic_experiment_through_the_cli_then_invert_a_clip_with_its_checkpoint(
    tmp_path,
):
    run_dir = tmp_path / "run"
    env = {**os.environ, "WANDB_MODE": "offline", "STYLEVIDEO_CACHE": str(tmp_path / "cache")}
    proc = subprocess.run(
        [
            str(LIGHTNING),
            "fit",
            "--config",
            "experiments/onestyle_synthetic.yaml",
            "--run_dir",
            str(run_dir),
            "--trainer.max_steps=2",
            "--trainer.log_every_n_steps=1",
            "--trainer.enable_progress_bar=false",
            "--data.init_args.num_workers=0",
            "--data.init_args.batch_size=4",
            "--data.init_args.num_actors=2",
            "--data.init_args.clips_per_pair=1",
            "--data.init_args.min_frames=8",
            "--data.init_args.max_frames=10",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    ckpt = run_dir / "checkpoints" / "last.ckpt"
    assert ckpt.is_file() and (run_dir / "samples" / "final.mp4").is_file()
    rows = list(csv.DictReader(open(run_dir / "csv" / "metrics.csv")))
    assert any(row.get("loss/d_t") for row in rows) and any(row.get("loss/g_s") for row in rows)
    model = OneStyle.load_from_checkpoint(ckpt, map_location="cpu")
    assert model.hparams.num_actions == 3 and float(model.ramp) == 0.0

    # the label maps saved with the checkpoint turn names into ids for the inversion script
    from stylevideo.methods.onestyle.invert import main

    clip = next((tmp_path / "cache").rglob("actor01/smile/*.mp4"))
    torch.manual_seed(0)
    lpips_file = tmp_path / "vgg16.pth"  # random VGG16 features: the LPIPS-VGG backbone's layout
    from torchvision.models import vgg16

    torch.save({k: v for k, v in vgg16().state_dict().items() if k.startswith("features.")}, lpips_file)
    out = main(
        [
            "--ckpt",
            str(ckpt),
            "--video",
            str(clip),
            "--actor",
            "actor01",
            "--action",
            "smile",
            "--frames",
            "3",
            "--steps",
            "1",
            "--pti_steps",
            "0",
            "--lpips_weights",
            str(lpips_file),
            "--out",
            str(tmp_path / "inv"),
            "--device",
            "cpu",
        ]
    )
    saved = torch.load(out / "motion.pt")
    assert (saved["actor"], saved["action"]) == (1, 1)  # sorted label maps: actor01 -> 1; nod, smile, talk


def test_bench_cases_cover_training_and_generation_at_both_sizes():
    from stylevideo.bench.onestyle import SMOKE, cases

    assert SMOKE == load("onestyle_synthetic")["model"]["init_args"]  # the smoke case is that run
    found = cases()
    names = [c.name for c in found]
    assert any("train iteration 128x128, batch 16" in n for n in names)
    assert any("16-frame clip 128x128" in n for n in names) and any("128-frame" in n for n in names)
    smoke = next(c for c in found if c.name.startswith("generate a 16-frame clip 32x32"))
    assert smoke.build("cpu")().shape == (1, 16, 3, 32, 32)
