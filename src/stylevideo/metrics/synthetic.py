"""The synthetic benchmark: scores with exact ground truth that need no download.

The embedded synthetic dataset (:mod:`stylevideo.video.synthetic`) knows, for every clip, its
actor, its action and the outer lip polygon of every frame. Two small networks are trained on
its training split (:func:`train_judges`, seeded, CPU, well under a minute at 32x32):

- :class:`SyntheticRecognizer`: the 3D CNN of :class:`~stylevideo.metrics.action.ActionRecognizer`
  with two linear heads, actor and action, on clips of ``num_frames`` frames. Conditional
  accuracy (onestyle 5.3's action-accuracy protocol, exact here: the conditioned labels are
  the truth) is :class:`~stylevideo.metrics.action.ActionAccuracy` on its logits; its
  penultimate features (global-pooled trunk, ``4 * width``) feed
  :class:`~stylevideo.metrics.frechet.FrechetDistance` (real vs generated clips).
- :class:`MouthRegressor`: a 2D CNN regressing the ``MOUTH_POINTS``-point polygon of a frame.
  :class:`MouthAreaCorrelation` correlates, per video, the ground-truth polygon area of the
  driving clip with the regressor's area on the animation (onestyle's LiA correlation with the
  detector replaced by one trained where the truth is known).

These numbers are the project's own protocol on its own data: no paper reports them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchmetrics import Metric

from stylevideo.metrics.action import ActionRecognizer
from stylevideo.metrics.face import pearson, polygon_area
from stylevideo.video.io import frames_to_tensor, read_frames
from stylevideo.video.synthetic import MOUTH_POINTS

__all__ = [
    "Judges",
    "MouthAreaCorrelation",
    "MouthRegressor",
    "SyntheticClips",
    "SyntheticRecognizer",
    "load_clips",
    "train_judges",
]


def _resize(x: Tensor, size: int) -> Tensor:
    """Frames ``[N, 3, h, w]`` to ``size x size``, antialiased bilinear (as the recogniser)."""
    if x.shape[-2:] == (size, size):
        return x
    return F.interpolate(x, size=(size, size), mode="bilinear", antialias=True)


class SyntheticRecognizer(nn.Module):
    """Actor, action and temporal order of clips ``[B, T, 3, H, W]`` in [-1, 1].

    The trunk is :class:`ActionRecognizer`'s (frames resized to ``size``, three strided 3D conv
    blocks, global pool) with its head replaced by three linear heads: ``forward`` returns
    ``{"actor": [B, num_actors], "action": [B, num_actions], "order": [B, 2]}`` logits, where
    ``order`` tells a clip in its frame order (1) from the same frames shuffled in time (0).
    The order head is trained so that the features see temporal coherence: the synthetic
    actions are told apart by single frames as well, and a trunk trained on them alone
    gives clips and their shuffled frames nearly the same features.
    """

    def __init__(self, num_actors: int, num_actions: int, width: int = 8, size: int = 32):
        super().__init__()
        self.trunk = ActionRecognizer(1, width, size)
        self.trunk.head = nn.Identity()
        self.num_features = 4 * width
        self.heads = nn.ModuleDict(
            {
                "actor": nn.Linear(self.num_features, num_actors),
                "action": nn.Linear(self.num_features, num_actions),
                "order": nn.Linear(self.num_features, 2),
            }
        )

    def features(self, videos: Tensor) -> Tensor:
        """Penultimate features ``[B, 4 * width]`` (the Frechet distance's space)."""
        return self.trunk(videos)

    def forward(self, videos: Tensor) -> dict[str, Tensor]:
        f = self.features(videos)
        return {name: head(f) for name, head in self.heads.items()}


class MouthRegressor(nn.Module):
    """The outer lip polygon and its area, regressed from frames ``[N, 3, H, W]`` in [-1, 1].

    Frames are resized to ``size``; four 3x3 conv layers (the last three strided) keep a
    ``size / 8`` grid whose flattened features one linear layer maps to the ``P`` points
    (coordinates normalised by the frame size) and the polygon's area (normalised by the frame
    area). The area has its own output: the shoelace area of regressed points adds up their
    independent errors along the whole outline, several times the area's own variation in a
    32x32 frame.
    """

    def __init__(self, width: int = 16, size: int = 32, points: int = MOUTH_POINTS):
        super().__init__()
        if size % 8:
            raise ValueError(f"MouthRegressor needs a size divisible by 8, got {size}")
        self.size, self.points = size, points
        layers, cin = [], 3
        for cout, stride in ((width, 1), (2 * width, 2), (4 * width, 2), (4 * width, 2)):
            layers += [nn.Conv2d(cin, cout, 3, stride, 1), nn.SiLU()]
            cin = cout
        self.features = nn.Sequential(*layers, nn.Flatten())
        self.head = nn.Linear(cin * (size // 8) ** 2, 2 * points + 1)

    def forward(self, frames: Tensor) -> tuple[Tensor, Tensor]:
        """``(polygon [N, P, 2] in pixels of the input frames, area [N] in pixels^2)``."""
        h, w = frames.shape[-2:]
        out = self.head(self.features(_resize(frames, self.size)))
        polygon = out[:, :-1].view(-1, self.points, 2) * torch.tensor([w, h], dtype=out.dtype, device=out.device)
        return polygon, out[:, -1] * (h * w)

    def area(self, videos: Tensor) -> Tensor:
        """Mouth area ``[B, T]`` (pixels^2) in every frame of videos ``[B, T, 3, H, W]``."""
        return self(videos.flatten(0, 1))[1].view(videos.shape[:2])


class MouthAreaCorrelation(Metric):
    """Mean over videos of the Pearson r between a reference and a measured mouth-area signal.

    ``update(reference [B, T], measured [B, T])``: the ground-truth area of each driving clip
    and the area measured on its animation. A driving clip whose reference area varies by less
    than ``min_variation`` (std / mean) has no mouth motion to reproduce (the synthetic nod,
    sway and blink clips keep the mouth still): it is left out and counted. ``compute`` returns
    ``{"r", "videos", "skipped"}``; ``r`` is NaN when every video was left out.
    """

    higher_is_better = True
    is_differentiable = False
    full_state_update = False

    def __init__(self, min_variation: float = 0.05, **kwargs):
        super().__init__(**kwargs)
        self.min_variation = min_variation
        for name in ("r_sum", "videos", "skipped"):
            self.add_state(name, torch.zeros((), dtype=torch.float64), "sum")

    def update(self, reference: Tensor, measured: Tensor) -> None:
        if reference.shape != measured.shape or reference.ndim != 2:
            raise ValueError(f"expected two [B, T] signals, got {tuple(reference.shape)} and {tuple(measured.shape)}")
        ref = reference.detach().double().cpu().numpy()
        out = measured.detach().double().cpu().numpy()
        for a, b in zip(ref, out, strict=True):
            if a.std() < self.min_variation * abs(a.mean()):
                self.skipped += 1
                continue
            self.r_sum += pearson(a, b)
            self.videos += 1

    def compute(self) -> dict[str, Tensor]:
        r = self.r_sum / self.videos if self.videos > 0 else torch.tensor(float("nan"), dtype=torch.float64)
        return {"r": r, "videos": self.videos, "skipped": self.skipped}


@dataclass
class SyntheticClips:
    """Whole clips of a split, decoded once: ``frames[i]`` float ``[T_i, 3, size, size]`` in [-1, 1],
    ``mouth[i]`` ``[T_i, P, 2]`` pixels at ``size`` and its shoelace area ``area[i]`` ``[T_i]``,
    label ids ``actor [N]``, ``action [N]``."""

    frames: list[Tensor]
    mouth: list[Tensor]
    area: list[Tensor]
    actor: Tensor
    action: Tensor

    def windows(self, n: int, num_frames: int, g: torch.Generator) -> dict[str, Tensor]:
        """``n`` random clips of ``num_frames`` consecutive frames (uniform clip, uniform start):
        ``frames [n, T, 3, s, s]``, ``mouth [n, T, P, 2]``, ``area [n, T]``, ``actor [n]``, ``action [n]``."""
        clips = torch.randint(len(self.frames), (n,), generator=g).tolist()
        out = {"frames": [], "mouth": [], "area": []}
        for c in clips:
            start = int(torch.randint(len(self.frames[c]) - num_frames + 1, (), generator=g))
            for key, values in out.items():
                values.append(getattr(self, key)[c][start : start + num_frames])
        return {k: torch.stack(v) for k, v in out.items()} | {"actor": self.actor[clips], "action": self.action[clips]}


def load_clips(datamodule, split: str, size: int, min_frames: int = 1) -> SyntheticClips:
    """The ``split`` clips of a :class:`~stylevideo.data_modules.synthetic.SyntheticDataModule`
    with at least ``min_frames`` frames, at the module's resolution, then resized to ``size``
    (the path a generated video takes into the judges)."""
    maps = datamodule.label_maps
    records = [r for r in datamodule.records(split) if r.num_frames >= min_frames]
    if not records:
        raise ValueError(f"no {split!r} clip of {datamodule.root} has {min_frames} frames")
    frames, mouth = [], []
    for r in records:
        if "mouth" not in r.keypoints:
            raise ValueError(f"{r.path} has no mouth polygon file: the synthetic benchmark needs the synthetic dataset")
        raw = read_frames(r.path, range(r.num_frames))
        frames.append(_resize(frames_to_tensor(raw, datamodule.resolution), size))
        scale = np.array([size / raw.shape[2], size / raw.shape[1]], dtype=np.float32)
        mouth.append(torch.from_numpy(np.load(r.keypoints["mouth"]) * scale))
    actor = torch.tensor([maps["actor"][r.labels["actor"]] for r in records])
    action = torch.tensor([maps["action"][r.labels["action"]] for r in records])
    area = [torch.from_numpy(polygon_area(m.double().numpy())).float() for m in mouth]
    return SyntheticClips(frames, mouth, area, actor, action)


class Judges(nn.Module):
    """The two benchmark networks and the clip length they were trained on (saved together)."""

    def __init__(
        self,
        num_actors: int,
        num_actions: int,
        num_frames: int = 16,
        width: int = 8,
        mouth_width: int = 16,
        size: int = 32,
    ):
        super().__init__()
        self.config = dict(
            num_actors=num_actors,
            num_actions=num_actions,
            num_frames=num_frames,
            width=width,
            mouth_width=mouth_width,
            size=size,
        )
        self.num_frames = num_frames
        self.recognizer = SyntheticRecognizer(num_actors, num_actions, width, size)
        self.mouth = MouthRegressor(mouth_width, size)

    def save(self, path: str | os.PathLike) -> None:
        torch.save({"config": self.config, "state_dict": self.state_dict()}, path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Judges:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
        judges = cls(**ckpt["config"])
        judges.load_state_dict(ckpt["state_dict"])
        return judges.eval()


def train_judges(
    datamodule,
    *,
    steps: int = 300,
    batch_size: int = 16,
    mouth_frames: int = 64,
    lr: float = 3e-3,
    area_weight: float = 1.0,
    order_weight: float = 3.0,
    seed: int = 0,
    **config,
) -> Judges:
    """Train :class:`Judges` on the training split of a synthetic data module.

    Each of ``steps`` Adam steps (one-cycle learning-rate schedule peaking at ``lr``) takes
    ``batch_size`` random clips of ``num_frames`` frames: cross-entropy of actor and of action,
    ``order_weight`` times the cross-entropy of the order head on these clips and on the same
    clips with their frames shuffled; and ``mouth_frames`` of their frames: mean absolute point
    error plus
    ``area_weight`` times the absolute area error (pixels and pixels^2 at ``size``).
    Everything random is drawn from ``seed`` in a forked RNG: the result depends on the data
    and the arguments only, and the caller's RNG is left as it was. ``config`` goes to
    :class:`Judges` (``num_frames``, ``width``, ``mouth_width``, ``size``).
    """
    config = {"num_actors": datamodule.num_classes("actor"), "num_actions": datamodule.num_classes("action")} | config
    # callable from a metric callback: inside no_grad or Lightning's inference mode
    with torch.random.fork_rng(devices=[]), torch.inference_mode(False), torch.enable_grad():
        torch.manual_seed(seed)
        judges = Judges(**config)
        clips = load_clips(datamodule, "train", judges.config["size"], judges.num_frames)
        g = torch.Generator().manual_seed(seed)
        opt = torch.optim.Adam(judges.parameters(), lr=lr)
        schedule = torch.optim.lr_scheduler.OneCycleLR(opt, lr, total_steps=steps, pct_start=0.1)
        judges.train()
        for _ in range(steps):
            batch = clips.windows(batch_size, judges.num_frames, g)
            frames = batch["frames"]
            order = torch.stack([torch.randperm(judges.num_frames, generator=g) for _ in range(batch_size)])
            shuffled = frames.gather(1, order[:, :, None, None, None].expand_as(frames))
            logits = judges.recognizer(torch.cat([frames, shuffled]))
            in_order = torch.cat([torch.ones(batch_size), torch.zeros(batch_size)]).long()
            pick = torch.randperm(batch["area"].numel(), generator=g)[:mouth_frames]
            points, area = judges.mouth(frames.flatten(0, 1)[pick])
            loss = (
                F.cross_entropy(logits["actor"][:batch_size], batch["actor"])
                + F.cross_entropy(logits["action"][:batch_size], batch["action"])
                + order_weight * F.cross_entropy(logits["order"], in_order)
                + (points - batch["mouth"].flatten(0, 1)[pick]).abs().mean()
                + area_weight * (area - batch["area"].flatten()[pick]).abs().mean()
            )
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            schedule.step()
    return judges.eval()
