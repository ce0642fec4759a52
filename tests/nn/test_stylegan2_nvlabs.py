"""Released StyleGAN2 files run here exactly: NVlabs pickles (StyleGAN2-ADA, StyleGAN-Human's
non-square fork) against reference outputs of the authors' code, and the other formats of
``load_generator`` / ``load_discriminator``.

The references (tests/fixtures/nvlabs_*.pt) come from ``tools/make_nvlabs_fixtures.py`` running
NVlabs' ``training/networks.py`` on random weights: StyleGAN2-ADA conditional (3 classes),
StyleGAN-Human's fork unconditional (as released), ``conv_clamp`` 0.5 so that the clamps act,
``num_fp16_res`` 2 run with ``force_fp32`` (as on a CPU).
"""

from __future__ import annotations

import pytest
import torch
from nvlabs_lookalike import load_fixture, relative_error, write_pickle

from stylevideo.nn.nvlabs_pickle import plain, read_network_pickle
from stylevideo.nn.stylegan2 import Discriminator, Generator, base_width, load_discriminator, load_generator

PARITY = 1e-4  # relative L2 error in float32


@pytest.fixture(scope="module", params=["nvlabs_stylegan2_ada", "nvlabs_stylegan_human"])
def release(request, tmp_path_factory):
    fixture = load_fixture(request.param)
    path = write_pickle(
        tmp_path_factory.mktemp("pkl") / "network-snapshot-000000.pkl",
        fixture["networks"],
        training_set_kwargs={"path": "frames.zip", "resolution": 32},
    )
    return fixture, path


@torch.no_grad()
def test_generator_reproduces_G_ema_const_noise_and_truncation(release):
    fixture, path = release
    g, w_avg = load_generator(path)
    z, c, out = fixture["inputs"]["z"], fixture["inputs"]["c"], fixture["outputs"]
    height, width = out["const"].shape[-2:]
    assert (g.resolution, g.synthesis.aspect_ratio, g.c_dim, g.arch["conv_clamp"]) == (
        32,
        width / height,
        c.shape[1],
        0.5,
    )
    assert not g.training and g.noise_mode == "const"
    assert torch.equal(w_avg, fixture["networks"]["G_ema"]["tensors"]["mapping.w_avg"])
    assert torch.equal(g.map(z, c=c), out["ws"])
    assert relative_error(g(z, c=c), out["const"]) <= PARITY
    assert relative_error(g(z, psi=0.7, c=c), out["psi_0.7"]) <= PARITY
    assert relative_error(g(z, psi=0.5, cutoff=4, c=c), out["psi_0.5_cutoff_4"]) <= PARITY
    assert relative_error(g(z, c=c, noise_mode="none"), out["none"]) <= PARITY
    if g.c_dim:
        with pytest.raises(ValueError, match="conditional"):
            g(z)


@torch.no_grad()
def test_the_references_exercise_the_clamp_and_the_label(release):
    """Without conv_clamp, or with another label, the output is far from the reference: the
    parity above checks both."""
    fixture, path = release
    g, _ = load_generator(path)
    unclamped = Generator(**{**g.arch, "conv_clamp": None}, noise_mode="const").eval()
    unclamped.load_state_dict(g.state_dict())
    z, c, out = fixture["inputs"]["z"], fixture["inputs"]["c"], fixture["outputs"]
    assert relative_error(unclamped(z, c=c), out["const"]) > 0.05
    if g.c_dim:
        assert relative_error(g(z, c=c.roll(1, 0)), out["const"]) > 0.05


@torch.no_grad()
def test_discriminator_reproduces_D(release):
    fixture, path = release
    d = load_discriminator(path)
    assert (d.mbstd_group, d.c_dim) == (2, fixture["inputs"]["c"].shape[1])
    images, c = fixture["inputs"]["images"], fixture["inputs"]["c"]
    assert relative_error(d(images, c), fixture["outputs"]["D"]) <= PARITY


def test_unmapped_architectures_are_refused_with_the_reason(tmp_path):
    fixture = load_fixture("nvlabs_stylegan2_ada")
    g = fixture["networks"]["G_ema"]
    orig = {**g, "modules": {**g["modules"]}}
    block = orig["modules"]["synthesis.b8"]
    orig["modules"]["synthesis.b8"] = {**block, "attrs": {**block["attrs"], "architecture": "orig"}}
    with pytest.raises(ValueError, match="architecture 'orig'; only 'skip'"):
        load_generator(write_pickle(tmp_path / "orig.pkl", {"G_ema": orig}))
    blurred = {**g, "tensors": {**g["tensors"], "synthesis.b8.resample_filter": torch.ones(4, 4) / 16}}
    with pytest.raises(ValueError, match=r"b8.resample_filter is not the \[1, 3, 3, 1\]"):
        load_generator(write_pickle(tmp_path / "box.pkl", {"G_ema": blurred}))
    with pytest.raises(KeyError, match="no network 'G_ema'"):
        load_generator(write_pickle(tmp_path / "d.pkl", {"D": fixture["networks"]["D"]}))


