"""time2vec: a learned vector representation of (continuous) time (Kazemi et al. 2019).

onestyle Eq. 1: ``v_j(t) = F(omega_j t + phi_j)`` with ``F`` the identity for ``j = 0`` (the
one linear term, "the time direction") and ``sin`` for ``1 <= j <= k - 1``; ``omega_j`` and
``phi_j`` are trainable. ``t`` is a float tensor in frame units and may be non-integer, so
a generator driven by ``v(t)`` renders any frame rate.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["Time2Vec"]


class Time2Vec(nn.Module):
    """``t [...] -> v(t) [..., k]``: component 0 linear, components 1..k-1 sinusoids (Eq. 1).

    ``omega`` starts from ``N(0, omega_std^2)`` and ``phi`` from ``N(0, 1)`` (the onestyle
    authors' initialisation is ``omega_std = 1``; smaller values start from slower waves).
    ``linear_last``: the linear term is component ``k - 1`` instead (the onestyle authors'
    ``t2v`` in ``model.py`` concatenates ``[sin(...), linear]``), for their checkpoints.
    """

    def __init__(self, k: int, omega_std: float = 1.0, linear_last: bool = False):
        super().__init__()
        if k < 2:
            raise ValueError(f"time2vec needs k >= 2 (one linear and k - 1 periodic terms), got k={k}")
        self.k, self.linear_last = k, linear_last
        self.omega = nn.Parameter(torch.randn(k) * omega_std)
        self.phi = nn.Parameter(torch.randn(k))

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        z = t.to(self.omega.dtype)[..., None] * self.omega + self.phi
        if self.linear_last:
            return torch.cat([torch.sin(z[..., :-1]), z[..., -1:]], dim=-1)
        return torch.cat([z[..., :1], torch.sin(z[..., 1:])], dim=-1)

    def extra_repr(self) -> str:
        return f"k={self.k} (1 linear {'after' if self.linear_last else 'before'} {self.k - 1} sinusoids)"
