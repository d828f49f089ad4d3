"""What a finder trains on: the config's data, model and device, as training builds them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from traindoc.engine.config import RunConfig
from traindoc.engine.data import datasets
from traindoc.engine.train.loop import amp_dtype_for, resolve_device
from traindoc.engine.train.models import build_model

Emit = Callable[[object], None]  # hands an event to the parent process


@dataclass(frozen=True, slots=True)
class FinderSetup:
    """The training set on the device, a fresh model, and the seeded generator."""

    device: torch.device
    model: torch.nn.Module
    x: torch.Tensor
    y: torch.Tensor
    amp_dtype: torch.dtype | None
    generator: torch.Generator


def prepare(config: RunConfig) -> FinderSetup:
    """Seed, load the training set onto the device and build the model (no optimizer)."""
    torch.manual_seed(config.seed)
    np.random.seed(config.seed)
    device = resolve_device(config.train.device)
    train = datasets.prepare(config.data, config.seed).train
    model = build_model(config.model, train.input_shape, train.num_classes).to(device)
    generator = torch.Generator(device=device)
    generator.manual_seed(config.seed)
    return FinderSetup(
        device=device,
        model=model,
        x=torch.as_tensor(train.x, device=device),
        y=torch.as_tensor(train.y, device=device),
        amp_dtype=amp_dtype_for(config.train.amp, device),
        generator=generator,
    )


__all__ = ["Emit", "FinderSetup", "prepare"]
