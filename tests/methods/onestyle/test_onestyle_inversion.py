"""Temporal GAN inversion (section 5.4, Eq. 5), pivotal tuning and the inversion command line."""

import pytest
import torch
from lightning import __version__ as lightning_version
from onestyle_helpers import TINY, TINY_G

from stylevideo.methods.onestyle import OneStyle
from stylevideo.methods.onestyle.generator import OneStyleGenerator
from stylevideo.methods.onestyle.inversion import inversion_loss, invert_motion, pivotal_tuning
from stylevideo.methods.psp import lpips_network
from stylevideo.video.io import count_frames, frames_to_tensor, read_frames


@pytest.fixture(scope="module")
def vgg16_file(tmp_path_factory):
    """Random-weight VGG16 features in torchvision's layout (what the LPIPS-VGG loader reads)."""
    g = torch.Generator().manual_seed(0)
    widths = {0: 64, 2: 64, 5: 128, 7: 128, 10: 256, 12: 256, 14: 256}
    widths |= {i: 512 for i in (17, 19, 21, 24, 26, 28)}
    state, channels = {}, 3
    for i, width in widths.items():
        state[f"features.{i}.weight"] = torch.randn(width, channels, 3, 3, generator=g) * (2 / (9 * channels)) ** 0.5
        state[f"features.{i}.bias"] = torch.zeros(width)
        channels = width
    path = tmp_path_factory.mktemp("weights") / "vgg16.pth"
    torch.save(state, path)
    return path


@pytest.fixture(scope="module")
def lpips():
    """A cheap perceptual term for the optimisation tests (random AlexNet LPIPS: any LPIPS fits
    ``invert_motion``'s interface; the command line uses LPIPS-VGG, the authors', and is tested
    with a random VGG16 below)."""
    torch.manual_seed(0)
    return lpips_network(pretrained=False)


@pytest.fixture(scope="module")
def real_clip(real_data):
    """Four frames of a real talking head at the tiny generator's 32x32."""
    return frames_to_tensor(read_frames(real_data / "voxceleb" / "talking_a.mp4", range(10, 14)), 32)


def tiny_generator(seed=0):
    torch.manual_seed(seed)
    return OneStyleGenerator(**TINY_G, num_actors=3, num_actions=4).eval()


def test_inversion_is_adam_on_eq_5_from_the_mean_motion_style(real_clip, lpips):
    """Three steps of invert_motion against Adam written out on Eq. 5's gradient, with the loss
    ``sum_t LPIPS_t + 100 / N * MSE_t`` (the authors' projector) computed here from G's frames."""
    G, clip = tiny_generator(), real_clip[:2]
    before = [p.clone() for p in G.parameters()]
    t, m0 = torch.arange(2.0), G.mean_motion_style(500)
    content = dict(actor=torch.tensor([1]), action=torch.tensor([2]), ramp=1.0, noise_mode="const")

    def eq5(m):
        frames = G(t[None], m=m[None], **content)[0]
        return lpips(frames, clip).sum() + 100 / 2 * ((frames - clip) ** 2).mean(dim=(1, 2, 3)).sum()

    m, first, second, history = m0.clone(), torch.zeros(8), torch.zeros(8), []
    for step in range(1, 4):  # Adam (Kingma & Ba), lr 0.1, betas (0.9, 0.999), eps 1e-8
        x = m.clone().requires_grad_(True)
        loss = eq5(x)
        (g,) = torch.autograd.grad(loss, x)
        history.append(float(loss))
        first, second = 0.9 * first + 0.1 * g, 0.999 * second + 0.001 * g * g
        m = m - 0.1 * (first / (1 - 0.9**step)) / ((second / (1 - 0.999**step)).sqrt() + 1e-8)
    result = invert_motion(
        G, clip, perceptual=lpips, actor=1, action=2, steps=3, lr=0.1, noise_strength=0.0,
        lr_rampup=0.0, lr_rampdown=0.0, m_init=m0, chunk=1, num_mean=10,
    )  # fmt: skip
    assert result.history == pytest.approx(history, rel=1e-4)  # float32, frame by frame there
    # each Adam step moves a coordinate by about lr = 0.1; 1e-3 leaves room for float32 rounding
    # (the frames go through G and LPIPS one by one there, both at once here)
    assert torch.allclose(result.m, m, atol=1e-3) and (m - m0).abs().min() > 0.05
    assert result.loss == pytest.approx(float(eq5(m)), rel=1e-4)
    assert all(torch.equal(a, b) for a, b in zip(before, G.parameters(), strict=True))  # G unchanged
    assert all(p.requires_grad for p in G.parameters())


