"""Turning user-facing generation arguments into tensors for :class:`OneStyleGenerator`.

A condition (actor or action) is ``None`` (drawn at random per video), one id for every
video, or one id per video. With a ``*_to`` end value it becomes per-frame class weights
that move linearly from the start id at the first frame to the end id at the last one:
the interpolation of conditions over time of section 5.5.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

__all__ = ["action_ramp", "condition_ids", "interpolate_condition", "per_video"]

ConditionArg = int | Sequence[int] | torch.Tensor | None


def action_ramp(iteration: int, start: int, end: int) -> float:
    """The ramp factor lambda (section 4.3): 0 before ``start``, 1 from ``end``, linear between."""
    if iteration >= end:
        return 1.0
    if iteration <= start:
        return 0.0
    return (iteration - start) / (end - start)


def condition_ids(
    value: ConditionArg,
    name: str,
    count: int,
    n: int,
    device,
    generator: torch.Generator | None = None,
) -> torch.Tensor | None:
    """Ids ``[n]`` for a condition with ``count`` classes (random ones for ``None``)."""
    if count == 0:
        if value is not None:
            raise ValueError(f"the model has no {name} condition (its class count is 0); got {name}={value!r}")
        return None
    if value is None:
        return torch.randint(count, (n,), device=device, generator=generator)
    ids = torch.as_tensor(value, device=device)
    if ids.is_floating_point() or ids.is_complex() or ids.dtype == torch.bool:
        raise ValueError(f"{name} must be integer class ids, got {value!r}")
    ids = ids.long().flatten()
    if ids.numel() == 1:
        ids = ids.expand(n)
    if ids.numel() != n:
        raise ValueError(f"{name} needs one id or one per video ({n}), got {ids.numel()}")
    if ((ids < 0) | (ids >= count)).any():
        raise ValueError(f"{name} ids must lie in [0, {count}), got {ids.tolist()}")
    return ids


def interpolate_condition(start: torch.Tensor, end: torch.Tensor, count: int, num_frames: int) -> torch.Tensor:
    """Class weights ``[n, T, count]`` going linearly from ``start`` to ``end`` (section 5.5)."""
    alpha = torch.linspace(0, 1, num_frames, device=start.device)[None, :, None]
    a = torch.nn.functional.one_hot(start, count).float()[:, None]
    b = torch.nn.functional.one_hot(end, count).float()[:, None]
    return torch.lerp(a, b, alpha)


def per_video(value: torch.Tensor | None, name: str, n: int, dim: int, device) -> torch.Tensor | None:
    """A latent given for every video (``[n, dim]``) or shared by all (``[dim]``)."""
    if value is None:
        return None
    value = torch.as_tensor(value, device=device, dtype=torch.float32)
    if value.ndim == 1:
        value = value[None].expand(n, -1)
    if value.shape != (n, dim):
        raise ValueError(f"{name} must be [{dim}] or [{n}, {dim}], got {tuple(value.shape)}")
    return value
