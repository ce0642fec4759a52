"""``lightning predict``: each method's generation modes as mp4 files with a manifest."""

from __future__ import annotations

import json

import pytest
import torch
import yaml
from lightning.pytorch import Trainer, seed_everything
from run_helpers import CASES, REPO, SYNTHETIC

from stylevideo.callbacks.predictions import VideoPredictions
from stylevideo.cli import main
from stylevideo.video.io import count_frames

MODES = {
    "stylegan2": {"sample", "long", "fps"},
    "onestyle": {"sample", "long", "fps"},
    "styleinv": {"sample", "long", "fps", "animate"},
    "lia": {"animate"},
    "vidstyleode": {"animate"},
}
RESOLUTION = {"stylegan2": 16, "onestyle": 32, "styleinv": 32, "lia": 64, "vidstyleode": 16}


def _manifest(folder) -> dict:
    manifest = json.loads((folder / "manifest.json").read_text())
    for entry in manifest["videos"]:
        assert count_frames(folder / entry["file"]) == entry["frames"], entry
    return manifest


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("method", list(CASES))
def test_every_method_predicts_each_of_its_generation_modes(method, tmp_path, synthetic_root):
    seed_everything(0)
    model, _ = CASES[method](tmp_path)
    clips = sorted(synthetic_root.glob("actor00/*/*.mp4"))[:2]
    writer = VideoPredictions(
        num_videos=2,
        num_frames=4,
        long_frames=10,
        fps_scale=2.0,
        seeds=[3],
        source_images=[str(c) for c in clips[::-1]],
        driving_videos=[str(c) for c in clips],
        resolution=RESOLUTION[method],
        folder=str(tmp_path / "out"),
    )
    trainer = Trainer(
        accelerator="cpu",
        logger=False,
        enable_progress_bar=False,
        callbacks=[writer],
        default_root_dir=tmp_path,
    )
    trainer.predict(model, return_predictions=False)
    manifest = _manifest(tmp_path / "out")
    lengths = {"sample": 4, "long": 10, "fps": 8, "animate": min(count_frames(c) for c in clips)}
    assert {e["mode"]: e["frames"] for e in manifest["videos"]} == {m: lengths[m] for m in MODES[method]}
    assert len(manifest["videos"]) == 2 * len(MODES[method])  # two videos per mode
    for entry in manifest["videos"]:
        if entry["mode"] == "animate":
            assert entry["driving"] == str(clips[entry["index"]]) and entry["source"] != entry["driving"]
        else:
            assert entry["seed"] == 3 and entry["fps"] == 25.0 * entry["fps_scale"]


@pytest.mark.slow
def test_lightning_predict_writes_videos_and_manifest_into_the_run_folder(tmp_path, synthetic_root, monkeypatch):
    config = {
        "base": str(REPO / "experiments" / "stylegan2_synthetic.yaml"),
        "trainer": {
            "max_steps": 1,
            "logger": False,
            "enable_progress_bar": False,
            "callbacks": [
                {
                    "class_path": "lightning.pytorch.callbacks.ModelCheckpoint",
                    "init_args": {"save_last": True, "save_top_k": 0},
                },
                {
                    "class_path": "stylevideo.callbacks.predictions.VideoPredictions",
                    "init_args": {
                        "num_videos": 2,
                        "num_frames": 4,
                        "long_frames": 12,
                        "fps_scale": 2.0,
                        "seeds": [0, 1],
                    },
                },
            ],
        },
        "model": {"init_args": {"channel_base": 256, "channel_max": 16, "z_dim": 16, "w_dim": 16}},
        "data": {
            "init_args": {
                "root": str(synthetic_root),
                "batch_size": 4,
                "num_workers": 0,
                **SYNTHETIC,
            }
        },
    }
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump(config))
    monkeypatch.chdir(tmp_path)
    run = tmp_path / "run"
    main(["fit", "--config", str(path), "--run_dir", str(run)])
    main(["predict", "--config", str(path), "--ckpt_path", str(run / "checkpoints" / "last.ckpt")])
    manifest = _manifest(run / "predictions")  # next to the checkpoint's run, not a new run folder
    assert manifest["model"] == "StyleGAN2" and manifest["checkpoint"].endswith("last.ckpt")
    got = sorted((e["mode"], e["seed"], e["index"], e["frames"]) for e in manifest["videos"])
    assert got == sorted(
        (m, s, i, f) for m, f in (("sample", 4), ("long", 12), ("fps", 8)) for s in (0, 1) for i in (0, 1)
    )
    assert not (tmp_path / "runs").exists()
