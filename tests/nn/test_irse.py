"""IR-SE backbone: IR-50 structure, SE gating, checkpoint key compatibility with ArcFace."""

import pytest
import torch

from stylevideo.features.arcface import IRSE50
from stylevideo.nn.irse import IRSEBackbone, backbone_state

TINY = dict(widths=(16, 16, 32, 32), units=(1, 1, 1, 1))


def test_ir50_has_the_papers_units_strides_and_stage_ends():
    net = IRSEBackbone(50)
    assert net.stage_ends == (2, 6, 20, 23) and len(net.body) == 24
    strides = [u.res_layer[3].stride[0] for u in net.body]
    assert [i for i, s in enumerate(strides) if s == 2] == [0, 3, 7, 21]
    assert sum(p.numel() for p in net.parameters()) == pytest.approx(30.95e6, rel=1e-3)


def test_stages_halve_the_resolution_and_forward_is_the_last_stage():
    torch.manual_seed(0)
    net = IRSEBackbone(**TINY).eval()
    x = torch.randn(2, 3, 32, 32)
    stages = net.stages(x)
    assert [s.shape[-1] for s in stages] == [16, 8, 4, 2]
    assert [s.shape[1] for s in stages] == [16, 16, 32, 32]
    assert torch.equal(net(x), stages[-1])


def test_se_mode_gates_channels_and_ir_mode_has_no_se():
    se = IRSEBackbone(mode="ir_se", **TINY)
    ir = IRSEBackbone(mode="ir", **TINY)
    assert len(se.body[0].res_layer) == 6 and len(ir.body[0].res_layer) == 5
    with pytest.raises(ValueError, match="mode"):
        IRSEBackbone(mode="resnet")
    with pytest.raises(ValueError, match="num_layers"):
        IRSEBackbone(34)


def test_arcface_checkpoint_maps_onto_the_backbone_by_dropping_the_head(tmp_path):
    torch.manual_seed(0)
    arcface = IRSE50().eval()
    torch.save(arcface.state_dict(), tmp_path / "model_ir_se50.pth")
    state = torch.load(tmp_path / "model_ir_se50.pth", weights_only=True)
    net = IRSEBackbone(50).eval()
    net.load_state_dict(backbone_state(state), strict=True)
    x = torch.randn(1, 3, 32, 32)
    assert torch.allclose(net(x), arcface.body(arcface.input_layer(x)))
    prefixed = {"encoder." + k: v for k, v in state.items()} | {"decoder.x": torch.zeros(1)}
    assert backbone_state(prefixed, "encoder.").keys() == backbone_state(state).keys()
    with pytest.raises(KeyError, match="input_layer"):
        backbone_state({"decoder.x": torch.zeros(1)}, "encoder.")
