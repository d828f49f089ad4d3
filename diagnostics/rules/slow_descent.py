"""Rule ``slow-descent``: the loss falls, steadily, but far too slowly."""

from __future__ import annotations

from diagnostics.rules.base import Rule, RunView
from diagnostics.signals import edge_level, edge_mask, fmt, noise_sigma, pct, resistant_slope
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
    """

    id = "slow-descent"
    title = "Loss falls too slowly"
    needs = (("train_loss",), ("val_loss",))
    min_points = 4

    def check(self, view: RunView) -> list[Finding]:
        role = "train_loss" if view.has("train_loss", self.min_points) else "val_loss"
        c = view.curve(role)
        start = edge_level(c, EDGE_FRACTION, head=True)
        end = edge_level(c, EDGE_FRACTION, head=False)
        if start <= 0:
            return []
        drop = (start - end) / start
        if not NO_LEARNING <= drop < MAX_DROP:
            return []
        if start - end < MIN_SIGMAS * noise_sigma(c.y):
            return []
        slope = resistant_slope(c.x, c.y)
        late = edge_mask(c, 0.5, head=False)
        late_slope = resistant_slope(c.x[late], c.y[late]) if late.sum() >= 2 else slope
        if slope >= 0 or late_slope > MIN_LINEARITY * slope:
            return []
        steps = int(c.step[-1] - c.start[0])
        per = f" ({pct(drop / max(1, len(c) - 1))} per logged point)"
        return [self.finding(
            view, Severity.WARNING, int(c.start[0]), int(c.step[-1]),
            f"{role} fell only from {fmt(start)} to {fmt(end)} ({pct(drop)}) over "
            f"{steps} steps{per}, still in a straight line: the second half fell at "
            f"{late_slope / slope:.0%} of the overall pace", role=role)]
