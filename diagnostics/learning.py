"""Facts about whether a model learns, shared by the rules: nothing learned at all, a
model that predicts one class, train and validation accuracies that are both poor
and close (the seed's 70% / 68%)."""

from __future__ import annotations

import numpy as np

from traindoc.diagnostics.facts import (
    EDGE,
    cached,
    flat_loss,
    late_level,
    loss_judges,
    metric,
    metric_stuck,
    progress,
    reward_run,
    smooth,
    usable,
    warming_up,
)
from traindoc.diagnostics.signals import accuracy_scale, edge_level, edge_mask
from traindoc.diagnostics.trend import Trend, modal, trend
from traindoc.diagnostics.view import RunView

#: A validation accuracy that takes one exact value at this share of the evaluations
#: (the last one included) is a model that predicts one class: a learning model's
#: accuracy moves with every evaluation.
CONSTANT_SHARE = 0.5

#: Seed: train 70% / test 68% is underfitting, 95% / 93% is fine. "Poor" is below 80%.
POOR_ACCURACY = 0.80

#: ...and "close" is a gap under 10 points either way (10 or more is overfitting,
#: seed 99% / 75%).
CLOSE_GAP = 0.10

#: Evaluations needed before "poor" is a verdict rather than an early snapshot.
MIN_EVALS = 5

#: A train accuracy still gaining this much over its second half is still learning...
STILL_LEARNING = 0.01

#: ...unless even this many more runs of the same length, at its current pace, would
#: leave it poor: "训练更久" (train longer, epochs x2) cannot rescue it.
EXTRA_RUNS = 2.0

#: The current pace is the slower of the second half's and the last quarter's: a
#: learning curve decelerates, and a jump early in the second half says nothing of
#: where it is going now. The last quarter is judged on at least this many points.
RECENT_SHARE = 0.25
RECENT_MIN_POINTS = 3


@cached
def constant_accuracy(view: RunView) -> tuple[str, float, float] | None:
    """(role, value, share) when the validation accuracy sits on one exact value at
    most evaluations, the last included: the model predicts one class."""
    role = "val_accuracy"
    if not usable(view, role, 5) or not view.summaries[role].exact:
        return None
    y = view.curve(role).y
    value, share = modal(y)
    if share < CONSTANT_SHARE or y[-1] != value or value >= 1.0:
        return None  # (a perfect score repeats on a small validation set)
    if usable(view, "train_accuracy", 5):
        c = view.curve("train_accuracy")
        late = c.x >= c.x[len(c) // 2]
        if trend(c.x[late], c.y[late]).rising(view.cal.trend_z):
            return None  # training accuracy still climbs: it learns (or memorises)
    return role, value, share


@cached
def reported_pair(view: RunView) -> bool:
    """A final train/validation accuracy pair given on its own (the seed's "train 70% /
    test 68%"): judged as it stands, unlike the first evaluation of a run in progress."""
    return (view.has("train_accuracy") and view.has("val_accuracy")
            and all(len(seg) <= 1 for seg in view.summaries.values()))


def accuracies_judgeable(view: RunView, n: int = 5) -> bool:
    """Enough train and validation accuracies for a verdict on their final levels."""
    both = view.has("train_accuracy", n) and view.has("val_accuracy", n)
    return both or reported_pair(view)


@cached
def poor_and_close(view: RunView) -> tuple[float, float] | None:
    """(train, validation) final accuracies, 0-1, when both are under 80% and within 10
    points of each other, the learning rate has finished warming up, training accuracy
    has stopped improving, and validation accuracy was never 10 points better (a run
    that fell from 83% to 51% is unstable, not too small); else None."""
    if not accuracies_judgeable(view, MIN_EVALS) or warming_up(view):
        return None
    tr, va = view.curve("train_accuracy"), view.curve("val_accuracy")
    t_end = edge_level(tr, EDGE, head=False) / accuracy_scale(tr.y)
    v_end = edge_level(va, EDGE, head=False) / accuracy_scale(va.y)
    if t_end >= POOR_ACCURACY or v_end >= POOR_ACCURACY or abs(t_end - v_end) >= CLOSE_GAP:
        return None
    best = float(np.max(smooth(va)))
    if (best - late_level(va)) / accuracy_scale(va.y) >= CLOSE_GAP:
        return None  # it was 10 points better before: unstable (too large a step), not small
    if len(tr) >= MIN_EVALS and still_learning(tr, t_end):
        return None
    return t_end, v_end


def second_half_trend(c) -> Trend:
    """The trend of an accuracy curve's second half, on a 0-1 scale (worked out once:
    the underfitting rule words its evidence from it too)."""
    return c.remembered("second_half_trend", _second_half_trend, c)


def _second_half_trend(c) -> Trend:
    late = edge_mask(c, 0.5, head=False)
    return trend(c.x[late], c.y[late] / accuracy_scale(c.y))


def still_learning(tr, t_end: float) -> bool:
    """The train accuracy (0-1 at ``t_end``) still gains ``STILL_LEARNING`` over its
    second half, and ``EXTRA_RUNS`` more runs of the same length at its current pace
    (the slower of the second half's and the last quarter's) would lift it out of poor."""
    scale = accuracy_scale(tr.y)
    half = second_half_trend(tr)
    if half.change < STILL_LEARNING:
        return False
    recent = edge_mask(tr, RECENT_SHARE, head=False, min_points=RECENT_MIN_POINTS)
    slope = min(half.slope, trend(tr.x[recent], tr.y[recent] / scale).slope)
    span = float(tr.x[-1] - tr.x[0])
    return t_end + slope * span * EXTRA_RUNS >= POOR_ACCURACY


@cached
def train_learns(view: RunView) -> bool:
    """The training loss fell clearly (by 10% or more, out of its noise)."""
    if not usable(view, "train_loss", 5):
        return False
    p = progress(view, "train_loss", False)
    return p.rel >= 0.1 and p.gain > 3 * p.sigma


@cached
def train_still_learns(view: RunView) -> bool:
    """The training loss still falls significantly over the second half (a collapsed
    model learns the class prior in its first epoch, then stays flat)."""
    if not usable(view, "train_loss", 5):
        return False
    c = view.curve("train_loss")
    late = c.x >= c.x[len(c) // 2]
    return trend(c.x[late], c.y[late]).falling(view.cal.trend_z)


@cached
def no_learning(view: RunView) -> str | None:
    """Evidence that the run learned nothing at all, or None."""
    flat = flat_loss(view)
    if flat is not None and (loss_judges(view) or metric(view) is None):
        role, change = flat
        return f"{role} changed by {change:.2%} over the run"
    const = constant_accuracy(view)
    if const is not None and not train_still_learns(view):
        _, value, share = const
        return (f"validation accuracy was exactly {value:.4g} at {share:.0%} of the "
                "evaluations: the model predicts one class")
    stuck = metric_stuck(view)
    if stuck is not None and (reward_run(view) or not train_learns(view)):
        return stuck
    return None
