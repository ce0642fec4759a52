"""What every metric callback shares: when to run, where videos come from, how results
are published.

Videos come only from the module's generation interface (``sample_videos`` or
``animate``) and real data only from the datamodule's ``clip_dataloader`` (clips) and
``frame_dataloader`` (frames drawn over whole videos), so every method gets every metric.
Work is split across DDP ranks by batch index (generated batch ``i`` is made by rank
``i % world_size`` with seed ``seed + i``; real batches are sharded the same way), so the
result does not depend on the number of ranks, and each metric's states are summed across
ranks when it is computed. The metrics are built in ``setup`` (before the first step) and
their states live on the LightningModule's device, as the process group that gathers them
(NCCL on GPUs) requires; extractors that run on the CPU (dlib, OpenCV flow) feed them
numbers.

Modes (where the evaluated videos come from):

- ``sample``: ``sample_videos(n, T, fps_scale=..., seed=..., **conditions)``;
- ``reconstruct``: ``animate(clip[:, 0], clip, relative=False)`` for real clips, the
  same-identity reconstruction of lia 4.2 (a) (ground truth: the clip);
- ``cross``: ``animate(other_clip[:, 0], clip, relative=True)``, the source frame taken
  from the next clip of the batch (cross-identity motion transfer, lia 4.2 (b));
- ``edit``: ``edit(clip, source_texts, target_texts)``, each clip edited towards the
  description of the next clip of the batch (vidstyleode 4, text-guided manipulation).
  Descriptions: the batch's ``text``, else the module's ``descriptions(batch)``.

Results are logged under the papers' names to every logger (``pl_module.log``) and
appended to ``<checkpoint folder>/metrics.json``.
"""

from __future__ import annotations

import abc
import json
import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch import Callback, LightningModule, Trainer
from lightning.pytorch.trainer.states import TrainerFn
from lightning.pytorch.utilities import rank_zero_info
from torch import Tensor
from torch.utils.data import DataLoader, Subset
from torchmetrics import Metric

__all__ = ["MODES", "MetricCallback"]

MODES = ("sample", "reconstruct", "cross", "edit")


