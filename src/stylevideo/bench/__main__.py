"""``make bench`` / ``python -m stylevideo.bench``: time every case, print and write docs/benchmarks.md.

Every module of this package (but ``core``) contributes ``cases()``; each case runs in a
fresh subprocess so its peak memory is its own. Options: ``--quick`` (only the cases
marked quick: smoke sizes), ``--only stylegan2,data`` (sections), ``--match REGEX`` (cases
whose "section: name" matches), ``--device cuda``,
``--precision 16-mixed`` (training iterations; default 32-true), ``--out FILE`` (default
docs/benchmarks.md, merged with its .json after every case; ``--out -`` writes nothing).
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import json
import os
import pkgutil
import re
import shlex
import signal
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import torch

import stylevideo.bench as bench_pkg
from stylevideo.bench.core import PRECISION_ENV, BenchCase, BenchResult, run_case
from stylevideo.runtime import keep_freed_memory


def all_cases() -> list[tuple[str, int, BenchCase]]:
    found = []
    for info in pkgutil.iter_modules(bench_pkg.__path__):
        if info.name in ("core", "__main__"):
            continue
        module = importlib.import_module(f"stylevideo.bench.{info.name}")
        for i, case in enumerate(module.cases()):
            found.append((info.name, i, case))
    return found


def exit_status(returncode: int) -> str:
    """A subprocess's exit status in words; a SIGKILL is named as what it usually is here."""
    if returncode >= 0:
        return f"exit status {returncode}"
    name = signal.Signals(-returncode).name
    if name == "SIGKILL":
        return "killed by SIGKILL (on Linux usually the out-of-memory killer: see `dmesg`)"
    return f"killed by {name}"


def run_in_subprocess(module: str, index: int, device: str) -> BenchResult:
    cmd = [sys.executable, "-m", "stylevideo.bench", "--run-one", f"{module}:{index}", "--device", device]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        status = exit_status(proc.returncode)
        raise RuntimeError(f"bench case {module}:{index} failed, {status}; its stderr ends:\n{proc.stderr[-3000:]}")
    return BenchResult(**json.loads(proc.stdout.strip().splitlines()[-1]))


#: The line after which docs/benchmarks.md is written by hand; ``make bench`` keeps what follows it.
HAND_WRITTEN = "<!-- Written by hand below this line; make bench keeps it. -->"
_RUN_KEYS = ("command", "date", "run")


def numbered(entries: list[dict]) -> list[dict]:
    """``entries`` with a run number on each: kept where stored; entries stored without one (before
    numbers were stored) numbered by their run's first appearance."""
    order = list(dict.fromkeys((e["date"], e["command"]) for e in entries if "run" not in e))
    return [e if "run" in e else {**e, "run": order.index((e["date"], e["command"])) + 1} for e in entries]


def merge(stored: list[dict], result: BenchResult, command: str, date: str) -> list[dict]:
    """``stored`` with ``result`` (and the run that measured it) replacing the entry of the same
    machine, precision, section and case, or appended. A run keeps its number when later runs
    replace its rows, so that hand-written text can cite it; a new run takes the next number."""
    stored = numbered(stored)
    same_run = [e["run"] for e in stored if (e["date"], e["command"]) == (date, command)]
    run = same_run[0] if same_run else max((e["run"] for e in stored), default=0) + 1
    entry = {**asdict(result), "command": command, "date": date, "run": run}
    key = ("machine", "precision", "section", "name")
    kept = [e for e in stored if any(e[k] != entry[k] for k in key)]
    return [*kept, entry]


