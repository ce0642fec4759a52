"""Hara et al.'s 3D ResNeXt-101 (lia's video FID network) against facts of the public code
(kenshohara/3D-ResNets-PyTorch, branch CVPR2018, models/resnext.py) and G3AN's feature recipe."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from stylevideo.features.resnext3d import ResNeXt3D, load_resnext3d

TINY = dict(layers=(1, 1, 1, 1), cardinality=4, planes=(32, 64, 128, 256), stem=8, size=32)


def test_resnext101_has_the_released_files_layout():
    with torch.device("meta"):
        net = ResNeXt3D()
    shapes = {k: tuple(v.shape) for k, v in net.state_dict().items() if not k.endswith("num_batches_tracked")}
    # 1 stem conv + 1 stem BN (4 tensors) + 33 bottlenecks x (3 convs + 3 BNs) + 4 projections + fc
    assert len(shapes) == 5 + 33 * 15 + 4 * 5 + 2
    for layer, blocks in (("layer1", 3), ("layer2", 4), ("layer3", 23), ("layer4", 3)):
        assert len({k.split(".")[1] for k in shapes if k.startswith(layer + ".")}) == blocks
    facts = {  # mid = 32 * int(planes / 32), out = 2 * planes, grouped 3x3x3 with 32 groups
        "conv1.weight": (64, 3, 7, 7, 7),
        "bn1.running_mean": (64,),
        "layer1.0.conv1.weight": (128, 64, 1, 1, 1),
        "layer1.0.conv2.weight": (128, 4, 3, 3, 3),
        "layer1.0.conv3.weight": (256, 128, 1, 1, 1),
        "layer1.0.downsample.0.weight": (256, 64, 1, 1, 1),
        "layer2.0.conv2.weight": (256, 8, 3, 3, 3),
        "layer2.0.downsample.0.weight": (512, 256, 1, 1, 1),
        "layer3.22.conv3.weight": (1024, 512, 1, 1, 1),
        "layer4.0.conv2.weight": (1024, 32, 3, 3, 3),
        "layer4.0.downsample.1.running_var": (2048,),
        "layer4.2.bn3.weight": (2048,),
        "fc.weight": (400, 2048),
        "fc.bias": (400,),
    }
    assert {k: shapes[k] for k in facts} == facts
    assert "layer1.1.downsample.0.weight" not in shapes and "layer3.23.conv1.weight" not in shapes
    assert net.conv1.stride == (1, 2, 2) and net.conv1.padding == (3, 3, 3)
    assert net.layer2[0].conv2.stride == (2, 2, 2) and net.layer1[0].conv2.stride == (1, 1, 1)
    assert net.maxpool.kernel_size == 3 and net.maxpool.stride == 2 and net.num_features == 2048


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    net = ResNeXt3D(**TINY).eval()
    for m in net.modules():  # trained-looking BN statistics
        if isinstance(m, torch.nn.BatchNorm3d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    return net


def test_loads_a_dataparallel_file_without_batch_counters(tmp_path, tiny):
    state = {f"module.{k}": v for k, v in tiny.state_dict().items() if not k.endswith("num_batches_tracked")}
    path = tmp_path / "resnext-101-kinetics.pth"
    torch.save({"epoch": 200, "arch": "resnext-101", "state_dict": state}, path)
    loaded = load_resnext3d(path, **TINY)
    videos = torch.rand(2, 4, 3, 24, 24) * 2 - 1
    torch.testing.assert_close(loaded.features(videos), tiny.features(videos))
    assert not any(p.requires_grad for p in loaded.parameters()) and not loaded.training
    torch.save({"state_dict": {"module.conv1.weight": torch.zeros(1)}}, path)
    with pytest.raises(ValueError, match="not a 3D ResNeXt of this architecture"):
        load_resnext3d(path, **TINY)


@pytest.mark.parametrize("size", [(48, 64), (160, 200)])
def test_features_follow_g3ans_recipe(tiny, size):
    """PIL bilinear resize to 112, [0, 255] minus the Kinetics mean, AvgPool3d((1, 4, 4)) then
    adaptive average pooling of layer4 (g3an-project evaluation/fid.py, models/resnext.py)."""
    g = torch.Generator().manual_seed(0)
    frames = torch.randint(0, 256, (1, 3, 3, *size), dtype=torch.uint8, generator=g)
    mean = np.array([114.7748, 107.7354, 99.4750], dtype=np.float32)
    pil = np.stack(
        [np.asarray(Image.fromarray(f.permute(1, 2, 0).numpy()).resize((112, 112), Image.BILINEAR)) for f in frames[0]]
    ).astype(np.float32)
    expected = torch.from_numpy(pil - mean).permute(3, 0, 1, 2)[None]  # [1, 3, T, 112, 112]
    net = ResNeXt3D(**(TINY | {"size": 112})).eval()
    net.load_state_dict(tiny.state_dict())
    x = net.preprocess(frames)
    assert x.shape == expected.shape
    assert (x - expected).abs().max() <= 1 and (x - expected).abs().mean() < 0.3  # PIL's fixed-point rounding
    with torch.no_grad():
        trunk = net.trunk(x)
        assert trunk.shape[-2:] == (4, 4)
        g3an = F.adaptive_avg_pool3d(F.avg_pool3d(trunk, (1, 4, 4), stride=1), (1, 1, 1)).flatten(1)
    torch.testing.assert_close(net.features(frames), g3an)
    torch.testing.assert_close(net.features(frames.float() / 127.5 - 1), net.features(frames))
