"""The command line: ``lightning``, ``stylevideo`` and ``python -m stylevideo``.

LightningCLI in subclass mode for the model and the data, plus three things of our own:

- **config composition**: an experiment YAML may start with ``base: <file>`` (relative to
  itself); the CLI expands it to ``--config <base> --config <experiment>`` so that the
  experiment overrides the base (and ``trainer.callbacks+:`` appends to the base list);
- **the run folder**: every output of a run (checkpoints, sample videos, the W&B offline
  run, the CSV metrics, the resolved ``config.yaml``) goes to
  ``<root>/<experiment>/<run_id>`` (``root``: ``--trainer.default_root_dir``, default ``runs``);
  ``--run_dir`` chooses it, ``--experiment`` names it (default: the last config file's stem),
  and ``--ckpt_path last`` without ``--run_dir`` continues the newest run of the experiment;
- **checks before anything is created**: every pretrained file, earlier stage's checkpoint
  and optional package the model, the data and the callbacks declare
  (:mod:`stylevideo.features.requirements`) is checked before the model is built, and the
  dataset is indexed before the trainer starts (which creates the run folder and the W&B
  run); a failure is one short error, not a traceback or a dump of the configuration;
- **config logging**: the full resolved configuration is logged to every logger;
- **run safety**: every trainer gets the :class:`~stylevideo.callbacks.run_state.RunState`
  callback (per-rank random streams, exactly resumable) and the
  :class:`~stylevideo.checkpoint.AtomicCheckpointIO` plugin (atomic checkpoint writes,
  ``weights_only`` reads) unless its config already has them; ``lightning predict`` does not
  keep the predicted videos in memory (``--return_predictions`` defaults to false).

``stylevideo weights list|fetch|verify`` is the pretrained files' command
(:mod:`stylevideo.weights_cli`); every other first argument goes to LightningCLI.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import sys
import time
import traceback
import warnings
from collections.abc import Iterator
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
from stylevideo.features import requirements
from stylevideo.runtime import keep_freed_memory

__all__ = ["ConfigError", "StyleVideoCLI", "config_files", "expand_config_bases", "main"]

RUN_DIR_ENV = "STYLEVIDEO_RUN_DIR"
#: Where the project's own code lives (errors raised there are the user's to read, not a bug's).
_OWN_CODE = tuple(
    str(Path(folder).resolve())
    for package in ("stylevideo", "stylevideo.callbacks", "stylevideo.data_modules")
    for folder in importlib.util.find_spec(package).submodule_search_locations
)


class ConfigError(ValueError):
    """A configuration the code refuses (bad value, missing input, unusable data): printed in one
    short message by :func:`main`."""


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


def config_files(files: list[Any]) -> list[str]:
    """The ``--config`` files a user named: the expanded list without the bases they extend."""
    files = [str(f) for f in files]
    bases = {str(b) for f in files if Path(f).is_file() for b in _config_chain(Path(f))[:-1]}
    return [f for f in files if f not in bases]


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
        if self.subcommand:
            self.check_requirements(config.as_dict(), experiment, self.subcommand)
        ckpt_path = config.get("ckpt_path")
        root = config.trainer.get("default_root_dir") or "runs"
        run_dir = resolve_run_dir(experiment, config.run_dir, ckpt_path, root=str(root))
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

    @staticmethod
    def check_requirements(config: dict[str, Any], experiment: str, stage: str) -> None:
        """Every file and package the configured objects declare for ``stage`` is there, or one
        error lists all that are missing (with the ``stylevideo weights fetch`` command)."""
        files = config_files(config.get("config") or [])
        fetch = "stylevideo weights fetch " + " ".join(f"--config {f}" for f in files) if files else None
        with _refusals_as_config_errors():  # a callback refusing its arguments
            declared = requirements.from_config(config, stage)
        try:
            requirements.check(declared, fetch)
        except requirements.MissingRequirementsError as err:
            dataset = experiment.partition("_")[2]
            raise requirements.MissingRequirementsError(
                str(err).replace("<dataset>", dataset) if dataset else str(err)
            ) from None

    def instantiate_classes(self) -> None:
        """As LightningCLI, with a constructor's refusal (a ValueError, KeyError or OSError raised
        in stylevideo's code) re-raised as one :class:`ConfigError` instead of jsonargparse's
        dump of the whole namespace."""
        with _refusals_as_config_errors():
            super().instantiate_classes()

    def check_data(self) -> None:
        """Index the dataset (root, clips, labels) before the trainer creates the run folder; data
        modules that make their own data (``prepare_data``, e.g. the synthetic set) make it later."""
        dm = self.datamodule
        if dm is None or not hasattr(dm, "index") or type(dm).prepare_data is not LightningDataModule.prepare_data:
            return
        try:
            dm.index()
        except (OSError, ValueError) as err:
            raise ConfigError(f"data ({type(dm).__name__}): {err}") from err

    before_fit = before_validate = before_test = before_predict = check_data

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


def _own_refusal(err: BaseException) -> BaseException | None:
    """The first error in ``err``'s chain that stylevideo's own code raised on purpose (a
    ValueError, KeyError or OSError), or None."""
    seen: set[int] = set()
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        frames = traceback.extract_tb(err.__traceback__)
        if isinstance(err, (ValueError, KeyError, OSError)) and frames:
            if str(Path(frames[-1].filename).resolve()).startswith(_OWN_CODE):
                return err
        err = err.__cause__ or err.__context__
    return None


@contextlib.contextmanager
def _refusals_as_config_errors() -> Iterator[None]:
    """Re-raise a refusal of stylevideo's own code (see :func:`_own_refusal`) as a ConfigError."""
    try:
        yield
    except Exception as err:
        cause = _own_refusal(err)
        if cause is None:
            raise
        raise ConfigError(str(cause)) from err


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``lightning`` and ``stylevideo`` console scripts."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["weights"]:
        from stylevideo.weights_cli import main as weights_main

        raise SystemExit(weights_main(argv[1:]))
    keep_freed_memory()
    with warnings.catch_warnings():
        # We pass the (base-expanded) command line as `args` on purpose.
        warnings.filterwarnings("ignore", message="LightningCLI's args parameter")
        # The GAN methods checkpoint after their optimizer steps on purpose (manual optimization).
        warnings.filterwarnings("ignore", message="Using ModelCheckpoint with manual optimization")
        try:
            StyleVideoCLI(args=expand_config_bases(argv))
        except (requirements.MissingRequirementsError, ConfigError) as err:
            raise SystemExit(f"error: {err}") from None


if __name__ == "__main__":
    main()
