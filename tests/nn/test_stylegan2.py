"""The shared StyleGAN2: equations, noise modes, W/W+, truncation, losses, rosinality layout."""

import argparse
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy.signal import convolve2d

from stylevideo.nn.gan_losses import (
    d_logistic_loss,
    g_nonsaturating_loss,
    lazy_regularization_adam,
    path_length_penalty,
    r1_penalty,
)
from stylevideo.nn.stylegan2 import (
    Discriminator,
    Generator,
    ModulatedConv2d,
    minibatch_stddev,
    stylegan2_channels,
)
from stylevideo.nn.stylegan2_checkpoints import load_rosinality_checkpoint

TINY = dict(resolution=32, z_dim=16, w_dim=16, mapping_layers=2, channel_base=512, channel_max=32)


@pytest.fixture
def generator():
    torch.manual_seed(0)
    return Generator(**TINY).eval()


def test_channels_follow_channel_base_and_max():
    assert stylegan2_channels(1024) == {
        4: 512,
        8: 512,
        16: 512,
        32: 512,
        64: 512,
        128: 256,
        256: 128,
        512: 64,
        1024: 32,
    }
    assert stylegan2_channels(32, 512, 32) == {4: 32, 8: 32, 16: 32, 32: 16}
    with pytest.raises(ValueError, match="power of two"):
        stylegan2_channels(48)


def test_demodulated_weights_have_unit_norm_per_output_channel():
    torch.manual_seed(0)
    conv = ModulatedConv2d(8, 6, 3, style_dim=5)
    w = conv.modulated_weight(torch.randn(4, 5))
    norms = w.pow(2).sum(dim=(2, 3, 4)).sqrt()
    assert w.shape == (4, 6, 8, 3, 3)
    assert torch.allclose(norms, torch.ones(4, 6), atol=1e-5)


def test_modulated_conv_equals_per_sample_convolution():
    """One grouped convolution == modulating, convolving and demodulating each sample alone (Eq. 1-3)."""
    torch.manual_seed(0)
    conv = ModulatedConv2d(4, 5, 3, style_dim=6)
    x, style = torch.randn(3, 4, 7, 7), torch.randn(3, 6)
    s = conv.modulation(style)
    for b in range(3):
        w = conv.weight[0] / math.sqrt(4 * 9) * s[b][None, :, None, None]
        w = w / w.pow(2).sum(dim=(1, 2, 3), keepdim=True).add(1e-8).sqrt()
        assert torch.allclose(conv(x, style)[b], F.conv2d(x[b : b + 1], w, padding=1)[0], atol=1e-5)


@pytest.mark.parametrize("kernel_size,demodulate,upsample", [(3, True, False), (3, True, True), (1, False, False)])
def test_modulating_activations_equals_modulating_weights(kernel_size, demodulate, upsample):
    """conv(x * s, w) * d == the grouped conv with per-sample weights: outputs and all gradients
    (to the float32 rounding of the modulation, which both paths compute in float32)."""
    torch.manual_seed(0)
    conv = ModulatedConv2d(16, 12, kernel_size, style_dim=6, demodulate=demodulate, upsample=upsample).double()
    x, style = torch.randn(3, 16, 2, 2, dtype=torch.float64), torch.randn(3, 6, dtype=torch.float64)
    assert conv.modulates_activations(x) and not conv.modulates_activations(torch.randn(3, 16, 8, 8))
    assert not conv.modulates_activations(x.half()) and not conv.modulates_activations(x.bfloat16())
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert not conv.modulates_activations(x.float())
    results = []
    for path in (conv.forward_modulated_activations, conv.forward_modulated_weights):
        conv.zero_grad()
        xi = x.clone().requires_grad_(True)
        out = path(xi, style)
        out.backward(torch.linspace(-1, 1, out.numel(), dtype=torch.float64).view_as(out))
        results.append((out, xi.grad, *(p.grad for p in conv.parameters())))
    for a, b in zip(*results, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6 * b.abs().max().item())


