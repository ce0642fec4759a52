"""NVlabs network pickles, read as data: nothing the file carries is executed.

StyleGAN2-ADA, StyleGAN3, StyleGAN-V, StyleGAN-Human and StyleInV release ``.pkl`` files written
by NVlabs' ``torch_utils/persistence.py``: each network is pickled as a call
``torch_utils.persistence._reconstruct_persistent_obj(meta)`` whose ``meta`` holds the SOURCE
CODE of the class's module, the class name and the object's state (its ``__dict__``:
``_parameters``, ``_buffers``, ``_modules``, ``_init_kwargs``, ...); NVlabs' own loader
``exec``s that source. :func:`read_network_pickle` reads the same file with a restricted
:class:`pickle.Unpickler` instead: ``find_class`` resolves only what it knows --

- the persistence reconstruct function, mapped to one that keeps ``meta`` as a :class:`Record`
  (the source stays text);
- torch's tensor / parameter / storage rebuild functions (storages are themselves read with
  ``torch.load(weights_only=True)``), ``torch.Size``, dtypes and devices;
- ``collections.OrderedDict``, ``dnnlib.util.EasyDict`` (as a ``dict``), plain containers, numpy
  arrays and scalars;
- torch's own ``nn`` module classes, torch's ``_IncompatibleKeys``, ``argparse.Namespace`` and
  OmegaConf's config classes (StyleGAN-V and StyleInV keep their configs in their networks),
  all as :class:`Record` (class name, arguments, state; never an instance of the class);

anything else raises an :class:`pickle.UnpicklingError` naming the ``module.class``.
"""

from __future__ import annotations

import collections
import io
import os
import pickle
from typing import Any

import numpy as np
import torch
import torch._utils

__all__ = ["Record", "RefusedGlobal", "plain", "read_network_pickle"]


class RefusedGlobal(pickle.UnpicklingError):
    """The pickle names a class or function the reader does not resolve."""


class Record:
    """An object of a class a pickle names, kept as data: ``kind`` (``module.name``), the
    constructor ``args``, the ``state`` and, for an NVlabs persistent class, its embedded
    module ``source`` (text, never executed).

    Networks (persistent objects and torch modules) expose their submodules (:attr:`children`,
    ``record["a.b"]``), their parameters and buffers by dotted name (:meth:`tensors`) and
    their attributes (:meth:`attr`).
    """

    module = ""
    name = ""

    def __new__(cls, *args):
        obj = super().__new__(cls)
        obj.args, obj.state, obj.source, obj.items = args, None, None, {}
        return obj

    def __setstate__(self, state: Any) -> None:
        self.state = state

    def __setitem__(self, key: Any, value: Any) -> None:  # dict subclasses (SETITEMS)
        self.items[key] = value

    def append(self, value: Any) -> None:  # list subclasses (APPENDS)
        self.items[len(self.items)] = value

    def extend(self, values: Any) -> None:
        for value in values:
            self.append(value)

    @property
    def kind(self) -> str:
        return f"{self.module}.{self.name}" if self.module else self.name

    def __repr__(self) -> str:
        return f"<Record {self.kind}>"

    def _dict(self) -> dict:
        return self.state if isinstance(self.state, dict) else {}

    @property
    def children(self) -> dict[str, Record]:
        """Submodules by name (``_modules``; None entries left out)."""
        return {k: v for k, v in self._dict().get("_modules", {}).items() if v is not None}

    def __getitem__(self, path: str) -> Record:
        node = self
        for part in path.split("."):
            children = node.children
            if part not in children:
                raise KeyError(f"{node.kind} has no submodule {part!r} (it has {sorted(children)})")
            node = children[part]
        return node

    def __contains__(self, path: str) -> bool:
        try:
            self[path]
        except KeyError:
            return False
        return True

    def tensors(self, prefix: str = "") -> dict[str, torch.Tensor]:
        """Parameters and buffers of this network and its submodules by dotted name (as a
        ``state_dict``, persistent and non-persistent buffers alike)."""
        state = self._dict()
        out = {}
        for group in ("_parameters", "_buffers"):
            for name, value in state.get(group, {}).items():
                if value is not None:
                    out[prefix + name] = value.detach() if isinstance(value, torch.Tensor) else value
        for name, child in self.children.items():
            out.update(child.tensors(f"{prefix}{name}."))
        return out

    def attr(self, name: str, default: Any = KeyError) -> Any:
        """An attribute of the pickled object (its ``__dict__`` entry), or ``default``."""
        state = self._dict()
        if name in state:
            return state[name]
        if default is KeyError:
            raise KeyError(f"{self.kind} has no attribute {name!r}")
        return default

    @property
    def init_kwargs(self) -> dict:
        """The keyword arguments the network was built with (NVlabs' ``_init_kwargs``), as plain data."""
        return plain(self.attr("_init_kwargs", {}))

    def class_names(self) -> set[str]:
        """The class names of this network and all its submodules."""
        names = {self.name}
        for child in self.children.values():
            names |= child.class_names()
        return names


_PERSISTENT_MODULE = "torch_utils.persistence"