def test_non_square_networks_and_their_bounds():
    """aspect_ratio = width / height: 4 x 2 constant, noise and D epilogue for 0.5 (StyleGAN-Human)."""
    torch.manual_seed(0)
    g = Generator(32, 8, 8, 1, 256, 16, aspect_ratio=0.5).eval()
    assert g.synthesis.input.input.shape[-2:] == (4, 2)
    assert g.synthesis.noises.noise_4.shape[-2:] == (16, 8)
    assert g(torch.randn(2, 8)).shape == (2, 3, 32, 16)
    d = Discriminator(32, 256, 16, aspect_ratio=0.5)
    assert d.final_linear[0].weight.shape[1] == 16 * 4 * 2
    assert d(torch.randn(2, 3, 32, 16)).shape == (2, 1)
    assert d.features(torch.randn(2, 3, 32, 16), 8).shape == (2, 16, 8, 4)
    assert base_width(0.75) == 3
    with pytest.raises(ValueError, match="aspect_ratio"):
        Generator(32, 8, 8, 1, 256, 16, aspect_ratio=0.3)


def test_rosinality_and_stylevideo_checkpoints_load_through_the_same_functions(tmp_path):
    torch.manual_seed(0)
    g = Generator(16, 8, 8, 2, 256, 16, noise_mode="const").eval()
    g.w_avg.normal_()
    d = Discriminator(16, 256, 16).eval()
    arch = dict(resolution=16, z_dim=8, w_dim=8, mapping_layers=2, channel_base=256, channel_max=16)
    state = {f"G_ema.{k}": v for k, v in g.state_dict().items()} | {f"D.{k}": v for k, v in d.state_dict().items()}
    torch.save({"state_dict": state, "hyper_parameters": arch | {"mbstd_group": 4}}, tmp_path / "last.ckpt")
    rosinality = {
        ("style." + k[len("mapping.layers.") :] if k.startswith("mapping.") else k[len("synthesis.") :]): v
        for k, v in g.state_dict().items()
        if k != "w_avg"
    }
    torch.save({"g_ema": rosinality, "d": d.state_dict(), "latent_avg": g.w_avg.clone()}, tmp_path / "550000.pt")
    z, x = torch.randn(2, 8), torch.randn(2, 3, 16, 16)
    with torch.no_grad():
        for path in (tmp_path / "last.ckpt", tmp_path / "550000.pt"):
            loaded, w_avg = load_generator(path)
            assert torch.equal(w_avg, g.w_avg) and torch.equal(loaded(z, psi=0.5), g(z, psi=0.5))
            assert torch.equal(load_discriminator(path)(x), d(x))
    with pytest.raises(KeyError, match=r"no G\.\* entries"):
        load_generator(tmp_path / "last.ckpt", key="G")


@pytest.mark.parametrize("name,architecture", [("nvlabs_stylegan3", "StyleGAN3"), ("nvlabs_stylegan_v", "StyleGAN-V")])
def test_stylegan3_and_stylegan_v_pickles_are_read_and_refused_by_architecture(tmp_path, name, architecture):
    """Their parameters read by name; load_generator names the architecture it has no network for."""
    fixture = load_fixture(name)
    path = write_pickle(tmp_path / f"{name}.pkl", fixture["networks"])
    g = read_network_pickle(path)["G_ema"]
    expected = fixture["networks"]["G_ema"]["tensors"]
    assert g.tensors().keys() == expected.keys()
    assert all(torch.equal(g.tensors()[k], v) for k, v in expected.items())
    if architecture == "StyleGAN-V":  # its OmegaConf config, as plain data
        assert plain(g.attr("cfg")) == fixture["networks"]["G_ema"]["modules"][""]["attrs"]["cfg"]
        assert plain(g.attr("cfg"))["motion"]["motion_z_distance"] == 4
    with pytest.raises(ValueError, match=f"generator is {architecture}.*no network for this architecture"):
        load_generator(path)
