"""The synthetic dataset: deterministic, decodable, labelled, with a mouth polygon that fits."""

from __future__ import annotations

import json

import cv2
import decord
import numpy as np
import pytest

from stylevideo.video.io import read_frames
from stylevideo.video.synthetic import (
    LABEL_COLUMNS,
    MOUTH_POINTS,
    generate_synthetic_dataset,
    main,
    read_labels,
    read_marker,
)

TINY = dict(
    num_actors=2,
    actions=("talk", "sway"),
    clips_per_pair=1,
    min_frames=6,
    max_frames=9,
    resolution=32,
)


def _area(polygon):
    """Signed shoelace area (positive: clockwise on screen, y pointing down)."""
    x, y = polygon[..., 0], polygon[..., 1]
    return 0.5 * (x * np.roll(y, -1, -1) - np.roll(x, -1, -1) * y).sum(-1)


def _decoded(root, row):
    return read_frames(root / row["path"], range(row["num_frames"])).numpy()


def test_same_seed_same_bytes_and_pixels_other_seed_differs(tmp_path):
    a = generate_synthetic_dataset(tmp_path / "a", seed=3, **TINY)
    b = generate_synthetic_dataset(tmp_path / "b", seed=3, **TINY)
    c = generate_synthetic_dataset(tmp_path / "c", seed=4, **TINY)
    assert (a / "labels.csv").read_bytes() == (b / "labels.csv").read_bytes()
    rows = read_labels(a)
    for row in rows:
        assert (a / row["mouth"]).read_bytes() == (b / row["mouth"]).read_bytes()
        # equal bytes rule out the encoder; equal pixels then test the decoder
        assert (a / row["path"]).read_bytes() == (b / row["path"]).read_bytes(), row["path"]
        np.testing.assert_array_equal(_decoded(a, row), _decoded(b, row))
    assert (a / "labels.csv").read_bytes() != (c / "labels.csv").read_bytes()
    first = rows[0]["path"]
    assert not np.array_equal(read_frames(a / first, [0]), read_frames(c / first, [0]))


def test_files_decode_with_decord_at_the_labelled_count_size_and_rate(synthetic_root):
    rows = read_labels(synthetic_root)
    assert len(rows) == 3 * 3 * 3
    for row in rows:
        reader = decord.VideoReader(str(synthetic_root / row["path"]), num_threads=1)
        assert len(reader) == row["num_frames"] and 12 <= row["num_frames"] <= 24
        assert reader[0].shape == (32, 32, 3) == (row["height"], row["width"], 3)
        assert reader.get_avg_fps() == pytest.approx(row["fps"]) == 25


def test_labels_round_trip_and_identities(synthetic_root):
    rows = read_labels(synthetic_root)
    with open(synthetic_root / "labels.csv") as f:
        assert tuple(f.readline().strip().split(",")) == LABEL_COLUMNS
    assert {(r["actor"], r["action"], r["clip"]) for r in rows} == {
        (f"actor{a:02d}", action, clip) for a in range(3) for action in ("talk", "nod", "smile") for clip in range(3)
    }
    looks = {}
    for r in rows:
        assert r["path"] == f"{r['actor']}/{r['action']}/{r['clip']:03d}.mp4"
        assert (synthetic_root / r["path"]).is_file() and (synthetic_root / r["mouth"]).is_file()
        attributes = (r["gender"], r["skin"], r["hair_color"], r["hair_style"], r["eye_color"])
        assert looks.setdefault(r["actor"], attributes) == attributes  # one look per actor
        assert r["gender"] in ("female", "male") and r["hair_style"] in (
            "short",
            "long",
            "bald",
            "bangs",
        )
    assert len(set(looks.values())) == 3  # actors look different


def test_identity_is_appearance_action_is_motion(synthetic_root):
    """First frames: the same actor in two actions look alike; two actors do not."""
    first = {
        (r["actor"], r["action"]): _decoded(synthetic_root, r)[0].astype(float)
        for r in read_labels(synthetic_root)
        if r["clip"] == 0
    }
    same = max(np.abs(first[a, "talk"] - first[a, "nod"]).mean() for a in ("actor00", "actor01", "actor02"))
    other = min(
        np.abs(first[a, "talk"] - first[b, "talk"]).mean()
        for a, b in [("actor00", "actor01"), ("actor00", "actor02"), ("actor01", "actor02")]
    )
    assert other > 3 * same


