"""Reference outputs of the authors' public code, on random weights at small widths, as test fixtures.

    python tools/make_nvlabs_fixtures.py \\
        --stylegan2-ada /work/authors/stylegan2-ada-pytorch --stylegan-human /work/authors/StyleGAN-Human \\
        --stylegan3 /work/authors/stylegan3 --stylegan-v /work/authors/stylegan-v \\
        --styleinv /work/authors/StyleInV --psp /work/authors/pixel2style2pixel \\
        --stylegan2-pytorch /work/authors/stylegan2-pytorch [--out tests/fixtures]

Each section imports the authors' code from the given checkout (nothing of it is copied or
committed), builds small networks with fixed seeds and writes ``<out>/<name>.pt`` holding plain
tensors and plain Python only (``torch.load(weights_only=True)`` reads it):

- ``networks``: per network its class, init kwargs, and per submodule (dotted path) the class,
  whether it is an NVlabs persistent class or a torch module, its parameter and buffer names
  and its plain attributes (numpy values listed so that look-alikes can restore them);
- ``tensors``: every parameter and buffer by dotted name;
- ``inputs`` / ``outputs``: fixed inputs and what the authors' code computes from them.

The tests rebuild look-alike pickles from this (the same persistence protocol, their own classes
standing in for NVlabs'), so no NVlabs pickle is ever written into the repository. What this
script patches in the authors' code at run time (and why) is said where it happens.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import math
import sys
import types
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from nvlabs_lookalike import generated_tensor  # noqa: E402  (the tests regenerate large tensors the same way)

_AUTHOR_PACKAGES = ("training", "torch_utils", "dnnlib", "legacy", "models", "src", "metrics", "omegaconf")


@contextlib.contextmanager
def authors_code(*paths: str):
    """Their checkouts first on ``sys.path``; their top-level packages forgotten before and after
    (the repositories share the names ``training``, ``torch_utils``, ``dnnlib``)."""

    def purge():
        for name in list(sys.modules):
            if name.split(".")[0] in _AUTHOR_PACKAGES:
                del sys.modules[name]

    purge()
    sys.path[:0] = [str(p) for p in paths]
    try:
        yield
    finally:
        del sys.path[: len(paths)]
        purge()


def _plain(value):
    """Config values as plain Python (EasyDicts and numpy scalars included)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"not plain: {type(value).__name__}")


def _attrs(module: torch.nn.Module) -> tuple[dict, list, list, list]:
    """A module's plain attributes, and which of them were numpy scalars / arrays / OmegaConf configs."""
    attrs, scalars, arrays, configs = {}, [], [], []
    for key, value in vars(module).items():
        if key.startswith("_") or key == "training":
            continue
        try:
            attrs[key] = _plain(value)
        except TypeError:
            continue
        if isinstance(value, np.generic):
            scalars.append(key)
        elif isinstance(value, np.ndarray):
            arrays.append(key)
        elif type(value).__name__ == "DictConfig":
            configs.append(key)
    return attrs, scalars, arrays, configs


def dump_network(net: torch.nn.Module, generate: int | None = None, seed: int = 0) -> dict:
    """The network's structure (see the module docstring) and its tensors. With ``generate``,
    parameters of at least that many elements are first set to ``generated_tensor(name, shape,
    seed)`` (what the tests regenerate) and only their shapes are stored: the IR-SE encoders
    would otherwise take tens of MB."""
    generated = {}
    if generate is not None:
        with torch.no_grad():
            for name, p in net.named_parameters():
                if p.numel() >= generate:
                    # effective weights of variance 1 / fan_in: NVlabs layers multiply theirs by weight_gain
                    owner = net.get_submodule(name.rpartition(".")[0])
                    gain = float(getattr(owner, "weight_gain", 1.0)) if name.endswith("weight") else 1.0
                    std = 1 / (math.sqrt(math.prod(p.shape[1:])) * gain)
                    p.copy_(generated_tensor(name, p.shape, seed, std))
                    generated[name] = {"shape": list(p.shape), "std": std}
    modules = {}
    for path, module in net.named_modules():
        attrs, scalars, arrays, configs = _attrs(module)
        persistent = hasattr(module, "_orig_module_src")
        modules[path] = {
            "class": type(module).__name__,
            "torch_module": None if persistent else type(module).__module__,
            "persistent": persistent,
            "init_kwargs": _plain(dict(module._init_kwargs)) if persistent else {},
            "params": [n for n, p in module._parameters.items() if p is not None],
            "buffers": [n for n, b in module._buffers.items() if b is not None],
            "attrs": attrs,
            "numpy_scalars": scalars,
            "numpy_arrays": arrays,
            "configs": configs,
        }
    tensors = {k: v.detach().clone().contiguous() for k, v in net.state_dict().items() if k not in generated}
    return {"modules": modules, "tensors": tensors, "generated": generated, "seed": seed}


