"""Rule ``slow-descent``: the loss falls, steadily, but far too slowly - or stagnates."""

from __future__ import annotations

from traindoc.diagnostics import blowups, facts, learning
from traindoc.diagnostics.rules.base import Rule, RunView
from traindoc.diagnostics.signals import edge_level, fmt, pct
from traindoc.diagnostics.types import Confidence, Finding, Severity
from traindoc.diagnostics.wording import plural


class SlowDescent(Rule):
    """The loss falls far too slowly for the run's length, or stagnates on a plateau.

    What it detects:
        A training loss (validation when no training loss is logged) that lost less
        than 30% of its start over the whole run while falling in a steady,
        statistically significant, near-straight line (the second half as fast as
        the whole), or that stagnates from its first point on with no significant
        trend at a level that is not chance. A curve that fell fast and then
        flattened is healthy; a loss that does not move at all (under 0.1%) or sits
        at chance is underfitting. An objective metric that climbs clearly (a
        detector's mAP) overrules a slowly falling partial loss.

    Why it matters:
        The steps are too small: the run would need days to get anywhere. A
        healthy curve falls fast and then flattens.

    Example:
        A learning rate of 0.000001: loss 100 -> 99.9 -> 99.8 -> 99.7, or a curve
        that falls 2.0 -> 1.7 in a straight line.

    Remedies:
        Raise the learning rate ten-fold; switch to AdamW (lr 0.001).

    When the run's config is known, the learning rate decides too: a rate 100x or
    more below the usual one for its optimizer (AdamW 0.001, SGD 0.1) with a
    loss that lost under 30% is reported here whatever the curve's shape. Nothing is
    said while the learning rate is still warming up.
    """

    id = "slow-descent"
    title = "Loss falls too slowly"
    needs = (("train_loss",), ("val_loss",))
    min_points = 4  # the seed's example has four points, each below the one before

    def check(self, view: RunView) -> list[Finding]:
        if blowups.blew_up(view) or blowups.dead(view) or facts.warming_up(view):
            return []
        if facts.reward_run(view) or facts.metric_improved(view):
            return []
        why = facts.lr_too_low(view)
        if why is not None:
            return self._lr_too_low(view, why)
        if learning.no_learning(view) or learning.constant_accuracy(view):
            return []
        s = facts.slow_loss(view)
        if s is None or (s.pace is None and learning.poor_and_close(view) is not None):
            return []  # a plateau with poor, close accuracies is underfitting's finding
        c = view.curve(s.role)
        steps = int(c.step[-1] - c.start[0])
        conf = Confidence.HIGH if len(c) >= 2 * facts.MIN_POINTS else Confidence.MEDIUM
        if s.pace is None:
            return [self.finding(
                view, Severity.WARNING, int(c.start[0]), int(c.step[-1]),
                f"{s.role} stagnated from its first point on: {fmt(s.start)} at the start, "
                f"{fmt(s.end)} at the end ({pct(-s.drop)}) over {plural(steps, 'step')}, with no "
                "significant trend", role=s.role, title="Loss stagnates on a plateau",
                confidence=Confidence.MEDIUM)]
        per = f" ({pct(s.drop / max(1, len(c) - 1))} per logged point)"
        return [self.finding(
            view, Severity.WARNING, int(c.start[0]), int(c.step[-1]),
            f"{s.role} fell only from {fmt(s.start)} to {fmt(s.end)} ({pct(s.drop)}) over "
            f"{plural(steps, 'step')}{per}, still in a straight line: the second half fell at "
            f"{s.pace:.0%} of the overall pace", role=s.role, confidence=conf)]

    def _lr_too_low(self, view: RunView, why: str) -> list[Finding]:
        role = facts.train_loss_role(view)
        if role is None:
            return []
        c = view.curve(role)
        start = edge_level(c, facts.EDGE, head=True)
        end = edge_level(c, facts.EDGE, head=False)
        if start <= 0 or (start - end) / start >= view.cal.slow_drop:
            return []
        steps = int(c.step[-1] - c.start[0])
        return [self.finding(
            view, Severity.WARNING, int(c.start[0]), int(c.step[-1]),
            f"{role} went from {fmt(start)} to {fmt(end)} ({pct((end - start) / start)}) over "
            f"{plural(steps, 'step')} and {why}", role=role, cause="lr-too-small")]
