"""Rule ``oscillation``: the loss swings up and down with no net descent."""

from __future__ import annotations

import numpy as np

from diagnostics.rules.base import Rule, RunView
from diagnostics.rules.underfitting import learns_nothing
from diagnostics.signals import Curve, edge_level, edge_mask, fmt, resistant_slope
from diagnostics.types import Finding, Severity

#: Curves this short are judged whole; longer ones on their second half (the
#: first half holds the descent a healthy run makes).
SHORT_CURVE = 12

#: Share of the points whose median is the starting level.
HEAD_FRACTION = 0.05

#: Swings must be material: their size (IQR around the trend) at least this share of
#: the loss level. Below 5% the curve is flat for any practical purpose.
MIN_SWING_REL = 0.05

#: ...and at least this share of the progress the run has made from its start. Mini-
#: batch noise around a falling trend is small next to the descent (<= 0.2 in the
#: healthy references); the seed's picture swings between 2.0 and 0.5 having gained
#: nothing. Half the progress is where noise stops being noise.
SWING_VS_PROGRESS = 0.5

#: "No net descent": the trend across the window moves less than one swing (or the
#: run is no lower than where it started).
NET_VS_SWING = 1.0


def swing_stats(c: Curve, window: np.ndarray) -> tuple[float, float, float]:
    """(swing size, net trend change, window level) over the masked segments.

    The swing is the interquartile range of the residuals around Tukey's resistant
    line, so a trend is not mistaken for swings.
    """
    x, y = c.x[window], c.y[window]
    slope = resistant_slope(x, y)
    resid = y - slope * x
    q1, q3 = np.percentile(resid, [25, 75])
    net = slope * float(x[-1] - x[0])
    return float(q3 - q1), net, float(np.median(y))


class Oscillation(Rule):
    """The loss jumps up and down without going down.

    What it detects:
        A train or validation loss (per-epoch validation curves count) whose later
        half has no net descent while it swings, around its own trend, by at least
        5% of its level and by at least half of the progress the run made from its
        start. Mini-batch noise around a falling trend is small next to that
        progress and stays silent.

    Why it matters:
        The optimizer overshoots the minimum on every step: the learning rate is too
        large, and the run wastes its time (the seed: "损失震荡不下降", and it may
        end in NaN).

    Example:
        The seed's drawing for "learning rate too large": the loss bounces between
        2.0, 1.5, 1.0 and 0.5 with no descent ("上下乱跳,不下降").

    Remedies:
        Lower the learning rate ten-fold, add warmup, clip the gradient norm at 1.0.
    """

    id = "oscillation"
    title = "Loss oscillates without descending"
    needs = (("train_loss",), ("val_loss",))
    min_points = 6

    def check(self, view: RunView) -> list[Finding]:
        if learns_nothing(view):
            return []  # swings of a model that learns nothing are sampling noise
        for role in ("train_loss", "val_loss"):
            if view.has(role, self.min_points):
                found = self._check(view, role)
                if found:
                    return [found]
        return []

    def _check(self, view: RunView, role: str) -> Finding | None:
        c = view.curve(role)
        window = np.ones(len(c), bool) if len(c) <= SHORT_CURVE else edge_mask(c, 0.5, head=False)
        swing, net, level = swing_stats(c, window)
        start = edge_level(c, HEAD_FRACTION, head=True)
        progress = start - level
        if swing <= 0 or swing < MIN_SWING_REL * abs(level):
            return None
        if net >= NET_VS_SWING * swing:
            return None  # a rising trend: divergence or overfitting, not swings
        if progress > 0 and -net >= NET_VS_SWING * swing:
            return None  # still descending
        if progress > 0 and swing < SWING_VS_PROGRESS * progress:
            return None  # noise around a descent that has already gone far
        y = c.y[window]
        steps = c.step[window]
        if progress > 0:
            gained = (f"its progress from the start ({fmt(start)}) is only "
                      f"{progress / swing:.1f} swings")
        else:
            gained = f"it is no lower than where it started ({fmt(start)})"
        return self.finding(
            view, Severity.WARNING, int(c.start[window][0]), int(steps[-1]),
            f"{role} swung between {fmt(float(y.min()))} and {fmt(float(y.max()))} over "
            f"steps {int(c.start[window][0])}-{int(steps[-1])} (typical swing {fmt(swing)}, "
            f"{swing / abs(level):.0%} of its level {fmt(level)}) with a net change of "
            f"{fmt(net)}; {gained}", role=role)
