"""f_D, the reverse ODE-ConvGRU and the latent ODE (Eq. 2, 11) at irregular timestamps."""

import pytest
import torch
import torch.nn.functional as F

from stylevideo.methods.vidstyleode.dynamics import DynamicsEncoder, FrameEncoder


def encoder(**kw) -> DynamicsEncoder:
    torch.manual_seed(0)
    args = dict(
        frame_size=(16, 16),
        d_sp=4,
        d_ode=6,
        downsamplings=2,
        channel_base=8,
        channel_max=8,
        ode_hidden=6,
        ode_layers=1,
    )
    return DynamicsEncoder(**{**args, **kw})


def test_frame_encoder_gives_unit_codes_on_the_papers_grids():
    torch.manual_seed(0)
    f_d = FrameEncoder(d_sp=64, downsamplings=4, channel_base=4, channel_max=8)
    codes = f_d(torch.randn(2, 3, 128, 96))  # Fashion: 128 x 96 -> 8 x 6 x 64
    assert codes.shape == (2, 64, 8, 6)
    assert torch.allclose(codes.norm(dim=1), torch.ones(2, 8, 6), atol=1e-5)


def test_frame_encoder_runs_channels_last_on_the_cpu_and_returns_the_same_contiguous_codes():
    torch.manual_seed(0)
    f_d = FrameEncoder(d_sp=16, downsamplings=2, channel_base=8, channel_max=16)
    x = torch.randn(3, 3, 32, 32)
    seen = []
    f_d.from_rgb.register_forward_pre_hook(
        lambda m, args: seen.append(args[0].is_contiguous(memory_format=torch.channels_last))
    )
    codes = f_d(x)
    reference = F.normalize(f_d.to_code(f_d.down(f_d.from_rgb(x))), dim=1, eps=1e-8)  # NCHW throughout
    assert seen == [True, False]
    assert codes.is_contiguous() and torch.allclose(codes, reference, atol=1e-6)


def test_encoder_reads_frames_in_reverse_with_euler_steps_between_them():
    enc = encoder()
    frames = torch.rand(2, 4, 3, 16, 16) * 2 - 1
    t = torch.tensor([[0.0, 0.1, 0.35, 0.4], [0.0, 0.2, 0.3, 0.9]])
    codes = enc.frame_codes(frames)
    h = torch.zeros(2, 6, 4, 4)
    for i in reversed(range(4)):  # last frame first; t_{K} := t_{K-1} + 0.01
        dt = (t[:, i] - (t[:, i + 1] if i < 3 else t[:, 3] + 0.01)).view(2, 1, 1, 1)
        h = enc.gru.cell(codes[:, i], h + enc.encoder_ode(None, h) * dt)
    assert torch.allclose(enc.encode(frames, t), enc.to_z0(h), atol=1e-5)


def test_the_first_frame_is_read_last_and_frame_order_matters():
    enc = encoder()
    frames = torch.rand(1, 4, 3, 16, 16) * 2 - 1
    t = torch.tensor([[0.0, 0.1, 0.2, 0.3]])
    base = enc.encode(frames, t)
    first, last = frames.clone(), frames.clone()
    first[:, 0] = -first[:, 0]
    last[:, 3] = -last[:, 3]
    change_first = (enc.encode(first, t) - base).norm()
    change_last = (enc.encode(last, t) - base).norm()
    assert change_first > 0 and change_last > 0
    assert not torch.allclose(enc.encode(frames.flip(1), t), base, atol=1e-4)


def test_masked_frames_are_not_read():
    enc = encoder()
    frames = torch.rand(1, 4, 3, 16, 16) * 2 - 1
    t, mask = torch.tensor([[0.0, 0.1, 0.2, 0.3]]), torch.tensor([[1.0, 0.0, 1.0, 1.0]])
    other = frames.clone()
    other[:, 1] = torch.rand(3, 16, 16)
    assert torch.allclose(enc.encode(frames, t, mask), enc.encode(other, t, mask), atol=1e-6)


