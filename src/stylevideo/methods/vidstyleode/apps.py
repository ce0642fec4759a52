"""VidStyleODE's applications on real videos (vidstyleode.txt section 4.1, supplementary 10).

All take videos ``[B, T, 3, H, W]`` in [-1, 1] (frame ``i`` at time ``i`` unless times ``t``
``[T]`` or ``[B, T]`` are given, e.g. the frame numbers of every n-th frame read) and return
``[B, Q, 3, H', W']`` in [-1, 1] (``output_size``, else G's resolution):

- :meth:`~Applications.edit`: text-guided appearance editing (Eq. 12 with the user's ``alpha``);
- :meth:`~Applications.animate`: content from a still image, dynamics from a driving video;
- :meth:`~Applications.transfer_motion`: one video's content with another's global dynamics;
- :meth:`~Applications.blend_motion`: local motion control, ``z_d = m z_dA + (1 - m) z_dB`` with a
  spatial mask ``m`` over the ``m_ode x n_ode`` dynamics grid (Fig. 10, 12);
- :meth:`~Applications.interpolate_dynamics`: ``(1 - lambda) z_dA + lambda z_dB`` (Fig. 11);
- :meth:`~Applications.resample`: frames at any times from observed ones: interpolation between
  observed timestamps, extrapolation beyond the last (Fig. 7, 8, 19, 20, 22, 23).

The mixin expects the model's ``content``, ``style``, ``ode_time``, ``generate``, ``dynamics``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
from einops import rearrange
from torch import Tensor

__all__ = ["Applications", "box_mask"]

Texts = str | Sequence[str] | None


def _texts(texts: Texts, n: int, name: str) -> list[str] | None:
    if texts is None:
        return None
    texts = [texts] * n if isinstance(texts, str) else list(texts)
    if len(texts) != n:
        raise ValueError(f"{name}: {len(texts)} descriptions for {n} videos")
    return texts


def _frame_times(video: Tensor, t: Tensor | None) -> Tensor:
    if video.ndim != 5 or video.shape[2] != 3:
        raise ValueError(f"expected a video batch [B, T, 3, H, W], got {tuple(video.shape)}")
    if t is None:
        return torch.arange(video.shape[1], device=video.device, dtype=torch.float32).expand(video.shape[0], -1)
    t = torch.as_tensor(t, device=video.device, dtype=torch.float32)
    t = t.expand(video.shape[0], -1) if t.ndim == 1 else t
    if t.shape != video.shape[:2]:
        raise ValueError(f"times {tuple(t.shape)} do not match the video's [B, T] = {tuple(video.shape[:2])}")
    if (t[:, 1:] <= t[:, :-1]).any():
        raise ValueError("observed frame times must be strictly increasing")
    return t


def box_mask(grid: tuple[int, int], box: Sequence[float]) -> Tensor:
    """A ``{0, 1}`` mask over the dynamics grid, 1 inside ``box = (x0, y0, x1, y1)`` (fractions)."""
    x0, y0, x1, y1 = box
    if not (0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1):
        raise ValueError(f"box must be (x0, y0, x1, y1) with 0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1, got {box}")
    m, n = grid
    ys = (torch.arange(m) + 0.5) / m
    xs = (torch.arange(n) + 0.5) / n
    return ((ys[:, None] >= y0) & (ys[:, None] < y1) & (xs[None] >= x0) & (xs[None] < x1)).float()


class Applications:
    """Generation from real videos; every method runs without gradients.

    G decodes at most ``generation_chunk`` images per call (whole frames of every video of
    the batch), so memory does not grow with the clip.
    """

    generation_chunk: int = 16

    def _decode(self, z_C: Tensor, z_S: Tensor, z_dt: Tensor) -> Tensor:
        """``G(z_C + f_G(z_dt, z_S, z_C))`` for ``z_dt [B, Q, ...]``, a few frames at a time."""
        frames = max(1, self.generation_chunk // z_dt.shape[0])
        chunks = z_dt.split(frames, dim=1)
        return torch.cat([self._finish(self.generate(z_C, z_S, z)[0]) for z in chunks], dim=1)

    def _finish(self, images: Tensor) -> Tensor:
        size = self.hparams.output_size
        if size is not None and tuple(images.shape[-2:]) != tuple(size):
            b = images.shape[0]
            images = torch.nn.functional.interpolate(
                rearrange(images, "b q c h w -> (b q) c h w"),
                size=tuple(size),
                mode="bicubic",
                align_corners=False,
                antialias=True,
            )
            images = rearrange(images, "(b q) c h w -> b q c h w", b=b)
        return images.clamp(-1, 1)

    def dynamics_code(self, video: Tensor, t: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """``(z_d0, t)``: dynamics code of a video seen at frame times ``t`` (default 0..T-1)."""
        t = _frame_times(video, t)
        return self.dynamics.encode(video, self.ode_time(t)), t

    def render(self, z_C: Tensor, z_S: Tensor, z_d0: Tensor, t_query: Tensor, t0: Tensor) -> Tensor:
        """Frames at frame times ``t_query [B, Q]`` of the ODE started at frame time ``t0 [B]``."""
        z_dt = self.dynamics.solve(z_d0, (t_query.float() - t0[:, None]) / self.hparams.time_unit)
        return self._decode(z_C, z_S, z_dt)

    @torch.no_grad()
    def edit(
        self, video: Tensor, source_text: Texts, target_text: Texts, alpha: float = 1.0, t: Tensor | None = None
    ) -> Tensor:
        """Text-guided appearance editing: the video's content and dynamics, ``z_S`` of Eq. 12
        (``alpha`` = 1: the paper's value for its quantitative results)."""
        n = video.shape[0]
        z_C = self.content(video)
        z_S = self.style(z_C, _texts(source_text, n, "source_text"), _texts(target_text, n, "target_text"), alpha)
        z_d0, t = self.dynamics_code(video, t)
        return self.render(z_C, z_S, z_d0, t, t[:, 0])

    @torch.no_grad()
    def animate(self, source: Tensor, driving: Tensor, *, relative: bool = True, t: Tensor | None = None) -> Tensor:
        """Image animation: ``z_C`` of the still ``source [B, 3, H, W]``, dynamics of ``driving``.

        VidStyleODE's motion is a direction from the source's own content code whatever
        ``relative`` says (the flag is the interface's; the metric callbacks' same-identity
        reconstruction passes False), so both values give the same video.
        """
        if source.ndim != 4:
            raise ValueError(f"source must be images [B, 3, H, W], got {tuple(source.shape)}")
        return self.transfer_motion(source[:, None], driving, t=t)

    @torch.no_grad()
    def transfer_motion(
        self,
        content_video: Tensor,
        motion_video: Tensor,
        source_text: Texts = None,
        target_text: Texts = None,
        alpha: float = 1.0,
        t: Tensor | None = None,
    ) -> Tensor:
        """Motion transfer, swapping the global dynamics: one video's content, another's ``z_d``
        (``t``: the motion video's frame times)."""
        if content_video.shape[0] != motion_video.shape[0]:
            raise ValueError("content and motion videos must come in equal numbers")
        n = content_video.shape[0]
        z_C = self.content(content_video)
        z_S = self.style(z_C, _texts(source_text, n, "source_text"), _texts(target_text, n, "target_text"), alpha)
        z_d0, t = self.dynamics_code(motion_video, t)
        return self.render(z_C, z_S, z_d0, t, t[:, 0])

    @torch.no_grad()
    def blend_motion(
        self,
        content_video: Tensor,
        video_a: Tensor,
        video_b: Tensor,
        mask: Tensor,
        at: Literal["initial", "trajectory"] = "initial",
        t: Tensor | None = None,
    ) -> Tensor:
        """Local motion control (section 4.1): ``z_d = m z_dA + (1 - m) z_dB``.

        ``mask`` is ``[m_ode, n_ode]`` or ``[B, m_ode, n_ode]`` (1: A's dynamics). ``at="initial"``
        blends the codes ``z_d0`` (Eq. 11's ``z_d``) and solves the ODE from the blend;
        ``"trajectory"`` blends the solved ``z_d(t)`` at every frame. The frames follow A's times
        (``t``, A's and B's frame times).
        """
        if not video_a.shape[:2] == video_b.shape[:2]:
            raise ValueError(f"videos A {tuple(video_a.shape)} and B {tuple(video_b.shape)} need equal [B, T]")
        mask = torch.as_tensor(mask, device=video_a.device, dtype=torch.float32)
        grid = self.dynamics.grid
        if mask.shape[-2:] != grid or mask.ndim not in (2, 3):
            raise ValueError(
                f"mask must be [{grid[0]}, {grid[1]}] or [B, {grid[0]}, {grid[1]}] "
                "(the dynamics grid), "
                f"got {tuple(mask.shape)}"
            )
        mask = mask.expand(video_a.shape[0], *grid)[:, None]  # [B, 1, m, n]
        z_C = self.content(content_video)
        z_S = self.style(z_C)
        (z_a, t), (z_b, _) = self.dynamics_code(video_a, t), self.dynamics_code(video_b, t)
        if at == "initial":
            return self.render(z_C, z_S, torch.lerp(z_b, z_a, mask), t, t[:, 0])
        if at != "trajectory":
            raise ValueError(f"at must be 'initial' or 'trajectory', got {at!r}")
        times = self.ode_time(t)
        z_dt = torch.lerp(self.dynamics.solve(z_b, times), self.dynamics.solve(z_a, times), mask[:, None])
        return self._decode(z_C, z_S, z_dt)

    @torch.no_grad()
    def interpolate_dynamics(
        self, content_video: Tensor, video_a: Tensor, video_b: Tensor, lam: float, t: Tensor | None = None
    ) -> Tensor:
        """Fig. 11: the dynamics code ``(1 - lam) z_dA + lam z_dB`` (0: A's motion, 1: B's)."""
        if not video_a.shape[:2] == video_b.shape[:2]:
            raise ValueError(f"videos A {tuple(video_a.shape)} and B {tuple(video_b.shape)} need equal [B, T]")
        z_C = self.content(content_video)
        (z_a, t), (z_b, _) = self.dynamics_code(video_a, t), self.dynamics_code(video_b, t)
        return self.render(z_C, self.style(z_C), torch.lerp(z_a, z_b, float(lam)), t, t[:, 0])

    @torch.no_grad()
    def resample(self, video: Tensor, t: Tensor | None, t_query: Tensor, content_video: Tensor | None = None) -> Tensor:
        """Frames at times ``t_query [Q]`` or ``[B, Q]`` (>= the first observed time) from the
        frames observed at ``t``: interpolation between them, extrapolation after the last."""
        t = _frame_times(video, t)
        t_query = torch.as_tensor(t_query, device=video.device, dtype=torch.float32)
        t_query = t_query.expand(video.shape[0], -1) if t_query.ndim == 1 else t_query
        if t_query.shape[0] != video.shape[0] or (t_query < t[:, :1]).any():
            raise ValueError("t_query must be [Q] or [B, Q] times at or after each video's first observed frame")
        z_C = self.content(video if content_video is None else content_video)
        z_d0, _ = self.dynamics_code(video, t)
        return self.render(z_C, self.style(z_C), z_d0, t_query, t[:, 0])
