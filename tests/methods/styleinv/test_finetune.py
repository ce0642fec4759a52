"""Fine-tuning-based style transfer (3.5): exactly the mapping and <=32x32 layers stay fixed."""

import numpy as np
import torch
from lightning.pytorch import Trainer
from PIL import Image
from torch.utils.data import DataLoader

from stylevideo.methods.stylegan2 import StyleGAN2
from stylevideo.methods.styleinv.finetune import (
    ImageFolderDataModule,
    StyleTransferFinetune,
    frozen_parameter_names,
)
from stylevideo.nn.stylegan2 import Generator

ARCH = dict(resolution=64, z_dim=8, w_dim=8, mapping_layers=2, channel_base=256, channel_max=16)


def test_frozen_set_is_the_mapping_and_the_synthesis_layers_up_to_32():
    g = Generator(**ARCH)
    frozen = frozen_parameter_names(g, 32)
    expected = {
        n
        for n, _ in g.named_parameters()
        if n.startswith(("mapping.", "synthesis.input.", "synthesis.conv1.", "synthesis.to_rgb1."))
        or any(n.startswith(f"synthesis.convs.{i}.") for i in range(6))
        or any(n.startswith(f"synthesis.to_rgbs.{i}.") for i in range(3))
    }
    assert frozen == expected
    trainable = {n for n, _ in g.named_parameters()} - frozen
    assert trainable and all(
        n.startswith(("synthesis.convs.6.", "synthesis.convs.7.", "synthesis.to_rgbs.3.")) for n in trainable
    )


def test_a_finetuning_step_moves_only_the_high_resolution_layers(tmp_path):
    torch.manual_seed(0)
    parent = StyleGAN2(**ARCH, mbstd_group=2)
    torch.save(
        {"state_dict": parent.state_dict(), "hyper_parameters": dict(parent.hparams)},
        tmp_path / "s1.ckpt",
    )
    ft = StyleTransferFinetune(
        str(tmp_path / "s1.ckpt"),
        perceptual_pretrained=False,
        identity_weight=0.0,
        mbstd_group=2,
        ada_target=None,
    )
    assert torch.equal(ft.G.synthesis.convs[7].conv.weight, parent.G.synthesis.convs[7].conv.weight)
    before = {n: p.detach().clone() for n, p in ft.G.named_parameters()}
    raw_before = ft.G_raw.synthesis.convs[7].conv.weight.clone()
    images = torch.rand(2, 1, 3, 64, 64) * 2 - 1
    trainer = Trainer(
        max_steps=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        accelerator="cpu",
    )
    trainer.fit(ft, DataLoader([{"frames": images}], batch_size=None))
    for name, p in ft.G.named_parameters():
        changed = not torch.equal(p, before[name])
        assert changed == (name not in ft.frozen) or name.endswith("noise.weight"), name
    assert torch.equal(ft.G_raw.synthesis.convs[7].conv.weight, raw_before)
    assert {"loss/adv", "loss/perceptual", "loss/d"} <= set(trainer.callback_metrics)


def test_image_folder_serves_single_images(tmp_path):
    rng = np.random.default_rng(0)
    for i in range(5):
        Image.fromarray(rng.integers(0, 255, (40, 40, 3), dtype=np.uint8)).save(tmp_path / f"img{i}.png")
    dm = ImageFolderDataModule(str(tmp_path), resolution=32, batch_size=2)
    dm.setup("fit")
    batch = next(iter(dm.train_dataloader()))
    assert batch["frames"].shape == (2, 1, 3, 32, 32) and dm.samples_per_epoch == 5
