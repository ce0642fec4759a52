"""The parity of every importer with the authors' code: relative L2 errors against the fixtures.

    python tools/parity_report.py

Builds the look-alike files the tests build (tests/nvlabs_lookalike.py), loads them through the
importers and prints ``||ours - theirs|| / ||theirs||`` (float32 on both sides) for each output
the fixtures hold (tools/make_nvlabs_fixtures.py wrote them from the authors' code).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from nvlabs_lookalike import load_fixture, network_tensors, relative_error, write_pickle  # noqa: E402

from stylevideo.features.arcface import IRSE50  # noqa: E402
from stylevideo.methods.psp import load_official_checkpoint as load_stage2  # noqa: E402
from stylevideo.methods.styleinv import load_official_checkpoint  # noqa: E402
from stylevideo.nn.irse import IRSEBackbone, backbone_state  # noqa: E402
from stylevideo.nn.psp import GradualStyleEncoder, load_psp_checkpoint  # noqa: E402
from stylevideo.nn.stylegan2 import load_discriminator, load_generator  # noqa: E402


@torch.no_grad()
def main() -> None:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for name in ("nvlabs_stylegan2_ada", "nvlabs_stylegan_human"):
            f = load_fixture(name)
            path = write_pickle(tmp / f"{name}.pkl", f["networks"])
            g, _ = load_generator(path)
            z, c, out = f["inputs"]["z"], f["inputs"]["c"], f["outputs"]
            rows += [
                (name, "G_ema(z, c, noise_mode='const')", relative_error(g(z, c=c), out["const"])),
                (name, "truncation_psi=0.7", relative_error(g(z, psi=0.7, c=c), out["psi_0.7"])),
                (name, "psi 0.5, cutoff 4", relative_error(g(z, psi=0.5, cutoff=4, c=c), out["psi_0.5_cutoff_4"])),
                (name, "noise_mode='none'", relative_error(g(z, c=c, noise_mode="none"), out["none"])),
                (name, "D(img, c)", relative_error(load_discriminator(path)(f["inputs"]["images"], c), out["D"])),
            ]
        f = load_fixture("styleinv_official")
        nets = f["networks"]
        stage2 = write_pickle(tmp / "psp-stage2.pkl", {"pSp": nets["pSp"], "G": nets["G"]})
        snapshot = write_pickle(tmp / "snapshot.pkl", {k: nets[k] for k in ("G", "D", "SI", "SI_ema")})
        m2 = load_stage2(stage2, lpips_lambda=0, id_lambda=0)
        x, o2 = f["inputs"]["x"], f["outputs"]["stage2"]
        rows += [
            ("styleinv stage 2", "pSp(x) codes", relative_error(m2.invert(x), o2["codes"][:, 0])),
            ("styleinv stage 2", "G.synthesis(pSp(x))", relative_error(m2(x), o2["images"])),
        ]
        m3 = load_official_checkpoint(snapshot, psp=stage2)
        i, o3 = f["inputs"], f["outputs"]["stage3"]
        x0 = m3.synthesize(i["w0"])
        rows += [
            ("styleinv stage 3", "G.synthesis(w0)", relative_error(x0, o3["x0"])),
            ("styleinv stage 3", "SI(x0, w0, z, t)", relative_error(m3.SI(x0, i["w0"], i["t"], i["z"])[0], o3["SI"])),
            ("styleinv stage 3", "SI_ema", relative_error(m3.latents(i["w0"], i["t"], z=i["z"]), o3["SI_ema"])),
            ("styleinv stage 3", "D(frames, t)", relative_error(m3.D(i["frames"], i["t_d"]), o3["D"])),
        ]
        f = load_fixture("psp_official", networks=("w", "arcface"))
        x, out = f["inputs"]["x"], f["outputs"]
        state = network_tensors(f["networks"]["gradual"], prefixes=("encoder.",))
        encoder = GradualStyleEncoder(8, style_dim=512, coarse=3, middle=7, spatial=(1, 2, 4)).eval()
        encoder.load_state_dict({k[len("encoder.") :]: v for k, v in state.items()})
        latent_avg = f["checkpoints"]["gradual"]["latent_avg"]
        rows.append(("pSp W+ encoder", "encoder(x)", relative_error(encoder(x), out["gradual"]["codes"] - latent_avg)))
        torch.save({"state_dict": f["networks"]["w"]["tensors"], **f["checkpoints"]["w"]}, tmp / "psp.pt")
        psp = load_psp_checkpoint(tmp / "psp.pt")
        rows += [
            ("pSp .pt (W)", "codes", relative_error(psp.invert(x)[:, None].expand(-1, 4, -1), out["w"]["codes"])),
            ("pSp .pt (W)", "decoder images", relative_error(psp(x, resize=False), out["w"]["images"])),
        ]
        arcface = f["networks"]["arcface"]["tensors"]
        net = IRSE50().eval()
        net.load_state_dict(arcface)
        trunk = IRSEBackbone(50).eval()
        trunk.load_state_dict(backbone_state(arcface))
        rows += [
            ("ArcFace IR-SE50", "embedding", relative_error(net(f["inputs"]["crops"]), out["arcface"]["embedding"])),
            ("IR-SE50 trunk", "features", relative_error(trunk(f["inputs"]["trunk_x"]), out["arcface"]["body"])),
        ]
    print("| file | output | relative L2 error (float32) |\n| --- | --- | --- |")
    for name, what, err in rows:
        print(f"| {name} | {what} | {err:.1e} |")


if __name__ == "__main__":
    main()
