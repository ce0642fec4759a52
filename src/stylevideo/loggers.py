"""Loggers: W&B that works without an account (offline unless the user is logged in), and a
CSV logger that survives resuming."""

from __future__ import annotations

import csv
import netrc
import os

from lightning.pytorch.loggers import CSVLogger as _LightningCSVLogger
from lightning.pytorch.loggers import WandbLogger as _LightningWandbLogger
from lightning.pytorch.loggers.csv_logs import ExperimentWriter
from lightning.pytorch.loggers.logger import rank_zero_experiment

__all__ = ["CSVLogger", "WandbLogger", "wandb_logged_in"]


def wandb_logged_in() -> bool:
    """True when W&B can sync: an API key in the environment or in ~/.netrc."""
    if os.environ.get("WANDB_API_KEY"):
        return True
    try:
        return netrc.netrc().authenticators("api.wandb.ai") is not None
    except (FileNotFoundError, netrc.NetrcParseError):
        return False


class WandbLogger(_LightningWandbLogger):
    """Lightning's WandbLogger, offline by default unless the user is logged in.

    ``offline=None`` (the default) decides from ``WANDB_MODE`` if set, else from
    whether an API key is available. The CLI sets ``save_dir``, ``name``, ``group``
    and ``id`` from the experiment and run folder.
    """

    def __init__(self, project: str = "stylevideo", offline: bool | None = None, **kwargs):
        if offline is None:
            mode = os.environ.get("WANDB_MODE")
            offline = mode in ("offline", "dryrun") if mode else not wandb_logged_in()
        super().__init__(project=project, offline=offline, **kwargs)


class _ResumingWriter(ExperimentWriter):
    """Lightning's CSV writer, except that an existing ``metrics.csv`` (a resumed run) is kept:
    its rows before the first step logged now stay, the later ones (logged again after the
    resume) are replaced."""

    def _check_log_dir_exists(self) -> None:
        self._pruned = not self._fs.isfile(self.metrics_file_path)
        if not self._pruned:
            with self._fs.open(self.metrics_file_path, "r", newline="") as f:
                self.metrics_keys = sorted(csv.DictReader(f).fieldnames or [])

    def save(self) -> None:
        if not self._pruned and self.metrics:
            first = min(m["step"] for m in self.metrics)
            with self._fs.open(self.metrics_file_path, "r", newline="") as f:
                kept = [row for row in csv.DictReader(f) if int(row["step"]) < first]
            with self._fs.open(self.metrics_file_path, "w", newline="") as f:
                writer = csv.DictWriter(f, fieldnames=self.metrics_keys)
                writer.writeheader()
                writer.writerows(kept)
            self._pruned = True
        super().save()


class CSVLogger(_LightningCSVLogger):
    """Lightning's CSVLogger that continues ``metrics.csv`` when a run is resumed in its folder
    (Lightning's deletes it), so the file holds the whole run."""

    @property
    @rank_zero_experiment
    def experiment(self) -> ExperimentWriter:
        if self._experiment is None:
            self._fs.makedirs(self.root_dir, exist_ok=True)
            self._experiment = _ResumingWriter(log_dir=self.log_dir)
        return self._experiment
