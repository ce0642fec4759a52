"""The Fashion setting: W+ codes from the data instead of an inverter, a non-square generator,
``experiments/vidstyleode_fashion.yaml`` through the CLI at a tiny size."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from PIL import Image
from vso_helpers import TINY, ListDescriptions, make_batch, stand_ins

from stylevideo.cli import main
from stylevideo.methods.vidstyleode import StandInStyleGAN2, VidStyleODE
from stylevideo.video.io import read_frames

REPO = Path(__file__).resolve().parents[3]


def test_batch_codes_are_the_content_and_no_inverter_is_needed():
    """z_C = mean of the batch's W+ codes over its frames (the authors' ``mean_inversion``)."""
    torch.manual_seed(0)
    parts = stand_ins() | {"inverter": None}
    model = VidStyleODE(**parts, descriptions=ListDescriptions(), **TINY)
    batch = make_batch()
    codes = torch.randn(3, 5, model.G.num_ws, model.G.w_dim)
    assert torch.equal(model.batch_content(batch | {"inversion": codes}), codes.mean(1))
    with pytest.raises(ValueError, match="no inverter: its W\\+ codes come with the data"):
        model.batch_content(batch)
    with pytest.raises(ValueError, match="batch W\\+ codes are"):
        model.batch_content(batch | {"inversion": codes[..., :3]})
    losses, _ = model.losses(batch | {"inversion": codes})
    assert all(torch.isfinite(v) for v in losses.values())


@pytest.mark.slow
def test_the_fashion_experiment_trains_on_codes_with_a_non_square_generator(tmp_path, synthetic_root):
    """A tiny variant of experiments/vidstyleode_fashion.yaml (stand-in networks, a 16 x 8 generator,
    16 x 12 frames) fits through the CLI on frame folders with per-frame codes and skip_frames 5."""
    root, codes = tmp_path / "fashion", tmp_path / "fashion_w_plus"
    generator = StandInStyleGAN2(16, 16, 128, 16, 1, aspect_ratio=0.5)
    assert generator.generator(torch.randn(1, 16)).shape[-2:] == (16, 8)
    rng = np.random.default_rng(0)
    for i, clip in enumerate(sorted(synthetic_root.glob("*/*/000.mp4"))[:4]):
        video = f"video{i}"
        (root / video).mkdir(parents=True)
        (codes / video).mkdir(parents=True)
        for j, frame in enumerate(read_frames(clip, range(12)).numpy()):
            Image.fromarray(frame).save(root / video / f"{j:03d}.png")
            torch.save(torch.from_numpy(rng.normal(0, 0.5, (1, generator.num_ws, 16)).astype(np.float32)),
                       codes / video / f"{j:03d}.pt")  # fmt: skip
        (root / video / "text_descriptions.txt").write_text(f"a woman in a {['red', 'blue', 'green', 'pink'][i]} dress")
    stand_in = "stylevideo.methods.vidstyleode."
    override = {
        "trainer": {
            "max_steps": 2,
            "log_every_n_steps": 1,
            "num_sanity_val_steps": 0,
            "callbacks": [],
            "logger": [{"class_path": "stylevideo.loggers.CSVLogger", "init_args": {"save_dir": "runs"}}],
        },
        "model": {
            "init_args": {
                "generator": {
                    "class_path": stand_in + "StandInStyleGAN2",
                    "init_args": dict(resolution=16, w_dim=16, channel_base=128, channel_max=16, mapping_layers=1)
                    | {"aspect_ratio": 0.5},
                },
                "clip": {"class_path": stand_in + "StandInCLIP", "init_args": dict(embed_dim=16, image_resolution=16)},
                "splice": {"class_path": stand_in + "StandInSpliceViT", "init_args": dict(input_size=16)},
                **{k: list(v) if isinstance(v, tuple) else v for k, v in TINY.items()},
                "frame_size": [16, 12],
                "output_size": [16, 8],
            }
        },
        "data": {
            "init_args": {
                "root": str(root),
                "inversion_root": str(codes),
                "resolution": [16, 12],
                "batch_size": 2,
                "num_workers": 0,
                "test_fraction": 0.25,
                "sampler": {"class_path": "stylevideo.video.sampling.IrregularFrames", "init_args": {"k": 4}},
            }
        },
    }
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(override))
    argv = ["fit", "--config", str(REPO / "experiments" / "vidstyleode_fashion.yaml")]
    argv += ["--config", str(tmp_path / "tiny.yaml"), "--run_dir", str(tmp_path / "run")]
    main(argv)
    metrics = (tmp_path / "run" / "csv" / "metrics.csv").read_text()
    assert "loss/total" in metrics and "nan" not in metrics
    config = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())
    assert config["data"]["init_args"]["skip_frames"] == 5 and config["model"]["init_args"]["inverter"] is None
