"""The command line: ``lightning``, ``stylevideo`` and ``python -m stylevideo``.

LightningCLI in subclass mode for the model and the data, plus three things of our own:

- **config composition**: an experiment YAML may start with ``base: <file>`` (relative to
  itself); the CLI expands it to ``--config <base> --config <experiment>`` so that the
  experiment overrides the base (and ``trainer.callbacks+:`` appends to the base list);
- **the run folder**: every output of a run (checkpoints, sample videos, the W&B offline
  run, the CSV metrics, the resolved ``config.yaml``) goes to
  ``runs/<experiment>/<run_id>``; ``--run_dir`` chooses it, ``--experiment`` names it
  (default: the last config file's stem), and ``--ckpt_path last`` without ``--run_dir``
  continues the newest run of the experiment;
- **config logging**: the full resolved configuration is logged to every logger;
- **run safety**: every trainer gets the :class:`~stylevideo.callbacks.run_state.RunState`
  callback (per-rank random streams, exactly resumable) and the
  :class:`~stylevideo.checkpoint.AtomicCheckpointIO` plugin (atomic checkpoint writes,
  ``weights_only`` reads) unless its config already has them; ``lightning predict`` does not
  keep the predicted videos in memory (``--return_predictions`` defaults to false).
"""

from __future__ import annotations

import os
import re
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import yaml
from lightning.fabric.plugins import CheckpointIO
from lightning.pytorch import LightningDataModule, LightningModule
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.cli import LightningArgumentParser, LightningCLI, SaveConfigCallback
from lightning.pytorch.loggers import CSVLogger, WandbLogger

from stylevideo.callbacks.run_state import RunState
from stylevideo.checkpoint import AtomicCheckpointIO
from stylevideo.runtime import keep_freed_memory

__all__ = ["StyleVideoCLI", "expand_config_bases", "main"]

RUN_DIR_ENV = "STYLEVIDEO_RUN_DIR"


