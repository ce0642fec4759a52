"""A skeleton-based action recogniser for onestyle Tables 2-3 (section 5.3).

onestyle trains PoseC3D ([8]) "on skeletal key points extracted from the video frames of our
training set" and reports its top-1/top-3 accuracy on generated videos. PoseC3D (a 3D CNN
over keypoint heatmap volumes, mmaction2) has no loader entry here, so the project's own
recogniser takes its place: the 17 COCO keypoints of the project's pose extractor
(:class:`~stylevideo.features.pose.PoseKeypoints`, torchvision's Keypoint R-CNN) per frame,
normalised per video, and a small temporal CNN over the keypoint sequence.
:class:`SkeletonActionModule` trains it with ``lightning fit`` on a data module's training
split::

    lightning fit --model stylevideo.metrics.skeleton_action.SkeletonActionModule \\
        --model.num_classes 27 --data stylevideo.data_modules.utdmhad.UTDMHADDataModule ...

Its numbers are not PoseC3D's: :func:`load_action_recognizer` returns every recogniser (this
one or the RGB :class:`~stylevideo.metrics.action.ActionRecognizerModule`) with a
``description`` that the evaluation prints next to the number.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor, nn

from stylevideo.metrics.action import ActionAccuracy, ClassifierModule
from stylevideo.metrics.utils import to_uint8_numpy

__all__ = [
    "CachedKeypoints",
    "SkeletonActionModule",
    "SkeletonActionRecognizer",
    "SkeletonClassifier",
    "keypoint_sequences",
    "load_action_recognizer",
    "recognizer_description",
]

#: ``uint8 [N, H, W, 3]`` -> ``[N, P, 2]`` pixel (x, y), NaN where a keypoint is not found.
KeypointFn = Callable[[np.ndarray], np.ndarray]

SKELETON = (
    "skeleton: 17 COCO keypoints (torchvision Keypoint R-CNN) + temporal CNN (SkeletonActionModule), "
    "not onestyle's PoseC3D"
)
RGB = "RGB: 3D CNN on frames (ActionRecognizerModule), not onestyle's skeleton-based PoseC3D"


class CachedKeypoints:
    """``keypoints`` computed once per distinct frame (frames keyed by a hash of their pixels),
    so that training epochs over the same videos run the pose network once."""

    def __init__(self, keypoints: KeypointFn):
        self.keypoints, self.cache = keypoints, {}

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        keys = [hashlib.blake2b(f.tobytes(), digest_size=16).digest() for f in frames]
        todo = sorted({i for i, k in enumerate(keys) if k not in self.cache})
        if todo:
            for i, points in zip(todo, self.keypoints(frames[todo]), strict=True):
                self.cache[keys[i]] = np.asarray(points, dtype=np.float32)
        return np.stack([self.cache[k] for k in keys])


def keypoint_sequences(keypoints: KeypointFn, videos: Tensor) -> Tensor:
    """``[B, T, 3, H, W]`` -> ``[B, T, P, 3]``: keypoints normalised per video, and visibility.

    Coordinates are divided by the frame size, then centred on the mean of the video's found
    keypoints and divided by their spread (position and scale of the actor do not matter);
    a missing keypoint is 0 with visibility 0.
    """
    b, t, _, h, w = videos.shape
    points = keypoints(to_uint8_numpy(videos.flatten(0, 1)))
    x = torch.as_tensor(np.asarray(points), dtype=torch.float32).unflatten(0, (b, t)) / torch.tensor([w, h])
    seen = torch.isfinite(x).all(-1, keepdim=True)
    x = x.nan_to_num(0.0)
    count = seen.sum(dim=(1, 2), keepdim=True).clamp(min=1)
    centre = (x * seen).sum(dim=(1, 2), keepdim=True) / count
    spread = (((x - centre) * seen).square().sum(dim=(1, 2, 3), keepdim=True) / count).sqrt().clamp(min=1e-3)
    return torch.cat([(x - centre) / spread * seen, seen.float()], dim=-1)


class SkeletonClassifier(nn.Module):
    """A temporal CNN over keypoint sequences ``[B, T, P, 3]`` -> logits ``[B, C]``."""

    def __init__(self, num_classes: int, num_points: int = 17, width: int = 64, blocks: int = 3):
        super().__init__()
        layers: list[nn.Module] = [nn.Conv1d(3 * num_points, width, 5, padding=2), nn.GroupNorm(8, width), nn.SiLU()]
        for _ in range(blocks - 1):
            layers += [nn.Conv1d(width, width, 3, stride=2, padding=1), nn.GroupNorm(8, width), nn.SiLU()]
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(width, num_classes)

    def forward(self, sequences: Tensor) -> Tensor:
        return self.head(self.features(sequences.flatten(2).transpose(1, 2)).mean(dim=2))


class SkeletonActionRecognizer(nn.Module):
    """Videos ``[B, T, 3, H, W]`` in [-1, 1] -> logits: keypoints, then the classifier."""

    description = SKELETON

    def __init__(self, classifier: SkeletonClassifier, keypoints: KeypointFn):
        super().__init__()
        self.classifier, self.keypoints = classifier, keypoints

    def forward(self, videos: Tensor) -> Tensor:
        device = next(self.classifier.parameters()).device
        return self.classifier(keypoint_sequences(self.keypoints, videos).to(device))


class SkeletonActionModule(ClassifierModule):
    """Trains :class:`SkeletonClassifier` (:class:`~stylevideo.metrics.action.ClassifierModule`'s
    steps: cross-entropy on batches ``{"frames", <label>}``, ``val/top1`` and ``val/top3``).

    Args:
        num_classes: actions (UTD-MHAD: 27).
        label: the batch key of the class id.
        num_points, width, blocks: the classifier (17 COCO keypoints).
        lr: Adam's learning rate.
        pose_weights: Keypoint R-CNN file (default: the weight cache); ``pose_size``: its input side.
        keypoints: a keypoint function replacing the pose network (tests).
    """

    def __init__(
        self,
        num_classes: int,
        label: str = "action",
        num_points: int = 17,
        width: int = 64,
        blocks: int = 3,
        lr: float = 1e-3,
        pose_weights: str | None = None,
        pose_size: int = 256,
        keypoints: KeypointFn | None = None,
    ):
        super().__init__()
        self.save_hyperparameters(ignore=["keypoints"])
        self.classifier = SkeletonClassifier(num_classes, num_points, width, blocks)
        self._keypoints = None if keypoints is None else CachedKeypoints(keypoints)
        self.val_accuracy = ActionAccuracy(num_classes=num_classes)

    @property
    def keypoints(self) -> CachedKeypoints:
        """The pose network (built on first use, on this module's device), cached per frame."""
        if self._keypoints is None:
            from stylevideo.features.pose import PoseKeypoints

            hp = self.hparams
            self._keypoints = CachedKeypoints(PoseKeypoints(hp.pose_weights, size=hp.pose_size, device=self.device))
        return self._keypoints

    def forward(self, videos: Tensor) -> Tensor:
        return self.classifier(keypoint_sequences(self.keypoints, videos).to(self.device))

    def configure_optimizers(self):
        return torch.optim.Adam(self.classifier.parameters(), lr=self.hparams.lr)

    def recognizer(self) -> SkeletonActionRecognizer:
        """The trained recogniser (eval mode) for :class:`~stylevideo.metrics.action.ActionAccuracy`."""
        return SkeletonActionRecognizer(self.classifier.eval(), self.keypoints)


def _is_skeleton(checkpoint: str | os.PathLike) -> bool:
    if not os.path.isfile(checkpoint):
        raise FileNotFoundError(f"action recogniser checkpoint {checkpoint} does not exist")
    hparams = torch.load(checkpoint, map_location="cpu", weights_only=True).get("hyper_parameters", {})
    return "num_points" in hparams


def recognizer_description(checkpoint: str | os.PathLike) -> str:
    """Which recogniser a checkpoint holds (skeleton or RGB), in words, without building it."""
    return SKELETON if _is_skeleton(checkpoint) else RGB


def load_action_recognizer(
    checkpoint: str | os.PathLike,
    keypoints: KeypointFn | None = None,
    *,
    pose_weights: str | os.PathLike | None = None,
    device: str | torch.device = "cpu",
) -> nn.Module:
    """The recogniser of a :class:`SkeletonActionModule` or an RGB
    :class:`~stylevideo.metrics.action.ActionRecognizerModule` checkpoint, in eval mode on
    ``device``, with its ``description`` (which recogniser made a number). The pose network of a
    skeleton recogniser: ``keypoints``, else Keypoint R-CNN from ``pose_weights`` (default: the
    weight cache, not the path the checkpoint was trained with) at its ``pose_size``, on ``device``."""
    from stylevideo.metrics.action import ActionRecognizerModule

    if _is_skeleton(checkpoint):
        module = SkeletonActionModule.load_from_checkpoint(
            checkpoint,
            map_location="cpu",
            keypoints=keypoints,
            pose_weights=None if pose_weights is None else str(pose_weights),
        )
        return module.to(device).recognizer()
    net = ActionRecognizerModule.classifier(checkpoint).to(device)
    net.description = RGB
    return net
