"""Optimizers (``[optim]``, SPEC §6).

- ``sgd`` — plain SGD (momentum 0); ``momentum`` — SGD with ``optim.momentum``
  (heavy ball, no Nesterov); ``adam`` — Adam; ``adamw`` — AdamW.
- ``weight_decay``: for sgd/momentum/adam it is PyTorch's coupled L2 penalty
  (added to the gradient); for adamw it is decoupled (applied to the weights).
- Two parameter groups: ``decay`` (weights of Linear/Conv layers: every
  parameter with two or more dimensions) and ``no_decay`` (biases and
  normalisation scales/shifts: every 1-D or scalar parameter) with weight decay
  0, as nanoGPT and most recipes do — decaying a BatchNorm scale or a bias only
  fights the model. Empty groups are left out.
- Each group's ``lr`` is the PEAK learning rate, also stored as
  ``group["initial_lr"]``; the loop multiplies it by the schedule factor every
  step (``group["lr"] = group["initial_lr"] * lr_factor(...)``, see
  :func:`set_lr_factor`).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

DECAY, NO_DECAY = "decay", "no_decay"


def parameter_groups(model: nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """Trainable parameters split into a decayed group and a non-decayed one."""
    decay, no_decay = [], []
    for param in model.parameters():
        if param.requires_grad:
            (decay if param.ndim >= 2 else no_decay).append(param)
    groups = [
        {"name": DECAY, "params": decay, "weight_decay": weight_decay},
        {"name": NO_DECAY, "params": no_decay, "weight_decay": 0.0},
    ]
    return [g for g in groups if g["params"]]


def build_optimizer(optim_cfg: Any, model: nn.Module) -> torch.optim.Optimizer:
    """The optimizer ``optim_cfg`` names over ``model``'s trainable parameters."""
    name, lr = optim_cfg.name, float(optim_cfg.lr)
    groups = parameter_groups(model, float(optim_cfg.weight_decay))
    if not groups:
        raise ValueError("the model has no trainable parameters")
    if name == "sgd":
        opt: torch.optim.Optimizer = torch.optim.SGD(groups, lr=lr, momentum=0.0)
    elif name == "momentum":
        opt = torch.optim.SGD(groups, lr=lr, momentum=float(optim_cfg.momentum))
    elif name == "adam":
        opt = torch.optim.Adam(groups, lr=lr)
    elif name == "adamw":
        opt = torch.optim.AdamW(groups, lr=lr)
    else:
        raise ValueError(f"optim.name = {name!r}: expected one of sgd, momentum, adam, adamw")
    for group in opt.param_groups:
        group["initial_lr"] = group["lr"]
    return opt


def set_lr_factor(optimizer: torch.optim.Optimizer, factor: float) -> None:
    """Set every group's lr to its peak (``initial_lr``) × ``factor`` (a schedule value)."""
    for group in optimizer.param_groups:
        group["lr"] = group["initial_lr"] * factor


__all__ = ["DECAY", "NO_DECAY", "build_optimizer", "parameter_groups", "set_lr_factor"]
