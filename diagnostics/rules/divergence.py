"""Rule ``divergence``: the loss climbs far above where it started, or explodes."""

from __future__ import annotations

import math

import numpy as np

from diagnostics.rules.base import Rule, RunView
from diagnostics.signals import (
    Curve,
    as_fraction,
    edge_level,
    fmt,
    noise_sigma,
    rolling_median,
    smooth_window,
    start_level,
)
from diagnostics.types import Finding, Severity

#: Share of the points whose median guards the starting level (at least one point);
#: the start is the lower of that median and the first logged value (see
#: ``signals.start_level``: a run that explodes at step 2 has an exploded median).
HEAD_FRACTION = 0.05

#: Share of the points whose median is the final level.
TAIL_FRACTION = 0.1

#: Sustained divergence: the final level is at least this many times the starting
#: level. A healthy loss ends below where it started; the seed's diverging run ends
#: at 500 from 100 (5x).
SUSTAINED_FACTOR = 2.0

#: Explosion: any value at least an order of magnitude above the starting level.
EXPLODE_FACTOR = 10.0

#: Rebound: after falling, the loss climbed back by at least this share of the
#: descent it had achieved (and by more than 4 noise sigmas): training came undone.
REBOUND_SHARE = 0.5
REBOUND_SIGMAS = 4.0

#: Confidently wrong: an untrained k-class classifier predicts uniformly, so its
#: cross-entropy starts at ln(k) (2.30 for 10 classes). A run whose accuracy never
#: leaves chance (1/k, within this relative slack) while its loss sits at least
#: CHANCE_LOSS_FACTOR x ln(k) has climbed far above where it started even when the
#: log begins after the blow-up (loggers that average the first steps hide it).
CHANCE_ACC_SLACK = 0.5
CHANCE_LOSS_FACTOR = 3.0
MAX_CHANCE_CLASSES = 1000


def _start_end(c: Curve) -> tuple[float, float]:
    return start_level(c, HEAD_FRACTION), edge_level(c, TAIL_FRACTION, head=False)


def blew_up(view: RunView) -> bool:
    """The training (else validation) loss diverged or exploded (as ``Divergence``).

    Other rules use it to stay silent about the symptoms of a blow-up: a dead network
    after an explosion has poor, close accuracies, but it does not need a bigger model.
    """
    if confidently_wrong(view) is not None:
        return True
    for role in ("train_loss", "val_loss"):
        if view.has(role, Divergence.min_points):
            c = view.curve(role)
            if float(np.min(c.y)) <= 0:
                return False
            start, end = _start_end(c)
            peak = float(np.max(c.hi))
            return end >= SUSTAINED_FACTOR * start or peak >= EXPLODE_FACTOR * start
    return False


def confidently_wrong(view: RunView) -> tuple[str, str, int, float, float] | None:
    """(loss role, accuracy role, k, accuracy, loss level) when a classifier stayed at
    chance accuracy with a loss far above the ln(k) it started from; else None."""
    for acc_role, loss_role in (("val_accuracy", "val_loss"), ("train_accuracy", "train_loss")):
        if not (view.has(acc_role, 3) and view.has(loss_role, 3)):
            continue
        acc = as_fraction(view.curve(acc_role).y)
        level = float(np.median(acc))
        if not 0 < level <= 0.5:
            continue
        k = round(1 / level)
        if not 2 <= k <= MAX_CHANCE_CLASSES:
            continue
        if np.max(acc) > (1 + CHANCE_ACC_SLACK) / k or np.min(acc) < (1 - CHANCE_ACC_SLACK) / k:
            continue
        loss = edge_level(view.curve(loss_role), 0.5, head=False)
        if loss >= CHANCE_LOSS_FACTOR * math.log(k):
            return loss_role, acc_role, k, level, loss
    return None


