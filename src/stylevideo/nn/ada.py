"""Adaptive discriminator augmentation (ADA) for images and videos.

Karras et al., "Training Generative Adversarial Networks with Limited Data" (NeurIPS 2020):
the `bgc` pipeline (pixel blitting, general geometric and colour transforms, section 2.3 and
appendix B) and the r_t overfitting heuristic that adapts the augmentation probability p
(section 3). StyleInV (appendix F) uses `bgc` with target 0.6, one transform per video,
applied identically to all its frames; this module does that for `[B, T, C, H, W]` input.

Probabilities, strengths and the order of composition follow NVlabs' stylegan2-ada-pytorch
(`training/augment.py`, `training/training_loop.py`). Pure PyTorch, differentiable with
respect to the images (also twice, for R1 through the augmentation).
"""

from __future__ import annotations

import math

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import Tensor, nn

from stylevideo.nn.layers import depthwise_fir

__all__ = ["PRESETS", "AdaptiveAugment", "AugmentPipe"]

# ADA's augmentation pipelines (train.py --augpipe): the transforms each one enables.
_BLIT = ("xflip", "rotate90", "xint")
_GEOM = ("scale", "rotate", "aniso", "xfrac")
_COLOR = ("brightness", "contrast", "lumaflip", "hue", "saturation")
PRESETS: dict[str, tuple[str, ...]] = {
    "blit": _BLIT,
    "geom": _GEOM,
    "color": _COLOR,
    "bg": _BLIT + _GEOM,
    "bgc": _BLIT + _GEOM + _COLOR,
}

# Daubechies symlet-6 low-pass filter: ADA's anti-aliasing filter for geometric transforms.
_SYM6 = (
    0.015404109327027373,
    0.0034907120842174702,
    -0.11799011114819057,
    -0.048311742585633,
    0.4910559419267466,
    0.787641141030194,
    0.3379294217276218,
    -0.07263752278646252,
    -0.021060292512300564,
    0.04472490177066578,
    0.0017677118642428036,
    -0.007800708325034148,
)
_PAD = len(_SYM6) // 4  # border (input pixels) the 2x-oversampled domain is extended by: 3
# Content shift (input pixels) of sym6 up/down-sampling, from the filter's centroid (its delay
# at low frequencies); transforms are centred on it. ADA assumes half an oversampled pixel.
_DELAY = ((len(_SYM6) - 1) / 2 - sum(i * c for i, c in enumerate(_SYM6)) / sum(_SYM6)) / 2


def _affine(a, b, c, d, e, f, like: Tensor) -> Tensor:
    """Batched homogeneous 2-D matrices [[a, b, c], [d, e, f], [0, 0, 1]] shaped like `like`."""
    vals = [torch.as_tensor(v, dtype=like.dtype, device=like.device) for v in (a, b, c, d, e, f)]
    vals = [v.expand_as(like) for v in vals]
    zero, one = torch.zeros_like(like), torch.ones_like(like)
    return torch.stack([*vals, zero, zero, one], -1).view(-1, 3, 3)


def _rotate(theta: Tensor) -> Tensor:
    cos, sin = torch.cos(theta), torch.sin(theta)
    return _affine(cos, -sin, 0, sin, cos, 0, like=theta)


def _mirror(coord: Tensor, half: float) -> Tensor:
    """Reflect coordinates (centred, pixel units) into [-half, half], mirroring at the edges."""
    return half - ((coord + half).remainder(4 * half) - 2 * half).abs()


def _mirror_index(n: int, pad: int, dev: torch.device) -> Tensor:
    """Indices of a length-n axis padded by `pad` with symmetric (half-sample) mirroring."""
    i = torch.arange(-pad, n + pad, device=dev).remainder(2 * n)
    return torch.where(i < n, i, 2 * n - 1 - i)


class _Warp(torch.autograd.Function):
    """``F.grid_sample(x, grid)`` (bilinear, border, align_corners=False) for a ``grid`` that needs
    no gradient, differentiable twice with respect to ``x``.

    R1 on augmented reals differentiates D's input gradient through the warp, and CUDA has no
    derivative of ``grid_sampler_2d_backward``. The warp is linear in ``x``: its backward is the
    adjoint warp (:class:`_WarpAdjoint`), whose own backward is the warp again.
    """

    @staticmethod
    def forward(ctx, x: Tensor, grid: Tensor) -> Tensor:
        ctx.save_for_backward(grid)
        ctx.shape = x.shape
        return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor, None]:
        (grid,) = ctx.saved_tensors
        return _WarpAdjoint.apply(grad, grid, ctx.shape), None


