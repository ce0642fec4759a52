"""Preprocessing scripts: the FaceForensics mask crop (Algorithm 1) on synthetic masks, and the
FFHQ face alignment with jittered-box landmarks (geometry on a real still; dlib on a real
VoxCeleb clip)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from stylevideo.data_modules.faceforensics import FaceForensicsDataModule
from stylevideo.video.io import read_frames, write_video
from stylevideo.video.preprocess import face_align, mask_crop
from stylevideo.video.preprocess.common import find_videos, output_path
from stylevideo.video.preprocess.face_align import (
    JitteredLandmarks,
    align_face,
    align_video,
    ffhq_quad,
)
from stylevideo.video.preprocess.mask_crop import crop_square, mask_box, square_box

FACE, BACKGROUND = (200, 40, 40), (60, 60, 60)


def _mask(h, w, box, inverted=False, noise=0):
    x0, y0, x1, y1 = box
    mask = np.zeros((h, w, 3), np.int16)
    mask[y0:y1, x0:x1] = 255
    mask += np.random.default_rng(0).integers(-noise, noise + 1, mask.shape, dtype=np.int16)
    mask = np.clip(mask, 0, 255).astype(np.uint8)
    return 255 - mask if inverted else mask


def test_mask_box_finds_the_face_region_whatever_the_polarity():
    for inverted in (False, True):
        assert mask_box(_mask(48, 64, (10, 5, 30, 45), inverted, noise=12)) == (10, 5, 30, 45)
    assert mask_box(_mask(48, 64, (0, 0, 0, 0))) is None
    assert mask_box(_mask(48, 64, (10, 5, 30, 45))[..., 0]) == (10, 5, 30, 45)  # one channel


def test_square_box_is_algorithm_1():
    assert square_box((10, 5, 30, 45)) == (0, 5, 40, 45)  # w < h: widened by (h - w) / 2 a side
    assert square_box((10, 20, 50, 30)) == (10, 5, 50, 45)  # w > h: heightened
    assert square_box((10, 20, 15, 22)) == (10, 19, 15, 24)  # odd difference: extra at the far side
    assert square_box((3, 4, 13, 14)) == (3, 4, 13, 14)


def test_crop_square_zero_pads_outside_the_frame():
    frame = np.full((20, 20, 3), 100, np.uint8)
    crop = crop_square(frame, (-10, 0, 10, 20), size=20)
    assert crop.shape == (20, 20, 3)
    assert crop[:, :8].max() == 0 and crop[:, 12:].min() == 100


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    """FaceForensics' layout with one synthetic video: a wide face rectangle moving right, its
    mask white on black; the mask of frame 2 shows no face."""
    src = tmp_path_factory.mktemp("faceforensics")
    frames, masks = [], []
    for t in range(5):
        box = (8 + 4 * t, 20, 40 + 4 * t, 36)  # 32 x 16
        frame = np.full((64, 96, 3), BACKGROUND, np.uint8)
        frame[box[1] : box[3], box[0] : box[2]] = FACE
        frames.append(frame)
        masks.append(_mask(64, 96, (0, 0, 0, 0) if t == 2 else box))
    write_video(src / "train" / "original" / "000_003.mp4", np.stack(frames), crf=0)
    write_video(src / "train" / "mask" / "000_003.mp4", np.stack(masks), crf=0)
    return src


def test_mask_crop_command_crops_every_frame_square_around_its_face(release, tmp_path, capsys):
    out = tmp_path / "ffs"
    mask_crop.main([str(release), str(out), "--size", "32"])
    files = sorted((out / "000_003").iterdir())
    assert [f.name for f in files] == [f"{i:06d}.jpg" for i in range(5)]
    for i, file in enumerate(files):
        crop = np.asarray(Image.open(file)).astype(int)
        assert crop.shape == (32, 32, 3)
        # the 32 x 16 face fills the square's width and its middle half of rows; frame 2's mask
        # is empty, so it takes frame 1's square, where its face sits 4 pixels further right
        left = 6 if i == 2 else 2
        assert np.abs(crop[10:22, left:30] - FACE).max() < 40
        assert (np.abs(crop[10:22, :2] - BACKGROUND).max() < 40) == (i == 2)
        assert np.abs(crop[:6] - BACKGROUND).max() < 40 and np.abs(crop[-6:] - BACKGROUND).max() < 40
    assert "000_003.mp4: 5 frames" in capsys.readouterr().err
    mask_crop.main([str(release), str(out), "--size", "32"])  # done already: skipped
    assert "cropping 0 videos" in capsys.readouterr().err
    assert FaceForensicsDataModule(str(out), cache_dir=str(tmp_path / "c")).index()[0].num_frames == 5

    wide = tmp_path / "wide"
    mask_crop.main([str(release), str(wide), "--size", "32", "--wide", "--format", "png"])
    crops = [np.asarray(Image.open(f)).astype(int) for f in sorted((wide / "000_003").iterdir())]
    faces = [np.flatnonzero(np.abs(c[16] - FACE).max(axis=1) < 40) for c in crops]
    assert faces[0][0] < 3 and faces[-1][-1] > 28 and faces[0][-1] < faces[-1][-1] - 5  # moves
    with pytest.raises(FileNotFoundError, match="expected .*val/original"):
        mask_crop.main([str(release), str(tmp_path / "x"), "--split", "val"])


def test_find_videos_matches_paths_below_the_root_and_outputs_mirror_them(tmp_path):
    for rel in ("M003/video/front/angry/level_1/001.mp4", "M003/video/left_30/sad/level_1/001.mp4",
                "M003/audio/front/angry/level_1/001.m4a"):  # fmt: skip
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).touch()
    front = find_videos(tmp_path, "*/front/*")
    assert [p.relative_to(tmp_path).as_posix() for p in front] == ["M003/video/front/angry/level_1/001.mp4"]
    assert len(find_videos(tmp_path)) == 2 and find_videos(front[0]) == front
    out = tmp_path / "aligned"
    assert output_path(front[0], tmp_path, out, "jpg") == out / "M003/video/front/angry/level_1/001"
    assert output_path(front[0], front[0], out, "mp4") == out / "001.mp4"


def _face_landmarks(cx=128.0, cy=120.0, eye=40.0, mouth=60.0):
    """68 points with the eyes and mouth corners of an upright face (the rest at the centre)."""
    points = np.tile([cx, cy], (68, 1))
    points[36:42] = [cx - eye / 2, cy]
    points[42:48] = [cx + eye / 2, cy]
    points[48], points[54] = [cx - 15, cy + mouth], [cx + 15, cy + mouth]
    return points


def _similarity(angle, scale, center):
    c, s = scale * np.cos(angle), scale * np.sin(angle)
    rotation = np.array([[c, -s], [s, c]])
    return np.hstack([rotation, (center - rotation @ center)[:, None]])


def test_ffhq_quad_is_a_square_that_turns_and_scales_with_the_face():
    lm = _face_landmarks()
    quad = ffhq_quad(lm)
    sides = np.roll(quad, -1, axis=0) - quad
    # side = 2 max(2 |eye to eye|, 1.8 |eye to mouth|) = 2 max(80, 108)
    np.testing.assert_allclose(np.linalg.norm(sides, axis=1), [216.0] * 4)
    assert abs(np.dot(sides[0], sides[1])) < 1e-9
    np.testing.assert_allclose(quad.mean(axis=0), [128, 120 + 6])  # eyes + eye_to_mouth / 10
    lm[36:48, 0] = np.where(np.arange(36, 48) < 42, 78.0, 178.0)  # eyes 100 apart: 2 * 2 * 100
    np.testing.assert_allclose(np.linalg.norm(np.diff(ffhq_quad(lm), axis=0), axis=1), [400] * 3)
    lm = _face_landmarks()
    m = _similarity(0.3, 1.4, np.array([100.0, 90.0]))
    moved = lm @ m[:, :2].T + m[:, 2]
    np.testing.assert_allclose(ffhq_quad(moved), quad @ m[:, :2].T + m[:, 2], atol=1e-9)


def test_alignment_undoes_a_rotation_and_scale_of_a_real_face(real_data):
    import cv2

    image = np.asarray(Image.open(real_data / "voxceleb" / "source_a.png").convert("RGB"))
    lm = _face_landmarks()
    m = _similarity(0.35, 0.8, np.array([128.0, 128.0]))
    turned = cv2.warpAffine(image, m, (256, 256), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    reference = align_face(image, ffhq_quad(lm), 64).astype(int)
    aligned = align_face(turned, ffhq_quad(lm @ m[:, :2].T + m[:, 2]), 64).astype(int)
    unaligned = align_face(turned, ffhq_quad(lm), 64).astype(int)
    assert np.abs(aligned - reference)[8:-8, 8:-8].mean() < 6
    assert np.abs(unaligned - reference)[8:-8, 8:-8].mean() > 3 * np.abs(aligned - reference)[8:-8, 8:-8].mean()


def test_jittered_landmarks_average_predictions_in_shifted_boxes():
    seen = []

    def predict(frame, box):
        seen.append(box)
        return np.tile([box[0], box[1]], (68, 1)).astype(float)

    box = (100.0, 50.0, 200.0, 150.0)
    landmarks = JitteredLandmarks(predict, jitters=16, shift=0.1)
    points = landmarks(None, box, np.random.default_rng(0))
    assert len(seen) == 17 and seen[0] == box
    shifts = np.array([(b[0] - box[0], b[1] - box[1]) for b in seen[1:]])
    assert np.all(np.linalg.norm(shifts, axis=1) <= 10.0) and np.linalg.norm(shifts, axis=1).max() > 5
    assert np.allclose([(b[2] - b[0], b[3] - b[1]) for b in seen], 100)  # shifted, not resized
    angles = np.arctan2(shifts[:, 1], shifts[:, 0])
    assert np.ptp(angles) > np.pi  # all around the box
    np.testing.assert_allclose(points[0], np.mean([(b[0], b[1]) for b in seen], axis=0))
    again = JitteredLandmarks(predict, jitters=16, shift=0.1)(None, box, np.random.default_rng(0))
    np.testing.assert_array_equal(points, again)
    seen.clear()
    JitteredLandmarks(predict, jitters=0)(None, box, np.random.default_rng(0))
    assert seen == [box]


def test_align_video_gives_a_missed_frame_the_nearest_box():
    frames = [np.full((64, 64, 3), i * 40, np.uint8) for i in range(5)]
    found = {1: (16.0, 16.0, 48.0, 48.0), 4: (20.0, 16.0, 52.0, 48.0)}
    used = []

    def predict(frame, box):
        used.append((int(frame[0, 0, 0]) // 40, box))
        return _face_landmarks(cx=(box[0] + box[2]) / 2, cy=28.0, eye=12.0, mouth=12.0)

    out, misses = align_video(
        lambda: iter(frames),
        lambda f: found.get(int(f[0, 0, 0]) // 40),
        JitteredLandmarks(predict, 0),
        32,
    )
    assert misses == 3 and len(out) == 5 and out[0].shape == (32, 32, 3)
    assert [box for _, box in used] == [found[1], found[1], found[1], found[4], found[4]]
    assert [int(o[16, 16, 0]) for o in out] == [0, 40, 80, 120, 160]  # each frame its own pixels
    with pytest.raises(ValueError, match="no face found"):
        align_video(lambda: iter(frames), lambda f: None, JitteredLandmarks(predict, 0), 32)


def test_dlib_alignment_of_a_real_voxceleb_clip(real_data, tmp_path, capsys):
    pytest.importorskip("dlib", reason="the face extra (dlib) is not installed")
    clip = real_data / "voxceleb" / "talking_b.mp4"
    frames = read_frames(clip, range(6)).numpy()
    dlib_faces = face_align.DlibLandmarks(upsample=0)  # faces of ~150 px in 256 x 256 frames
    landmarks = JitteredLandmarks(dlib_faces.predict, jitters=4)
    out, misses = align_video(lambda: iter(frames), dlib_faces.detect, landmarks, size=128)
    assert misses == 0 and len(out) == 6
    corners = np.array([[-0.5, -0.5], [-0.5, 127.5], [127.5, 127.5], [127.5, -0.5]])
    for aligned in out[::2]:  # aligning an aligned face changes (almost) nothing
        box = dlib_faces.detect(aligned)
        assert box is not None
        quad = ffhq_quad(landmarks(aligned, box, np.random.default_rng(0)))
        assert np.abs(quad - corners).max() < 0.08 * 128
    src = tmp_path / "src" / "id10001"
    src.mkdir(parents=True)
    write_video(src / "clip.mp4", frames[:3], fps=25)
    face_align.main(
        [
            str(tmp_path / "src"),
            str(tmp_path / "out"),
            "--size",
            "64",
            "--jitters",
            "2",
            "--upsample",
            "0",
        ]
    )
    assert len(list((tmp_path / "out" / "id10001" / "clip").iterdir())) == 3
    assert "no face detected in 0" in capsys.readouterr().err
