"""The one loader for pretrained weights.

A name resolves to a local file: an explicit path (from a config) wins, else
``$STYLEVIDEO_WEIGHTS/<filename>`` (default folder ``~/.cache/stylevideo``). Nothing is
ever downloaded here: a missing file raises :class:`MissingWeightsError`, which names the
file, the folder searched and the public URL to fetch it from. ``stylevideo weights fetch``
(:mod:`stylevideo.features.download`) is the one explicit way to download them.

Modules that need weights register them where they are defined, with the file's published
sha256 where one exists::

    register_weights("vgg19_imagenet", "vgg19-dcbb9e9d.pth", url="https://...",
                     sha256="dcbb9e9d", sha256_source="...")

``sha256`` is the full hex digest (64 digits) or a prefix of it (torch.hub's ``check_hash``
convention: torchvision names its files ``<name>-<first 8 hex digits of the sha256>.pth``);
``None`` means no hash is published: the file is *unpinned*.
"""

from __future__ import annotations

import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

__all__ = [
    "TORCHVISION_PREFIX",
    "MissingWeightsError",
    "WeightSpec",
    "load_weights",
    "register_weights",
    "registered_weights",
    "resolve_weights",
    "weights_dir",
    "weights_path",
]

_HEX = re.compile(r"[0-9a-f]+")

#: ``sha256_source`` of torchvision's files (``{fn}``: the model builder): their names end in the
#: first 8 hex digits of their sha256, which the builder checks (``check_hash=True``).
TORCHVISION_PREFIX = (
    "torchvision's file name (torch.hub convention), checked by torchvision.models.{fn} (check_hash=True)"
)


@dataclass(frozen=True)
class WeightSpec:
    """Where a named pretrained file comes from, and its published sha256 (or a prefix of it).

    ``url`` is the public address shown to users; ``download_url`` (default ``url``) is what
    ``stylevideo weights fetch`` requests, for hosts whose public page is not the file itself.
    ``sha256_source`` says where the pinned value was published.
    """

    filename: str
    url: str
    description: str = ""
    sha256: str | None = None
    sha256_source: str = ""
    download_url: str | None = None

    def __post_init__(self):
        if self.sha256 is not None and not (8 <= len(self.sha256) <= 64 and _HEX.fullmatch(self.sha256)):
            raise ValueError(f"{self.filename}: sha256 must be 8 to 64 lowercase hex digits, got {self.sha256!r}")
        if self.sha256 is not None and not self.sha256_source:
            raise ValueError(f"{self.filename}: a pinned sha256 needs sha256_source (where it is published)")

    @property
    def pin(self) -> str:
        """``"sha256"`` (full digest), ``"sha256 prefix"`` or ``"unpinned"``."""
        if self.sha256 is None:
            return "unpinned"
        return "sha256" if len(self.sha256) == 64 else "sha256 prefix"


_REGISTRY: dict[str, WeightSpec] = {}


class MissingWeightsError(FileNotFoundError):
    """A pretrained file is not on this machine; the message says what to fetch and where."""


def register_weights(
    name: str,
    filename: str,
    url: str,
    description: str = "",
    *,
    sha256: str | None = None,
    sha256_source: str = "",
    download_url: str | None = None,
) -> WeightSpec:
    """Declare a named weight file; registering the same name twice must agree."""
    spec = WeightSpec(filename, url, description, sha256, sha256_source, download_url)
    if _REGISTRY.get(name, spec) != spec:
        raise ValueError(f"weights {name!r} already registered as {_REGISTRY[name]}")
    _REGISTRY[name] = spec
    return spec


def registered_weights() -> dict[str, WeightSpec]:
    """Every registered name (of the modules imported so far) and its spec, sorted by name."""
    return dict(sorted(_REGISTRY.items()))


def weights_dir() -> Path:
    """The cache folder: ``$STYLEVIDEO_WEIGHTS``, default ``~/.cache/stylevideo``."""
    return Path(os.environ.get("STYLEVIDEO_WEIGHTS", "~/.cache/stylevideo")).expanduser()


def _spec(name: str) -> WeightSpec:
    if name not in _REGISTRY:
        known = ", ".join(sorted(_REGISTRY)) or "none registered"
        raise KeyError(f"unknown weights {name!r}; known: {known}")
    return _REGISTRY[name]


def weights_path(name: str, path: str | os.PathLike | None = None) -> Path:
    """Where ``name`` is looked for: ``path`` if given, else the cache folder (no check)."""
    spec = _spec(name)
    return Path(path).expanduser() if path is not None else weights_dir() / spec.filename


def missing_message(name: str, path: str | os.PathLike | None = None) -> str:
    """What to fetch for a missing ``name`` and where it goes (the text of the error)."""
    spec, file = _spec(name), weights_path(name, path)
    if path is not None:
        return (
            f"{name}: the configured file {file} does not exist. "
            f"Download {spec.filename} from {spec.url} and point the config at it."
        )
    return (
        f"{name}: {spec.filename} not found in {file.parent} "
        f"(set STYLEVIDEO_WEIGHTS to change the folder). Download it from {spec.url}"
        + (f" ({spec.description})" if spec.description else "")
    )


def resolve_weights(name: str, path: str | os.PathLike | None = None) -> Path:
    """Return the local file for ``name`` (``path`` first, then the cache folder)."""
    file = weights_path(name, path)
    if file.is_file():
        return file
    raise MissingWeightsError(missing_message(name, path))


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
