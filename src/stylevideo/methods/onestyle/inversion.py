"""Temporal GAN inversion (section 5.4, Eq. 5) and pivotal tuning (Roich et al. 2021).

``m* = argmin_m sum_t L(I(t), G([w_c, m * v(t)]))`` with ``L`` = LPIPS + MSE, the content
``w_c`` fixed by the known actor and action: one motion style vector for a whole real
clip. The authors' projector minimises ``sum_t LPIPS_t + 100 * mean_t MSE_t`` (LPIPS-VGG,
``--mse 100``): Eq. 5's sum with the MSE weighted ``100 / N`` for ``N`` frames, the default
``mse_weight`` here. The optimisation follows the authors' projector: Adam from the mean motion style
(10^4 samples of F_t), learning rate 0.1 with a cosine ramp-down over the last quarter and
a linear ramp-up over the first 5% of the steps, and Gaussian noise on ``m`` whose strength
(5% of the spread of ``m``) decays to zero at 75% of the steps. Only ``m`` is optimised
(the synthesis noise is the generator's constant noise). Pivotal tuning then fine-tunes
the synthesis network with ``m*`` fixed, on the same loss.

Frames are processed ``chunk`` at a time with gradients accumulated, so memory does not
grow with the clip length (the paper stopped at N = 120 frames for memory).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from stylevideo.methods.onestyle.generator import OneStyleGenerator
from stylevideo.nn.stylegan2 import NoiseMode

__all__ = ["Inversion", "inversion_loss", "invert_motion", "pivotal_tuning"]

Perceptual = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass
class Inversion:
    """An inverted clip: ``m`` ``[k]``, the loss per step, and the loss of ``m`` at the end."""

    m: torch.Tensor
    history: list[float] = field(default_factory=list)
    loss: float = math.nan


def _lr_schedule(progress: float, lr: float, rampup: float, rampdown: float) -> float:
    ramp = min(1.0, (1 - progress) / rampdown) if rampdown > 0 else 1.0
    ramp = 0.5 - 0.5 * math.cos(ramp * math.pi)
    return lr * ramp * (min(1.0, progress / rampup) if rampup > 0 else 1.0)


def _check_clip(generator: OneStyleGenerator, frames: torch.Tensor, t: torch.Tensor) -> None:
    res = generator.resolution
    if frames.ndim != 4 or tuple(frames.shape[1:]) != (3, res, res):
        raise ValueError(
            f"frames must be [N, 3, {res}, {res}] in [-1, 1] (the generator's size), got {tuple(frames.shape)}"
        )
    if t.shape != frames.shape[:1]:
        raise ValueError(f"t must hold one time per frame ({frames.shape[0]}), got shape {tuple(t.shape)}")


def _frame_losses(generator, perceptual, frames, t, m, content, noise_mode, mse_weight, chunk, backward):
    """Eq. 5 summed over the frames, ``chunk`` frames at a time (backward per chunk if asked)."""
    total = 0.0
    for idx in torch.arange(len(frames), device=frames.device).split(chunk or len(frames)):
        fake = generator(t[idx][None], m=m[None], noise_mode=noise_mode, **content)[0]
        real = frames[idx]
        loss = (
            perceptual(fake, real).sum()
            + mse_weight * F.mse_loss(fake, real, reduction="none").mean(dim=(1, 2, 3)).sum()
        )
        if backward:
            loss.backward()
        total = total + loss.detach()
    return total


def inversion_loss(
    generator: OneStyleGenerator,
    perceptual: Perceptual,
    frames: torch.Tensor,
    t: torch.Tensor,
    m: torch.Tensor,
    *,
    content: dict,
    mse_weight: float = 1.0,
    noise_mode: NoiseMode = "const",
    chunk: int | None = 16,
) -> torch.Tensor:
    """``sum_t LPIPS(I(t), G_t) + mse_weight * MSE(I(t), G_t)`` (Eq. 5's objective) at ``m``."""
    with torch.no_grad():
        return _frame_losses(generator, perceptual, frames, t, m, content, noise_mode, mse_weight, chunk, False)


def _content(actor, action, z_c, ramp, device) -> dict:
    def as_ids(v):
        return None if v is None else torch.as_tensor(v, device=device).long().reshape(1)

    z_c = None if z_c is None else torch.as_tensor(z_c, device=device, dtype=torch.float32).reshape(1, -1)
    return {"actor": as_ids(actor), "action": as_ids(action), "z_c": z_c, "ramp": ramp}


def invert_motion(
    generator: OneStyleGenerator,
    frames: torch.Tensor,
    t: torch.Tensor | None = None,
    *,
    perceptual: Perceptual,
    actor: int | None = None,
    action: int | None = None,
    z_c: torch.Tensor | None = None,
    ramp: float = 1.0,
    steps: int = 250,
    lr: float = 0.1,
    mse_weight: float | None = None,
    noise_strength: float = 0.05,
    noise_ramp: float = 0.75,
    lr_rampup: float = 0.05,
    lr_rampdown: float = 0.25,
    num_mean: int = 10000,
    noise_mode: NoiseMode = "const",
    chunk: int | None = 16,
    m_init: torch.Tensor | None = None,
) -> Inversion:
    """Recover the motion style ``m*`` of a real clip ``frames [N, 3, H, W]`` at times ``t [N]``
    (default ``0..N-1``) with its known ``actor``/``action`` (Eq. 5); ``generator`` is unchanged.
    ``perceptual``: LPIPS-VGG (the authors'); ``mse_weight``: each frame's MSE weight (default
    ``100 / N``, the authors' effective weight)."""
    device = frames.device
    mse_weight = 100.0 / len(frames) if mse_weight is None else mse_weight
    t = torch.arange(len(frames), device=device, dtype=torch.float32) if t is None else t.to(device).float()
    _check_clip(generator, frames, t)
    content = _content(actor, action, z_c, ramp, device)
    requires = [p.requires_grad for p in generator.parameters()]
    generator.requires_grad_(False)
    try:
        with torch.no_grad():
            samples = generator.motion_style(torch.randn(num_mean, generator.k, device=device))
            m_mean = samples.mean(0)
            m_std = ((samples - m_mean).pow(2).sum() / num_mean).sqrt()
        m = (m_mean if m_init is None else m_init.to(device).float()).clone().requires_grad_(True)
        opt = torch.optim.Adam([m], lr=lr)
        history = []
        for step in range(steps):
            progress = step / steps
            opt.param_groups[0]["lr"] = _lr_schedule(progress, lr, lr_rampup, lr_rampdown)
            strength = m_std * noise_strength * max(0.0, 1 - progress / noise_ramp) ** 2
            m_noisy = m + torch.randn_like(m) * strength
            opt.zero_grad(set_to_none=True)
            loss = _frame_losses(
                generator,
                perceptual,
                frames,
                t,
                m_noisy,
                content,
                noise_mode,
                mse_weight,
                chunk,
                backward=True,
            )
            opt.step()
            history.append(float(loss))
        m = m.detach()
        final = inversion_loss(
            generator,
            perceptual,
            frames,
            t,
            m,
            content=content,
            mse_weight=mse_weight,
            noise_mode=noise_mode,
            chunk=chunk,
        )
    finally:
        for p, r in zip(generator.parameters(), requires, strict=True):
            p.requires_grad_(r)
    return Inversion(m, history, float(final))


def pivotal_tuning(
    generator: OneStyleGenerator,
    frames: torch.Tensor,
    m: torch.Tensor,
    t: torch.Tensor | None = None,
    *,
    perceptual: Perceptual,
    actor: int | None = None,
    action: int | None = None,
    z_c: torch.Tensor | None = None,
    ramp: float = 1.0,
    steps: int = 350,
    lr: float = 3e-4,
    mse_weight: float | None = None,
    noise_mode: NoiseMode = "const",
    chunk: int | None = 16,
) -> tuple[OneStyleGenerator, list[float]]:
    """Pivotal tuning (section 5.4): a copy of ``generator`` whose synthesis network is
    fine-tuned (Adam, PTI's lr 3e-4) to reproduce the clip with the pivot ``m*`` fixed.
    F_c, F_t and time2vec stay as they are, so ``m*`` still transfers to other actors.
    Returns ``(tuned generator, loss per step)``; the input generator is not changed. The loss
    is :func:`invert_motion`'s (``mse_weight`` default ``100 / N``)."""
    device = frames.device
    mse_weight = 100.0 / len(frames) if mse_weight is None else mse_weight
    t = torch.arange(len(frames), device=device, dtype=torch.float32) if t is None else t.to(device).float()
    _check_clip(generator, frames, t)
    content = _content(actor, action, z_c, ramp, device)
    tuned = copy.deepcopy(generator).train()
    tuned.requires_grad_(False)
    tuned.synthesis.requires_grad_(True)
    opt = torch.optim.Adam(tuned.synthesis.parameters(), lr=lr)
    m = m.detach().to(device).float()
    history = []
    for _ in range(steps):
        opt.zero_grad(set_to_none=True)
        loss = _frame_losses(tuned, perceptual, frames, t, m, content, noise_mode, mse_weight, chunk, backward=True)
        opt.step()
        history.append(float(loss))
    return tuned.eval().requires_grad_(False), history
