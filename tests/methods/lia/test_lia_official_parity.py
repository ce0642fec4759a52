"""Parity with the authors' LIA code: their checkpoint layout loaded here reproduces their outputs,
and training continues from their optimizer states (``load_official_checkpoint`` and ``init_from``).

``tests/fixtures/lia_official.pt`` holds a checkpoint their code (wyhsirius/LIA@2a5bbfa, narrowed
64-fold: 32x32, widths 8, N = 8, M = 4) wrote after two iterations of their trainer, with their
animations and discriminator logits (``tools/make_lia_fixtures.py``).
"""

from __future__ import annotations

import argparse
import copy
from pathlib import Path

import pytest
import torch
from init_from_helpers import BeforeFirstStep, fit, moved
from lightning.pytorch import Trainer
from parity import assert_float32_parity

from stylevideo.methods.lia import LIA, load_official_checkpoint, official_key_map
from stylevideo.methods.lia.official import OfficialCheckpointIO

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
    adam.load_state_dict(copy.deepcopy(optim_state))  # their lr, betas and moments (Adam steps them in place)
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


#: The fixture's architecture (their code narrowed 64-fold), as a run's config states it.
ARCH = dict(resolution=32, latent_dim=8, motion_dim=4, channel_base=256, channel_max=8, lambda_vgg=0.0)


def pairs(n: int = 2, seed: int = 0) -> list[dict]:
    g = torch.Generator().manual_seed(seed)
    return [{"frames": torch.rand(4, 2, 3, 32, 32, generator=g) * 2 - 1} for _ in range(n)]


def test_init_from_starts_training_from_their_networks_and_optimizer_states(reference, tmp_path):
    path = write_their_checkpoint(reference, tmp_path / "000002.pt")
    model = LIA(**ARCH, lr=1e-3, init_from=str(path))  # the run's lr, their moments
    source, driving = reference["inputs"]["source"], reference["inputs"]["driving"]

    def probe(m):
        opt_g, opt_d = (copy.deepcopy(opt.state_dict()) for opt in m.trainer.optimizers)  # Adam steps in place
        outputs = m.autoencoder.animate(source, driving, relative=False), m.D(driving.flatten(0, 1))
        return outputs, opt_g, opt_d

    first = BeforeFirstStep(probe)
    fit(model, pairs(), 1, first)
    (absolute, logits), opt_g, opt_d = first.seen
    assert_float32_parity(absolute, reference["outputs"]["absolute"], "absolute transfer before the first step")
    assert_float32_parity(logits, reference["outputs"]["dis_logits"], "discriminator logits before the first step")
    theirs = reference["checkpoint"]["g_optim"]
    named = dict(model.optimized_parameters()[0])
    ours_index = list(named).index("D_m.weight")
    their_index = reference["parameter_order"]["gen"].index("dec.direction.weight")
    assert torch.equal(opt_g["state"][ours_index]["exp_avg"], theirs["state"][their_index]["exp_avg"])
    assert {s["step"].item() for s in opt_g["state"].values()} == {2.0}  # their two iterations
    assert len(opt_d["state"]) == len(reference["checkpoint"]["d_optim"]["state"])
    assert opt_g["param_groups"][0]["lr"] == pytest.approx(1e-3 * 4 / 5)  # configured, not their 0.0016
    assert moved(first.state, model, "autoencoder") and moved(first.state, model, "D")


def test_a_resumed_run_continues_from_its_own_checkpoint_not_from_init_from(reference, tmp_path):
    path = write_their_checkpoint(reference, tmp_path / "000002.pt")
    trainer = fit(LIA(**ARCH, init_from=str(path)), pairs(), 1)
    trainer.save_checkpoint(tmp_path / "last.ckpt")
    saved = torch.load(tmp_path / "last.ckpt", weights_only=True)
    path.unlink()  # the released file is not read again: a resumed run does not need it
    first = BeforeFirstStep(lambda m: [copy.deepcopy(opt.state_dict()) for opt in m.trainer.optimizers])
    resumed = LIA(**ARCH, init_from=str(path))
    fit(resumed, pairs(seed=1), 2, first, ckpt_path=tmp_path / "last.ckpt")
    assert first.state.keys() == saved["state_dict"].keys()
    assert all(torch.equal(first.state[k], v) for k, v in saved["state_dict"].items())
    opt_g = first.seen[0]["state"]
    assert {s["step"].item() for s in opt_g.values()} == {3.0}  # their 2 + the first run's 1
    assert torch.equal(opt_g[0]["exp_avg"], saved["optimizer_states"][0]["state"][0]["exp_avg"])


def test_lightning_reads_the_authors_file_for_evaluation(reference, tmp_path):
    """``--ckpt_path vox.pt``: OfficialCheckpointIO gives Lightning the state of the model their file
    holds (the authors' outputs follow, as above), passes our checkpoints through, and a configured
    LIA of another architecture is refused with the differing arguments."""
    path = write_their_checkpoint(reference, tmp_path / "000002.pt")
    io = OfficialCheckpointIO()
    ckpt = io.load_checkpoint(path)
    expected = load_official_checkpoint(path).state_dict()
    assert ckpt["official_checkpoint"] == str(path) and ckpt["state_dict"].keys() == expected.keys()
    assert all(torch.equal(ckpt["state_dict"][k], v) for k, v in expected.items())
    arch = dict(ckpt["hyper_parameters"])
    driving = reference["inputs"]["driving"]
    loader = torch.utils.data.DataLoader([{"frames": driving[0, :2]}], batch_size=1)
    trainer = Trainer(accelerator="cpu", plugins=[io], logger=False, enable_progress_bar=False)
    model = LIA(**arch)
    trainer.test(model, loader, ckpt_path=str(path), verbose=False)
    source = reference["inputs"]["source"]
    with torch.no_grad():
        absolute = model.autoencoder.animate(source, driving, relative=False)
    assert_float32_parity(absolute, reference["outputs"]["absolute"], "absolute transfer after Lightning's restore")
    ours = tmp_path / "ours.ckpt"
    torch.save({"state_dict": model.state_dict(), "pytorch-lightning_version": "2.6.0"}, ours)
    assert io.load_checkpoint(ours).keys() == {"state_dict", "pytorch-lightning_version"}
    with pytest.raises(ValueError, match=r"another architecture .*motion_dim 4 \(configured: 5\)"):
        trainer.test(LIA(**(arch | {"motion_dim": 5})), loader, ckpt_path=str(path), verbose=False)