def test_noise_modes(generator):
    for layer in generator.modules():
        if layer.__class__.__name__ == "NoiseInjection":
            layer.weight.data.fill_(0.3)  # noise strengths start at zero; make noise matter
    z = torch.randn(2, 16)
    assert torch.equal(generator(z, noise_mode="const"), generator(z, noise_mode="const"))
    assert not torch.allclose(generator(z, noise_mode="random"), generator(z, noise_mode="random"))
    ws = generator.map(z)
    zeros = [torch.zeros_like(n) for n in generator.synthesis.make_noise(2, "const")]
    assert torch.equal(generator.synthesis(ws, "none"), generator.synthesis(ws, "none"))
    assert torch.allclose(generator.synthesis(ws, "none"), generator.synthesis(ws, noise=zeros))
    assert not torch.allclose(generator.synthesis(ws, "none"), generator.synthesis(ws, "const"))


def test_w_plus_with_identical_rows_equals_w(generator):
    w = generator.mapping(torch.randn(3, 16))
    w_plus = w[:, None].repeat(1, generator.num_ws, 1)
    assert torch.allclose(generator.synthesis(w, "const"), generator.synthesis(w_plus, "const"))
    with pytest.raises(ValueError, match="style vectors"):
        generator.synthesis(w_plus[:, :3], "const")


def test_truncation(generator):
    z = torch.randn(4, 16)
    generator.w_avg.normal_()
    assert torch.equal(generator.map(z, psi=1.0), generator.map(z))
    ws, ws0 = generator.map(z), generator.map(z, psi=0.0)
    assert torch.allclose(ws0, generator.w_avg.expand_as(ws0))
    half = generator.map(z, psi=0.5, cutoff=2)
    assert torch.allclose(half[:, :2], (ws[:, :2] + generator.w_avg) / 2, atol=1e-6)
    assert torch.equal(half[:, 2:], ws[:, 2:])


def test_w_avg_tracks_mapped_w_in_training():
    torch.manual_seed(0)
    g = Generator(**TINY, w_avg_beta=0.9).train()
    z = torch.randn(8, 16)
    w = g.mapping(z).mean(0)
    g(z, noise_mode="none")
    assert torch.allclose(g.w_avg, 0.1 * w, atol=1e-6)


def test_style_mixing_uses_a_second_code_after_a_crossover(generator):
    ws = generator.map(torch.randn(2, 16))
    assert torch.equal(generator.mix_styles(ws, 0.0), ws)
    mixed = generator.mix_styles(ws, 1.0)
    same = (mixed == ws).all(dim=(0, 2))
    k = int(same.logical_not().nonzero()[0])
    assert k >= 1 and same[:k].all() and not same[k:].any()


def test_generator_output_shape_and_gradients(generator):
    img = generator(torch.randn(2, 16))
    assert img.shape == (2, 3, 32, 32) and torch.isfinite(img).all()
    img.mean().backward()
    assert generator.synthesis.conv1.conv.weight.grad is not None


def test_minibatch_stddev_adds_one_channel_with_the_group_std():
    torch.manual_seed(0)
    x = torch.randn(8, 6, 4, 4)
    y = minibatch_stddev(x, group_size=4)
    assert y.shape == (8, 7, 4, 4) and torch.equal(y[:, :6], x)
    group = x[[1, 3, 5, 7]]  # samples i, i + B/G, ... share a group
    expected = (group.var(0, unbiased=False) + 1e-8).sqrt().mean()
    assert torch.allclose(y[3, 6], expected.expand(4, 4), atol=1e-6)
    assert minibatch_stddev(torch.randn(6, 6, 4, 4), group_size=4).shape == (6, 7, 4, 4)  # G = 3


def test_discriminator_shapes_and_trunk():
    torch.manual_seed(0)
    d = Discriminator(32, channel_base=512, channel_max=32)
    x = torch.randn(4, 3, 32, 32)
    assert d(x).shape == (4, 1)
    assert d.features(x, 16).shape == (4, 32, 16, 16)
    assert torch.allclose(d.head(d.features(x)), d(x))


def test_r1_penalty_is_the_squared_gradient_norm():
    a = torch.randn(3, 4, 4)
    x = torch.randn(5, 3, 4, 4, requires_grad=True)
    logits = (a * x.pow(2)).flatten(1).sum(1)  # toy D: grad = 2 a x
    expected = (2 * a * x).pow(2).flatten(1).sum(1).mean()
    assert torch.allclose(r1_penalty(logits, x), expected)


