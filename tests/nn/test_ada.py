"""ADA (Karras et al. 2020): the bgc pipe on images and videos, and the p controller."""

from __future__ import annotations

import io
import subprocess
import sys
import textwrap

import pytest
import torch
import torch.nn.functional as F

from stylevideo.nn.ada import PRESETS, AdaptiveAugment, AugmentPipe, _Warp

S = 32  # image size


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def smooth_images(b: int, seed: int = 0) -> torch.Tensor:
    """Low-frequency RGB images in [-1, 1], asymmetric under flips and 90-degree rotations."""
    g = gen(seed)
    y, x = torch.meshgrid(torch.linspace(-1, 1, S), torch.linspace(-1, 1, S), indexing="ij")
    phase = torch.rand(b, 3, 1, 1, generator=g) * 6
    return torch.sin(2.3 * x + 0.7 * y**2 + phase) * torch.cos(1.1 * y + 0.5 * x + phase)


def noise_images(b: int, c: int = 3, seed: int = 0) -> torch.Tensor:
    return torch.rand(b, c, S, S, generator=gen(seed)) * 2 - 1


def interior(x: torch.Tensor, m: int = 6) -> torch.Tensor:
    return x[..., m:-m, m:-m]


# ------------------------------------------------------------------ the pipe


def test_p_zero_returns_the_input_itself():
    pipe = AugmentPipe.bgc()
    assert pipe.p.item() == 0.0
    image, video = noise_images(2), noise_images(6).view(2, 3, 3, S, S)
    assert pipe(image) is image and pipe(video) is video


def test_bgc_preset_enables_the_twelve_ada_transforms():
    pipe = AugmentPipe.preset("bgc", p=0.3)
    names = PRESETS["bgc"]
    assert len(names) == 12 and all(getattr(pipe, n) == 1.0 for n in names)
    assert pipe.p.item() == pytest.approx(0.3)
    # ADA's default strengths
    assert (pipe.xint_max, pipe.scale_std, pipe.rotate_max, pipe.aniso_std, pipe.xfrac_std) == (
        0.125,
        0.2,
        1.0,
        0.2,
        0.125,
    )
    assert (pipe.brightness_std, pipe.contrast_std, pipe.hue_max, pipe.saturation_std) == (0.2, 0.5, 1.0, 1.0)
    assert AugmentPipe.preset("blit").scale == 0.0
    with pytest.raises(ValueError, match="bgcx"):
        AugmentPipe.preset("bgcx")


def test_resampling_with_an_identity_transform_is_exact():
    x = noise_images(3)
    out = AugmentPipe(xint=1.0, xint_max=0.0, p=1.0)(x)  # geometric path, zero translation
    torch.testing.assert_close(out, x, atol=1e-4, rtol=0)


def test_xflip_flips_about_half_the_images():
    x = smooth_images(16)
    out = AugmentPipe(xflip=1.0, p=1.0)(x, gen(1))
    same = interior(out - x).abs().amax((1, 2, 3)) < 2e-3
    flipped = interior(out - x.flip(-1)).abs().amax((1, 2, 3)) < 2e-3
    assert torch.all(same ^ flipped)
    assert 0 < flipped.sum() < 16


def test_rotate90_rotates_by_a_multiple_of_90_degrees():
    x = smooth_images(16)
    out = AugmentPipe(rotate90=1.0, p=1.0)(x, gen(2))
    errs = torch.stack([interior(out - torch.rot90(x, k, (-2, -1))).abs().amax((1, 2, 3)) for k in range(4)], 1)
    assert torch.all((errs < 2e-3).sum(1) == 1)
    assert len(set(errs.argmin(1).tolist())) >= 3


