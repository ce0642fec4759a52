"""UTD-MHAD (Chen et al., ICIP 2015) RGB videos with onestyle's unseen actor-action test split.

Accepts the RGB release as published (``RGB.zip`` extracted: ``RGB/a1_s1_t1_color.avi``;
``root`` may be ``RGB/`` or the folder holding it) and onestyle's frame-folder form
(``train/a1/a1_s2_t1_color/frame0000.jpg`` and ``val/a1_s1_t1_color/frame0000.jpg``); clips
are found at any depth by their name ``a<action>_s<subject>_t<trial>_color``.

Labels: ``actor`` (the subject, ``s1`` ... ``s8``) and ``action`` (``a01`` ... ``a27``, zero-
padded so that the id of action k is k - 1).

Split (onestyle 4.1): "a test set by excluding videos of each action sequence performed by few
selected target actor", so that every test pair of actor and action is unseen in training.
The paper does not list them; the authors' layout shows ``a1_s1_t*`` in ``val/`` and
``a1_s2_t*`` in ``train/``. By choice the target subject of action k is ``test_subjects[k-1]``,
by default subjects rotate over the actions (action k -> subject ``(k - 1) % 8 + 1``: a1 -> s1
as in the authors' layout), so every subject is a target for 3-4 actions and trains on the
rest. A copy already in onestyle's ``train/`` / ``val/`` form keeps its folders' split.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from stylevideo.data_modules.base import ClipRecord
from stylevideo.data_modules.layouts import DatasetModule, find_named_clips

__all__ = ["UTDMHADDataModule"]

NUM_ACTIONS, NUM_SUBJECTS = 27, 8
_NAME = re.compile(r"a(\d+)_s(\d+)_t(\d+)_color")
_SPLIT_FOLDERS = {"train": "train", "val": "test", "test": "test"}


class UTDMHADDataModule(DatasetModule):
    """UTD-MHAD's RGB clips; labels ``actor`` and ``action``.

    Args:
        root: the folder of the RGB videos (or the folder holding ``RGB/``, or onestyle's).
        test_subjects: the target subject of each of the 27 actions (default: the rotation).
        **kwargs: :class:`~stylevideo.data_modules.layouts.DatasetModule`'s arguments.
    """

    layout = (
        "UTD-MHAD RGB videos named a<action>_s<subject>_t<trial>_color.avi (RGB.zip extracted) "
        "or frame folders of that name, e.g. onestyle's train/a1/a1_s2_t1_color/ and "
        "val/a1_s1_t1_color/"
    )

    def __init__(self, root: str | None = None, test_subjects: Sequence[int] | None = None, **kwargs):
        if test_subjects is None:
            test_subjects = [(k - 1) % NUM_SUBJECTS + 1 for k in range(1, NUM_ACTIONS + 1)]
        if len(test_subjects) != NUM_ACTIONS or not all(1 <= s <= NUM_SUBJECTS for s in test_subjects):
            raise ValueError(
                f"test_subjects needs one subject (1-{NUM_SUBJECTS}) per action "
                f"({NUM_ACTIONS} values), got {list(test_subjects)}"
            )
        super().__init__(root, **kwargs)
        self.test_subjects = tuple(int(s) for s in test_subjects)

    def find_clips(self) -> list[ClipRecord]:
        records = []
        for path, match in find_named_clips(self.root, _NAME):
            action, subject, _ = (int(g) for g in match.groups())
            if not (1 <= action <= NUM_ACTIONS and 1 <= subject <= NUM_SUBJECTS):
                raise ValueError(
                    f"{path}: action {action} / subject {subject} out of range (expected "
                    f"a1-a{NUM_ACTIONS}, s1-s{NUM_SUBJECTS})"
                )
            top = path.relative_to(self.root).parts[0]
            if top in _SPLIT_FOLDERS:
                split = _SPLIT_FOLDERS[top]
            else:
                split = "test" if self.test_subjects[action - 1] == subject else "train"
            labels = {"actor": f"s{subject}", "action": f"a{action:02d}"}
            records.append(ClipRecord(path, None, self.video_id(path), labels, split))
        return records
