"""MEAD (Wang et al., ECCV 2020), front camera, with onestyle's split (onestyle 4.1).

Accepts MEAD as published, one folder per actor with its ``video.tar`` extracted
(``M003/video/front/angry/level_1/001.mp4``), and onestyle's frame-folder form
(``M003_front/angry/level_1/001/frame0000.jpg``); the clips of either form may be videos or
frame folders (e.g. after ``stylevideo.video.preprocess.face_align``, which keeps the tree).

Labels: ``actor`` (M003, W009, ...), ``emotion`` (the 8 folder names: angry, contempt,
disgusted, fear, happy, neutral, sad, surprised) and ``level`` (intensity 1-3; neutral has 1).

Split (onestyle 4.1): training only on the generic sentences, the emotion-specific sentences
held out as the unseen test set. The paper does not number them; the sentence numbers of the
authors' training list (``datasets/mead_train.csv`` in their repository) skip 006-011 in
every actor, emotion and level, so ``test_sentences`` defaults to 6-11. The paper trains on 30
actors and does not name them; ``ONESTYLE_ACTORS`` is the list reconstructed in docs/onestyle.md
(``actors`` selects actors; default: all found). The paper's training clips are 60-170 frames
long (``frame_range``), at 128x128.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from stylevideo.data_modules.base import ClipRecord
from stylevideo.data_modules.layouts import DatasetModule, clip_name, list_clips

__all__ = ["EMOTIONS", "MEADDataModule", "ONESTYLE_30_ACTORS", "ONESTYLE_ACTORS"]

EMOTIONS = ("angry", "contempt", "disgusted", "fear", "happy", "neutral", "sad", "surprised")
VIEWS = ("front", "down", "top", "left_30", "left_60", "right_30", "right_60")

#: The 25 actors of onestyle's training list (datasets/mead_train.csv of the authors' code).
ONESTYLE_ACTORS = (
    "M003", "M012", "M013", "M019", "M022", "M023", "M026", "M028", "M029", "M030", "M033",
    "M040", "W014", "W015", "W016", "W018", "W019", "W023", "W025", "W026", "W029", "W033",
    "W036", "W037", "W040",
)  # fmt: skip

#: The paper's 30 actors ("15M15F"), reconstructed (docs/onestyle.md): the 25 of the training
#: list, whose person ids are the alphabetical ranks 0-29 with 1-3 and 15-16 free; W009 and W011
#: (the only MEAD women ranked below W014), M007 (in the authors' README), and two of M005 /
#: M009 / M011 for the two remaining ranks between M003 and M012 (the first two: a guess).
ONESTYLE_30_ACTORS = tuple(sorted(ONESTYLE_ACTORS + ("M005", "M007", "M009", "W009", "W011")))

_ACTOR = re.compile(r"([MW]\d{3})(?:_(" + "|".join(VIEWS) + r"))?")
_LEVEL = re.compile(r"level_(\d)")
_SENTENCE = re.compile(r"\d{3}")


class MEADDataModule(DatasetModule):
    """MEAD's front-camera clips; labels ``actor``, ``emotion``, ``level``.

    Args:
        root: the MEAD folder (holding the actor folders).
        view: the camera (onestyle: ``"front"``).
        actors: the actors to use (default: every actor found).
        test_sentences: the sentence numbers held out as the test split.
        frame_range: ``(min, max)`` frames of the training clips kept (onestyle: 60-170); None
            keeps all.
        **kwargs: :class:`~stylevideo.data_modules.layouts.DatasetModule`'s arguments.
    """

    layout = (
        "MEAD: actor folders (M003, W009, ...) as published, <actor>/video/<view>/<emotion>/"
        "level_<n>/<sentence>.mp4, or in onestyle's form <actor>_<view>/<emotion>/level_<n>/"
        "<sentence>/frame0000.jpg (emotions: " + ", ".join(EMOTIONS) + ")"
    )

    def __init__(
        self,
        root: str | None = None,
        view: str = "front",
        actors: Sequence[str] | None = None,
        test_sentences: Sequence[int] = (6, 7, 8, 9, 10, 11),
        frame_range: tuple[int, int] | None = None,
        **kwargs,
    ):
        if view not in VIEWS:
            raise ValueError(f"view must be one of {VIEWS}, got {view!r}")
        super().__init__(root, **kwargs)
        self.view = view
        self.actors = None if actors is None else tuple(actors)
        self.test_sentences = frozenset(int(s) for s in test_sentences)
        if frame_range is not None and not 1 <= frame_range[0] <= frame_range[1]:
            raise ValueError(f"frame_range must be (min, max) with 1 <= min <= max, got {frame_range}")
        self.frame_range = None if frame_range is None else tuple(frame_range)

    def build_index(self) -> list[ClipRecord]:
        """The clips, training clips outside ``frame_range`` left out (onestyle's 60-170 frames)."""
        records = super().build_index()
        if self.frame_range is None:
            return records
        lo, hi = self.frame_range
        return [r for r in records if r.split != "train" or lo <= r.num_frames <= hi]

    def _actor_folders(self) -> dict[str, Path]:
        """``{actor: the folder holding its emotion folders}`` for ``self.view``."""
        found = {}
        for entry in sorted(self.root.iterdir()):
            match = _ACTOR.fullmatch(entry.name)
            if not match or not entry.is_dir():
                continue
            actor, view = match.groups()
            if view is None and (entry / "video" / self.view).is_dir():
                found[actor] = entry / "video" / self.view
            elif view == self.view:
                found[actor] = entry
        if not found:
            raise self.layout_error(f"no actor folder with {self.view!r} camera clips")
        if self.actors is not None:
            missing = sorted(set(self.actors) - set(found))
            if missing:
                raise self.layout_error(f"actors {missing} not found (found {sorted(found)})")
            found = {a: found[a] for a in self.actors}
        return found

    def find_clips(self) -> list[ClipRecord]:
        records = []
        for actor, base in self._actor_folders().items():
            for emotion_dir in sorted(p for p in base.iterdir() if p.is_dir()):
                if emotion_dir.name not in EMOTIONS:
                    raise ValueError(
                        f"{emotion_dir}: unknown emotion {emotion_dir.name!r} (expected one of {', '.join(EMOTIONS)})"
                    )
                for level_dir in sorted(p for p in emotion_dir.iterdir() if p.is_dir()):
                    level = _LEVEL.fullmatch(level_dir.name)
                    if not level:
                        raise ValueError(f"{level_dir}: expected a folder named level_<n>")
                    for path in list_clips(level_dir):
                        sentence = clip_name(path)
                        if not _SENTENCE.fullmatch(sentence):
                            raise ValueError(f"{path}: expected a three-digit sentence number")
                        records.append(
                            ClipRecord(
                                path,
                                None,
                                self.video_id(path),
                                labels={
                                    "actor": actor,
                                    "emotion": emotion_dir.name,
                                    "level": level.group(1),
                                },
                                split="test" if int(sentence) in self.test_sentences else "train",
                            )
                        )
        return records
