"""``init_from``: start a run from a released checkpoint, one mechanism for every method.

Every method with released weights takes ``init_from: <file>``, a constructor argument (so it is
in the config and in the checkpoint's hyper-parameters)::

    lightning fit --config experiments/lia_voxceleb.yaml --model.init_args.init_from vox.pt

The file is read and checked before a new run creates anything (the CLI calls
:meth:`InitFrom.check_init_from` when there is no ``--ckpt_path``), and copied into the module's
own networks when the run starts (``on_fit_start``; ``on_validation_start``, ``on_test_start``,
``on_predict_start`` for the other commands). A method
contributes only its format reader (:meth:`InitFrom.read_release`); a Lightning checkpoint of the
same method is read here (its weights: a new run with new settings, where ``--ckpt_path`` would
continue the old one). Before anything is copied:

- the constructor arguments the file implies must be the module's (one error lists every one
  that differs, with the file's value);
- every tensor of the file must be in the module with the same shape, and every tensor of each
  network the file holds must be in the file (the error names the first differing tensor).

Networks of the module the file does not hold keep the weights the module was built with (a
warning names them; e.g. onestyle's D_t and D_s, whose authors' counterparts are other
architectures). Optimizer states, where the format has them (LIA's ``g_optim`` / ``d_optim``),
are loaded into the run's optimizers, keeping the run's configured hyper-parameters (learning
rate, betas).

Resuming wins. Lightning's order in ``Trainer.fit`` is ``setup``, ``configure_model``, the restore
of the module from ``ckpt_path`` (``on_load_checkpoint``, then its state dict),
``configure_optimizers``, ``on_fit_start``, the restore of the optimizers and loops. A module whose
state came from a checkpoint (a trainer's ``ckpt_path``, ``load_from_checkpoint``: a subclass
overriding ``on_load_checkpoint`` calls ``super()``) or that was already initialised never reads
``init_from``: a resumed run continues from its own checkpoint.
"""

from __future__ import annotations

import argparse
import inspect
import os
import pickle
import zipfile
from dataclasses import dataclass, field
from typing import Any

import torch
from lightning.pytorch.utilities import rank_zero_warn
from torch import Tensor

__all__ = ["InitFrom", "Release", "read_lightning_checkpoint"]


@dataclass
class Release:
    """A method's reading of a released file, in the module's own terms.

    ``state``: entries of the module's ``state_dict`` (whole networks: every entry of a network
    whose name appears must be there). ``arguments``: ``{name: (the file's value, the module's
    value)}`` for the constructor arguments the file implies. ``optimizer_states``: state dicts
    of the optimizers of ``configure_optimizers``, in its order (``None``: none for that one).
    """

    state: dict[str, Tensor]
    arguments: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    optimizer_states: tuple[dict | None, ...] = ()


def read_lightning_checkpoint(path: str | os.PathLike) -> dict | None:
    """The content of a Lightning checkpoint (tensors memory-mapped), or ``None`` for any other file."""
    if not zipfile.is_zipfile(path):
        return None
    try:
        with torch.serialization.safe_globals([argparse.Namespace]):
            ckpt = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception:  # not a weights-only torch file: the method's reader names what it expected
        return None
    return ckpt if isinstance(ckpt, dict) and "pytorch-lightning_version" in ckpt and "state_dict" in ckpt else None


def _plain(value: Any) -> Any:
    """A comparable form: sequences as tuples, mappings as sorted items, integral floats as ints."""
    if isinstance(value, (list, tuple)):
        return tuple(_plain(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((_plain(k), _plain(v)) for k, v in value.items()))
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)  # mapping keys from a YAML config
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _shape(value: Any) -> tuple | str:
    return tuple(value.shape) if torch.is_tensor(value) else type(value).__name__


