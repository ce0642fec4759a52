"""Reference outputs of the onestyle authors' code for the parity tests: ``tests/fixtures/onestyle_official.pt``.

    python tools/make_onestyle_fixtures.py --authors /work/authors/One-Style-is-All-You-Need-to-Generate-a-Video

``--authors`` is a clone of https://github.com/sandman002/One-Style-is-All-You-Need-to-Generate-a-Video
(their ``op/`` imports without compiling CUDA; on the CPU their pure-PyTorch paths run). The script:

1. builds their ``Generator`` (``model.py``) at 64x64 with ``latent`` 16, ``dyn_size`` 8, 3 persons,
   4 classes, ``n_mlp`` 8 and channel multiplier 2, narrowed 32-fold
   (:func:`authors_code.narrowed`: their width table 256, 512, 512, 1024, 512 becomes 8, 16, 16,
   32, 16), from seed 0, with random biases and noise strengths;
2. records their frames ``g_ema(person, z_m, t, class_label, transition_factor=0.7,
   randomize_noise=False)`` for 2 videos at times 0 and 2.5 (one call per frame batch, as their
   ``generate.py``), float32;
3. records their width table (``Generator.channels``, multipliers 1 and 2) and the tensor shapes
   of their full-width generators for the four released files (architecture from the file
   names; 30 persons and 8 classes for MEAD as their README's commands; 24 actors and 8
   emotions for RAVDESS, that dataset's counts), built on the meta device;
4. saves the checkpoint in their layout (``g_ema``; ``args`` as a plain dict) with the inputs and
   outputs: plain tensors and Python values, loadable with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import argparse
import importlib
from pathlib import Path

import torch
from authors_code import import_authors_code, narrowed

DIVISOR, SIZE, LATENT, DYN, PERSONS, CLASSES, N_MLP = 32, 64, 16, 8, 3, 4, 8
ARGS = dict(  # their train.py arguments for this network (train.py sets n_mlp = 8 itself)
    size=SIZE,
    latent=LATENT,
    dyn_size=DYN,
    num_person=PERSONS,
    num_classes=CLASSES,
    n_mlp=N_MLP,
    channel_multiplier=2,
    lr=0.002,
    r1=10.0,
    path_regularize=2.0,
    path_batch_shrink=2,
    d_reg_every=16,
    g_reg_every=4,
    transit_start=2000,
    transit_end=4000,
    iter=150000,
    batch=4,
    augment=False,
    augment_p=0.0,
    start_iter=0,
    distributed=False,
)
#: The released files (Zenodo record 7930268): size, latent, dyn_size, persons, classes.
RELEASED = {
    "mead_sz256_latent256_dyn128_120k.pt": (256, 256, 128, 30, 8),
    "mead_sz128_latent256_dyn128_117k.pt": (128, 256, 128, 30, 8),
    "mead_sz128_latent128_dyn64_120k.pt": (128, 128, 64, 30, 8),
    "RAVDESS_sz128_latent128_dyn64_120kv.pt": (128, 128, 64, 24, 8),
}


def their_generator(model, size, latent, dyn, persons, classes, multiplier=2):
    """Their ``Generator`` as ``train.py:622`` builds it (``latent - dyn_size`` for the content)."""
    return model.Generator(
        size, latent - dyn, persons, classes, latent - dyn, dyn, N_MLP, channel_multiplier=multiplier
    )


def released_args(size, latent, dyn, persons, classes) -> dict:
    """The architecture ``args`` of a released file (``train.py`` defaults for the rest)."""
    return dict(
        size=size,
        latent=latent,
        dyn_size=dyn,
        num_person=persons,
        num_classes=classes,
        n_mlp=N_MLP,
        channel_multiplier=2,
    )


@torch.no_grad()
def reference_frames(g, inputs: dict) -> torch.Tensor:
    """Their frames ``[B, T, 3, H, W]``: one generator call per time point, all videos at once."""
    frames = [
        g(
            inputs["actor"],
            inputs["z_m"],
            inputs["t"][:, i : i + 1],
            class_label=inputs["action"],
            transition_factor=inputs["ramp"],
            randomize_noise=False,
        )[0]
        for i in range(inputs["t"].shape[1])
    ]
    return torch.stack(frames, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--authors", required=True, help="clone of sandman002/One-Style-is-All-You-Need-to-Generate-a-Video"
    )
    parser.add_argument("--out", default=str(Path(__file__).parents[1] / "tests/fixtures/onestyle_official.pt"))
    args = parser.parse_args()
    with import_authors_code(args.authors):
        model = importlib.import_module("model")
        torch.manual_seed(0)
        with narrowed(model, DIVISOR, {"ConstantInput": (0,), "StyledConv": (0, 1), "ToRGB": (0,)}):
            g_ema = their_generator(model, SIZE, LATENT, DYN, PERSONS, CLASSES).eval()
        with torch.no_grad():
            for name, p in g_ema.named_parameters():
                if name.endswith(("bias", "noise.weight")):
                    p.normal_(0, 0.1)
        g = torch.Generator().manual_seed(1)
        inputs = {
            "actor": torch.tensor([2, 0]),
            "action": torch.tensor([1, 3]),
            "z_m": torch.randn(2, DYN, generator=g),
            "t": torch.tensor([[0.0, 2.5], [0.0, 2.5]]),
            "ramp": 0.7,
        }
        with torch.device("meta"):
            tables = {m: their_generator(model, 8, 16, 8, 1, 1, m).channels for m in (1, 2)}
            released = {
                name: {k: list(v.shape) for k, v in their_generator(model, *arch).state_dict().items()}
                for name, arch in RELEASED.items()
            }
        fixture = {
            "checkpoint": {"g_ema": {k: v.detach().clone() for k, v in g_ema.state_dict().items()}, "args": ARGS},
            "inputs": inputs,
            "frames": reference_frames(g_ema, inputs),
            "channels": tables,
            "released": released,
            "released_args": {name: released_args(*arch) for name, arch in RELEASED.items()},
            "source": f"sandman002/One-Style-is-All-You-Need-to-Generate-a-Video, {Path(__file__).name}",
        }
    torch.save(fixture, args.out)
    print(f"wrote {args.out} ({Path(args.out).stat().st_size / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
