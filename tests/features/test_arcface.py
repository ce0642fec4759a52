"""ArcFace IR-SE50: the checkpoint's layer names load strictly through the loader."""

from __future__ import annotations

import pytest
import torch

from stylevideo.features.arcface import IRSE50, load_arcface
from stylevideo.features.weights import MissingWeightsError


def test_ir_se50_loads_through_the_loader_and_embeds_on_the_unit_sphere(tmp_path):
    torch.manual_seed(0)
    state = IRSE50().state_dict()
    # The released checkpoint's layout: 24 units, SE as fc1/fc2, a 512x7x7 -> 512 linear.
    assert "body.23.res_layer.5.fc2.weight" in state and "body.3.shortcut_layer.0.weight" in state
    assert state["output_layer.3.weight"].shape == (512, 512 * 7 * 7)
    path = tmp_path / "model_ir_se50.pth"
    torch.save(state, path)
    net = load_arcface(path)
    crops = torch.rand(1, 3, 128, 128) * 2 - 1  # resized to 112 inside
    with torch.no_grad():
        emb = net(crops)
    assert emb.shape == (1, 512)
    assert torch.allclose(emb.norm(dim=1), torch.ones(1), atol=1e-5)
    with pytest.raises(MissingWeightsError, match="model_ir_se50.pth"):
        load_arcface()
