"""The onestyle generator (section 3.1): Eq. 2-4, F_c, the ramp in G, generation at any t."""

import pytest
import torch
from onestyle_helpers import TINY, TINY_G

from stylevideo.methods.onestyle import OneStyle
from stylevideo.methods.onestyle.generator import OneStyleGenerator


def conditional_generator(**kwargs):
    torch.manual_seed(0)
    return OneStyleGenerator(**TINY_G, num_actors=3, num_actions=4, **kwargs).eval()


def test_temporal_styles_of_one_video_share_one_m():
    G = conditional_generator()
    z_m = torch.randn(2, 8)
    t = torch.tensor([[3.0, 4.0, 7.5], [0.0, 1.0, 2.0]])
    w = G.styles(t, z_m=z_m, actor=torch.tensor([0, 1]), action=torch.tensor([2, 3]))
    assert w.shape == (2, 3, G.w_dim) and G.w_dim == 2 * 8 + 8
    m = G.motion_style(z_m)  # Eq. 2
    w_m = w[..., -8:]  # the temporal part [w_c, w_m^t]
    v = G.time2vec(t)
    assert torch.allclose(w_m, m[:, None] * v, atol=1e-6)  # Eq. 3-4
    ratio = w_m / v  # m at every time point of a video
    assert torch.allclose(ratio[:, 0], ratio[:, 1], atol=1e-5) and torch.allclose(ratio[:, 1], ratio[:, 2], atol=1e-5)
    assert not torch.allclose(ratio[0, 0], ratio[1, 0])  # two videos, two motions
    # the content part does not depend on time
    assert torch.equal(w[:, 0, :-8], w[:, 2, :-8])


def test_content_style_concatenates_the_actor_code_and_the_ramped_action_embedding():
    G = conditional_generator()
    actor, action = torch.tensor([0, 2]), torch.tensor([1, 3])
    w_c = G.F_c(actor, action, ramp=0.25)
    assert w_c.shape == (2, 16)
    assert torch.allclose(w_c[:, :8], G.F_c.mapping(G.F_c.actor_embed(actor)))
    assert torch.allclose(w_c[:, 8:], 0.25 * G.F_c.action_embed(action))
    assert torch.equal(G.F_c(actor, action, ramp=0.0)[:, 8:], torch.zeros(2, 8))  # before the ramp
    assert torch.equal(G.F_c(actor, torch.tensor([0, 0]), ramp=0.0), G.F_c(actor, action, ramp=0.0))
    with pytest.raises(ValueError, match="pass action"):
        G.F_c(actor, None)


def test_authors_options_sum_the_content_take_their_widths_and_put_the_linear_time_term_last():
    widths = {4: 8, 8: 16, 16: 8, 32: 4}  # not monotone, as the authors' table (256, 512, 512, 1024, ...)
    G = conditional_generator(content_fusion="sum", channels=widths, time2vec_linear_last=True)
    actor, action = torch.tensor([0, 2]), torch.tensor([1, 3])
    w_c = G.F_c(actor, action, ramp=0.25)  # their model.py: style(person_embed) + ramp * class_embed
    assert w_c.shape == (2, 8) and G.w_dim == 8 + 8
    assert torch.allclose(w_c, G.F_c.mapping(G.F_c.actor_embed(actor)) + 0.25 * G.F_c.action_embed(action))
    synthesis = G.synthesis
    assert synthesis.input.input.shape[1] == 8 and synthesis.conv1.conv.weight.shape[1:3] == (8, 8)
    got = {2 ** (j + 3): synthesis.convs[2 * j].conv.weight.shape[1] for j in range(3)}
    assert got == {8: 16, 16: 8, 32: 4} and synthesis.convs[2].conv.weight.shape[2] == 16
    t = torch.tensor([[0.0, 1.5, 40.0]], dtype=torch.float64)
    omega, phi = (p.detach().double() for p in (G.time2vec.omega, G.time2vec.phi))
    expected = torch.cat([torch.sin(t[..., None] * omega[:-1] + phi[:-1]), t[..., None] * omega[-1:] + phi[-1:]], -1)
    assert torch.allclose(G.time2vec.double()(t), expected, atol=1e-12)  # [sin(t w + b), t w0 + b0]
    G.float()
    assert G(t.float(), z_m=torch.randn(1, 8), actor=actor[:1], action=action[:1]).shape == (1, 3, 3, 32, 32)
    with pytest.raises(ValueError, match=r"channels must give a width for every resolution .* missing \[32\]"):
        conditional_generator(channels={4: 8, 8: 8, 16: 8})
    with pytest.raises(ValueError, match="content fusion must be 'concat'"):
        conditional_generator(content_fusion="add")


