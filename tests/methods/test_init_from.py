"""``init_from``: a run starts from a released file's networks (checked against the authors' outputs
before the first step), trains from there, and refuses a file of another architecture by name.

The shared mechanism (stylevideo.methods.init_from) is exercised here through StyleGAN2; the
method-specific readers are tested next to their importers (lia, onestyle, styleinv, psp).
"""

from __future__ import annotations

import pytest
import torch
from init_from_helpers import BeforeFirstStep, fit, moved, rosinality_state
from nvlabs_lookalike import load_fixture, relative_error, write_pickle

from stylevideo.features.requirements import MissingRequirementsError, check, from_config
from stylevideo.methods.stylegan2 import StyleGAN2
from stylevideo.nn.stylegan2 import Discriminator, Generator

PARITY = 1e-4
#: StyleGAN-Human's look-alike (tests/fixtures/nvlabs_stylegan_human.pt): 32x16, conv_clamp 0.5, D mbstd group 2.
HUMAN = dict(
    resolution=32, z_dim=8, w_dim=16, mapping_layers=2, channel_base=256, channel_max=16, conv_clamp=0.5,
    aspect_ratio=0.5, mbstd_group=2,
)  # fmt: skip
TINY = dict(resolution=16, z_dim=8, w_dim=8, mapping_layers=2, channel_base=128, channel_max=16, mbstd_group=2)


def frames(res: tuple[int, int], n: int = 2, seed: int = 0) -> list[dict]:
    g = torch.Generator().manual_seed(seed)
    return [{"frames": torch.rand(4, 1, 3, *res, generator=g) * 2 - 1} for _ in range(n)]


@pytest.fixture(scope="module")
def human(tmp_path_factory):
    fixture = load_fixture("nvlabs_stylegan_human")
    return fixture, write_pickle(tmp_path_factory.mktemp("human") / "stylegan_human.pkl", fixture["networks"])


def test_stylegan2_starts_from_an_nvlabs_pickle_and_trains(human):
    fixture, path = human
    z, images, out = fixture["inputs"]["z"], fixture["inputs"]["images"], fixture["outputs"]
    model = StyleGAN2(**HUMAN, init_from=str(path))
    first = BeforeFirstStep(lambda m: (m.G_ema(z, noise_mode="const"), m.G.synthesis(m.G.map(z), "const"), m.D(images)))
    fit(model, frames((32, 16)), 2, first)  # their G is not in the release: G starts as G_ema
    g_ema, g, d = first.seen
    assert relative_error(g_ema, out["const"]) <= PARITY  # their G_ema(z, noise_mode='const')
    assert relative_error(g, out["const"]) <= PARITY
    assert relative_error(d, out["D"]) <= PARITY  # their D(img)
    assert torch.equal(first.state["G.w_avg"], fixture["networks"]["G_ema"]["tensors"]["mapping.w_avg"])
    assert moved(first.state, model, "G") and moved(first.state, model, "D") and moved(first.state, model, "G_ema")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A TINY StyleGAN2 after one iteration and its Lightning checkpoint."""
    torch.manual_seed(0)
    model = StyleGAN2(**TINY)
    path = tmp_path_factory.mktemp("own") / "own.ckpt"
    fit(model, frames((16, 16)), 1).save_checkpoint(path)
    return model, path


def test_stylegan2_reads_a_rosinality_file_and_its_own_checkpoints(tmp_path, trained):
    torch.manual_seed(0)
    g = Generator(**{k: TINY[k] for k in ("resolution", "z_dim", "w_dim", "mapping_layers")}, channel_base=128,
                  channel_max=16, noise_mode="const").eval()  # fmt: skip
    d = Discriminator(16, 128, 16, mbstd_group=2).eval()
    latent_avg = torch.randn(8)
    torch.save(
        {"g_ema": rosinality_state(g.state_dict()), "d": d.state_dict(), "latent_avg": latent_avg}, tmp_path / "r.pt"
    )
    model = StyleGAN2(**TINY, init_from=str(tmp_path / "r.pt"))
    model.apply_init_from()
    z, x = torch.randn(3, 8), torch.rand(4, 3, 16, 16) * 2 - 1
    with torch.no_grad():
        assert torch.equal(model.G_ema.eval()(z, noise_mode="const"), g(z))
        assert torch.equal(model.G.eval()(z, noise_mode="const"), g(z))  # no "g" in the file: G starts as g_ema
        assert torch.equal(model.D.eval()(x), d(x))
    assert torch.equal(model.G_ema.w_avg, latent_avg)

    restarted = StyleGAN2(**TINY, lr=1e-4, init_from=str(trained[1]))  # new settings, its weights
    restarted.apply_init_from()
    theirs, ours = trained[0].state_dict(), restarted.state_dict()
    assert all(torch.equal(theirs[k], ours[k]) for k in ours if torch.is_tensor(ours[k]))


def test_a_file_of_another_architecture_is_refused_naming_the_argument_or_tensor(human, trained, tmp_path):
    _, path = human
    with pytest.raises(
        ValueError, match=r"stylegan_human.pkl: .*G.conv_clamp=None here, 0.5 in the file.*D.conv_clamp"
    ):
        StyleGAN2(**HUMAN | {"conv_clamp": None}, init_from=str(path)).apply_init_from()
    with pytest.raises(ValueError, match=r"G.aspect_ratio=1.0 here, 0.5 in the file"):
        StyleGAN2(**HUMAN | {"aspect_ratio": 1.0}, init_from=str(path)).apply_init_from()
    ckpt = torch.load(trained[1], weights_only=True)
    with pytest.raises(ValueError, match=r"own.ckpt: .* mapping_layers=3 here, 2 in the file"):
        StyleGAN2(**TINY | {"mapping_layers": 3}, init_from=str(trained[1])).apply_init_from()
    ckpt["state_dict"]["D.final_linear.1.weight"] = ckpt["state_dict"]["D.final_linear.1.weight"][:, :-1]
    torch.save(ckpt, tmp_path / "cut.ckpt")
    with pytest.raises(ValueError, match=r"cut.ckpt: .*: D.final_linear.1.weight is \(1, 15\) in the file, \(1, 16\)"):
        StyleGAN2(**TINY, init_from=str(tmp_path / "cut.ckpt")).apply_init_from()
    torch.save({"weights": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="other.pt: no generator"):
        StyleGAN2(**TINY, init_from=str(tmp_path / "other.pt")).apply_init_from()


def test_a_missing_init_from_file_is_reported_before_the_run(tmp_path):
    missing = tmp_path / "ffhq.pkl"
    config = {
        "model": {"class_path": "stylevideo.methods.stylegan2.StyleGAN2", "init_args": {"init_from": str(missing)}}
    }
    with pytest.raises(MissingRequirementsError, match=rf"init_from={missing} does not exist: expected a StyleGAN2"):
        check(from_config(config, "fit"))
    config["model"] = {
        "class_path": "stylevideo.methods.styleinv.StyleInV",
        "init_args": {"generator_ckpt": str(tmp_path / "g.pkl"), "encoder_ckpt": str(tmp_path / "psp.pkl"),
                      "init_from": str(tmp_path / "snapshot.pkl")},
    }  # fmt: skip
    with pytest.raises(MissingRequirementsError) as err:
        check(from_config(config, "test"))
    assert [line.split("=")[0] for line in str(err.value).splitlines()[1:]] == [
        "  - init_from",
        "  - generator_ckpt",
        "  - encoder_ckpt",
    ]
