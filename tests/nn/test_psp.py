"""pSp encoders: W and W+ (feature pyramid) shapes and equations; official checkpoints against pSp's code."""

import pytest
import torch
import torch.nn.functional as F
from nvlabs_lookalike import load_fixture, network_tensors, relative_error

from stylevideo.nn.psp import GradualStyleEncoder, PSPEncoderW, load_psp_checkpoint, psp_from_checkpoint

SMALL = dict(widths=(16, 32, 48, 64), units=(1, 2, 2, 1))


def tiny_gradual(n_styles=8):
    return GradualStyleEncoder(n_styles, style_dim=64, coarse=2, middle=5, spatial=(4, 8, 16), **SMALL)


def test_w_encoder_maps_an_image_to_one_w():
    torch.manual_seed(0)
    enc = PSPEncoderW(w_dim=24, **SMALL).eval()
    w = enc(torch.randn(3, 3, 32, 32))
    assert w.shape == (3, 24)
    pooled = enc.body(enc.input_layer(torch.zeros(1, 3, 32, 32))).mean((2, 3))
    assert torch.allclose(enc(torch.zeros(1, 3, 32, 32)), enc.linear(pooled), atol=1e-6)


def test_gradual_encoder_pyramid_levels_and_style_sources():
    torch.manual_seed(0)
    enc = tiny_gradual().eval()
    x = torch.randn(2, 3, 64, 64)
    c3, p2, p1 = enc.pyramid(x)
    assert (c3.shape[-1], p2.shape[-1], p1.shape[-1]) == (4, 8, 16)
    feats = enc.input_layer(x)
    stages = []
    for unit in enc.body:
        feats = unit(feats)
        stages.append(feats)
    c1, c2 = stages[enc.stage_ends[1]], stages[enc.stage_ends[2]]
    up = lambda a, b: F.interpolate(a, size=b.shape[-2:], mode="bilinear", align_corners=True)  # noqa: E731
    assert torch.allclose(p2, up(c3, c2) + enc.latlayer1(c2), atol=1e-5)
    assert torch.allclose(p1, up(p2, c1) + enc.latlayer2(c1), atol=1e-5)
    ws = enc(x)
    assert ws.shape == (2, 8, 64)
    assert torch.allclose(ws[:, 0], enc.styles[0](c3), atol=1e-5)
    assert torch.allclose(ws[:, 3], enc.styles[3](p2), atol=1e-5)
    assert torch.allclose(ws[:, 7], enc.styles[7](p1), atol=1e-5)


def test_gradual_encoder_has_psps_module_names_at_full_size():
    enc = GradualStyleEncoder(3, coarse=1, middle=2)  # pSp: 18 styles, coarse 3, middle 7
    names = {k.split(".")[0] for k in enc.state_dict()}
    assert names == {"input_layer", "body", "styles", "latlayer1", "latlayer2"}
    assert [len(s.convs) for s in enc.styles] == [
        8,
        10,
        12,
    ]  # (conv, leaky ReLU) x log2(16, 32, 64)
    assert enc.latlayer1.in_channels == 256 and enc.latlayer2.in_channels == 128


# --- official pSp checkpoints ---------------------------------------------------------------------
# tests/fixtures/psp_official.pt (tools/make_nvlabs_fixtures.py --psp): the names and shapes of pSp's
# FFHQ encoder checkpoint (pixel2style2pixel's pSp at output_size 1024, built on the meta device),
# and reference outputs of pSp's own pSp.forward at small sizes.


def _decoder_names(key: str) -> str | None:
    """A rosinality ``decoder.*`` key as ours (``style.i`` is the mapping); None for its FIR kernels."""
    key = key[len("decoder.") :]
    if key.endswith(("blur.kernel", "upsample.kernel")):
        return None  # constant filters: non-persistent buffers here
    return "mapping.layers." + key[len("style.") :] if key.startswith("style.") else "synthesis." + key


def test_the_official_ffhq_layout_builds_a_psp_with_the_same_names_and_shapes():
    layout = load_fixture("psp_official", networks=())["layouts"]["psp_ffhq_encode"]
    state = {k: torch.empty(shape, device="meta") for k, shape in layout.items()}
    opts = {"encoder_type": "GradualStyleEncoder", "start_from_latent_avg": True, "learn_in_w": False}
    with torch.device("meta"):
        psp = psp_from_checkpoint({"state_dict": state, "opts": opts, "latent_avg": torch.empty(18, 512)})
    assert isinstance(psp.encoder, GradualStyleEncoder) and psp.encoder.n_styles == 18
    assert [len(s.convs) // 2 for s in psp.encoder.styles] == [4] * 3 + [5] * 4 + [6] * 11  # log2(16, 32, 64)
    theirs = {k[len("encoder.") :]: v for k, v in layout.items() if k.startswith("encoder.")}
    assert {k: list(v.shape) for k, v in psp.encoder.state_dict().items()} == theirs
    decoder = {_decoder_names(k): v for k, v in layout.items() if k.startswith("decoder.") and _decoder_names(k)}
    ours = {k: list(v.shape) for k, v in psp.decoder.state_dict().items() if k != "w_avg"}
    assert ours == decoder and psp.decoder.resolution == 1024


@torch.no_grad()
def test_gradual_style_encoder_reproduces_psps_w_plus_codes():
    """pSp's W+ encoder (IR-SE50; 8 styles: 3 coarse, 4 middle, 1 fine; map2style depths 1, 1, 2
    for 16x16 inputs) with its weights; the decoder side is checked by the W checkpoint below."""
    fixture = load_fixture("psp_official", networks=())
    state = network_tensors(fixture["networks"]["gradual"], prefixes=("encoder.",))
    with torch.device("meta"):  # no random initialisation of 54M parameters: the state replaces it
        encoder = GradualStyleEncoder(8, style_dim=512, coarse=3, middle=7, spatial=(1, 2, 4)).eval()
    encoder.load_state_dict({k[len("encoder.") :]: v for k, v in state.items()}, assign=True)
    x, codes = fixture["inputs"]["x"], fixture["outputs"]["gradual"]["codes"]
    assert relative_error(encoder(x), codes - fixture["checkpoints"]["gradual"]["latent_avg"]) <= 1e-4


@torch.no_grad()
def test_official_w_checkpoint_file_reproduces_psp_forward(tmp_path):
    """A pSp checkpoint file (W encoder, 8x8 decoder) through load_psp_checkpoint."""
    fixture = load_fixture("psp_official", networks=("w",))
    checkpoint = fixture["checkpoints"]["w"]
    torch.save({"state_dict": fixture["networks"]["w"]["tensors"], **checkpoint}, tmp_path / "psp.pt")
    psp = load_psp_checkpoint(tmp_path / "psp.pt")
    assert isinstance(psp.encoder, PSPEncoderW) and psp.decoder.num_ws == 4
    x, out = fixture["inputs"]["x"], fixture["outputs"]["w"]
    assert relative_error(psp.encoder(x), out["codes"][:, 0] - checkpoint["latent_avg"]) <= 1e-4
    assert relative_error(psp.invert(x)[:, None].expand(-1, 4, -1), out["codes"]) <= 1e-4  # learn_in_w: repeated
    assert relative_error(psp(x, resize=False), out["images"]) <= 1e-4
    assert psp(x).shape[-1] == 256  # pSp's face_pool size


def test_bad_checkpoints_give_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_psp_checkpoint(tmp_path / "missing.pt")
    torch.save({"g_ema": {}}, tmp_path / "gan.pt")
    with pytest.raises(KeyError, match="state_dict"):
        load_psp_checkpoint(tmp_path / "gan.pt")
