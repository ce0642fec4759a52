"""LIA trained as the authors trained it: Adam settings and the pair augmentation (docs/lia.md)."""

import colorsys
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision.transforms.v2.functional as TF
import yaml
from lia_helpers import TINY, shallow_vgg
from lightning.pytorch import Trainer
from torch.utils.data import DataLoader

from stylevideo.methods.lia import LIA
from stylevideo.methods.lia.augment import JITTERS, PairAugment, PairDraw

EXPERIMENTS = Path(__file__).resolve().parents[3] / "experiments"


def test_adam_is_the_papers_lr_with_the_authors_lazy_regularisation_adjustment():
    opt_g, opt_d = LIA(**TINY).configure_optimizers()
    # trainer.py: lr * k / (k + 1), betas ** (k / (k + 1)) with g_reg_every 4, d_reg_every 16
    g, d = opt_g.param_groups[0], opt_d.param_groups[0]
    assert g["lr"] == pytest.approx(0.002 * 4 / 5) == pytest.approx(0.0016)
    assert g["betas"] == pytest.approx((0.0, 0.99 ** (4 / 5))) and g["betas"][1] == pytest.approx(0.992, abs=5e-4)
    assert d["lr"] == pytest.approx(0.002 * 16 / 17) == pytest.approx(0.00188, abs=5e-6)
    assert d["betas"] == pytest.approx((0.0, 0.99 ** (16 / 17))) and d["betas"][1] == pytest.approx(0.9906, abs=5e-5)
    opt_g, _ = LIA(**TINY, g_reg_every=0).configure_optimizers()
    assert opt_g.param_groups[0]["lr"] == 0.002 and opt_g.param_groups[0]["betas"] == (0.0, 0.99)


def _reference(image: np.ndarray, op: str, f: float) -> np.ndarray:
    """torchvision's colour adjustments written out in float64 on one [3, H, W] image in [0, 1]
    (its luma weights 0.2989 / 0.587 / 0.114; PIL, which the authors' jitter ran on, 0.299)."""
    gray = 0.2989 * image[0] + 0.587 * image[1] + 0.114 * image[2]
    if op == "brightness":
        return np.clip(image * f, 0, 1)
    if op == "contrast":
        return np.clip((image - gray.mean()) * f + gray.mean(), 0, 1)
    if op == "saturation":
        return np.clip(gray + f * (image - gray), 0, 1)
    out = np.empty_like(image)
    for y in range(image.shape[1]):
        for x in range(image.shape[2]):
            h, s, v = colorsys.rgb_to_hsv(*image[:, y, x])
            out[:, y, x] = colorsys.hsv_to_rgb((h + f) % 1.0, s, v)
    return out


def test_each_operation_matches_its_definition():
    torch.manual_seed(0)
    images = torch.rand(4, 3, 6, 8, dtype=torch.float64) * 2 - 1
    # crop 4 x 6 at (1, 2) resized back, flip, and one jitter per pair
    draw = PairDraw(
        torch.tensor([[1, 2], [0, 0], [2, 1], [1, 1]]),
        torch.tensor([True, False, True, False]),
        torch.tensor([0, 1, 2, 3]),
        torch.tensor([1.08, 0.93, 1.05, -0.07], dtype=torch.float64),
    )
    out = PairAugment.apply(images, draw, crop_size=(4, 6))
    for i in range(4):
        (y0, x0), cropped = draw.offsets[i].tolist(), images[i]
        cropped = TF.resized_crop(images[i], y0, x0, 4, 6, [6, 8], antialias=True)
        flipped = cropped.numpy()[:, :, ::-1] if draw.flip[i] else cropped.numpy()
        expected = _reference((flipped + 1) / 2, JITTERS[i], float(draw.factor[i])) * 2 - 1
        np.testing.assert_allclose(out[i].numpy(), expected, atol=1e-6)


def test_one_draw_per_pair_applied_to_source_and_driving_alike():
    torch.manual_seed(0)
    x = torch.rand(16, 3, 32, 32) * 2 - 1
    aug = PairAugment(crop=0.875, flip=True, jitter=0.1)
    x_s, x_d = aug(x, x.clone(), generator=torch.Generator().manual_seed(3))
    assert torch.equal(x_s, x_d) and not torch.allclose(x_s, x)  # the same transform for both frames
    x_s, x_d = aug(x, x.flip(0), generator=torch.Generator().manual_seed(3))
    again, _ = aug(x.flip(0), x, generator=torch.Generator().manual_seed(3))
    assert torch.equal(x_d, again)  # the driving frame got the source's draw


def test_the_draws_follow_the_authors_distributions():
    aug = PairAugment(crop=0.875, flip=True, jitter=0.1)
    draw = aug.draw(8000, (256, 256), generator=torch.Generator().manual_seed(0))
    assert draw.offsets.min() == 0 and draw.offsets.max() == 256 - 224  # randint(0, 256 - 224), inclusive
    assert abs(draw.flip.float().mean() - 0.5) < 0.03
    counts = torch.bincount(draw.op, minlength=4) / 8000
    assert ((counts - 0.25).abs() < 0.03).all()  # exactly one of the four adjustments, uniformly
    hue = draw.op == JITTERS.index("hue")
    assert draw.factor[hue].abs().max() <= 0.1 and (draw.factor[~hue] - 1).abs().max() <= 0.1
    assert draw.factor[hue].abs().max() > 0.09 and (draw.factor[~hue] - 1).abs().max() > 0.09


def test_training_sees_the_augmented_pair():
    model = LIA(**TINY, augment_flip=True)
    model.set_vgg(shallow_vgg())
    model.augment.draw = lambda b, size, device=None, generator=None: PairDraw(
        None, torch.ones(b, dtype=torch.bool), torch.full((b,), -1), torch.ones(b)
    )
    seen = []
    forward = model.autoencoder.forward
    model.autoencoder.forward = lambda x_s, x_d: seen.append((x_s, x_d)) or forward(x_s, x_d)
    frames = torch.rand(2, 2, 3, 64, 64) * 2 - 1
    trainer = Trainer(
        max_steps=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        accelerator="cpu",
    )
    trainer.fit(model, DataLoader([{"frames": frames}], batch_size=None))
    assert torch.equal(seen[0][0], frames[:, 0].flip(-1)) and torch.equal(seen[0][1], frames[:, 1].flip(-1))


@pytest.mark.parametrize(
    "experiment, crop, flip, jitter",
    [("lia_taichi", 0.875, True, 0.1), ("lia_ted", None, True, 0.1), ("lia_voxceleb", None, False, 0.0)],
)
def test_experiments_augment_as_the_authors(experiment, crop, flip, jitter):
    args = yaml.safe_load((EXPERIMENTS / f"{experiment}.yaml").read_text())["model"]["init_args"]
    assert (args.get("augment_crop"), args.get("augment_flip", False), args.get("augment_jitter", 0.0)) == (
        crop,
        flip,
        jitter,
    )
