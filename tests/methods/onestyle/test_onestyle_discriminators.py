"""onestyle's discriminators (section 3.2): D_s pairs, the D_t projection score."""

import math

import pytest
import torch
from onestyle_helpers import TINY, fit, triplet_batch

from stylevideo.methods.onestyle import OneStyle
from stylevideo.methods.onestyle.discriminators import (
    ShuffleDiscriminator,
    TimeConditionedDiscriminator,
    derangement,
)


def test_derangements_are_permutations_without_fixed_points():
    g = torch.Generator().manual_seed(0)
    seen = set()
    for n in range(2, 10):
        for _ in range(20):
            perm = derangement(n, generator=g)
            assert sorted(perm.tolist()) == list(range(n))
            assert (perm != torch.arange(n)).all()
            if n == 4:
                seen.add(tuple(perm.tolist()))
    assert len(seen) > 3  # random, not one fixed shift
    with pytest.raises(ValueError, match="at least 2 videos"):
        derangement(1)


def video_ids_clip(b: int, t: int = 3) -> torch.Tensor:
    """Clips whose every pixel holds the index of its video."""
    return torch.arange(b, dtype=torch.float32)[:, None, None, None, None].expand(b, t, 3, 32, 32).clone()


@pytest.mark.parametrize("ada", [False, True])
def test_shuffled_pairs_never_pair_a_video_with_itself_and_generator_pairs_always_do(ada):
    torch.manual_seed(0)
    model = OneStyle(**TINY, ada_target=0.6 if ada else None)
    if ada:
        model.D_s.forward = lambda pairs: (pairs[:, 0, 0, 0, 0] != pairs[:, 1, 0, 0, 0]).float()
    else:
        model.D_s.features = lambda clip: clip.flatten(2)
        model.D_s.score = lambda first, second: (first[..., 0] != second[..., 0]).float()
    for b in (2, 3, 8):
        clip = video_ids_clip(b)
        different = model.d_s(clip, derangement(b))
        assert different.shape == (b * 2,) and different.all()  # D phase: pairs of two videos
        assert not model.d_s(clip).any()  # real pairs and G-phase pairs: one video


def test_training_step_shuffles_fake_pairs_for_d_and_not_for_g(monkeypatch):
    torch.manual_seed(0)
    model = OneStyle(**TINY, num_actors=3, num_actions=4)
    calls = []
    original = OneStyle.d_s

    def spy(self, clip, perm=None):
        calls.append(perm)
        return original(self, clip, perm)

    monkeypatch.setattr(OneStyle, "d_s", spy)
    fit(model, [triplet_batch()], steps=1)
    # D phase: real (no perm), fake (a derangement); G phase: fake, unshuffled
    assert calls[0] is None and calls[2] is None
    assert calls[1] is not None and (calls[1] != torch.arange(4)).all()


def test_shuffle_discriminator_scores_the_concatenated_features_of_a_pair():
    torch.manual_seed(0)
    D = ShuffleDiscriminator(32, 128, 16)
    pairs = torch.randn(5, 2, 3, 32, 32)
    logits = D(pairs)
    assert logits.shape == (5,)
    f = D.features(pairs)
    assert f.shape == (5, 2, 16 * 16)
    assert torch.allclose(logits, D.final_linear(torch.cat([f[:, 0], f[:, 1]], 1))[:, 0], atol=1e-5)
    assert not torch.allclose(logits, D(pairs.flip(1)), atol=1e-4)  # the order of the pair matters


def test_time_discriminator_output_is_the_weighted_sum_of_its_three_projections():
    torch.manual_seed(0)
    D = TimeConditionedDiscriminator(
        32,
        3,
        num_actors=3,
        num_actions=4,
        time_dim=8,
        embed_dim=6,
        feature_channels=8,
        channel_base=128,
        channel_max=16,
        mbstd_group=2,
    )
    frames = torch.randn(4, 3, 3, 32, 32)
    t = torch.tensor([[0.0, 1, 2], [5, 6, 7], [10, 11, 12], [2.5, 3.5, 4.5]])
    actor, action = torch.tensor([0, 1, 2, 0]), torch.tensor([3, 2, 1, 0])
    h = D.features(frames)
    assert h.shape == (4, 3 * 8 * 16)
    v = torch.cat([D.time2vec(t[:, i]) for i in range(3)], 1)  # time points concatenated in order
    time = (D.d_t(h) * v).sum(1) / math.sqrt(3 * 8)
    act = (D.d_action(h) * D.action_embed(action)).sum(1) / math.sqrt(6)
    who = (D.d_actor(h) * D.actor_embed(actor)).sum(1) / math.sqrt(6)
    for ramp in (0.0, 0.4, 1.0):
        assert torch.allclose(D(frames, t, actor, action, ramp), time + ramp * act + who, atol=1e-5)
    p = D.projections(frames, t, actor, action)
    assert torch.allclose(p["time"], time, atol=1e-5) and torch.allclose(p["actor"], who, atol=1e-5)
    # temporal order matters: reversed frames or times change the score
    assert not torch.allclose(D(frames.flip(1), t, actor, action), D(frames, t, actor, action), atol=1e-4)
    assert not torch.allclose(D(frames, t.flip(1), actor, action), D(frames, t, actor, action), atol=1e-4)


def test_time_discriminator_with_one_time_point_and_without_conditions():
    torch.manual_seed(0)
    D = TimeConditionedDiscriminator(
        32, 1, time_dim=8, feature_channels=8, channel_base=128, channel_max=16, mbstd_group=2
    )
    assert set(D.projections(torch.randn(2, 1, 3, 32, 32), torch.tensor([[3.0], [7.0]]))) == {"time"}
    assert not [n for n, _ in D.named_parameters() if "actor" in n or "action" in n]
    with pytest.raises(ValueError, match=r"\[B, 1, 3, H, W\]"):
        D(torch.randn(2, 3, 3, 32, 32), torch.zeros(2, 3))
