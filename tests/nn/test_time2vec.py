"""time2vec (onestyle Eq. 1): one linear component, k - 1 learned sinusoids, continuous in t."""

import math

import pytest
import torch

from stylevideo.nn.time2vec import Time2Vec


def test_exactly_one_linear_and_k_minus_1_periodic_components():
    torch.manual_seed(0)
    v = Time2Vec(16)
    t = torch.tensor([0.0, 1.0, 2.0, 3.7, 11.3])
    out = v(t)
    assert out.shape == (5, 16)
    # component 0 is omega_0 t + phi_0: exactly affine in t
    assert torch.allclose(out[:, 0], v.omega[0] * t + v.phi[0])
    # every other component is sin(omega_j t + phi_j): periodic with period 2 pi / omega_j
    period = 2 * math.pi / v.omega[1:]
    shifted = torch.sin(v.omega[1:] * (t[:, None] + period) + v.phi[1:])
    assert torch.allclose(out[:, 1:], shifted, atol=1e-4)
    assert torch.allclose(out[:, 1:], torch.sin(v.omega[1:] * t[:, None] + v.phi[1:]))
    # second differences in t vanish for exactly one component (the linear one)
    grid = v(torch.linspace(0, 20, 200)).detach()
    second = (grid[2:] - 2 * grid[1:-1] + grid[:-2]).abs().amax(0)
    assert (second < 1e-5).sum() == 1 and second[0] < 1e-5
    # the sinusoids are bounded, the linear term is not
    far = v(torch.tensor([1e4])).detach()[0]
    assert far[1:].abs().max() <= 1 and far[0].abs() > 1


def test_continuous_in_real_valued_time_and_batched():
    torch.manual_seed(0)
    v = Time2Vec(8)
    t = torch.tensor([[0.0, 0.5, 1.0], [3.25, 3.5, 9.0]])
    out = v(t)
    assert out.shape == (2, 3, 8)
    assert torch.allclose(out[1, 2], v(torch.tensor(9.0)))
    gaps = [(v(torch.tensor(2.0 + eps)) - v(torch.tensor(2.0))).abs().max().item() for eps in (1e-1, 1e-2, 1e-3)]
    assert gaps[0] > gaps[1] > gaps[2] and gaps[2] < 1e-2


def test_frequencies_and_phases_are_trained():
    torch.manual_seed(0)
    v = Time2Vec(4)
    v(torch.tensor([1.5, 2.5])).pow(2).sum().backward()
    assert v.omega.grad.abs().min() > 0 and v.phi.grad.abs().min() > 0


def test_needs_a_linear_and_a_periodic_term():
    with pytest.raises(ValueError, match="k >= 2"):
        Time2Vec(1)


def test_initial_frequencies_follow_omega_std():
    torch.manual_seed(0)
    assert abs(Time2Vec(20000).omega.std().item() - 1.0) < 0.03  # the authors' N(0, 1)
    slow = Time2Vec(20000, omega_std=0.25)
    assert abs(slow.omega.std().item() - 0.25) < 0.01 and abs(slow.phi.std().item() - 1.0) < 0.03