class InitFrom:
    """Mixin of a LightningModule with an ``init_from`` constructor argument (module docstring).

    A method sets :attr:`init_from_formats` (what the file may be), :attr:`architecture` (the
    hyper-parameters its own checkpoints must share with it) and implements :meth:`read_release`
    (which calls :meth:`check_init_arguments` first where its name mapping depends on them).
    """

    #: What ``init_from`` may name (errors and the run's up-front file check quote it).
    init_from_formats = "a Lightning checkpoint of this method"
    #: Hyper-parameters that define the networks: equal in a Lightning checkpoint given as ``init_from``.
    architecture: tuple[str, ...] = ()
    _init_from_done = False
    #: What :meth:`check_init_from` read and checked: ``(release, state)``, until it is copied.
    _init_from_read: tuple[Release, dict[str, Tensor]] | None = None

    @classmethod
    def required_files(cls, hparams, stage: str | None = None, module=None) -> dict[str, tuple[str | None, str]]:
        """``init_from`` when set (:mod:`stylevideo.features.requirements`)."""
        path = hparams.get("init_from")
        return {} if path is None else {"init_from": (path, cls.init_from_formats)}

    def read_release(self, path: str) -> Release | None:
        """The method's reader of its released formats; ``None`` when ``path`` is none of them."""
        return None

    # -- when ----------------------------------------------------------------------------------
    def on_load_checkpoint(self, checkpoint: dict) -> None:
        self._init_from_done = True  # restored state wins over init_from
        super().on_load_checkpoint(checkpoint)

    def on_fit_start(self) -> None:
        self.apply_init_from()
        super().on_fit_start()

    def on_validation_start(self) -> None:
        self.apply_init_from()
        super().on_validation_start()

    def on_test_start(self) -> None:
        self.apply_init_from()
        super().on_test_start()

    def on_predict_start(self) -> None:
        self.apply_init_from()
        super().on_predict_start()

    # -- what ----------------------------------------------------------------------------------
    def check_init_from(self) -> None:
        """Read ``init_from`` and check it against this module's networks now (errors before a run
        creates anything); :meth:`apply_init_from` then copies what was read."""
        path = self.hparams.get("init_from")
        if path is None or self._init_from_done or self._init_from_read is not None:
            return
        path = os.fspath(path)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"init_from={path} does not exist: expected {self.init_from_formats}")
        release = self._read(path)
        self._init_from_read = release, self._checked_state(release, path)

    def apply_init_from(self) -> None:
        """Copy the weights (and optimizer states, while fitting) of ``init_from`` into this
        module, once, unless its state came from a checkpoint."""
        if self._init_from_done or (self._trainer is not None and self._trainer.ckpt_path is not None):
            self._init_from_read = None  # restored from a checkpoint
            return
        self.check_init_from()
        if self._init_from_read is None:  # no init_from
            return
        (release, state), self._init_from_read = self._init_from_read, None
        path = os.fspath(self.hparams.init_from)
        self.load_state_dict(state, strict=False)
        trainer = self._trainer
        if release.optimizer_states and trainer is not None and trainer.state.fn == "fit":
            self._load_optimizer_states(release.optimizer_states, path)
        self._init_from_done = True

    def _read(self, path: str) -> Release:
        ckpt = read_lightning_checkpoint(path)
        if ckpt is not None:
            return self._own_release(ckpt)
        try:
            release = self.read_release(path)
        except pickle.UnpicklingError as err:
            expected = self.init_from_formats
            raise ValueError(f"init_from={path}: not a file this model reads ({err}); expected {expected}") from None
        if release is None:
            raise ValueError(f"init_from={path}: not a file this model reads; expected {self.init_from_formats}")
        return release

    def _own_release(self, ckpt: dict) -> Release:
        """A Lightning checkpoint: its state dict, its architecture hyper-parameters (defaults
        where it predates one) against this module's."""
        signature = inspect.signature(type(self).__init__).parameters
        saved = ckpt.get("hyper_parameters") or {}
        arguments = {
            name: (saved.get(name, signature[name].default), self.hparams.get(name))
            for name in self.architecture
            if name in signature
        }
        return Release(dict(ckpt["state_dict"]), arguments)

    @staticmethod
    def check_init_arguments(path: str, arguments: dict[str, tuple[Any, Any]]) -> None:
        """Raise one error listing every ``name: (the file's value, the module's value)`` that
        differs (a reader whose name mapping depends on them calls it before mapping)."""
        differ = [
            f"{name}={ours!r} here, {theirs!r} in the file"
            for name, (theirs, ours) in arguments.items()
            if _plain(theirs) != _plain(ours)
        ]
        if differ:
            raise ValueError(
                f"init_from={path}: the file's networks are built with other arguments than this model's: "
                + "; ".join(differ)
                + " (set the model's arguments as the file has them)"
            )

    def _checked_state(self, release: Release, path: str) -> dict[str, Tensor]:
        """``release.state`` restricted to this module's networks, after the argument and tensor checks."""
        self.check_init_arguments(path, release.arguments)
        own = self.state_dict()
        owned = {key.split(".")[0] for key in own}
        held = {key.split(".")[0] for key in release.state}
        if held - owned:
            rank_zero_warn(f"init_from={path}: not used, this model has no {sorted(held - owned)}")
        state = {k: v for k, v in release.state.items() if k.split(".")[0] in owned}
        keys = [k for k in own if k.split(".")[0] in held] + [k for k in state if k not in own]
        problems = []
        for key in keys:
            if key not in state:
                problems.append(f"{key} {_shape(own[key])} is not in the file")
            elif key not in own:
                problems.append(f"the file's {key} {_shape(state[key])} is not in this model")
            elif _shape(own[key]) != _shape(state[key]):
                problems.append(f"{key} is {_shape(state[key])} in the file, {_shape(own[key])} here")
        if problems:
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            raise ValueError(f"init_from={path}: the file does not match this model's networks: {problems[0]}{more}")
        fresh = [
            name
            for name, child in self.named_children()
            if name not in held and next(child.parameters(), None) is not None
        ]
        if fresh:
            rank_zero_warn(f"init_from={path}: the file holds no {fresh}; they keep the model's weights as built")
        return state

    def _load_optimizer_states(self, states: tuple[dict | None, ...], path: str) -> None:
        optimizers = self.trainer.optimizers
        if len(states) != len(optimizers):
            raise ValueError(f"init_from={path}: {len(states)} optimizer states for {len(optimizers)} optimizers")
        for optimizer, state in zip(optimizers, states, strict=True):
            if state is None:
                continue
            configured = [{k: v for k, v in group.items() if k != "params"} for group in optimizer.param_groups]
            optimizer.load_state_dict(state)
            for group, hyper in zip(optimizer.param_groups, configured, strict=True):
                group.update(hyper)
