"""Parity with the authors' code (issue 21): outputs of our importers against reference outputs
their public code produced (``tests/fixtures``, written by ``tools/make_*_fixtures.py``)."""

from __future__ import annotations

import torch

#: Relative L2 error allowed in float32.
FLOAT32_TOLERANCE = 1e-4


def relative_l2(ours: torch.Tensor, theirs: torch.Tensor) -> float:
    """``||ours - theirs|| / ||theirs||`` computed in float64."""
    theirs = theirs.double()
    return ((ours.double() - theirs).norm() / theirs.norm()).item()


def assert_float32_parity(ours: torch.Tensor, theirs: torch.Tensor, what: str) -> float:
    """The same mathematics in float32: relative L2 error at most 1e-4; returns the error."""
    assert ours.shape == theirs.shape, f"{what}: shape {tuple(ours.shape)}, theirs {tuple(theirs.shape)}"
    err = relative_l2(ours, theirs)
    assert err <= FLOAT32_TOLERANCE, f"{what}: relative L2 error {err:.2e} > {FLOAT32_TOLERANCE:.0e}"
    return err