@torch.no_grad()
def perturb(net: torch.nn.Module, seed: int) -> None:
    """Random values where the initialisation leaves zeros or ones (biases, noise strengths,
    ``w_avg``), so that every tensor matters in the reference outputs."""
    g = torch.Generator().manual_seed(seed)
    for name, t in net.state_dict().items():
        if name.endswith(("bias", "noise_strength", "w_avg")) and t.is_floating_point():
            t.add_(0.2 * torch.randn(t.shape, generator=g))


def save(out: Path, name: str, fixture: dict) -> None:
    path = out / f"{name}.pt"
    torch.save(fixture, path)
    torch.load(path, weights_only=True)  # plain tensors and Python only
    print(f"wrote {path} ({path.stat().st_size / 1e3:.0f} kB)")


# -- StyleGAN2-ADA and StyleGAN-Human --------------------------------------------------------------


def _stylegan2_pair(networks, resolution: int, square: bool | None, seed: int, c_dim: int) -> dict:
    """G and D of stylegan2-ada's ``training/networks.py`` (or StyleGAN-Human's fork with
    ``square``), with ``c_dim`` classes, their outputs for fixed z, c and images."""
    import dnnlib

    torch.manual_seed(seed)
    shape = {} if square is None else {"square": square}
    g_kwargs = dnnlib.EasyDict(
        z_dim=8,
        c_dim=c_dim,
        w_dim=16,
        img_resolution=resolution,
        img_channels=3,
        mapping_kwargs=dnnlib.EasyDict(num_layers=2),
        # conv_clamp 0.5 (the releases: 256) so that the clamps act on these random weights;
        # num_fp16_res as released (the reference runs force_fp32, as on a CPU)
        synthesis_kwargs=dnnlib.EasyDict(channel_base=256, channel_max=16, num_fp16_res=2, conv_clamp=0.5),
        **shape,
    )
    d_kwargs = dnnlib.EasyDict(
        c_dim=c_dim,
        img_resolution=resolution,
        img_channels=3,
        channel_base=256,
        channel_max=16,
        num_fp16_res=2,
        conv_clamp=0.5,
        mapping_kwargs=dnnlib.EasyDict(num_layers=2),
        epilogue_kwargs=dnnlib.EasyDict(mbstd_group_size=2),
        **shape,
    )
    G = networks.Generator(**g_kwargs).eval()
    D = networks.Discriminator(**d_kwargs).eval()
    perturb(G, seed + 1)
    perturb(D, seed + 2)
    gen = torch.Generator().manual_seed(seed + 3)
    z = torch.randn(4, 8, generator=gen)
    c = torch.nn.functional.one_hot(torch.tensor([0, 2, 1, 2]), 3).float()[:, :c_dim]
    width = resolution if square in (None, True) else resolution // 2
    images = torch.randn(4, 3, resolution, width, generator=gen)
    with torch.no_grad():
        out = {
            "ws": G.mapping(z, c),
            "const": G(z, c, noise_mode="const", force_fp32=True),
            "psi_0.7": G(z, c, truncation_psi=0.7, noise_mode="const", force_fp32=True),
            "psi_0.5_cutoff_4": G(z, c, truncation_psi=0.5, truncation_cutoff=4, noise_mode="const", force_fp32=True),
            "none": G(z, c, noise_mode="none", force_fp32=True),
            "D": D(images, c, force_fp32=True),
        }
    return {
        "networks": {"G_ema": dump_network(G), "D": dump_network(D)},
        "inputs": {"z": z, "c": c, "images": images},
        "outputs": out,
    }


def stylegan2_ada(path: Path, out: Path) -> None:
    with authors_code(path):
        from training import networks

        save(out, "nvlabs_stylegan2_ada", _stylegan2_pair(networks, 32, None, seed=0, c_dim=3))


