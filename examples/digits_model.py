"""An example ``model.source``: a small MLP factory.

traindoc calls ``make_mlp(input_shape, num_classes, hidden=..., dropout=...)`` with
the config's ``model.hidden`` and ``model.dropout`` (the options its signature
names), so the ``more-dropout`` fix changes this model for real.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from torch import nn


def make_mlp(
    input_shape: tuple[int, ...],
    num_classes: int,
    hidden: Sequence[int] = (128,),
    dropout: float = 0.0,
) -> nn.Module:
    """Flatten, then ``hidden`` ReLU layers with dropout, then the class scores."""
    layers: list[nn.Module] = [nn.Flatten()]
    width = math.prod(input_shape)
    for size in hidden:
        layers += [nn.Linear(width, size), nn.ReLU(), nn.Dropout(dropout)]
        width = size
    layers.append(nn.Linear(width, num_classes))
    return nn.Sequential(*layers)
