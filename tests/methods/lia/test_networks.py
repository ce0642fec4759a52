"""LIA's networks: Eq. 1-6 and the inference equations 11-12 on tiny random models."""

import pytest
import torch
from lia_helpers import TINY

from stylevideo.methods.lia.autoencoder import LIAAutoencoder
from stylevideo.methods.lia.networks import MotionDictionary, masked_warp, warp

ARCH = {k: TINY[k] for k in ("resolution", "latent_dim", "motion_dim", "channel_base", "channel_max")}


def tiny(**kwargs) -> LIAAutoencoder:
    torch.manual_seed(0)
    return LIAAutoencoder(**(ARCH | kwargs)).eval()


def images(n=2, res=64, seed=1):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 3, res, res, generator=g) * 2 - 1


def test_motion_dictionary_is_orthonormal_on_every_forward_and_after_an_optimizer_step():
    torch.manual_seed(0)
    d_m = MotionDictionary(32, 8)
    opt = torch.optim.Adam(d_m.parameters(), lr=0.5)
    for _ in range(3):
        a = torch.randn(4, 8)
        w = d_m(a)
        d = d_m.directions()
        assert d.shape == (8, 32)
        assert torch.allclose(d @ d.T, torch.eye(8), atol=1e-5)  # Eq. 3
        assert torch.allclose(w, a @ d, atol=1e-5)  # Eq. 2: sum_i a_i d_i
        assert torch.allclose((w @ d.T), a, atol=1e-4)  # magnitudes are the coordinates in D_m
        opt.zero_grad()
        w.pow(2).sum().backward()
        opt.step()
    assert torch.allclose(d_m.directions() @ d_m.directions().T, torch.eye(8), atol=1e-5)
    with pytest.raises(ValueError, match="num_directions"):
        MotionDictionary(8, 9)


def test_zero_flow_with_an_all_ones_mask_reproduces_the_encoder_features_with_align_corners():
    feats = tiny().encode(images())[1]
    for f in feats:  # Eq. 5 with phi = 0, m = 1
        ones = torch.ones(f.shape[0], 1, *f.shape[2:])
        out = masked_warp(f, torch.zeros(f.shape[0], 2, *f.shape[2:]), ones, align_corners=True)
        assert torch.allclose(out, f, atol=1e-4 * f.abs().max().item())  # up to the grid's float rounding
    f = feats[-1]
    half = torch.zeros(f.shape[0], 1, *f.shape[2:]) + 0.5
    out = masked_warp(f, torch.zeros_like(f[:, :2]), half, align_corners=True)
    assert torch.allclose(out, f / 2, atol=1e-4 * f.abs().max().item())
    # a flow of one pixel (2 / (W - 1) in normalised units) to the right samples the next column
    shift = torch.zeros(f.shape[0], 2, *f.shape[2:])
    shift[:, 0] = 2 / (f.shape[3] - 1)
    assert torch.allclose(warp(f, shift, align_corners=True)[..., :-1], f[..., 1:], atol=1e-4 * f.abs().max().item())


def bilinear_zeros_reference(x: torch.Tensor, gx: torch.Tensor, gy: torch.Tensor) -> torch.Tensor:
    """float64 bilinear sampling of ``x [C, H, W]`` at normalised ``(gx, gy) [h, w]`` with
    ``align_corners=False`` (pixel ``i`` centred at ``(2i + 1) / W - 1``) and zero padding."""
    c, h, w = x.shape
    px, py = ((gx + 1) * w - 1) / 2, ((gy + 1) * h - 1) / 2
    out = torch.zeros(c, *gx.shape, dtype=torch.float64)
    x0, y0 = px.floor().long(), py.floor().long()
    for dx in (0, 1):
        for dy in (0, 1):
            xi, yi = x0 + dx, y0 + dy
            weight = (1 - (px - xi).abs()) * (1 - (py - yi).abs())
            inside = (xi >= 0) & (xi < w) & (yi >= 0) & (yi < h)
            out += torch.where(inside, weight * x[:, yi.clamp(0, h - 1), xi.clamp(0, w - 1)], 0.0)
    return out


def test_warp_follows_the_authors_align_corners_false_convention_by_default():
    f = images(1, 16).double()
    flow = torch.rand(1, 2, 16, 16, generator=torch.Generator().manual_seed(3), dtype=torch.float64) * 0.4 - 0.2
    grid = torch.linspace(-1, 1, 16, dtype=torch.float64)
    gx, gy = grid[None, :] + flow[0, 0], grid[:, None] + flow[0, 1]  # their linspace grid + phi
    expected = bilinear_zeros_reference(f[0], gx, gy)
    assert torch.allclose(warp(f, flow)[0], expected, atol=1e-12)
    assert not torch.allclose(warp(f, flow, align_corners=True)[0], expected, atol=1e-3)
    # the default everywhere in LIA is the authors' convention
    model = tiny()
    assert not any(block.align_corners for block in model.G.blocks)


