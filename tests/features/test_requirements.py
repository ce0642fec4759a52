"""Every file a run needs is declared without loading it and checked before the first step:
one error lists all that are missing, with their folder, URL and what needs each."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
import torch
from lightning.pytorch import LightningModule, Trainer
from torch.utils.data import DataLoader

from stylevideo.callbacks.metrics import AnimationMetrics, FaceMetrics, VideoMetrics
from stylevideo.features import requirements, weights
from stylevideo.features.requirements import MissingRequirementsError, check, from_config, from_trainer

SRC = Path(__file__).resolve().parents[2] / "src"
LIA = {"class_path": "stylevideo.methods.lia.LIA", "init_args": {"resolution": 64}}


def _callback(name: str, **init_args) -> dict:
    return {"class_path": f"stylevideo.callbacks.metrics.{name}", "init_args": {"every_n_steps": 100, **init_args}}


def _missing_lines(err: pytest.ExceptionInfo) -> list[str]:
    return [line for line in str(err.value).splitlines() if line.startswith("  - ")]


def test_one_error_lists_every_missing_file_of_model_and_callbacks(tmp_path):
    alexnet = tmp_path / "mine" / "alexnet.pth"
    config = {
        "model": LIA,
        "data": {"class_path": "stylevideo.data_modules.synthetic.SyntheticDataModule", "init_args": {}},
        "trainer": {
            "callbacks": [
                _callback("VideoMetrics", metrics=["fvd2048_16f"]),
                _callback("FrameMetrics", metrics=["fid50k"]),
                _callback("AnimationMetrics", metrics=["l1", "lpips"], weights={"alexnet_imagenet": str(alexnet)}),
            ]
        },
    }
    present = weights.weights_dir() / "weights-inception-2015-12-05-6726825d.pth"  # FID's file is there
    present.parent.mkdir(parents=True)
    present.write_bytes(b"x")
    with pytest.raises(MissingRequirementsError) as err:
        check(from_config(config, "fit"), "stylevideo weights fetch --config exp.yaml")
    lines = _missing_lines(err)
    assert len(lines) == 3, str(err.value)
    vgg, i3d, lpips = lines
    assert f"vgg19-dcbb9e9d.pth not found in {weights.weights_dir()}" in vgg
    assert "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth" in vgg and vgg.endswith("[needed by model (LIA)]")
    assert "i3d_torchscript.pt" in i3d and "https://www.dropbox.com/s/ge9e5ujwgetktms/i3d_torchscript.pt" in i3d
    assert i3d.endswith("[needed by trainer.callbacks[0] (VideoMetrics)]")
    assert f"the configured file {alexnet} does not exist" in lpips and "alexnet-owt-7be5be79.pth" in lpips
    assert lpips.endswith("[needed by trainer.callbacks[2] (AnimationMetrics)]")
    assert str(err.value).endswith("Download the weights with:\n    stylevideo weights fetch --config exp.yaml")


def test_what_is_needed_depends_on_the_stage():
    on_test_only = VideoMetrics(["fvd2048_16f"])  # every_n_steps = every_n_epochs = 0, on_test
    assert on_test_only.required_weights("fit") == {} and on_test_only.required_weights("predict") == {}
    assert on_test_only.required_weights("test") == {"i3d_kinetics400": None}
    assert on_test_only.required_weights(None) == {"i3d_kinetics400": None}
    replaced = VideoMetrics(["fvd2048_16f"], every_n_steps=1, extractors={"i3d": object()})
    assert replaced.required_weights("fit") == {}
    from stylevideo.methods.lia import LIA

    hparams = {"lambda_vgg": 10.0, "vgg_weights": None}
    assert LIA.required_weights(hparams, "fit") == {"vgg19_imagenet": None}
    assert LIA.required_weights(hparams, "test") == {}  # Eq. 8 is a training loss
    assert LIA.required_weights({**hparams, "lambda_vgg": 0.0}, "fit") == {}


def test_models_that_read_files_when_built_are_answered_without_building_them(tmp_path):
    """Building these would fail here (their stage checkpoint is missing): the declarations come
    from the config's arguments alone."""
    stage1 = tmp_path / "stage1.ckpt"
    psp = {"class_path": "stylevideo.methods.psp.PSPInversion", "init_args": {"generator_ckpt": str(stage1)}}
    found = {(r.kind, r.name, r.path) for r in from_config({"model": psp})}
    assert found == {
        ("weights", "arcface_ir_se50", None),  # backbone initialisation and identity loss
        ("weights", "alexnet_imagenet", None),  # LPIPS
        ("file", "generator_ckpt", str(stage1)),
    }
    finetune = {
        "class_path": "stylevideo.methods.styleinv.finetune.StyleTransferFinetune",
        "init_args": {"identity_weight": 0.0, "vgg16_weights": "/w/vgg16.pth"},
    }
    found = {(r.kind, r.name, r.path) for r in from_config({"model": finetune})}
    assert found == {("weights", "vgg16_imagenet", "/w/vgg16.pth"), ("file", "generator_ckpt", None)}


