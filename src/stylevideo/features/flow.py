"""Dense optical flow for the warping error: OpenCV (default) or RAFT through the loader.

Every estimator maps two uint8 batches ``[N, H, W, 3]`` to flow ``[N, H, W, 2]`` (float32,
pixels, (dx, dy)) such that ``a[y, x] ~ b[y + dy, x + dx]``.

- ``"dis"`` (default): OpenCV's DIS flow, ``PRESET_MEDIUM``, on grey frames.
- ``"farneback"``: OpenCV's Farneback flow (pyramid 0.5, 5 levels, window 15).
- :class:`RAFTFlow`: torchvision's RAFT with its released weights from the loader.
  VidStyleODE used FlowFormer (vidstyleode Sec. 9, [17]); no loader entry exists for it,
  so numbers from RAFT or OpenCV are labelled with the estimator that produced them.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import cv2
import numpy as np
import torch
from torch import nn

from stylevideo.features.weights import TORCHVISION_PREFIX, load_weights, register_weights

__all__ = ["FLOW_ESTIMATORS", "RAFTFlow", "flow_estimator", "opencv_flow"]

FlowFn = Callable[[np.ndarray, np.ndarray], np.ndarray]

register_weights(
    "raft_large",
    "raft_large_C_T_SKHT_V2-ff5fadd5.pth",
    url="https://download.pytorch.org/models/raft_large_C_T_SKHT_V2-ff5fadd5.pth",
    description="torchvision RAFT-large (C+T+S+K+H)",
    sha256="ff5fadd5",
    sha256_source=TORCHVISION_PREFIX.format(fn="optical_flow.raft_large"),
)
register_weights(
    "raft_small",
    "raft_small_C_T_V2-01064c6d.pth",
    url="https://download.pytorch.org/models/raft_small_C_T_V2-01064c6d.pth",
    description="torchvision RAFT-small (C+T)",
    sha256="01064c6d",
    sha256_source=TORCHVISION_PREFIX.format(fn="optical_flow.raft_small"),
)


def _grey(frames: np.ndarray) -> list[np.ndarray]:
    return [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in frames]


def opencv_flow(method: str = "dis") -> FlowFn:
    """An OpenCV flow estimator (``"dis"`` or ``"farneback"``) over uint8 batches."""
    if method == "dis":
        dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)

        def pair(a: np.ndarray, b: np.ndarray) -> np.ndarray:
            return dis.calc(a, b, None)

    elif method == "farneback":

        def pair(a: np.ndarray, b: np.ndarray) -> np.ndarray:
            return cv2.calcOpticalFlowFarneback(a, b, None, 0.5, 5, 15, 3, 5, 1.2, 0)

    else:
        raise ValueError(f"unknown OpenCV flow {method!r}; use 'dis' or 'farneback'")

    def estimate(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.stack([pair(x, y) for x, y in zip(_grey(a), _grey(b), strict=True)])

    return estimate


class RAFTFlow:
    """torchvision RAFT (``"raft_large"`` or ``"raft_small"``) with weights from the loader.

    ``net`` replaces the loaded network (tests pass one with random weights). Frame
    sides must be multiples of 8.
    """

    def __init__(
        self,
        name: str = "raft_large",
        path: str | os.PathLike | None = None,
        net: nn.Module | None = None,
        num_flow_updates: int = 12,
        device: str | torch.device = "cpu",
    ):
        if net is None:
            from torchvision.models.optical_flow import raft_large, raft_small

            builders = {"raft_large": raft_large, "raft_small": raft_small}
            if name not in builders:
                raise ValueError(f"unknown RAFT {name!r}; use one of {sorted(builders)}")
            net = builders[name](weights=None)
            net.load_state_dict(load_weights(name, path))
        self.net = net.eval().to(device)
        self.device = device
        self.num_flow_updates = num_flow_updates

    @torch.no_grad()
    def __call__(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        def prep(x: np.ndarray) -> torch.Tensor:
            t = torch.from_numpy(x).to(self.device).permute(0, 3, 1, 2).float()
            return t / 127.5 - 1

        flows = self.net(prep(a), prep(b), num_flow_updates=self.num_flow_updates)
        return flows[-1].permute(0, 2, 3, 1).cpu().numpy()


FLOW_ESTIMATORS = ("dis", "farneback", "raft_large", "raft_small")


def flow_estimator(name: str = "dis", path: str | os.PathLike | None = None) -> FlowFn:
    """The estimator named in a config: one of :data:`FLOW_ESTIMATORS`."""
    if name in ("dis", "farneback"):
        return opencv_flow(name)
    if name in ("raft_large", "raft_small"):
        device = "cuda" if torch.cuda.is_available() else "cpu"
        return RAFTFlow(name, path, device=device)
    raise ValueError(f"unknown flow estimator {name!r}; use one of {FLOW_ESTIMATORS}")