def stylegan_human(path: Path, out: Path) -> None:
    # StyleGAN-Human's StyleGAN2 fork (training_scripts/sg2/training/networks.py, ``square=False``:
    # images twice as high as wide, 1024x512 released) with its own torch_utils and dnnlib
    with authors_code(path / "training_scripts" / "sg2", path):
        from training import networks

        # unconditional, as the released StyleGAN-Human networks
        save(out, "nvlabs_stylegan_human", _stylegan2_pair(networks, 32, False, seed=10, c_dim=0))


# -- StyleGAN3 and StyleGAN-V: read by name, refused by load_generator ------------------------------------


def stylegan3(path: Path, out: Path) -> None:
    with authors_code(path):
        from training import networks_stylegan3

        torch.manual_seed(20)
        G = networks_stylegan3.Generator(
            z_dim=8,
            c_dim=0,
            w_dim=8,
            img_resolution=16,
            img_channels=3,
            mapping_kwargs={"num_layers": 2},
            channel_base=256,
            channel_max=16,
            num_layers=4,
            num_critical=1,
            margin_size=2,
        ).eval()
        save(out, "nvlabs_stylegan3", {"networks": {"G_ema": dump_network(G)}})


def stub_omegaconf():
    """StyleGAN-V and StyleInV import OmegaConf (not installed here) for their configs: a stand-in
    whose ``DictConfig`` is an attribute dict (what their networks read from it)."""
    import dnnlib

    module = types.ModuleType("omegaconf")
    module.DictConfig = type("DictConfig", (dnnlib.EasyDict,), {})
    module.ListConfig = list
    module.OmegaConf = types.SimpleNamespace(create=module.DictConfig, to_container=dict)
    sys.modules["omegaconf"] = module

    def config(d):
        return module.DictConfig({k: config(v) if isinstance(v, dict) else v for k, v in d.items()})

    return config


def stylegan_v(path: Path, out: Path) -> None:
    with authors_code(path / "src", path):
        config = stub_omegaconf()
        from training import networks

        sampling = dict(type="random", num_frames_per_video=3, max_num_frames=64, use_fractional_t=True)
        motion = dict(z_dim=8, v_dim=8, motion_z_distance=4, gen_strategy="conv", kernel_size=3, fourier=True)
        motion["use_fractional_t"] = True
        time_enc = dict(cond_type="concat_const", dim=4, min_period_len=4, max_period_len=32, phase_dropout_std=1.0)
        cfg = config(
            dict(sampling=sampling, use_noise=False, input={"type": "temporal"}, w_dim=16, z_dim=8, c_dim=0)
            | dict(motion=motion, time_enc=time_enc)
        )
        torch.manual_seed(30)
        G = networks.Generator(
            c_dim=0,
            w_dim=16,
            img_resolution=16,
            img_channels=3,
            mapping_kwargs={"num_layers": 2, "cfg": cfg},
            synthesis_kwargs={"channel_base": 256, "channel_max": 16, "conv_clamp": 256},
            cfg=cfg,
        ).eval()
        save(out, "nvlabs_stylegan_v", {"networks": {"G_ema": dump_network(G)}})


# -- StyleInV: stage 2 (psp-*.pkl: pSp, G) and stage 3 (G, D, SI, SI_ema) --------------------------------


def _ir_se_one_unit_per_stage(bottleneck):
    """``get_blocks(50)`` with one unit per stage (theirs: 3, 4, 14, 3): the same unit code, fewer
    units, so that the fixture stays small. The widths stay IR-SE50's (their code hard-codes 512)."""
    return lambda num_layers: [
        [bottleneck(64, 64, 2)],
        [bottleneck(64, 128, 2)],
        [bottleneck(128, 256, 2)],
        [bottleneck(256, 512, 2)],
    ]


