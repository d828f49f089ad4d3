"""End-of-epoch evaluation (training process only).

- :func:`evaluate` is the mean loss (cross-entropy, or MSE for a regression) and
  accuracy over a whole split.
- :class:`EarlyStopping` is the patience rule on ``val/loss``; it remembers the best epoch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from traindoc.engine.train.step import loss_of

EVAL_BATCH = 1024


@dataclass(slots=True)
class EarlyStopping:
    """Patience on ``val/loss``; remembers the best epoch. ``update`` reads like a rule."""

    patience: int
    best_loss: float = math.inf
    best_epoch: int = -1
    bad_epochs: int = 0

    def update(self, val_loss: float, epoch: int) -> tuple[bool, str]:
        if math.isfinite(val_loss) and val_loss < self.best_loss:
            self.best_loss, self.best_epoch, self.bad_epochs = val_loss, epoch, 0
            return False, ""
        self.bad_epochs += 1
        if self.bad_epochs >= self.patience:
            return True, (
                f"early stopping: val/loss has not improved for {self.bad_epochs} "
                f"epoch{'s' * (self.bad_epochs != 1)} "
                f"(best {self.best_loss:.4g} at epoch {self.best_epoch + 1})"
            )
        return False, ""


@torch.no_grad()
def evaluate(
    model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, amp_dtype: torch.dtype | None
) -> tuple[float, float]:
    """Mean loss and accuracy over a whole split (accuracy NaN for a regression)."""
    model.eval()
    loss_sum = torch.zeros((), device=x.device, dtype=torch.float64)
    correct = torch.zeros((), device=x.device, dtype=torch.int64)
    for start in range(0, len(y), EVAL_BATCH):
        xb, yb = x[start : start + EVAL_BATCH], y[start : start + EVAL_BATCH]
        with torch.autocast(x.device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
            logits = model(xb)
        loss_sum += loss_of(logits, yb, reduction="sum").double()
        if not yb.is_floating_point():
            correct += (logits.argmax(1) == yb).sum()
    model.train()
    n = max(1, len(y))
    # note: CPU-GPU sync point (once per evaluation).
    accuracy = math.nan if y.is_floating_point() else correct.item() / n
    return loss_sum.item() / n, accuracy
