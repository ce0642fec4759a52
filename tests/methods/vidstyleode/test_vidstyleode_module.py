"""The LightningModule: what trains, Eq. 3 / 6 wiring, checkpoints, pretrained parts, errors."""

import pytest
import torch
from lightning.pytorch import Callback, Trainer
from nvlabs_lookalike import load_fixture, relative_error, write_pickle
from torch.utils.data import DataLoader
from vso_helpers import make_batch, make_model, stand_ins

from stylevideo.features import dino
from stylevideo.features.dino import DinoViT
from stylevideo.features.weights import MissingWeightsError, register_weights
from stylevideo.methods.vidstyleode import (
    PretrainedCLIP,
    PretrainedPSPInverter,
    PretrainedSpliceViT,
    PretrainedStyleGAN2,
    VidStyleODE,
)


def fit(model, batches, steps):
    trainer = Trainer(
        max_steps=steps,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        accelerator="cpu",
        num_sanity_val_steps=0,
    )
    trainer.fit(model, DataLoader(batches, batch_size=None))
    return trainer


def test_generated_frames_are_g_of_z_c_plus_the_direction(model, batch, monkeypatch):
    z_C = model.content(batch["frames"])
    z_S = model.style(z_C)
    z_dt = model.dynamics.solve(
        model.dynamics.encode(batch["frames"], model.ode_time(batch["t"])),
        torch.tensor([[0.0, 0.5]]).expand(3, -1),
    )
    seen = []
    synthesize = model.G.synthesize
    monkeypatch.setattr(model.G, "synthesize", lambda ws: (seen.append(ws), synthesize(ws))[1])
    images, delta = model.generate(z_C, z_S, z_dt)
    assert images.shape == (3, 2, 3, 16, 16) and delta.shape == (
        3,
        2,
        model.G.num_ws,
        model.G.w_dim,
    )
    assert torch.allclose(seen[0].view(3, 2, *z_C.shape[1:]), z_C[:, None] + delta, atol=1e-6)


def test_training_updates_only_the_dynamics_and_f_g(batch):
    torch.manual_seed(0)
    model = make_model(lr=1e-3)
    frozen = {k: v.clone() for k, v in model.state_dict().items() if k.startswith(("G.", "clip.", "splice.", "f_C."))}
    trainable = {k: v.clone() for k, v in model.state_dict().items() if k.startswith(("dynamics.", "f_G."))}
    trainer = fit(model, [batch] * 2, 2)
    assert trainer.global_step == 2
    state = model.state_dict()
    assert all(torch.equal(state[k], v) for k, v in frozen.items())
    assert sum(not torch.equal(state[k], v) for k, v in trainable.items()) > 0.9 * len(trainable)
    (opt,) = trainer.optimizers
    params = {id(p) for group in opt.param_groups for p in group["params"]}
    assert params == {id(p) for p in [*model.dynamics.parameters(), *model.f_G.parameters()]}
    assert [g["lr"] for g in opt.param_groups] == [5e-3, 1e-3]  # dynamics at 5x (authors' code)
    assert isinstance(opt, torch.optim.Adam) and opt.defaults["fused"]  # one kernel for every tensor
    assert not model.G.training and not model.clip.training and not model.splice.training
    metrics = trainer.logged_metrics
    assert {"loss/C", "loss/A", "loss/S", "loss/D", "loss/L", "loss/total", "lambda/C"} <= set(metrics)


class _Logged(Callback):
    def __init__(self):
        self.steps = []

    def on_train_batch_end(self, trainer, *args):
        self.steps.append({k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith("loss/")})


