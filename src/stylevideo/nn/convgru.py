"""Convolutional GRU (Ballas et al. 2016) over a sequence of feature maps.

The gates are convolutions over ``[x_t, h]``; a mask keeps the hidden state where a
frame is missing (irregular or padded sequences). ``reverse=True`` consumes the frames
last to first, so the final state belongs to the first frame (VidStyleODE section 3,
Vid-ODE's encoder). ``transition(h, i)`` is applied to the state before frame ``i`` is
read: an ODE-RNN advances the state along an ODE there.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

__all__ = ["ConvGRU", "ConvGRUCell"]


class ConvGRUCell(nn.Module):
    """One ConvGRU update ``h' = (1 - u) h + u tanh(W_c * [x, r h])``.

    ``u`` (update) and ``r`` (reset) are ``sigmoid(W_g * [x, h])``; both convolutions are
    ``kernel_size`` wide with same padding. A ``mask`` ``[B]`` (1: observed) keeps ``h``
    unchanged where it is 0.
    """

    def __init__(self, input_dim: int, hidden_dim: int, kernel_size: int = 3, bias: bool = True):
        super().__init__()
        if kernel_size % 2 == 0:
            raise ValueError(f"ConvGRUCell: kernel_size must be odd (same padding), got {kernel_size}")
        self.input_dim, self.hidden_dim = input_dim, hidden_dim
        self.gates = nn.Conv2d(input_dim + hidden_dim, 2 * hidden_dim, kernel_size, padding=kernel_size // 2, bias=bias)
        self.candidate = nn.Conv2d(input_dim + hidden_dim, hidden_dim, kernel_size, padding=kernel_size // 2, bias=bias)

    def forward(self, x: torch.Tensor, h: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        reset, update = torch.sigmoid(self.gates(torch.cat([x, h], dim=1))).chunk(2, dim=1)
        candidate = torch.tanh(self.candidate(torch.cat([x, reset * h], dim=1)))
        h_next = torch.lerp(h, candidate, update)
        if mask is None:
            return h_next
        mask = mask.to(h.dtype).view(-1, 1, 1, 1)
        return torch.lerp(h, h_next, mask)


class ConvGRU(nn.Module):
    """A ConvGRU over ``x [B, T, C, H, W]``; returns the final hidden state ``[B, hidden, H, W]``.

    ``mask [B, T]`` marks observed frames, ``h0`` the initial state (zeros by default),
    ``reverse`` the reading order, ``transition(h, i)`` an update of the state before
    frame ``i`` (in reading order, frame ``i`` is the index into ``T``).
    """

    def __init__(self, input_dim: int, hidden_dim: int, kernel_size: int = 3, bias: bool = True):
        super().__init__()
        self.cell = ConvGRUCell(input_dim, hidden_dim, kernel_size, bias)

    @property
    def hidden_dim(self) -> int:
        return self.cell.hidden_dim

    def forward(
        self,
        x: torch.Tensor,
        mask: torch.Tensor | None = None,
        h0: torch.Tensor | None = None,
        reverse: bool = False,
        transition: Callable[[torch.Tensor, int], torch.Tensor] | None = None,
    ) -> torch.Tensor:
        if x.ndim != 5 or x.shape[2] != self.cell.input_dim:
            raise ValueError(f"ConvGRU expects x [B, T, {self.cell.input_dim}, H, W], got {tuple(x.shape)}")
        b, t, _, h, w = x.shape
        if mask is not None and mask.shape != (b, t):
            raise ValueError(f"ConvGRU: mask must be [B, T] = {(b, t)}, got {tuple(mask.shape)}")
        state = h0 if h0 is not None else x.new_zeros(b, self.hidden_dim, h, w)
        order = range(t - 1, -1, -1) if reverse else range(t)
        for i in order:
            if transition is not None:
                state = transition(state, i)
            state = self.cell(x[:, i], state, None if mask is None else mask[:, i])
        return state
