"""Loggers: W&B that works without an account (offline unless the user is logged in)."""

from __future__ import annotations

import netrc
import os

from lightning.pytorch.loggers import WandbLogger as _LightningWandbLogger

__all__ = ["WandbLogger", "wandb_logged_in"]


def wandb_logged_in() -> bool:
    """True when W&B can sync: an API key in the environment or in ~/.netrc."""
    if os.environ.get("WANDB_API_KEY"):
        return True
    try:
        return netrc.netrc().authenticators("api.wandb.ai") is not None
    except (FileNotFoundError, netrc.NetrcParseError):
        return False


class WandbLogger(_LightningWandbLogger):
    """Lightning's WandbLogger, offline by default unless the user is logged in.

    ``offline=None`` (the default) decides from ``WANDB_MODE`` if set, else from
    whether an API key is available. The CLI sets ``save_dir``, ``name``, ``group``
    and ``id`` from the experiment and run folder.
    """

    def __init__(self, project: str = "stylevideo", offline: bool | None = None, **kwargs):
        if offline is None:
            mode = os.environ.get("WANDB_MODE")
            offline = mode in ("offline", "dryrun") if mode else not wandb_logged_in()
        super().__init__(project=project, offline=offline, **kwargs)
