"""IR-SE backbone: IR-50 structure, SE gating; layout and outputs against pSp's ArcFace backbone."""

import pytest
import torch
from nvlabs_lookalike import load_fixture, network_tensors, relative_error

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


# --- against pSp's models/encoders/model_irse.py (tests/fixtures/psp_official.pt) -------------------------


def test_ir_se50_has_the_layout_of_the_arcface_backbone_pSp_uses():
    """Names and shapes of pSp's ``Backbone(112, 50, 'ir_se')`` (the ArcFace model_ir_se50.pth):
    ours is its trunk; backbone_state keeps exactly that trunk."""
    layout = load_fixture("psp_official", networks=())["layouts"]["arcface_ir_se50"]
    with torch.device("meta"):
        ours = {k: list(v.shape) for k, v in IRSEBackbone(50).state_dict().items()}
    trunk = {k: v for k, v in layout.items() if k.startswith(("input_layer.", "body."))}
    assert ours == trunk and len(trunk) < len(layout)  # the output_layer is ArcFace's head
    assert backbone_state({k: torch.empty(0) for k in layout}).keys() == trunk.keys()
    prefixed = {"encoder." + k: v for k, v in trunk.items()} | {"decoder.x": 0}
    assert backbone_state(prefixed, "encoder.").keys() == trunk.keys()
    with pytest.raises(KeyError, match="input_layer"):
        backbone_state({"decoder.x": torch.zeros(1)}, "encoder.")


@torch.no_grad()
def test_backbone_reproduces_the_arcface_trunk_of_pSps_code():
    fixture = load_fixture("psp_official", networks=())
    state = network_tensors(fixture["networks"]["arcface"], prefixes=("input_layer.", "body."))
    with torch.device("meta"):
        net = IRSEBackbone(50).eval()
    net.load_state_dict(backbone_state(state), assign=True)
    x = fixture["inputs"]["trunk_x"]  # 32x32: the trunk is fully convolutional
    assert relative_error(net(x), fixture["outputs"]["arcface"]["body"]) <= 1e-4
