"""DDP on two gloo processes: the ranks stay identical and equal one process on the global batch."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import ddp_worker
import pytest
import torch
from run_helpers import REPO

WORKER = Path(ddp_worker.__file__)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tensors(state: dict) -> dict:
    return {k: v for k, v in state.items() if isinstance(v, torch.Tensor)}


@pytest.fixture(scope="module")
def ddp_run(synthetic_root, tmp_path_factory):
    """Both ranks' results of ddp_worker.py, launched as torchrun / srun would."""
    out = tmp_path_factory.mktemp("ddp")
    port = str(_free_port())
    procs = []
    for rank in (0, 1):
        env = {
            **os.environ,
            "MASTER_ADDR": "127.0.0.1",
            "MASTER_PORT": port,
            "WORLD_SIZE": "2",
            "RANK": str(rank),
            "LOCAL_RANK": str(rank),
            "NODE_RANK": "0",
            "WANDB_MODE": "offline",
            "PYTHONPATH": os.pathsep.join([str(WORKER.parent), os.environ.get("PYTHONPATH", "")]),
        }
        log = open(out / f"log{rank}.txt", "w")
        procs.append(
            (
                subprocess.Popen(
                    [sys.executable, str(WORKER), str(out), str(synthetic_root)],
                    cwd=REPO,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                ),
                log,
            )
        )
    for proc, log in procs:
        proc.wait(timeout=600)
        log.close()
    for rank, (proc, _) in enumerate(procs):
        assert proc.returncode == 0, (out / f"log{rank}.txt").read_text()[-4000:]
    return out, [torch.load(out / f"rank{r}.pt", weights_only=False) for r in (0, 1)]


@pytest.mark.slow
def test_ranks_hold_identical_models_and_match_one_process_on_the_global_batch(ddp_run, tmp_path):
    _, (r0, r1) = ddp_run
    for run in ("keyed", "full"):
        a, b = r0[run]["state"], r1[run]["state"]
        assert a.keys() == b.keys()
        different = [k for k in a if isinstance(a[k], torch.Tensor) and not torch.equal(a[k], b[k])]
        assert not different, f"{run}: ranks differ in {different}"  # weights, EMA, w_avg, pl mean, ADA p
    assert r0["full"]["state"]["ada.pipe.p"] > 0  # the rank-averaged ADA controller moved p on both

    torch.manual_seed(0)  # as seed_everything(0) before the model is built
    init = _tensors(ddp_worker.KeyedStyleGAN2(**ddp_worker.KEYED).state_dict())
    single = ddp_worker.keyed(tmp_path, devices=1, batch=4)  # one process, the global batch of 2 x 2
    assert single["seen_keys"] == list(range(len(single["seen_keys"])))
    assert sorted(r0["keyed"]["seen_keys"] + r1["keyed"]["seen_keys"]) == single["seen_keys"]
    one, ddp = _tensors(single["state"]), _tensors(r0["keyed"]["state"])
    worst = max(((one[k].float() - ddp[k].float()).abs().max().item(), k) for k in one)
    assert worst[0] < 1e-5, f"DDP and one process differ most in {worst[1]}: {worst[0]}"
    moved = max((one[k].float() - v.float()).abs().max().item() for k, v in init.items())
    assert moved > 1e-3  # training changed the weights: the comparison is not between initialisations


@pytest.mark.slow
def test_every_method_keeps_its_ranks_identical(ddp_run):
    _, (r0, r1) = ddp_run
    for method, a in r0["methods"].items():
        b = r1["methods"][method]
        different = [k for k in _tensors(a) if not torch.equal(a[k], b[k])]
        assert not different, f"{method}: ranks differ in {different}"


@pytest.mark.slow
def test_ranks_draw_their_own_random_numbers_and_data(ddp_run):
    _, (r0, r1) = ddp_run
    for a, b in zip(r0["keyed"]["rng_draws"], r1["keyed"]["rng_draws"], strict=True):
        assert a != b  # per-rank seeding: latents, noise and augmentations differ between ranks
    assert not set(r0["keyed"]["seen_keys"]) & set(r1["keyed"]["seen_keys"])
    assert r0["full"]["loader"] == "ResumableDataLoader"
    k0, k1 = r0["full"]["epoch_keys"], r1["full"]["epoch_keys"]
    assert not set(k0) & set(k1) and len(k0) == len(k1) == 6  # the VideoSampler's 12 draws, sharded
    assert sorted(k.draw for k in k0 + k1) == list(range(12))


@pytest.mark.slow
def test_ddp_checkpoint_holds_every_ranks_state_and_loads_safely(ddp_run):
    out, _ = ddp_run
    ckpt = torch.load(out / "full" / "checkpoints" / "last.ckpt", weights_only=True)
    ranks = ckpt["callbacks"]["RunState"]["ranks"]
    assert len(ranks) == 2
    assert not torch.equal(ranks[0]["rng"]["torch"], ranks[1]["rng"]["torch"])
    assert set(ranks[0]["module"]) == {"ada"}  # ADA's per-rank window travels with its rank
    assert ckpt["loops"]["fit_loop"]["state_dict"]["combined_loader"] == [{"epoch": 1, "batches": 1}]