def test_xint_translates_by_whole_pixels_within_an_eighth_of_the_image():
    x = noise_images(8)  # exact for any content
    out = AugmentPipe(xint=1.0, p=1.0)(x, gen(3))
    r = round(0.125 * S)
    shifts = []
    for i in range(len(x)):
        found = [
            (dy, dx)
            for dy in range(-r, r + 1)
            for dx in range(-r, r + 1)
            if (interior(out[i] - torch.roll(x[i], (dy, dx), (-2, -1)), r + 2)).abs().max() < 1e-4
        ]
        assert len(found) == 1
        shifts.append(found[0])
    assert sum(s != (0, 0) for s in shifts) >= 6


def test_brightness_adds_one_offset_per_image_with_ada_std():
    x = noise_images(1000, seed=4)[..., :4, :4]
    out = AugmentPipe(brightness=1.0, p=1.0)(x, gen(4))
    d = out - x
    torch.testing.assert_close(d, d[:, :1, :1, :1].expand_as(d), atol=1e-5, rtol=0)
    assert d[:, 0, 0, 0].std().item() == pytest.approx(0.2, rel=0.1)  # N(0, 0.2)
    assert out.mean().item() != pytest.approx(x.mean().item(), abs=1e-3)


def test_contrast_scales_each_image_by_a_lognormal_factor():
    x = noise_images(1000, seed=5)[..., :4, :4]
    out = AugmentPipe(contrast=1.0, p=1.0)(x, gen(5))
    c = out[:, 0, 0, 0] / x[:, 0, 0, 0]
    torch.testing.assert_close(out, x * c.view(-1, 1, 1, 1), atol=1e-5, rtol=1e-5)
    assert torch.log2(c).std().item() == pytest.approx(0.5, rel=0.1)  # 2^N(0, 0.5)


def test_saturation_keeps_luma_and_scales_chroma():
    x = noise_images(500, seed=6)[..., :4, :4]
    out = AugmentPipe(saturation=1.0, p=1.0)(x, gen(6))
    torch.testing.assert_close(out.mean(1), x.mean(1), atol=1e-5, rtol=0)
    chroma_in, chroma_out = x - x.mean(1, keepdim=True), out - out.mean(1, keepdim=True)
    s = chroma_out.flatten(1).norm(dim=1) / chroma_in.flatten(1).norm(dim=1)
    torch.testing.assert_close(chroma_out, chroma_in * s.view(-1, 1, 1, 1), atol=1e-4, rtol=1e-4)
    assert torch.log2(s).std().item() == pytest.approx(1.0, rel=0.15)  # 2^N(0, 1)
    assert s.min() < 0.25  # some images are nearly grey


def test_composed_colour_matrix_keeps_the_brightness_offset():
    x = noise_images(64, seed=17)[..., :4, :4]
    out = AugmentPipe(brightness=1.0, saturation=1.0, p=1.0)(x, gen(17))
    shift = (out - x).mean(1)  # saturation keeps luma, so luma moves by the brightness offset
    torch.testing.assert_close(shift, shift[:, :1, :1].expand_as(shift), atol=1e-5, rtol=0)
    assert shift[:, 0, 0].abs().mean() > 0.05


def test_hue_rotation_keeps_luma_and_chroma_magnitude():
    x = noise_images(64, seed=7)
    out = AugmentPipe(hue=1.0, p=1.0)(x, gen(7))
    torch.testing.assert_close(out.mean(1), x.mean(1), atol=1e-5, rtol=0)
    chroma = lambda t: (t - t.mean(1, keepdim=True)).norm(dim=1)  # noqa: E731
    torch.testing.assert_close(chroma(out), chroma(x), atol=1e-5, rtol=1e-5)
    assert (out - x).abs().amax() > 0.5


def test_lumaflip_negates_luma_or_does_nothing():
    x = noise_images(32, seed=8)
    out = AugmentPipe(lumaflip=1.0, p=1.0)(x, gen(8))
    flipped = x - 2 * x.mean(1, keepdim=True)
    kept = (out - x).abs().amax((1, 2, 3)) < 1e-5
    neg = (out - flipped).abs().amax((1, 2, 3)) < 1e-5
    assert torch.all(kept ^ neg) and 0 < neg.sum() < 32


