"""The bench's FLOP counting and arithmetic floor, and the data-loader cases."""

from __future__ import annotations

import functools

import pytest
import torch
import torch.nn.functional as F
from lightning.pytorch import LightningModule

from stylevideo.bench.__main__ import markdown
from stylevideo.bench.core import BenchCase, BenchResult, count_flops, lazy_average, run_case, time_iterations
from stylevideo.bench.data import cases, loader_case
from stylevideo.data_modules.synthetic import SyntheticDataModule
from stylevideo.video.sampling import SparseFrames


def test_linear_forward_backward_counts_three_products():
    linear, x = torch.nn.Linear(7, 5), torch.randn(3, 7, requires_grad=True)
    # forward, grad of the input, grad of the weight: 2 * 3 * 7 * 5 each (the bias sums are not counted)
    assert count_flops(lambda: linear(x).sum().backward()) == 3 * 2 * 3 * 7 * 5


def test_grouped_convolution_counts_its_weight_gradient_per_group():
    x = torch.randn(2, 24, 10, 10, requires_grad=True)
    w = torch.randn(32, 6, 3, 3, requires_grad=True)  # 4 groups of 6 -> 8 channels
    forward = 2 * 2 * 32 * 6 * 9 * 10 * 10
    assert count_flops(lambda: F.conv2d(x, w, padding=1, groups=4).sum().backward()) == 3 * forward


def test_gradient_of_a_leaf_input_can_be_counted():
    """R1 and path length take gradients with respect to a leaf input (pytorch/pytorch#131753)."""
    linear, x = torch.nn.Linear(7, 5), torch.randn(3, 7, requires_grad=True)
    assert count_flops(lambda: torch.autograd.grad(linear(x).sum(), x)) == 2 * 2 * 3 * 7 * 5


class _Lazy(LightningModule):
    """A linear regression with an extra product every second iteration (a lazy regulariser)."""

    def __init__(self):
        super().__init__()
        self.net, self.reg = torch.nn.Linear(8, 4), torch.nn.Linear(8, 2, bias=False)

    def training_step(self, batch, batch_idx):
        loss = self.net(batch["x"]).square().mean()
        if batch_idx % 2 == 0:
            loss = loss + self.reg(batch["x"]).square().mean()
        return loss

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters())


def test_training_iterations_report_the_flops_of_the_averaged_iteration():
    model, batch = _Lazy(), {"x": torch.randn(16, 8)}

    def step() -> float:
        return lazy_average(time_iterations(model, batch, 3, "cpu"), {"reg": 2})

    base, reg = 2 * 2 * 16 * 8 * 4, 2 * 2 * 16 * 8 * 2  # forward + weight gradient (x needs no gradient)
    assert count_flops(step) == pytest.approx(base + reg / 2)


def test_markdown_row_has_the_flops_and_the_ratio_to_the_floor():
    counted = BenchResult("s", "counted", [2.0, 3.0, 4.0], items=6, flops=4e9, matmul_gflops=10.0)
    assert counted.floor == pytest.approx(0.4) and counted.over_floor == pytest.approx(7.5)
    plain = BenchResult("s", "plain", [1.0])
    lines = markdown([counted, plain], "cmd").splitlines()
    assert "| case | median s | throughput | GFLOP | × floor | peak MiB | notes |" in lines
    assert "| counted | 3 | 2 images/s | 4 | 7.5 | 0 |  |" in lines
    assert "| plain | 1 | 1 images/s |  |  | 0 |  |" in lines


@pytest.mark.parametrize("workers", [0, 2])
def test_loader_case_delivers_its_frames(synthetic_root, workers):
    sampler = SparseFrames(3, max_distance=8, clip_length=12)
    module = functools.partial(SyntheticDataModule.from_root, str(synthetic_root))
    case = loader_case("tiny", module, sampler, 32, batch_size=2, num_workers=workers, batches=3, quick=True)
    result = run_case(case)  # the case raises if the frames delivered differ from its items
    assert (result.items, result.unit, len(result.seconds)) == (3 * 2 * 4, "frames", 3)
    assert result.flops is None


def test_real_clip_cases_name_the_missing_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("STYLEVIDEO_REAL_DATA", str(tmp_path / "absent"))
    real = next(c for c in cases() if c.name.startswith("real clips"))
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "absent")):
        real.build("cpu")


def test_a_case_reporting_its_own_seconds_cannot_be_counted():
    case = BenchCase("s", "seconds", lambda device: lambda: 1.0, count_flops=True)
    with pytest.raises(TypeError, match="without time_iterations"):
        run_case(case)
