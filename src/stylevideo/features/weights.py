"""The one loader for pretrained weights.

A name resolves to a local file: an explicit path (from a config) wins, else
``$STYLEVIDEO_WEIGHTS/<filename>`` (default folder ``~/.cache/stylevideo``). Nothing is
ever downloaded: a missing file raises :class:`MissingWeightsError`, which names the
file, the folder searched and the public URL to fetch it from.

Modules that need weights register them where they are defined::

    register_weights("i3d_kinetics400", "i3d_torchscript.pt", url="https://...")
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

__all__ = [
    "MissingWeightsError",
    "WeightSpec",
    "load_weights",
    "register_weights",
    "resolve_weights",
    "weights_dir",
]


@dataclass(frozen=True)
class WeightSpec:
    """Where a named pretrained file comes from."""

    filename: str
    url: str
    description: str = ""


_REGISTRY: dict[str, WeightSpec] = {}


class MissingWeightsError(FileNotFoundError):
    """A pretrained file is not on this machine; the message says what to fetch and where."""


def register_weights(name: str, filename: str, url: str, description: str = "") -> WeightSpec:
    """Declare a named weight file; registering the same name twice must agree."""
    spec = WeightSpec(filename, url, description)
    if _REGISTRY.get(name, spec) != spec:
        raise ValueError(f"weights {name!r} already registered as {_REGISTRY[name]}")
    _REGISTRY[name] = spec
    return spec


def weights_dir() -> Path:
    """The cache folder: ``$STYLEVIDEO_WEIGHTS``, default ``~/.cache/stylevideo``."""
    return Path(os.environ.get("STYLEVIDEO_WEIGHTS", "~/.cache/stylevideo")).expanduser()


def resolve_weights(name: str, path: str | os.PathLike | None = None) -> Path:
    """Return the local file for ``name`` (``path`` first, then the cache folder)."""
    if name not in _REGISTRY:
        known = ", ".join(sorted(_REGISTRY)) or "none registered"
        raise KeyError(f"unknown weights {name!r}; known: {known}")
    spec = _REGISTRY[name]
    if path is not None:
        candidate = Path(path).expanduser()
        if candidate.is_file():
            return candidate
        raise MissingWeightsError(
            f"{name}: the configured file {candidate} does not exist. "
            f"Download {spec.filename} from {spec.url} and point the config at it."
        )
    candidate = weights_dir() / spec.filename
    if candidate.is_file():
        return candidate
    raise MissingWeightsError(
        f"{name}: {spec.filename} not found in {candidate.parent} "
        f"(set STYLEVIDEO_WEIGHTS to change the folder). Download it from {spec.url}"
        + (f" ({spec.description})" if spec.description else "")
    )


def load_weights(name: str, path: str | os.PathLike | None = None, *, allow_pickle: bool = False) -> Any:
    """``torch.load`` a registered file on the CPU, safely (``weights_only``) by default.

    ``allow_pickle=True`` is the explicit opt-in for formats that need arbitrary
    unpickling; it warns, since such a file can run code when loaded.
    """
    file = resolve_weights(name, path)
    if allow_pickle:
        warnings.warn(
            f"loading {file} with full unpickling: only do this for files you trust",
            stacklevel=2,
        )
    return torch.load(file, map_location="cpu", weights_only=not allow_pickle)
