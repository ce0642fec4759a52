"""Checkpoint files: atomic writes, safe reads.

Lightning's default ``_atomic_save`` serialises into memory and writes through an fsspec
transaction; on a local filesystem that transaction writes to a file from ``tempfile.mkstemp()``
(the system temp folder) and ``shutil.move`` s it into place. When the temp folder is on another
filesystem than the run folder (usual on clusters: local ``/tmp``, shared run folders) the move
is a copy into the destination, so a kill during it leaves a truncated ``last.ckpt``; nothing is
fsynced either. :class:`AtomicCheckpointIO` writes next to the target, fsyncs, and renames over
it (atomic on POSIX), then fsyncs the folder: at every instant the file is the old or the new
checkpoint.

Reads use ``torch.load(weights_only=True)``: a checkpoint can hold tensors and plain Python
containers but cannot run code when loaded. ``weights_only=False`` must be asked for
explicitly (``--weights_only false`` or ``AtomicCheckpointIO(weights_only=False)``) and warns.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import torch
from lightning.fabric.plugins import CheckpointIO
from lightning.fabric.utilities.types import _PATH

__all__ = ["AtomicCheckpointIO", "atomic_torch_save", "safe_types"]


def atomic_torch_save(obj: Any, path: _PATH) -> Path:
    """``torch.save`` to ``path`` through a temporary file in the same folder and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    if hasattr(os, "O_DIRECTORY"):
        fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    return path


def safe_types(value: Any) -> Any:
    """``value`` with the types ``weights_only`` loading refuses turned into plain ones:
    paths and other ``os.PathLike`` to ``str``, namespaces (jsonargparse) and mappings to
    ``dict``, sets to lists. Tensors, numbers, strings, lists and tuples are kept."""
    if isinstance(value, torch.Tensor) or value is None or isinstance(value, (bool, int, float, str, bytes)):
        return value
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if hasattr(value, "__dict__") and type(value).__name__ == "Namespace":
        value = vars(value)
    if isinstance(value, dict) or hasattr(value, "items"):
        return {k: safe_types(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return tuple(safe_types(v) for v in value)
    if isinstance(value, (list, set, frozenset)):
        return [safe_types(v) for v in value]
    return value


class AtomicCheckpointIO(CheckpointIO):
    """Atomic ``save_checkpoint`` and ``weights_only`` ``load_checkpoint`` (module docstring).

    Hyper-parameters (``save_hyperparameters`` may hold paths or jsonargparse namespaces) are
    stored as plain types so that the file loads with ``weights_only=True``.
    """

    def __init__(self, weights_only: bool = True):
        self.weights_only = weights_only

    def save_checkpoint(self, checkpoint: dict[str, Any], path: _PATH, storage_options: Any | None = None) -> None:
        if storage_options is not None:
            raise TypeError(f"AtomicCheckpointIO takes no storage_options, got {storage_options!r}")
        for key in ("hyper_parameters", "datamodule_hyper_parameters"):
            if key in checkpoint:
                checkpoint[key] = safe_types(checkpoint[key])
        atomic_torch_save(checkpoint, path)

    def load_checkpoint(
        self, path: _PATH, map_location: Any | None = None, weights_only: bool | None = None
    ) -> dict[str, Any]:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"checkpoint file not found: {path}")
        safe = self.weights_only if weights_only is None else weights_only
        if not safe:
            warnings.warn(
                f"loading {path} with full unpickling (weights_only=False): only do this for "
                "checkpoints you trust, it can run arbitrary code",
                stacklevel=2,
            )
        return torch.load(path, map_location=map_location or "cpu", weights_only=safe)

    def remove_checkpoint(self, path: _PATH) -> None:
        Path(path).unlink(missing_ok=True)