def markdown(entries: list[dict], hand_written: str = "") -> str:
    """The results, grouped by machine and precision, then by section; every row names its run."""
    entries = numbered(entries)
    runs = sorted({(e["run"], e["date"], e["command"]) for e in entries})
    lines = [
        "# Benchmarks",
        "",
        "Measured, never assumed. `make bench` writes this file from docs/benchmarks.json, where every",
        "run merges its cases (a case measured again replaces its row for that machine and precision).",
        "",
        "- each case runs in its own process; `median s` is the median over the timed repetitions;",
        "  training steps are whole iterations (every optimizer phase, lazy regularisation averaged in);",
        "  peak memory is the process's maximum RSS on CPU, the CUDA allocator's peak on GPU;",
        "  `GFLOP`: the FLOPs of the timed (averaged) iteration as torch's FlopCounterMode counts them",
        "  (matrix products, convolutions, attention; forward and backward, no element-wise work);",
        "  `× floor`: the median over the time those FLOPs take at the fp32 matmul rate measured in",
        "  the case's process (also for mixed-precision cases).",
        "",
        "Runs:",
        "",
        *(f"- run {run}, {date}: `{command}`" for run, date, command in runs),
        "",
    ]
    for machine, precision in dict.fromkeys((e["machine"], e["precision"]) for e in entries):
        group = [e for e in entries if (e["machine"], e["precision"]) == (machine, precision)]
        lines += [f"## {machine}, {precision}", ""]
        for section in dict.fromkeys(e["section"] for e in group):
            lines += [
                f"### {section}",
                "",
                "| case | median s | throughput | GFLOP | × floor | peak MiB | run | notes |",
                "|---|---:|---:|---:|---:|---:|---:|---|",
            ]
            for e in (e for e in group if e["section"] == section):
                r = BenchResult(**{k: v for k, v in e.items() if k not in _RUN_KEYS})
                gflop, ratio = ("", "") if r.flops is None else (f"{r.flops / 1e9:.4g}", f"{r.over_floor:.3g}")
                lines.append(
                    f"| {r.name} | {r.median:.4g} | {r.per_second:.4g} {r.unit}/s | {gflop} | {ratio} | "
                    f"{r.peak_mib:.0f} | {e['run']} | {r.notes} |"
                )
            lines.append("")
    lines += [HAND_WRITTEN, hand_written.strip("\n")] if hand_written.strip() else [HAND_WRITTEN]
    return "\n".join(lines) + "\n"


def write(entries: list[dict], out: Path) -> None:
    """docs/benchmarks.json and docs/benchmarks.md (keeping the hand-written part of the latter)."""
    previous = out.read_text() if out.exists() else ""
    hand_written = previous.split(HAND_WRITTEN, 1)[1] if HAND_WRITTEN in previous else ""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(entries, indent=1) + "\n")
    out.write_text(markdown(entries, hand_written))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m stylevideo.bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="only the quick (smoke-size) cases")
    parser.add_argument("--only", default="", help="comma-separated sections")
    parser.add_argument("--match", default="", help='regular expression on "section: name"')
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--precision", default=None, help="training precision (default 32-true)")
    parser.add_argument("--out", default="docs/benchmarks.md", help="- writes nothing")
    parser.add_argument("--run-one", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.precision:  # the cases' subprocesses inherit it
        os.environ[PRECISION_ENV] = args.precision
    if args.run_one:
        keep_freed_memory()  # as the training entry points do
        module, index = args.run_one.split(":")
        case = importlib.import_module(f"stylevideo.bench.{module}").cases()[int(index)]
        print(json.dumps(asdict(run_case(case, args.device))), flush=True)
        return
    only = {s for s in args.only.split(",") if s}
    out = None if args.out == "-" else Path(args.out)
    store = out.with_suffix(".json") if out else None
    entries = json.loads(store.read_text()) if store and store.exists() else []
    command = "python -m stylevideo.bench " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))
    for module, index, case in all_cases():
        if (
            (only and case.section not in only)
            or (args.quick and not case.quick)
            or not re.search(args.match, f"{case.section}: {case.name}")
        ):
            continue
        result = run_in_subprocess(module, index, args.device)
        floor = "" if result.flops is None else f"  {result.flops / 1e9:9.3f} GFLOP  {result.over_floor:6.2f} x floor"
        print(
            f"{result.section:12s} {result.name:60s} {result.median:9.4f} s  "
            f"{result.per_second:9.3f} {result.unit}/s  {result.peak_mib:7.0f} MiB{floor}",
            flush=True,
        )
        if out:  # after every case, so that an interrupted run keeps what it measured
            entries = merge(entries, result, command.strip(), datetime.date.today().isoformat())
            write(entries, out)
    if out:
        print(f"wrote {out} and {store}")


if __name__ == "__main__":
    main()
