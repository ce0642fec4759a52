"""LIA's losses: Eq. 7 and the four-level VGG pyramid of Eq. 8."""

import pytest
import torch
import torch.nn.functional as F

from stylevideo.features.vgg import VGG19Features
from stylevideo.methods.lia.losses import ImagePyramid, PerceptualLoss, reconstruction_loss


class RecordingFeatures(torch.nn.Module):
    """A stand-in feature network: records input sizes, returns the image and its square."""

    def __init__(self):
        super().__init__()
        self.sizes = []

    def forward(self, x):
        self.sizes.append(tuple(x.shape[-2:]))
        return [x, x.pow(2)]


def test_perceptual_loss_sums_four_pyramid_levels_and_is_zero_for_identical_images():
    torch.manual_seed(0)
    net = RecordingFeatures()
    loss = PerceptualLoss(net)  # paper default: 256, 128, 64, 32
    x, y = torch.rand(2, 3, 256, 256) * 2 - 1, torch.rand(2, 3, 256, 256) * 2 - 1
    assert loss(x, x).item() == 0.0
    assert sorted(set(net.sizes), reverse=True) == [(256, 256), (128, 128), (64, 64), (32, 32)]
    expected = sum(
        (a - b).abs().mean() + (a.pow(2) - b.pow(2)).abs().mean()
        for a, b in zip(ImagePyramid()(x), ImagePyramid()(y), strict=True)
    )
    assert torch.allclose(loss(x, y), expected, rtol=1e-5)  # Eq. 8: sum over levels and layers


def test_perceptual_loss_with_vgg19_is_zero_for_identical_images_and_trains_the_fake_only():
    torch.manual_seed(0)
    loss = PerceptualLoss(VGG19Features(), scales=(1.0, 0.5))
    x = (torch.rand(1, 3, 32, 32) * 2 - 1).requires_grad_(True)
    y = (torch.rand(1, 3, 32, 32) * 2 - 1).requires_grad_(True)
    assert loss(x, x.detach()).item() == 0.0
    value = loss(x, y)
    value.backward()
    assert value > 0 and x.grad.abs().sum() > 0 and (y.grad is None or not y.grad.any())
    assert PerceptualLoss.min_resolution((1.0, 0.5, 0.25, 0.125)) == 128


def test_pyramid_is_the_anti_aliased_gaussian_downscaling():
    torch.manual_seed(0)
    x = torch.rand(1, 3, 64, 64)
    levels = ImagePyramid((1.0, 0.5, 0.25))(x)
    assert [lvl.shape[-1] for lvl in levels] == [64, 32, 16] and levels[0] is x
    sigma, size = 1.5, 13  # scale 1/4: sigma = (4 - 1) / 2, 2 round(4 sigma) + 1 taps
    r = torch.arange(size) - (size - 1) / 2
    g2 = torch.exp(-(r[:, None] ** 2 + r[None] ** 2) / (2 * sigma**2))
    g2 = (g2 / g2.sum()).expand(3, 1, size, size)
    direct = F.conv2d(F.pad(x, (6, 6, 6, 6)), g2, groups=3)[:, :, ::4, ::4]
    assert torch.allclose(levels[2], direct, atol=1e-6)
    with pytest.raises(ValueError, match="1/k"):
        ImagePyramid((0.3,))


def test_reconstruction_loss_is_the_mean_absolute_difference():
    x, y = torch.zeros(2, 3, 4, 4), torch.full((2, 3, 4, 4), 0.5)
    y[0] = -1.0
    assert reconstruction_loss(x, y).item() == pytest.approx(0.75)  # Eq. 7