def test_the_total_is_eq_6_with_the_scheduled_weights():
    """Eq. 6, ``sum_k lambda_k L_k``, computed here from the logged terms and the weights written
    out: lambda_C 0.01 -> 1 and lambda_D 0.01 -> 2 over two steps, lambda_A = lambda_S = 10 x 0.5."""
    torch.manual_seed(0)
    model = make_model(lambda_C_steps=2, lambda_D_warmup=0, lambda_D_steps=2)
    logged = _Logged()
    trainer = Trainer(
        max_steps=2,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        accelerator="cpu",
        num_sanity_val_steps=0,
        callbacks=[logged],
    )
    trainer.fit(model, DataLoader([make_batch()] * 2, batch_size=None))
    for step, losses in enumerate(logged.steps):
        lam_c, lam_d = 0.01 + 0.99 * step / 2, 0.01 + 1.99 * step / 2
        total = lam_c * losses["loss/C"] + 5 * losses["loss/A"] + 5 * losses["loss/S"]
        total += lam_d * losses["loss/D"] + 1 * losses["loss/L"]
        assert losses["loss/total"] == pytest.approx(total, rel=1e-5)
    assert logged.steps[1]["loss/D"] > 0  # the directional term was weighted, not dropped


@pytest.mark.parametrize("term", ["S", "D", "L"])
def test_training_minimises_the_structure_direction_and_norm_terms(term):
    torch.manual_seed(0)  # every other weight 0: the stand-ins give L_A and L_C almost no signal
    weights = dict(lambda_C=(0.0, 0.0), lambda_A=0.0, lambda_S=0.0, lambda_D=(0.0, 0.0), lambda_L=0.0)
    weights[{"S": "lambda_S", "D": "lambda_D", "L": "lambda_L"}[term]] = (2.0, 2.0) if term == "D" else 2.0
    weights["lambda_D_warmup"] = 0
    model = make_model(lr=3e-3, frames_per_step=2, **weights)
    batch = make_batch(b=2, k=4)

    def value():
        torch.manual_seed(1)  # the same frames and target descriptions each time
        with torch.no_grad():
            return model.losses(batch)[0][term]

    before = value()
    fit(model, [batch] * 10, 10)
    assert value() < 0.7 * before


def test_bad_batches_and_non_finite_losses_raise(batch):
    torch.manual_seed(0)
    model = make_model()
    with pytest.raises(ValueError, match="batch_size >= 2"):
        model.losses(make_batch(b=1))
    with pytest.raises(ValueError, match="no 'text'"):
        make_model(descriptions=None).losses(batch)
    with torch.no_grad():
        model.f_G.out[0].weight.fill_(float("nan"))
    with pytest.raises(FloatingPointError, match="loss term '[CASDL]'.*iteration 0"):
        fit(model, [batch], 1)


@pytest.fixture(scope="module")
def psp_release(tmp_path_factory):
    """pSp's official checkpoint layout written from tests/fixtures/psp_official.pt: a W encoder and
    an 8x8 rosinality decoder (pSp's models/stylegan2), with reference outputs of pSp's own code."""
    fixture = load_fixture("psp_official", networks=("w",))
    folder = tmp_path_factory.mktemp("psp")
    state = fixture["networks"]["w"]["tensors"]
    torch.save({"state_dict": state, **fixture["checkpoints"]["w"]}, folder / "psp.pt")
    decoder = {k[len("decoder.") :]: v for k, v in state.items() if k.startswith("decoder.")}
    torch.save({"g_ema": decoder, "latent_avg": fixture["checkpoints"]["w"]["latent_avg"][0]}, folder / "g.pt")
    return fixture, folder


