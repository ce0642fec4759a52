"""Equalized-learning-rate layers and FIR resampling shared by the StyleGAN2 family.

Karras et al., "Analyzing and Improving the Image Quality of StyleGAN" (CVPR 2020) and
"Progressive Growing of GANs" (equalized learning rate, section 4.1). Parameter names and
shapes follow the rosinality StyleGAN2 PyTorch layout, which the onestyle, LIA,
VidStyleODE and pSp checkpoints all use, so their weights load by renaming alone.

Up/down-sampling filters run as depthwise convolutions (one kernel per channel, all
channels in one call), never as single-channel convolutions over a reshaped batch, and
differentiate through their adjoint filter (:func:`depthwise_fir`), so that R1 and path
length regularisation never form the filter's weight gradient.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "Blur",
    "ConvLayer",
    "Downsample",
    "EqualConv2d",
    "EqualLinear",
    "FusedLeakyReLU",
    "PixelNorm",
    "ResBlock",
    "Upsample",
    "fused_leaky_relu",
    "make_kernel",
    "depthwise_fir",
    "upfirdn2d",
]

SQRT2 = math.sqrt(2.0)


def make_kernel(k: Sequence[float]) -> torch.Tensor:
    """A normalised 2-D FIR kernel (the outer product of a 1-D one)."""
    k = torch.as_tensor(k, dtype=torch.float32)
    if k.ndim == 1:
        k = k[None, :] * k[:, None]
    return k / k.sum()


def depthwise_fir(
    x: torch.Tensor,
    weight: torch.Tensor,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    transposed: bool = False,
    output_padding: tuple[int, int] = (0, 0),
) -> torch.Tensor:
    """``F.conv2d`` (or ``F.conv_transpose2d``) of ``x [B, C, H, W]`` with a fixed filter per
    channel (``weight [C, 1, kh, kw]``, ``groups = C``), differentiable to any order in ``x``.

    Its gradient is the adjoint filter through this same function, so a double backward (R1,
    path length) is again one depthwise convolution. torch's own double backward of a grouped
    convolution forms the weight gradient too, one convolution per channel, with the feature
    map as the kernel: the constant filter needs none of it.
    """
    if weight.requires_grad:
        raise ValueError("depthwise_fir filters with a constant weight; it got one that requires grad")
    return _DepthwiseFIR.apply(x, weight, _pair(stride), _pair(padding), transposed, _pair(output_padding))


def _pair(v: int | Sequence[int]) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else (int(v[0]), int(v[1]))


class _DepthwiseFIR(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight, stride, padding, transposed, output_padding):
        ctx.save_for_backward(weight)
        ctx.conf = stride, padding, transposed, tuple(x.shape[-2:])
        if transposed:
            return F.conv_transpose2d(x, weight, None, stride, padding, output_padding, groups=x.shape[1])
        return F.conv2d(x, weight, None, stride, padding, groups=x.shape[1])

    @staticmethod
    def backward(ctx, grad):
        (weight,) = ctx.saved_tensors
        stride, padding, transposed, size = ctx.conf
        weight = weight.to(grad.dtype)
        if transposed:  # the adjoint of a transposed convolution is the convolution
            return depthwise_fir(grad, weight, stride, padding), None, None, None, None, None
        k = weight.shape[-2:]
        # the transposed convolution back to the input's size (the rows the stride skipped)
        extra = tuple(size[i] - ((grad.shape[2 + i] - 1) * stride[i] - 2 * padding[i] + k[i]) for i in range(2))
        return depthwise_fir(grad, weight, stride, padding, True, extra), None, None, None, None, None


def upfirdn2d(
    x: torch.Tensor, kernel: torch.Tensor, up: int = 1, down: int = 1, pad: tuple[int, int] = (0, 0)
) -> torch.Tensor:
    """Upsample by zero insertion, pad, convolve with ``kernel`` (true convolution), downsample.

    ``pad = (before, after)`` applies to both spatial axes, as in StyleGAN2. The filter
    is a depthwise convolution over all channels at once; a symmetric pad is the
    convolution's own zero padding (no padded copy of the input).
    """
    b, c, h, w = x.shape
    if up > 1:
        x = x.reshape(b, c, h, 1, w, 1)
        x = F.pad(x, (0, up - 1, 0, 0, 0, up - 1))
        x = x.reshape(b, c, h * up, w * up)
    p0, p1 = pad
    if p0 < 0 or p1 < 0:
        raise ValueError(f"upfirdn2d takes non-negative padding, got {pad}")
    if p0 != p1:
        x, p0 = F.pad(x, (p0, p1, p0, p1)), 0
    weight = torch.flip(kernel, (0, 1)).to(x.dtype)[None, None].expand(c, 1, *kernel.shape)
    return depthwise_fir(x, weight, stride=down, padding=p0)


class Blur(nn.Module):
    """FIR low-pass filter with explicit padding (``upsample_factor`` keeps the DC gain after zero insertion).

    ``down`` keeps every ``down``-th output pixel only, computing no others.
    """

    def __init__(self, kernel: Sequence[float], pad: tuple[int, int], upsample_factor: int = 1, down: int = 1):
        super().__init__()
        self.register_buffer("kernel", make_kernel(kernel) * upsample_factor**2, persistent=False)
        self.pad = pad
        self.down = down

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return upfirdn2d(x, self.kernel, down=self.down, pad=self.pad)


class Upsample(nn.Module):
    """2x upsampling: zero insertion followed by the FIR filter."""

    def __init__(self, kernel: Sequence[float], factor: int = 2):
        super().__init__()
        self.factor = factor
        self.register_buffer("kernel", make_kernel(kernel) * factor**2, persistent=False)
        p = self.kernel.shape[0] - factor
        self.pad = ((p + 1) // 2 + factor - 1, p // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return upfirdn2d(x, self.kernel, up=self.factor, pad=self.pad)


class Downsample(nn.Module):
    """2x downsampling: the FIR filter followed by decimation."""

    def __init__(self, kernel: Sequence[float], factor: int = 2):
        super().__init__()
        self.factor = factor
        self.register_buffer("kernel", make_kernel(kernel), persistent=False)
        p = self.kernel.shape[0] - factor
        self.pad = ((p + 1) // 2, p // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return upfirdn2d(x, self.kernel, down=self.factor, pad=self.pad)


class PixelNorm(nn.Module):
    """Normalise each vector to unit second moment (the mapping network's input)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + 1e-8)


def fused_leaky_relu(
    x: torch.Tensor,
    bias: torch.Tensor | None = None,
    negative_slope: float = 0.2,
    scale: float = SQRT2,
    clamp: float | None = None,
) -> torch.Tensor:
    """``leaky_relu(x + bias) * sqrt(2)``: bias and activation with StyleGAN's gain, then
    clamped to ``[-clamp, clamp]`` when ``clamp`` is set (StyleGAN2-ADA's ``conv_clamp``).

    One new tensor, written in place (bias, activation, gain, clamp), and only that output is
    kept for the backward, whose gradient ``grad * scale * (1 if out > 0 else slope)`` (zero
    where clamped) is again differentiable (R1 and path length differentiate through it);
    StyleGAN2-ADA's ``bias_act`` does the same on the GPU.
    """
    if bias is not None:
        bias = bias.view(1, -1, *([1] * (x.ndim - 2))).to(x.dtype)
    return _BiasLeakyReLU.apply(x, bias, negative_slope, scale, clamp)


class _BiasLeakyReLU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, bias, negative_slope, scale, clamp):
        out = x + bias if bias is not None else x.clone()
        out = F.leaky_relu_(out, negative_slope).mul_(scale)
        if clamp is not None:
            out.clamp_(-clamp, clamp)
        ctx.save_for_backward(out)
        ctx.conf = negative_slope, scale, bias is not None, clamp
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        negative_slope, scale, has_bias, clamp = ctx.conf
        out = out.detach()
        # the activation's derivative at out (its sign is that of x + bias): a.e. constant in x
        grad_x = torch.ops.aten.leaky_relu_backward(grad, out, negative_slope, True).mul_(scale)
        if clamp is not None:
            grad_x = grad_x * (out.abs() < clamp).to(grad_x.dtype)
        grad_bias = grad_x.sum([d for d in range(grad.ndim) if d != 1], keepdim=True) if has_bias else None
        return grad_x, grad_bias, None, None, None


