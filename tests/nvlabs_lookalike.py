"""Look-alike NVlabs network pickles, built at test time (no NVlabs pickle is ever stored).

NVlabs' ``torch_utils.persistence`` pickles a network as ``_reconstruct_persistent_obj(meta)``
with ``meta = {type, version, module_src, class_name, state}``; ``state`` is the module's
``__dict__``. :func:`write_pickle` produces exactly that protocol from a fixture written by
``tools/make_nvlabs_fixtures.py`` (per submodule: class, parameters, buffers, attributes, init
kwargs), with stand-in modules ``torch_utils.persistence`` and ``dnnlib.util`` registered under
NVlabs' names while pickling. Torch's own module classes (pSp's IR-SE units) are pickled as the
real torch classes, as in the released files; the OmegaConf configs StyleGAN-V and StyleInV keep
in their networks as stand-in ``omegaconf.dictconfig.DictConfig`` objects with OmegaConf's
``__dict__`` layout (``_metadata``, ``_parent``, ``_content`` of ``omegaconf.nodes.AnyNode``).
"""

from __future__ import annotations

import contextlib
import importlib
import pickle
import sys
import types
import zlib
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch

FIXTURES = Path(__file__).resolve().parent / "fixtures"

#: What the embedded module source of a harmless look-alike says.
HARMLESS_SOURCE = "# the module source NVlabs embeds; read as text, never executed\n"


def relative_error(ours: torch.Tensor, reference: torch.Tensor) -> float:
    """``||ours - reference|| / ||reference||`` in float64."""
    ours, reference = ours.detach().double(), reference.detach().double()
    return float((ours - reference).norm() / reference.norm())


def generated_tensor(name: str, shape, seed: int, std: float = 1.0) -> torch.Tensor:
    """The value ``tools/make_nvlabs_fixtures.py`` gives a large parameter (the IR-SE encoders'
    convolutions) instead of storing it: N(0, std^2) for weights of two or more dimensions
    (``std`` chosen so that the layer's effective weight, run-time gains included, has variance
    1/fan_in), 1 + N(0, 0.1^2) for 1-D weights, N(0, 0.1^2) otherwise; from a generator seeded by
    ``seed`` and the name. The authors' network ran with exactly these values."""
    g = torch.Generator().manual_seed(seed * 1_000_003 + zlib.crc32(name.encode()))
    t = torch.randn(tuple(shape), generator=g)
    if len(shape) >= 2:
        return t * std
    return 0.1 * t + (1.0 if name.endswith("weight") else 0.0)


def network_tensors(dump: dict, prefixes: tuple[str, ...] = ("",)) -> dict[str, torch.Tensor]:
    """The tensors of a fixture network whose names start with one of ``prefixes``: the stored
    ones and the generated ones."""
    tensors = {k: v for k, v in dump["tensors"].items() if k.startswith(prefixes)}
    for name, spec in dump.get("generated", {}).items():
        if name.startswith(prefixes):
            tensors[name] = generated_tensor(name, spec["shape"], dump.get("seed", 0), spec["std"])
    return tensors


def load_fixture(name: str, networks: tuple[str, ...] | None = None) -> dict:
    """A fixture with the generated tensors of ``networks`` (default: all) filled in
    (``networks[...]["tensors"]`` complete for those)."""
    fixture = torch.load(FIXTURES / f"{name}.pt", weights_only=True)
    for key, dump in fixture.get("networks", {}).items():
        if networks is None or key in networks:
            dump["tensors"] = network_tensors(dump)
    return fixture


class _Persistent:
    """Pickles as NVlabs' persistent objects do: ``_reconstruct_persistent_obj(meta)``."""

    def __init__(self, class_name: str, state: dict, source: str):
        self.class_name, self.state, self.source = class_name, state, source

    def __reduce__(self):
        meta = dict(type="class", version=6, module_src=self.source, class_name=self.class_name, state=self.state)
        return sys.modules["torch_utils.persistence"]._reconstruct_persistent_obj, (meta,)