class Divergence(Rule):
    """The loss climbs far above where it started, or explodes by orders of magnitude.

    What it detects:
        A training loss whose final level is at least 2x its starting level, any
        value 10x above the start (an explosion, even a transient one), a loss
        that fell and then climbed back by half of what it had gained, or a
        classifier whose accuracy never left chance (1/k) while its loss sits 3x
        above ln(k), the loss an untrained k-class model starts from (confidently
        wrong predictions: the blow-up happened before the log's first point).

    Why it matters:
        A diverging run is not learning any more; it usually ends in NaN. The step
        size is too large for the loss surface.

        The starting level is the first logged value (or the median of the first 5%
        of the points when that is lower), so an explosion at the second step is
        measured against the loss at initialisation, not against itself.

    Example:
        The seed's learning rate of 1.0: 100 -> 50 -> 200 -> 10 -> 500 -> NaN
        ("爆炸了!"): 500 is 5x the start. Our engine at lr 50 (AdamW, digits):
        2.29 -> 5.2e7 at step 2, then 1e3-1e7 for ten steps, settling at 5-8 with
        validation accuracy at chance.

    Remedies:
        Lower the learning rate ten-fold, add warmup, clip the gradient norm at 1.0.
    """

    id = "divergence"
    title = "Loss diverged"
    needs = (("train_loss",), ("val_loss",))
    min_points = 5

    def applicable(self, view: RunView) -> bool:
        return super().applicable(view) or confidently_wrong(view) is not None

    def check(self, view: RunView) -> list[Finding]:
        found = self._loss_curve(view) if super().applicable(view) else []
        wrong = confidently_wrong(view)
        if found or wrong is None:
            return found
        # The curve itself shows nothing: the blow-up came before the log's first point.
        return [self._confidently_wrong(view, *wrong)]

    def _loss_curve(self, view: RunView) -> list[Finding]:
        role = "train_loss" if view.has("train_loss", self.min_points) else "val_loss"
        c = view.curve(role)
        if float(np.min(c.y)) <= 0:
            return []  # ratios need a positive loss (an ELBO or log-density can be < 0)
        start, end = _start_end(c)
        first, last = int(c.start[0]), int(c.step[-1])
        j = int(np.argmax(c.hi))
        peak = float(c.hi[j])
        if end >= SUSTAINED_FACTOR * start:
            return [self.finding(
                view, Severity.ERROR, first, last,
                f"{role} ended at {fmt(end)}, {end / start:.1f}x its starting level of "
                f"{fmt(start)} (peak {fmt(peak)} at step {int(c.hi_step[j])})", role=role)]
        if peak >= EXPLODE_FACTOR * start:
            return [self.finding(
                view, Severity.ERROR, first, int(c.hi_step[j]),
                f"{role} exploded to {fmt(peak)} at step {int(c.hi_step[j])}, "
                f"{fmt(peak / start)}x its starting level of {fmt(start)}", role=role)]
        return self._rebound(view, role, c, start, end)

    def _confidently_wrong(
        self, view: RunView, loss_role: str, acc_role: str, k: int, acc: float, loss: float
    ) -> Finding:
        c = view.curve(loss_role)
        chance = math.log(k)
        return self.finding(
            view, Severity.ERROR, int(c.start[0]), int(c.step[-1]),
            f"{acc_role} stayed at chance ({acc:.1%}, 1 in {k}) while {loss_role} sits at "
            f"{fmt(loss)}, {loss / chance:.1f}x the ln {k} = {chance:.3g} an untrained "
            f"{k}-class classifier starts from: the predictions are confidently wrong, the "
            "weights blew up", role=loss_role)

    def _rebound(self, view: RunView, role: str, c, start: float, end: float) -> list[Finding]:
        if len(c) < 2 * self.min_points:
            return []
        smooth = rolling_median(c.y, smooth_window(len(c)))
        k = int(np.argmin(smooth))
        low = float(smooth[k])
        gained = start - low
        back = end - low
        if gained <= 0 or back < REBOUND_SHARE * gained:
            return []
        if back < REBOUND_SIGMAS * noise_sigma(c.y) or k >= len(c) - 2:
            return []
        return [self.finding(
            view, Severity.WARNING, int(c.step[k]), int(c.step[-1]),
            f"{role} fell from {fmt(start)} to {fmt(low)} at step {int(c.step[k])}, then "
            f"climbed back to {fmt(end)}: {back / gained:.0%} of its progress undone",
            role=role, title="Loss climbed back up")]