def styleinv(path: Path, out: Path, stylegan2_ada: Path | None = None) -> None:
    import pickle
    import tempfile

    if stylegan2_ada is None:
        raise SystemExit("--styleinv needs --stylegan2-ada too: StyleInV's code imports its torch_utils")
    with authors_code(path, stylegan2_ada):
        config = stub_omegaconf()
        # networks_styleinv.py imports training/styleinv/motion_fuse.py, which the public repository
        # lacks; only the "acyclic_pe" motion type (the configs') is built, which uses none of it
        fuse = types.ModuleType("training.styleinv.motion_fuse")
        for name in ("MapAddMap", "MapMapAdd", "MapMapCat", "MapRemainCat", "NoTemporalNoise"):
            setattr(fuse, name, None)
        sys.modules[fuse.__name__] = fuse
        # networks_psp.py imports matplotlib only to select its backend (matplotlib is not installed here)
        sys.modules.setdefault("matplotlib", types.SimpleNamespace(use=lambda backend: None))
        import dnnlib
        from training import networks, networks_psp, networks_sgv, networks_styleinv
        from training.styleinv import helpers, styleinv_encoder

        networks_psp.get_blocks = _ir_se_one_unit_per_stage(networks_psp.Bottleneck)
        styleinv_encoder.get_blocks = _ir_se_one_unit_per_stage(helpers.Bottleneck)
        # pSp.__init__ reads the ArcFace IR-SE50 file (opts.irse50) into its encoder; random weights here
        networks_psp.pSp.load_weights = lambda self: None

        torch.manual_seed(40)
        G = networks.Generator(
            z_dim=8,
            c_dim=0,
            w_dim=512,  # pSp's and StyleInV's encoders hard-code 512
            img_resolution=32,
            img_channels=3,
            mapping_kwargs=dnnlib.EasyDict(num_layers=2),
            synthesis_kwargs=dnnlib.EasyDict(channel_base=256, channel_max=16, num_fp16_res=2, conv_clamp=256),
        ).eval()
        perturb(G, 41)
        g_dump = dump_network(G, generate=4096, seed=41)

        # stage 2: train_psp.py's opts
        opts = dnnlib.EasyDict(
            output_size=32,
            encoder_type="BackboneEncoderUsingLastLayerIntoW",
            irse50="pretrained_models/psp/model_ir_se50.pth",
            start_from_latent_avg=True,
            learn_in_w=True,
            input_nc=3,
        )
        psp = networks_psp.pSp(opts, rank=1)
        psp.set_latent_avg(G.mapping.w_avg.detach().clone())
        psp.eval()
        perturb(psp, 42)
        psp_dump = dump_network(psp, generate=4096, seed=42)
        gen = torch.Generator().manual_seed(43)
        x = torch.rand(2, 3, 32, 32, generator=gen) * 2 - 1
        with torch.no_grad():
            codes = psp(x)
            stage2 = {"codes": codes, "images": G.synthesis(codes, noise_mode="const", force_fp32=True)}

        # stage 3: configs/ffs.yaml at small widths (kernel_size 11 of which 6 taps act, as theirs)
        time_enc = dict(cond_type="concat_const", dim=8, min_period_len=4, max_period_len=32, phase_dropout_std=1.0)
        motion = dict(type="acyclic_pe", z_dim=16, v_dim=16, motion_z_distance=4, gen_strategy="conv", kernel_size=11)
        motion |= dict(use_fractional_t=True, fourier=True, time_enc=time_enc)
        sampling = dict(type="random", num_frames_per_video=4, max_num_frames=32)
        mapping_opts = config(
            dict(c_dim=0, content_dim=512, w_dim=512, layers_after_fuse=2, concat_content=True, lr_multiplier=0.01)
            | dict(sampling=sampling, motion=motion)
        )
        # lr_multiplier / use_modulation: read by StyleEncoderIntoW but absent from their configs
        encoder_opts = dict(adain_mode="block", normalize_adain=True, lr_multiplier=1, use_modulation=False)
        encoder_opts = config(encoder_opts | {"pca": {"use_pca": False}})
        with tempfile.TemporaryDirectory() as tmp:  # SI.__init__ reads its pSp encoder from the stage-2 pickle
            checkpoint = Path(tmp) / "psp-stage2.pkl"
            with open(checkpoint, "wb") as f:
                pickle.dump({"pSp": psp, "G": G}, f)
            SI = networks_styleinv.StyleInV(
                str(checkpoint), mapping_opts, encoder_opts, input_residual=True, clip_len=32, fps=30
            )
        SI.checkpoint = "pretrained_models/styleinv/psp-stage2.pkl"  # as their configs name it (not the temporary file)
        SI.set_latent_avg(G.mapping.w_avg.detach().clone())
        SI.eval()
        SI_ema = copy.deepcopy(SI)
        perturb(SI, 44)
        perturb(SI_ema, 45)
        si_dump, ema_dump = dump_network(SI, generate=4096, seed=44), dump_network(SI_ema, generate=4096, seed=45)
        d_cfg = config(
            dict(sampling=sampling, concat_res=16, num_frames_div_factor=2, dummy_c=False)
            | dict(pe={"use_const_embed": True, "t_is_frame_idx": False})
        )
        D = networks_sgv.Discriminator(
            c_dim=0,
            img_resolution=32,
            img_channels=3,
            channel_base=256,
            channel_max=16,
            num_fp16_res=2,
            conv_clamp=0.5,  # the releases: 256; 0.5 makes the clamps act here
            mapping_kwargs=dnnlib.EasyDict(num_layers=2),
            epilogue_kwargs=dnnlib.EasyDict(mbstd_group_size=2),
            cfg=d_cfg,
        ).eval()
        perturb(D, 46)
        d_dump = dump_network(D, generate=4096, seed=46)

        gen = torch.Generator().manual_seed(47)
        with torch.no_grad():
            wc = G.mapping(torch.randn(2, 8, generator=gen), None)[:, 0]
            x0 = G.synthesis(wc[:, None].repeat(1, G.num_ws, 1), noise_mode="const", force_fp32=True)
            t = torch.tensor([[0.0, 2.5, 7.0, 12.25], [0.0, 5.0, 9.5, 30.75]])  # frames
            Ts = (t / (sampling["max_num_frames"] - 1))[..., None]  # theirs: [0, 1]
            zm = torch.randn(2, 10, 16, generator=gen)  # get_max_traj_len: ceil(31 / 4) + 2
            stage3 = {
                "x0": x0,
                "SI": SI(x0, wc, zm, Ts).view(4, 2, 512).transpose(0, 1),  # [(t b), w] -> [b, t, w]
                "SI_ema": SI_ema(x0, wc, zm, Ts).view(4, 2, 512).transpose(0, 1),
            }
            frames = torch.rand(8, 3, 32, 32, generator=gen) * 2 - 1
            t_d = torch.tensor([[0.0, 3.0, 5.0, 11.0], [0.0, 8.0, 20.0, 31.0]])
            stage3["D"] = D(frames, t_d / (sampling["max_num_frames"] - 1), force_fp32=True)
    save(
        out,
        "styleinv_official",
        {
            "networks": {"G": g_dump, "pSp": psp_dump, "SI": si_dump, "SI_ema": ema_dump, "D": d_dump},
            "inputs": {"x": x, "w0": wc, "t": t, "z": zm, "frames": frames.view(2, 4, 3, 32, 32), "t_d": t_d},
            "outputs": {"stage2": stage2, "stage3": stage3},
        },
    )


