"""ResNet IR and IR-SE backbones (Deng et al., "ArcFace", CVPR 2019) as pSp uses them.

The improved-residual unit is ``BN -> conv3x3 -> PReLU -> conv3x3(stride) -> BN [-> SE]``
plus a shortcut (max-pool 1x1 with the stride when the width is kept, else conv1x1 + BN);
the stem is ``conv3x3 -> BN -> PReLU`` at full resolution. Four stages halve the resolution
(their first unit has stride 2). Module names follow pSp's ``models/encoders`` and the
ArcFace checkpoint pSp distributes (``input_layer``, ``body.<i>.res_layer``,
``body.<i>.shortcut_layer``), so an ArcFace state dict restricted to the backbone
(:func:`backbone_state`) and pSp's ``encoder.*`` entries load by prefix alone.

``widths`` and ``units`` exist for tiny test and smoke models; the defaults are IR-SE50.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import Tensor, nn

__all__ = ["UNITS", "WIDTHS", "BottleneckIR", "IRSEBackbone", "SEModule", "backbone_state"]

#: Units per stage of the IR-50/100/152 networks (pSp ``get_blocks``).
UNITS = {50: (3, 4, 14, 3), 100: (3, 13, 30, 3), 152: (3, 8, 36, 3)}
#: Channel width of each stage.
WIDTHS = (64, 128, 256, 512)


class SEModule(nn.Module):
    """Squeeze-and-excitation: ``x * sigmoid(fc2(relu(fc1(avgpool(x)))))``, 1x1 convs, no bias."""

    def __init__(self, channels: int, reduction: int = 16):
        super().__init__()
        if channels // reduction < 1:
            raise ValueError(f"SE needs channels >= reduction ({reduction}), got {channels}")
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, channels // reduction, 1, bias=False)
        self.relu = nn.ReLU(inplace=True)
        self.fc2 = nn.Conv2d(channels // reduction, channels, 1, bias=False)
        self.sigmoid = nn.Sigmoid()

    def forward(self, x: Tensor) -> Tensor:
        return x * self.sigmoid(self.fc2(self.relu(self.fc1(self.avg_pool(x)))))


class BottleneckIR(nn.Module):
    """One improved-residual unit (``se=True``: IR-SE): ``res_layer(x) + shortcut_layer(x)``."""

    def __init__(self, in_channels: int, depth: int, stride: int, se: bool = True):
        super().__init__()
        if in_channels == depth:
            self.shortcut_layer: nn.Module = nn.MaxPool2d(1, stride)
        else:
            self.shortcut_layer = nn.Sequential(
                nn.Conv2d(in_channels, depth, 1, stride, bias=False), nn.BatchNorm2d(depth)
            )
        layers: list[nn.Module] = [
            nn.BatchNorm2d(in_channels),
            nn.Conv2d(in_channels, depth, 3, 1, 1, bias=False),
            nn.PReLU(depth),
            nn.Conv2d(depth, depth, 3, stride, 1, bias=False),
            nn.BatchNorm2d(depth),
        ]
        if se:
            layers.append(SEModule(depth, 16))
        self.res_layer = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.res_layer(x) + self.shortcut_layer(x)


class IRSEBackbone(nn.Module):
    """Stem + four stages of IR / IR-SE units: ``[B, C, H, W] -> [B, widths[-1], H/16, W/16]``.

    Args:
        num_layers: 50, 100 or 152 (the units per stage, :data:`UNITS`), unless ``units``.
        mode: ``"ir_se"`` (with squeeze-excitation, pSp's and ArcFace's) or ``"ir"``.
        in_channels: input channels (3 for RGB).
        widths: channels of the four stages (stem: ``widths[0]``).
        units: units per stage, overriding ``num_layers`` (small test models).
    """

    def __init__(
        self,
        num_layers: int = 50,
        mode: str = "ir_se",
        in_channels: int = 3,
        widths: Sequence[int] = WIDTHS,
        units: Sequence[int] | None = None,
    ):
        super().__init__()
        if mode not in ("ir", "ir_se"):
            raise ValueError(f"mode must be 'ir' or 'ir_se', got {mode!r}")
        if units is None:
            if num_layers not in UNITS:
                raise ValueError(f"num_layers must be one of {sorted(UNITS)}, got {num_layers}")
            units = UNITS[num_layers]
        widths, units = tuple(int(w) for w in widths), tuple(int(u) for u in units)
        if len(widths) != 4 or len(units) != 4 or min(units) < 1:
            raise ValueError(f"need 4 stage widths and 4 unit counts >= 1, got {widths}, {units}")
        self.widths, self.units = widths, units
        self.input_layer = nn.Sequential(
            nn.Conv2d(in_channels, widths[0], 3, 1, 1, bias=False),
            nn.BatchNorm2d(widths[0]),
            nn.PReLU(widths[0]),
        )
        modules, ends, c_in = [], [], widths[0]
        for depth, n in zip(widths, units, strict=True):
            modules.append(BottleneckIR(c_in, depth, 2, se=mode == "ir_se"))
            modules += [BottleneckIR(depth, depth, 1, se=mode == "ir_se") for _ in range(n - 1)]
            ends.append(len(modules) - 1)
            c_in = depth
        self.body = nn.Sequential(*modules)
        #: Index in ``body`` of the last unit of each stage (IR-50: 2, 6, 20, 23).
        self.stage_ends = tuple(ends)

    @property
    def out_channels(self) -> int:
        return self.widths[-1]

    def stages(self, x: Tensor) -> list[Tensor]:
        """The output of each of the four stages (strides 2, 4, 8, 16)."""
        x = self.input_layer(x)
        outs = []
        for i, unit in enumerate(self.body):
            x = unit(x)
            if i in self.stage_ends:
                outs.append(x)
        return outs

    def forward(self, x: Tensor) -> Tensor:
        return self.body(self.input_layer(x))


def backbone_state(state: Mapping[str, torch.Tensor], prefix: str = "") -> dict[str, torch.Tensor]:
    """The ``input_layer.*`` and ``body.*`` entries of ``state`` (under ``prefix``), renamed
    for :class:`IRSEBackbone`: an ArcFace IR-SE50 checkpoint (``prefix=""``; its
    ``output_layer`` is dropped) or a pSp checkpoint (``prefix="encoder."``)."""
    out = {}
    for key, value in state.items():
        if key.startswith(prefix):
            name = key[len(prefix) :]
            if name.startswith(("input_layer.", "body.")):
                out[name] = value
    if not out:
        raise KeyError(
            f"no '{prefix}input_layer.*' / '{prefix}body.*' entries in the state dict (found e.g. {sorted(state)[:5]})"
        )
    return out
