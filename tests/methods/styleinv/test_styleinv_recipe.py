"""StyleInV trained as the paper / the authors' configs say (docs/styleinv.md, "Recipe")."""

from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from lightning.pytorch import Trainer
from styleinv_tiny import TINY
from torch.utils.data import DataLoader

from stylevideo.methods.gan import GANModule
from stylevideo.methods.styleinv.model import StyleInV, ffhq_aligned

EXPERIMENTS = Path(__file__).resolve().parents[3] / "experiments"
DATASETS = ("deeperforensics", "faceforensics", "skytimelapse", "taichi")


def _first_step_losses(stage_ckpts, lambda_adv: float) -> tuple[dict, dict]:
    """The encoder's weighted loss terms of the first iteration and the fakes they came from."""
    torch.manual_seed(0)
    m = StyleInV(*stage_ckpts, **TINY, lambda_adv=lambda_adv)
    seen, fakes = [], []
    fakes_of = m.fakes
    m.fakes = lambda b: fakes.append(fakes_of(b)) or fakes[-1]
    m.optimize = lambda opt, losses, counted=False: seen.append(losses) or GANModule.optimize(m, opt, losses, counted)
    batch = {"frames": torch.rand(2, 4, 3, 32, 32) * 2 - 1, "t": torch.tensor([[0.0, 2, 3, 6]] * 2)}
    trainer = Trainer(
        max_steps=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        accelerator="cpu",
    )
    torch.manual_seed(1)
    trainer.fit(m, DataLoader([batch], batch_size=None))
    return {k: v.detach() for k, v in seen[0].items()}, fakes[0]


@pytest.fixture(scope="module")
def first_steps(stage_ckpts):
    """The first iteration's losses at lambda_adv 1 and at TaiChi's 0.1 (same seeds)."""
    return {lam: _first_step_losses(stage_ckpts, lam) for lam in (1.0, 0.1)}


def test_eq5_weight_is_the_authors_005_on_the_mean_over_batch_and_time(first_steps):
    losses, fake = first_steps[1.0]
    residual = fake["residual"].detach()  # [B, 4, w_dim]: E(G(w0), t_i), i = 0..3
    # loss_styleinv.py: lambda_w_reg * ||w_t - w0||_2, averaged over the (t b) rows, lambda_w_reg 0.05
    authors = 0.05 * torch.stack([residual[b, i].norm() for b in range(2) for i in range(4)]).mean()
    assert torch.allclose(losses["reg"], authors, rtol=1e-5)


def test_lambda_adv_scales_the_encoders_adversarial_term(first_steps):
    (one, _), (taichi, _) = first_steps[1.0], first_steps[0.1]
    assert torch.allclose(taichi["adv"], 0.1 * one["adv"], rtol=1e-5)
    assert torch.allclose(taichi["l2"], one["l2"]) and torch.allclose(taichi["reg"], one["reg"])


def _canvas(image: np.ndarray, dy: int, dx: int) -> np.ndarray:
    canvas = np.full((image.shape[0] + 80, image.shape[1] + 80, 3), 90, np.uint8)
    canvas[dy : dy + image.shape[0], dx : dx + image.shape[1]] = image
    return canvas


def _as_tensor(frames: list[np.ndarray]) -> torch.Tensor:
    return torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2).float() / 127.5 - 1


def test_ffhq_alignment_puts_the_eyes_level_and_removes_the_placement(real_data):
    pytest.importorskip("dlib")
    from PIL import Image

    from stylevideo.video.preprocess.face_align import DlibLandmarks

    face = np.asarray(Image.open(real_data / "voxceleb" / "source_a.png").convert("RGB").resize((192, 192)))
    images = _as_tensor([_canvas(face, 10, 60), _canvas(face, 70, 5)])
    aligned = ffhq_aligned(images, 128)
    assert aligned.shape == (2, 3, 128, 128)
    assert (images[0] - images[1]).abs().mean() > 0.2  # the two placements differ ...
    assert (aligned[0] - aligned[1]).abs().mean() < 0.02  # ... their aligned crops do not
    finder = DlibLandmarks()
    frame = ((aligned[0].permute(1, 2, 0) + 1) * 127.5).round().byte().numpy()
    points = finder.predict(frame, finder.detect(frame))
    eye_l, eye_r = points[36:42].mean(0), points[42:48].mean(0)
    assert abs(eye_l[1] - eye_r[1]) < 3 and abs((eye_l[0] + eye_r[0]) / 2 - 64) < 4  # level, centred (FFHQ)
    with pytest.raises(ValueError, match="no face found in source image 0"):
        ffhq_aligned(torch.zeros(1, 3, 64, 64), 32)


def test_animate_inverts_the_aligned_source_when_asked(stage_ckpts, monkeypatch, real_data):
    pytest.importorskip("dlib")
    from PIL import Image

    m = StyleInV(*stage_ckpts, **TINY, animate_align=True)
    face = np.asarray(Image.open(real_data / "voxceleb" / "source_a.png").convert("RGB").resize((128, 128)))
    source = _as_tensor([face])
    seen = []
    invert = m.invert
    monkeypatch.setattr(m, "invert", lambda images: seen.append(images) or invert(images))
    m.animate(source, num_frames=2, seed=0)
    assert torch.equal(seen[0], ffhq_aligned(source, 32))


def _args(name: str) -> tuple[dict, dict]:
    config = yaml.safe_load((EXPERIMENTS / f"{name}.yaml").read_text())
    return config["model"]["init_args"], config["data"]["init_args"]


@pytest.mark.parametrize("dataset", DATASETS)
def test_experiments_use_the_recipe(dataset):
    for stage in ("stylegan2", "psp", "styleinv"):
        _, data = _args(f"{stage}_{dataset}")
        assert data.get("mirror") is True, stage  # mirror: true (configs/*.yaml), x-flips in stages 1-2
    model, data = _args(f"psp_{dataset}")
    assert data["class_aware"] is False and model.get("optimizer", "ranger") == "ranger"  # uniform over frames
    model, data = _args(f"styleinv_{dataset}")
    assert data["sampler"]["init_args"]["clip_length"] == 128 == model["clip_length"]
    assert model.get("lambda_adv", 1.0) == (0.1 if dataset == "taichi" else 1.0)
    assert model.get("lambda_reg", 0.0125) == 0.0125
    assert model.get("animate_align", False) == (dataset in ("deeperforensics", "faceforensics"))
