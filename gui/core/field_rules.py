"""Which form fields apply to the config being edited, and why the others do not.

The engine ignores some keys for some choices (``optim.momentum`` outside the
``momentum`` optimizer, a constant schedule's warmup, patience without early
stopping, a machine's rank when there is one machine, the built-in dataset or
architecture while ``data.source`` / ``model.source`` names the user's own); the
form disables those fields and says why in their tooltip.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from traindoc.engine.config_sources import MODEL_OPTIONS, accepted_options, split_source


def _on(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes", "on")
    return bool(value)


def inapplicable(values: Mapping[str, Any]) -> dict[str, str]:
    """``{key: why it does not apply}`` for the fields the current values make moot."""
    out: dict[str, str] = {}
    optimizer = str(values.get("optim.name", "")).strip()
    if optimizer != "momentum":
        out["optim.momentum"] = (
            f"not used by {optimizer or 'this optimizer'}: only the momentum optimizer "
            "(SGD with momentum) uses it; plain sgd runs with momentum 0"
        )
    kind = str(values.get("schedule.kind", "")).strip()
    if kind == "constant":
        for key in ("schedule.warmup", "schedule.final_lr_ratio"):
            out[key] = "not used by the constant schedule"
    if kind != "warmup-plateau-decay":
        out["schedule.decay"] = f"not used by the {kind or 'chosen'} schedule: " \
                                "only warmup-plateau-decay has a decay phase"
    if not _on(values.get("train.early_stopping", False)):
        out["train.patience"] = "used only with early stopping"
    if "train.nnodes" in values and str(values["train.nnodes"]).strip() in ("1", ""):
        out["train.node_rank"] = "used only with several machines (Machines > 1)"
    out.update(_replaced_by_sources(values))
    return out


def _function(spec: str) -> str:
    path, name = split_source(spec)
    return f"{name} in {Path(path).name}"


def _replaced_by_sources(values: Mapping[str, Any]) -> dict[str, str]:
    """The built-in fields a ``data.source`` / ``model.source`` replaces; a model
    option stays when the factory's signature takes it (or when that cannot be told)."""
    out: dict[str, str] = {}
    data = str(values.get("data.source") or "").strip()
    if data:
        out["data.dataset"] = f"not used: the data comes from {_function(data)} (data.source)"
    model = str(values.get("model.source") or "").strip()
    if model:
        out["model.arch"] = f"not used: the model comes from {_function(model)} (model.source)"
        accepted = accepted_options(model)
        for option in MODEL_OPTIONS if accepted is not None else ():
            if option not in accepted:
                out[f"model.{option}"] = (f"not used: {_function(model)} (model.source) "
                                          f"takes no {option} argument")
    return out