def test_a_model_that_already_holds_its_perceptual_network_needs_no_vgg_file():
    from stylevideo.features.vgg import VGG19Features
    from stylevideo.methods.lia import LIA

    model = LIA(resolution=32, latent_dim=16, motion_dim=4, channel_base=128, channel_max=16, vgg_scales=(1.0,))
    assert from_trainer(Trainer(logger=False), model, "fit")[0].name == "vgg19_imagenet"
    model.set_vgg(VGG19Features(("relu1_1",)))
    assert from_trainer(Trainer(logger=False), model, "fit") == []


def test_a_missing_dlib_is_reported_up_front(monkeypatch):
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "dlib" else find_spec(name, *a))
    config = {"trainer": {"callbacks": [_callback("FaceMetrics", metrics=["lia_r"], group_by="motion_seed")]}}
    with pytest.raises(MissingRequirementsError) as err:
        check(from_config(config, "fit"))
    (line,) = _missing_lines(err)
    assert "the Python package 'dlib' is not installed" in line and "pip install -e '.[face]'" in line
    assert FaceMetrics(["lia_r"], extractors={"face": object()}).required_packages() == {}
    assert AnimationMetrics(["l1"]).required_packages() == {}


def test_the_frozen_networks_nested_in_a_model_declare_their_files():
    """VidStyleODE's pretrained parts are declared from the config (built on the meta device
    only), at the configured path or in the cache."""
    frozen = "stylevideo.methods.vidstyleode.frozen"
    model = {
        "class_path": "stylevideo.methods.vidstyleode.VidStyleODE",
        "init_args": {
            "generator": {"class_path": f"{frozen}.PretrainedStyleGAN2", "init_args": {}},
            "inverter": {"class_path": "stylevideo.methods.vidstyleode.content.PretrainedPSPInverter"},
            "clip": {"class_path": f"{frozen}.PretrainedCLIP", "init_args": {"path": "/data/clip.pt"}},
            "splice": {"class_path": f"{frozen}.PretrainedSpliceViT", "init_args": {"name": "dino_vits16"}},
        },
    }
    found = {(r.owner, r.name, r.path) for r in from_config({"model": model})}
    assert found == {
        ("model.init_args.generator (PretrainedStyleGAN2)", "stylegan2_ffhq_config_f", None),
        ("model.init_args.inverter (PretrainedPSPInverter)", "psp_ffhq_encode", None),
        ("model.init_args.clip (PretrainedCLIP)", "clip_vit_b32", "/data/clip.pt"),
        ("model.init_args.splice (PretrainedSpliceViT)", "dino_vits16", None),
    }


class _Counting(LightningModule):
    def __init__(self):
        super().__init__()
        self.layer = torch.nn.Linear(2, 1)
        self.steps = 0

    def training_step(self, batch, batch_idx):
        self.steps += 1
        return self.layer(batch).sum()

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


def test_a_trainer_without_the_cli_checks_in_setup_before_the_first_step(tmp_path):
    model = _Counting()
    trainer = Trainer(
        max_steps=2,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        default_root_dir=tmp_path,
        callbacks=[VideoMetrics(["fvd2048_16f"], every_n_steps=1), AnimationMetrics(["lpips"], every_n_steps=1)],
    )
    with pytest.raises(MissingRequirementsError) as err:
        trainer.fit(model, DataLoader(torch.randn(4, 2), batch_size=2))
    assert model.steps == 0
    assert [re.search(r"^  - (\w+):", line).group(1) for line in _missing_lines(err)] == [
        "i3d_kinetics400",
        "alexnet_imagenet",
    ]
    assert "stylevideo weights fetch --name alexnet_imagenet --name i3d_kinetics400" in str(err.value)


def test_every_module_that_registers_weights_is_listed():
    """``stylevideo weights`` without --config imports REGISTERING_MODULES to list every file."""
    found = set()
    for file in SRC.rglob("*.py"):
        if file.name != "weights.py" and re.search(r"^\s*register_weights\(", file.read_text(), re.M):
            found.add(".".join(file.relative_to(SRC).with_suffix("").parts))
    assert found == set(requirements.REGISTERING_MODULES)