def test_inversion_recovers_the_motion_of_a_generated_clip():
    G = tiny_generator()
    t = torch.arange(4.0)
    torch.manual_seed(2)
    m_true = G.motion_style(torch.randn(1, 8))[0]
    with torch.no_grad():
        clip = G(
            t[None],
            m=m_true[None],
            actor=torch.tensor([0]),
            action=torch.tensor([3]),
            noise_mode="const",
        )[0]
    mse_only = lambda a, b: torch.zeros(len(a))  # noqa: E731 - Eq. 5 with the MSE term alone
    result = invert_motion(
        G,
        clip,
        perceptual=mse_only,
        actor=0,
        action=3,
        steps=25,
        lr=0.1,
        noise_strength=0.0,
        num_mean=2000,
    )
    start = G.mean_motion_style(2000)
    assert (result.m - m_true).norm() < 0.5 * (start - m_true).norm()
    assert result.loss < 0.1 * result.history[0]


def test_pivotal_tuning_fits_the_clip_with_m_fixed_and_changes_only_the_synthesis(real_clip, lpips):
    G = tiny_generator()
    m = G.mean_motion_style(1000)
    common = dict(perceptual=lpips, actor=1, action=2)
    tuned, history = pivotal_tuning(G, real_clip, m, steps=6, lr=3e-3, **common)
    assert history[-1] < history[0]
    content = dict(actor=torch.tensor([1]), action=torch.tensor([2]), z_c=None, ramp=1.0)
    t = torch.arange(4.0)
    assert inversion_loss(tuned, lpips, real_clip, t, m, content=content) < inversion_loss(
        G, lpips, real_clip, t, m, content=content
    )
    changed = {n for (n, a), b in zip(tuned.named_parameters(), G.parameters(), strict=True) if not torch.equal(a, b)}
    assert changed and all(n.startswith("synthesis.") for n in changed)
    assert not tuned.training and not any(p.requires_grad for p in tuned.parameters())


def test_inversion_checks_the_clip_size(lpips):
    G = tiny_generator()
    with pytest.raises(ValueError, match=r"\[N, 3, 32, 32\]"):
        invert_motion(G, torch.zeros(3, 3, 64, 64), perceptual=lpips, actor=0, action=0, steps=1)


def write_checkpoint(path, model, label_maps):
    torch.save(
        {
            "state_dict": model.state_dict(),
            "hyper_parameters": dict(model.hparams),
            "pytorch-lightning_version": lightning_version,
            "SyntheticDataModule": {"label_maps": label_maps},
        },
        path,
    )


def test_invert_command_recovers_and_reenacts_a_real_clip(tmp_path, real_data, vgg16_file):
    from stylevideo.methods.onestyle.invert import main

    torch.manual_seed(0)
    model = OneStyle(**TINY, num_actors=3, num_actions=4)
    model.ramp.fill_(1.0)
    ckpt = tmp_path / "last.ckpt"
    write_checkpoint(
        ckpt,
        model,
        {
            "actor": {"anna": 0, "bob": 1, "carl": 2},
            "action": {"nod": 0, "smile": 1, "sway": 2, "talk": 3},
        },
    )
    video = real_data / "voxceleb" / "talking_b.mp4"
    out = main(
        [
            "--ckpt",
            str(ckpt),
            "--video",
            str(video),
            "--actor",
            "bob",
            "--action",
            "3",
            "--frames",
            "3",
            "--start",
            "5",
            "--steps",
            "2",
            "--pti_steps",
            "1",
            "--chunk",
            "2",
            "--lpips_weights",
            str(vgg16_file),
            "--out",
            str(tmp_path / "inv"),
            "--reenact_actor",
            "carl",
            "--reenact_action",
            "smile",
            "--device",
            "cpu",
        ]
    )
    saved = torch.load(out / "motion.pt")
    assert saved["m"].shape == (8,) and saved["actor"] == 1 and saved["action"] == 3
    assert len(saved["history"]) == 2 and len(saved["pti_history"]) == 1
    inversion = read_frames(out / "inversion.mp4", [0])
    assert inversion.shape == (1, 32, 3 * 32, 3)  # real | inverted | tuned
    assert count_frames(out / "reenacted.mp4") == 3
    with pytest.raises(SystemExit, match="unknown actor 'zoe'"):
        main(
            [
                "--ckpt",
                str(ckpt),
                "--video",
                str(video),
                "--actor",
                "zoe",
                "--action",
                "0",
                "--out",
                str(tmp_path / "x"),
                "--lpips_weights",
                str(vgg16_file),
                "--device",
                "cpu",
            ]
        )
    with pytest.raises(SystemExit, match="has 221 frames"):
        main(
            [
                "--ckpt",
                str(ckpt),
                "--video",
                str(video),
                "--actor",
                "0",
                "--action",
                "0",
                "--frames",
                "300",
                "--out",
                str(tmp_path / "x"),
                "--lpips_weights",
                str(vgg16_file),
                "--device",
                "cpu",
            ]
        )
