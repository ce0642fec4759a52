"""The bench's FLOP counting and arithmetic floor, and the data-loader cases."""

from __future__ import annotations

import functools
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
import yaml
from lightning.pytorch import LightningModule

from stylevideo.bench.__main__ import HAND_WRITTEN, markdown, merge, write
from stylevideo.bench.core import BenchCase, BenchResult, count_flops, lazy_average, run_case, time_iterations
from stylevideo.bench.data import cases, loader_case, worker_counts
from stylevideo.data_modules.synthetic import SyntheticDataModule
from stylevideo.video.sampling import SparseFrames

REPO = Path(__file__).resolve().parents[2]


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


def test_cpu_attention_counts_its_two_products_forward_and_four_backward():
    q, k, v = (torch.randn(2, 3, n, 4, requires_grad=True) for n in (5, 7, 7))
    products = 2 * 2 * 3 * 5 * 7 * 4  # one of Q K^T, P V, or a gradient product: B H L S E multiply-adds
    assert count_flops(lambda: F.scaled_dot_product_attention(q, k, v)) == 2 * products
    assert count_flops(lambda: F.scaled_dot_product_attention(q, k, v).sum().backward()) == 2 * products + 5 * products


def test_a_case_reports_its_own_peak_memory_not_the_driver_s():
    """A child exec'd by a process holding 2 GiB reports its own peak (about 0.75 GiB: torch and
    Lightning imported); ru_maxrss would report at least the 2 GiB."""
    code = "from stylevideo.bench.core import peak_rss_mib; print(peak_rss_mib())"
    held = bytearray(2048 * 2**20)
    held[::4096] = b"\x01" * len(held[::4096])  # touch every page
    own = float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
    assert 0 < own < 1500, own


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


def test_training_iterations_run_with_the_experiments_cudnn_setting(monkeypatch):
    base = yaml.safe_load((REPO / "experiments" / "base" / "default.yaml").read_text())
    monkeypatch.setattr(torch.backends.cudnn, "benchmark", not base["trainer"]["benchmark"])
    time_iterations(_Lazy(), {"x": torch.randn(16, 8)}, 1, "cpu")
    assert torch.backends.cudnn.benchmark == base["trainer"]["benchmark"]


def test_markdown_row_has_the_flops_and_the_ratio_to_the_floor():
    counted = BenchResult("s", "counted", [2.0, 3.0, 4.0], items=6, flops=4e9, matmul_gflops=10.0, machine="m")
    assert counted.floor == pytest.approx(0.4) and counted.over_floor == pytest.approx(7.5)
    plain = BenchResult("s", "plain", [1.0], machine="m")
    entries = merge(merge([], counted, "cmd a", "d1"), plain, "cmd b", "d2")
    lines = markdown(entries).splitlines()
    assert "| case | median s | throughput | GFLOP | × floor | peak MiB | run | notes |" in lines
    assert "| counted | 3 | 2 images/s | 4 | 7.5 | 0 | 1 |  |" in lines
    assert "| plain | 1 | 1 images/s |  |  | 0 | 2 |  |" in lines
    assert "- run 1, d1: `cmd a`" in lines and "- run 2, d2: `cmd b`" in lines
    assert "## m, 32-true" in lines


def test_a_case_measured_again_replaces_its_row_for_that_machine_and_precision_only():
    first = BenchResult("s", "case", [1.0], machine="cpu x")
    entries = merge([], first, "run 1", "d1")
    entries = merge(entries, BenchResult("s", "case", [5.0], machine="gpu y"), "run 2", "d2")
    entries = merge(entries, BenchResult("s", "case", [7.0], machine="gpu y", precision="16-mixed"), "run 2", "d2")
    entries = merge(entries, BenchResult("s", "other", [2.0], machine="cpu x"), "run 2", "d2")
    entries = merge(entries, BenchResult("s", "case", [3.0], machine="cpu x"), "run 3", "d3")
    assert sorted((e["machine"], e["precision"], e["name"], e["seconds"][0]) for e in entries) == [
        ("cpu x", "32-true", "case", 3.0),
        ("cpu x", "32-true", "other", 2.0),
        ("gpu y", "16-mixed", "case", 7.0),
        ("gpu y", "32-true", "case", 5.0),
    ]


