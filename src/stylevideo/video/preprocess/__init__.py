"""Dataset preprocessing scripts (see docs/datasets.md), each runnable with ``python -m``:

- :mod:`~stylevideo.video.preprocess.mask_crop`: FaceForensics, the mask-based square crop of
  TGAN-V2 / StyleGAN-V (styleinv appendix D, Algorithm 1).
- :mod:`~stylevideo.video.preprocess.face_align`: FFHQ-style alignment from dlib's 68-point
  landmarks, stabilised by averaging the landmarks of randomly jittered boxes
  (styleinv appendix D; DeeperForensics, and any face video).

The submodules are not imported here, so ``python -m`` runs them without a runpy warning.
"""
