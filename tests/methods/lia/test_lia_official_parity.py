"""Parity with the authors' LIA code: their checkpoint layout loaded here reproduces their outputs,
and training continues from their optimizer states.

``tests/fixtures/lia_official.pt`` holds a checkpoint their code (wyhsirius/LIA@2a5bbfa, narrowed
64-fold: 32x32, widths 8, N = 8, M = 4) wrote after two iterations of their trainer, with their
animations and discriminator logits (``tools/make_lia_fixtures.py``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
import torch
from parity import assert_float32_parity

from stylevideo.methods.lia import load_official_checkpoint, official_key_map

FIXTURE = Path(__file__).parents[2] / "fixtures" / "lia_official.pt"


@pytest.fixture(scope="module")
def reference() -> dict:
    return torch.load(FIXTURE, weights_only=True)


def write_their_checkpoint(reference: dict, path: Path) -> Path:
    """The checkpoint as their trainer saves it (``trainer.py``: ``args`` is an argparse Namespace)."""
    ckpt = dict(reference["checkpoint"])
    ckpt["args"] = argparse.Namespace(**ckpt["args"])
    torch.save(ckpt, path)
    return path


def test_official_checkpoint_reproduces_the_authors_animations_and_logits(reference, tmp_path):
    model = load_official_checkpoint(write_their_checkpoint(reference, tmp_path / "000002.pt"))
    assert (model.hparams.resolution, model.hparams.latent_dim, model.hparams.motion_dim) == (32, 8, 4)
    source, driving = reference["inputs"]["source"], reference["inputs"]["driving"]
    theirs = reference["outputs"]
    with torch.no_grad():
        absolute = model.autoencoder.animate(source, driving, relative=False)  # Eq. 11: gen(x_s, x_t)
        relative = model.autoencoder.animate(source, driving, relative=True)  # Eq. 12: h_start = x_1
        logits = model.D(driving.flatten(0, 1))
    assert_float32_parity(absolute, theirs["absolute"], "absolute transfer")
    assert_float32_parity(relative, theirs["relative"], "relative transfer")
    assert_float32_parity(logits, theirs["dis_logits"], "discriminator logits")
    assert not torch.allclose(absolute, relative, atol=1e-3)  # the two transfers differ: both are checked


def their_adam_step(state: dict, order: list[str], optim_state: dict, grads: dict) -> dict[str, torch.Tensor]:
    """One step of ``torch.optim.Adam`` over their parameters in their ``parameters()`` order
    (recorded from their modules), resumed from their optimizer state: what their trainer does next."""
    params = [state[key].clone().requires_grad_(True) for key in order]
    adam = torch.optim.Adam(params)
    adam.load_state_dict(optim_state)  # their lr, betas and moments
    for key, p in zip(order, params, strict=True):
        p.grad = grads.get(key)  # None for their unused to_rgb1 and noise strengths
    adam.step()
    return {key: p.detach() for key, p in zip(order, params, strict=True)}


@pytest.mark.parametrize("part", ["gen", "dis"])
def test_training_continues_from_the_authors_optimizer_states(reference, tmp_path, part):
    model = load_official_checkpoint(write_their_checkpoint(reference, tmp_path / "000002.pt"))
    opt_g, opt_d = model.configure_optimizers()
    opt, named = (opt_g, model.optimized_parameters()[0]) if part == "gen" else (opt_d, model.optimized_parameters()[1])
    official = {
        ours: key[len(part) + 1 :] for key, (ours, _) in official_key_map(model).items() if key.startswith(part + ".")
    }
    their_state = reference["checkpoint"][part]
    g = torch.Generator().manual_seed(5)
    grads = {}
    for name, p in named:
        p.grad = torch.randn(p.shape, generator=g)
        grads[official[name]] = p.grad.reshape(their_state[official[name]].shape)
    optim_state = reference["checkpoint"]["g_optim" if part == "gen" else "d_optim"]
    expected = their_adam_step(their_state, reference["parameter_order"][part], optim_state, grads)
    their_group = {k: optim_state["param_groups"][0][k] for k in ("lr", "betas", "eps")}
    fresh = torch.optim.Adam([p.detach().clone().requires_grad_(True) for _, p in named], **their_group)
    for q, (_, p) in zip(fresh.param_groups[0]["params"], named, strict=True):
        q.grad = p.grad
    opt.step()
    fresh.step()
    moved = 0
    for (name, p), q in zip(named, fresh.param_groups[0]["params"], strict=True):
        assert torch.allclose(p.detach(), expected[official[name]].reshape(p.shape), rtol=0, atol=1e-7), name
        assert opt.state[p]["step"] == 3  # two iterations of theirs, then ours
        moved += not torch.allclose(p.detach(), q.detach(), rtol=0, atol=1e-7)
    assert moved > len(named) // 2  # the same lr and betas without their moments: another step
    assert opt.param_groups[0]["lr"] == optim_state["param_groups"][0]["lr"]


def test_optimizer_state_import_is_optional_and_checked(reference, tmp_path):
    path = write_their_checkpoint(reference, tmp_path / "000002.pt")
    with pytest.raises(ValueError, match="000002.pt: holds the authors' optimizer states.*optimizer_states=False"):
        load_official_checkpoint(path, lr=1e-4)
    model = load_official_checkpoint(path, optimizer_states=False, lr=1e-4)
    assert model.initial_optimizer_states == (None, None)
    assert model.configure_optimizers()[0].param_groups[0]["lr"] == pytest.approx(1e-4 * 4 / 5)  # g_reg_every=4
    ckpt = torch.load(path, weights_only=False)
    ckpt["g_optim"]["param_groups"][0]["params"].pop()
    torch.save(ckpt, tmp_path / "cut.pt")
    with pytest.raises(ValueError, match="cut.pt: 'g_optim' does not match 'gen'"):
        load_official_checkpoint(tmp_path / "cut.pt")
