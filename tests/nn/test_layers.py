"""Equalized-lr layers and FIR resampling against direct references."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy.signal import convolve2d

from stylevideo.nn.layers import (
    SQRT2,
    Blur,
    ConvLayer,
    Downsample,
    EqualConv2d,
    EqualLinear,
    FusedLeakyReLU,
    ResBlock,
    Upsample,
    depthwise_fir,
    fused_leaky_relu,
    make_kernel,
    upfirdn2d,
)


def reference_upfirdn2d(x: np.ndarray, k: np.ndarray, up: int, down: int, pad: tuple[int, int]) -> np.ndarray:
    """Textbook definition, one channel at a time: zero insertion, pad, true convolution, decimation."""
    out = []
    for plane in x.reshape(-1, *x.shape[-2:]):
        h, w = plane.shape
        z = np.zeros((h * up, w * up))
        z[::up, ::up] = plane
        z = np.pad(z, ((pad[0], pad[1]), (pad[0], pad[1])))
        out.append(convolve2d(z, k, mode="valid")[::down, ::down])
    return np.stack(out).reshape(*x.shape[:-2], *out[0].shape)


@pytest.mark.parametrize(
    "up,down,pad", [(1, 1, (2, 1)), (2, 1, (2, 1)), (1, 2, (1, 1)), (1, 2, (2, 2)), (2, 1, (1, 1))]
)
def test_upfirdn2d_matches_direct_reference(up, down, pad):
    torch.manual_seed(0)
    x = torch.randn(2, 3, 9, 8, dtype=torch.float64)
    k = make_kernel([1, 3, 3, 1]).double() * (up * up)
    k[0, 1] += 0.3  # an asymmetric kernel: checks the flip of a true convolution
    ours = upfirdn2d(x, k, up=up, down=down, pad=pad)
    ref = reference_upfirdn2d(x.numpy(), k.numpy(), up, down, pad)
    np.testing.assert_allclose(ours.numpy(), ref, atol=1e-12)


@pytest.mark.parametrize(
    "stride,padding,transposed",
    [(1, 1, False), (2, 1, False), ((1, 2), (0, 3), False), (2, 0, True), ((2, 1), (3, 0), True)],
)
def test_depthwise_fir_equals_grouped_convolution_to_the_second_derivative(stride, padding, transposed):
    torch.manual_seed(0)
    x = torch.randn(2, 3, 9, 8, dtype=torch.float64, requires_grad=True)  # odd and even sizes: the stride skips rows
    w = torch.randn(3, 1, 4, 4, dtype=torch.float64)
    conv = F.conv_transpose2d if transposed else F.conv2d
    ours = depthwise_fir(x, w, stride, padding, transposed)
    torch.testing.assert_close(ours, conv(x, w, None, stride, padding, groups=3))
    # first and second derivatives against torch's own, and exact to second order by finite differences
    probe = torch.randn_like(ours)
    (g_ours,) = torch.autograd.grad((ours * probe).sum(), x, create_graph=True)
    (g_ref,) = torch.autograd.grad((conv(x, w, None, stride, padding, groups=3) * probe).sum(), x, create_graph=True)
    torch.testing.assert_close(g_ours, g_ref)
    fn = lambda v: depthwise_fir(v, w, stride, padding, transposed).square()  # noqa: E731
    assert torch.autograd.gradcheck(fn, (x,)) and torch.autograd.gradgradcheck(fn, (x,))


def test_blur_double_backward_is_one_convolution_per_derivative():
    """R1 through a blur: torch's grouped-convolution double backward would add one convolution
    per channel (64 here) for the filter's weight gradient; the adjoint filter adds none."""
    from torch.utils._python_dispatch import TorchDispatchMode

    class CountConvolutions(TorchDispatchMode):
        calls = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            self.calls += func.overloadpacket is torch.ops.aten.convolution
            return func(*args, **(kwargs or {}))

    blur, x = Blur([1, 3, 3, 1], pad=(1, 1), down=2), torch.randn(2, 64, 16, 16, requires_grad=True)
    with CountConvolutions() as count:
        (g,) = torch.autograd.grad(blur(x).square().sum(), x, create_graph=True)
        g.square().sum().backward()
    assert count.calls == 4  # forward, its adjoint, and the adjoint's two derivatives


