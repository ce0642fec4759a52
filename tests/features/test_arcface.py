"""ArcFace IR-SE50: the released checkpoint's layout and outputs, against pSp's ``model_irse.Backbone``.

tests/fixtures/psp_official.pt (``tools/make_nvlabs_fixtures.py --psp``) holds the names and shapes
of pSp's ``Backbone(112, 50, 'ir_se')`` (the network of model_ir_se50.pth) and its embedding of a
crop with generated weights.
"""

from __future__ import annotations

import pytest
import torch
from nvlabs_lookalike import load_fixture, network_tensors, relative_error

from stylevideo.features.arcface import IRSE50, load_arcface
from stylevideo.features.weights import MissingWeightsError


def test_ir_se50_has_the_released_layout():
    layout = load_fixture("psp_official", networks=())["layouts"]["arcface_ir_se50"]
    with torch.device("meta"):
        ours = {k: list(v.shape) for k, v in IRSE50().state_dict().items()}
    assert ours == layout


def test_ir_se50_loads_through_the_loader_and_reproduces_the_embeddings(tmp_path):
    fixture = load_fixture("psp_official", networks=())
    path = tmp_path / "model_ir_se50.pth"
    torch.save(network_tensors(fixture["networks"]["arcface"]), path)
    net = load_arcface(path)
    with torch.no_grad():
        embedding = net(fixture["inputs"]["crops"])
    assert relative_error(embedding, fixture["outputs"]["arcface"]["embedding"]) <= 1e-4
    assert torch.allclose(embedding.norm(dim=1), torch.ones(1), atol=1e-5)
    with pytest.raises(MissingWeightsError, match="model_ir_se50.pth"):
        load_arcface()