class _WarpAdjoint(torch.autograd.Function):
    """The transpose of :class:`_Warp` (its input gradient), applied to ``grad``."""

    @staticmethod
    def forward(ctx, grad: Tensor, grid: Tensor, shape: torch.Size) -> Tensor:
        ctx.save_for_backward(grid)
        unused_input = grad.new_zeros(shape)  # the input gradient of a bilinear warp never reads it
        bilinear, border = 0, 1
        return torch.ops.aten.grid_sampler_2d_backward(
            grad.contiguous(), unused_input, grid, bilinear, border, False, [True, False]
        )[0]

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor, None, None]:
        (grid,) = ctx.saved_tensors
        return _Warp.apply(grad, grid), None, None


class AugmentPipe(nn.Module):
    """ADA augmentation pipeline; `AugmentPipe.preset("bgc")` is the paper's default.

    Each constructor weight (1/0 as in ADA) multiplies the overall probability `p` (a buffer,
    saved in checkpoints) to give the per-sample probability of that transform. Geometric
    transforms (xflip, rotate90, xint, scale, rotate, aniso, xfrac) are composed into one
    3x3 matrix per sample and applied with one resampling; colour transforms (brightness,
    contrast, lumaflip, hue, saturation) into one 4x4 colour matrix. Images are `[B, C, H, W]`;
    for videos `[B, T, C, H, W]` one transform is drawn per video and applied to all T frames
    (frames are folded into channels, no loop). With p = 0 the input is returned unchanged.

    Resampling follows ADA: 2x upsampling with the sym6 wavelet, bilinear sampling, sym6
    downsampling. Deviations: (1) out-of-image samples mirror symmetrically (about the pixel
    edge) at any distance, instead of ADA's batch-dependent `reflect` padding (at most one
    image size, zeros beyond): shapes stay static (no device sync) and corners never go black;
    (2) transforms are centred on sym6's measured delay (0.2009 px, its centroid) instead of
    ADA's half oversampled pixel (0.25 px), so flips and 90-degree rotations carry no
    sub-pixel shift (ADA's leave 0.1 px); fine detail is still softened by the filter's
    asymmetry, as in ADA. The identity and integer translations are exact.
    Matrix and pixel maths run in float32 (float64 for float64 input) with autocast off.
    """

    def __init__(
        self,
        xflip: float = 0.0,
        rotate90: float = 0.0,
        xint: float = 0.0,
        scale: float = 0.0,
        rotate: float = 0.0,
        aniso: float = 0.0,
        xfrac: float = 0.0,
        brightness: float = 0.0,
        contrast: float = 0.0,
        lumaflip: float = 0.0,
        hue: float = 0.0,
        saturation: float = 0.0,
        *,
        p: float = 0.0,
        xint_max: float = 0.125,
        scale_std: float = 0.2,
        rotate_max: float = 1.0,
        aniso_std: float = 0.2,
        xfrac_std: float = 0.125,
        brightness_std: float = 0.2,
        contrast_std: float = 0.5,
        hue_max: float = 1.0,
        saturation_std: float = 1.0,
    ) -> None:
        super().__init__()
        # Probability weights (multiplied by p), then strengths; names and defaults as in ADA.
        self.xflip, self.rotate90, self.xint = float(xflip), float(rotate90), float(xint)
        self.scale, self.rotate = float(scale), float(rotate)
        self.aniso, self.xfrac = float(aniso), float(xfrac)
        self.brightness, self.contrast = float(brightness), float(contrast)
        self.lumaflip, self.hue, self.saturation = float(lumaflip), float(hue), float(saturation)
        self.xint_max, self.scale_std, self.rotate_max = xint_max, scale_std, rotate_max
        self.aniso_std, self.xfrac_std, self.brightness_std = aniso_std, xfrac_std, brightness_std
        self.contrast_std, self.hue_max, self.saturation_std = contrast_std, hue_max, saturation_std
        self.register_buffer("p", torch.tensor(float(p)))
        f = torch.tensor(_SYM6, dtype=torch.float64)
        self.register_buffer("sym6", (f / f.sum()).float(), persistent=False)
        self._p_key: tuple[int, int] | None = None
        self._p_host = 0.0

    def extra_repr(self) -> str:
        on = [f"{n}={getattr(self, n):g}" for n in PRESETS["bgc"] if getattr(self, n) > 0]
        return ", ".join(on) or "no transforms"

    @classmethod
    def preset(cls, name: str = "bgc", **kwargs) -> AugmentPipe:
        """ADA's named pipelines: blit, geom, color, bg, bgc (`kwargs` override strengths/p)."""
        if name not in PRESETS:
            raise ValueError(f"unknown augmentation pipe {name!r}; expected one of {list(PRESETS)}")
        return cls(**{**dict.fromkeys(PRESETS[name], 1.0), **kwargs})

    @classmethod
    def bgc(cls, **kwargs) -> AugmentPipe:
        """The `bgc` pipe (ADA's default; StyleInV appendix F)."""
        return cls.preset("bgc", **kwargs)

    def _p_value(self) -> float:
        """p on the host, re-read only after the buffer changed (no device sync per call)."""
        key = (self.p.data_ptr(), self.p._version)
        if key != self._p_key:
            self._p_key, self._p_host = key, float(self.p)
        return self._p_host

    def forward(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Augment images `[B,C,H,W]` or videos `[B,T,C,H,W]` (one transform per video)."""
        if x.ndim not in (4, 5):
            raise ValueError(f"expected images [B,C,H,W] or videos [B,T,C,H,W], got {tuple(x.shape)}")
        if self._p_value() == 0.0:
            return x
        with torch.autocast(x.device.type, enabled=False):
            return self._augment(x, generator).to(x.dtype)

    def _gate(self, value: Tensor, weight: float | Tensor, neutral: float, gen) -> Tensor:
        """Per sample: `value` with probability `weight`, else `neutral`."""
        keep = torch.rand(value.shape[0], device=value.device, generator=gen) < weight
        return torch.where(keep.view(-1, *[1] * (value.ndim - 1)), value, neutral)

    def _geometry(self, b: int, h: int, w: int, gen, dev) -> Tensor:
        """Inverse transform (output pixel -> input pixel, centred pixel units), [B,3,3]."""
        rand = lambda *s: torch.rand(b, *s, device=dev, generator=gen)  # noqa: E731
        randn = lambda *s: torch.randn(b, *s, device=dev, generator=gen)  # noqa: E731
        p = self.p
        g = torch.eye(3, device=dev).expand(b, 3, 3)
        if self.xflip > 0:
            i = self._gate(torch.floor(rand() * 2), self.xflip * p, 0.0, gen)
            g = g @ _affine(1 - 2 * i, 0, 0, 0, 1, 0, like=i)
        if self.rotate90 > 0:
            i = self._gate(torch.floor(rand() * 4), self.rotate90 * p, 0.0, gen)
            g = g @ _rotate(math.pi / 2 * i)
        if self.xint > 0:
            t = self._gate((rand(2) * 2 - 1) * self.xint_max, self.xint * p, 0.0, gen)
            tx, ty = torch.round(t[:, 0] * w), torch.round(t[:, 1] * h)
            g = g @ _affine(1, 0, -tx, 0, 1, -ty, like=tx)
        if self.scale > 0:
            s = self._gate(torch.exp2(randn() * self.scale_std), self.scale * p, 1.0, gen)
            g = g @ _affine(1 / s, 0, 0, 0, 1 / s, 0, like=s)
        p_rot = 1 - torch.sqrt((1 - self.rotate * p).clamp(0, 1))  # P(pre or post rotation) = p
        for pre in (True, False):  # rotation before and after anisotropic scaling
            if self.rotate > 0:
                theta = self._gate((rand() * 2 - 1) * math.pi * self.rotate_max, p_rot, 0.0, gen)
                g = g @ _rotate(theta)
            if pre and self.aniso > 0:
                s = self._gate(torch.exp2(randn() * self.aniso_std), self.aniso * p, 1.0, gen)
                g = g @ _affine(1 / s, 0, 0, 0, s, 0, like=s)
        if self.xfrac > 0:
            t = self._gate(randn(2) * self.xfrac_std, self.xfrac * p, 0.0, gen)
            g = g @ _affine(1, 0, -t[:, 0] * w, 0, 1, -t[:, 1] * h, like=t[:, 0])
        return g

    def _colour(self, b: int, rgb: bool, gen, dev) -> Tensor:
        """Colour transform C (homogeneous: C @ [r, g, b, 1]), [B,4,4]; hue/saturation RGB only."""
        rand = lambda *s: torch.rand(b, *s, device=dev, generator=gen)  # noqa: E731
        randn = lambda *s: torch.randn(b, *s, device=dev, generator=gen)  # noqa: E731
        m = lambda s: s.view(b, 1, 1)  # noqa: E731
        p, eye = self.p, torch.eye(4, device=dev)
        rgb3 = torch.diag(torch.tensor([1.0, 1.0, 1.0, 0.0], device=dev))  # the colour block
        v = rgb3.diagonal() / math.sqrt(3)  # luma axis
        vv, w1 = torch.outer(v, v), eye - rgb3
        offset = torch.zeros(4, 4, device=dev)
        offset[:3, 3] = 1.0
        cross = torch.zeros(4, 4, device=dev)  # cross-product matrix of v
        cross[:3, :3] = torch.tensor([[0.0, -1.0, 1.0], [1.0, 0.0, -1.0], [-1.0, 1.0, 0.0]], device=dev) * v[0]
        c = eye.expand(b, 4, 4)
        if self.brightness > 0:
            s = self._gate(randn() * self.brightness_std, self.brightness * p, 0.0, gen)
            c = (eye + m(s) * offset) @ c
        if self.contrast > 0:
            s = self._gate(torch.exp2(randn() * self.contrast_std), self.contrast * p, 1.0, gen)
            c = (rgb3 * m(s) + w1) @ c
        if self.lumaflip > 0:
            i = self._gate(torch.floor(rand() * 2), self.lumaflip * p, 0.0, gen)
            c = (eye - 2 * vv * m(i)) @ c  # Householder reflection of the luma axis
        if rgb and self.hue > 0:
            theta = self._gate((rand() * 2 - 1) * math.pi * self.hue_max, self.hue * p, 0.0, gen)
            c = (eye + (m(theta.cos()) - 1) * (rgb3 - vv) + m(theta.sin()) * cross) @ c
        if rgb and self.saturation > 0:
            s = self._gate(torch.exp2(randn() * self.saturation_std), self.saturation * p, 1.0, gen)
            c = (vv + (rgb3 - vv) * m(s) + w1) @ c
        return c

    def _resample(self, x: Tensor, g_inv: Tensor) -> Tensor:
        """Warp x [B,C,H,W] by the inverse transforms [B,3,3] in a 2x-oversampled domain."""
        b, ch, h, w = x.shape
        k, dev = len(_SYM6), x.device
        f = self.sym6.to(x.dtype)
        # Mirror-pad by 2*_PAD, upsample 2x (sym6, gain 2 per axis) and keep the exact part:
        # the image plus a _PAD border, at twice the resolution.
        x = x[:, :, _mirror_index(h, 2 * _PAD, dev)][..., _mirror_index(w, 2 * _PAD, dev)]
        crop = k - 1  # drops the taps that saw no padded input, aligned as in ADA's upfirdn2d
        fx, fy = f.view(1, 1, 1, k).expand(ch, 1, 1, k), f.view(1, 1, k, 1).expand(ch, 1, k, 1)
        x = depthwise_fir(x, 2 * fx, stride=(1, 2), padding=(0, crop), transposed=True)
        x = depthwise_fir(x, 2 * fy, stride=(2, 1), padding=(crop, 0), transposed=True)
        # Output grid over the same bordered domain; beyond it, mirror into the image.
        hh, hw = h / 2 + _PAD, w / 2 + _PAD
        theta = g_inv @ _affine(hw, 0, _DELAY, 0, hh, _DELAY, like=g_inv.new_ones(1))
        size = [b, 1, 2 * h + 4 * _PAD, 2 * w + 4 * _PAD]
        gx, gy = F.affine_grid(theta[:, :2], size, align_corners=False).unbind(-1)
        gx = (torch.where(gx.abs() <= hw, gx, _mirror(gx, w / 2)) - _DELAY) / hw
        gy = (torch.where(gy.abs() <= hh, gy, _mirror(gy, h / 2)) - _DELAY) / hh
        grid = torch.stack([gx, gy], -1)
        x = _Warp.apply(x, grid.detach())
        # Downsample 2x with sym6 back to H x W.
        x = depthwise_fir(x[:, :, 1:, 1:], fx, stride=(1, 2))
        return depthwise_fir(x, fy, stride=(2, 1))

    def _augment(self, x: Tensor, gen) -> Tensor:
        video = x.ndim == 5
        b, t = x.shape[0], x.shape[1] if video else 1
        ch, h, w = x.shape[-3:]
        dtype = torch.float64 if x.dtype == torch.float64 else torch.float32
        y = x.to(dtype).reshape(b, t * ch, h, w)  # a video's frames share one warp
        if any(getattr(self, name) > 0 for name in _BLIT + _GEOM):
            y = self._resample(y, self._geometry(b, h, w, gen, x.device).to(dtype))
        if any(getattr(self, name) > 0 for name in _COLOR):
            if ch not in (1, 3):
                raise ValueError(f"colour augmentation needs RGB or grey images, got {ch} channels")
            c = self._colour(b, ch == 3, gen, x.device).to(dtype).repeat_interleave(t, 0)
            y = y.reshape(b * t, ch, h * w)  # the video's colour matrix for each of its frames
            if ch == 3:
                y = torch.baddbmm(c[:, :3, 3:], c[:, :3, :3], y)
            else:  # grey: the mean response of the three colour rows, as in ADA
                c = c[:, :3].mean(1)
                y = torch.addcmul(c[:, 3, None, None], y, c[:, :3].sum(-1)[:, None, None])
        return y.reshape(x.shape)


class AdaptiveAugment(nn.Module):
    """ADA's p controller around an `AugmentPipe` (Karras et al. 2020, section 3).

    Augment every image or video D sees with `ada(x)` (reals and fakes, in the D and G steps),
    and call `update(real_logits)` once per discriminator step with D's outputs on the
    augmented real batch. Every `interval` calls, r_t = E[sign(D(real))] over those calls and
    all DDP ranks, and p <- clamp(p + sign(r_t - target) * N / (ada_kimg * 1000), 0, 1), where
    N counts the real samples (first dimension of `real_logits`) seen over the interval on all
    ranks: ADA's `batch_size * ada_interval` with the global batch size. Under DDP every rank
    calls `update` at the same steps; the (sum, count, N) triple is all-reduced, so all ranks
    keep the same p. `update` never waits for the device (the pipe reads p on the host once
    after each change). ADA clamps p only at 0; here also at 1.

    The accumulators live outside the buffers (DDP would broadcast rank 0's over the others)
    and travel through `state_dict` as extra state with the call counter (a checkpoint holds
    rank 0's partial window); p and r_t are buffers.
    """

    def __init__(
        self,
        pipe: AugmentPipe | None = None,
        *,
        target: float = 0.6,
        interval: int = 4,
        ada_kimg: float = 500.0,
    ) -> None:
        super().__init__()
        self.pipe = AugmentPipe.bgc() if pipe is None else pipe
        self.target, self.interval, self.ada_kimg = float(target), int(interval), float(ada_kimg)
        self.register_buffer("r_t", torch.zeros(()))
        self._accum = torch.zeros(3)  # sum of signs, number of signs, number of samples
        self._calls = 0

    @property
    def p(self) -> Tensor:
        return self.pipe.p

    def forward(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Augment with the current p (see `AugmentPipe.forward`)."""
        return self.pipe(x, generator)

    @torch.no_grad()
    def update(self, real_logits: Tensor) -> bool:
        """Accumulate sign(D(real)); every `interval` calls adjust p and return True."""
        if real_logits.ndim == 0:
            raise ValueError("real_logits must have a batch dimension")
        signs = real_logits.detach().float().sign()
        self._accum = self._accum.to(signs.device)
        self._accum[0] += signs.sum()
        self._accum[1] += signs.numel()
        self._accum[2] += len(signs)
        self._calls += 1
        if self._calls % self.interval:
            return False
        if dist.is_available() and dist.is_initialized():
            dist.all_reduce(self._accum)
        sign_sum, count, samples = self._accum
        self.r_t.copy_(sign_sum / count.clamp(min=1))
        adjust = torch.sign(self.r_t - self.target) * samples / (self.ada_kimg * 1000)
        self.p.copy_((self.p + adjust).clamp(0, 1))
        self._accum.zero_()
        return True

    def get_extra_state(self) -> dict:
        return {"accum": self._accum.cpu(), "calls": self._calls}

    def set_extra_state(self, state: dict) -> None:
        self._accum, self._calls = state["accum"].to(self.r_t.device), int(state["calls"])