@torch.no_grad()
def test_pretrained_generator_reproduces_the_rosinality_decoder_and_reads_nvlabs_pickles(psp_release, tmp_path):
    fixture, folder = psp_release
    g = PretrainedStyleGAN2(path=str(folder / "g.pt"), resolution=8, w_dim=512, channel_base=4096, mapping_layers=8)
    assert not g.materialized and g.num_ws == 4
    g.materialize()
    codes = fixture["outputs"]["w"]["codes"]  # pSp's decoder([codes], input_is_latent, randomize_noise=False)
    assert relative_error(g.synthesize(codes), fixture["outputs"]["w"]["images"]) <= 1e-4
    assert torch.equal(g.latent_avg, fixture["checkpoints"]["w"]["latent_avg"].expand(4, -1))
    assert not any(p.requires_grad for p in g.parameters())
    with pytest.raises(ValueError, match="declares resolution=32"):
        PretrainedStyleGAN2(path=str(folder / "g.pt"), resolution=32, w_dim=512).materialize()
    human = load_fixture("nvlabs_stylegan_human")  # StyleGAN-Human's StyleGAN2 fork, 32 x 16
    pkl = write_pickle(tmp_path / "stylegan_human.pkl", human["networks"])
    g = PretrainedStyleGAN2(path=str(pkl), resolution=32, w_dim=16, channel_base=256, channel_max=16,
                            mapping_layers=2, aspect_ratio=0.5, conv_clamp=0.5)  # fmt: skip
    g.materialize()
    ws = g.generator.map(human["inputs"]["z"])
    assert relative_error(g.synthesize(ws), human["outputs"]["const"]) <= 1e-4
    with pytest.raises(ValueError, match="aspect_ratio=1.0"):
        PretrainedStyleGAN2(path=str(pkl), resolution=32, w_dim=16).materialize()


def test_paper_configuration_builds_without_files_and_setup_names_the_missing_one():
    parts = stand_ins()
    model = VidStyleODE(
        PretrainedStyleGAN2(),
        parts["inverter"],
        PretrainedCLIP(),
        PretrainedSpliceViT(),
        sa_layers=1,
        ca_layers=1,
    )
    assert model.f_G.num_ws == 18 and model.G.latent_avg.is_meta  # FFHQ 1024: 18 W+ layers
    assert model.f_G.style_in.in_features == 512  # CLIP ViT-B/32
    with pytest.raises(MissingWeightsError, match="stylegan2-ffhq-config-f.pt"):
        model.setup("fit")


def test_checkpoints_leave_out_file_backed_weights_and_restore_them(tmp_path, monkeypatch):
    torch.manual_seed(0)
    arch = dict(patch_size=8, embed_dim=16, depth=2, num_heads=2)
    monkeypatch.setitem(dino.DINO_MODELS, "dino_tiny_vso", ("tiny_vso.pth", arch))
    register_weights("dino_tiny_vso", "tiny_vso.pth", url="https://example.org/tiny_vso.pth")
    torch.save(DinoViT(**arch).state_dict(), tmp_path / "tiny_vso.pth")
    splice = lambda: PretrainedSpliceViT("dino_tiny_vso", str(tmp_path / "tiny_vso.pth"), 1, 1, 16)  # noqa: E731
    model = make_model(splice=splice())
    model.load_pretrained()
    checkpoint = {"state_dict": model.state_dict()}
    model.on_save_checkpoint(checkpoint)
    assert not any(k.startswith("splice.") for k in checkpoint["state_dict"])
    assert any(k.startswith("G.") for k in checkpoint["state_dict"])  # stand-ins have no file: kept
    torch.manual_seed(1)
    restored = make_model(splice=splice())
    restored.load_pretrained()
    restored.on_load_checkpoint(checkpoint)
    restored.load_state_dict(checkpoint["state_dict"])  # strict
    for key, value in model.state_dict().items():
        assert torch.equal(restored.state_dict()[key], value), key


@torch.no_grad()
def test_psp_inverter_reproduces_psps_codes_from_an_official_checkpoint(psp_release):
    fixture, folder = psp_release
    inverter = PretrainedPSPInverter(path=str(folder / "psp.pt"), num_ws=4, w_dim=512, input_size=16)
    assert not inverter.materialized
    inverter.materialize()
    x = fixture["inputs"]["x"]  # 16x16: pSp's input here, so no resizing
    assert relative_error(inverter(x), fixture["outputs"]["w"]["codes"]) <= 1e-4  # E(x) + latent_avg, per layer
    with pytest.raises(ValueError, match="declares num_ws=18"):
        PretrainedPSPInverter(path=str(folder / "psp.pt")).materialize()
