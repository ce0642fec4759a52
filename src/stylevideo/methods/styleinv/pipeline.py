"""StyleInV's three training stages in a row: ``python -m stylevideo.methods.styleinv.pipeline``.

    python -m stylevideo.methods.styleinv.pipeline styleinv_synthetic [--run_dir DIR] \\
        [--stage STAGE=ARGS ...] [-- ARGS FOR EVERY STAGE]

For ``styleinv_<dataset>`` the stages are the experiments ``stylegan2_<dataset>`` (stage 1,
the image generator), ``psp_<dataset>`` (stage 2, the inversion encoder) and
``styleinv_<dataset>`` (stage 3), each an ordinary ``lightning fit`` of its config (the same
CLI, run folder, loggers, callbacks and one-line errors). Each stage's final checkpoint is handed to the
next through its config keys (``--model.init_args.generator_ckpt`` for stages 2 and 3,
``--model.init_args.encoder_ckpt`` for stage 3). Everything goes to
``DIR/{stylegan2,psp,styleinv}`` (default ``<root>/<experiment>/<run id>``, ``<root>`` the
``--trainer.default_root_dir`` given before or after ``--``, else ``runs``); a stage whose
``checkpoints/final.ckpt`` exists is not trained again, so an interrupted pipeline continues
with ``--run_dir`` of the first attempt. ``--stage psp="--trainer.max_steps 100"`` adds
arguments to one stage; arguments after ``--`` go to every stage.

``SMOKE_STAGE_ARGS`` are the per-stage arguments the synthetic pipeline uses by default: the
shortened stage 1 that keeps ``make train EXP=styleinv_synthetic`` within its CPU budget.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from stylevideo.runtime import keep_freed_memory

__all__ = ["SMOKE_STAGE_ARGS", "STAGES", "run_pipeline", "stage_experiments"]

STAGES = ("stylegan2", "psp", "styleinv")
#: Default extra arguments per stage of ``styleinv_synthetic`` (the lead's stylegan2_synthetic
#: trains 1500 iterations on its own; as stage 1 of the CPU pipeline it is cut short).
SMOKE_STAGE_ARGS = {"styleinv_synthetic": {"stylegan2": ["--trainer.max_steps", "500"]}}
#: The CLI's option for the root of the run folders (given to the pipeline or after ``--``).
ROOT_OPTION = "--trainer.default_root_dir"


def stage_experiments(experiment: str, experiments_dir: str | Path = "experiments") -> dict[str, Path]:
    """``styleinv_<dataset>`` -> the config file of each stage, checked to exist."""
    from stylevideo.cli import ConfigError

    if not experiment.startswith("styleinv_"):
        raise ConfigError(f"the pipeline runs styleinv_<dataset> experiments, got {experiment!r}")
    dataset = experiment[len("styleinv_") :]
    configs = {stage: Path(experiments_dir) / f"{stage}_{dataset}.yaml" for stage in STAGES}
    configs["styleinv"] = Path(experiments_dir) / f"{experiment}.yaml"
    missing = [str(p) for p in configs.values() if not p.is_file()]
    if missing:
        raise ConfigError(f"pipeline {experiment}: missing stage configs {missing}")
    return configs


def _fit(config: Path, run_dir: Path, args: list[str]) -> Path:
    """One ``lightning fit`` in this process; returns its final checkpoint."""
    from stylevideo.cli import StyleVideoCLI, expand_config_bases

    argv = ["fit", "--config", str(config), "--run_dir", str(run_dir), *args]
    print(f"\n[styleinv pipeline] lightning {shlex.join(argv)}", flush=True)
    cli = StyleVideoCLI(args=expand_config_bases(argv))
    final = run_dir / "checkpoints" / "final.ckpt"
    cli.trainer.save_checkpoint(final)
    return final


def run_pipeline(
    experiment: str,
    run_dir: str | Path | None = None,
    stage_args: dict[str, list[str]] | None = None,
    common_args: list[str] = (),
    experiments_dir: str | Path = "experiments",
    root: str | Path = "runs",
) -> dict[str, Path]:
    """Train the stages that have no final checkpoint yet; return every stage's checkpoint.
    ``run_dir`` defaults to a new run folder under ``root`` (as the CLI's)."""
    from stylevideo.cli import ConfigError, resolve_run_dir

    configs = stage_experiments(experiment, experiments_dir)
    run_dir = resolve_run_dir(experiment, run_dir and str(run_dir), None, root=str(root))
    stage_args = {**SMOKE_STAGE_ARGS.get(experiment, {}), **(stage_args or {})}
    unknown = set(stage_args) - set(STAGES)
    if unknown:
        raise ConfigError(f"unknown stages {sorted(unknown)}; the stages are {STAGES}")
    ckpts: dict[str, Path] = {}
    for stage in STAGES:
        final = run_dir / stage / "checkpoints" / "final.ckpt"
        chain = []
        if stage in ("psp", "styleinv"):
            chain += ["--model.init_args.generator_ckpt", str(ckpts["stylegan2"])]
        if stage == "styleinv":
            chain += ["--model.init_args.encoder_ckpt", str(ckpts["psp"])]
        if final.is_file():
            print(f"[styleinv pipeline] {stage}: {final} exists, not trained again", flush=True)
        else:
            final = _fit(configs[stage], run_dir / stage, [*chain, *stage_args.get(stage, []), *common_args])
        ckpts[stage] = final
    print(f"\n[styleinv pipeline] done: {run_dir}", flush=True)
    return ckpts


def main(argv: list[str] | None = None) -> None:
    keep_freed_memory()
    argv = list(sys.argv[1:] if argv is None else argv)
    common: list[str] = []
    if "--" in argv:
        argv, common = argv[: argv.index("--")], argv[argv.index("--") + 1 :]
    parser = argparse.ArgumentParser(
        prog="python -m stylevideo.methods.styleinv.pipeline", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("experiment", help="styleinv_<dataset>")
    parser.add_argument("--run_dir", default=None, help="folder of the three stage runs")
    parser.add_argument(
        "--stage",
        action="append",
        default=[],
        metavar="STAGE=ARGS",
        help="extra lightning arguments for one stage (stylegan2, psp, styleinv)",
    )
    parser.add_argument("--experiments_dir", default="experiments")
    parser.add_argument(ROOT_OPTION, dest="root", default=None, help="root of the run folders (default runs)")
    ns = parser.parse_args(argv)
    root = ns.root or _root_in(common) or "runs"
    stage_args = {}
    for item in ns.stage:
        name, sep, value = item.partition("=")
        if not sep:
            parser.error(f"--stage expects STAGE=ARGS, got {item!r}")
        stage_args[name] = shlex.split(value)
    from stylevideo.cli import ConfigError
    from stylevideo.features.requirements import MissingRequirementsError

    try:
        run_pipeline(ns.experiment, ns.run_dir, stage_args, common, ns.experiments_dir, root)
    except (MissingRequirementsError, ConfigError) as err:  # as the CLI reports them
        raise SystemExit(f"error: {err}") from None


def _root_in(args: list[str]) -> str | None:
    """``--trainer.default_root_dir`` among the arguments for every stage, if there."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument(ROOT_OPTION, dest="root")
    return parser.parse_known_args(args)[0].root


if __name__ == "__main__":
    main()