def test_videos_use_the_constant_noise_by_default():
    G = conditional_generator()
    with torch.no_grad():
        for name, p in G.named_parameters():
            if name.endswith("noise.weight"):
                p.fill_(0.5)
    inputs = dict(z_m=torch.randn(1, 8), actor=torch.tensor([1]), action=torch.tensor([2]))
    t = torch.tensor([[0.0, 1.0]])
    frames = G(t, **inputs)
    assert torch.equal(frames, G(t, noise_mode="const", **inputs))
    assert not torch.allclose(frames, G(t, noise_mode="random", **inputs), atol=1e-3)


def test_unconditional_generator_has_no_actor_or_action_parameters():
    torch.manual_seed(0)
    model = OneStyle(**TINY)
    names = [name for name, _ in model.named_parameters()]
    assert not [n for n in names if "actor" in n or "action" in n]
    conditional = [n for n, _ in OneStyle(**TINY, num_actors=3, num_actions=4).named_parameters()]
    assert {
        "G.F_c.actor_embed.weight",
        "G.F_c.action_embed.weight",
        "D_t.actor_embed.weight",
        "D_t.action_embed.weight",
    } <= set(conditional)
    video = model.sample_videos(2, 3, seed=0)
    assert video.shape == (2, 3, 3, 32, 32)
    with pytest.raises(ValueError, match="no actor condition"):
        model.sample_videos(1, 2, actor=0)


def test_frames_at_half_integer_times_sit_between_and_double_the_frame_rate():
    torch.manual_seed(0)
    model = OneStyle(**TINY, num_actors=3, num_actions=4)
    base = model.sample_videos(2, 4, seed=3, actor=1, action=2)
    double = model.sample_videos(2, 8, seed=3, actor=1, action=2, fps_scale=2.0)
    assert torch.allclose(double[:, ::2], base, atol=1e-5)  # t = 0, 1, 2, 3 again
    halves = model.sample_videos(2, 4, seed=3, actor=1, action=2, t0=0.5)  # t = 0.5, 1.5, ...
    assert torch.allclose(double[:, 1::2], halves, atol=1e-5)
    assert not torch.allclose(halves, base, atol=1e-3)
    # continuity: frames at t + eps approach the frame at t
    gaps = [
        (model.sample_videos(1, 1, seed=3, actor=1, action=2, t0=eps) - base[:1, :1]).abs().max().item()
        for eps in (0.1, 0.01, 0.001)
    ]
    assert gaps[0] > gaps[1] > gaps[2]


def test_same_motion_with_other_actors_keeps_the_temporal_style():
    torch.manual_seed(0)
    model = OneStyle(**TINY, num_actors=3, num_actions=4)
    m = torch.randn(8)
    G, t = model.G_ema, torch.arange(5.0)[None].expand(3, -1)
    w = G.styles(t, m=m[None].expand(3, -1), actor=torch.tensor([0, 1, 2]), action=torch.tensor([1, 1, 1]))
    assert torch.equal(w[0, :, -8:], w[2, :, -8:]) and not torch.equal(w[0, :, :8], w[2, :, :8])
    videos = model.sample_videos(3, 5, m=m, actor=[0, 1, 2], action=1)
    assert not torch.allclose(videos[0], videos[1])
    shared = model.sample_videos(3, 5, seed=1, shared_motion=True, actor=[0, 1, 2], action=1)
    again = model.sample_videos(3, 5, seed=1, shared_motion=True, actor=[2, 1, 0], action=1)
    assert torch.allclose(shared[1], again[1]) and torch.allclose(shared[0], again[2])


