"""Everything a run needs from outside the code, declared up front and checked before its first step.

Classes that need pretrained files, earlier runs' checkpoints or optional packages declare them
without loading anything, through up to three hooks (``stage``: ``fit``, ``validate``, ``test``,
``predict``, or ``None`` for any stage):

- ``required_weights(stage) -> {loader name: configured path or None}`` (registered files,
  :mod:`stylevideo.features.weights`; ``None``: the weight cache);
- ``required_files(stage) -> {config key: (path or None, what produces it)}`` (a file with no
  public URL, e.g. StyleInV's stage checkpoints);
- ``required_packages(stage) -> {import name: how to install it}`` (e.g. ``dlib``).

Callbacks, data modules and the frozen networks nested in a model (cheap to construct, their
construction loads nothing) implement them as methods. A LightningModule builds its networks
when constructed (some read files then), so it implements them as classmethods of its
hyper-parameters, ``required_weights(cls, hparams, stage, module=None)``: they are answered from
a parsed config without building the model, and from ``model.hparams`` (and ``module=model``,
for what the built model already holds) for a built one.

:func:`from_config` collects them from a parsed LightningCLI config (model, data, every callback
and every ``class_path`` nested in them), :func:`from_trainer` from a trainer's objects;
:func:`check` raises one :class:`MissingRequirementsError` listing everything missing.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stylevideo.features.weights import MissingWeightsError, missing_message, weights_path

__all__ = [
    "HOOKS",
    "REGISTERING_MODULES",
    "MissingRequirementsError",
    "Requirement",
    "check",
    "from_config",
    "from_trainer",
    "import_registrations",
]

HOOKS = ("required_weights", "required_files", "required_packages")
#: Every module that registers weight files (``stylevideo weights`` without ``--config`` lists them all).
REGISTERING_MODULES = (
    "stylevideo.features.arcface",
    "stylevideo.features.clip",
    "stylevideo.features.dino",
    "stylevideo.features.flow",
    "stylevideo.features.i3d",
    "stylevideo.features.inception",
    "stylevideo.features.lpips_vgg",
    "stylevideo.features.perceptual",
    "stylevideo.features.pose",
    "stylevideo.features.resnext3d",
    "stylevideo.features.vgg",
    "stylevideo.methods.vidstyleode.content",
    "stylevideo.methods.vidstyleode.frozen",
)


def import_registrations() -> None:
    """Import every module of :data:`REGISTERING_MODULES` (their weights get registered)."""
    for module in REGISTERING_MODULES:
        importlib.import_module(module)


class MissingRequirementsError(MissingWeightsError):
    """Files or packages a run needs are missing; the message lists all of them."""


@dataclass(frozen=True)
class Requirement:
    """One thing ``owner`` needs: ``kind`` is ``weights``, ``file`` or ``package``."""

    owner: str
    kind: str
    name: str
    path: str | None = None
    hint: str = ""

    def problem(self) -> str | None:
        """``None`` when satisfied, else what is missing and how to get it (one line)."""
        if self.kind == "weights":
            try:
                file = weights_path(self.name, self.path)
            except KeyError as err:  # a configured name that no module registers
                return str(err.args[0])
            return None if file.is_file() else missing_message(self.name, self.path)
        if self.kind == "file":
            if self.path is None:
                return f"{self.name} is not set: it must name {self.hint}"
            if not Path(self.path).expanduser().is_file():
                return f"{self.name}={self.path} does not exist: expected {self.hint}"
            return None
        if importlib.util.find_spec(self.name) is None:
            return f"the Python package {self.name!r} is not installed: {self.hint}"
        return None


def _declared(owner: str, declarations: Mapping[str, Any]) -> list[Requirement]:
    """Requirements from the three hooks' answers (``declarations``: hook name -> answer)."""
    out = []
    for name, path in declarations.get("required_weights", {}).items():
        out.append(Requirement(owner, "weights", name, None if path is None else str(path)))
    for key, (path, made_by) in declarations.get("required_files", {}).items():
        out.append(Requirement(owner, "file", key, None if path is None else str(path), made_by))
    for module, install in declarations.get("required_packages", {}).items():
        out.append(Requirement(owner, "package", module, hint=install))
    return out


def _is_lightning_module(cls: type) -> bool:
    from lightning.pytorch import LightningModule

    return isinstance(cls, type) and issubclass(cls, LightningModule)


