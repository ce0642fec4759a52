"""``make bench`` / ``python -m stylevideo.bench``: time every case, print and write docs/benchmarks.md.

Every module of this package (but ``core``) contributes ``cases()``; each case runs in a
fresh subprocess so its peak memory is its own. Options: ``--quick`` (only the cases
marked quick: smoke sizes), ``--only stylegan2,data`` (sections), ``--match REGEX`` (cases
whose "section: name" matches), ``--device cuda``,
``--out FILE`` (default docs/benchmarks.md; ``--out -`` writes nothing).
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import json
import os
import pkgutil
import platform
import re
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import torch

import stylevideo.bench as bench_pkg
from stylevideo.bench.core import BenchCase, BenchResult, run_case


def all_cases() -> list[tuple[str, int, BenchCase]]:
    found = []
    for info in pkgutil.iter_modules(bench_pkg.__path__):
        if info.name in ("core", "__main__"):
            continue
        module = importlib.import_module(f"stylevideo.bench.{info.name}")
        for i, case in enumerate(module.cases()):
            found.append((info.name, i, case))
    return found


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    gpu = f", GPU {torch.cuda.get_device_name()}" if torch.cuda.is_available() else ""
    return (
        f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__} "
        f"({torch.get_num_threads()} threads), Python {platform.python_version()}{gpu}"
    )


def run_in_subprocess(module: str, index: int, device: str) -> BenchResult:
    cmd = [sys.executable, "-m", "stylevideo.bench", "--run-one", f"{module}:{index}", "--device", device]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"bench case {module}:{index} failed:\n{proc.stderr[-3000:]}")
    return BenchResult(**json.loads(proc.stdout.strip().splitlines()[-1]))


def markdown(results: list[BenchResult], command: str) -> str:
    lines = [
        "# Benchmarks",
        "",
        "Measured, never assumed. Regenerate with `make bench` (this file is its output).",
        "",
        f"- machine: {machine()}",
        f"- command: `{command}`",
        f"- date: {datetime.date.today().isoformat()}",
        "- each case runs in its own process; `median s` is the median over the timed repetitions;",
        "  training steps are whole iterations (every optimizer phase, lazy regularisation averaged in);",
        "  peak memory is the process's maximum RSS on CPU, the CUDA allocator's peak on GPU;",
        "  `GFLOP`: the FLOPs of the timed (averaged) iteration as torch's FlopCounterMode counts them",
        "  (matrix products, convolutions, attention; forward and backward, no element-wise work);",
        "  `× floor`: the median over the time those FLOPs take at the fp32 matmul rate measured in",
        "  the case's process (also for bf16-mixed cases).",
        "",
    ]
    for section in dict.fromkeys(r.section for r in results):
        lines += [
            f"## {section}",
            "",
            "| case | median s | throughput | GFLOP | × floor | peak MiB | notes |",
            "|---|---:|---:|---:|---:|---:|---|",
        ]
        for r in (r for r in results if r.section == section):
            gflop, ratio = ("", "") if r.flops is None else (f"{r.flops / 1e9:.4g}", f"{r.over_floor:.3g}")
            lines.append(
                f"| {r.name} | {r.median:.4g} | {r.per_second:.4g} {r.unit}/s | {gflop} | {ratio} | "
                f"{r.peak_mib:.0f} | {r.notes} |"
            )
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m stylevideo.bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="only the quick (smoke-size) cases")
    parser.add_argument("--only", default="", help="comma-separated sections")
    parser.add_argument("--match", default="", help='regular expression on "section: name"')
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--out", default="docs/benchmarks.md")
    parser.add_argument("--run-one", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.run_one:
        module, index = args.run_one.split(":")
        case = importlib.import_module(f"stylevideo.bench.{module}").cases()[int(index)]
        print(json.dumps(asdict(run_case(case, args.device))), flush=True)
        return
    only = {s for s in args.only.split(",") if s}
    results = []
    for module, index, case in all_cases():
        if (
            (only and case.section not in only)
            or (args.quick and not case.quick)
            or not re.search(args.match, f"{case.section}: {case.name}")
        ):
            continue
        result = run_in_subprocess(module, index, args.device)
        results.append(result)
        floor = "" if result.flops is None else f"  {result.flops / 1e9:9.3f} GFLOP  {result.over_floor:6.2f} x floor"
        print(
            f"{result.section:12s} {result.name:60s} {result.median:9.4f} s  "
            f"{result.per_second:9.3f} {result.unit}/s  {result.peak_mib:7.0f} MiB{floor}",
            flush=True,
        )
    if args.out != "-":
        command = "python -m stylevideo.bench " + " ".join(argv if argv is not None else sys.argv[1:])
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(markdown(results, command.strip()) + "\n")
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
