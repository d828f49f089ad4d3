"""Rule ``slow-descent``: the loss falls, steadily, but far too slowly."""

from __future__ import annotations

from diagnostics.learning_rate import lr_far_too_low
from diagnostics.rules.base import Rule, RunView
from diagnostics.signals import (
    Curve,
    edge_level,
    edge_mask,
    fmt,
    noise_sigma,
    pct,
    resistant_slope,
)
from diagnostics.types import Finding, Severity

#: Share of the points whose median is the start (end) level.
EDGE_FRACTION = 0.1

#: Below this relative change over the whole run nothing was learned at all: that is
#: ``underfitting`` ("no learning"), not a slow descent. The seed's slow run moves
#: 0.1% per step (100 -> 99.7); a stuck one (ln 29 for 59 epochs) moves 0.01%.
NO_LEARNING = 1e-3

#: A run that lost less than this share of its starting loss made little progress.
#: The seed's drawing of a too-small learning rate falls 2.0 -> 1.7 (15%); its healthy
#: run falls 100 -> 5 (95%).
MAX_DROP = 0.30

#: "Still falling at the same pace": the slope of the second half at least this
#: share of the whole run's slope. A healthy curve flattens (an exponential decay
#: over the run gives ratios near 0.2); a too-small step gives a straight line (1.0).
MIN_LINEARITY = 0.5

#: The descent must stand out of the noise: at least this many noise sigmas.
MIN_SIGMAS = 3.0


def steady_descent(c: Curve, start: float, end: float) -> float | None:
    """The late/overall slope ratio when ``c`` falls out of its noise in a near-straight
    line (the shape of a too-small step), else None."""
    if start - end <= 0 or start - end < MIN_SIGMAS * noise_sigma(c.y):
        return None
    slope = resistant_slope(c.x, c.y)
    late = edge_mask(c, 0.5, head=False)
    late_slope = resistant_slope(c.x[late], c.y[late]) if late.sum() >= 2 else slope
    if slope >= 0 or late_slope > MIN_LINEARITY * slope:
        return None
    return late_slope / slope


def slow_shape(c: Curve) -> float | None:
    """The late/overall slope ratio when ``c`` lost 0.1-30% of its start in a steady
    straight line (the rule's curve test), else None."""
    start = edge_level(c, EDGE_FRACTION, head=True)
    end = edge_level(c, EDGE_FRACTION, head=False)
    if start <= 0 or not NO_LEARNING <= (start - end) / start < MAX_DROP:
        return None
    return steady_descent(c, start, end)


def falls_slowly(view: RunView) -> bool:
    """The run's loss shows this rule's slow, straight descent (other rules defer)."""
    role = loss_role(view)
    return view.has(role, SlowDescent.min_points) and slow_shape(view.curve(role)) is not None


def loss_role(view: RunView) -> str:
    return "train_loss" if view.has("train_loss", SlowDescent.min_points) else "val_loss"


def lr_too_low_evidence(view: RunView) -> str | None:
    """Why the run's known config explains a loss that barely moved, or None.

    Fires when the configured learning rate is far below the seed's for its optimizer
    (``diagnostics.learning_rate``) and the loss lost less than ``MAX_DROP`` of its
    start, however flat or noisy the curve (at lr 1e-6 SGD moves the loss 0.001%).
    """
    why = lr_far_too_low(view.config)
    if why is None or not view.has(loss_role(view), SlowDescent.min_points):
        return None
    c = view.curve(loss_role(view))
    start = edge_level(c, EDGE_FRACTION, head=True)
    end = edge_level(c, EDGE_FRACTION, head=False)
    if start <= 0 or (start - end) / start >= MAX_DROP:
        return None
    return why


class SlowDescent(Rule):
    """The loss falls far too slowly for the run's length.

    What it detects:
        A training loss (validation when no training loss is logged) that falls
        steadily — out of the noise, at an undiminished pace, in a near-straight
        line — yet loses less than 30% of its starting value over the whole run.

    Why it matters:
        The steps are too small: the run would need days to get anywhere ("训练太慢,
        几天都学不完"). A healthy curve falls fast and then flattens.

    Example:
        The seed's learning rate of 0.000001: loss 100 -> 99.9 -> 99.8 -> 99.7; its
        drawing falls 2.0 -> 1.7 in a straight line ("下降太慢了").

    Remedies:
        Raise the learning rate ten-fold; switch to AdamW (lr 0.001).

    When the run's config is known, the learning rate decides too: a rate 100x or
    more below the seed's usual one for its optimizer (AdamW 0.001, SGD 0.1) with a
    loss that lost under 30% is reported here whatever the curve's shape — at SGD lr
    1e-6 the loss moves by 0.001%, which on the curve alone reads as "no learning"
    (``underfitting``), but the cause is known and the seed's cure is lr x10. Without
    a config (foreign logs) only the curve's shape counts: an lr alone does not say
    which optimizer it drives, and 2e-5 is a normal AdamW fine-tuning rate.
    """

    id = "slow-descent"
    title = "Loss falls too slowly"
    needs = (("train_loss",), ("val_loss",))
    min_points = 4

    def check(self, view: RunView) -> list[Finding]:
        role = loss_role(view)
        c = view.curve(role)
        start = edge_level(c, EDGE_FRACTION, head=True)
        end = edge_level(c, EDGE_FRACTION, head=False)
        if start <= 0:
            return []
        drop = (start - end) / start
        steps = int(c.step[-1] - c.start[0])
        why = lr_too_low_evidence(view)
        if why is not None:
            return [self.finding(
                view, Severity.WARNING, int(c.start[0]), int(c.step[-1]),
                f"{role} went from {fmt(start)} to {fmt(end)} ({pct(-drop)}) over {steps} "
                f"steps and {why}", role=role, cause="lr-too-small")]
        ratio = slow_shape(c)
        if ratio is None:
            return []
        per = f" ({pct(drop / max(1, len(c) - 1))} per logged point)"
        return [self.finding(
            view, Severity.WARNING, int(c.start[0]), int(c.step[-1]),
            f"{role} fell only from {fmt(start)} to {fmt(end)} ({pct(drop)}) over "
            f"{steps} steps{per}, still in a straight line: the second half fell at "
            f"{ratio:.0%} of the overall pace", role=role)]