def _config_chain(path: Path, seen: tuple[Path, ...] = ()) -> list[Path]:
    """``path`` preceded by the chain of files its ``base:`` key extends."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"config file {path} does not exist")
    if path.resolve() in seen:
        raise ValueError(f"config {path} extends itself through 'base:' ({' -> '.join(map(str, seen))})")
    with open(path) as f:
        content = yaml.safe_load(f) or {}
    if not isinstance(content, dict):
        raise ValueError(f"config {path} must be a YAML mapping, got {type(content).__name__}")
    base = content.get("base")
    if base is None:
        return [path]
    return _config_chain(Path(os.path.normpath(path.parent / base)), seen + (path.resolve(),)) + [path]


def expand_config_bases(argv: list[str]) -> list[str]:
    """Replace each ``--config FILE`` by its base chain, outermost base first."""
    out: list[str] = []
    args = iter(argv)
    for arg in args:
        if arg == "--config" or arg.startswith("--config="):
            value = next(args, None) if arg == "--config" else arg.split("=", 1)[1]
            if value is None:
                raise SystemExit("--config needs a file")
            if value.lstrip().startswith("{") or not value.endswith((".yaml", ".yml")):
                out += ["--config", value]  # an inline config string: leave it to the parser
                continue
            for file in _config_chain(Path(value)):
                out += ["--config", str(file)]
        else:
            out.append(arg)
    return out


def _sweep_run_id() -> str | None:
    """The W&B run id a sweep agent gave this process (``wandb agent`` sets both variables)."""
    return os.environ.get("WANDB_RUN_ID") if os.environ.get("WANDB_SWEEP_ID") else None


def _run_id() -> tuple[str, bool]:
    """A run id that all ranks of one launch agree on, and whether the launcher gave it.

    A launcher's id (a W&B sweep agent's run, the SLURM job, a torchelastic rendezvous) names
    one folder that every rank, and a requeued SLURM job, uses as it is; a user's
    ``STYLEVIDEO_RUN_ID`` or the start time never reuses an existing folder.
    """
    if _sweep_run_id():
        return _sweep_run_id(), True
    for var in ("STYLEVIDEO_RUN_ID", "SLURM_JOB_ID", "TORCHELASTIC_RUN_ID"):
        value = os.environ.get(var)
        if value and value != "none":
            return value, var != "STYLEVIDEO_RUN_ID"
    return time.strftime("%Y%m%d-%H%M%S"), False


def _latest_run(experiment_dir: Path) -> Path | None:
    """The newest run folder of an experiment that holds ``checkpoints/last.ckpt``."""
    runs = [p.parent.parent for p in experiment_dir.glob("*/checkpoints/last.ckpt")]
    return max(runs, key=lambda p: (p / "checkpoints" / "last.ckpt").stat().st_mtime, default=None)


def resolve_run_dir(experiment: str, run_dir: str | None, ckpt_path: str | None, root: str = "runs") -> Path:
    """Where this run writes: explicit, inherited from the launching rank, resumed, or new."""
    if run_dir:
        return Path(run_dir)
    if os.environ.get(RUN_DIR_ENV) and (
        os.environ.get("LOCAL_RANK", "0") != "0" or os.environ.get("NODE_RANK", "0") != "0"
    ):
        return Path(os.environ[RUN_DIR_ENV])
    experiment_dir = Path(root) / experiment
    if ckpt_path == "last":
        latest = _latest_run(experiment_dir)
        if latest is not None:
            return latest
    run_id, shared = _run_id()
    candidate = experiment_dir / run_id
    n = 1
    while candidate.exists() and not shared:
        candidate = experiment_dir / f"{run_id}-{n}"
        n += 1
    return candidate


def _set_if_has(init_args: Any, key: str, value: Any) -> None:
    if init_args is not None and key in init_args:
        init_args[key] = value


class SaveRunConfig(SaveConfigCallback):
    """Writes the resolved config to ``<run_dir>/config.yaml`` and logs it to every logger."""

    def setup(self, trainer, pl_module, stage: str) -> None:
        if self.already_saved:
            return
        run_dir = Path(trainer.default_root_dir)
        if trainer.is_global_zero:
            run_dir.mkdir(parents=True, exist_ok=True)
            self.parser.save(
                self.config,
                run_dir / self.config_filename,
                skip_none=False,
                overwrite=True,
                multifile=False,
            )
            config = yaml.safe_load(self.parser.dump(self.config, skip_none=False))
            config.pop("config", None)
            for logger in trainer.loggers:
                logger.log_hyperparams({"config": config})
        self.already_saved = True
        self.already_saved = trainer.strategy.broadcast(self.already_saved)


class StyleVideoCLI(LightningCLI):
    """LightningCLI with subclass mode for model and data, and the stylevideo run folder."""

    def __init__(self, args: list[str] | None = None, **kwargs):
        kwargs.setdefault("save_config_callback", SaveRunConfig)
        kwargs.setdefault("save_config_kwargs", {"overwrite": True})
        super().__init__(
            LightningModule,
            LightningDataModule,
            subclass_mode_model=True,
            subclass_mode_data=True,
            args=args,
            **kwargs,
        )

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        parser.add_argument(
            "--base", type=str | None, default=None, help="the config file this one extends (expanded by the CLI)"
        )
        parser.add_argument(
            "--experiment", type=str | None, default=None, help="experiment name (default: the last config file's stem)"
        )
        parser.add_argument(
            "--run_dir", type=str | None, default=None, help="run folder (default: runs/<experiment>/<run id>)"
        )

    def before_instantiate_classes(self) -> None:
        config = self.config[self.subcommand] if self.subcommand else self.config
        files = [Path(str(c)) for c in (config.get("config") or [])]
        experiment = config.experiment or (files[-1].stem if files else "default")
        config.experiment = experiment
        ckpt_path = config.get("ckpt_path")
        run_dir = resolve_run_dir(experiment, config.run_dir, ckpt_path)
        if ckpt_path and ckpt_path not in ("last", "best", "hpc") and not config.run_dir:
            ckpt = Path(ckpt_path).resolve()
            if ckpt.parent.name == "checkpoints" and self.subcommand != "fit":
                run_dir = ckpt.parent.parent  # evaluate a trained run inside its own folder
        config.run_dir = str(run_dir)
        os.environ[RUN_DIR_ENV] = str(run_dir)
        self.run_dir = run_dir
        self._place_outputs(config.trainer, experiment, run_dir)
        if self.subcommand == "predict" and config.get("return_predictions") is None:
            config.return_predictions = False  # VideoPredictions writes them; do not hold them all

    def _instantiate_trainer(self, config: dict[str, Any], callbacks: list) -> Any:
        """Add RunState and AtomicCheckpointIO where the config has none."""
        configured = config.get("callbacks") or []
        configured = (configured if isinstance(configured, list) else [configured]) + callbacks
        if not any(isinstance(c, RunState) for c in configured):
            callbacks = [*callbacks, RunState()]
        plugins = config.get("plugins") or []
        plugins = list(plugins) if isinstance(plugins, (list, tuple)) else [plugins]
        if not any(isinstance(p, CheckpointIO) for p in plugins):
            config["plugins"] = [*plugins, AtomicCheckpointIO()]
        return super()._instantiate_trainer(config, callbacks)

    @staticmethod
    def _place_outputs(trainer: Any, experiment: str, run_dir: Path) -> None:
        """Point every logger, checkpoint and file-writing callback at the run folder."""
        trainer.default_root_dir = str(run_dir)
        loggers = trainer.logger if isinstance(trainer.logger, list) else [trainer.logger]
        for logger in loggers:
            if not hasattr(logger, "class_path"):
                continue
            args = logger.init_args
            _set_if_has(args, "save_dir", str(run_dir))
            cls = _import(logger.class_path)
            if issubclass(cls, WandbLogger):
                run_name = re.sub(r"[^A-Za-z0-9_.-]", "-", f"{experiment}-{run_dir.name}")
                args["name"] = args.get("name") or f"{experiment}/{run_dir.name}"
                # in a sweep, the run is the one the agent created
                args["id"] = args.get("id") or _sweep_run_id() or run_name
                args["group"] = args.get("group") or experiment
                args["resume"] = args.get("resume") or "allow"
            elif issubclass(cls, CSVLogger):
                args["name"] = "csv"
                args["version"] = ""
        for callback in trainer.callbacks or []:
            args = callback.get("init_args") if hasattr(callback, "class_path") else None
            if args is None:
                continue
            cls = _import(callback.class_path)
            if issubclass(cls, ModelCheckpoint) and not args.get("dirpath"):
                args["dirpath"] = str(run_dir / "checkpoints")
            elif "dirpath" in args and not args.get("dirpath"):
                args["dirpath"] = str(run_dir / "samples")

    def after_fit(self) -> None:
        if self.trainer.is_global_zero:
            print(f"\nRun folder: {self.run_dir}", flush=True)


def _import(class_path: str) -> type:
    module, _, name = class_path.rpartition(".")
    return getattr(__import__(module, fromlist=[name]), name)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``lightning`` and ``stylevideo`` console scripts."""
    keep_freed_memory()
    argv = list(sys.argv[1:] if argv is None else argv)
    with warnings.catch_warnings():
        # We pass the (base-expanded) command line as `args` on purpose.
        warnings.filterwarnings("ignore", message="LightningCLI's args parameter")
        # The GAN methods checkpoint after their optimizer steps on purpose (manual optimization).
        warnings.filterwarnings("ignore", message="Using ModelCheckpoint with manual optimization")
        StyleVideoCLI(args=expand_config_bases(argv))


if __name__ == "__main__":
    main()