@contextlib.contextmanager
def nvlabs_names():
    """Stand-in modules under NVlabs' names (``torch_utils.persistence``, ``dnnlib.util``) while
    pickling; whatever was registered under those names before is restored."""
    persistence = types.ModuleType("torch_utils.persistence")

    def _reconstruct_persistent_obj(meta):  # pickled by reference only
        raise AssertionError("a look-alike pickle is never loaded with NVlabs' loader")

    _reconstruct_persistent_obj.__module__ = persistence.__name__
    _reconstruct_persistent_obj.__qualname__ = "_reconstruct_persistent_obj"
    persistence._reconstruct_persistent_obj = _reconstruct_persistent_obj
    util = types.ModuleType("dnnlib.util")
    util.EasyDict = type("EasyDict", (dict,), {"__module__": "dnnlib.util"})
    dictconfig, nodes = types.ModuleType("omegaconf.dictconfig"), types.ModuleType("omegaconf.nodes")
    dictconfig.DictConfig = type("DictConfig", (), {"__module__": dictconfig.__name__})
    nodes.AnyNode = type("AnyNode", (), {"__module__": nodes.__name__})
    modules = {
        "torch_utils": types.ModuleType("torch_utils"),
        "torch_utils.persistence": persistence,
        "dnnlib": types.ModuleType("dnnlib"),
        "dnnlib.util": util,
        "omegaconf": types.ModuleType("omegaconf"),
        "omegaconf.dictconfig": dictconfig,
        "omegaconf.nodes": nodes,
    }
    saved = {name: sys.modules.get(name) for name in modules}
    sys.modules.update(modules)
    try:
        yield util.EasyDict
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module


def dictconfig(value):
    """An OmegaConf-layout config of a plain dict (inside :func:`nvlabs_names`)."""
    if not isinstance(value, dict):
        node = sys.modules["omegaconf.nodes"].AnyNode()
        node.__dict__.update(_metadata=None, _parent=None, _val=value)
        return node
    config = sys.modules["omegaconf.dictconfig"].DictConfig()
    config.__dict__.update(_metadata=None, _parent=None, _content={k: dictconfig(v) for k, v in value.items()})
    return config


def _easydict(value, easydict):
    if isinstance(value, dict):
        return easydict({k: _easydict(v, easydict) for k, v in value.items()})
    return value


def build_network(dump: dict, easydict, path: str = "", source: str = HARMLESS_SOURCE):
    """The look-alike object for the submodule at ``path`` of a fixture network."""
    entry, tensors = dump["modules"][path], dump["tensors"]
    prefix = f"{path}." if path else ""
    children = [p for p in dump["modules"] if p.startswith(prefix) and p != path and "." not in p[len(prefix) :]]
    attrs = dict(entry["attrs"])
    for name in entry["numpy_scalars"]:
        attrs[name] = np.float64(attrs[name]) if isinstance(attrs[name], float) else np.int64(attrs[name])
    for name in entry["numpy_arrays"]:
        attrs[name] = np.asarray(attrs[name])
    for name in entry.get("configs", []):
        attrs[name] = dictconfig(attrs[name])
    state = {
        "training": False,
        "_parameters": OrderedDict(
            (n, torch.nn.Parameter(tensors[prefix + n].clone(), requires_grad=False)) for n in entry["params"]
        ),
        "_buffers": OrderedDict((n, tensors[prefix + n].clone()) for n in entry["buffers"]),
        "_non_persistent_buffers_set": set(),
        "_backward_hooks": OrderedDict(),
        "_forward_hooks": OrderedDict(),
        "_forward_pre_hooks": OrderedDict(),
        "_state_dict_hooks": OrderedDict(),
        "_load_state_dict_pre_hooks": OrderedDict(),
        "_modules": OrderedDict(
            (child[len(prefix) :], build_network(dump, easydict, child, source)) for child in children
        ),
        **attrs,
    }
    if entry["persistent"]:
        state |= {"_init_args": (), "_init_kwargs": _easydict(entry["init_kwargs"], easydict)}
        return _Persistent(entry["class"], state, source)
    cls = getattr(importlib.import_module(entry["torch_module"]), entry["class"])
    module = cls.__new__(cls)
    module.__dict__.update(state)
    return module


def write_pickle(path: Path, networks: dict, source: str = HARMLESS_SOURCE, **extra) -> Path:
    """A look-alike of an NVlabs snapshot: ``{name: network}`` from fixture dumps, plus ``extra``
    entries (e.g. ``training_set_kwargs``), pickled as ``training_loop.py`` does (``pickle.dump``)."""
    with nvlabs_names() as easydict:
        content = {name: build_network(dump, easydict, source=source) for name, dump in networks.items()}
        content |= {k: _easydict(v, easydict) for k, v in extra.items()}
        with open(path, "wb") as f:
            pickle.dump(content, f)
    return path
