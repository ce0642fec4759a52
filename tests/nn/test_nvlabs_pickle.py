"""NVlabs network pickles are read as data: the embedded source never runs, unknown classes are refused."""

from __future__ import annotations

import os
import pickle
import sys
import types

import numpy as np
import pytest
import torch
from nvlabs_lookalike import dictconfig, load_fixture, nvlabs_names, write_pickle

from stylevideo.nn.nvlabs_pickle import Record, plain, read_network_pickle


def test_a_snapshot_reads_as_records_with_every_tensor_attribute_and_kwarg(tmp_path):
    fixture = load_fixture("nvlabs_stylegan2_ada")
    path = write_pickle(tmp_path / "snapshot.pkl", fixture["networks"], training_set_kwargs={"path": "frames.zip"})
    content = read_network_pickle(path)
    assert sorted(content) == ["D", "G_ema", "training_set_kwargs"]
    assert type(content["training_set_kwargs"]) is dict and content["training_set_kwargs"] == {"path": "frames.zip"}
    g = content["G_ema"]
    assert isinstance(g, Record) and g.name == "Generator" and g.source.startswith("# the module source")
    expected = fixture["networks"]["G_ema"]["tensors"]
    tensors = g.tensors()
    assert tensors.keys() == expected.keys()
    assert all(torch.equal(tensors[k], expected[k]) for k in expected)
    layer = g["synthesis.b32.conv0"]
    assert layer.name == "SynthesisLayer" and layer.attr("conv_clamp") == 0.5 and layer.attr("up") == 2
    assert type(layer.attr("act_gain")) is np.float64  # numpy scalars come back as numpy scalars
    synthesis_kwargs = {"channel_base": 256, "channel_max": 16, "num_fp16_res": 2, "conv_clamp": 0.5}
    assert g.init_kwargs["synthesis_kwargs"] == synthesis_kwargs
    assert "mapping.fc1" in g and "mapping.fc9" not in g
    with pytest.raises(KeyError, match="fc9"):
        g["mapping.fc9"]


def test_the_embedded_source_is_never_executed(tmp_path):
    marker = tmp_path / "executed.txt"
    payload = f"open({str(marker)!r}, 'w').write('the pickle ran code')\n"
    exec(compile(payload, "payload", "exec"), {})  # the payload is live: run, it writes the file
    assert marker.exists()
    marker.unlink()
    fixture = load_fixture("nvlabs_stylegan2_ada")
    path = write_pickle(tmp_path / "evil.pkl", {"G_ema": fixture["networks"]["G_ema"]}, source=payload)
    assert payload.encode() in path.read_bytes()
    content = read_network_pickle(path)
    assert content["G_ema"].source == payload
    assert not marker.exists()


class _Payload:
    def __reduce__(self):
        return os.system, ("echo pwned",)


def test_unknown_classes_and_functions_are_refused_by_name(tmp_path, monkeypatch):
    path = tmp_path / "system.pkl"
    path.write_bytes(pickle.dumps({"G_ema": _Payload()}))
    with pytest.raises(pickle.UnpicklingError, match=r"refusing to load (posix|nt)\.system"):
        read_network_pickle(path)
    module = types.ModuleType("evil")
    module.Widget = type("Widget", (), {"__module__": "evil"})
    monkeypatch.setitem(sys.modules, "evil", module)
    path.write_bytes(pickle.dumps({"G_ema": module.Widget()}))
    with pytest.raises(pickle.UnpicklingError, match=r"evil\.Widget"):
        read_network_pickle(path)
    path.write_bytes(pickle.dumps(eval))
    with pytest.raises(pickle.UnpicklingError, match=r"builtins\.eval"):
        read_network_pickle(path)
    path.write_bytes(b"not a pickle")
    with pytest.raises(pickle.UnpicklingError, match="could not be read"):
        read_network_pickle(path)
    with pytest.raises(FileNotFoundError, match="missing.pkl"):
        read_network_pickle(tmp_path / "missing.pkl")


def test_configs_and_torch_modules_are_kept_as_data(tmp_path):
    """StyleGAN-V / StyleInV keep OmegaConf configs and torch modules in their networks."""
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 1), torch.nn.LeakyReLU(0.2))
    path = tmp_path / "config.pkl"
    with nvlabs_names() as easydict:
        cfg = dictconfig({"motion": {"z_dim": 16}, "name": "sgv"})
        path.write_bytes(pickle.dumps({"cfg": cfg, "net": net, "kwargs": easydict(a=1)}))
    content = read_network_pickle(path)
    assert content["cfg"].kind == "omegaconf.dictconfig.DictConfig"
    assert plain(content["cfg"]) == {"motion": {"z_dim": 16}, "name": "sgv"}
    assert content["net"].kind == "torch.nn.modules.container.Sequential"
    assert content["net"]["1"].attr("negative_slope") == 0.2
    assert torch.equal(content["net"].tensors()["0.weight"], net[0].weight.detach())
    assert content["kwargs"] == {"a": 1} and type(content["kwargs"]) is dict
