"""The onestyle authors' released generators: their layout loads and reproduces their frames.

``tests/fixtures/onestyle_official.pt`` holds a generator their ``model.py`` built (64x64, their
width table narrowed 32-fold, latent 16, dyn_size 8, 3 persons, 4 classes), its frames for fixed
inputs with ``randomize_noise=False``, their width tables and the tensor shapes of their four
released generators at full width (``tools/make_onestyle_fixtures.py``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
import torch
from parity import assert_float32_parity

from stylevideo.methods.onestyle import OneStyle, load_official_checkpoint
from stylevideo.methods.onestyle.official import authors_channels, convert_official_state, official_arguments

FIXTURE = Path(__file__).parents[2] / "fixtures" / "onestyle_official.pt"
SMALL_D = dict(channel_base=256, channel_max=16, dt_time_dim=8, dt_embed_dim=8, dt_feature_channels=8)


@pytest.fixture(scope="module")
def reference() -> dict:
    return torch.load(FIXTURE, weights_only=True)


def narrowed_widths(reference: dict) -> dict[int, int]:
    """Their table for multiplier 2 divided by 32, as the fixture's generator was built."""
    return {res: width // 32 for res, width in reference["channels"][2].items() if 4 <= res <= 64}


def write_their_checkpoint(path: Path, g_ema: dict, args: dict) -> Path:
    """A checkpoint as their train.py saves it (``args`` an argparse Namespace)."""
    torch.save({"g_ema": g_ema, "args": argparse.Namespace(**args), "ada_aug_p": 0.0}, path)
    return path


def test_released_layout_reproduces_the_authors_frames_with_const_noise(reference, tmp_path):
    path = write_their_checkpoint(tmp_path / "mead.pt", **reference["checkpoint"])
    model = load_official_checkpoint(path, g_channels=narrowed_widths(reference), **SMALL_D)
    hp = model.hparams
    assert (hp.resolution, hp.k, hp.style_dim, hp.num_actors, hp.num_actions) == (64, 8, 8, 3, 4)
    assert hp.content_fusion == "sum" and hp.time2vec_linear_last and not model.training
    assert model.ramp.item() == 1.0 and hp.lr == 0.002 and hp.r1_gamma == 10.0 and hp.pl_interval == 4
    x, theirs = reference["inputs"], reference["frames"]
    cond = dict(z_m=x["z_m"], actor=x["actor"], action=x["action"], ramp=x["ramp"])
    with torch.no_grad():
        ours = model.G_ema(x["t"], noise_mode="const", **cond)
        by_default = model.G_ema(x["t"], **cond)  # videos default to the constant noise
        fresh_noise = model.G_ema(x["t"], noise_mode="random", **cond)
        unramped = model.G_ema(x["t"], noise_mode="const", **(cond | {"ramp": 1.0}))
    assert_float32_parity(ours, theirs, "g_ema frames")
    assert torch.equal(by_default, ours)
    assert not torch.allclose(fresh_noise, theirs, atol=1e-2)  # the noise matters: const is what matched
    assert not torch.allclose(unramped, theirs, atol=1e-2)  # and so does the ramp of the class embedding
    # sample_videos (the callbacks' interface) renders the same frames: times 0, 2.5 = 1 / 0.4
    videos = model.sample_videos(2, 2, fps_scale=0.4, z_m=x["z_m"], actor=[2, 0], action=[1, 3], ramp=x["ramp"])
    assert_float32_parity(videos, theirs.clamp(-1, 1), "sample_videos")
    for p, q in zip(model.G.parameters(), model.G_ema.parameters(), strict=True):
        assert torch.equal(p, q)  # no "g" in the file: G starts as g_ema


def test_authors_width_table_and_their_four_released_generators_map_onto_ours(reference):
    for multiplier, table in reference["channels"].items():
        assert authors_channels(multiplier) == {res: w for res, w in table.items() if res >= 4}
    assert len(reference["released"]) == 4
    for name, shapes in reference["released"].items():
        with torch.device("meta"):
            g_ema = {key: torch.empty(shape) for key, shape in shapes.items() if not key.endswith(".kernel")}
            args = reference["released_args"][name]
            model = OneStyle(**official_arguments(g_ema, args, name))
        assert (model.hparams.resolution, model.hparams.k) == (args["size"], args["dyn_size"])
        assert model.hparams.style_dim == args["latent"] - args["dyn_size"]
        state = convert_official_state(g_ema, model.G_ema, name)
        ours = model.G_ema.state_dict()
        assert set(state) == set(ours), name
        assert all(state[k].shape == ours[k].shape for k in ours), name
        kernels = {"synthesis." + key for key in shapes if key.endswith(".kernel")}
        assert kernels == {key for key, _ in model.G_ema.named_buffers() if key.endswith(".kernel")}


def test_files_the_generator_cannot_represent_give_errors_naming_the_argument(reference, tmp_path):
    g_ema, args = reference["checkpoint"]["g_ema"], reference["checkpoint"]["args"]
    with pytest.raises(FileNotFoundError, match="missing.pt does not exist"):
        load_official_checkpoint(tmp_path / "missing.pt")
    torch.save({"gen": g_ema}, tmp_path / "lia.pt")
    with pytest.raises(ValueError, match=r"lia.pt: expected the authors' layout \{'g_ema', 'args', ...\}"):
        load_official_checkpoint(tmp_path / "lia.pt")
    path = write_their_checkpoint(tmp_path / "widths.pt", g_ema, args)
    with pytest.raises(ValueError, match="widths.pt: args.channel_multiplier=2, but its g_ema has widths"):
        load_official_checkpoint(path)  # narrowed widths are not their table for multiplier 2
    widths = narrowed_widths(reference)
    for name, value, message in (
        ("dyn_size", 16, "args.dyn_size=16, but its g_ema has dyn_size = 8"),
        ("latent", 24, "args.latent=24, but its g_ema has latent = 16"),
        ("size", 128, "args.size=128, but its g_ema has size = 64"),
        ("n_mlp", 4.0, r"args.n_mlp=4.0 is not an integer"),
    ):
        path = write_their_checkpoint(tmp_path / f"{name}.pt", g_ema, args | {name: value})
        with pytest.raises(ValueError, match=f"{name}.pt: {message}"):
            load_official_checkpoint(path, g_channels=widths, **SMALL_D)
    no_classes = dict(g_ema) | {"class_embed.weight": torch.zeros(0, 8)}  # an unconditional file: not theirs
    path = write_their_checkpoint(tmp_path / "classes.pt", no_classes, args | {"num_classes": 0})
    with pytest.raises(ValueError, match="classes.pt: num_classes = 0; this generator needs num_classes >= 1"):
        load_official_checkpoint(path, g_channels=widths, **SMALL_D)
    broken = dict(g_ema) | {"mystery.weight": torch.zeros(1)}
    path = write_their_checkpoint(tmp_path / "extra.pt", broken, args)
    with pytest.raises(ValueError, match="extra.pt: g_ema: unexpected key 'mystery.weight'"):
        load_official_checkpoint(path, g_channels=widths, **SMALL_D)
