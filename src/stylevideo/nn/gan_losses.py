"""GAN objectives and regularisers shared by the StyleGAN2-based methods.

Non-saturating logistic loss (Goodfellow et al. 2014), R1 (Mescheder et al. 2018,
Eq. 9: ``gamma/2 * E[||grad D(x)||^2]`` on real data), and StyleGAN2's path length
regularisation (Karras et al. 2020, Eq. 4), all applied lazily by the trainers
(every ``interval`` iterations, scaled by the interval).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

__all__ = [
    "d_logistic_loss",
    "g_nonsaturating_loss",
    "lazy_regularization_adam",
    "path_length_penalty",
    "r1_penalty",
]


def d_logistic_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Discriminator loss ``softplus(D(G(z))) + softplus(-D(x))``, averaged."""
    return F.softplus(fake_logits).mean() + F.softplus(-real_logits).mean()


def g_nonsaturating_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """Generator loss ``softplus(-D(G(z)))``, averaged."""
    return F.softplus(-fake_logits).mean()


def r1_penalty(real_logits: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """``E[||grad_x D(x)||^2]`` on real samples (``real`` must require grad).

    The caller multiplies by ``gamma / 2`` (and the lazy interval). Run D in float32
    for this term: the inner gradient is not loss-scaled under fp16 autocast.
    """
    (grad,) = torch.autograd.grad(real_logits.sum(), real, create_graph=True)
    return grad.float().pow(2).flatten(1).sum(1).mean()


def path_length_penalty(
    images: torch.Tensor, ws: torch.Tensor, mean_path_length: torch.Tensor, decay: float = 0.01
) -> tuple[torch.Tensor, torch.Tensor]:
    """Path length regularisation (StyleGAN2 Eq. 4): ``E[(||J_w^T y||_2 - a)^2]``.

    ``y`` is a random image with ``N(0, 1/(H W))`` pixels, ``J_w^T y`` is obtained by
    autograd (``ws`` must be part of the graph that made ``images``), and ``a`` is the
    running mean of the path lengths (updated here with ``decay``). Returns
    ``(penalty, new_mean_path_length)``.
    """
    y = torch.randn_like(images) / math.sqrt(images.shape[2] * images.shape[3])
    (grad,) = torch.autograd.grad((images * y).sum(), ws, create_graph=True)
    lengths = grad.float().pow(2).sum(dim=2).mean(dim=1).sqrt()
    new_mean = mean_path_length + decay * (lengths.detach().mean() - mean_path_length)
    return (lengths - new_mean).pow(2).mean(), new_mean


def lazy_regularization_adam(lr: float, betas: tuple[float, float], interval: int) -> dict:
    """Adam settings compensating a regulariser applied every ``interval`` steps
    (StyleGAN2 appendix B: ``lr * c``, ``beta ** c`` with ``c = interval / (interval + 1)``)."""
    if interval <= 0:
        return {"lr": lr, "betas": tuple(betas)}
    c = interval / (interval + 1)
    return {"lr": lr * c, "betas": (betas[0] ** c, betas[1] ** c)}