@pytest.mark.parametrize("name", ["brightness", "contrast", "hue", "saturation"])
def test_p_is_the_probability_of_each_colour_transform(name):
    x = noise_images(2000, seed=18)[..., :2, :2]
    out = AugmentPipe(**{name: 1.0}, p=0.3)(x, gen(18))
    changed = (out - x).abs().amax((1, 2, 3)) > 1e-6
    assert changed.float().mean().item() == pytest.approx(0.3, abs=0.04)


def test_geometric_parameters_follow_ada_distributions():
    b = 4000
    iso = AugmentPipe(scale=1.0, p=1.0)._geometry(b, S, S, gen(9), torch.device("cpu"))
    assert torch.log2(1 / iso[:, 0, 0]).std().item() == pytest.approx(0.2, rel=0.1)
    torch.testing.assert_close(iso[:, 0, 0], iso[:, 1, 1])
    aniso = AugmentPipe(aniso=1.0, p=1.0)._geometry(b, S, S, gen(9), torch.device("cpu"))
    torch.testing.assert_close(aniso[:, 0, 0] * aniso[:, 1, 1], torch.ones(b))
    # p scales the probabilities: xflip fires with p, then flips half of those.
    flip = AugmentPipe(xflip=1.0, p=0.5)._geometry(b, S, S, gen(9), torch.device("cpu"))
    assert (flip[:, 0, 0] < 0).float().mean().item() == pytest.approx(0.25, abs=0.03)
    # rotation: pre- or post-rotation with 1 - sqrt(1 - p) each, so P(any rotation) = p
    rot = AugmentPipe(rotate=1.0, p=0.5)._geometry(b, S, S, gen(9), torch.device("cpu"))
    assert (rot[:, 0, 1].abs() > 1e-6).float().mean().item() == pytest.approx(0.5, abs=0.03)
    frac = AugmentPipe(xfrac=1.0, p=1.0)._geometry(b, S, S, gen(9), torch.device("cpu"))
    assert (frac[:, 0, 2] / S).std().item() == pytest.approx(0.125, rel=0.1)


# ------------------------------------------------------------------ videos


def test_identical_frames_stay_identical():
    frame = noise_images(3, seed=10)
    video = frame[:, None].expand(3, 5, 3, S, S).contiguous()
    out = AugmentPipe.bgc(p=1.0)(video, gen(10))
    assert (out - video).abs().amax() > 0.1
    torch.testing.assert_close(out, out[:, :1].expand_as(out), atol=1e-6, rtol=0)


def test_each_frame_gets_the_transform_of_its_video():
    video = noise_images(12, seed=11).view(3, 4, 3, S, S)
    pipe = AugmentPipe.bgc(p=1.0)
    out = pipe(video, gen(11))
    for k in range(4):
        torch.testing.assert_close(out[:, k], pipe(video[:, k], gen(11)), atol=1e-5, rtol=0)


def test_videos_in_a_batch_get_different_transforms():
    video = noise_images(4, seed=12)[None].expand(6, 4, 3, S, S)
    out = AugmentPipe.bgc(p=1.0)(video, gen(12))
    flat = out.flatten(1)
    dist = (flat[:, None] - flat[None]).abs().amax(-1)
    assert dist[~torch.eye(6, dtype=torch.bool)].min() > 0.05


def test_rejects_wrong_shapes():
    with pytest.raises(ValueError, match=r"\[B,T,C,H,W\]"):
        AugmentPipe.bgc(p=1.0)(torch.zeros(3, S, S))
    with pytest.raises(ValueError, match="4 channels"):
        AugmentPipe.bgc(p=1.0)(torch.zeros(2, 4, S, S))


def test_grey_images_get_geometry_and_brightness():
    x = noise_images(4, c=1, seed=13)
    out = AugmentPipe.bgc(p=1.0)(x, gen(13))
    assert out.shape == x.shape and torch.isfinite(out).all() and (out - x).abs().amax() > 0.1