def test_solution_at_zero_is_z_d0_and_continuous_in_t():
    enc = encoder().requires_grad_(False)
    z0 = torch.randn(2, 6, 4, 4)
    at_zero = enc.solve(z0, torch.zeros(2, 1))
    assert torch.equal(at_zero[:, 0], z0)
    gaps = [(enc.solve(z0, torch.full((2, 1), eps))[:, 0] - z0).norm() for eps in (1e-1, 1e-2, 1e-3)]
    assert gaps[0] > gaps[1] > gaps[2] and gaps[2] < 0.02 * gaps[0]  # -> 0, about linearly in eps
    derivative = enc.ode.func(None, z0)  # dz/dt at 0 is f_theta(z_d0)
    slope = (enc.solve(z0, torch.full((2, 1), 1e-3))[:, 0] - z0) / 1e-3
    assert torch.allclose(slope, derivative, atol=1e-2 * float(derivative.abs().max()))


def test_solution_is_the_integral_of_eq_11():
    enc = encoder(rtol=1e-6, atol=1e-7)
    z0 = torch.randn(1, 6, 2, 2)
    z, steps, h = z0.clone(), 40, 0.8 / 40
    f = enc.ode.func
    with torch.no_grad():
        for _ in range(steps):  # z_T = z_0 + int_0^T f(z) dt, T = 0.8, by classical Runge-Kutta
            k1 = f(None, z)
            k2 = f(None, z + h / 2 * k1)
            k3 = f(None, z + h / 2 * k2)
            k4 = f(None, z + h * k3)
            z = z + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        solved = enc.solve(z0, torch.tensor([[0.8]]))[:, 0]
    assert not torch.allclose(z, z0, atol=1e-2)
    assert torch.allclose(solved, z, atol=1e-4 * float(z.abs().max()))


def test_irregular_per_video_timestamps_match_solving_each_video_alone():
    enc = encoder()
    z0 = torch.randn(3, 6, 4, 4)
    t = torch.tensor([[0.7, 0.05, 0.3], [0.0, 1.3, 1.3], [0.41, 0.2, 0.9]])  # any order, repeats
    together = enc.solve(z0, t)
    assert together.shape == (3, 3, 6, 4, 4)
    for b in range(3):
        for q in range(3):
            alone = enc.solve(z0[b : b + 1], t[b : b + 1, q : q + 1])
            assert torch.allclose(together[b, q], alone[0, 0], atol=1e-4)


def test_adjoint_gives_the_same_solution_and_gradients():
    plain, adjoint = encoder(), encoder(adjoint=True)
    adjoint.load_state_dict(plain.state_dict())
    z0 = torch.randn(1, 6, 4, 4, requires_grad=True)
    t = torch.tensor([[0.2, 0.6]])
    a = plain.solve(z0, t)
    b = adjoint.solve(z0, t)
    assert torch.allclose(a, b, atol=1e-4)
    grad_a = torch.autograd.grad(a.square().sum(), plain.ode.func.net[0].weight)[0]
    grad_b = torch.autograd.grad(b.square().sum(), adjoint.ode.func.net[0].weight)[0]
    assert torch.allclose(grad_a, grad_b, atol=1e-3 * grad_a.abs().max())


def test_bad_inputs_raise():
    enc = encoder()
    with pytest.raises(ValueError, match=">= 0"):
        enc.solve(torch.randn(1, 6, 4, 4), torch.tensor([[-0.5, 0.2]]))
    with pytest.raises(ValueError, match=r"t must be \[B, Q\]"):
        enc.solve(torch.randn(2, 6, 4, 4), torch.tensor([[0.5]]))
    with pytest.raises(ValueError, match="not divisible"):
        DynamicsEncoder(frame_size=(20, 16), downsamplings=3)
    with pytest.raises(ValueError, match=r"frames \[B, K, 3, H, W\] and t \[B, K\]"):
        enc.encode(torch.rand(1, 3, 3, 16, 16), torch.zeros(1, 2))
