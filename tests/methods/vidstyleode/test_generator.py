"""f_G (Eq. 3-4, section 7): coarse and medium W+ layers receive the dynamics, fine ones do not."""

import pytest
import torch

from stylevideo.methods.vidstyleode.generator import ConditionalGenerator, layer_groups


def f_g(**kw) -> ConditionalGenerator:
    torch.manual_seed(0)
    args = dict(
        num_ws=8,
        w_dim=8,
        d_ode=6,
        grid=(4, 4),
        style_dim=10,
        width=8,
        heads=2,
        sa_layers=1,
        ca_layers=2,
        groups=(2, 3),
        mapper_layers=(2, 1, 1),
        delta_scale=0.01,
    )
    return ConditionalGenerator(**{**args, **kw})


def inputs(n=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (
        torch.randn(n, 6, 4, 4, generator=g),
        torch.randn(n, 10, generator=g),
        torch.randn(n, 8, 8, generator=g),
    )


def test_fine_layers_receive_no_dynamics():
    net = f_g()
    z_dt, z_S, z_C = inputs()
    other_dynamics = torch.randn_like(z_dt)
    a, b = net(z_dt, z_S, z_C), net(other_dynamics, z_S, z_C)
    assert a.shape == (2, 8, 8)
    assert torch.equal(a[:, 5:], b[:, 5:])  # fine: layers 5..7
    assert not torch.allclose(a[:, :2], b[:, :2], atol=1e-6)  # coarse
    assert not torch.allclose(a[:, 2:5], b[:, 2:5], atol=1e-6)  # medium


def test_every_group_follows_the_style_and_the_content():
    net = f_g()
    z_dt, z_S, z_C = inputs()
    base = net(z_dt, z_S, z_C)
    for changed in (net(z_dt, z_S + 1, z_C), net(z_dt, z_S, z_C * 2 + 1)):
        for part in (slice(0, 2), slice(2, 5), slice(5, 8)):
            assert not torch.allclose(base[:, part], changed[:, part], atol=1e-6)


def test_direction_is_scaled_by_delta_scale():
    z_dt, z_S, z_C = inputs()
    small, large = f_g(delta_scale=0.01), f_g(delta_scale=0.5)
    assert torch.allclose(large(z_dt, z_S, z_C), 50 * small(z_dt, z_S, z_C), atol=1e-6)


def test_patches_are_tokens():
    net = f_g(patch_size=2)
    assert net.dyn_pos.shape == (1, 4, 8)  # a 4 x 4 grid in 2 x 2 patches
    z_dt, z_S, z_C = inputs()
    assert net.dynamics_tokens(z_dt).shape == (2, 4, 8)


def test_layer_groups_and_bad_arguments():
    assert layer_groups(18, 4, 6) == [slice(0, 4), slice(4, 10), slice(10, 18)]
    with pytest.raises(ValueError, match="at least one fine layer"):
        layer_groups(8, 4, 4)
    with pytest.raises(ValueError, match="not divisible by patch_size"):
        f_g(patch_size=3)
    with pytest.raises(ValueError, match=r"z_C must be \[N, 8, 8\]"):
        f_g()(*inputs()[:2], torch.randn(2, 7, 8))
