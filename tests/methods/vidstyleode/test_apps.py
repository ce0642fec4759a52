"""Applications: editing, animation, motion transfer, local blending, dynamics interpolation,
temporal interpolation and extrapolation."""

import pytest
import torch
from vso_helpers import make_batch, make_model

from stylevideo.methods.vidstyleode.apps import box_mask


@pytest.fixture
def model():
    """Untrained f_G makes tiny directions; a large scale makes the motion visible in pixels."""
    torch.manual_seed(0)
    return make_model(delta_scale=20.0).eval()


@pytest.fixture
def videos():
    frames = make_batch(b=2, k=6, seed=1)["frames"]
    other = make_batch(b=2, k=6, seed=2)["frames"]
    return frames, other


def test_edit_follows_the_target_text_and_alpha_zero_reconstructs(model, videos):
    video, _ = videos
    edited = model.edit(video, "a photo of a red face", "a photo of a blue face", alpha=1.0)
    assert edited.shape == (2, 6, 3, 16, 16) and edited.abs().max() <= 1
    same = model.edit(video, "a photo of a red face", "a photo of a blue face", alpha=0.0)
    plain = model.edit(video, "a photo of a red face", "a photo of a red face")
    assert torch.allclose(same, plain, atol=1e-5)
    assert not torch.allclose(edited, plain, atol=1e-4)
    with pytest.raises(ValueError, match="3 descriptions for 2 videos"):
        model.edit(video, ["a", "b", "c"], "d")


def test_output_size_resizes_the_generated_videos(videos):
    torch.manual_seed(0)
    model = make_model(output_size=(8, 12)).eval()
    assert model.edit(videos[0], "a", "b").shape == (2, 6, 3, 8, 12)


def test_long_clips_are_decoded_in_chunks_with_the_same_result(model, videos, monkeypatch):
    video, driving = videos
    whole = model.animate(video[:, 0], driving)
    calls = []
    generate = model.generate
    monkeypatch.setattr(model, "generate", lambda *a: (calls.append(a[2].shape[1]), generate(*a))[1])
    monkeypatch.setattr(model, "generation_chunk", 8)
    assert torch.allclose(model.animate(video[:, 0], driving), whole, atol=1e-5)
    assert calls == [4, 2]  # 2 videos x 6 frames, at most 8 images per call: 4 + 2 frames


def test_animate_takes_the_content_of_the_still_and_the_motion_of_the_driving_video(model, videos):
    video, driving = videos
    source = video[:, 0]
    animated = model.animate(source, driving)
    assert animated.shape == (2, 6, 3, 16, 16)
    assert torch.allclose(animated, model.transfer_motion(source[:, None], driving), atol=1e-6)
    assert not torch.allclose(animated, model.animate(source, video), atol=1e-4)  # other motion
    assert torch.equal(model.animate(source, driving, relative=False), animated)
    with pytest.raises(ValueError, match=r"source must be images \[B, 3, H, W\]"):
        model.animate(source[:, None], driving)


def test_blending_with_full_masks_gives_a_or_b(model, videos):
    content, (a, b) = videos[0], (videos[0], videos[1])
    ones, zeros = torch.ones(model.dynamics.grid), torch.zeros(model.dynamics.grid)
    with_a, with_b = model.transfer_motion(content, a), model.transfer_motion(content, b)
    for at in ("initial", "trajectory"):
        assert torch.allclose(model.blend_motion(content, a, b, ones, at=at), with_a, atol=1e-5)
        assert torch.allclose(model.blend_motion(content, a, b, zeros, at=at), with_b, atol=1e-5)
    half = box_mask(model.dynamics.grid, (0.5, 0.0, 1.0, 1.0))
    blended = model.blend_motion(content, a, b, half)
    assert not torch.allclose(blended, with_a, atol=1e-4) and not torch.allclose(blended, with_b, atol=1e-4)
    with pytest.raises(ValueError, match="the dynamics grid"):
        model.blend_motion(content, a, b, torch.ones(3, 3))


def test_box_mask_covers_the_cells_inside_the_box():
    mask = box_mask((4, 4), (0.5, 0.0, 1.0, 0.5))  # the upper right quarter (Fig. 12)
    expected = torch.zeros(4, 4)
    expected[:2, 2:] = 1
    assert torch.equal(mask, expected)
    with pytest.raises(ValueError, match="x0 < x1"):
        box_mask((4, 4), (0.6, 0.0, 0.5, 1.0))


def test_interpolating_two_dynamics_codes_ends_at_each_of_them(model, videos):
    content, (a, b) = videos[0], (videos[0], videos[1])
    assert torch.allclose(model.interpolate_dynamics(content, a, b, 0.0), model.transfer_motion(content, a), atol=1e-5)
    assert torch.allclose(model.interpolate_dynamics(content, a, b, 1.0), model.transfer_motion(content, b), atol=1e-5)


def test_interpolated_and_extrapolated_timestamps_produce_frames(model, videos):
    video, _ = videos
    observed = video[:, ::2]  # frames 0, 2, 4 observed
    t = torch.tensor([0.0, 2.0, 4.0])
    queries = torch.tensor([0.0, 0.5, 1.0, 3.0, 4.0, 5.5, 9.0])  # between and after the observations
    frames = model.resample(observed, t, queries)
    assert frames.shape == (2, 7, 3, 16, 16) and torch.isfinite(frames).all()
    assert frames.abs().max() <= 1
    assert not torch.allclose(frames[:, 1], frames[:, 2], atol=1e-6)  # time moves the frames
    dense = model.resample(video, None, torch.arange(6.0))  # at the observed times: reconstruction
    assert torch.allclose(dense, model.edit(video, None, None), atol=1e-5)
    with pytest.raises(ValueError, match="first observed frame"):
        model.resample(observed, t, torch.tensor([-1.0, 1.0]))
    with pytest.raises(ValueError, match="strictly increasing"):
        model.resample(observed, torch.tensor([0.0, 4.0, 2.0]), queries)


def test_animate_takes_the_content_code_from_the_driving_frames_on_request(model, videos):
    """Table 6 (supplementary 9.2): same-identity animation with z_C of the first, a random or the
    mean W+ code of the video's frames."""
    video, driving = videos
    codes = model.f_C.invert(driving)  # Z: the W+ code of every driving frame
    z_d0, t = model.dynamics_code(driving)
    torch.manual_seed(3)
    picks = torch.randint(driving.shape[1], (2,))
    for content, z_C in (("first", codes[:, 0]), ("mean", codes.mean(1)), ("random", codes[torch.arange(2), picks])):
        torch.manual_seed(3)
        expected = model.render(z_C, model.style(z_C), z_d0, t, t[:, 0])
        assert torch.allclose(model.animate(video[:, 0], driving, content=content), expected, atol=1e-6), content
    first = model.animate(video[:, 0], driving, content="first")
    # the still of the first frame (inverted alone: batched convolutions round differently)
    assert torch.allclose(first, model.animate(driving[:, 0], driving), atol=1e-4)
    assert (model.animate(video[:, 0], driving, content="mean") - first).abs().max() > 1e-2
