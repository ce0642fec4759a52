"""VidStyleODE trained as the authors trained it (docs/vidstyleode.md, "Recipe")."""

import inspect
import math
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F
import yaml
from vso_helpers import make_batch, make_model

from stylevideo.methods.vidstyleode import VidStyleODE
from stylevideo.methods.vidstyleode.cli import _parser, _run, read_input
from stylevideo.methods.vidstyleode.dynamics import FrameEncoder, ReflectResBlock
from stylevideo.methods.vidstyleode.generator import ConditionalGenerator
from stylevideo.methods.vidstyleode.losses import ramp_weight

EXPERIMENTS = Path(__file__).resolve().parents[3] / "experiments"


def lambda_scheduler(n, warm_up_steps, lr_min, lr_max, max_decay_steps):
    """The authors' LambdaScheduler.schedule (src/modules/schedulers.py:11-19), transcribed."""
    if n < warm_up_steps:
        return 0
    t = min((n - warm_up_steps) / (max_decay_steps - warm_up_steps), 1.0)
    return lr_min + t * (lr_max - lr_min)


@pytest.mark.parametrize("n", [0, 1, 4_999, 5_000, 5_001, 20_000, 40_000, 52_500, 99_999, 100_000, 150_000, 250_000])
def test_schedules_are_the_authors_lambda_scheduler(n):
    assert ramp_weight(n, 0.01, 2.0, 100_000, 5_000) == pytest.approx(lambda_scheduler(n, 5_000, 0.01, 2.0, 100_000))
    assert ramp_weight(n, 0.01, 2.0, 200_000, 5_000) == pytest.approx(lambda_scheduler(n, 5_000, 0.01, 2.0, 200_000))
    assert ramp_weight(n, 0.01, 1.0, 40_000) == pytest.approx(lambda_scheduler(n, 0, 0.01, 1.0, 40_000))


def test_lambda_d_is_0_for_5k_steps_then_ramps_to_2_by_100k_and_lambda_c_over_40k(monkeypatch):
    model = make_model()
    expected = {  # step: (lambda_C, lambda_D), written out
        0: (0.01, 0.0),
        4_999: (0.01 + 0.99 * 4_999 / 40_000, 0.0),
        5_000: (0.01 + 0.99 * 5_000 / 40_000, 0.01),
        52_500: (1.0, 0.01 + 1.99 * 0.5),
        100_000: (1.0, 2.0),
        300_000: (1.0, 2.0),
    }
    for step, (c, d) in expected.items():
        monkeypatch.setattr(VidStyleODE, "iteration", property(lambda self, s=step: s))
        weights = model.loss_weights()
        assert (weights["C"], weights["D"]) == pytest.approx((c, d))


def test_frame_0_is_always_generated_with_distinct_random_others():
    torch.manual_seed(0)
    pick = VidStyleODE.generated_frames(400, 8, 3)
    assert pick.shape == (400, 3) and (pick[:, 0] == 0).all()
    assert (pick[:, 1:].diff(dim=1) > 0).all() and (pick[:, 1] >= 1).all() and pick.max() <= 7
    assert set(pick[:, 1:].flatten().tolist()) == set(range(1, 8))  # every other frame can be drawn


def test_training_edits_use_alpha_2_and_the_applications_alpha_1():
    model = make_model()
    assert model.hparams.alpha == 2.0  # the authors' manipulation_strength
    assert inspect.signature(VidStyleODE.edit).parameters["alpha"].default == 1.0  # the paper's value


def test_loss_resolutions_follow_the_authors(monkeypatch):
    """Data at 8x8 under a 16x16 G: the inversion, DINO (L_A, L_S) and CLIP for L_D see the data's
    8x8 frames, CLIP for L_C G's 16x16 frames, f_D its 16x16 frame_size."""
    torch.manual_seed(0)
    model = make_model()
    sizes = {"inverter": [], "splice": [], "clip": [], "f_D": []}
    for name, module in (("inverter", model.f_C.inverter), ("splice", model.splice)):
        module.register_forward_pre_hook(lambda m, args, name=name: sizes[name].append(tuple(args[0].shape[-2:])))
    model.dynamics.frame_encoder.register_forward_pre_hook(
        lambda m, args: sizes["f_D"].append(tuple(args[0].shape[-2:]))
    )
    encode = model.clip.encode_image
    monkeypatch.setattr(model.clip, "encode_image", lambda x: sizes["clip"].append(tuple(x.shape[-2:])) or encode(x))
    losses, _ = model.losses(make_batch(res=8))
    assert set(sizes["inverter"]) == {(8, 8)} and set(sizes["splice"]) == {(8, 8)} and sizes["f_D"] == [(16, 16)]
    assert sizes["clip"] == [(16, 16), (16, 16), (8, 8)]  # G(z_C) for z_S, the frames for L_C, for L_D
    assert all(torch.isfinite(v) for v in losses.values())


