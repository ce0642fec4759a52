"""Reference outputs of the LIA authors' code for the parity tests: ``tests/fixtures/lia_official.pt``.

    python tools/make_lia_fixtures.py --authors /work/authors/LIA

``--authors`` is a clone of https://github.com/wyhsirius/LIA. Their networks are taken at
``--commit`` (default 2a5bbfa, the last commit holding their trainer and discriminator; the
generator's files differ from today's only by a licence header). On the CPU, with their grid
moved nowhere (``Tensor.cuda`` is the identity while their code runs), the script:

1. builds their ``Generator(32, 512, 4)`` and ``Discriminator(32)`` 64-fold narrowed
   (:func:`authors_code.narrowed`: widths 8, N = 8, M = 4) from seed 0, with random biases;
2. runs two iterations of their trainer's updates (``trainer.py``: Adam lr ``0.002 * 4/5`` and
   ``0.002 * 16/17``, betas ``(0, 0.99 ** ratio)``; G on L1 + non-saturating loss, the VGG term
   left out, then D) so that ``g_optim``/``d_optim`` hold real Adam states;
3. records, in eval mode, their absolute (``gen(x_s, x_t)``) and relative
   (``gen(x_s, x_t, enc_motion(x_1))``, ``run_demo.py``) animations of 2 sources by 2 driving
   frames and D's logits on the 4 driving frames (float32);
4. saves the checkpoint in their layout (``gen``, ``dis``, ``g_optim``, ``d_optim``, ``args`` as
   a plain dict), their parameter order, the inputs and the outputs: plain tensors and Python
   values, loadable with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import importlib
from pathlib import Path

import torch
import torch.nn.functional as F
from authors_code import import_authors_code, narrowed
from torch import nn

DIVISOR, SIZE, STYLE, MOTION = 64, 32, 512, 4
ARGS = dict(  # their train.py arguments (defaults) for this network
    iter=800000,
    size=SIZE,
    batch_size=2,
    d_reg_every=16,
    g_reg_every=4,
    resume_ckpt=None,
    lr=0.002,
    channel_multiplier=1,
    start_iter=0,
    display_freq=5000,
    save_freq=1000,
    latent_dim_style=STYLE // DIVISOR,
    latent_dim_motion=MOTION,
    dataset="vox",
)


@contextlib.contextmanager
def authors_runtime():
    """Their code on today's CPU PyTorch: ``torch.qr`` (removed) is ``torch.linalg.qr`` (the same
    reduced QR); ToFlow's grid (``torch.tensor(np_grid).float()...cuda()``) stays on the CPU."""
    qr, cuda = torch.qr, torch.Tensor.cuda
    torch.qr = torch.linalg.qr
    torch.Tensor.cuda = lambda self, *args, **kwargs: self
    try:
        yield
    finally:
        torch.qr, torch.Tensor.cuda = qr, cuda