def test_path_length_penalty_matches_analytic_jacobian():
    """images = c * sum(ws) -> J^T y = c * sum(y) in every entry of ws."""
    ws = torch.randn(3, 4, 5, requires_grad=True)
    c = 0.7
    images = (c * ws.sum(dim=(1, 2)))[:, None, None, None].expand(3, 1, 6, 6)
    torch.manual_seed(1)
    penalty, new_mean = path_length_penalty(images, ws, torch.tensor(0.5), decay=0.1)
    torch.manual_seed(1)
    y = torch.randn(3, 1, 6, 6) / 6
    lengths = (c * y.sum(dim=(1, 2, 3))).abs() * math.sqrt(5)
    mean = 0.5 + 0.1 * (lengths.mean() - 0.5)
    assert torch.allclose(new_mean, mean) and torch.allclose(penalty, (lengths - mean).pow(2).mean())


def test_logistic_losses_and_lazy_adam():
    real, fake = torch.tensor([2.0, -1.0]), torch.tensor([0.5, 3.0])
    assert torch.allclose(d_logistic_loss(real, fake), F.softplus(fake).mean() + F.softplus(-real).mean())
    assert torch.allclose(g_nonsaturating_loss(fake), torch.log1p(torch.exp(-fake)).mean())
    opt = lazy_regularization_adam(0.002, (0.0, 0.99), 16)
    assert math.isclose(opt["lr"], 0.002 * 16 / 17) and math.isclose(opt["betas"][1], 0.99 ** (16 / 17))


# --- rosinality checkpoint layout -------------------------------------------------------------
# Key names and shapes are facts of rosinality/stylegan2-pytorch's model.py (g_ema state dict).


