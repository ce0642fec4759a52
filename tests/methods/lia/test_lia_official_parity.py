"""Parity with the authors' LIA code: their checkpoint layout loaded here reproduces their outputs.

``tests/fixtures/lia_official.pt`` holds a checkpoint their code (wyhsirius/LIA@2a5bbfa, narrowed
64-fold: 32x32, widths 8, N = 8, M = 4) wrote after two iterations of their trainer, with their
animations and discriminator logits (``tools/make_lia_fixtures.py``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
import torch
from parity import assert_float32_parity

from stylevideo.methods.lia import load_official_checkpoint

FIXTURE = Path(__file__).parents[2] / "fixtures" / "lia_official.pt"


@pytest.fixture(scope="module")
def reference() -> dict:
    return torch.load(FIXTURE, weights_only=True)


def write_their_checkpoint(reference: dict, path: Path) -> Path:
    """The checkpoint as their trainer saves it (``trainer.py``: ``args`` is an argparse Namespace)."""
    ckpt = dict(reference["checkpoint"])
    ckpt["args"] = argparse.Namespace(**ckpt["args"])
    torch.save(ckpt, path)
    return path


def test_official_checkpoint_reproduces_the_authors_animations_and_logits(reference, tmp_path):
    model = load_official_checkpoint(write_their_checkpoint(reference, tmp_path / "000002.pt"))
    assert (model.hparams.resolution, model.hparams.latent_dim, model.hparams.motion_dim) == (32, 8, 4)
    source, driving = reference["inputs"]["source"], reference["inputs"]["driving"]
    theirs = reference["outputs"]
    with torch.no_grad():
        absolute = model.autoencoder.animate(source, driving, relative=False)  # Eq. 11: gen(x_s, x_t)
        relative = model.autoencoder.animate(source, driving, relative=True)  # Eq. 12: h_start = x_1
        logits = model.D(driving.flatten(0, 1))
    assert_float32_parity(absolute, theirs["absolute"], "absolute transfer")
    assert_float32_parity(relative, theirs["relative"], "relative transfer")
    assert_float32_parity(logits, theirs["dis_logits"], "discriminator logits")
    assert not torch.allclose(absolute, relative, atol=1e-3)  # the two transfers differ: both are checked
