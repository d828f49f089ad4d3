"""What a finder trains on: the config's data, model and device, as training builds them
(the seeding, device, data, model and generator of :mod:`traindoc.engine.train.setup`,
so a ``model.source`` / ``data.source`` is loaded the same way)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from traindoc.engine.config import RunConfig
from traindoc.engine.train.setup import (
    amp_dtype_for,
    make_generator,
    make_model,
    on_device,
    prepare_data,
    resolve_device,
    seed_all,
)

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
    seed_all(config.seed)
    device = resolve_device(config.train.device)
    train = prepare_data(config).train
    x, y = on_device(train, device)
    model = make_model(config, train, x, device)
    return FinderSetup(
        device=device,
        model=model,
        x=x,
        y=y,
        amp_dtype=amp_dtype_for(config.train.amp, device),
        generator=make_generator(device, config.seed),
    )


__all__ = ["Emit", "FinderSetup", "prepare"]