def test_a_run_keeps_its_number_when_a_later_run_replaces_an_earlier_one():
    entries = merge([], BenchResult("s", "a", [1.0], machine="m"), "cmd 1", "d1")
    entries = merge(entries, BenchResult("s", "b", [1.0], machine="m"), "cmd 2", "d1")
    entries = merge(entries, BenchResult("s", "c", [1.0], machine="m"), "cmd 2", "d1")  # same run, next case
    entries = merge(entries, BenchResult("s", "a", [2.0], machine="m"), "cmd 3", "d2")  # run 1 has no rows left
    assert sorted((e["name"], e["run"]) for e in entries) == [("a", 3), ("b", 2), ("c", 2)]
    lines = markdown(entries).splitlines()
    assert "| b | 1 | 1 images/s |  |  | 0 | 2 |  |" in lines and "| a | 2 | 0.5 images/s |  |  | 0 | 3 |  |" in lines
    assert [line for line in lines if line.startswith("- run ")] == ["- run 2, d1: `cmd 2`", "- run 3, d2: `cmd 3`"]
    stored_before_numbers = [{k: v for k, v in e.items() if k != "run"} for e in entries]
    merged = merge(stored_before_numbers, BenchResult("s", "d", [1.0], machine="m"), "cmd 4", "d3")
    assert [e["run"] for e in merged] == [1, 1, 2, 3]  # numbered by first appearance, then the next


def test_writing_keeps_the_hand_written_part_and_the_results_file(tmp_path):
    out = tmp_path / "benchmarks.md"
    out.write_text(f"old generated table\n{HAND_WRITTEN}\n## Side by side\n\nmeasured by hand\n")
    entries = merge([], BenchResult("s", "case", [1.5], machine="m"), "cmd", "d")
    write(entries, out)
    text = out.read_text()
    assert "old generated table" not in text and "| case | 1.5 |" in text
    assert text.endswith(f"{HAND_WRITTEN}\n## Side by side\n\nmeasured by hand\n")
    assert json.loads(out.with_suffix(".json").read_text()) == entries


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


@pytest.mark.parametrize(("cores", "expected"), [(2, [0, 1, 2]), (4, [0, 1, 2, 4]), (16, [0, 1, 2, 4, 8])])
def test_loader_worker_counts_follow_the_cores(monkeypatch, cores, expected):
    monkeypatch.setattr("os.cpu_count", lambda: cores)
    assert worker_counts() == expected
    lia = [c.name for c in cases() if c.name.startswith("real clips 256x256, SourceDriving")]
    assert lia == [f"real clips 256x256, SourceDriving, batch 8 (lia_voxceleb), num_workers={n}" for n in expected]


@pytest.mark.parametrize("source", ["real clips 256x256", "real clips as PNG frame folders 256x256"])
def test_lia_real_clip_cases_deliver_their_pairs(real_data, monkeypatch, source):
    monkeypatch.setenv("STYLEVIDEO_REAL_DATA", str(real_data))
    case = next(c for c in cases() if c.name == f"{source}, SourceDriving, batch 8 (lia_voxceleb), num_workers=0")
    result = run_case(case)  # raises unless the loader delivered 8 batches of 8 pairs
    assert (result.items, result.unit, len(result.seconds)) == (8 * 8 * 2, "frames", 3)


def test_a_case_reporting_its_own_seconds_cannot_be_counted():
    case = BenchCase("s", "seconds", lambda device: lambda: 1.0, count_flops=True)
    with pytest.raises(TypeError, match="without time_iterations"):
        run_case(case)


def test_fid_case_runs_its_random_inception_as_the_metric_s_network():
    from stylevideo.metrics.bench import _fid, _random_inception

    frames = torch.randint(0, 256, (2, 3, 32, 32), dtype=torch.uint8)
    assert _random_inception()(frames).shape == (2, 2048)  # [N, 2048], not torch-fidelity's tuple
    _fid(2, 32)("cpu")()


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (
            "import os, signal; os.kill(os.getpid(), signal.SIGKILL)",
            "killed by SIGKILL (on Linux usually the out-of-memory killer",
        ),
        (
            "import sys; sys.stderr.write('no such weights file'); sys.exit(3)",
            "exit status 3; its stderr ends:\nno such weights file",
        ),
    ],
)
def test_a_failed_case_names_how_its_process_ended(monkeypatch, code, expected):
    """A case OOM-killed leaves no traceback: the error names the signal instead."""
    from stylevideo.bench import __main__ as bench_main

    real_run = subprocess.run
    monkeypatch.setattr(bench_main.subprocess, "run", lambda cmd, **kw: real_run([sys.executable, "-c", code], **kw))
    with pytest.raises(RuntimeError) as failure:
        bench_main.run_in_subprocess("vidstyleode", 3, "cpu")
    assert str(failure.value).startswith("bench case vidstyleode:3 failed, ")
    assert expected in str(failure.value)