def _module_requirements(
    owner: str, cls: type, hparams: Mapping[str, Any], stage: str | None, module: Any = None
) -> list[Requirement]:
    """A LightningModule class's declarations from its hyper-parameters (defaults filled in)."""
    hooks = [h for h in HOOKS if hasattr(cls, h)]
    if not hooks:
        return []
    signature = inspect.signature(cls.__init__).parameters.items()
    args = {k: p.default for k, p in signature if p.default is not p.empty} | dict(hparams)
    return _declared(owner, {h: getattr(cls, h)(args, stage, module=module) for h in hooks})


def _object_requirements(owner: str, obj: Any, stage: str | None) -> list[Requirement]:
    return _declared(owner, {h: getattr(obj, h)(stage) for h in HOOKS if hasattr(obj, h)})


def _is_node(value: Any) -> bool:
    return isinstance(value, Mapping) and "class_path" in value


def _import(class_path: str) -> type:
    module, _, name = class_path.rpartition(".")
    return getattr(importlib.import_module(module), name)


def _build(value: Any) -> Any:
    """``value`` with every ``class_path`` node instantiated (for cheap, declaring objects)."""
    if _is_node(value):
        args = {k: _build(v) for k, v in (value.get("init_args") or {}).items()}
        return _import(value["class_path"])(**args)
    if isinstance(value, list):
        return [_build(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _build(v) for k, v in value.items()}
    return value


def _nodes(where: str, value: Any) -> Iterable[tuple[str, Mapping]]:
    """Every ``class_path`` node in ``value``, with where it is in the config."""
    if _is_node(value):
        yield where, value
        for key, arg in (value.get("init_args") or {}).items():
            yield from _nodes(f"{where}.init_args.{key}", arg)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _nodes(f"{where}[{i}]", item)


def from_config(config: Mapping[str, Any], stage: str | None = None) -> list[Requirement]:
    """The requirements of a parsed config (``Namespace.as_dict()`` of one subcommand): its model,
    data, trainer callbacks and every class nested in them. Builds only the declaring objects
    that are not LightningModules (callbacks, frozen networks: cheap, they load nothing)."""
    roots = [("model", config.get("model")), ("data", config.get("data"))]
    roots.append(("trainer.callbacks", (config.get("trainer") or {}).get("callbacks") or []))
    out = []
    for root, value in roots:
        for where, node in _nodes(root, value):
            cls = _import(node["class_path"])
            owner = f"{where} ({cls.__name__})"
            if _is_lightning_module(cls):
                out += _module_requirements(owner, cls, node.get("init_args") or {}, stage)
            elif any(hasattr(cls, h) for h in HOOKS):
                out += _object_requirements(owner, _build(node), stage)
    return out


def from_trainer(trainer: Any, model: Any, stage: str | None = None) -> list[Requirement]:
    """The requirements of built objects: ``model`` (from its hparams) and the frozen networks in
    it, the trainer's data module and callbacks."""
    out = _module_requirements(f"model ({type(model).__name__})", type(model), model.hparams, stage, model)
    for name, sub in model.named_modules():
        if name and any(hasattr(sub, h) for h in HOOKS):
            out += _object_requirements(f"model.{name} ({type(sub).__name__})", sub, stage)
    datamodule = getattr(trainer, "datamodule", None)
    if datamodule is not None:
        out += _object_requirements(f"data ({type(datamodule).__name__})", datamodule, stage)
    for i, callback in enumerate(trainer.callbacks):
        out += _object_requirements(f"trainer.callbacks[{i}] ({type(callback).__name__})", callback, stage)
    return out


def check(requirements: Iterable[Requirement], fetch_command: str | None = None) -> None:
    """Raise one :class:`MissingRequirementsError` that lists every unmet requirement (each
    once, with everything that needs it), ending with the command that fetches the weights."""
    owners: dict[tuple[str, str, str | None], list[str]] = {}
    problems: dict[tuple[str, str, str | None], str] = {}
    for r in requirements:
        key = (r.kind, r.name, r.path)
        if key not in problems:
            problem = r.problem()
            if problem is None:
                continue
            problems[key] = problem
        owners.setdefault(key, []).append(r.owner)
    if not problems:
        return
    lines = [f"  - {problems[k]} [needed by {', '.join(dict.fromkeys(owners[k]))}]" for k in problems]
    message = f"this run needs {len(problems)} missing file(s) or package(s):\n" + "\n".join(lines)
    weights = sorted({name for kind, name, _ in problems if kind == "weights"})
    if weights:
        command = fetch_command or "stylevideo weights fetch " + " ".join(f"--name {n}" for n in weights)
        message += f"\nDownload the weights with:\n    {command}"
    raise MissingRequirementsError(message)
