"""Running the authors' public code for reference outputs (used by ``tools/make_*_fixtures.py``).

Their code is imported from the path given on the command line and never copied or edited:

- :func:`import_authors_code` puts a directory (or, for a git clone, one commit of it, exported
  to a temporary directory) on ``sys.path``, with ``torch.utils.cpp_extension.load`` disabled so
  that rosinality-style ``op/`` packages import without compiling CUDA: on the CPU their own
  pure-PyTorch paths (``upfirdn2d_native``, the CPU branch of ``fused_leaky_relu``) run.
- :func:`narrowed` builds their networks at small widths: their width tables are literals
  inside their constructors, so the constructors of their building blocks are wrapped to
  receive every channel count ``c`` as ``c // divisor + c % divisor``. Table widths (multiples
  of ``divisor``) shrink ``divisor``-fold; the 3 RGB channels, the minibatch-std channel added
  to a width and sizes below ``divisor`` stay as they are. Blocks built inside a wrapped block
  receive their arguments unchanged (they are already narrowed).
"""

from __future__ import annotations

import contextlib
import io
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import ModuleType

import torch.utils.cpp_extension

__all__ = ["import_authors_code", "narrowed"]


@contextlib.contextmanager
def import_authors_code(path: str | Path, commit: str | None = None, paths: Sequence[str] = ()) -> Iterator[Path]:
    """Make the authors' code at ``path`` (at ``commit``: only ``paths`` of it) importable."""
    path = Path(path)
    if not path.is_dir():
        raise FileNotFoundError(f"{path}: not a directory holding the authors' code")
    saved_load = torch.utils.cpp_extension.load
    torch.utils.cpp_extension.load = lambda *args, **kwargs: None  # their CUDA kernels: CPU runs never call them
    with tempfile.TemporaryDirectory() as tmp:
        root = path
        if commit is not None:
            archive = subprocess.run(
                ["git", "-C", str(path), "archive", "--format=tar", commit, *paths], check=True, capture_output=True
            ).stdout
            with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
                tar.extractall(tmp, filter="data")
            root = Path(tmp)
        sys.path.insert(0, str(root))
        try:
            yield root
        finally:
            sys.path.remove(str(root))
            torch.utils.cpp_extension.load = saved_load


@contextlib.contextmanager
def narrowed(module: ModuleType, divisor: int, channel_args: dict[str, tuple[int, ...]]) -> Iterator[None]:
    """Within the block, ``module.<Class>(...)`` narrows the positional arguments listed in
    ``channel_args[Class]`` (see the module docstring)."""
    depth = 0
    originals = {name: getattr(module, name) for name in channel_args}

    def wrap(name: str, cls: type):
        def build(*args, **kwargs):
            nonlocal depth
            if depth:
                return cls(*args, **kwargs)
            args = [a // divisor + a % divisor if i in channel_args[name] else a for i, a in enumerate(args)]
            depth += 1
            try:
                return cls(*args, **kwargs)
            finally:
                depth -= 1

        return build

    for name, cls in originals.items():
        setattr(module, name, wrap(name, cls))
    try:
        yield
    finally:
        for name, cls in originals.items():
            setattr(module, name, cls)