class FusedLeakyReLU(nn.Module):
    """Per-channel bias, leaky ReLU (0.2) and gain sqrt(2); outputs clamped to ``+-clamp`` if set."""

    def __init__(
        self,
        channels: int,
        bias: bool = True,
        negative_slope: float = 0.2,
        scale: float = SQRT2,
        clamp: float | None = None,
    ):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(channels)) if bias else None
        self.negative_slope = negative_slope
        self.scale = scale
        self.clamp = clamp

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return fused_leaky_relu(x, self.bias, self.negative_slope, self.scale, self.clamp)


class EqualConv2d(nn.Module):
    """Conv2d with equalized learning rate: weights ~ N(0, 1), scaled by 1/sqrt(fan_in) at run time."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        padding: int = 0,
        bias: bool = True,
    ):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.scale = 1 / math.sqrt(in_channels * kernel_size**2)
        self.stride = stride
        self.padding = padding
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.scale, self.bias, stride=self.stride, padding=self.padding)

    def extra_repr(self) -> str:
        o, i, k, _ = self.weight.shape
        return f"{i}, {o}, kernel_size={k}, stride={self.stride}, padding={self.padding}"


class EqualLinear(nn.Module):
    """Linear layer with equalized learning rate and a learning-rate multiplier.

    Weights are stored as ``N(0, 1) / lr_mul`` and scaled by ``lr_mul / sqrt(in_dim)`` at
    run time, so Adam's effective step on this layer is ``lr * lr_mul`` (the mapping
    network uses 0.01). ``activation="fused_lrelu"`` applies bias + leaky ReLU + sqrt(2).
    """

    def __init__(
        self,
        in_dim: int,
        out_dim: int,
        bias: bool = True,
        bias_init: float = 0.0,
        lr_mul: float = 1.0,
        activation: str | None = None,
    ):
        super().__init__()
        if activation not in (None, "fused_lrelu"):
            raise ValueError(f"activation must be None or 'fused_lrelu', got {activation!r}")
        self.weight = nn.Parameter(torch.randn(out_dim, in_dim).div_(lr_mul))
        self.bias = nn.Parameter(torch.full((out_dim,), float(bias_init))) if bias else None
        self.activation = activation
        self.scale = lr_mul / math.sqrt(in_dim)
        self.lr_mul = lr_mul

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        bias = self.bias * self.lr_mul if self.bias is not None else None
        out = F.linear(x, self.weight * self.scale, bias)  # bias on the last axis: works for [..., D]
        return fused_leaky_relu(out) if self.activation else out

    def extra_repr(self) -> str:
        return f"{self.weight.shape[1]}, {self.weight.shape[0]}, lr_mul={self.lr_mul}"


class ConvLayer(nn.Sequential):
    """[Blur] -> EqualConv2d -> [FusedLeakyReLU]; ``downsample`` halves the resolution.

    Downsampling convolves the blurred input with stride 2; a 1x1 convolution reads only
    every other blurred pixel, so there the blur itself takes the stride (same outputs, a
    quarter of the filtering and a stride-1 convolution). ``clamp`` bounds the activation's
    output (StyleGAN2-ADA's ``conv_clamp``).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        downsample: bool = False,
        blur_kernel: Sequence[float] = (1, 3, 3, 1),
        bias: bool = True,
        activate: bool = True,
        clamp: float | None = None,
    ):
        layers: list[nn.Module] = []
        if downsample:
            p = (len(blur_kernel) - 2) + (kernel_size - 1)
            blur_stride = 2 if kernel_size == 1 else 1
            layers.append(Blur(blur_kernel, pad=((p + 1) // 2, p // 2), down=blur_stride))
            stride, padding = 2 // blur_stride, 0
        else:
            stride, padding = 1, kernel_size // 2
        layers.append(
            EqualConv2d(
                in_channels, out_channels, kernel_size, stride=stride, padding=padding, bias=bias and not activate
            )
        )
        if activate:
            layers.append(FusedLeakyReLU(out_channels, bias=bias, clamp=clamp))
        elif clamp is not None:
            raise ValueError("ConvLayer clamps the activation's output; it has none (activate=False)")
        super().__init__(*layers)


class ResBlock(nn.Module):
    """Residual downsampling block of the StyleGAN2 discriminator: ``(conv path + skip) / sqrt(2)``.

    ``clamp`` bounds both convolutions of the conv path before the division (StyleGAN2-ADA
    clamps ``conv1`` at ``conv_clamp / sqrt(2)`` after the division: the same), not the skip.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        blur_kernel: Sequence[float] = (1, 3, 3, 1),
        clamp: float | None = None,
    ):
        super().__init__()
        self.conv1 = ConvLayer(in_channels, in_channels, 3, clamp=clamp)
        self.conv2 = ConvLayer(in_channels, out_channels, 3, downsample=True, blur_kernel=blur_kernel, clamp=clamp)
        self.skip = ConvLayer(
            in_channels, out_channels, 1, downsample=True, blur_kernel=blur_kernel, activate=False, bias=False
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.conv2(self.conv1(x)) + self.skip(x)) / SQRT2
