"""pSp encoders: W and W+ (feature pyramid) shapes and equations, official checkpoint loading."""

import pytest
import torch
import torch.nn.functional as F

from stylevideo.nn.psp import GradualStyleEncoder, PSPEncoderW, load_psp_checkpoint
from stylevideo.nn.stylegan2 import Generator

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


def _rosinality_state(g: Generator) -> dict:
    out = {}
    for k, v in g.state_dict().items():
        if k == "w_avg":
            continue
        out["style." + k[len("mapping.layers.") :] if k.startswith("mapping.") else k[len("synthesis.") :]] = v
    return out


@pytest.mark.parametrize("kind", ["GradualStyleEncoder", "BackboneEncoderUsingLastLayerIntoW"])
def test_official_checkpoint_round_trip(tmp_path, kind):
    torch.manual_seed(0)
    g = Generator(32, 16, 64, 2, channel_base=256, channel_max=64).eval()
    enc = tiny_gradual(g.num_ws) if kind == "GradualStyleEncoder" else PSPEncoderW(64, **SMALL)
    enc.eval()
    latent_avg = torch.randn(g.num_ws, 64) if kind == "GradualStyleEncoder" else torch.randn(1, 64)
    state = {f"encoder.{k}": v for k, v in enc.state_dict().items()}
    state |= {f"decoder.{k}": v for k, v in _rosinality_state(g).items()}
    opts = {
        "encoder_type": kind,
        "start_from_latent_avg": True,
        "learn_in_w": kind != "GradualStyleEncoder",
    }
    torch.save({"state_dict": state, "opts": opts, "latent_avg": latent_avg}, tmp_path / "psp.pt")
    psp = load_psp_checkpoint(tmp_path / "psp.pt")
    x = torch.randn(2, 3, 64, 64)
    codes = psp.invert(x)
    assert torch.allclose(codes, enc(x) + latent_avg, atol=1e-5)
    assert torch.allclose(psp.decoder.w_avg, latent_avg[0])
    images = psp(x, resize=False)
    assert torch.allclose(images, g.synthesis(codes, "const"), atol=1e-5)
    assert psp(x).shape[-1] == 256  # pSp's face_pool size


def test_bad_checkpoints_give_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_psp_checkpoint(tmp_path / "missing.pt")
    torch.save({"g_ema": {}}, tmp_path / "gan.pt")
    with pytest.raises(KeyError, match="state_dict"):
        load_psp_checkpoint(tmp_path / "gan.pt")