# ------------------------------------------------------------------ gradients and precision


def test_gradients_reach_the_input():
    pipe = AugmentPipe.bgc(p=1.0)
    x = noise_images(2, seed=14)[..., :8, :8].double().requires_grad_()
    assert torch.autograd.gradcheck(lambda t: pipe(t, gen(14)), (x,), atol=1e-6, fast_mode=True)


def test_r1_penalty_backpropagates_through_the_augmentation():
    pipe = AugmentPipe.bgc(p=1.0)
    d = torch.nn.Sequential(torch.nn.Conv2d(6, 4, 3), torch.nn.Softplus(), torch.nn.Flatten(), torch.nn.LazyLinear(1))
    real = noise_images(6, seed=15).view(2, 3, 3, S, S)[:, :2].clone().requires_grad_()
    logits = d(pipe(real, gen(15)).flatten(1, 2))
    (grad,) = torch.autograd.grad(logits.sum(), real, create_graph=True)
    grad.square().sum().backward()
    assert grad.abs().sum() > 0
    assert d[0].weight.grad.abs().sum() > 0 and d[3].weight.grad.abs().sum() > 0


def test_autocast_bf16_keeps_dtype_and_matches_float32():
    pipe = AugmentPipe.bgc(p=1.0)
    x = noise_images(4, seed=16)
    ref = pipe(x, gen(16))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = pipe(x.bfloat16(), gen(16))
    assert out.dtype == torch.bfloat16 and torch.isfinite(out).all()
    torch.testing.assert_close(out.float(), ref, atol=0.1, rtol=0.02)


# ------------------------------------------------------------------ the p controller


def test_p_rises_by_the_ada_step_when_d_overfits():
    ada = AdaptiveAugment(AugmentPipe.bgc(), target=0.6, interval=4, ada_kimg=500)
    logits = torch.full((8, 1), 3.0)
    assert [ada.update(logits) for _ in range(3)] == [False] * 3
    assert ada.p.item() == 0.0
    assert ada.update(logits)
    assert ada.r_t.item() == 1.0
    assert ada.p.item() == pytest.approx(8 * 4 / (500 * 1000))
    for _ in range(4):
        ada.update(logits)
    assert ada.p.item() == pytest.approx(2 * 8 * 4 / (500 * 1000))


def test_p_falls_and_clamps_at_zero_when_d_underfits():
    ada = AdaptiveAugment(AugmentPipe.bgc(p=1e-3), interval=4, ada_kimg=500)
    logits = -torch.ones(16)
    for _ in range(4):
        ada.update(logits)
    assert ada.r_t.item() == -1.0
    assert ada.p.item() == pytest.approx(1e-3 - 16 * 4 / 500_000)
    for _ in range(32):
        ada.update(logits)
    assert ada.p.item() == 0.0


def test_r_t_is_the_mean_sign_and_p_clamps_at_one():
    ada = AdaptiveAugment(AugmentPipe.bgc(p=0.99995), interval=2, ada_kimg=1)
    ada.update(torch.tensor([1.0, 1.0, 1.0, -1.0]))  # r_t = (3 - 1 + 4) / 8 = 0.75
    ada.update(torch.tensor([2.0, 0.5, 0.1, 0.2]))
    assert ada.r_t.item() == pytest.approx(0.75)
    assert ada.p.item() == 1.0
    ada.update(torch.tensor([1.0, -1.0, -1.0, -1.0]))  # r_t = 0.5 / 0.6: p falls
    ada.update(torch.tensor([1.0, 1.0, 1.0, 1.0]))
    assert ada.p.item() == pytest.approx(1 - 8 / 1000)


