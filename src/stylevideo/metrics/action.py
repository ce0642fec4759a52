"""Action recognition accuracy of generated videos (onestyle Sec. 5.3, Tables 2-3).

onestyle trains a skeleton-based recogniser ([8]) on the real training set and reports
its top-1/top-3 accuracy on videos generated for unseen (actor, action) pairs. Here the
harness (:class:`ActionAccuracy`) takes any classifier mapping videos ``[B, T, 3, H, W]``
in [-1, 1] to logits ``[B, C]``; :class:`ActionRecognizer` is a small 3D CNN the project
trains on its own data with :class:`ActionRecognizerModule` (``lightning fit --model
stylevideo.metrics.action.ActionRecognizerModule --data ...``). Numbers from it are not
those of the paper's recogniser: report which classifier produced them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from einops import rearrange
from lightning.pytorch import LightningModule
from torch import Tensor, nn
from torchmetrics import Metric
from torchmetrics.classification import MulticlassAccuracy

__all__ = ["ActionAccuracy", "ActionRecognizer", "ActionRecognizerModule", "ClassifierModule"]


class ActionAccuracy(Metric):
    """Top-k accuracy of a classifier on (generated) videos; ``update(videos, labels)``.

    One torchmetrics ``MulticlassAccuracy(num_classes, top_k=k, average="micro")`` per k (k
    capped at ``num_classes``). Without a ``classifier``, ``update`` takes logits ``[B, C]``
    instead of videos. ``compute`` returns ``{"top1": ..., "top3": ...}`` for ``top_k=(1, 3)``.
    """

    higher_is_better = True
    is_differentiable = False
    full_state_update = False

    def __init__(
        self,
        classifier: Callable[[Tensor], Tensor] | None = None,
        *,
        num_classes: int,
        top_k: Sequence[int] = (1, 3),
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.classifier = classifier
        self.num_classes, self.top_k = num_classes, tuple(top_k)
        self.accuracies = nn.ModuleList(
            MulticlassAccuracy(num_classes, top_k=min(k, num_classes), average="micro") for k in self.top_k
        )

    @torch.no_grad()
    def update(self, videos: Tensor, labels: Tensor) -> None:
        logits = videos if self.classifier is None else self.classifier(videos)
        if logits.shape != (len(labels), self.num_classes):
            raise ValueError(
                f"classifier returned {tuple(logits.shape)} for {len(labels)} labels of {self.num_classes} classes"
            )
        for accuracy in self.accuracies:
            accuracy.update(logits, labels.to(logits.device))

    def compute(self) -> dict[str, Tensor]:
        return {f"top{k}": acc.compute() for k, acc in zip(self.top_k, self.accuracies, strict=True)}

    def reset(self) -> None:
        super().reset()
        for accuracy in self.accuracies:
            accuracy.reset()


class ActionRecognizer(nn.Module):
    """A small 3D CNN: frames resized to ``size``, three strided 3D conv blocks, global pool."""

    def __init__(self, num_classes: int, width: int = 32, size: int = 64):
        super().__init__()
        self.size = size

        def block(cin: int, cout: int) -> nn.Sequential:
            return nn.Sequential(
                nn.Conv3d(cin, cout, 3, stride=(1, 2, 2), padding=1),
                nn.GroupNorm(min(8, cout), cout),
                nn.SiLU(),
                nn.Conv3d(cout, cout, 3, stride=(2, 1, 1), padding=1),
                nn.GroupNorm(min(8, cout), cout),
                nn.SiLU(),
            )

        self.features = nn.Sequential(block(3, width), block(width, 2 * width), block(2 * width, 4 * width))
        self.head = nn.Linear(4 * width, num_classes)

    def forward(self, videos: Tensor) -> Tensor:
        b = videos.shape[0]
        x = rearrange(videos, "b t c h w -> (b t) c h w")
        if x.shape[-2:] != (self.size, self.size):
            x = F.interpolate(x, size=(self.size, self.size), mode="bilinear", antialias=True)
        x = rearrange(x, "(b t) c h w -> b c t h w", b=b)
        return self.head(self.features(x).mean(dim=(2, 3, 4)))


class ClassifierModule(LightningModule):
    """The training of a video classifier (``forward(frames) -> logits``) on batches ``{"frames",
    <hparams.label>}``: cross-entropy, logs ``train/loss`` and ``val/top1``, ``val/top3``
    (``self.val_accuracy``: an :class:`ActionAccuracy`)."""

    def training_step(self, batch: dict, batch_idx: int) -> Tensor:
        loss = F.cross_entropy(self(batch["frames"]), batch[self.hparams.label])
        self.log("train/loss", loss, prog_bar=True, batch_size=len(batch["frames"]))
        return loss

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        self.val_accuracy.update(self(batch["frames"]), batch[self.hparams.label])

    def on_validation_epoch_end(self) -> None:
        self.log_dict({f"val/{k}": v for k, v in self.val_accuracy.compute().items()})
        self.val_accuracy.reset()


class ActionRecognizerModule(ClassifierModule):
    """Trains :class:`ActionRecognizer` (:class:`ClassifierModule`'s steps)."""

    def __init__(
        self,
        num_classes: int,
        label: str = "action",
        width: int = 32,
        size: int = 64,
        lr: float = 1e-3,
    ):
        super().__init__()
        self.save_hyperparameters()
        self.net = ActionRecognizer(num_classes, width, size)
        self.val_accuracy = ActionAccuracy(num_classes=num_classes)

    def forward(self, videos: Tensor) -> Tensor:
        return self.net(videos)

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=self.hparams.lr)

    @classmethod
    def classifier(cls, checkpoint: str | os.PathLike) -> ActionRecognizer:
        """The trained network of a checkpoint, in eval mode, for :class:`ActionAccuracy`."""
        return cls.load_from_checkpoint(checkpoint, map_location="cpu").net.eval()
