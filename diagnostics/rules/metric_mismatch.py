"""Rule ``metric-mismatch``: the loss says one thing, the objective metric another."""

from __future__ import annotations

from traindoc.diagnostics import blowups, facts
from traindoc.diagnostics.rules.base import Rule, RunView
from traindoc.diagnostics.signals import edge_mask, fmt, pct
from traindoc.diagnostics.trend import noise, trend
from traindoc.diagnostics.types import Confidence, Finding, Severity

#: The metric got clearly worse: by this share of its best level...
WORSE_REL = 0.2
#: ...and by this many sigmas of its own noise.
WORSE_SIGMAS = 4.0


class MetricMismatch(Rule):
    """The loss improves while the objective metric gets clearly worse, or the loss
    degenerates while the metric stalls.

    What it detects:
        A loss that falls to exactly 0, or goes negative and keeps falling, while the
        objective metric (a validation error, score or accuracy) no longer improves;
        or a loss that keeps improving while the metric ends 20% (and 4 noise sigmas)
        worse than its best. Reinforcement-learning losses are not objectives and are
        not judged here.

    Why it matters:
        Every other rule reads the loss: when the loss is broken (a learnable variance
        that runs to zero, a wrong sign, a target on the wrong scale) they all read a
        false success. The objective is what the run is for.

    Example:
        A regression whose Gaussian NLL falls from 1.2 to -3 and keeps falling while
        its validation MAE grows from 0.8 to 1.2 and freezes.

    Remedies:
        Check the loss (assert it is finite and bounded, log the metric beside it,
        check the targets and the sign), then lower the learning rate ten-fold.
    """

    id = "metric-mismatch"
    title = "Loss and objective disagree"
    needs = (("train_loss", "val_metric"), ("val_loss", "val_metric"),
             ("train_loss", "train_metric"), ("train_loss", "val_accuracy"))
    min_points = facts.MIN_POINTS

    def check(self, view: RunView) -> list[Finding]:
        if facts.reward_run(view) or blowups.dead(view):
            return []
        objective = self._objective(view)
        if objective is None:
            return []
        found = self._degenerate(view, *objective) or self._diverge(view, *objective)
        return [found] if found else []

    @staticmethod
    def _objective(view: RunView) -> tuple[str, bool] | None:
        m = facts.metric(view)
        if m is not None:
            return m
        return ("val_accuracy", True) if facts.usable(view, "val_accuracy") else None

    def _degenerate(self, view: RunView, role: str, higher: bool) -> Finding | None:
        z = view.cal.trend_z
        mc = view.curve(role)
        late = edge_mask(mc, 0.5, head=False)
        mt = trend(mc.x[late], mc.y[late])
        if (mt.rising(z) if higher else mt.falling(z)):
            return None  # the objective still improves: the loss may be odd, not broken
        found = blowups.degenerate_loss(view)
        if found is None:
            return None
        loss, how = found
        c = view.curve(loss)
        return self.finding(
            view, Severity.WARNING, int(c.start[0]), int(c.step[-1]),
            f"{loss} {how} while {view.tag(role)} stalls at {fmt(float(mc.y[-1]))}: "
            "a loss cannot fall below its floor for real; it is degenerate", role=loss,
            title="Loss degenerate")
        return None

    def _diverge(self, view: RunView, role: str, higher: bool) -> Finding | None:
        mc = view.curve(role)
        p = facts.peak(mc, higher)
        k, worse = p.index, p.lost
        if k >= len(mc) - 3 or worse < max(WORSE_REL * abs(p.best), WORSE_SIGMAS * noise(mc.y)):
            return None
        step = int(mc.step[k])
        # The loss of the same split: a training loss that falls while a validation
        # metric worsens is overfitting, not a broken loss.
        loss = "train_loss" if role.startswith("train") else "val_loss"
        if not facts.usable(view, loss):
            return None
        c = view.curve(loss)
        after = c.step >= step
        if after.sum() < 3 or not trend(c.x[after], c.y[after]).falling(view.cal.trend_z):
            return None
        return self.finding(
            view, Severity.WARNING, step, int(mc.step[-1]),
            f"{loss} kept falling after step {step} while {view.tag(role)} got "
            f"{pct(worse / abs(p.best)) if p.best else fmt(worse)} worse, from "
            f"{fmt(p.best)} to {fmt(p.end)}: the loss no longer measures the "
            "objective", role=role,
            confidence=Confidence.HIGH if len(mc) >= 12 else Confidence.MEDIUM)