def test_style_mapper_pixel_norm_is_over_each_groups_layers():
    """PixelNorm on dim 1 of a [N, layers, w] group (the authors' mapper.py:12): scaling a channel
    of a group by the same factor on all its layers changes nothing; scaling one layer does."""
    torch.manual_seed(0)
    net = ConditionalGenerator(8, 8, 6, (4, 4), 10, 8, 2, 1, 1, 1, (2, 3), (2, 1, 1), 0.01)
    z_dt, z_S, z_C = torch.randn(2, 6, 4, 4), torch.randn(2, 10), torch.randn(2, 8, 8)
    per_channel = torch.cat([torch.rand(1, 1, 8).expand(1, n, 8) + 0.5 for n in (2, 3, 3)], dim=1)
    assert torch.allclose(net(z_dt, z_S, z_C * per_channel), net(z_dt, z_S, z_C), atol=1e-5)
    per_layer = torch.ones(1, 8, 1)
    per_layer[0, 3] = 3.0
    assert not torch.allclose(net(z_dt, z_S, z_C * per_layer), net(z_dt, z_S, z_C), atol=1e-3)


def _conv(x, conv, stride=1):
    """An equalised-lr convolution written out: ``conv2d(x, w / sqrt(fan_in))``."""
    w = conv.weight.double()
    return F.conv2d(x, w / math.sqrt(w[0].numel()), stride=stride)


def _act(x, act):
    return F.leaky_relu(x + act.bias.double()[None, :, None, None], 0.2) * math.sqrt(2)


def test_f_d_blocks_pad_by_reflection_and_do_not_blur():
    """rosinality's ResBlock(blur_kernel=[1], reflection_pad=True), transcribed in float64."""
    torch.manual_seed(0)
    block = ReflectResBlock(3, 5)
    with torch.no_grad():
        for p in block.parameters():
            p.normal_()
    x = torch.randn(2, 3, 8, 6, dtype=torch.float64)
    h = _act(_conv(F.pad(x, (1, 1, 1, 1), mode="reflect"), block.conv1[1]), block.conv1[2])
    h = _act(_conv(F.pad(h, (1, 0, 1, 0), mode="reflect"), block.conv2[1], stride=2), block.conv2[2])
    expected = (h + _conv(x, block.skip, stride=2)) / math.sqrt(2)
    assert torch.allclose(block.double()(x), expected, atol=1e-10)
    f_d = FrameEncoder(d_sp=8, downsamplings=2, channel_base=4, channel_max=8)
    assert all(isinstance(b, ReflectResBlock) for b in f_d.down)


def test_cli_stride_gives_the_model_the_frame_numbers_read(synthetic_root):
    clip = synthetic_root / "actor00" / "talk" / "000.mp4"
    video, t = read_input(clip, (16, 16), frames=5, stride=2)
    assert video.shape == (5, 3, 16, 16) and torch.equal(t, torch.tensor([0.0, 2, 4, 6, 8]))
    seen = {}

    class Model(SimpleNamespace):
        device = torch.device("cpu")

        def edit(self, video, source, target, alpha, t=None):
            seen["edit"] = t
            return video

        def resample(self, video, t, t_query):
            seen.setdefault("resample", []).append((t, t_query))
            return video[0]

    def run(*argv):
        return _run(
            Model(), _parser().parse_args([*argv, "--out", "x.mp4", "--stride", "2", "--frames", "5"]), (16, 16)
        )

    run("edit", "--video", str(clip), "--source-text", "a", "--target-text", "b")
    assert torch.equal(seen["edit"], torch.tensor([0.0, 2, 4, 6, 8]))
    run("interpolate", "--video", str(clip), "--every", "2", "--factor", "2")
    observed, query = seen["resample"][-1]
    assert torch.equal(observed, torch.tensor([0.0, 4, 8])) and torch.equal(query, torch.arange(9) * 1.0)
    run("extrapolate", "--video", str(clip), "--observed", "3", "--future", "2")
    observed, query = seen["resample"][-1]
    assert torch.equal(observed, torch.tensor([0.0, 2, 4])) and torch.equal(query, torch.arange(5) * 2.0)


@pytest.mark.parametrize(
    "experiment, size, frame_size, d_steps",
    [("vidstyleode_ravdess", 256, [128, 128], 100_000), ("vidstyleode_fashion", [256, 192], [128, 96], 200_000)],
)
def test_experiments_load_the_authors_256px_data(experiment, size, frame_size, d_steps):
    config = yaml.safe_load((EXPERIMENTS / f"{experiment}.yaml").read_text())
    model, data = config["model"]["init_args"], config["data"]["init_args"]
    assert data["resolution"] == size and model["frame_size"] == frame_size
    assert model.get("lambda_D_steps", 100_000) == d_steps and model.get("alpha", 2.0) == 2.0
