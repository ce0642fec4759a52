"""ConvGRU: the GRU equations, masking, reverse reading order, the transition hook."""

import pytest
import torch
import torch.nn.functional as F

from stylevideo.nn.convgru import ConvGRU, ConvGRUCell


def test_cell_follows_the_gru_equations():
    torch.manual_seed(0)
    cell = ConvGRUCell(3, 5, kernel_size=3)
    x, h = torch.randn(2, 3, 6, 6), torch.randn(2, 5, 6, 6)
    gates = torch.sigmoid(F.conv2d(torch.cat([x, h], 1), cell.gates.weight, cell.gates.bias, padding=1))
    r, u = gates[:, :5], gates[:, 5:]
    c = torch.tanh(F.conv2d(torch.cat([x, r * h], 1), cell.candidate.weight, cell.candidate.bias, padding=1))
    assert torch.allclose(cell(x, h), (1 - u) * h + u * c, atol=1e-6)


def test_mask_keeps_the_state_of_unobserved_frames():
    torch.manual_seed(0)
    cell = ConvGRUCell(3, 4)
    x, h = torch.randn(2, 3, 5, 5), torch.randn(2, 4, 5, 5)
    out = cell(x, h, mask=torch.tensor([1.0, 0.0]))
    assert torch.equal(out[1], h[1])
    assert torch.allclose(out[0], cell(x[:1], h[:1])[0], atol=1e-6)


def test_reverse_reads_the_last_frame_first():
    torch.manual_seed(0)
    gru = ConvGRU(3, 4)
    x = torch.randn(2, 5, 3, 4, 4)
    order = []
    reverse = gru(x, reverse=True, transition=lambda h, i: (order.append(i), h)[1])
    assert order == [4, 3, 2, 1, 0]
    assert torch.allclose(reverse, gru(x.flip(1)), atol=1e-6)
    assert not torch.allclose(reverse, gru(x), atol=1e-3)
    h = torch.zeros(2, 4, 4, 4)  # a manual loop gives the same state
    for i in reversed(range(5)):
        h = gru.cell(x[:, i], h)
    assert torch.allclose(reverse, h, atol=1e-6)


def test_transition_is_applied_before_each_frame():
    torch.manual_seed(0)
    gru = ConvGRU(2, 3)
    x = torch.randn(1, 3, 2, 4, 4)
    shifted = gru(x, transition=lambda h, i: h + 1.0)
    h = torch.zeros(1, 3, 4, 4)
    for i in range(3):
        h = gru.cell(x[:, i], h + 1.0)
    assert torch.allclose(shifted, h, atol=1e-6)


def test_bad_shapes_raise():
    gru = ConvGRU(3, 4)
    with pytest.raises(ValueError, match=r"\[B, T, 3, H, W\]"):
        gru(torch.randn(2, 5, 2, 4, 4))
    with pytest.raises(ValueError, match="mask"):
        gru(torch.randn(2, 5, 3, 4, 4), mask=torch.ones(2, 4))
    with pytest.raises(ValueError, match="odd"):
        ConvGRUCell(3, 4, kernel_size=2)