def rosinality_state_dict(size=32, style_dim=16, n_mlp=2, channels=None, seed=0):
    g = torch.Generator().manual_seed(seed)
    r = lambda *s: torch.randn(*s, generator=g)  # noqa: E731
    ch = channels or {4: 32, 8: 32, 16: 32, 32: 16}
    sd = {}
    for i in range(1, n_mlp + 1):
        sd[f"style.{i}.weight"], sd[f"style.{i}.bias"] = r(style_dim, style_dim) * 100, r(style_dim) * 0.01

    def styled(prefix, cin, cout, k, up=False, act=True, demod=True):
        sd[f"{prefix}.conv.weight"] = r(1, cout, cin, k, k)
        sd[f"{prefix}.conv.modulation.weight"] = r(cin, style_dim)
        sd[f"{prefix}.conv.modulation.bias"] = 1 + 0.1 * r(cin)
        if up:
            sd[f"{prefix}.conv.blur.kernel"] = torch.tensor([1.0, 3, 3, 1]).outer(torch.tensor([1.0, 3, 3, 1])) / 64 * 4
        if act:
            sd[f"{prefix}.noise.weight"] = r(1) * 0.5
            sd[f"{prefix}.activate.bias"] = r(cout) * 0.1

    sd["input.input"] = r(1, ch[4], 4, 4)
    styled("conv1", ch[4], ch[4], 3)
    styled("to_rgb1", ch[4], 3, 1, act=False)
    sd["to_rgb1.bias"] = r(1, 3, 1, 1) * 0.1
    log = int(math.log2(size))
    for j, res in enumerate(range(3, log + 1)):
        styled(f"convs.{2 * j}", ch[2 ** (res - 1)], ch[2**res], 3, up=True)
        styled(f"convs.{2 * j + 1}", ch[2**res], ch[2**res], 3)
        styled(f"to_rgbs.{j}", ch[2**res], 3, 1, act=False)
        sd[f"to_rgbs.{j}.bias"] = r(1, 3, 1, 1) * 0.1
        sd[f"to_rgbs.{j}.upsample.kernel"] = torch.tensor([1.0, 3, 3, 1]).outer(torch.tensor([1.0, 3, 3, 1])) / 64 * 4
    for i in range((log - 2) * 2 + 1):
        s = 2 ** ((i + 5) // 2)
        sd[f"noises.noise_{i}"] = r(1, 1, s, s)
    return sd


def _blur(x: np.ndarray, pad: tuple[int, int], gain: float, up: int = 1) -> np.ndarray:
    k = np.outer([1, 3, 3, 1], [1, 3, 3, 1]) / 64 * gain
    out = []
    for plane in x:
        z = np.zeros((plane.shape[0] * up, plane.shape[1] * up))
        z[::up, ::up] = plane
        out.append(convolve2d(np.pad(z, (pad, pad)), k, mode="valid"))
    return np.stack(out)


def reference_forward(sd, z, size=32, n_mlp=2):
    """StyleGAN2 written out from the state dict alone, one sample at a time, in float64 numpy/torch."""
    sd = {k: v.double() for k, v in sd.items()}
    x = z.double() / (z.double().pow(2).mean() + 1e-8).sqrt()
    for i in range(1, n_mlp + 1):
        w_mat = sd[f"style.{i}.weight"] * 0.01 / math.sqrt(x.shape[0])
        x = F.leaky_relu(w_mat @ x + sd[f"style.{i}.bias"] * 0.01, 0.2) * math.sqrt(2)
    w = x

    def modconv(prefix, h, k, demod=True, up=False):
        weight = sd[f"{prefix}.conv.weight"][0]
        style = (
            sd[f"{prefix}.conv.modulation.weight"] @ w / math.sqrt(w.shape[0]) + sd[f"{prefix}.conv.modulation.bias"]
        )
        weight = weight / math.sqrt(weight.shape[1] * k * k) * style[None, :, None, None]
        if demod:
            weight = weight / (weight.pow(2).sum(dim=(1, 2, 3), keepdim=True) + 1e-8).sqrt()
        if not up:
            return F.conv2d(h[None], weight, padding=k // 2)[0]
        # transposed stride-2 conv == zero insertion, full padding, convolution with the flipped kernel
        c, hh, ww = h.shape
        zins = torch.zeros(c, 2 * hh - 1, 2 * ww - 1, dtype=h.dtype)
        zins[:, ::2, ::2] = h
        out = F.conv2d(F.pad(zins, (k - 1,) * 4)[None], weight.flip(2, 3))[0]
        return torch.from_numpy(_blur(out.numpy(), (1, 1), 4.0))

    def styled(prefix, h, noise, up=False):
        h = modconv(prefix, h, 3, up=up) + sd[f"{prefix}.noise.weight"] * noise[0]
        return F.leaky_relu(h + sd[f"{prefix}.activate.bias"][:, None, None], 0.2) * math.sqrt(2)

    def to_rgb(prefix, h, skip=None):
        out = modconv(prefix, h, 1, demod=False) + sd[f"{prefix}.bias"][0]
        if skip is not None:
            out = out + torch.from_numpy(_blur(skip.numpy(), (2, 1), 4.0, up=2))
        return out

    noise = [sd[f"noises.noise_{i}"][0] for i in range((int(math.log2(size)) - 2) * 2 + 1)]
    h = styled("conv1", sd["input.input"][0], noise[0])
    skip = to_rgb("to_rgb1", h)
    for j in range(int(math.log2(size)) - 2):
        h = styled(f"convs.{2 * j}", h, noise[2 * j + 1], up=True)
        h = styled(f"convs.{2 * j + 1}", h, noise[2 * j + 2])
        skip = to_rgb(f"to_rgbs.{j}", h, skip)
    return skip


def test_load_rosinality_checkpoint_reproduces_the_original_network(tmp_path):
    sd = rosinality_state_dict()
    latent_avg = torch.randn(16)
    path = tmp_path / "550000.pt"
    torch.save({"g_ema": sd, "latent_avg": latent_avg, "args": argparse.Namespace(size=32)}, path)
    g, avg = load_rosinality_checkpoint(path)
    assert g.resolution == 32 and g.z_dim == 16 and len(g.mapping.layers) == 3
    assert torch.equal(avg, latent_avg) and torch.equal(g.w_avg, latent_avg)
    z = torch.randn(2, 16)
    with torch.no_grad():
        ours = g(z, noise_mode="const").double()
    for b in range(2):
        ref = reference_forward(sd, z[b])
        assert torch.allclose(ours[b], ref, rtol=1e-4, atol=1e-4 * ref.abs().max().item())


def test_load_rosinality_checkpoint_errors_and_missing_latent_avg(tmp_path):
    sd = rosinality_state_dict()
    torch.save({"g_ema": sd}, tmp_path / "no_avg.pt")
    g, avg = load_rosinality_checkpoint(tmp_path / "no_avg.pt")
    assert avg.shape == (16,) and torch.isfinite(avg).all()
    torch.save({"g": sd}, tmp_path / "no_ema.pt")
    with pytest.raises(KeyError, match="g_ema"):
        load_rosinality_checkpoint(tmp_path / "no_ema.pt")
    torch.save({"g_ema": {**sd, "extra.weight": torch.zeros(1)}}, tmp_path / "extra.pt")
    with pytest.raises(KeyError, match="extra.weight"):
        load_rosinality_checkpoint(tmp_path / "extra.pt")
