"""Which form fields apply to the config being edited, and why the others do not.

The engine ignores some keys for some choices (``optim.momentum`` outside the
``momentum`` optimizer, a constant schedule's warmup, patience without early
stopping); the form disables those fields and says why in their tooltip.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


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
    return out
