"""What a training run builds before its first step (training process only).

- :func:`resolve_device` and :func:`amp_dtype_for` turn ``train.device`` and
  ``train.amp`` into a torch device and an autocast dtype (``AMP_NAMES`` names it).
- :func:`prepare_data` and :func:`make_model`: the data and the model of a config,
  built-in or the user's (``data.source`` / ``model.source``), for the loop and finders.
- :func:`seed_all`, :func:`on_device` and :func:`make_generator`: the seeding,
  the split-to-tensors copy and the sampling generator every torch entry point
  (the loop, the finders) starts with.
- :class:`Run` holds everything the loop reads step after step — model,
  optimizer, gradient buffer, data on the device, AMP settings, step counts —
  and :func:`build_run` builds it from a config.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from traindoc.engine.config import ConfigError, RunConfig
from traindoc.engine.config_limits import check_model_budget
from traindoc.engine.data import datasets
from traindoc.engine.train.augment import augment_batch
from traindoc.engine.train.grads import FlatGrads
from traindoc.engine.train.models import ModelError, build_model
from traindoc.engine.train.optim import build_optimizer
from traindoc.engine.train.user_code import build_user_model, check_first_batch, load_user_data

AMP_NAMES = {None: "off", torch.bfloat16: "bf16", torch.float16: "fp16"}

Transform = Callable[[torch.Tensor], torch.Tensor]


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"train.device = {name!r}: CUDA is not available on this machine")
    return torch.device(name)


def visible_gpus() -> int:
    """How many CUDA GPUs this process sees (0 without CUDA)."""
    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def amp_dtype_for(mode: str, device: torch.device) -> torch.dtype | None:
    """``auto`` → bf16 where the GPU supports it, else fp16 (with a GradScaler); CPU: off."""
    if mode == "off" or device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def seed_all(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed)


def on_device(split: datasets.ArrayDataset, device: torch.device) -> tuple[torch.Tensor, ...]:
    """A split's inputs and labels as tensors on ``device``."""
    return torch.as_tensor(split.x, device=device), torch.as_tensor(split.y, device=device)


def prepare_data(config: RunConfig) -> datasets.PreparedData:
    """The run's data: the user's ``data.source`` when set, else ``data.dataset``."""
    if config.data.source:
        return load_user_data(config.data.source)  # same attributes as PreparedData
    return datasets.prepare(config.data, config.seed)


def make_model(
    config: RunConfig, train: datasets.ArrayDataset, x: torch.Tensor, device: torch.device
) -> torch.nn.Module:
    """The user's ``model.source`` (checked on the first batch ``x``), else the built-in arch."""
    if not config.model.source:
        if train.num_classes is None:
            raise ModelError("data.source gives float targets (a regression): the built-in "
                             "models classify; set model.source to a model of your own")
        # The parameter budget on the real data (validation only knew a lower bound for files).
        check_model_budget(config.model.arch, tuple(config.model.hidden), train.input_shape,
                           train.num_classes)
        return build_model(config.model, train.input_shape, train.num_classes).to(device)
    model = build_user_model(config.model, train.input_shape, train.num_classes).to(device)
    check_first_batch(model, x, train.num_classes)
    return model


def make_generator(device: torch.device, seed: int) -> torch.Generator:
    """The generator that draws the batch order (and augmentation) on ``device``."""
    generator = torch.Generator(device=device)
    generator.manual_seed(seed)
    return generator


@dataclass(slots=True)
class Run:
    """Everything a training run reads step after step, built once by :func:`build_run`."""

    config: RunConfig
    device: torch.device
    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    grads: FlatGrads  # norm, clip, guard and zeroing: one kernel each
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    amp_dtype: torch.dtype | None
    scaler: torch.amp.GradScaler | None  # fp16 only
    generator: torch.Generator
    transform: Transform | None  # on-device augmentation, when on
    step_samples: int  # samples per optimizer step (batch × accumulation)
    steps_per_epoch: int

    @property
    def total_steps(self) -> int:
        return self.steps_per_epoch * self.config.train.epochs

    @property
    def n_train(self) -> int:
        return len(self.y_train)

    @property
    def amp_name(self) -> str:
        return AMP_NAMES[self.amp_dtype]


def build_run(config: RunConfig) -> Run:
    """Seed, load the data onto the device, build model, optimizer and AMP."""
    seed_all(config.seed)
    device = resolve_device(config.train.device)
    prepared = prepare_data(config)
    train_set = prepared.train
    x_train, y_train = on_device(train_set, device)
    x_val, y_val = on_device(prepared.val, device)
    model = make_model(config, train_set, x_train, device)
    optimizer = build_optimizer(config.optim, model)
    grads = FlatGrads([p for p in model.parameters() if p.requires_grad])
    amp_dtype = amp_dtype_for(config.train.amp, device)
    generator = make_generator(device, config.seed)
    transform = None
    if config.data.augment and train_set.is_image:
        flip = prepared.hflip  # mirrored digits are other digits: only natural images flip

        def transform(xb: torch.Tensor) -> torch.Tensor:
            return augment_batch(xb, generator, flip=flip)

    step_samples = config.data.batch_size * config.train.grad_accum
    return Run(
        config=config,
        device=device,
        model=model,
        optimizer=optimizer,
        grads=grads,
        x_train=x_train,
        y_train=y_train,
        x_val=x_val,
        y_val=y_val,
        amp_dtype=amp_dtype,
        scaler=torch.amp.GradScaler("cuda") if amp_dtype == torch.float16 else None,
        generator=generator,
        transform=transform,
        step_samples=step_samples,
        steps_per_epoch=max(1, math.ceil(len(train_set.y) / step_samples)),
    )
