"""Models (``[model]``, SPEC §6): what ``arch``, ``hidden``, ``dropout`` and ``activation`` build.

- ``mlp`` — flatten → (Linear → activation → Dropout) per entry of ``hidden`` →
  Linear. Works on any input (images are flattened).
- ``cnn`` — per entry of ``hidden`` one 3×3 conv block (Conv → BatchNorm →
  activation) with that many channels, then a 2×2 max-pool while the feature
  map is at least 4 pixels high and wide; global average pooling → Dropout →
  Linear. Works for 8×8, 28×28, 32×32 (any size ≥ 1).
- ``resnet`` — a small CIFAR-style ResNet with basic blocks (two 3×3 convs and
  an identity or 1×1 projection shortcut): a 3×3 stem, then one stage of
  ``RESNET_BLOCKS`` block(s) per width, global average pooling → Dropout →
  Linear. ``hidden = [w]`` means widths (w, 2w, 4w) — ``hidden = [16]`` is
  ResNet-8; ``[16, 16, 16]`` style lists give the stage widths directly. Stages
  after the first halve the resolution while it is at least 4, so 32×32, 28×28
  and 8×8 inputs all work (adaptive pooling absorbs the rest).

``dropout`` applies after every hidden layer of the MLP and before the
classifier of the conv nets (Dropout modules are only created when > 0);
``activation`` (relu | gelu) is used everywhere. ``cnn``/``resnet`` need image
input (C×H×W): a tabular dataset raises :class:`ModelError`.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import torch
from torch import nn

from traindoc.engine.errors import UserError

log = logging.getLogger(__name__)

from traindoc.engine.config_limits import resnet_layout  # noqa: E402  (torch-free)


class ModelError(UserError, ValueError):
    """A model that cannot be built for this data; the message says why and what to change."""


def build_model(model_cfg: Any, input_shape: tuple[int, ...], num_classes: int) -> nn.Module:
    """The network ``model_cfg`` describes for inputs of ``input_shape`` (without batch)."""
    arch = model_cfg.arch
    hidden = tuple(int(h) for h in model_cfg.hidden)
    if not hidden or min(hidden) < 1:
        raise ModelError(f"model.hidden = {list(hidden)}: expected a non-empty list of widths ≥ 1")
    if num_classes < 1:
        raise ModelError(f"num_classes = {num_classes}: expected at least 1")
    act = _activation(model_cfg.activation)
    dropout = float(model_cfg.dropout)
    if arch == "mlp":
        model: nn.Module = MLP(math.prod(input_shape), hidden, num_classes, act, dropout)
    elif arch in ("cnn", "resnet"):
        if len(input_shape) != 3:
            raise ModelError(
                f"model.arch = {arch!r} needs image input (C×H×W) but the data has shape "
                f"{tuple(input_shape)}: use model.arch = 'mlp' for tabular data"
            )
        cls = SmallCNN if arch == "cnn" else ResNet
        model = cls(tuple(input_shape), hidden, num_classes, act, dropout)
    else:
        raise ModelError(f"model.arch = {arch!r}: expected one of mlp, cnn, resnet")
    log.info("built %s with %d parameters", arch, count_parameters(model))
    return model


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


# ---------------------------------------------------------------- architectures


class MLP(nn.Module):
    def __init__(
        self, in_features: int, hidden: tuple[int, ...], num_classes: int, act: type, dropout: float
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Flatten()]
        width = in_features
        for h in hidden:
            layers += [nn.Linear(width, h), act()]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = h
        layers.append(nn.Linear(width, num_classes))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class SmallCNN(nn.Module):
    def __init__(
        self,
        input_shape: tuple[int, int, int],
        hidden: tuple[int, ...],
        num_classes: int,
        act: type,
        dropout: float,
    ) -> None:
        super().__init__()
        channels, height, width = input_shape
        layers: list[nn.Module] = []
        for h in hidden:
            layers += [
                nn.Conv2d(channels, h, 3, padding=1, bias=False),
                nn.BatchNorm2d(h),
                act(),
            ]
            if height >= 4 and width >= 4:
                layers.append(nn.MaxPool2d(2))
                height, width = height // 2, width // 2
            channels = h
        self.features = nn.Sequential(*layers)
        self.head = _head(channels, num_classes, dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class BasicBlock(nn.Module):
    """Two 3×3 conv-BN layers plus a shortcut (1×1 conv-BN when the shape changes)."""

    def __init__(self, cin: int, cout: int, stride: int, act: type) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.act1 = act()
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.act2 = act()
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.act1(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.act2(out + self.shortcut(x))


class ResNet(nn.Module):
    def __init__(
        self,
        input_shape: tuple[int, int, int],
        hidden: tuple[int, ...],
        num_classes: int,
        act: type,
        dropout: float,
    ) -> None:
        super().__init__()
        stem, layout = resnet_layout(hidden, input_shape)
        self.stem = nn.Sequential(
            nn.Conv2d(input_shape[0], stem, 3, padding=1, bias=False),
            nn.BatchNorm2d(stem),
            act(),
        )
        self.blocks = nn.Sequential(*(BasicBlock(cin, w, stride, act)
                                      for cin, w, stride in layout))
        self.head = _head(layout[-1][1], num_classes, dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.blocks(self.stem(x)))


# ---------------------------------------------------------------- helpers


def _head(channels: int, num_classes: int, dropout: float) -> nn.Sequential:
    layers: list[nn.Module] = [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    if dropout > 0:
        layers.append(nn.Dropout(dropout))
    layers.append(nn.Linear(channels, num_classes))
    return nn.Sequential(*layers)


def _activation(name: str) -> type:
    try:
        return {"relu": nn.ReLU, "gelu": nn.GELU}[name]
    except KeyError:
        raise ModelError(f"model.activation = {name!r}: expected relu or gelu") from None


__all__ = [
    "MLP",
    "BasicBlock",
    "ModelError",
    "ResNet",
    "SmallCNN",
    "build_model",
    "count_parameters",
]