def _persistent(meta: dict) -> Record:
    """``_reconstruct_persistent_obj``: the object as a :class:`Record`; the source is kept, not run."""
    if not isinstance(meta, dict) or meta.get("type") != "class" or "class_name" not in meta:
        raise pickle.UnpicklingError(f"not an NVlabs persistent object: {type(meta).__name__}")
    record = _record_class(f"{_PERSISTENT_MODULE}(embedded source)", meta["class_name"])()
    record.state, record.source = meta.get("state"), meta.get("module_src")
    return record


_RECORD_CLASSES: dict[tuple[str, str], type] = {}


def _record_class(module: str, name: str) -> type:
    key = (module, name)
    if key not in _RECORD_CLASSES:
        _RECORD_CLASSES[key] = type(name, (Record,), {"module": module, "name": name})
    return _RECORD_CLASSES[key]


def _storage_from_bytes(data: bytes):
    """``torch.storage._load_from_bytes``, restricted: the storage's own pickle is read weights-only."""
    return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)


def _reconstructor(cls: type, base: type, state: Any = None):
    """``copyreg._reconstructor`` (protocol 0/1 objects), for record classes only."""
    if not (isinstance(cls, type) and issubclass(cls, Record)):
        raise pickle.UnpicklingError(f"copyreg._reconstructor of {cls!r} refused")
    return cls()


def _numpy(name: str):
    core = getattr(np, "_core", None) or np.core
    return getattr(core.multiarray, name)


_GLOBALS: dict[str, Any] = {
    f"{_PERSISTENT_MODULE}._reconstruct_persistent_obj": _persistent,
    "torch._utils._rebuild_tensor": torch._utils._rebuild_tensor,
    "torch._utils._rebuild_tensor_v2": torch._utils._rebuild_tensor_v2,
    "torch._utils._rebuild_parameter": torch._utils._rebuild_parameter,
    "torch._utils._rebuild_parameter_with_state": torch._utils._rebuild_parameter_with_state,
    "torch.storage._load_from_bytes": _storage_from_bytes,
    "torch.Size": torch.Size,
    "torch.device": torch.device,
    "collections.OrderedDict": collections.OrderedDict,
    "collections.defaultdict": lambda *args: {},  # OmegaConf's resolver cache: the factory is dropped
    "copyreg._reconstructor": _reconstructor,
    "dnnlib.util.EasyDict": dict,
    "numpy.ndarray": np.ndarray,
    "numpy.dtype": np.dtype,
    **{
        f"{module}.{name}": _numpy(name)
        for module in ("numpy.core.multiarray", "numpy._core.multiarray")
        for name in ("_reconstruct", "scalar")
    },
    **{
        f"builtins.{t.__name__}": t
        for t in (set, frozenset, dict, list, tuple, int, float, complex, bool, str, bytes, bytearray, slice)
    },
    **{f"torch.{d}": getattr(torch, d) for d in ("float16", "float32", "float64", "bfloat16", "int64", "bool")},
    **{f"typing.{t}": f"typing.{t}" for t in ("Any", "Dict", "List", "Tuple", "Optional", "Union")},
}

#: Classes kept as :class:`Record` (data only): torch's own modules, configs, named tuples.
_RECORD_PREFIXES = ("torch.nn.modules.", "omegaconf.")
_RECORD_KINDS = {"argparse.Namespace", "torch.nn.modules.module._IncompatibleKeys"}


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, file, source: str):
        super().__init__(file)
        self.source = source

    def find_class(self, module: str, name: str):
        kind = f"{module}.{name}"
        if kind in _GLOBALS:
            return _GLOBALS[kind]
        if module.startswith(_RECORD_PREFIXES) or kind in _RECORD_KINDS:
            return _record_class(module, name)
        raise RefusedGlobal(
            f"{self.source}: refusing to load {kind}: an NVlabs network pickle is read as data "
            "(persistent networks, tensors, containers, numpy, torch modules, configs) and "
            "nothing else is resolved"
        )

    def persistent_load(self, pid):
        raise RefusedGlobal(f"{self.source}: persistent id {pid!r}: not an NVlabs network pickle")


def read_network_pickle(path: str | os.PathLike) -> Any:
    """The content of an NVlabs network pickle (usually ``{"G": ..., "D": ..., "G_ema": ...,
    "training_set_kwargs": ...}``) with every network as a :class:`Record`. Executes nothing."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"network pickle {path} does not exist")
    with open(path, "rb") as f:
        try:
            return _RestrictedUnpickler(f, str(path)).load()
        except RefusedGlobal:
            raise
        except Exception as e:  # truncated or not a pickle
            raise pickle.UnpicklingError(f"{path} could not be read as an NVlabs network pickle: {e}") from e


def plain(value: Any) -> Any:
    """Configs as plain Python: dicts (EasyDict included), lists, and OmegaConf ``DictConfig`` /
    ``ListConfig`` / value nodes as the dicts, lists and values they hold; tensors and other
    records unchanged."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)) and not isinstance(value, torch.Size):
        return type(value)(plain(v) for v in value) if type(value) in (list, tuple) else value
    if isinstance(value, Record) and value.module.startswith("omegaconf."):
        state = value._dict()
        if "_content" in state:
            return plain(state["_content"])
        if "_val" in state:
            return plain(state["_val"])
    if isinstance(value, Record) and value.kind == "argparse.Namespace":
        return plain(value._dict())
    return value