def test_state_dict_round_trip_resumes_exactly():
    logits = [torch.randn(8, generator=gen(i)) + 1.5 for i in range(12)]  # r_t > 0.6
    ref = AdaptiveAugment(AugmentPipe.bgc(), interval=4, ada_kimg=1)
    for lg in logits:
        ref.update(lg)
    first = AdaptiveAugment(AugmentPipe.bgc(), interval=4, ada_kimg=1)
    for lg in logits[:6]:  # stop mid-interval
        first.update(lg)
    buf = io.BytesIO()
    torch.save(first.state_dict(), buf)
    resumed = AdaptiveAugment(AugmentPipe.bgc(), interval=4, ada_kimg=1)
    x = noise_images(2)
    assert resumed(x) is x  # p = 0 before loading
    resumed.load_state_dict(torch.load(io.BytesIO(buf.getvalue())))
    assert resumed.p.item() == first.p.item() > 0
    assert resumed(x) is not x  # the loaded p is used at once
    for lg in logits[6:]:
        resumed.update(lg)
    assert resumed.p.item() == ref.p.item() > first.p.item()
    assert resumed.r_t.item() == ref.r_t.item()


_DDP_WORKER = textwrap.dedent("""
    import sys, torch, torch.distributed as dist
    from stylevideo.nn.ada import AdaptiveAugment, AugmentPipe
    rank, path = int(sys.argv[1]), sys.argv[2]
    dist.init_process_group("gloo", init_method="file://" + path, rank=rank, world_size=2)
    ada = AdaptiveAugment(AugmentPipe.bgc(), interval=2, ada_kimg=500)
    # rank 0 alone: r_t = 1 (raise p); rank 1 alone: r_t = 0.5 (lower p); together 0.75.
    logits = torch.ones(8) if rank == 0 else torch.tensor([1.0] * 6 + [-1.0] * 2)
    for _ in range(2):
        ada.update(logits)
    print(repr(ada.p.item()), repr(ada.r_t.item()))
    dist.destroy_process_group()
""")


def test_ddp_ranks_share_r_t_and_p(tmp_path):
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _DDP_WORKER, str(r), str(tmp_path / "store")],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for r in range(2)
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-2000:] for o in outs]
    results = [tuple(map(float, o[0].split())) for o in outs]
    assert results[0] == results[1]
    p, r_t = results[0]
    assert r_t == pytest.approx(0.75)
    assert p == pytest.approx(2 * 8 * 2 / 500_000)  # N = global batch (16) x interval (2)


def test_transform_matrices_are_built_on_the_input_device():
    """A constant left on the CPU fails on a GPU; the meta device stands in for one here."""
    pipe = AugmentPipe.bgc()
    pipe.p.fill_(1.0)
    pipe = pipe.to("meta")
    assert pipe._geometry(2, 32, 32, None, "meta").device.type == "meta"
    assert pipe._colour(2, True, None, "meta").device.type == "meta"


def test_warp_matches_grid_sample_to_the_second_derivative():
    """R1 through the augmentations needs the warp's double backward (which CUDA's grid_sample lacks)."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, 6, 7, dtype=torch.float64, generator=g, requires_grad=True)
    grid = torch.rand(2, 5, 8, 2, dtype=torch.float64, generator=g) * 2.4 - 1.2  # some outside: border
    weight = torch.randn(2, 3, 5, 8, dtype=torch.float64, generator=g)
    ref = lambda v: F.grid_sample(v, grid, mode="bilinear", padding_mode="border", align_corners=False)  # noqa: E731
    grads = []
    for warp in (ref, lambda v: _Warp.apply(v, grid)):
        out = warp(x)
        (dx,) = torch.autograd.grad((out.square() * weight).sum(), x, create_graph=True)  # a nonlinear "D"
        (ddx,) = torch.autograd.grad((dx.square() * torch.arange(7.0, dtype=x.dtype)).sum(), x)
        grads.append((out, dx, ddx))
    for a, b in zip(*grads, strict=True):
        torch.testing.assert_close(a, b)
    assert torch.autograd.gradgradcheck(lambda v: _Warp.apply(v, grid), (x,))