def build(networks):
    encoder, decoder, disc = networks["encoder"], networks["styledecoder"], networks["discriminator"]
    torch.manual_seed(0)
    encoder_blocks = {"ConvLayer": (0, 1), "ResBlock": (0, 1), "EqualConv2d": (0, 1), "EqualLinear": (0, 1)}
    decoder_blocks = {"ConstantInput": (0,), "StyledConv": (0, 1, 3), "ToRGB": (0, 1), "ToFlow": (0, 1)}
    with (
        narrowed(encoder, DIVISOR, encoder_blocks),
        narrowed(decoder, DIVISOR, decoder_blocks),
        narrowed(disc, DIVISOR, {"ConvLayer": (0, 1), "ResBlock": (0, 1), "EqualLinear": (0, 1)}),
    ):
        gen = networks["generator"].Generator(SIZE, STYLE, MOTION, 1)
        dis = disc.Discriminator(SIZE, 1)
    gen.dec.direction.weight = nn.Parameter(torch.randn(STYLE // DIVISOR, MOTION))  # a literal 512 rows there
    with torch.no_grad():
        for name, p in [*gen.named_parameters(), *dis.named_parameters()]:
            if name.endswith("bias"):
                p.normal_(0, 0.1)
    return gen, dis


def train_two_iterations(gen, dis):
    """Their ``Trainer.gen_update`` / ``dis_update`` (minus VGG) with their optimizers."""
    g_ratio, d_ratio = 4 / 5, 16 / 17
    g_optim = torch.optim.Adam(gen.parameters(), lr=0.002 * g_ratio, betas=(0**g_ratio, 0.99**g_ratio))
    d_optim = torch.optim.Adam(dis.parameters(), lr=0.002 * d_ratio, betas=(0**d_ratio, 0.99**d_ratio))
    g = torch.Generator().manual_seed(1)
    for _ in range(2):
        source, target = (torch.rand(2, 3, SIZE, SIZE, generator=g) * 2 - 1 for _ in range(2))
        gen.zero_grad()
        dis.requires_grad_(False)
        gen.requires_grad_(True)
        recon = gen(source, target)
        (F.l1_loss(recon, target) + F.softplus(-dis(recon)).mean()).backward()
        g_optim.step()
        dis.zero_grad()
        gen.requires_grad_(False)
        dis.requires_grad_(True)
        (F.softplus(dis(recon.detach())).mean() + F.softplus(-dis(target)).mean()).backward()
        d_optim.step()
    gen.requires_grad_(True)
    return g_optim, d_optim


@torch.no_grad()
def outputs(gen, dis, inputs: dict) -> dict:
    gen, dis = copy.deepcopy(gen).eval(), copy.deepcopy(dis).eval()
    source, driving = inputs["source"], inputs["driving"]
    with authors_runtime():
        h_start = gen.enc.enc_motion(driving[:, 0])
        absolute = torch.stack([gen(source, driving[:, t]) for t in range(driving.shape[1])], 1)
        relative = torch.stack([gen(source, driving[:, t], h_start) for t in range(driving.shape[1])], 1)
        logits = dis(driving.flatten(0, 1))
    return {"absolute": absolute, "relative": relative, "dis_logits": logits}


def plain(state) -> object:
    """Tensors detached and cloned, containers as plain dicts/lists/tuples."""
    if isinstance(state, torch.Tensor):
        return state.detach().clone()
    if isinstance(state, dict):
        return {k: plain(v) for k, v in state.items()}
    if isinstance(state, (list, tuple)):
        return type(state)(plain(v) for v in state)
    return state


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--authors", required=True, help="clone of wyhsirius/LIA")
    parser.add_argument("--commit", default="2a5bbfa")
    parser.add_argument("--out", default=str(Path(__file__).parents[1] / "tests/fixtures/lia_official.pt"))
    args = parser.parse_args()
    with import_authors_code(args.authors, args.commit, ["networks"]):
        names = ("encoder", "styledecoder", "discriminator", "generator")
        networks = {name: importlib.import_module(f"networks.{name}") for name in names}
        gen, dis = build(networks)
        with authors_runtime():
            g_optim, d_optim = train_two_iterations(gen, dis)
        g = torch.Generator().manual_seed(2)
        inputs = {
            "source": torch.rand(2, 3, SIZE, SIZE, generator=g) * 2 - 1,
            "driving": torch.rand(2, 2, 3, SIZE, SIZE, generator=g) * 2 - 1,
        }
        fixture = {
            "checkpoint": {
                "gen": plain(gen.state_dict()),
                "dis": plain(dis.state_dict()),
                "g_optim": plain(g_optim.state_dict()),
                "d_optim": plain(d_optim.state_dict()),
                "args": ARGS,
            },
            "parameter_order": {
                "gen": [name for name, _ in gen.named_parameters()],
                "dis": [name for name, _ in dis.named_parameters()],
            },
            "inputs": inputs,
            "outputs": outputs(gen, dis, inputs),
            "source": f"wyhsirius/LIA@{args.commit}, {Path(__file__).name}",
        }
    torch.save(fixture, args.out)
    print(f"wrote {args.out} ({Path(args.out).stat().st_size / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