def test_mouth_polygon_shape_order_and_bounds(synthetic_root):
    for r in read_labels(synthetic_root):
        polygon = np.load(synthetic_root / r["mouth"])
        assert polygon.dtype == np.float32 and polygon.shape == (r["num_frames"], MOUTH_POINTS, 2)
        assert polygon.min() >= 0 and polygon.max() <= 32
        assert np.all(_area(polygon) > 0)  # clockwise on screen
        # point 0 is the left corner, point P/2 the right corner: the widest pair
        corners = polygon[:, MOUTH_POINTS // 2] - polygon[:, 0]
        assert np.all(corners[:, 0] > 0.9 * (polygon[..., 0].max(1) - polygon[..., 0].min(1)))


def _lip_iou(frame, polygon, shift):
    """IoU of the (shifted) polygon with the pixels near the mouth that are not skin-coloured."""
    inside = np.zeros(frame.shape[:2], np.uint8)
    cv2.fillPoly(inside, [np.round((polygon + shift) * 16).astype(np.int32)], 1, shift=4)
    (x0, y0), (x1, y1) = (
        np.floor(polygon.min(0)).astype(int) - 4,
        np.ceil(polygon.max(0)).astype(int) + 4,
    )
    window = frame[y0:y1, x0:x1]
    skin = np.median(window.reshape(-1, 3), axis=0)  # the mouth's surroundings are mostly skin
    not_skin = np.zeros(inside.shape, bool)
    not_skin[y0:y1, x0:x1] = np.linalg.norm(window - skin, axis=-1) > 30
    return (not_skin & (inside > 0)).sum() / (not_skin | (inside > 0)).sum()


def test_mouth_polygon_outlines_the_drawn_lips(tmp_path):
    """The polygon fits the drawn lips better than the same polygon moved by 3 pixels."""
    root = generate_synthetic_dataset(
        tmp_path,
        num_actors=3,
        actions=("talk", "smile"),
        clips_per_pair=1,
        min_frames=8,
        max_frames=8,
        resolution=64,
    )
    shifts = np.array([(0, 0), (0, 3), (0, -3), (3, 0), (-3, 0)], dtype=np.float32)
    ious = []
    for r in read_labels(root):
        frames, polygons = _decoded(root, r).astype(float), np.load(root / r["mouth"])
        ious += [[_lip_iou(f, p, s) for s in shifts] for f, p in zip(frames, polygons, strict=True)]
    mean = np.mean(ious, axis=0)
    assert mean[0] > 0.4 and np.all(mean[0] > 1.15 * mean[1:]), mean


def test_feature_window_holds_every_feature(monkeypatch):
    """Drawing the face features only inside their window changes no pixel."""
    from stylevideo.video import synthetic

    clips = [
        (actor, synthetic._motion(action, 30, 25, np.random.default_rng(i)))
        for i, actor in enumerate(synthetic._make_actors(6, seed=5))
        for action in synthetic.ACTIONS
    ]
    windowed = [synthetic._render(actor, motion, 48)[0] for actor, motion in clips]
    monkeypatch.setattr(synthetic, "_feature_window", lambda *args: (slice(None), slice(None)))
    for (actor, motion), frames in zip(clips, windowed, strict=True):
        np.testing.assert_array_equal(synthetic._render(actor, motion, 48)[0], frames)


def test_actions_differ_in_motion(synthetic_root):
    """talk: the mouth area varies; nod: the mouth bobs at a fixed area; smile: it widens."""
    stats = {}
    for r in read_labels(synthetic_root):
        polygon = np.load(synthetic_root / r["mouth"])
        area = _area(polygon)
        stats[r["actor"], r["action"], r["clip"]] = dict(
            area_cv=area.std() / area.mean(),
            bob=polygon[..., 1].mean(1).std(),
            width=(polygon[..., 0].max(1) - polygon[..., 0].min(1)).max(),
        )
    for (actor, action, clip), s in stats.items():
        if action == "talk":
            assert s["area_cv"] > 0.2 and s["bob"] < 0.2
        elif action == "nod":
            assert s["area_cv"] < 0.02 and s["bob"] > 0.5
        else:
            assert s["width"] > 1.1 * stats[actor, "nod", clip]["width"]


def test_complete_marker_skip_and_regenerate(tmp_path):
    root = generate_synthetic_dataset(tmp_path, seed=1, **TINY)
    marker = json.loads((root / ".complete").read_text())
    assert marker["params"] == read_marker(root) and marker["params"]["seed"] == 1
    video = root / read_labels(root)[0]["path"]
    video.write_bytes(video.read_bytes()[:100])  # damaged, but the folder claims to be complete
    generate_synthetic_dataset(root, seed=1, **TINY)
    assert video.stat().st_size == 100  # complete with the same parameters: trusted, untouched
    (root / ".complete").unlink()  # a half-written folder ...
    generate_synthetic_dataset(root, seed=1, **TINY)  # ... is regenerated, not trusted
    assert read_marker(root) == marker["params"]
    assert read_frames(video, [0]).shape == (1, 32, 32, 3)


def test_cli_and_bad_arguments(tmp_path, capsys):
    main(
        [
            str(tmp_path),
            "--num-actors",
            "1",
            "--actions",
            "nod",
            "--clips-per-pair",
            "2",
            "--min-frames",
            "5",
            "--max-frames",
            "5",
            "--resolution",
            "32",
        ]
    )
    assert "2 clips" in capsys.readouterr().out
    assert [r["num_frames"] for r in read_labels(tmp_path)] == [5, 5]
    with pytest.raises(ValueError, match="actions must be distinct names"):
        generate_synthetic_dataset(tmp_path / "x", actions=("dance",))
    with pytest.raises(ValueError, match="min_frames <= max_frames"):
        generate_synthetic_dataset(tmp_path / "x", min_frames=10, max_frames=5)


def test_read_labels_rejects_bad_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="labels.csv does not exist"):
        read_labels(tmp_path)
    (tmp_path / "labels.csv").write_text("path,actor\nx.mp4,a\n")
    with pytest.raises(ValueError, match="lacks the columns"):
        read_labels(tmp_path)
    row = dict.fromkeys(LABEL_COLUMNS, "1") | {"num_frames": "many"}
    (tmp_path / "labels.csv").write_text(",".join(LABEL_COLUMNS) + "\n" + ",".join(row.values()) + "\n")
    with pytest.raises(ValueError, match="line 2 does not parse"):
        read_labels(tmp_path)
