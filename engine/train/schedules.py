"""Learning-rate schedules (``[schedule]``, SPEC §6): the multiplier of the peak lr per step.

Pure Python (no torch). The training loop sets
``group["lr"] = peak × lr_factor(step, total_steps, cfg)`` before optimizer step
``step`` (0-based), so the schedule is a plain function of the step and needs
no scheduler state in checkpoints.

Shapes (``W = round(warmup × T)`` and ``D = round(decay × T)`` steps of a run of
``T`` optimizer steps; ``r = final_lr_ratio``):

- ``constant`` — 1 at every step (warmup and decay are ignored).
- ``warmup-plateau-decay`` — the seed's drawing (学习率调度策略: first 5% warmup
  from 0 to the peak, middle 70% at the peak, last 25% down to 0.1 × peak):
  linear warmup ``(step + 1) / W`` — so step 0 already trains (at peak / W) and
  step W − 1 reaches the peak —, plateau at 1, then a *linear* decay over the
  last D steps reaching exactly ``r`` at the final step ``T − 1`` (the seed
  draws a straight slope). The first decay step is already below the peak.
- ``cosine`` — the same warmup, then cosine annealing from 1 to ``r`` over all
  remaining steps, reaching ``r`` at the final step (``decay`` is ignored).
- ``step`` — the same warmup, then ×0.1 from step ``⌊T/2⌋`` and ×0.01 from step
  ``⌊3T/4⌋`` (PyTorch's MultiStepLR with milestones at 50% and 75%, gamma 0.1),
  never below ``r`` (so ``r`` stays the lowest lr of a run in every kind; with
  the default r = 0.1 the second drop is absorbed, with r ≤ 0.01 it is the
  classic 1 → 0.1 → 0.01).

Edge cases: a fraction that rounds to zero steps gives no phase, but a positive
fraction always gets at least one step (when the run has room for it); warmup
has priority when warmup + decay do not fit. A run of a single step trains at
the peak (factor 1) in every kind.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

KINDS = ("constant", "warmup-plateau-decay", "cosine", "step")
STEP_GAMMA = 0.1
STEP_MILESTONES = (0.5, 0.75)  # fractions of the run


@dataclass(frozen=True, slots=True)
class Phases:
    """Step counts of a schedule's phases for a run of ``total`` steps."""

    total: int
    warmup: int
    decay: int

    @property
    def decay_start(self) -> int:
        return self.total - self.decay


def phases(total_steps: int, schedule_cfg: Any) -> Phases:
    """How many steps warmup and decay take (``decay`` counts the cosine tail too)."""
    total = max(1, int(total_steps))
    if schedule_cfg.kind == "constant" or total == 1:
        return Phases(total, 0, 0)
    warmup = _steps(schedule_cfg.warmup, total, room=total - 1)
    if schedule_cfg.kind == "cosine":
        decay = total - warmup
    elif schedule_cfg.kind == "warmup-plateau-decay":
        decay = _steps(schedule_cfg.decay, total, room=total - warmup)
    else:
        decay = 0
    return Phases(total, warmup, decay)


def lr_factor(step: int, total_steps: int, schedule_cfg: Any) -> float:
    """Multiplier of the peak lr for optimizer step ``step`` (0-based) of ``total_steps``."""
    kind = schedule_cfg.kind
    if kind not in KINDS:
        raise ValueError(f"schedule.kind = {kind!r}: expected one of {', '.join(KINDS)}")
    if kind == "constant" or total_steps <= 1:
        return 1.0
    ph = phases(total_steps, schedule_cfg)
    step = min(max(int(step), 0), ph.total - 1)
    if step < ph.warmup:
        return (step + 1) / ph.warmup
    ratio = float(schedule_cfg.final_lr_ratio)
    if kind == "step":
        drops = sum(step >= math.floor(m * ph.total) for m in STEP_MILESTONES)
        return max(STEP_GAMMA**drops, ratio)
    if step < ph.decay_start:
        return 1.0
    progress = (step - ph.decay_start + 1) / ph.decay  # in (0, 1], 1 at the final step
    if kind == "cosine":
        return ratio + (1.0 - ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))
    return ratio + (1.0 - ratio) * (1.0 - progress)


def _steps(fraction: float, total: int, *, room: int) -> int:
    """``round(fraction × total)`` steps, ≥ 1 when the fraction is positive, ≤ ``room``."""
    if fraction <= 0 or room <= 0:
        return 0
    return min(room, max(1, math.floor(fraction * total + 0.5)))


__all__ = ["KINDS", "Phases", "lr_factor", "phases"]
