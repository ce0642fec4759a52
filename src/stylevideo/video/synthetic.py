"""The embedded synthetic dataset: procedurally drawn talking heads with known ground truth.

``generate_synthetic_dataset(root)`` (or ``python -m stylevideo.video.synthetic ROOT``) writes
real H.264 mp4 files of cartoon heads: several **actor identities** that differ in
appearance (face shape and size, skin, hair style and colour, eye colour, clothes,
background) times several **action classes** that differ in motion:

- ``talk``: the mouth opens and closes at a syllable rhythm (about 3.5 Hz);
- ``smile``: the mouth widens, its corners rise, teeth show and the eyes narrow;
- ``nod``: the head nods up and down (about 1.6 Hz);
- ``sway``: the head sways sideways and tilts (about 0.8 Hz);
- ``blink``: frequent blinks (about 2 Hz; every other class blinks about every 3 s).

Every clip has its own length, speed, phase and amplitude jitter. Layout::

    root/labels.csv                         one row per clip (columns: LABEL_COLUMNS)
    root/<actor>/<action>/<clip:03d>.mp4
    root/<actor>/<action>/<clip:03d>.mouth.npy
    root/.complete                          the generator parameters, written last

``*.mouth.npy`` is the ground-truth outer lip polygon of every frame, float32 ``[T, P, 2]``
(``P = MOUTH_POINTS``) of ``(x, y)`` pixel coordinates: origin at the top-left corner of
the frame, pixel ``i`` spans ``[i, i + 1)`` (so resizing the frame by ``s`` scales the
coordinates by ``s``). Point order: clockwise on screen, starting at the left mouth corner
(image left), along the upper lip to the right corner, then back along the lower lip.

Everything is a function of the parameters: the same seed gives identical labels,
polygons, mp4 bytes (on any machine: see ``write_video``) and decoded pixels. Drawing
uses analytic soft masks (anti-aliased, vectorised over all frames of a clip).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io as _io
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from stylevideo.video.io import write_video

__all__ = [
    "ACTIONS",
    "LABEL_COLUMNS",
    "MOUTH_POINTS",
    "generate_synthetic_dataset",
    "params_hash",
    "read_labels",
    "read_marker",
    "synthetic_params",
]

GENERATOR_VERSION = 3  # bump whenever the output changes: caches regenerate
ACTIONS = ("talk", "smile", "nod", "sway", "blink")
# fmt: off
LABEL_COLUMNS = (
    "path", "mouth", "actor", "action", "clip", "num_frames", "fps", "width", "height",
    "gender", "skin", "hair_color", "hair_style", "eye_color",
)
_LIP_SAMPLES = 11  # points per lip curve, corners included
MOUTH_POINTS = 2 * (_LIP_SAMPLES - 1)

_SKIN = {"pale": (0.96, 0.84, 0.76), "fair": (0.92, 0.75, 0.62), "tan": (0.80, 0.60, 0.44),
         "olive": (0.70, 0.55, 0.38), "brown": (0.55, 0.38, 0.26), "dark": (0.36, 0.24, 0.17)}
_HAIR_COLOR = {"black": (0.08, 0.07, 0.07), "brown": (0.40, 0.24, 0.12),
               "blond": (0.92, 0.78, 0.42), "red": (0.72, 0.26, 0.10), "gray": (0.66, 0.66, 0.68)}
_HAIR_STYLE = ("short", "long", "bald", "bangs")
_EYE_COLOR = {"blue": (0.20, 0.45, 0.85), "brown": (0.40, 0.22, 0.08),
              "green": (0.20, 0.60, 0.30), "gray": (0.55, 0.60, 0.62)}
_BACKGROUND = ((0.22, 0.36, 0.55), (0.55, 0.62, 0.45), (0.60, 0.42, 0.48), (0.35, 0.35, 0.38),
               (0.70, 0.65, 0.50), (0.30, 0.52, 0.52), (0.48, 0.40, 0.62))
_SHIRT = ((0.80, 0.20, 0.20), (0.20, 0.30, 0.70), (0.90, 0.90, 0.88), (0.15, 0.15, 0.18),
          (0.25, 0.55, 0.30), (0.85, 0.60, 0.15))
# fmt: on


@dataclass(frozen=True)
class _Actor:
    name: str
    gender: str
    skin: str
    hair_color: str
    hair_style: str
    eye_color: str
    scale: float
    background: tuple
    shirt: tuple


def _make_actors(num_actors: int, seed: int) -> list[_Actor]:
    """Identities: attribute ``a`` of actor ``i`` is ``palette_a[perm_a[i % len(palette_a)]]``.

    The palettes have different lengths, so actors differ in several attributes at once.
    """
    rng = np.random.default_rng([seed, 0xAC7])
    palettes = dict(
        gender=("female", "male"),
        skin=tuple(_SKIN),
        hair_color=tuple(_HAIR_COLOR),
        hair_style=_HAIR_STYLE,
        eye_color=tuple(_EYE_COLOR),
        background=_BACKGROUND,
        shirt=_SHIRT,
    )
    perms = {k: rng.permutation(len(v)) for k, v in palettes.items()}
    scales = rng.uniform(0.92, 1.08, size=num_actors)
    return [
        _Actor(
            name=f"actor{i:02d}",
            scale=float(scales[i]),
            **{k: v[perms[k][i % len(v)]] for k, v in palettes.items()},
        )
        for i in range(num_actors)
    ]


def _smoothstep(x):
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def _motion(action: str, num_frames: int, fps: float, rng: np.random.Generator) -> dict:
    """Per-frame motion parameters of one clip (head pose, mouth, smile, blink), with jitter."""
    speed, amp = rng.uniform(0.8, 1.25), rng.uniform(0.8, 1.2)
    phase = rng.uniform(0, 2 * np.pi, size=3)
    tau = np.arange(num_frames, dtype=np.float64) / fps * speed
    zero = np.zeros_like(tau)
    m = dict(
        cx=0.012 * np.sin(2 * np.pi * 0.3 * tau + phase[2]),
        roll=zero.copy(),
        pitch=zero.copy(),
        open=np.full_like(tau, 0.004),
        smile=zero.copy(),
    )
    if action == "talk":
        syllables = np.maximum(np.sin(2 * np.pi * 3.5 * tau + phase[0]), 0.0)
        m["open"] = 0.004 + 0.16 * amp * syllables * (0.65 + 0.35 * np.sin(2 * np.pi * 0.9 * tau + phase[1]))
    elif action == "smile":
        m["smile"] = (
            amp * _smoothstep((tau + phase[0] / (4 * np.pi)) / 0.8) * (0.9 + 0.1 * np.sin(2 * np.pi * tau + phase[1]))
        )
        m["open"] = 0.004 + 0.05 * m["smile"]
    elif action == "nod":
        m["pitch"] = 0.06 * amp * np.sin(2 * np.pi * 1.6 * tau + phase[0])
    elif action == "sway":
        sway = np.sin(2 * np.pi * 0.8 * tau + phase[0])
        m["cx"] = m["cx"] + 0.08 * amp * sway
        m["roll"] = 0.16 * amp * sway
    elif action != "blink":
        raise ValueError(f"unknown synthetic action {action!r}; known: {', '.join(ACTIONS)}")
    rate = 2.0 if action == "blink" else 0.33
    blink_times = (np.arange(-1, tau[-1] * rate + 2) + rng.uniform(0, 1)) / rate
    m["blink"] = np.exp(-(((tau[:, None] - blink_times[None]) / 0.05) ** 2)).sum(1).clip(0, 1)
    return {k: v.astype(np.float32)[:, None, None] for k, v in m.items()}


def _alpha(d, px):
    """Anti-aliased coverage of the region ``d < 0`` (``d`` approximately a distance)."""
    return np.clip(0.5 - d / px, 0.0, 1.0)


def _paint(img, alpha, color):
    """Composite ``color`` with coverage ``alpha`` over the image ``img [3, T, R, R]``."""
    color = np.asarray(color, dtype=np.float32)
    for c in range(3):
        img[c] += alpha * (color[c] - img[c])


def _ellipse(x, y, cx, cy, rx, ry, power=2.0):
    """Signed distance to a superellipse, to first order: ``(r - 1) / |grad r|``."""
    qx, qy = np.abs((x - cx) / rx), np.abs((y - cy) / ry)
    if power == 2:
        r = np.sqrt(qx * qx + qy * qy)
        grad = np.sqrt((qx / rx) ** 2 + (qy / ry) ** 2) / np.maximum(r, 1e-6)
    else:
        a, b = qx ** (power - 1), qy ** (power - 1)
        r = (a * qx + b * qy) ** (1 / power)
        grad = np.sqrt((a / rx) ** 2 + (b / ry) ** 2) * np.maximum(r, 1e-6) ** (1 - power)
    return (r - 1) / np.maximum(grad, 1e-6)


def _lips(xn, smile, open_, lip):
    """Center line, upper and lower outer lip curves of the mouth at normalised x ``xn``."""
    arc = np.sqrt(np.clip(1 - xn * xn, 0.0, 1.0))
    center = -0.07 * smile * xn * xn
    return center, center - (lip + open_ / 2) * arc, center + (1.3 * lip + open_ / 2) * arc


def _feature_window(cx, cy, roll, fy, rx, ry, s, r):
    """Pixel (rows, cols) slices that hold the face features in every frame."""
    half_width, top, bottom = 0.38 * rx + 0.17 * s, -0.12 * ry - 0.22 * s, 0.52 * ry + 0.2 * s
    x = np.array([-half_width, half_width, -half_width, half_width])[None]  # head-local corners
    y = np.array([top, top, bottom, bottom])[None] + fy[:, 0]
    cos, sin = np.cos(roll[:, 0]), np.sin(roll[:, 0])
    u, v = cos * x - sin * y + cx[:, 0], sin * x + cos * y + cy[:, 0]  # canvas coordinates

    def pixels(a):
        a = (a + 1) / 2 * r
        return slice(max(int(np.floor(a.min())) - 2, 0), min(int(np.ceil(a.max())) + 2, r))

    return pixels(v), pixels(u)


def _render(actor: _Actor, m: dict, resolution: int) -> tuple[np.ndarray, np.ndarray]:
    """Draw one clip: uint8 frames ``[T, R, R, 3]``, mouth polygon ``[T, P, 2]`` in pixels."""
    r, px = resolution, np.float32(2.0 / resolution)
    t = m["cx"].shape[0]
    grid = (np.arange(r, dtype=np.float32) + 0.5) * px - 1
    x, y = grid[None, None, :], grid[None, :, None]
    img = np.empty((3, t, r, r), dtype=np.float32)
    img[:] = np.asarray(actor.background, dtype=np.float32)[:, None, None, None] * (1 - 0.09 * (y + 1))

    s = actor.scale * 1.2
    rx, ry = (0.37 * s, 0.52 * s) if actor.gender == "female" else (0.45 * s, 0.52 * s)
    power = 2.0 if actor.gender == "female" else 3.0  # oval vs broad, square jaw
    cx, cy, roll = m["cx"], -0.12 + m["pitch"] * 0.6, m["roll"]
    cos, sin = np.cos(roll), np.sin(roll)
    lx = cos * (x - cx) + sin * (y - cy)  # head-local coordinates (rotated by -roll)
    ly = -sin * (x - cx) + cos * (y - cy)
    fy = m["pitch"] * 0.8  # features move further than the head outline when nodding
    skin = np.asarray(_SKIN[actor.skin], dtype=np.float32)
    hair = _HAIR_COLOR[actor.hair_color]

    if actor.hair_style == "long":
        top = _ellipse(lx, ly, 0, -0.05 * ry, rx * 1.25, ry * 1.1)
        d = np.minimum(top, np.maximum(np.abs(lx) - 1.2 * rx, np.abs(ly - 0.45 * ry) - 0.55 * ry))
        _paint(img, _alpha(d, px), np.asarray(hair) * 0.85)
    _paint(img, _alpha(_ellipse(x, y, cx * 0.4, 1.12, 0.95, 0.5), px), actor.shirt)
    _paint(img, _alpha(np.maximum(np.abs(x - cx * 0.7) - 0.17 * s, cy + 0.3 - y), px), skin * 0.82)
    for side in (-1, 1):
        _paint(
            img,
            _alpha(_ellipse(lx, ly, side * rx * 0.97, 0.02, 0.09 * s, 0.14 * s), px),
            skin * 0.9,
        )
    face = _alpha(_ellipse(lx, ly, 0, 0, rx, ry, power), px)
    _paint(img, face, skin[:, None, None, None] * (1 - 0.12 * np.clip(lx / rx, -1, 1) ** 2))
    if actor.hair_style != "bald":
        hairline = {"short": -0.5, "long": -0.5, "bangs": -0.22}[actor.hair_style] * ry
        edge = ly - hairline - (0.04 * s * np.cos(lx / rx * 9) if actor.hair_style == "bangs" else 0)
        d = np.maximum(_ellipse(lx, ly, 0, -0.03 * s, rx * 1.07, ry * 1.07, power), edge)
        _paint(img, _alpha(d, px), hair)

    # the face features (brows, eyes, nose, mouth) are drawn in the window that holds them
    canvas = img
    rows, cols = _feature_window(cx, cy, roll, fy, rx, ry, s, r)
    img, lx, ly = img[:, :, rows, cols], lx[:, rows, cols], ly[:, rows, cols]
    squint = 1 - 0.35 * m["smile"]
    open_eye = (1 - m["blink"]) * squint
    ey = -0.12 * ry + fy
    for side in (-1, 1):
        ex = side * 0.38 * rx
        brow = np.maximum(np.abs(lx - ex) - 0.15 * s, np.abs(ly - (ey - 0.15 * s + 0.02 * m["smile"])) - 0.025 * s)
        _paint(img, _alpha(brow, px), np.asarray(hair) * 0.8)
        eye_height = np.maximum(0.075 * s * open_eye, px / 2)  # no thinner than half a pixel
        sclera = _alpha(_ellipse(lx, ly, ex, ey, 0.15 * s, eye_height), px)
        sclera *= np.clip(open_eye * 4, 0, 1)  # fades out as the lids close
        _paint(img, sclera, (0.96, 0.96, 0.94))
        _paint(
            img,
            sclera * _alpha(_ellipse(lx, ly, ex, ey, 0.065 * s, 0.065 * s), px),
            _EYE_COLOR[actor.eye_color],
        )
        _paint(
            img,
            sclera * _alpha(_ellipse(lx, ly, ex, ey, 0.03 * s, 0.03 * s), px),
            (0.03, 0.03, 0.03),
        )
        lash = np.maximum(np.abs(lx - ex) - 0.15 * s, np.abs(ly - ey) - 0.012 * s)
        _paint(img, _alpha(lash, px) * (1 - open_eye), (0.15, 0.1, 0.1))
    _paint(img, 0.6 * _alpha(_ellipse(lx, ly, 0, 0.16 * ry + fy, 0.06 * s, 0.12 * s), px), skin * 0.8)

    # mouth (mouth-local coordinates: mx, my; half width hw)
    hw = (0.42 + 0.14 * m["smile"]) * rx
    mouth_y = 0.52 * ry + fy
    mx, my = lx, ly - mouth_y
    xn = mx / hw
    lip = 0.045 * s
    center, upper, lower = _lips(xn, m["smile"], m["open"], lip)
    d = np.maximum(np.abs(mx) - hw, np.maximum(upper - my, my - lower))
    lip_color = skin * 0.5 + np.array([0.72, 0.1, 0.18], dtype=np.float32) * 0.5
    _paint(img, _alpha(d, px), lip_color)
    inner_top = center - m["open"] / 2 * np.sqrt(np.clip(1 - (xn / 0.85) ** 2, 0, 1))
    inner_bottom = 2 * center - inner_top
    d_inner = np.maximum(np.abs(mx) - 0.85 * hw, np.maximum(inner_top - my, my - inner_bottom))
    inner = _alpha(d_inner, px)
    _paint(img, inner, (0.25, 0.04, 0.06))
    teeth = inner * _alpha(my - (inner_top + 0.45 * (inner_bottom - inner_top)), px) * np.clip(m["smile"] * 2, 0, 1)
    _paint(img, teeth, (0.95, 0.95, 0.92))

    # the outer lip polygon: left corner -> upper lip -> right corner -> lower lip
    xs = -np.cos(np.pi * np.arange(_LIP_SAMPLES) / (_LIP_SAMPLES - 1)).astype(np.float32)
    xs = np.concatenate([xs, xs[-2:0:-1]])[None]  # [1, P]
    center, upper, lower = _lips(xs, m["smile"][:, :, 0], m["open"][:, :, 0], lip)
    poly_y = np.concatenate([upper[:, :_LIP_SAMPLES], lower[:, _LIP_SAMPLES:]], axis=1) + mouth_y[:, :, 0]
    poly_x = xs * hw[:, :, 0]
    c, sn = cos[:, :, 0], sin[:, :, 0]
    u = c * poly_x - sn * poly_y + cx[:, :, 0]  # back to canvas coordinates (rotate by +roll)
    v = sn * poly_x + c * poly_y + cy[:, :, 0]
    polygon = np.stack([(u + 1) / 2 * r, (v + 1) / 2 * r], axis=-1).astype(np.float32)
    frames = (np.clip(canvas, 0, 1) * 255 + 0.5).astype(np.uint8).transpose(1, 2, 3, 0)
    return frames, polygon


def synthetic_params(
    *,
    num_actors: int = 6,
    actions: tuple[str, ...] | list[str] = ACTIONS,
    clips_per_pair: int = 2,
    min_frames: int = 32,
    max_frames: int = 64,
    resolution: int = 64,
    fps: float = 25,
    seed: int = 0,
) -> dict:
    """The normalised generator parameters (what the ``.complete`` marker and cache hash hold)."""
    actions = tuple(actions)
    unknown = [a for a in actions if a not in ACTIONS]
    if unknown or not actions or len(set(actions)) != len(actions):
        raise ValueError(f"actions must be distinct names from {ACTIONS}, got {actions}")
    if not (1 <= min_frames <= max_frames):
        raise ValueError(f"need 1 <= min_frames <= max_frames, got {min_frames}, {max_frames}")
    if num_actors < 1 or clips_per_pair < 1 or resolution < 16 or fps <= 0:
        raise ValueError("need num_actors >= 1, clips_per_pair >= 1, resolution >= 16 and fps > 0")
    return dict(
        version=GENERATOR_VERSION,
        num_actors=int(num_actors),
        actions=list(actions),
        clips_per_pair=int(clips_per_pair),
        min_frames=int(min_frames),
        max_frames=int(max_frames),
        resolution=int(resolution),
        fps=float(fps),
        seed=int(seed),
    )


def params_hash(params: dict) -> str:
    """Short stable hash of generator parameters (the cache folder name)."""
    return hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:12]


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def read_marker(root: str | os.PathLike) -> dict | None:
    """The generator parameters of the complete dataset at ``root``, else ``None``."""
    try:
        return json.loads((Path(root) / ".complete").read_text())["params"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def generate_synthetic_dataset(
    root: str | os.PathLike,
    *,
    num_actors: int = 6,
    actions: tuple[str, ...] | list[str] = ACTIONS,
    clips_per_pair: int = 2,
    min_frames: int = 32,
    max_frames: int = 64,
    resolution: int = 64,
    fps: float = 25,
    seed: int = 0,
    force: bool = False,
) -> Path:
    """Write the synthetic dataset to ``root``.

    Nothing is done when ``root`` holds a complete dataset with these parameters (and not
    ``force``); otherwise the marker is removed first and written last.
    """
    root = Path(root)
    params = synthetic_params(
        num_actors=num_actors, actions=actions, clips_per_pair=clips_per_pair,
        min_frames=min_frames, max_frames=max_frames, resolution=resolution, fps=fps, seed=seed,
    )  # fmt: skip
    if not force and read_marker(root) == params:
        return root
    root.mkdir(parents=True, exist_ok=True)
    (root / ".complete").unlink(missing_ok=True)  # from here on the folder is not trusted
    if (root / "labels.csv").is_file():  # the clips of an earlier dataset: remove what it lists
        with open(root / "labels.csv", newline="") as f:
            for row in csv.DictReader(f):
                for key in ("path", "mouth"):
                    old = (root / row.get(key, "")).resolve()
                    if old.is_file() and old.is_relative_to(root.resolve()):
                        old.unlink()
        (root / "labels.csv").unlink()
    rows = []
    for a, actor in enumerate(_make_actors(num_actors, seed)):
        for action in params["actions"]:
            folder = root / actor.name / action
            folder.mkdir(parents=True, exist_ok=True)
            for clip in range(clips_per_pair):
                rng = np.random.default_rng([seed, a, ACTIONS.index(action), clip])
                num_frames = int(rng.integers(min_frames, max_frames + 1))
                frames, polygon = _render(actor, _motion(action, num_frames, fps, rng), resolution)
                write_video(folder / f"{clip:03d}.mp4", frames, fps=fps, keyint=16)
                buffer = _io.BytesIO()
                np.save(buffer, polygon)
                _atomic_write_bytes(folder / f"{clip:03d}.mouth.npy", buffer.getvalue())
                rel = f"{actor.name}/{action}/{clip:03d}"
                looks = ("gender", "skin", "hair_color", "hair_style", "eye_color")
                rows.append(
                    dict(path=f"{rel}.mp4", mouth=f"{rel}.mouth.npy", actor=actor.name,
                         action=action, clip=clip, num_frames=num_frames, fps=fps,
                         width=resolution, height=resolution,
                         **{k: getattr(actor, k) for k in looks})
                )  # fmt: skip
    text = _io.StringIO()
    writer = csv.DictWriter(text, fieldnames=LABEL_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    _atomic_write_bytes(root / "labels.csv", text.getvalue().encode())
    marker = json.dumps({"params": params, "clips": len(rows)}, indent=1, sort_keys=True)
    _atomic_write_bytes(root / ".complete", marker.encode())
    return root


def read_labels(root: str | os.PathLike) -> list[dict]:
    """Rows of ``root/labels.csv``, with int ``clip``, ``num_frames``, ``width``, ``height``."""
    path = Path(root) / "labels.csv"
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist (expected the synthetic dataset's label file)")
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        missing = set(LABEL_COLUMNS) - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"{path} lacks the columns {sorted(missing)} (expected {', '.join(LABEL_COLUMNS)})")
        rows = []
        for line, row in enumerate(reader, start=2):
            try:
                for key in ("clip", "num_frames", "width", "height"):
                    row[key] = int(row[key])
                row["fps"] = float(row["fps"])
            except (TypeError, ValueError) as e:
                raise ValueError(f"{path} line {line} does not parse: {e}") from e
            rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> None:
    """``python -m stylevideo.video.synthetic ROOT [options]``."""
    parser = argparse.ArgumentParser(prog="python -m stylevideo.video.synthetic", description=__doc__.split("\n")[0])
    parser.add_argument("root", type=Path)
    parser.add_argument("--num-actors", type=int, default=6)
    parser.add_argument(
        "--actions",
        default=",".join(ACTIONS),
        help="comma-separated subset of " + ",".join(ACTIONS),
    )
    parser.add_argument("--clips-per-pair", type=int, default=2)
    parser.add_argument("--min-frames", type=int, default=32)
    parser.add_argument("--max-frames", type=int, default=64)
    parser.add_argument("--resolution", type=int, default=64)
    parser.add_argument("--fps", type=float, default=25)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--force", action="store_true", help="regenerate even if complete")
    kwargs = vars(parser.parse_args(argv))
    start = time.perf_counter()
    root = generate_synthetic_dataset(kwargs.pop("root"), actions=tuple(kwargs.pop("actions").split(",")), **kwargs)
    print(f"{len(read_labels(root))} clips in {root} ({time.perf_counter() - start:.1f} s)")


if __name__ == "__main__":
    main()
