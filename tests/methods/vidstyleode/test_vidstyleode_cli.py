"""End to end: `lightning fit` of the synthetic experiment, then every application on the run."""

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from stylevideo.methods.vidstyleode.cli import main
from stylevideo.video.io import count_frames

REPO = Path(__file__).resolve().parents[3]
LIGHTNING = Path(sys.executable).parent / "lightning"


@pytest.mark.slow
def test_fit_through_the_cli_then_every_application_writes_a_video(tmp_path, synthetic_root):
    run_dir = tmp_path / "run"
    env = {**os.environ, "WANDB_MODE": "offline", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [
            str(LIGHTNING),
            "fit",
            "--config",
            "experiments/vidstyleode_synthetic.yaml",
            "--run_dir",
            str(run_dir),
            f"--data.init_args.root={synthetic_root}",
            "--data.init_args.num_actors=3",
            "--data.init_args.actions=[talk, nod, smile]",
            "--data.init_args.clips_per_pair=3",
            "--data.init_args.min_frames=12",
            "--data.init_args.max_frames=24",
            "--data.init_args.video_resolution=32",
            "--data.init_args.num_workers=0",
            "--data.init_args.batch_size=2",
            "--trainer.max_steps=2",
            "--trainer.val_check_interval=2",
            "--trainer.log_every_n_steps=1",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert (run_dir / "checkpoints" / "last.ckpt").is_file()
    assert list((run_dir / "samples").glob("val_step*.mp4"))  # real | reconstruction | edit | swap
    rows = list(csv.DictReader(open(run_dir / "csv" / "metrics.csv")))
    assert any(row.get("loss/S") for row in rows) and any(row.get("val/loss/total") for row in rows)
    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert config["model"]["init_args"]["generator"]["class_path"].endswith("StandInStyleGAN2")

    a, b = (
        synthetic_root / "actor00" / "talk" / "000.mp4",
        synthetic_root / "actor01" / "nod" / "000.mp4",
    )
    common = ["--run", str(run_dir), "--frames", "8", "--device", "cpu"]
    apps = {
        "edit": [
            "--video",
            str(a),
            "--source-text",
            "a man",
            "--target-text",
            "a woman",
            "--alpha",
            "1.5",
        ],
        "animate": ["--source", str(a), "--driving", str(b)],
        "transfer": ["--content", str(a), "--motion", str(b)],
        "blend": [
            "--content",
            str(a),
            "--video-a",
            str(a),
            "--video-b",
            str(b),
            "--box",
            "0.5",
            "0",
            "1",
            "0.5",
        ],
        "mix": ["--content", str(a), "--video-a", str(a), "--video-b", str(b), "--lam", "0", "1"],
        "interpolate": ["--video", str(a), "--every", "3", "--factor", "2"],
        "extrapolate": ["--video", str(a), "--observed", "4", "--future", "6"],
    }
    lengths = {}
    for app, args in apps.items():
        out = main([app, *common, "--out", str(tmp_path / f"{app}.mp4"), *args])
        lengths[app] = count_frames(out)
    assert lengths == {
        "edit": 8,
        "animate": 8,
        "transfer": 8,
        "blend": 8,
        "mix": 8,
        "interpolate": 13,
        "extrapolate": 10,
    }