def test_encoder_features_and_generator_blocks_follow_the_resolution():
    model = tiny()
    z, feats = model.encode(images())
    assert z.shape == (2, 32)
    assert [f.shape[-1] for f in feats] == [8, 16, 32, 64]  # x_enc from 8x8 to the input size
    assert [f.shape[1] for f in feats] == [b.conv.conv.out_channels for b in model.G.blocks]
    assert model.G.num_blocks == 4
    for res, blocks in ((32, 3), (128, 5), (256, 6)):  # 6 blocks up to 256x256 (appendix A)
        with torch.device("meta"):
            assert LIAAutoencoder(res, 512, 20).G.num_blocks == blocks
    out, flows, masks = model.decode(z, feats, return_flows=True)
    assert out.shape == (2, 3, 64, 64)
    assert [f.shape[-1] for f in flows] == [8, 16, 32, 64] and all(f.shape[1] == 2 for f in flows)
    assert all(f.abs().max() <= 1 for f in flows) and all(((m >= 0) & (m <= 1)).all() for m in masks)
    with pytest.raises(ValueError, match=r"expected images \[B, 3, 64, 64\]"):
        model.encode(images(res=32))


def test_training_forward_is_eq4_source_code_plus_driving_path():
    model = tiny()
    xs, xd = images(seed=1), images(seed=2)
    z_s, feats = model.encode(xs)
    expected = model.decode(z_s + model.latent_path(model.encode(xd)[0]), feats)  # Eq. 1, 2, 4
    assert torch.allclose(model(xs, xd), expected, atol=1e-5)


def test_relative_transfer_with_the_first_driving_frame_as_source_is_absolute_transfer():
    model = tiny()
    driving = torch.stack([images(seed=s) for s in range(3, 8)], dim=1)  # [2, 5, 3, 64, 64]
    with torch.no_grad():
        absolute = model.animate(driving[:, 0], driving, relative=False, chunk=2)  # Eq. 11
        relative = model.animate(driving[:, 0], driving, relative=True, chunk=2)  # Eq. 12
        other = model.animate(images(seed=9), driving, relative=True)
    assert absolute.shape == (2, 5, 3, 64, 64)
    assert torch.allclose(relative, absolute, atol=1e-4)
    assert not torch.allclose(other, absolute, atol=1e-2)
    # absolute transfer of a frame onto itself is the training reconstruction (Eq. 11 = Eq. 4)
    assert torch.allclose(absolute[:, 2], model(driving[:, 0], driving[:, 2]), atol=1e-4)


def test_ablations_without_dictionary_and_with_other_m():
    no_dm = tiny(motion_dictionary=False)
    assert no_dm.D_m is None and no_dm.mlp[-1].weight.shape == (
        32,
        32,
    )  # the MLP outputs w directly
    z = torch.randn(2, 32)
    assert torch.equal(no_dm.latent_path(z), no_dm.mlp(z))
    assert no_dm(images(), images(seed=2)).shape == (2, 3, 64, 64)
    with pytest.raises(ValueError, match="D_m"):
        no_dm.manipulate(images(), 0, torch.zeros(1))
    m5 = tiny(motion_dim=5)
    assert m5.D_m.weight.shape == (32, 5) and m5.mlp[-1].weight.shape == (5, 32)


def test_reference_image_and_linear_manipulation():
    model = tiny()
    xs = images()
    with torch.no_grad():
        x_r = model.reference_image(xs)
        z_sr, feats = model.encode(xs)
        _, flows, _ = model.decode(z_sr, feats, return_flows=True)
        walk = model.manipulate(xs, 3, torch.tensor([0.0, -2.0, 2.0]))
        self_recon = model(xs, xs)
    assert x_r.shape == xs.shape
    assert torch.allclose(x_r, warp(xs, flows[-1]), atol=1e-6)  # appendix B.4: x_s warped by phi_{s->r}
    assert walk.shape == (2, 3, 3, 64, 64)
    assert torch.allclose(walk[:, 0], self_recon, atol=1e-4)  # zero magnitude: z_{s->s}
    assert not torch.allclose(walk[:, 1], walk[:, 2], atol=1e-3)
    with pytest.raises(ValueError, match="direction must be in"):
        model.manipulate(xs, 8, torch.zeros(1))
