"""What the finders found: typed, picklable records, torch-free (numpy only).

The finder process returns its result in ``Finished.result``
(:func:`traindoc.engine.find.finders.sweep.run_lr_find`,
:func:`traindoc.engine.find.finders.batch.run_batch_find`); the CLI prints it and
the GUI dialogs show it. Each result says:

- ``patch()``: the config change it recommends, in dotted keys for
  :func:`traindoc.engine.config.apply_patch` (``--apply`` on the command line,
  the dialogs' buttons); empty when there is nothing to recommend;
- ``as_dict()``: the JSON document written to the finder's folder
  (:data:`LR_FIND_FILE`, :data:`BATCH_FIND_FILE`), printed by ``--json`` and
  drawn by :mod:`traindoc.gui.lr_plot`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from traindoc.engine.find.suggest import BatchPlan, Suggestion, config_lr

LR_FIND_FILE = "lr_find.json"
LR_FIND_PLOT = "lr_find.png"
BATCH_FIND_FILE = "batch_find.json"


def json_floats(values: np.ndarray) -> list[float | None]:
    """Floats for a JSON document: ``None`` where a value is not finite."""
    return [v if math.isfinite(v) else None for v in np.asarray(values, dtype=float).tolist()]


@dataclass(frozen=True, slots=True, eq=False)
class LrFindResult:
    """A learning-rate range test: the curve, why it ended, and the suggestion."""

    device: str
    lrs: np.ndarray  # the rates used (the sweep may end before its last rate)
    losses: np.ndarray  # raw loss per rate, NaN where non-finite
    suggestion: Suggestion
    configured_lr: float
    end_reason: str

    @property
    def smoothed(self) -> np.ndarray:
        """The curve the suggestion read, aligned with ``lrs`` (NaN where unused)."""
        return self.suggestion.smoothed

    @property
    def suggested_lr(self) -> float | None:
        """The suggestion as a config holds it (three significant digits), or None."""
        lr = self.suggestion.lr
        return config_lr(lr) if lr else None

    def patch(self) -> dict[str, Any]:
        """``{"optim.lr": ...}`` with the suggestion; empty when there is none."""
        lr = self.suggested_lr
        return {} if lr is None else {"optim.lr": lr}

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": "lr-find",
            "device": self.device,
            "lrs": np.asarray(self.lrs, dtype=float).tolist(),
            "losses": json_floats(self.losses),
            "smoothed": json_floats(self.smoothed),
            "suggestion": self.suggestion.as_dict(),
            "configured_lr": self.configured_lr,
            "end_reason": self.end_reason,
        }


@dataclass(frozen=True, slots=True)
class BatchTrial:
    """One batch size tried: whether its training steps fit, and their peak memory."""

    batch: int
    fits: bool
    peak_mb: float


@dataclass(frozen=True, slots=True)
class BatchFindResult:
    """The batch-size search (double until out of memory) and the plan that reaches the target."""

    device: str
    memory_limit_mb: float | None
    memory_limit_source: str
    train_size: int
    max_batch: int  # the cap: the training set size or --max-batch
    tried: tuple[BatchTrial, ...]  # in the order tried
    largest_fit: int  # 0 when not even a batch of 1 fits
    first_failure: int | None
    capped: bool  # no out-of-memory up to max_batch
    recommended: int  # largest_fit - 20%, rounded down to a power of two (0: none)
    target: int  # the effective batch to reach
    configured_batch: int  # the config's data.batch_size
    configured_accum: int  # the config's train.grad_accum
    configured_lr: float
    plan: BatchPlan | None  # None when nothing fits

    def patch(self) -> dict[str, Any]:
        """Batch size, accumulation steps and scaled lr; empty when nothing fits."""
        return {} if self.plan is None else self.plan.patch()

    def as_dict(self) -> dict[str, Any]:
        plan = self.plan
        return {
            "kind": "batch-find",
            "device": self.device,
            "memory_limit_mb": self.memory_limit_mb,
            "memory_limit_source": self.memory_limit_source,
            "train_size": self.train_size,
            "max_batch": self.max_batch,
            "tried": [
                {"batch": t.batch, "fits": t.fits, "peak_mb": t.peak_mb} for t in self.tried
            ],
            "largest_fit": self.largest_fit,
            "first_failure": self.first_failure,
            "capped": self.capped,
            "recommended": self.recommended,
            "target": self.target,
            "configured": {
                "batch_size": self.configured_batch,
                "grad_accum": self.configured_accum,
                "lr": self.configured_lr,
            },
            "plan": None
            if plan is None
            else {
                "micro_batch": plan.micro_batch,
                "accum_steps": plan.accum_steps,
                "effective_batch": plan.effective_batch,
                "lr": plan.lr,
            },
        }


__all__ = [
    "BATCH_FIND_FILE",
    "LR_FIND_FILE",
    "LR_FIND_PLOT",
    "BatchFindResult",
    "BatchTrial",
    "LrFindResult",
    "json_floats",
]
