"""The motion generator: AdaIN, the modulated inversion encoder, Eq. 2 and its ablation."""

import torch

from stylevideo.methods.styleinv.encoder import AdaIN, ModulatedInversionEncoder, StyleInVNet
from stylevideo.nn.psp import PSPEncoderW

ENC = dict(widths=(16, 16, 16, 32), units=(1, 1, 1, 1))


def net(**kw):
    torch.manual_seed(0)
    return StyleInVNet(w_dim=32, z_dim=16, v_dim=16, delta_z=4, kernel_size=3, **ENC, **kw)


def test_adain_normalises_each_channel_then_applies_the_style():
    torch.manual_seed(0)
    adain = AdaIN(style_dim=8, channels=4)
    x = torch.randn(2, 4, 6, 6) * 5 + 3
    with torch.no_grad():
        adain.fc.weight.zero_()
        adain.fc.bias.copy_(torch.tensor([0.5, 1.0, -0.5, 0.0, 1.0, 2.0, 3.0, 4.0]))  # gamma | beta
    y = adain(x, torch.randn(2, 8))
    mean, std = y.mean((2, 3)), y.std((2, 3), unbiased=False)
    assert torch.allclose(mean, torch.tensor([1.0, 2.0, 3.0, 4.0]).expand(2, -1), atol=1e-4)
    assert torch.allclose(std, torch.tensor([1.5, 2.0, 0.5, 1.0]).expand(2, -1), atol=1e-3)


def test_encoder_runs_the_style_free_stem_once_per_video_exactly():
    torch.manual_seed(0)
    enc = ModulatedInversionEncoder(w_dim=32, style_dim=16, **ENC)
    x, s = torch.randn(2, 3, 32, 32), torch.randn(2, 3, 16)
    out = enc(x, s)
    # reference: every (video, time) pair as its own full image
    h = enc.input_layer(x.repeat_interleave(3, 0))
    flat_s, stage = s.flatten(0, 1), 0
    for i, unit in enumerate(enc.body):
        h = unit(h)
        if i in enc.stage_ends:
            h = enc.adains[stage](h, flat_s)
            stage += 1
    ref = enc.linear(h.mean((2, 3))).unflatten(0, (2, 3))
    assert out.shape == (2, 3, 32) and torch.allclose(out, ref, atol=1e-5)


def test_eq2_encoder_output_is_a_residual_to_w0():
    model = net().eval()
    with torch.no_grad():
        model.encoder.linear.weight.zero_()
        model.encoder.linear.bias.zero_()
    w0, x0 = torch.randn(2, 32), torch.randn(2, 3, 32, 32)
    t = torch.tensor([[0.0, 1.5, 7.0]]).expand(2, -1)
    w_t, residual = model(x0, w0, t, model.ape.sample_noise(2, 7.0))
    assert torch.equal(residual, torch.zeros_like(residual))
    assert torch.allclose(w_t, w0[:, None].expand(-1, 3, -1))


def test_first_latent_does_not_depend_on_the_motion_noise_with_ffa_ape():
    model = net().eval()
    w0, x0 = torch.randn(1, 32).expand(2, -1), torch.randn(1, 3, 32, 32).expand(2, -1, -1, -1)
    t = torch.tensor([[0.0, 5.0]]).expand(2, -1)
    w_t, _ = model(x0, w0, t, model.ape.sample_noise(2, 5.0))
    assert torch.allclose(w_t[0, 0], w_t[1, 0], atol=1e-5)
    assert not torch.allclose(w_t[0, 1], w_t[1, 1], atol=1e-3)


def test_without_the_inversion_encoder_the_temporal_style_is_the_residual():
    model = net(use_encoder=False).eval()
    assert model.encoder is None
    w0, t = torch.randn(2, 32), torch.tensor([[0.0, 3.0]]).expand(2, -1)
    z = model.ape.sample_noise(2, 3.0)
    w_t, residual = model(None, w0, t, z)
    assert torch.allclose(residual, model.style(w0, model.ape(t, z)))
    assert torch.allclose(w_t, residual + w0[:, None])


def test_stage2_weights_initialise_the_backbone_and_output_layer_only():
    torch.manual_seed(1)
    psp = PSPEncoderW(32, **ENC)
    model = net()
    adain_before = {k: v.clone() for k, v in model.encoder.adains.state_dict().items()}
    model.encoder.load_inversion_encoder(psp.state_dict())
    assert torch.equal(model.encoder.body[2].res_layer[1].weight, psp.body[2].res_layer[1].weight)
    assert torch.equal(model.encoder.linear.weight, psp.linear.weight)
    for k, v in model.encoder.adains.state_dict().items():
        assert torch.equal(v, adain_before[k])


def test_encoder_and_discriminator_convolve_channels_last_maps():
    """Their weights are NHWC, and the convolutions of the backbone and the discriminator get
    NHWC maps whatever layout the input comes in (the AdaIN blocks' instance norm returns NCHW
    maps, which their convolutions convert)."""
    from stylevideo.methods.styleinv.discriminator import SparseVideoDiscriminator

    torch.manual_seed(0)
    enc = ModulatedInversionEncoder(w_dim=32, style_dim=16, **ENC)
    d = SparseVideoDiscriminator(32, channel_base=256, channel_max=32, max_frames=16, const_dim=8, mbstd_group=2)
    nhwc, is_nhwc = {}, lambda x: x.is_contiguous(memory_format=torch.channels_last)
    for net in (enc, d):
        convs = {n: m for n, m in net.named_modules() if getattr(m, "weight", None) is not None and m.weight.ndim == 4}
        assert len(convs) > 5 and all(m.weight.is_contiguous(memory_format=torch.channels_last) for m in convs.values())
        for n, m in convs.items():
            if not n.startswith("adains."):
                m.register_forward_pre_hook(lambda m, a, n=n: nhwc.update({n: is_nhwc(a[0])}))
    enc(torch.randn(2, 3, 32, 32), torch.randn(2, 3, 16))
    d(torch.randn(2, 4, 3, 32, 32), torch.tensor([[0.0, 2, 3, 7], [0.0, 1, 5, 6]]))
    assert len(nhwc) > 10 and all(nhwc.values()), [n for n, v in nhwc.items() if not v]
