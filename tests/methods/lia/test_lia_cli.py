"""The user's entry points: `lightning fit` of the synthetic experiment and the animate script."""

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from lia_helpers import TINY

from stylevideo.methods.lia import LIA, export_official_checkpoint
from stylevideo.methods.lia.animate import main as animate_main
from stylevideo.video.io import count_frames, read_frames, video_fps
from stylevideo.video.synthetic import generate_synthetic_dataset

REPO = Path(__file__).resolve().parents[3]
LIGHTNING = Path(sys.executable).parent / "lightning"


def test_animate_script_with_an_official_layout_checkpoint(real_data, tmp_path, capsys):
    torch.manual_seed(0)
    export_official_checkpoint(LIA(**TINY), tmp_path / "vox.pt")
    driving = real_data / "voxceleb" / "talking_b.mp4"
    out = tmp_path / "out" / "animated.mp4"
    animate_main(
        [
            "--checkpoint",
            str(tmp_path / "vox.pt"),
            "--source",
            str(real_data / "voxceleb" / "source_a.png"),
            "--driving",
            str(driving),
            "--output",
            str(out),
            "--relative",
            "--max-frames",
            "6",
            "--chunk",
            "4",
            "--device",
            "cpu",
        ]
    )
    assert f"wrote {out}" in capsys.readouterr().out
    assert count_frames(out) == 6 and read_frames(out, [0]).shape == (1, 64, 64, 3)
    assert video_fps(out) == pytest.approx(video_fps(driving), rel=1e-3)
    with pytest.raises(FileNotFoundError, match="source image .*nope.png does not exist"):
        animate_main(
            [
                "--checkpoint",
                str(tmp_path / "vox.pt"),
                "--source",
                str(tmp_path / "nope.png"),
                "--driving",
                str(driving),
                "--output",
                str(out),
                "--device",
                "cpu",
            ]
        )
    with pytest.raises(FileNotFoundError, match="checkpoint .*missing.pt does not exist"):
        animate_main(
            [
                "--checkpoint",
                str(tmp_path / "missing.pt"),
                "--source",
                "a.png",
                "--driving",
                "b.mp4",
                "--output",
                str(out),
            ]
        )


@pytest.mark.slow
def test_fit_synthetic_experiment_through_the_cli_then_animate_with_its_checkpoint(tmp_path, real_data, vgg19_file):
    data = dict(
        num_actors=2,
        actions=("talk",),
        clips_per_pair=2,
        min_frames=32,
        max_frames=32,
        fps=25,
        seed=0,
    )
    root = generate_synthetic_dataset(tmp_path / "synthetic", resolution=64, **data)
    run_dir = tmp_path / "run"
    env = {**os.environ, "WANDB_MODE": "offline", "OMP_NUM_THREADS": "2"}
    proc = subprocess.run(
        [
            str(LIGHTNING),
            "fit",
            "--config",
            "experiments/lia_synthetic.yaml",
            "--run_dir",
            str(run_dir),
            f"--model.init_args.vgg_weights={vgg19_file}",
            f"--data.init_args.root={root}",
            "--data.init_args.num_actors=2",
            "--data.init_args.actions=[talk]",
            "--data.init_args.clips_per_pair=2",
            "--data.init_args.min_frames=32",
            "--data.init_args.max_frames=32",
            "--data.init_args.num_workers=0",
            "--data.init_args.batch_size=2",
            "--data.init_args.samples_per_epoch=4",
            "--trainer.max_steps=2",
            "--trainer.limit_val_batches=1",
            "--trainer.num_sanity_val_steps=0",
            "--trainer.log_every_n_steps=1",
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
    assert any(row.get("loss/vgg") for row in rows) and any(row.get("val/l1") for row in rows)
    out = tmp_path / "animated.mp4"
    animate_main(
        [
            "--checkpoint",
            str(ckpt),
            "--source",
            str(real_data / "voxceleb" / "source_b.png"),
            "--driving",
            str(real_data / "voxceleb" / "talking_a.mp4"),
            "--output",
            str(out),
            "--max-frames",
            "3",
            "--device",
            "cpu",
        ]
    )
    assert count_frames(out) == 3 and read_frames(out, [0]).shape == (1, 64, 64, 3)
