"""VidStyleODE's training objective (vidstyleode.txt section 3.1, Eq. 6-10, supplementary 7).

``L = lambda_C L_C + lambda_A L_A + lambda_S L_S + lambda_D L_D + lambda_L L_L`` (Eq. 6), no
discriminator. Every function takes per-video tensors (batch first) and returns the mean
over the videos of the batch.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    "clip_consistency_loss",
    "clip_directional_loss",
    "latent_direction_loss",
    "ramp_weight",
    "splice_appearance_loss",
    "splice_structure_loss",
]


def clip_consistency_loss(embeddings: Tensor) -> Tensor:
    """Eq. 7: ``L_C = sum_i sum_{j >= i} 1 - CLIP_I(X_i)^T CLIP_I(X_j)`` over the ``N_C`` sampled
    generated frames of a video (unit-normalised CLIP embeddings ``[B, N_C, D]``); mean over videos.
    """
    e = F.normalize(embeddings.float(), dim=-1)
    similarity = e @ e.transpose(1, 2)  # [B, N, N]
    upper = torch.triu(torch.ones_like(similarity[0], dtype=torch.bool))  # j >= i
    return (1 - similarity)[:, upper].sum(dim=1).mean()


def splice_appearance_loss(content: Tensor, frames: Tensor) -> Tensor:
    """Eq. 8: ``L_A = sum_i || ViT_A(G(z_C)) - ViT_A(G(z_ti)) ||`` with ViT_A the DINO [CLS] token
    (``content [B, D]``, ``frames [B, N, D]``); the distance is Splicing-ViT's mean squared error.
    """
    return (frames.float() - content.float()[:, None]).pow(2).mean(dim=-1).sum(dim=1).mean()


def splice_structure_loss(real: Tensor, generated: Tensor) -> Tensor:
    """Eq. 9: ``L_S = sum_i || ViT_S(X_i) - ViT_S(G(z_ti)) ||`` with ViT_S the DINO keys'
    self-similarity (``[B, N, T, T]`` each); the distance is Splicing-ViT's mean squared error."""
    return (generated.float() - real.float()).pow(2).mean(dim=(-2, -1)).sum(dim=1).mean()


def clip_directional_loss(
    text_source: Tensor, text_target: Tensor, edited: Tensor, reference: Tensor, eps: float = 1e-6
) -> Tensor:
    """Eq. 10: ``L_D = 1 - cos(Delta_V, Delta_T)``.

    ``Delta_T = CLIP_T(T_desc) - CLIP_T(S_desc)`` (``[B, D]`` each), ``Delta_V`` the mean over the
    video's ``N`` frames of ``CLIP_I(X_edit_i) - CLIP_I(X_ref_i)`` (``[B, N, D]`` each; the edited
    frames and the frames generated with the source description at the same times; both are
    the model's, and the gradient flows through both, so Eq. 6 is one objective).
    Embeddings are unit-normalised first (StyleGAN-NADA). A video whose target equals its
    source (``Delta_T = 0``) has no direction and is left out; the mean is over the others
    (0 if none).
    """
    delta_t = F.normalize(text_target.float(), dim=-1) - F.normalize(text_source.float(), dim=-1)
    delta_v = (F.normalize(edited.float(), dim=-1) - F.normalize(reference.float(), dim=-1)).mean(dim=1)
    valid = (delta_t.norm(dim=-1) > eps).float()
    loss = 1 - F.cosine_similarity(delta_v, delta_t, dim=-1, eps=eps)
    return (loss * valid).sum() / valid.sum().clamp_min(1)


def latent_direction_loss(delta: Tensor) -> Tensor:
    """``L_L = E_i[|| Delta z_ti ||]``: the mean L2 norm of the W+ directions ``[..., L, w]``."""
    return delta.float().flatten(-2).norm(dim=-1).mean()


def ramp_weight(iteration: int, start: float, end: float, steps: int, warmup: int = 0) -> float:
    """A scheduled loss weight (the authors' ``LambdaScheduler``, ``src/modules/schedulers.py``):
    0 before iteration ``warmup``, then linear from ``start`` (at ``warmup``) to ``end`` (at
    iteration ``steps``), flat after. lambda_C: 0.01 -> 1 over 40k iterations (supp. 7, no
    warm-up); lambda_D: 0 for 5k iterations, then 0.01 -> 2.0 by iteration 100k (their configs)."""
    if iteration < warmup:
        return 0.0
    if steps <= warmup:
        return end
    return start + (end - start) * min((iteration - warmup) / (steps - warmup), 1.0)