def test_depthwise_fir_backward_follows_the_gradient_dtype_under_autocast():
    x, w = torch.randn(1, 2, 8, 8, requires_grad=True), torch.ones(2, 1, 3, 3) / 9
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = depthwise_fir(x, w, 2, 1)
    assert y.dtype == torch.bfloat16
    y.float().sum().backward()
    assert x.grad.dtype == torch.float32 and x.grad.shape == x.shape


def test_depthwise_fir_refuses_a_weight_that_requires_grad():
    with pytest.raises(ValueError, match="constant weight"):
        depthwise_fir(torch.randn(1, 2, 4, 4), torch.randn(2, 1, 3, 3, requires_grad=True))


def test_resampling_modules_change_resolution_and_keep_dc_gain():
    x = torch.full((1, 2, 8, 8), 3.0)
    up, down = Upsample([1, 3, 3, 1]), Downsample([1, 3, 3, 1])
    assert up(x).shape[-1] == 16 and down(x).shape[-1] == 4
    # away from the zero-padded border a constant image stays constant
    assert torch.allclose(up(x)[..., 4:-4, 4:-4], x[..., :1, :1].expand(1, 2, 8, 8), atol=1e-6)
    assert torch.allclose(down(x)[..., 1:-1, 1:-1], torch.tensor(3.0))
    blurred = Blur([1, 3, 3, 1], pad=(2, 1))(x)
    assert blurred.shape == x.shape and torch.allclose(blurred[..., 2:-2, 2:-2], torch.tensor(3.0))


def test_equal_linear_scales_weights_at_run_time():
    torch.manual_seed(0)
    layer = EqualLinear(64, 8, bias_init=0.5, lr_mul=0.01)
    x = torch.randn(4, 64)
    expected = x @ (layer.weight * 0.01 / math.sqrt(64)).T + 0.5 * 0.01
    assert torch.allclose(layer(x), expected, atol=1e-6)
    # stored weights are N(0, 1) / lr_mul, so the effective weights are N(0, 1/fan_in)
    assert abs(layer.weight.std().item() * 0.01 - 1.0) < 0.15


def test_equal_conv_and_fused_lrelu_formulas():
    torch.manual_seed(0)
    conv = EqualConv2d(4, 6, 3, padding=1)
    x = torch.randn(2, 4, 5, 5)
    assert torch.allclose(conv(x), F.conv2d(x, conv.weight / math.sqrt(4 * 9), padding=1), atol=1e-6)
    act = FusedLeakyReLU(4)
    act.bias.data = torch.arange(4.0)
    ref = F.leaky_relu(x + torch.arange(4.0)[None, :, None, None], 0.2) * math.sqrt(2)
    assert torch.allclose(act(x), ref)


@pytest.mark.parametrize("with_bias", [True, False])
@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (3, 4)])
def test_fused_leaky_relu_to_the_second_derivative(shape, with_bias):
    """The fused op equals ``leaky_relu(x + b, 0.2) * sqrt(2)``, with gradients to x and b that
    are themselves differentiable (R1 and path length run a double backward through it)."""
    torch.manual_seed(0)
    x = torch.randn(*shape, dtype=torch.float64, requires_grad=True)
    b = torch.randn(shape[1], dtype=torch.float64, requires_grad=True) if with_bias else None
    ref_b = 0 if b is None else b.view(1, -1, *[1] * (x.ndim - 2))
    torch.testing.assert_close(fused_leaky_relu(x, b), F.leaky_relu(x + ref_b, 0.2) * math.sqrt(2))
    inputs = (x,) if b is None else (x, b)
    assert torch.autograd.gradcheck(lambda *a: fused_leaky_relu(*a), inputs)
    assert torch.autograd.gradgradcheck(lambda *a: fused_leaky_relu(*a), inputs)
    # the double backward of a gradient penalty equals the unfused composition's
    grads = []
    for fn in (fused_leaky_relu, lambda x, b: F.leaky_relu(x + (0 if b is None else b.view_as(ref_b)), 0.2) * SQRT2):
        (g,) = torch.autograd.grad(fn(x, b).pow(3).sum(), x, create_graph=True)
        grads.append(torch.autograd.grad(g.square().sum(), inputs))
    for a, r in zip(*grads, strict=True):
        torch.testing.assert_close(a, r)