class MetricCallback(Callback, abc.ABC):
    """Base of the metric families; subclasses implement :meth:`build` and :meth:`evaluate`.

    Args:
        metrics: metric names of the family (see the subclass).
        mode: ``sample``, ``reconstruct`` or ``cross`` (see the module docstring).
        every_n_steps: run after every n-th training step (0: never).
        every_n_epochs: run after every n-th validation epoch (0: never).
        on_test: run at the end of ``trainer.test`` and of a standalone ``trainer.validate``
            (the full protocol of a checkpoint: ``lightning test --ckpt_path ...``).
        seed: base seed of the generated batches (same seed, same videos).
        batch_size: videos per generation call and per real batch.
        split: datamodule split of the real clips.
        fps_scale: passed to ``sample_videos``.
        conditions: fixed keyword arguments of ``sample_videos`` (e.g. ``{emotion: 3}``).
        condition_keys: labels drawn per video with the batch's seed and passed to
            ``sample_videos`` (e.g. ``[actor, action]`` for onestyle (C)); a key the caller
            gives explicitly is never replaced.
        condition_sampling: ``split`` (default): each generated video takes the labels of a
            uniformly drawn video of ``split``, so only label combinations that exist are
            generated, with their frequency (StyleGAN-V, ``src/metrics/metric_utils.py:306-307``);
            ``uniform``: each key uniformly over its classes, independently.
        weights: explicit weight files, loader name -> path (else the weight cache).
        prefix: prepended to every logged name.
        extractors: feature extractors replacing the pretrained ones (tests, benchmarks).
    """

    family = "metrics"
    known: tuple[str, ...] = ()

    def __init__(
        self,
        metrics: list[str],
        mode: str = "sample",
        every_n_steps: int = 0,
        every_n_epochs: int = 0,
        on_test: bool = True,
        seed: int = 0,
        batch_size: int = 16,
        split: str = "train",
        fps_scale: float = 1.0,
        conditions: dict[str, Any] | None = None,
        condition_keys: list[str] | None = None,
        condition_sampling: str = "split",
        weights: dict[str, str] | None = None,
        prefix: str = "",
        extractors: dict[str, Any] | None = None,
    ):
        if mode not in MODES:
            raise ValueError(f"{type(self).__name__}: mode must be one of {MODES}, got {mode!r}")
        self.metrics = [self.check_name(m) for m in metrics]
        if not self.metrics:
            raise ValueError(f"{type(self).__name__}: no metrics requested")
        self.mode = mode
        self.every_n_steps, self.every_n_epochs, self.on_test = (
            every_n_steps,
            every_n_epochs,
            on_test,
        )
        self.seed, self.batch_size, self.split, self.fps_scale = seed, batch_size, split, fps_scale
        if condition_sampling not in ("split", "uniform"):
            raise ValueError(
                f"{type(self).__name__}: condition_sampling is 'split' or 'uniform', got {condition_sampling!r}"
            )
        self.conditions = dict(conditions or {})
        self.condition_keys = list(condition_keys or [])
        self.condition_sampling = condition_sampling
        self.weights = dict(weights or {})
        self.prefix = prefix
        self.extractors = dict(extractors or {})
        self.history: list[dict[str, Any]] = []
        self.scores: dict[str, Metric] = {}

    def check_name(self, name: str) -> str:
        if name not in self.known:
            raise ValueError(f"{type(self).__name__}: unknown metric {name!r}; known: {self.known}")
        return name

    # --- what a run needs (stylevideo.features.requirements) ----------------------------

    def runs_in(self, stage: str | None) -> bool:
        """Whether this callback evaluates during ``stage`` (``None``: any stage)."""
        if stage is None:
            return True
        if stage == "fit":
            return self.every_n_steps > 0 or self.every_n_epochs > 0
        return stage in ("validate", "test") and self.on_test

    def required_weights(self, stage: str | None = None) -> dict[str, str | None]:
        """Registered weight files the family loads (loader name -> configured path); none here."""
        return {}

    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        """Before the first step: every file and package the run needs (model, data, every
        callback) is there, or one error lists all that are missing; then this family's
        metrics are built on the module's device (in the stages it evaluates in)."""
        from stylevideo.features.requirements import check, from_trainer

        check(from_trainer(trainer, pl_module, stage))
        if self.runs_in(stage):
            self.prepare(trainer, pl_module)

    # --- when -------------------------------------------------------------------------

    def on_train_batch_end(self, trainer: Trainer, pl_module: LightningModule, *args) -> None:
        step = trainer.global_step
        if self.every_n_steps > 0 and step > 0 and step % self.every_n_steps == 0:
            self.run(trainer, pl_module, "fit")

    def on_validation_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if trainer.sanity_checking:
            return
        if trainer.state.fn == TrainerFn.VALIDATING:  # `lightning validate --ckpt_path ...`
            if self.on_test:
                self.run(trainer, pl_module, "validate")
        elif self.every_n_epochs > 0 and (trainer.current_epoch + 1) % self.every_n_epochs == 0:
            self.run(trainer, pl_module, "validate")

    def on_test_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if self.on_test:
            self.run(trainer, pl_module, "test")

    # --- what -------------------------------------------------------------------------

    @abc.abstractmethod
    def build(self, trainer: Trainer) -> dict[str, Metric]:
        """The family's metrics (feature extractors resolved), by name."""

    @abc.abstractmethod
    def evaluate(self, trainer: Trainer, pl_module: LightningModule) -> dict[str, Tensor]:
        """The family's numbers from freshly reset :attr:`scores`, computed (synced) on every rank."""

    def prepare(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """Build the metrics once and put their states on the module's device (Lightning sets
        ``pl_module.device`` to the run's device before ``setup``)."""
        if not self.scores:
            self.scores = self.build(trainer)
        for metric in self.scores.values():
            metric.to(pl_module.device)

    def run(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> dict[str, float]:
        self.check_module(pl_module)
        self.prepare(trainer, pl_module)
        for metric in self.scores.values():
            metric.reset()
        was_training = pl_module.training
        pl_module.eval()
        try:
            with torch.no_grad():
                results = {k: float(v) for k, v in self.evaluate(trainer, pl_module).items()}
        finally:
            pl_module.train(was_training)
        named = {self.prefix + k: v for k, v in results.items()}
        self.publish(trainer, pl_module, named, stage)
        record = {
            "family": self.family,
            "stage": stage,
            "step": trainer.global_step,
            "epoch": trainer.current_epoch,
            "ckpt_path": str(trainer.ckpt_path) if trainer.ckpt_path else None,
            "metrics": named,
        }
        self.history.append(record)
        if trainer.is_global_zero:
            path = self.json_path(trainer)
            append_json(path, record)
            rank_zero_info(f"{type(self).__name__} ({stage}, step {trainer.global_step}): {named} -> {path}")
        return named

    @staticmethod
    def publish(trainer: Trainer, pl_module: LightningModule, named: dict[str, float], stage: str):
        """To every logger: directly during training steps (Lightning would hold step logs
        back to its ``log_every_n_steps`` grid), through ``pl_module.log`` at epoch ends.
        Also into ``trainer.callback_metrics``, so checkpoints can monitor them."""
        if stage == "fit":
            if trainer.is_global_zero:
                for logger in trainer.loggers:
                    logger.log_metrics(named, step=trainer.global_step)
            trainer.callback_metrics.update({k: torch.tensor(v) for k, v in named.items()})
        else:
            for name, value in named.items():
                pl_module.log(name, value, on_step=False, on_epoch=True, sync_dist=False)

    def check_module(self, pl_module: LightningModule) -> None:
        need = {"sample": "sample_videos", "edit": "edit"}.get(self.mode, "animate")
        if not hasattr(pl_module, need):
            raise TypeError(
                f"{type(self).__name__} in mode {self.mode!r} needs {type(pl_module).__name__}."
                f"{need}(), which it does not define"
            )

    @staticmethod
    def json_path(trainer: Trainer) -> Path:
        """``metrics.json`` next to the checkpoints (or the tested checkpoint)."""
        if trainer.ckpt_path and Path(trainer.ckpt_path).is_file():
            return Path(trainer.ckpt_path).parent / "metrics.json"
        ckpt = trainer.checkpoint_callback
        folder = getattr(ckpt, "dirpath", None) or trainer.default_root_dir
        return Path(folder) / "metrics.json"

    # --- where videos come from -------------------------------------------------------

    @staticmethod
    def _rank(trainer: Trainer) -> tuple[int, int]:
        return trainer.global_rank, max(1, trainer.world_size)

    def _datamodule(self, trainer: Trainer, loader: str):
        dm = trainer.datamodule
        if dm is None or not hasattr(dm, loader):
            raise TypeError(f"{type(self).__name__} needs a datamodule with {loader}()")
        return dm

    def _shard(self, trainer: Trainer, loader: DataLoader) -> DataLoader:
        """This rank's items of ``loader`` (items ``rank``, ``rank + world``, ...)."""
        rank, world = self._rank(trainer)
        if world == 1:
            return loader
        return DataLoader(
            Subset(loader.dataset, list(range(rank, len(loader.dataset), world))),
            batch_size=loader.batch_size,
            collate_fn=loader.collate_fn,
            num_workers=loader.num_workers,
        )

    def real_batches(
        self, trainer: Trainer, num_frames: int, max_clips: int | None, stride: int = 1
    ) -> Iterator[dict[str, Any]]:
        """This rank's share of real clip batches (``frames [B, num_frames, 3, H, W]``, every
        ``stride``-th frame, labels, text..., and ``index``: each clip's global index), one
        clip per video."""
        dm = self._datamodule(trainer, "clip_dataloader")
        loader = dm.clip_dataloader(
            num_frames, split=self.split, max_clips=max_clips, batch_size=self.batch_size, stride=stride
        )
        yield from self._shard(trainer, loader)

    def real_frame_batches(self, trainer: Trainer, num_samples: int) -> Iterator[dict[str, Any]]:
        """This rank's share of ``num_samples`` real frames drawn over whole videos of the split
        (``frames [N, 3, H, W]``, ``index``: each frame's draw number)."""
        dm = self._datamodule(trainer, "frame_dataloader")
        loader = dm.frame_dataloader(num_samples, split=self.split, batch_size=self.batch_size)
        yield from self._shard(trainer, loader)

    def real_clips(self, trainer: Trainer, num_frames: int, max_clips: int | None) -> Iterator[Tensor]:
        """The frames of :meth:`real_batches`."""
        for batch in self.real_batches(trainer, num_frames, max_clips):
            yield batch["frames"]

    def generated(
        self, trainer: Trainer, pl_module: LightningModule, n: int, num_frames: int
    ) -> Iterator[tuple[Tensor, Tensor]]:
        """This rank's share of ``n`` seeded generated videos: ``(global indices, videos)``;
        batch ``i`` is generated with seed ``seed + i``."""
        rank, world = self._rank(trainer)
        for i in range(math.ceil(n / self.batch_size)):
            if i % world != rank:
                continue
            start = i * self.batch_size
            m = min(self.batch_size, n - start)
            videos = self.sample(trainer, pl_module, m, num_frames, self.seed + i)
            yield torch.arange(start, start + m), videos

    def sample(self, trainer, pl_module, m: int, num_frames: int, seed: int, **extra) -> Tensor:
        """``m`` videos from ``sample_videos``; the ``condition_keys`` not given in ``extra``
        or ``conditions`` are drawn with ``seed`` (see ``condition_sampling``)."""
        conditions = dict(self.conditions, **extra)
        missing = [k for k in self.condition_keys if k not in conditions]
        drawn = self.draw_conditions(trainer.datamodule, missing, m, seed)
        conditions.update({k: v.to(pl_module.device) for k, v in drawn.items()})
        return pl_module.sample_videos(m, num_frames, fps_scale=self.fps_scale, seed=seed, **conditions)

    def draw_conditions(self, datamodule, keys: list[str], m: int, seed: int) -> dict[str, Tensor]:
        """Label ids ``[m]`` for each of ``keys``, drawn with ``seed``."""
        if not keys:
            return {}
        g = torch.Generator().manual_seed(seed)
        if self.condition_sampling == "uniform":
            return {k: torch.randint(datamodule.num_classes(k), (m,), generator=g) for k in keys}
        maps = datamodule.label_maps
        table = torch.tensor([[maps[k][r.labels[k]] for k in keys] for r in datamodule.records(self.split)])
        if not len(table):
            raise ValueError(f"{type(self).__name__}: no {self.split!r} videos to draw {keys} from")
        rows = table[torch.randint(len(table), (m,), generator=g)]
        return {k: rows[:, j] for j, k in enumerate(keys)}

    def animated(self, pl_module: LightningModule, batch: dict[str, Any]) -> Tensor:
        """The module's video for a real ``batch`` in this callback's mode."""
        clips = batch["frames"].to(pl_module.device)
        if self.mode == "reconstruct":
            return pl_module.animate(clips[:, 0], clips, relative=False)
        if self.mode == "cross":
            return pl_module.animate(clips.roll(1, dims=0)[:, 0], clips, relative=True)
        sources, targets = self.edit_texts(pl_module, batch)
        return pl_module.edit(clips, sources, targets)

    @staticmethod
    def edit_texts(pl_module: LightningModule, batch: dict[str, Any]) -> tuple[list, list]:
        """(own description, next clip's description) per clip of ``batch``."""
        if "text" in batch:
            texts = list(batch["text"])
        elif callable(getattr(pl_module, "descriptions", None)):
            texts = list(pl_module.descriptions(batch))
        else:
            raise TypeError("mode 'edit' needs descriptions: batches with 'text' or a module with descriptions(batch)")
        return texts, texts[1:] + texts[:1]

    def extractor(self, name: str, build):
        """``extractors[name]`` if given, else ``build()`` (pretrained, from the loader)."""
        return self.extractors[name] if name in self.extractors else build()


def append_json(path: Path, record: dict[str, Any]) -> None:
    """Append ``record`` to the JSON list at ``path`` (written atomically)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    records = json.loads(path.read_text()) if path.is_file() else []
    records.append(record)
    tmp = path.with_suffix(f".json.tmp{os.getpid()}")
    tmp.write_text(json.dumps(records, indent=1))
    os.replace(tmp, path)