# -- pixel2style2pixel: pSp checkpoints, its IR-SE backbone and the ArcFace IR-SE50 ------------------------


def _shapes(module: torch.nn.Module) -> dict[str, list[int]]:
    return {name: list(t.shape) for name, t in module.state_dict().items()}


def psp(path: Path, out: Path, stylegan2_pytorch: Path | None = None) -> None:
    """pSp's official checkpoint layout and outputs, its W encoder, the ArcFace backbone.

    pSp's ``models/stylegan2/op`` compiles CUDA kernels when imported; it is replaced by
    rosinality's ``op`` (the same functions, with CPU reference paths), its kernel build skipped.
    """

    import torch.utils.cpp_extension

    if stylegan2_pytorch is None:
        raise SystemExit("--psp needs --stylegan2-pytorch too: its op package runs pSp's decoder on a CPU")
    sys.modules.setdefault("matplotlib", types.SimpleNamespace(use=lambda backend: None))
    build = torch.utils.cpp_extension.load
    torch.utils.cpp_extension.load = lambda *args, **kwargs: None  # rosinality's op: CPU paths only
    try:
        with authors_code(stylegan2_pytorch):
            import op
        sys.modules["op"] = op
    finally:
        torch.utils.cpp_extension.load = build
    with authors_code(path):
        sys.modules["models.stylegan2.op"] = op
        from models import psp as psp_module
        from models.encoders import helpers, model_irse, psp_encoders

        def opts(output_size, encoder_type):
            return argparse.Namespace(
                output_size=output_size,
                encoder_type=encoder_type,
                input_nc=3,
                label_nc=0,
                start_from_latent_avg=True,
                learn_in_w=encoder_type == "BackboneEncoderUsingLastLayerIntoW",
                checkpoint_path=None,
                device="cpu",
            )

        # the layouts at full size (meta tensors: names and shapes only)
        psp_module.pSp.load_weights = lambda self: None  # (reads the ArcFace / StyleGAN2 files)
        with torch.device("meta"):
            layouts = {
                "psp_ffhq_encode": _shapes(psp_module.pSp(opts(1024, "GradualStyleEncoder"))),
                "psp_w_encoder": _shapes(psp_encoders.BackboneEncoderUsingLastLayerIntoW(50, "ir_se", opts(1024, "x"))),
                "arcface_ir_se50": _shapes(model_irse.Backbone(112, 50, "ir_se")),
            }

        # ArcFace IR-SE50 at full size (the released network), weights generated
        torch.manual_seed(50)
        arcface = model_irse.Backbone(112, 50, "ir_se").eval()
        arcface_dump = dump_network(arcface, generate=4096, seed=50)
        gen = torch.Generator().manual_seed(51)
        crops = torch.rand(1, 3, 112, 112, generator=gen) * 2 - 1
        trunk_x = torch.rand(2, 3, 32, 32, generator=gen) * 2 - 1  # the trunk alone is fully convolutional
        with torch.no_grad():
            arcface_out = {"embedding": arcface(crops), "body": arcface.body(arcface.input_layer(trunk_x))}

        # pSp's W+ encoder at 16x16 inputs: IR-SE50 (its forward indexes units 6, 20 and 23), the
        # map2style depths 16/32/64 scaled with the input (pSp's are for 256x256: log2(spatial)
        # stride-2 convs reach 1x1), output_size 32 (8 styles: 3 coarse, 4 middle, 1 fine)
        block_init = psp_encoders.GradualStyleBlock.__init__
        psp_encoders.GradualStyleBlock.__init__ = lambda self, i, o, spatial: block_init(self, i, o, spatial // 16)
        torch.manual_seed(52)
        gradual = psp_module.pSp(opts(32, "GradualStyleEncoder")).eval()
        perturb(gradual, 53)
        gradual.latent_avg = torch.randn(1, 512, generator=gen).repeat(gradual.opts.n_styles, 1)
        gradual_dump = dump_network(gradual, generate=4096, seed=53)
        x = torch.rand(2, 3, 16, 16, generator=gen) * 2 - 1
        # pSp with a W encoder (BackboneEncoderUsingLastLayerIntoW) and an 8x8 decoder: one IR-SE unit
        # per stage, small enough to be written as a checkpoint file by the tests
        psp_encoders.get_blocks = _ir_se_one_unit_per_stage(helpers.Bottleneck)
        torch.manual_seed(55)
        w_psp = psp_module.pSp(opts(8, "BackboneEncoderUsingLastLayerIntoW")).eval()
        perturb(w_psp, 56)
        w_psp.latent_avg = torch.randn(1, 512, generator=gen)
        w_dump = dump_network(w_psp, generate=4096, seed=56)
        outputs = {}
        with torch.no_grad():
            for name, net in (("gradual", gradual), ("w", w_psp)):
                images, codes = net(x, resize=False, randomize_noise=False, return_latents=True)
                outputs[name] = {"codes": codes, "images": images}
    save(
        out,
        "psp_official",
        {
            "networks": {"gradual": gradual_dump, "w": w_dump, "arcface": arcface_dump},
            "checkpoints": {
                name: {"opts": vars(net.opts), "latent_avg": net.latent_avg}
                for name, net in (("gradual", gradual), ("w", w_psp))
            },
            "layouts": layouts,
            "inputs": {"x": x, "crops": crops, "trunk_x": trunk_x},
            "outputs": outputs | {"arcface": arcface_out},
        },
    )


SECTIONS = {
    "stylegan2_ada": stylegan2_ada,
    "stylegan_human": stylegan_human,
    "stylegan3": stylegan3,
    "stylegan_v": stylegan_v,
    "styleinv": styleinv,
    "psp": psp,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    for name in SECTIONS:
        parser.add_argument("--" + name.replace("_", "-"), type=Path, help=f"checkout of the {name} code")
    parser.add_argument("--stylegan2-pytorch", type=Path, help="rosinality's stylegan2-pytorch (for --psp)")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "tests" / "fixtures")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)
    for name, section in SECTIONS.items():
        path = getattr(args, name)
        if path is not None and name == "styleinv":
            section(path, args.out, args.stylegan2_ada)
        elif path is not None and name == "psp":
            section(path, args.out, args.stylegan2_pytorch)
        elif path is not None:
            section(path, args.out)


if __name__ == "__main__":
    main()
