"""onestyle.animate: a real clip regenerated from its temporal GAN inversion (section 5.4,
Fig. 5a), callable from an evaluation loop (inference mode)."""

import pytest
import torch
from onestyle_helpers import TINY

from stylevideo.methods.onestyle import OneStyle


def mse_only(fake, real):
    """Eq. 5 with the MSE term alone (a zero perceptual term)."""
    return torch.zeros(len(fake))


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return OneStyle(**TINY, num_actors=3, num_actions=4, action_label="emotion").eval()


def mse(a, b):
    return float((a - b).square().mean())


def test_animate_recovers_a_known_motion_better_than_random_motions(model):
    g = torch.Generator().manual_seed(3)
    z_true, z_random = torch.randn(1, 8, generator=g), torch.randn(6, 8, generator=g)
    t = torch.arange(5.0)[None].expand(2, -1)
    with torch.no_grad():  # the clips of a known motion (unclamped: a random tiny G leaves [-1, 1])
        m_true = model.G_ema.motion_style(z_true).expand(2, -1)
        conditions = dict(actor=torch.tensor([1, 0]), action=torch.tensor([2, 3]), ramp=model.ramp)
        clips = model.G_ema(t, m=m_true, noise_mode="const", **conditions)
    state = torch.get_rng_state()
    with torch.inference_mode():  # as in `lightning test`
        inverted = model.animate(
            clips[:, 0], clips, actor=torch.tensor([1, 0]), emotion=torch.tensor([2, 3]), perceptual=mse_only, steps=20
        )
    assert torch.equal(torch.get_rng_state(), state)  # the global random state is untouched
    assert inverted.shape == clips.shape
    for i, (actor, action) in enumerate([(1, 2), (0, 3)]):
        target = clips[i].clamp(-1, 1)
        others = model.sample_videos(6, 5, z_m=z_random, actor=actor, action=action, seed=0)
        random_errors = [mse(o, target) for o in others]
        assert mse(inverted[i], target) < 0.5 * min(random_errors), (i, random_errors)
    once = dict(actor=1, emotion=2, perceptual=mse_only, steps=2)
    first, second = model.animate(clips[:1, 0], clips[:1], **once), model.animate(clips[:1, 0], clips[:1], **once)
    assert torch.equal(first, second)  # seeded


def test_animate_needs_the_clips_conditions_and_absolute_transfer(model):
    clips = torch.zeros(1, 3, 3, 32, 32)
    with pytest.raises(ValueError, match="known action"):
        model.animate(clips[:, 0], clips, actor=0, perceptual=mse_only, steps=1)
    with pytest.raises(ValueError, match="relative=True has no meaning"):
        model.animate(clips[:, 0], clips, relative=True, actor=0, emotion=0, perceptual=mse_only, steps=1)
