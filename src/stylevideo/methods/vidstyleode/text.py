"""Text for VidStyleODE: the video descriptions ``D_SRC`` and the text style code (Eq. 5, Eq. 12).

The paper's datasets come with text: Fashion Videos has a description per video, RAVDESS has
descriptions hand-written per actor from annotated attributes (gender, hair style, hair
colour, eye colour; supplementary section 8). Their data modules put each clip's text in the
batch (``text``); VidStyleODE uses it unless a description source is configured:

- :class:`ActorDescriptions`: per actor, from a CSV (``actor`` and ``description`` columns,
  or attribute columns filled into a template). Without a file it reads the synthetic
  dataset's ``labels.csv`` and generates a description from each actor's attribute words.
"""

from __future__ import annotations

import csv
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import Tensor

__all__ = ["ActorDescriptions", "Descriptions", "describe", "text_style"]


def text_style(image_embedding: Tensor, source: Tensor, target: Tensor, alpha: float | Tensor = 1.0) -> Tensor:
    """Eq. 5 / 12: ``z_S = CLIP_I(G(z_C)) + alpha (CLIP_T(D_TGT) - CLIP_T(D_SRC))``."""
    return image_embedding + alpha * (target - source)


class Descriptions(ABC):
    """Maps a batch to one description per video; ``setup(datamodule)`` before the first batch."""

    @abstractmethod
    def setup(self, datamodule) -> None:
        """Read what the source needs from the training data module."""

    @abstractmethod
    def __call__(self, batch: dict) -> list[str]:
        """The description of every video of ``batch``."""


def _read_csv(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        raise FileNotFoundError(f"description file {path} does not exist")
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


class ActorDescriptions(Descriptions):
    """One description per actor (the batch key ``actor``).

    Args:
        file: CSV with an ``actor`` column and either ``description`` or the columns the
            template names; ``None`` reads ``<datamodule root>/labels.csv`` (the synthetic dataset).
        template: ``str.format`` pattern over a row's columns, used when there is no
            ``description`` column.
    """

    def __init__(
        self,
        file: str | None = None,
        template: str = ("a photo of a {gender} with {hair_style} {hair_color} hair and {eye_color} eyes"),
    ):
        self.file, self.template = file, template
        self.by_actor: dict[str, str] = {}
        self.names: list[str] = []

    def setup(self, datamodule) -> None:
        if self.file is not None:
            path = Path(self.file).expanduser()
        elif getattr(datamodule, "root", None) is not None:
            path = Path(datamodule.root) / "labels.csv"
        else:
            raise ValueError("ActorDescriptions: no file given and the data module has no root with a labels.csv")
        by_actor: dict[str, str] = {}
        for line, row in enumerate(_read_csv(path), start=2):
            if "actor" not in row:
                raise ValueError(f"{path} has no 'actor' column (columns: {sorted(row)})")
            try:
                text = row["description"] if row.get("description") else self.template.format(**row)
            except KeyError as e:
                raise ValueError(
                    f"{path} line {line}: the template {self.template!r} needs column {e}, the file has {sorted(row)}"
                ) from e
            if by_actor.setdefault(row["actor"], text) != text:
                raise ValueError(
                    f"{path} line {line}: actor {row['actor']!r} has two descriptions: "
                    f"{by_actor[row['actor']]!r} and {text!r}"
                )
        ids = datamodule.label_maps.get("actor") if hasattr(datamodule, "label_maps") else None
        if ids is None:
            raise ValueError("ActorDescriptions needs a data module with an 'actor' label")
        missing = sorted(set(ids) - set(by_actor))
        if missing:
            raise ValueError(f"{path} describes no actor {missing[:5]} ({len(missing)} missing)")
        self.by_actor = by_actor
        self.names = [name for name, _ in sorted(ids.items(), key=lambda kv: kv[1])]

    def __call__(self, batch: dict) -> list[str]:
        if not self.names:
            raise RuntimeError("ActorDescriptions.setup(datamodule) was not called")
        actors = batch["actor"].tolist() if isinstance(batch["actor"], torch.Tensor) else list(batch["actor"])
        return [self.by_actor[self.names[i]] for i in actors]


def describe(source: Descriptions | None, batch: dict) -> Sequence[str]:
    """``source(batch)``, or the batch's own ``text`` without a source; one per video."""
    if source is not None:
        texts = source(batch)
    elif "text" in batch:
        texts = list(batch["text"])
    else:
        raise ValueError(
            "VidStyleODE needs a description per video: the batch has no 'text' (a data module "
            "with descriptions, e.g. RAVDESS with descriptions_file, Fashion) and no "
            "`descriptions` source is configured (e.g. ActorDescriptions)"
        )
    if len(texts) != batch["frames"].shape[0]:
        raise ValueError(
            f"{type(source).__name__} gave {len(texts)} descriptions for {batch['frames'].shape[0]} videos"
        )
    return texts
