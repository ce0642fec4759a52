"""RAVDESS (Livingstone & Russo, 2018) with onestyle's or vidstyleode's split, and actor texts.

Accepts RAVDESS's video release as published (the ``Video_Speech_Actor_XX`` /
``Video_Song_Actor_XX`` zips extracted: ``Actor_01/01-01-03-02-01-01-01.mp4``) and the
frame-folder form onestyle uses (``Actor_01/02-01-03-02-01-01-01/frame0000.jpg``), also after
``stylevideo.video.preprocess.face_align`` (which keeps the names). A name is
``modality-channel-emotion-intensity-statement-repetition-actor``: modality 01 audio-video,
02 video-only (the same video; one copy per recording is kept, video-only first), 03
audio-only (no video; ignored); channel 01 speech, 02 song.

Labels: ``actor`` (``Actor_01`` ...), ``emotion`` (8), ``intensity`` (normal, strong),
``statement`` (kids: "Kids are talking by the door", dogs: "Dogs are sitting by the door").

Splits (``split_protocol``):

- ``"onestyle"`` (onestyle 4.1): "we exclude sequences of 7 different emotions for four
  individuals". The paper names neither; by choice the four are ``test_actors`` (default
  21-24: two men, two women) and the emotion kept for training is ``train_emotion``
  (default neutral), so those actors are seen in training and their other 7 emotions test.
- ``"vidstyleode"`` (vidstyleode 4): a random 80/20 split. The authors' lists
  (``data/ravdess/action_{train,test}.txt``) hold exactly 20% of each actor's clips in test, so
  the draw is per actor (seeded by ``split_seed``). Their lists count both modality copies of
  a recording; here each recording is one clip, so no recording is in both splits.

Text (vidstyleode 4: "we annotated each actor according to gender, hairstyle, hair color, and
eye color, and procedurally generated target descriptions"): the annotations are not public,
so the module reads them from ``descriptions_file``, a CSV with columns ``actor``, ``gender``,
``hair_style``, ``hair_color``, ``eye_color`` (or ``description``), filled into
``description_template``; batches then hold ``text``. Write a template with the genders
filled in (RAVDESS: odd actors are men, even actors women) and annotate the rest::

    python -m stylevideo.data_modules.ravdess ROOT descriptions.csv
"""

from __future__ import annotations

import argparse
import csv
import re
import string
from collections.abc import Sequence
from pathlib import Path

from stylevideo.data_modules.base import ClipRecord
from stylevideo.data_modules.layouts import DatasetModule, clip_name, list_clips, random_split

__all__ = [
    "ATTRIBUTES",
    "DEFAULT_TEMPLATE",
    "EMOTIONS",
    "RAVDESSDataModule",
    "read_descriptions",
    "write_descriptions_template",
]

EMOTIONS = ("neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised")
INTENSITIES = ("normal", "strong")
STATEMENTS = ("kids", "dogs")
CHANNELS = ("speech", "song")
SPLIT_PROTOCOLS = ("onestyle", "vidstyleode")
ATTRIBUTES = ("gender", "hair_style", "hair_color", "eye_color")
DEFAULT_TEMPLATE = "a {gender} with {hair_style} {hair_color} hair and {eye_color} eyes"

_NAME = re.compile(r"(0[1-3])-(0[12])-(0[1-8])-(0[12])-(0[12])-(0[12])-(\d{2})")
_ACTOR = re.compile(r"Actor_(\d{2})")


