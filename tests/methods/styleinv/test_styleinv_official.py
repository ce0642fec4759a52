"""StyleInV's released files run here exactly: the stage-2 pickle (``psp-*.pkl``: pSp, G) and the
stage-3 snapshots (G, D, SI, SI_ema), against reference outputs of the authors' code.

tests/fixtures/styleinv_official.pt comes from ``tools/make_nvlabs_fixtures.py --styleinv``: their
``training/networks_{psp,styleinv,sgv}.py`` at small widths (one IR-SE unit per stage, 32x32,
motion codes of 16, kernel 11 of which 6 taps act, D ``conv_clamp`` 0.5 so that it acts).
"""

from __future__ import annotations

import copy

import pytest
import torch
from nvlabs_lookalike import load_fixture, relative_error, write_pickle

from stylevideo.methods.psp import PSPInversion, load_official_psp
from stylevideo.methods.psp import load_official_checkpoint as load_stage2
from stylevideo.methods.styleinv import StyleInV, load_official_checkpoint

PARITY = 1e-4


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    fixture = load_fixture("styleinv_official")
    nets, folder = fixture["networks"], tmp_path_factory.mktemp("styleinv")
    stage2 = write_pickle(folder / "psp-synthetic.pkl", {"pSp": nets["pSp"], "G": nets["G"]}, training_set_kwargs={})
    snapshot = write_pickle(
        folder / "network-snapshot-000100.pkl",
        {name: nets[name] for name in ("G", "D", "SI", "SI_ema")},
        training_set_kwargs={},
        augment_pipe=None,
    )
    return fixture, stage2, snapshot


@torch.no_grad()
def test_stage2_pickle_is_a_psp_inversion_reproducing_their_pSp(release):
    fixture, stage2, _ = release
    model = load_stage2(stage2, lpips_lambda=0, id_lambda=0)
    assert isinstance(model, PSPInversion) and not model.training
    assert model.hparams.units == (1, 1, 1, 1) and tuple(model.hparams.widths) == (64, 128, 256, 512)
    x, out = fixture["inputs"]["x"], fixture["outputs"]["stage2"]
    assert relative_error(model.invert(x), out["codes"][:, 0]) <= PARITY  # learn_in_w: one code per image
    assert relative_error(model(x), out["images"]) <= PARITY


@pytest.fixture(scope="module")
def stage3(release):
    _, stage2, snapshot = release
    return load_official_checkpoint(snapshot, psp=stage2)


@torch.no_grad()
def test_stage3_snapshot_reproduces_SI_SI_ema_and_D(release, stage3):
    fixture, model = release[0], stage3
    assert isinstance(model, StyleInV) and not model.training
    hp = model.hparams
    assert (hp.kernel_size, hp.delta_z, hp.clip_length, hp.first_frame_aware) == (6, 4, 32, True)
    assert (hp.d_conv_clamp, hp.concat_res, hp.mbstd_group) == (0.5, 16, 2)
    i, out = fixture["inputs"], fixture["outputs"]["stage3"]
    x0 = model.synthesize(i["w0"])
    assert relative_error(x0, out["x0"]) <= PARITY
    assert relative_error(model.SI(x0, i["w0"], i["t"], i["z"])[0], out["SI"]) <= PARITY
    assert relative_error(model.latents(i["w0"], i["t"], z=i["z"]), out["SI_ema"]) <= PARITY
    assert relative_error(model.D(i["frames"], i["t_d"]), out["D"]) <= PARITY
    assert relative_error(model.invert(i["x"]), fixture["outputs"]["stage2"]["codes"][:, 0]) <= PARITY


@torch.no_grad()
def test_the_six_of_eleven_taps_and_their_gain_matter(release, stage3):
    """Their 11-tap convolution is masked to 6 taps with gain 1/sqrt(in * 11): the same taps
    without that gain give other encoder outputs E (Eq. 2's residual)."""
    fixture, i = release[0], release[0]["inputs"]
    si = copy.deepcopy(stage3.SI_ema)
    x0 = stage3.synthesize(i["w0"])
    reference = fixture["outputs"]["stage3"]["SI_ema"] - i["w0"][:, None]
    assert relative_error(si(x0, i["w0"], i["t"], i["z"])[1], reference) <= PARITY
    si.ape.mapping[0].weight.mul_((11 / 6) ** 0.5)  # the gain 1/sqrt(in * 6) of 6 taps, not theirs
    assert relative_error(si(x0, i["w0"], i["t"], i["z"])[1], reference) > 1e-2


def _root_only(dump: dict, **attrs) -> dict:
    """A network reduced to its top module (attributes, no tensors): enough for the option checks."""
    root = dump["modules"][""]
    root = {**root, "params": [], "buffers": [], "attrs": {**root["attrs"], **attrs}}
    return {"modules": {"": root}, "tensors": {}}


def test_missing_stage2_file_and_unsupported_options_are_named(release, tmp_path):
    fixture, stage2, snapshot = release
    with pytest.raises(FileNotFoundError, match="stage-2 pickle .*psp-stage2.pkl"):
        load_official_checkpoint(snapshot)  # the snapshot names the temporary file the authors' run used
    si = fixture["networks"]["SI"]
    opts = si["modules"][""]["attrs"]["mapping_opts"]
    odd = _root_only(si, mapping_opts={**opts, "motion": {**opts["motion"], "gen_strategy": "autoregressive"}})
    path = write_pickle(tmp_path / "snapshot.pkl", {"G": odd, "D": odd, "SI": odd, "SI_ema": odd})
    with pytest.raises(ValueError, match="gen_strategy"):
        load_official_checkpoint(path, psp=stage2)
    with pytest.raises(KeyError, match="not a StyleInV stage-3 snapshot"):
        load_official_checkpoint(stage2, psp=stage2)
    with pytest.raises(KeyError, match="not a StyleInV stage-2 pickle"):
        load_stage2(path)


def test_an_official_psp_checkpoint_starts_stage_2(stage_ckpts, tmp_path):
    """pSp's released encoder as the backbone of StyleInV's stage 2 (instead of ArcFace): its
    IR-SE weights are taken as they are; its W head only where it maps to the generator's w_dim."""
    fixture = load_fixture("psp_official", networks=("w",))
    state = fixture["networks"]["w"]["tensors"]
    torch.save({"state_dict": state, **fixture["checkpoints"]["w"]}, tmp_path / "psp.pt")
    trunk = ("encoder.input_layer", "encoder.body")
    backbone = {k[len("encoder.") :]: v for k, v in state.items() if k.startswith(trunk)}
    assert load_official_psp(tmp_path / "psp.pt").keys() == backbone.keys() | {"linear.weight", "linear.bias"}
    model = PSPInversion(
        stage_ckpts[0], widths=(64, 128, 256, 512), units=(1, 1, 1, 1), backbone_init=str(tmp_path / "psp.pt"),
        lpips_pretrained=False, id_lambda=0.0,
    )  # fmt: skip
    ours = model.encoder.state_dict()
    assert all(torch.equal(ours[k], v) for k, v in backbone.items())
    assert ours["linear.weight"].shape == (model.G.w_dim, 512)  # a 32-d generator: the head stays initialised
    with pytest.raises(ValueError, match="backbone_init must be"):
        PSPInversion(stage_ckpts[0], backbone_init=str(tmp_path / "missing.pt"))
