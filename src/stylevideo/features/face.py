"""Faces with dlib: HOG detection, the 68-point landmarks and the ResNet face descriptor.

The models ship with the ``face_recognition_models`` package (the ``face`` extra), so
they are real on every machine. ``dlib`` is imported lazily: only the face metrics need it.

Conventions shared by every face extractor here: input ``uint8 [N, H, W, 3]`` RGB frames;
a frame without a face gives a NaN row, never an exception, so metrics can count and
handle missing faces explicitly. With several faces, the largest detection is used.
"""

from __future__ import annotations

import os

import numpy as np
import torch

__all__ = ["ArcFaceEmbedder", "DlibFace", "MOUTH_INNER", "MOUTH_OUTER"]

# 0-based indices of the mouth in the 68-point (iBUG 300-W) scheme.
MOUTH_OUTER = tuple(range(48, 60))
MOUTH_INNER = tuple(range(60, 68))


def _require_dlib():
    try:
        import dlib
        import face_recognition_models
    except ImportError as err:
        raise ImportError(
            "the face metrics need dlib and face_recognition_models: `pip install -e .[face]` (or `make install-face`)"
        ) from err
    return dlib, face_recognition_models


class DlibFace:
    """dlib's frontal face detector, 68-point shape predictor and face descriptor.

    ``upsample``: how many times the detector upsamples a frame (1 finds faces down to
    ~40 px, at ~4x the cost of 0). Paths default to the models in face_recognition_models.
    """

    def __init__(
        self,
        upsample: int = 1,
        predictor_path: str | os.PathLike | None = None,
        recognition_path: str | os.PathLike | None = None,
    ):
        dlib, models = _require_dlib()
        self.upsample = upsample
        self.detector = dlib.get_frontal_face_detector()
        self.predictor = dlib.shape_predictor(str(predictor_path or models.pose_predictor_model_location()))
        self._recognition_path = str(recognition_path or models.face_recognition_model_location())
        self._recognition = None

    def shapes(self, frames: np.ndarray) -> list:
        """The 68-point ``full_object_detection`` of the largest face per frame (or None)."""
        out = []
        for frame in frames:
            rects = self.detector(frame, self.upsample)
            if len(rects) == 0:
                out.append(None)
                continue
            rect = max(rects, key=lambda r: r.width() * r.height())
            out.append(self.predictor(frame, rect))
        return out

    def landmarks(self, frames: np.ndarray, shapes: list | None = None) -> np.ndarray:
        """``[N, 68, 2]`` (x, y) pixel coordinates, NaN where no face was found."""
        shapes = self.shapes(frames) if shapes is None else shapes
        out = np.full((len(frames), 68, 2), np.nan)
        for i, shape in enumerate(shapes):
            if shape is not None:
                out[i] = [(p.x, p.y) for p in shape.parts()]
        return out

    def descriptors(self, frames: np.ndarray, shapes: list | None = None) -> np.ndarray:
        """``[N, 128]`` dlib ResNet face descriptors, NaN rows where no face was found."""
        if self._recognition is None:
            dlib, _ = _require_dlib()
            self._recognition = dlib.face_recognition_model_v1(self._recognition_path)
        shapes = self.shapes(frames) if shapes is None else shapes
        out = np.full((len(frames), 128), np.nan)
        for i, (frame, shape) in enumerate(zip(frames, shapes, strict=True)):
            if shape is not None:
                out[i] = np.asarray(self._recognition.compute_face_descriptor(frame, shape))
        return out

    __call__ = descriptors


class ArcFaceEmbedder:
    """ArcFace (IR-SE50) identity embeddings ``[N, 512]`` of frames, NaN where no face.

    ``crop="detect"`` crops dlib's face box (enlarged by ``margin``); ``crop="aligned"``
    takes pSp's fixed crop of FFHQ-aligned faces (rows 35:223, columns 32:220 of 256).
    """

    def __init__(
        self,
        path: str | os.PathLike | None = None,
        net: torch.nn.Module | None = None,
        crop: str = "detect",
        margin: float = 0.2,
        face: DlibFace | None = None,
        device: str | torch.device = "cpu",
    ):
        if crop not in ("detect", "aligned"):
            raise ValueError(f"crop must be 'detect' or 'aligned', got {crop!r}")
        if net is None:
            from stylevideo.features.arcface import load_arcface

            net = load_arcface(path)
        self.net = net.eval().to(device)
        self.crop, self.margin, self.device = crop, margin, device
        self.face = face if face is not None or crop == "aligned" else DlibFace()

    def _crops(self, frames: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
        h, w = frames.shape[1:3]
        if self.crop == "aligned":
            box = (
                round(35 * h / 256),
                round(223 * h / 256),
                round(32 * w / 256),
                round(220 * w / 256),
            )
            return [f[box[0] : box[1], box[2] : box[3]] for f in frames], np.ones(len(frames), bool)
        crops, found = [], np.zeros(len(frames), bool)
        for i, frame in enumerate(frames):
            rects = self.face.detector(frame, self.face.upsample)
            if len(rects) == 0:
                continue
            r = max(rects, key=lambda r: r.width() * r.height())
            m = self.margin * max(r.width(), r.height())
            y0, y1 = max(0, int(r.top() - m)), min(h, int(r.bottom() + m))
            x0, x1 = max(0, int(r.left() - m)), min(w, int(r.right() + m))
            crops.append(frame[y0:y1, x0:x1])
            found[i] = True
        return crops, found

    @torch.no_grad()
    def __call__(self, frames: np.ndarray) -> np.ndarray:
        crops, found = self._crops(frames)
        out = np.full((len(frames), 512), np.nan)
        if crops:
            x = torch.stack(
                [
                    torch.nn.functional.interpolate(
                        torch.from_numpy(np.ascontiguousarray(c)).permute(2, 0, 1)[None].float(),
                        size=(112, 112),
                        mode="bilinear",
                        align_corners=False,
                        antialias=True,
                    )[0]
                    for c in crops
                ]
            )
            out[found] = self.net(x.to(self.device) / 127.5 - 1).cpu().double().numpy()
        return out
