"""Action recognition harness: top-k bookkeeping, and the small recogniser learns motion."""

from __future__ import annotations

import pytest
import torch
from lightning.pytorch import Trainer
from torch.utils.data import DataLoader

from stylevideo.metrics.action import ActionAccuracy, ActionRecognizerModule


def test_top_k_accuracy():
    logits = torch.tensor([[0.9, 0.5, 0.1, 0.0], [0.1, 0.2, 0.3, 0.4], [0.4, 0.1, 0.3, 0.2]])
    metric = ActionAccuracy(classifier=lambda v: v, num_classes=4, top_k=(1, 3))
    metric.update(logits, torch.tensor([0, 1, 1]))  # hit@1, hit@3, miss@3
    out = metric.compute()
    assert out["top1"].item() == pytest.approx(1 / 3) and out["top3"].item() == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="for 2 labels"):
        metric.update(logits, torch.tensor([0, 1]))


def _moving_dots(n: int, seed: int) -> list[dict]:
    """Two actions: a bright dot moving right (0) or down (1), random start, 8 frames."""
    g = torch.Generator().manual_seed(seed)
    batches = []
    for _ in range(n):
        labels = torch.randint(0, 2, (8,), generator=g)
        frames = -torch.ones(8, 8, 3, 16, 16)
        start = torch.randint(2, 6, (8, 2), generator=g)
        for i, (label, (x, y)) in enumerate(zip(labels, start, strict=True)):
            for t in range(8):
                dx, dy = (t, 0) if label == 0 else (0, t)
                frames[i, t, :, y + dy : y + dy + 2, x + dx : x + dx + 2] = 1
        batches.append({"frames": frames, "action": labels})
    return batches


def test_small_recogniser_learns_two_motions_and_loads_from_its_checkpoint(tmp_path):
    torch.manual_seed(0)
    module = ActionRecognizerModule(num_classes=2, width=4, size=16, lr=3e-3)
    trainer = Trainer(
        max_steps=12,
        accelerator="cpu",
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=tmp_path,
        num_sanity_val_steps=0,
    )
    trainer.fit(module, DataLoader(_moving_dots(12, 0), batch_size=None))
    trainer.save_checkpoint(tmp_path / "recogniser.ckpt")
    metric = ActionAccuracy(ActionRecognizerModule.classifier(tmp_path / "recogniser.ckpt"), num_classes=2, top_k=(1,))
    for batch in _moving_dots(4, 1):
        metric.update(batch["frames"], batch["action"])
    assert metric.compute()["top1"].item() >= 0.9
