"""VGG19 features: torchvision's architecture, named layers, loading through the weight loader."""

import pytest
import torch
import torchvision

from stylevideo.features.vgg import PERCEPTUAL_LAYERS, VGG19_LAYERS, VGG19Features, vgg19_features
from stylevideo.features.weights import MissingWeightsError


def test_trunk_is_torchvisions_vgg19_up_to_the_deepest_layer():
    with torch.device("meta"):
        reference = torchvision.models.vgg19().features
        net = VGG19Features(PERCEPTUAL_LAYERS)
    assert len(net.features) == VGG19_LAYERS["relu5_1"] + 1 == 30
    for ours, theirs in zip(net.features, reference, strict=False):
        assert type(ours) is type(theirs)
        if isinstance(ours, torch.nn.Conv2d):
            assert ours.weight.shape == theirs.weight.shape and ours.padding == theirs.padding
    assert VGG19_LAYERS["relu1_1"] == 1 and VGG19_LAYERS["relu4_1"] == 20 and VGG19_LAYERS["pool5"] == 36


def test_features_are_the_relu_outputs_of_the_normalised_input():
    torch.manual_seed(0)
    net = VGG19Features(("relu2_1", "relu1_1"))
    assert net.layers == ("relu1_1", "relu2_1")  # network order
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    f1, f2 = net(x)
    assert f1.shape == (2, 64, 32, 32) and f2.shape == (2, 128, 16, 16)
    normalised = ((x + 1) / 2 - torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)) / torch.tensor(
        [0.229, 0.224, 0.225]
    ).view(1, 3, 1, 1)
    assert torch.allclose(f1, torch.relu(net.features[0](normalised)), atol=1e-5)
    assert torch.equal(net(x * 3)[0], net((x * 3).clamp(-1, 1))[0])  # inputs are clamped to [-1, 1]
    assert not any(p.requires_grad for p in net.parameters())
    with pytest.raises(ValueError, match="unknown VGG19 layers"):
        VGG19Features(("relu6_1",))
    with pytest.raises(ValueError, match=r"\[B, 3, H, W\]"):
        net(torch.zeros(3, 32, 32))


def test_weights_load_from_a_torchvision_file_and_a_missing_file_names_its_url(tmp_path, monkeypatch):
    torch.manual_seed(0)
    source = VGG19Features(("relu1_1", "relu2_1"))
    state = {f"features.{k}": v for k, v in source.features.state_dict().items()}
    state["classifier.0.weight"] = torch.zeros(1)  # the rest of a torchvision file is ignored
    torch.save(state, tmp_path / "vgg19-dcbb9e9d.pth")
    monkeypatch.setenv("STYLEVIDEO_WEIGHTS", str(tmp_path))
    loaded = vgg19_features(("relu1_1", "relu2_1"))
    x = torch.rand(1, 3, 16, 16)
    assert all(torch.equal(a, b) for a, b in zip(loaded(x), source(x), strict=True))
    with pytest.raises(KeyError, match="features.7.weight"):
        vgg19_features(("relu3_1",))  # the file lacks the deeper layers
    monkeypatch.setenv("STYLEVIDEO_WEIGHTS", str(tmp_path / "empty"))
    with pytest.raises(MissingWeightsError, match="vgg19-dcbb9e9d.pth.*download.pytorch.org/models"):
        vgg19_features()
