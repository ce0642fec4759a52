"""Checkpoint files: written atomically (a SIGKILL never leaves a broken file), read safely (a
malicious pickle is refused unless unpickling is asked for explicitly)."""

from __future__ import annotations

import multiprocessing
import os
import re
import signal
import time
from pathlib import Path

import pytest
import torch
from lightning.pytorch import Trainer
from run_helpers import REPO, TINY_GAN

from stylevideo.checkpoint import AtomicCheckpointIO, atomic_torch_save, safe_types
from stylevideo.features.weights import load_weights, register_weights
from stylevideo.methods.stylegan2 import StyleGAN2
from stylevideo.nn.stylegan2_checkpoints import load_rosinality_checkpoint


class _Evil:
    """Unpickling this runs ``touch <marker>``."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def _evil_file(tmp_path: Path, name: str = "evil.ckpt") -> tuple[Path, Path]:
    marker = tmp_path / "pwned"
    path = tmp_path / name
    torch.save({"state_dict": {}, "payload": _Evil(marker)}, path)
    return path, marker


def test_a_malicious_pickle_is_refused_everywhere_by_default(tmp_path):
    path, marker = _evil_file(tmp_path)
    with pytest.raises(Exception, match="[Ww]eights only load failed"):
        AtomicCheckpointIO().load_checkpoint(path)
    register_weights("evil_test_file", path.name, url="https://example.invalid/evil")
    with pytest.raises(Exception, match="[Ww]eights only load failed"):
        load_weights("evil_test_file", path)
    with pytest.raises(Exception, match="[Ww]eights only load failed"):
        load_rosinality_checkpoint(path)
    trainer = Trainer(
        accelerator="cpu",
        logger=False,
        enable_progress_bar=False,
        max_steps=1,
        enable_checkpointing=False,
        default_root_dir=tmp_path,
        plugins=[AtomicCheckpointIO()],
    )
    with pytest.raises(Exception, match="[Ww]eights only load failed"):  # lightning fit --ckpt_path evil
        trainer.fit(StyleGAN2(**TINY_GAN), [{"frames": torch.zeros(2, 1, 3, 16, 16)}], ckpt_path=str(path))
    assert not marker.exists()
    with pytest.warns(UserWarning, match="full unpickling"):  # the explicit opt-in unpickles, and says so
        AtomicCheckpointIO().load_checkpoint(path, weights_only=False)
    assert marker.exists()


def test_every_torch_load_in_the_tree_is_weights_only_or_an_explicit_opt_in():
    unsafe = set()
    for folder in ("src", "data_modules", "callbacks"):
        for file in (REPO / folder).rglob("*.py"):
            for call in re.findall(r"torch\.load\((.*?)\)\n", file.read_text(), flags=re.S):
                if (
                    "weights_only=True" not in call
                    and "weights_only=not allow_pickle" not in call
                    and "weights_only=safe" not in call
                ):
                    unsafe.add(str(file.relative_to(REPO)))
    assert not unsafe, f"torch.load without weights_only=True in {sorted(unsafe)}"


def test_hyper_parameters_become_types_weights_only_loading_accepts(tmp_path):
    from jsonargparse import Namespace

    hparams = {
        "root": Path("/data"),
        "betas": (0.0, 0.99),
        "sampler": Namespace(n=3, kind="x"),
        "tags": {"a"},
    }
    atomic_torch_save({"hyper_parameters": safe_types(hparams)}, tmp_path / "h.ckpt")
    loaded = torch.load(tmp_path / "h.ckpt", weights_only=True)["hyper_parameters"]
    assert loaded == {
        "root": "/data",
        "betas": (0.0, 0.99),
        "sampler": {"n": 3, "kind": "x"},
        "tags": ["a"],
    }


def _save_forever(path: str) -> None:
    torch.set_num_threads(1)
    for version in range(10**6):
        data = torch.full((2_000_000,), float(version))  # 8 MB: a save takes a while
        atomic_torch_save({"version": version, "data": data}, path)


def test_sigkill_during_saving_never_leaves_an_unreadable_checkpoint(tmp_path):
    path = tmp_path / "last.ckpt"
    for delay in (0.05, 0.11, 0.17, 0.23):
        proc = multiprocessing.get_context("fork").Process(target=_save_forever, args=(str(path),))
        proc.start()
        deadline = time.monotonic() + 60
        while not path.exists():
            assert time.monotonic() < deadline and proc.is_alive()
            time.sleep(0.01)
        time.sleep(delay)  # somewhere inside one of the next saves
        os.kill(proc.pid, signal.SIGKILL)
        proc.join()
        checkpoint = torch.load(path, weights_only=True)  # always a complete file
        assert torch.all(checkpoint["data"] == checkpoint["version"])
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "last.ckpt"]
    assert all(re.fullmatch(r"\.last\.ckpt\.\d+\.tmp", name) for name in leftovers)  # at most partial temps