def test_interpolating_the_action_over_time_leaves_the_motion_alone():
    G = conditional_generator()
    t = torch.arange(5.0)[None]
    z_m, actor = torch.randn(1, 8), torch.tensor([1])
    weights = torch.zeros(1, 5, 4)
    weights[0, :, 0] = torch.linspace(1, 0, 5)
    weights[0, :, 3] = torch.linspace(0, 1, 5)
    w = G.styles(t, z_m=z_m, actor=actor, action=weights)
    e = G.F_c.action_embed.weight
    assert torch.allclose(w[0, 0, 8:16], e[0]) and torch.allclose(w[0, 4, 8:16], e[3])
    assert torch.allclose(w[0, 2, 8:16], (e[0] + e[3]) / 2, atol=1e-6)  # linear in between
    fixed = G.styles(t, z_m=z_m, actor=actor, action=torch.tensor([0]))
    assert torch.equal(w[..., -8:], fixed[..., -8:]) and torch.equal(w[..., :8], fixed[..., :8])


def test_sample_videos_interpolates_conditions_from_start_to_end_ids():
    torch.manual_seed(0)
    model = OneStyle(**TINY, num_actors=3, num_actions=4, ramp_start=0, ramp_end=0)
    model.ramp.fill_(1.0)
    moving = model.sample_videos(1, 6, seed=2, actor=0, action=1, action_to=3)
    start = model.sample_videos(1, 6, seed=2, actor=0, action=1)
    end = model.sample_videos(1, 6, seed=2, actor=0, action=3)
    assert torch.allclose(moving[:, 0], start[:, 0], atol=1e-5)
    assert torch.allclose(moving[:, -1], end[:, -1], atol=1e-5)
    assert not torch.allclose(moving[:, -1], start[:, -1], atol=1e-3)


def test_sample_videos_is_seeded_in_range_and_checks_its_arguments():
    torch.manual_seed(0)
    model = OneStyle(**TINY, num_actors=3, num_actions=4)
    a = model.sample_videos(3, 4, seed=1)
    assert a.shape == (3, 4, 3, 32, 32) and a.min() >= -1 and a.max() <= 1
    assert torch.equal(a, model.sample_videos(3, 4, seed=1))
    assert not torch.equal(a, model.sample_videos(3, 4, seed=2))
    with pytest.raises(ValueError, match=r"action ids must lie in \[0, 4\)"):
        model.sample_videos(1, 2, action=4)
    with pytest.raises(ValueError, match="one per video"):
        model.sample_videos(3, 2, actor=[0, 1])
    with pytest.raises(ValueError, match=r"m must be \[8\]"):
        model.sample_videos(2, 2, m=torch.zeros(5))
    with pytest.raises(ValueError, match="fps_scale"):
        model.sample_videos(1, 2, fps_scale=0)


def test_long_videos_are_synthesised_in_chunks_with_the_same_frames():
    G = conditional_generator()
    w = G.styles(
        torch.arange(10.0)[None].expand(2, -1),
        z_m=torch.randn(2, 8),
        actor=torch.tensor([0, 2]),
        action=torch.tensor([1, 1]),
    )
    with torch.no_grad():
        whole = G.synthesize(w, "const")
        chunked = G.synthesize(w, "const", chunk=3)
    assert chunked.shape == (2, 10, 3, 32, 32)
    assert torch.allclose(whole, chunked, atol=1e-5)


def test_conditions_can_be_named_after_the_data_labels_and_motion_after_a_seed():
    torch.manual_seed(0)
    model = OneStyle(**TINY, num_actors=3, num_actions=4, action_label="emotion")
    by_label = model.sample_videos(2, 3, seed=4, actor=1, emotion=2, emotion_to=3)
    assert torch.equal(by_label, model.sample_videos(2, 3, seed=4, actor=1, action=2, action_to=3))
    with pytest.raises(TypeError, match="unknown condition 'mood'"):
        model.sample_videos(1, 2, mood=1)
    with pytest.raises(TypeError, match="both 'emotion' and 'action'"):
        model.sample_videos(1, 2, action=1, emotion=1)
    # one motion per motion_seed, whatever the seed that draws the contents
    a = model.sample_videos(3, 4, seed=1, motion_seed=7, actor=[0, 1, 2], action=0)
    b = model.sample_videos(3, 4, seed=2, motion_seed=7, actor=[0, 1, 2], action=0)
    c = model.sample_videos(3, 4, seed=1, motion_seed=8, actor=[0, 1, 2], action=0)
    assert torch.equal(a, b) and not torch.allclose(a, c)