def test_fused_leaky_relu_clamp_is_stylegan2_adas_conv_clamp():
    """``clamp(leaky_relu(x + b) * sqrt(2), -c, c)`` (bias_act's ``clamp``), gradient zero where
    clamped, differentiable twice elsewhere."""
    torch.manual_seed(0)
    x = torch.randn(2, 3, 4, 4, dtype=torch.float64) * 2
    x = (x + 0.05 * x.sign()).requires_grad_(True)  # keep |out| away from the clamp's kink at 1
    b = torch.randn(3, dtype=torch.float64, requires_grad=True)
    ref = (F.leaky_relu(x + b.view(1, 3, 1, 1), 0.2) * SQRT2).clamp(-1.0, 1.0)
    out = fused_leaky_relu(x, b, clamp=1.0)
    torch.testing.assert_close(out, ref)
    assert (out.abs() == 1).any() and (out.abs() < 1).any()
    (g,) = torch.autograd.grad(out.sum(), x)
    torch.testing.assert_close(g, torch.autograd.grad(ref.sum(), x)[0])
    assert torch.all(g[out.abs() == 1] == 0)
    assert torch.autograd.gradgradcheck(lambda x, b: fused_leaky_relu(x, b, clamp=1.0), (x, b))


def test_fused_leaky_relu_keeps_layout_and_dtype():
    x = torch.randn(2, 8, 4, 4).contiguous(memory_format=torch.channels_last).bfloat16()
    out = fused_leaky_relu(x, torch.zeros(8))
    assert out.dtype == torch.bfloat16 and out.is_contiguous(memory_format=torch.channels_last)


@pytest.mark.parametrize("kernel_size", [1, 3])
@pytest.mark.parametrize("size", [8, 9])
def test_downsampling_conv_layer_is_blur_then_stride_2_conv(kernel_size, size):
    """Outputs and input gradients equal the definition: blur every pixel, then a stride-2 conv
    (the 1x1 layer blurs with the stride itself)."""
    torch.manual_seed(0)
    layer = ConvLayer(3, 4, kernel_size, downsample=True, bias=False, activate=False).double()
    x = torch.randn(2, 3, size, size + 1, dtype=torch.float64, requires_grad=True)
    p = 2 + kernel_size - 1
    ref_x = x.detach().clone().requires_grad_(True)
    blurred = upfirdn2d(ref_x, make_kernel([1, 3, 3, 1]).double(), pad=((p + 1) // 2, p // 2))
    ref = F.conv2d(blurred, layer[1].weight * layer[1].scale, stride=2)
    out = layer(x)
    assert out.shape == ref.shape
    torch.testing.assert_close(out, ref, rtol=0, atol=1e-12)
    g = torch.randn_like(ref)
    out.backward(g)
    ref.backward(g)
    torch.testing.assert_close(x.grad, ref_x.grad, rtol=0, atol=1e-12)


def test_resblock_halves_resolution_and_changes_channels():
    block = ResBlock(8, 16)
    assert block(torch.randn(2, 8, 16, 16)).shape == (2, 16, 8, 8)


def test_equal_linear_activation_applies_bias_on_the_feature_axis_of_any_rank():
    torch.manual_seed(0)
    layer = EqualLinear(6, 5, bias_init=0.3, activation="fused_lrelu")
    x = torch.randn(2, 7, 6)  # [B, T, D]
    expected = F.leaky_relu(x @ (layer.weight / math.sqrt(6)).T + 0.3, 0.2) * math.sqrt(2)
    assert torch.allclose(layer(x), expected, atol=1e-6)
    assert torch.allclose(layer(x[0]), expected[0], atol=1e-6)
