"""Body keypoints for AKD/MKR on TaiChi and TED (lia B.2): torchvision's Keypoint R-CNN
(17 COCO keypoints) with its released weights through the loader.

lia used OpenPose; no OpenPose weights exist in a PyTorch format the loader can serve, so
the body AKD/MKR here come from Keypoint R-CNN and are labelled as such. A keypoint counts
as missing when no person is detected or its score is below ``keypoint_threshold``.
"""

from __future__ import annotations

import os

import numpy as np
import torch
from torch import nn

from stylevideo.features.weights import TORCHVISION_PREFIX, load_weights, register_weights

__all__ = ["KEYPOINT_RCNN_WEIGHTS", "PoseKeypoints"]

KEYPOINT_RCNN_WEIGHTS = "keypointrcnn_coco"
register_weights(
    KEYPOINT_RCNN_WEIGHTS,
    "keypointrcnn_resnet50_fpn_coco-fc266e95.pth",
    url="https://download.pytorch.org/models/keypointrcnn_resnet50_fpn_coco-fc266e95.pth",
    description="torchvision Keypoint R-CNN ResNet-50-FPN (COCO person keypoints)",
    sha256="fc266e95",
    sha256_source=TORCHVISION_PREFIX.format(fn="detection.keypointrcnn_resnet50_fpn"),
)


class PoseKeypoints:
    """``uint8 [N, H, W, 3]`` -> ``[N, 17, 2]`` keypoints of the highest-scoring person.

    ``size`` is the short side the detector resizes frames to (torchvision's default 800
    is wasteful for 256px videos); ``net`` replaces the loaded network.
    """

    def __init__(
        self,
        path: str | os.PathLike | None = None,
        net: nn.Module | None = None,
        size: int = 256,
        person_threshold: float = 0.5,
        keypoint_threshold: float = 0.0,
        device: str | torch.device = "cpu",
    ):
        if net is None:
            from torchvision.models.detection import keypointrcnn_resnet50_fpn

            state = load_weights(KEYPOINT_RCNN_WEIGHTS, path)
            net = keypointrcnn_resnet50_fpn(weights=None, weights_backbone=None, min_size=size, max_size=2 * size)
            net.load_state_dict(state)
        self.net = net.eval().to(device)
        self.device = device
        self.person_threshold, self.keypoint_threshold = person_threshold, keypoint_threshold

    @torch.no_grad()
    def __call__(self, frames: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(frames).to(self.device).permute(0, 3, 1, 2).float() / 255
        out = np.full((len(frames), 17, 2), np.nan)
        for i, det in enumerate(self.net(list(x))):
            people = det["scores"] >= self.person_threshold
            if not people.any():
                continue
            best = int(det["scores"].masked_fill(~people, -1).argmax())
            kp = det["keypoints"][best, :, :2].cpu().numpy()
            seen = (det["keypoints_scores"][best] > self.keypoint_threshold).cpu().numpy()
            out[i][seen] = kp[seen]
        return out
