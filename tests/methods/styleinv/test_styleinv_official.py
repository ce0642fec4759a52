"""StyleInV's released files run here exactly: the stage-2 pickle (``psp-*.pkl``: pSp, G) and the
stage-3 snapshots (G, D, SI, SI_ema), against reference outputs of the authors' code.

tests/fixtures/styleinv_official.pt comes from ``tools/make_nvlabs_fixtures.py --styleinv``: their
``training/networks_{psp,styleinv,sgv}.py`` at small widths (one IR-SE unit per stage, 32x32,
motion codes of 16, kernel 11 of which 6 taps act, D ``conv_clamp`` 0.5 so that it acts).
"""

from __future__ import annotations

import copy
import shutil

import pytest
import torch
from init_from_helpers import BeforeFirstStep, fit, in_eval, moved
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


# -- init_from: fine-tuning starts from these files ---------------------------------------------
def test_init_from_their_stage2_pickle_starts_and_trains_psp_inversion_and_resuming_wins(release, tmp_path):
    fixture, stage2, _ = release
    x, out = fixture["inputs"]["x"], fixture["outputs"]["stage2"]
    model = PSPInversion(
        str(stage2), widths=(64, 128, 256, 512), units=(1, 1, 1, 1), backbone_init=None, lpips_pretrained=False,
        id_lambda=0.0, optimizer="adam", init_from=str(stage2),
    )  # fmt: skip
    first = BeforeFirstStep(in_eval(lambda m: (m.invert(x), m(x))))  # the encoder's batch norms
    trainer = fit(model, [{"frames": x[:, None]}], 1, first)
    codes, images = first.seen
    assert relative_error(codes, out["codes"][:, 0]) <= PARITY  # their pSp before the first step
    assert relative_error(images, out["images"]) <= PARITY
    assert moved(first.state, model, "encoder") and not moved(first.state, model, "G")  # G stays frozen

    trainer.save_checkpoint(tmp_path / "last.ckpt")
    saved = torch.load(tmp_path / "last.ckpt", weights_only=True)["state_dict"]
    resumed = PSPInversion(**dict(model.hparams) | {"init_from": str(tmp_path / "gone.pkl")})
    fit(resumed, [{"frames": x[:, None]}], 1, ckpt_path=tmp_path / "last.ckpt")  # no step left; no file read
    assert all(torch.equal(resumed.state_dict()[k], v) for k, v in saved.items())


def _stage3_config(stage3, generator_ckpt, encoder_ckpt, init_from) -> dict:
    """The snapshot's StyleInV arguments, as a run's config states them."""
    hp = dict(stage3.hparams)
    return hp | dict(
        generator_ckpt=str(generator_ckpt), encoder_ckpt=str(encoder_ckpt), generator_arch=None,
        encoder_arch=None, init_from=str(init_from), ema_kimg=0.01,
    )  # fmt: skip


def clips(n: int = 2, seed: int = 0) -> list[dict]:
    g = torch.Generator().manual_seed(seed)
    return [
        {"frames": torch.rand(2, 4, 3, 32, 32, generator=g) * 2 - 1, "t": torch.tensor([[0.0, 2, 3, 6]] * 2)}
        for _ in range(n)
    ]


def test_init_from_a_stage3_snapshot_starts_trains_and_a_resumed_run_continues_from_its_own(release, stage3, tmp_path):
    fixture, stage2, snapshot = release
    released = tmp_path / "network-snapshot-000100.pkl"
    shutil.copy(snapshot, released)
    i, out = fixture["inputs"], fixture["outputs"]["stage3"]

    def probe(m):
        x0 = m.synthesize(i["w0"])
        return m.SI(x0, i["w0"], i["t"], i["z"])[0], m.latents(i["w0"], i["t"], z=i["z"]), m.D(i["frames"], i["t_d"])

    first = BeforeFirstStep(in_eval(probe))
    trainer = fit(StyleInV(**_stage3_config(stage3, snapshot, stage2, released)), clips(), 1, first)
    si, si_ema, d = first.seen
    assert relative_error(si, out["SI"]) <= PARITY  # their SI, SI_ema and D before the first step
    assert relative_error(si_ema, out["SI_ema"]) <= PARITY
    assert relative_error(d, out["D"]) <= PARITY
    assert moved(first.state, trainer.lightning_module, "SI") and moved(first.state, trainer.lightning_module, "D")

    trainer.save_checkpoint(tmp_path / "last.ckpt")
    saved = torch.load(tmp_path / "last.ckpt", weights_only=True)["state_dict"]
    released.unlink()  # a resumed run does not read the released file again (reading it would fail)
    resumed = StyleInV(**_stage3_config(stage3, snapshot, stage2, released))
    fit(resumed, clips(), 1, ckpt_path=tmp_path / "last.ckpt")  # restored at step 1 of 1: no step left
    ours = resumed.state_dict()
    assert all(torch.equal(ours[k], v) for k, v in saved.items() if torch.is_tensor(v))  # its own, not the file's
