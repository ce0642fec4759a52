"""Measure the cost of DDP on CPU: one process vs two gloo ranks at the same global batch.

    .venv/bin/python tests/runs/ddp_overhead.py [--steps 40] [--batch 16]

The model is stylegan2_synthetic's StyleGAN2 (32x32, channel_base 1024, lazy R1 and path length)
on in-memory frames (no decoding). Prints the median seconds per iteration (after ``--warmup``)
of one process with one thread and with every core, and of two single-threaded ranks with half
the batch each, with the time the ranks spend in GANModule's collectives (gradient all-reduce,
buffer averaging; waiting for the other rank included).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time

import torch
from lightning.pytorch import Callback, Trainer, seed_everything
from torch.utils.data import DataLoader

from stylevideo.methods.gan import GANModule
from stylevideo.methods.stylegan2 import StyleGAN2

MODEL = dict(
    resolution=32,
    z_dim=64,
    w_dim=64,
    mapping_layers=4,
    channel_base=1024,
    channel_max=64,
    r1_gamma=0.0128,
    ema_kimg=1.0,
    mbstd_group=4,
)


class Timer(Callback):
    """Seconds per iteration, and seconds of it spent in GANModule's collectives."""

    def __init__(self):
        self.times: list[float] = []
        self.comm: list[float] = []
        self._comm = 0.0
        for name in ("all_reduce_gradients", "sync_buffers"):
            setattr(GANModule, name, self._timed(getattr(GANModule, name)))

    def _timed(self, fn):
        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            out = fn(*args, **kwargs)
            self._comm += time.perf_counter() - start
            return out

        return wrapper

    def on_train_batch_start(self, *args) -> None:
        self.start, self._comm = time.perf_counter(), 0.0

    def on_train_batch_end(self, *args) -> None:
        self.times.append(time.perf_counter() - self.start)
        self.comm.append(self._comm)


def run(steps: int, batch: int, devices: int) -> Timer:
    seed_everything(0)
    frames = torch.rand(steps * batch * devices, 1, 3, 32, 32) * 2 - 1
    timer = Timer()
    trainer = Trainer(
        accelerator="cpu",
        devices=devices,
        strategy="ddp" if devices > 1 else "auto",
        max_steps=steps,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[timer],
    )
    trainer.fit(StyleGAN2(**MODEL), DataLoader([{"frames": f} for f in frames], batch_size=batch))
    return timer


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--batch", type=int, default=16, help="global batch")
    p.add_argument("--warmup", type=int, default=8)
    p.add_argument("--rank", type=int, default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    cores = os.cpu_count() or 2
    if args.rank is not None:  # one of the two ranks
        torch.set_num_threads(1)
        timer = run(args.steps, args.batch // 2, 2)
        if args.rank == 0:
            print(
                statistics.median(timer.times[args.warmup :]),
                statistics.median(timer.comm[args.warmup :]),
            )
        return
    single = {}
    for threads in sorted({1, cores}):
        torch.set_num_threads(threads)
        single[threads] = statistics.median(run(args.steps, args.batch, 1).times[args.warmup :])
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = str(s.getsockname()[1])
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--steps",
                str(args.steps),
                "--batch",
                str(args.batch),
                "--warmup",
                str(args.warmup),
                "--rank",
                str(r),
            ],
            env={
                **os.environ,
                "MASTER_ADDR": "127.0.0.1",
                "MASTER_PORT": port,
                "WORLD_SIZE": "2",
                "RANK": str(r),
                "LOCAL_RANK": str(r),
                "NODE_RANK": "0",
            },
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        for r in (0, 1)
    ]
    outs = [proc.communicate()[0] for proc in procs]
    ddp, comm = map(float, outs[0].strip().splitlines()[-1].split())
    print(f"global batch {args.batch}, {cores} cores, load average {os.getloadavg()[0]:.1f}")
    for threads, t in single.items():
        print(f"1 process, {threads} thread(s): {t * 1000:.0f} ms / iteration")
    print(
        f"2 ranks, 1 thread each : {ddp * 1000:.0f} ms / iteration, of which {comm * 1000:.0f} ms "
        f"in collectives ({comm / ddp * 100:.0f}%); vs 1 process 1 thread: {single[1] / ddp:.2f}x"
    )


if __name__ == "__main__":
    main()