def read_descriptions(path: str | Path, template: str = DEFAULT_TEMPLATE) -> dict[str, str]:
    """``{actor: description}`` from a descriptions CSV (see the module docstring)."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"descriptions file {path} does not exist")
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        columns, rows = set(reader.fieldnames or ()), list(reader)
    fields = [name for _, name, _, _ in string.Formatter().parse(template) if name]
    if "actor" not in columns or ("description" not in columns and set(fields) - columns):
        raise ValueError(
            f"{path} has the columns {sorted(columns)}; expected 'actor' and 'description' or the template's {fields}"
        )
    out = {}
    for line, row in enumerate(rows, start=2):
        row = {k: (v or "").strip() for k, v in row.items()}
        if row.get("description"):
            text = row["description"]
        else:
            empty = [name for name in fields if not row.get(name)]
            if empty:
                raise ValueError(
                    f"{path} line {line}: {row['actor'] or 'the actor'} has no "
                    f"{', '.join(empty)} (annotate the template written by "
                    "`python -m stylevideo.data_modules.ravdess`)"
                )
            text = template.format(**row)
        if out.setdefault(row["actor"], text) != text:
            raise ValueError(f"{path} line {line}: a second description of {row['actor']}")
    return out


def write_descriptions_template(actors: Sequence[str], path: str | Path) -> Path:
    """A descriptions CSV for ``actors`` with ``gender`` filled in and the rest to annotate."""
    path = Path(path)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["actor", *ATTRIBUTES])
        for actor in sorted(actors):
            number = int(_ACTOR.fullmatch(actor).group(1))
            writer.writerow([actor, "man" if number % 2 else "woman", "", "", ""])
    return path


class RAVDESSDataModule(DatasetModule):
    """RAVDESS videos; labels ``actor``, ``emotion``, ``intensity``, ``statement``.

    Args:
        root: the folder holding ``Actor_01`` ... ``Actor_24``.
        split_protocol: ``"onestyle"`` or ``"vidstyleode"`` (see the module docstring).
        channels: ``"speech"`` and/or ``"song"``.
        test_actors: onestyle's held-out actors (numbers).
        train_emotion: the one emotion of ``test_actors`` that trains (onestyle).
        test_fraction: vidstyleode's test share per actor.
        split_seed: the seed of vidstyleode's random split.
        descriptions_file: the actor descriptions CSV (adds the batch key ``text``).
        description_template: fills a row's attributes into a description.
        **kwargs: :class:`~stylevideo.data_modules.layouts.DatasetModule`'s arguments.
    """

    layout = (
        "RAVDESS: Actor_01 ... Actor_24 folders holding videos or frame folders named "
        "modality-channel-emotion-intensity-statement-repetition-actor (e.g. "
        "Actor_01/02-01-03-02-01-01-01.mp4)"
    )

    def __init__(
        self,
        root: str | None = None,
        split_protocol: str = "onestyle",
        channels: Sequence[str] = ("speech",),
        test_actors: Sequence[int] = (21, 22, 23, 24),
        train_emotion: str = "neutral",
        test_fraction: float = 0.2,
        split_seed: int = 0,
        descriptions_file: str | None = None,
        description_template: str = DEFAULT_TEMPLATE,
        **kwargs,
    ):
        if split_protocol not in SPLIT_PROTOCOLS:
            raise ValueError(f"split_protocol must be one of {SPLIT_PROTOCOLS}, got {split_protocol!r}")
        if not channels or set(channels) - set(CHANNELS):
            raise ValueError(f"channels must be among {CHANNELS}, got {channels!r}")
        if train_emotion not in EMOTIONS:
            raise ValueError(f"train_emotion must be one of {EMOTIONS}, got {train_emotion!r}")
        super().__init__(root, **kwargs)
        self.split_protocol, self.channels = split_protocol, tuple(channels)
        self.test_actors = frozenset(f"Actor_{int(a):02d}" for a in test_actors)
        self.train_emotion, self.test_fraction = train_emotion, test_fraction
        self.split_seed = split_seed
        self.descriptions_file, self.description_template = descriptions_file, description_template

    def _recordings(self) -> dict[str, tuple[Path, tuple[str, ...]]]:
        """``{recording: (clip, name fields)}``, one clip per recording (video-only first)."""
        folders = [p for p in sorted(self.root.iterdir()) if _ACTOR.fullmatch(p.name)]
        if not folders:
            raise self.layout_error("no Actor_XX folder")
        found = {}
        for folder in folders:
            for path in list_clips(folder):
                match = _NAME.fullmatch(clip_name(path))
                if not match:
                    raise ValueError(
                        f"{path}: the name does not parse as modality-channel-emotion-"
                        "intensity-statement-repetition-actor (e.g. 02-01-03-02-01-01-01)"
                    )
                fields = match.groups()
                if f"Actor_{fields[6]}" != folder.name:
                    raise ValueError(f"{path}: actor {fields[6]} in the folder of {folder.name}")
                if CHANNELS[int(fields[1]) - 1] not in self.channels or fields[0] == "03":
                    continue
                key = "-".join(fields[1:])
                if key not in found or fields[0] == "02":
                    found[key] = (path, fields)
        return found

    def find_clips(self) -> list[ClipRecord]:
        records = []
        for path, fields in self._recordings().values():
            _, _, emotion, intensity, statement, _, actor = fields
            labels = {
                "actor": f"Actor_{actor}",
                "emotion": EMOTIONS[int(emotion) - 1],
                "intensity": INTENSITIES[int(intensity) - 1],
                "statement": STATEMENTS[int(statement) - 1],
            }
            held_out = labels["actor"] in self.test_actors and labels["emotion"] != self.train_emotion
            records.append(
                ClipRecord(
                    path,
                    None,
                    self.video_id(path),
                    labels=labels,
                    split="test" if held_out else "train",
                )
            )
        if self.split_protocol == "vidstyleode":
            actor = {r.video_id: r.labels["actor"] for r in records}
            test = random_split(actor, self.test_fraction, self.split_seed, group=actor)
            for record in records:
                record.split = "test" if record.video_id in test else "train"
        if self.descriptions_file is not None:
            by_actor = read_descriptions(self.descriptions_file, self.description_template)
            missing = sorted({r.labels["actor"] for r in records} - set(by_actor))
            if missing:
                raise ValueError(f"{self.descriptions_file} describes no {', '.join(missing)}")
            self._texts = {r.video_id: by_actor[r.labels["actor"]] for r in records}
        return records


def main(argv: list[str] | None = None) -> None:
    """``python -m stylevideo.data_modules.ravdess ROOT OUT.csv``: a descriptions template."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("root", type=Path, help="the RAVDESS folder (holding Actor_XX folders)")
    parser.add_argument("out", type=Path, help="the CSV to write")
    args = parser.parse_args(argv)
    actors = [p.name for p in sorted(args.root.iterdir()) if _ACTOR.fullmatch(p.name)]
    if not actors:
        parser.error(f"{args.root} holds no Actor_XX folder")
    write_descriptions_template(actors, args.out)
    print(f"wrote {args.out}: {len(actors)} actors; fill in {', '.join(ATTRIBUTES[1:])}")


if __name__ == "__main__":
    main()
