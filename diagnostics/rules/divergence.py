"""Rule ``divergence``: the loss blows up above what came before, or the objective
collapses after it was learned."""

from __future__ import annotations

import math

import numpy as np

from traindoc.diagnostics import blowups, facts
from traindoc.diagnostics.learning_rate import lr_far_too_high
from traindoc.diagnostics.regularization import HEAVY_DECAY, weight_decay_far_too_high
from traindoc.diagnostics.rules.base import Rule, RunView
from traindoc.diagnostics.signals import edge_level, fmt
from traindoc.diagnostics.trend import noise
from traindoc.diagnostics.types import Confidence, Finding, Severity
from traindoc.diagnostics.wording import times

#: A collapse undoes at least this share of what the objective had gained...
COLLAPSE_SHARE = 0.5
#: ...by at least this many sigmas of the curve's own point-to-point noise.
COLLAPSE_SIGMAS = 4.0
#: ...of a gain of at least this share of the level it started from.
COLLAPSE_MIN_GAIN = 0.25
#: A loss that fell and came back up by this share of its progress (training loss).
REBOUND_SHARE = 0.5


class Divergence(Rule):
    """The loss climbs far above what came before, or the objective collapses.

    What it detects:
        A training loss (validation when none is logged) with a value 10x or more
        above the lowest level before it and 2x above where it started (an explosion;
        a fast early descent never qualifies), a loss that ends at 2x or more its
        start, a loss that fell and then climbed back by half of what it had
        gained, a classifier whose accuracy never left chance (1/k) while its loss
        sits 3x above ln(k), a training loss that jumped to 2x its first point and
        never came back below it while an accuracy stayed at chance, or an
        objective metric (a reward, a score) that was learned and then lost again by
        half or more. An explosion the curve fully
        recovers from is a note, not an error, unless the known config's learning rate
        is 10x or more the usual one for its optimizer (0.001 for Adam, 0.1 for SGD):
        then the rate that threw the loss up is a warning. A loss that climbed back
        under a weight decay 100x the usual one is that decay pulling the weights back
        to zero: lowering it comes first. In reinforcement learning the losses
        are not the objective: their blow-up counts only when the reward got worse.

    Why it matters:
        A diverging run is not learning any more; it usually ends in NaN. The step
        size is too large for the loss surface.

    Example:
        A learning rate of 1.0: 100 -> 50 -> 200 -> 10 -> 500 -> NaN: 10 -> 500
        is 50x the lowest level before it, above the start of 100. traindoc's own
        training at lr 50 (AdamW, digits):
        2.29 -> 5.2e7 at step 2.

    Remedies:
        Lower the learning rate ten-fold, add warmup, clip the gradient norm at 1.0.
    """

    id = "divergence"
    title = "Loss diverged"
    needs = (("train_loss",), ("val_loss",), ("train_metric",), ("val_metric",))
    min_points = 3

    def check(self, view: RunView) -> list[Finding]:
        b = blowups.loss_blow_up(view)
        if b is not None:
            return [self._blow_up(view, b)]
        wrong = blowups.confidently_wrong(view)
        if wrong is not None:
            return [self._confidently_wrong(view, *wrong)]
        thrown = blowups.thrown_off(view)
        if thrown is not None:
            return [self._thrown_off(view, thrown)]
        found = self._rebound(view) if facts.loss_judges(view) else None
        return [found] if found else self._collapse(view)

    def _blow_up(self, view: RunView, b: blowups.BlowUp) -> Finding:
        c = view.curve(b.role)
        first = int(c.start[0])
        if b.kind == "sustained":
            return self.finding(
                view, Severity.ERROR, first, int(c.step[-1]),
                f"{b.role} ended at {fmt(b.end)}, {b.end / b.base:.1f}x its starting level "
                f"of {fmt(b.base)} (peak {fmt(b.peak)} at step {b.peak_step})", role=b.role,
                size=_ratio(b.peak, b.base))
        text = (f"{b.role} exploded to {fmt(b.peak)} at step {b.peak_step}, "
                f"{times(b.peak / b.base)} the lowest level before it ({fmt(b.base)})")
        if b.recovered:
            too_high = lr_far_too_high(view.config)
            return self.finding(
                view, Severity.WARNING, b.peak_step, int(c.step[-1]),
                text + f", then recovered to {fmt(b.end)}"
                + (f"; {too_high}: the step that threw it up was too large" if too_high else ""),
                role=b.role, title="Loss spiked and recovered", cause=(
                    "lr-too-large" if too_high else None),
                confidence=Confidence.HIGH if too_high else Confidence.LOW,
                size=_ratio(b.peak, b.base))
        return self.finding(view, Severity.ERROR, first, b.peak_step,
                            text + f"; it ends at {fmt(b.end)}", role=b.role,
                            size=_ratio(b.peak, b.base))

    def _confidently_wrong(
        self, view: RunView, loss_role: str, acc_role: str, k: int, acc: float, loss: float
    ) -> Finding:
        c = view.curve(loss_role)
        chance = math.log(k)
        return self.finding(
            view, Severity.ERROR, int(c.start[0]), int(c.step[-1]),
            f"{acc_role} stayed at chance ({acc:.1%}, 1 in {k}) while {loss_role} sits at "
            f"{fmt(loss)}, {times(loss / chance)} the ln {k} = {chance:.3g} an untrained "
            f"{k}-class classifier starts from: the predictions are confidently wrong, the "
            "weights blew up", role=loss_role)

    def _thrown_off(self, view: RunView, t: blowups.Thrown) -> Finding:
        c = view.curve(t.role)
        return self.finding(
            view, Severity.ERROR, int(c.start[0]), int(c.step[-1]),
            f"{t.role} jumped from {fmt(t.first)} to {fmt(t.peak)} at step {t.peak_step} and "
            f"never came back below its first point (it ends at {fmt(t.end)}), while "
            f"{t.acc_role} stayed at chance ({t.acc:.1%}, 1 in {t.k}): the first steps threw "
            "the weights off and nothing was learned", role=t.role,
            title="Loss thrown off at the start")

    def _rebound(self, view: RunView) -> Finding | None:
        role = "train_loss" if view.has("train_loss", 2 * facts.MIN_POINTS) else None
        if role is None:
            return None
        c = view.curve(role)
        s = facts.smooth(c)
        k = int(np.argmin(s))
        start = max(float(c.y[0]), edge_level(c, 0.05, head=True))
        low, end = float(s[k]), edge_level(c, facts.EDGE, head=False)
        gained, back = start - low, end - low
        if gained <= 0 or back < REBOUND_SHARE * gained or k >= len(c) - 3:
            return None
        if back < COLLAPSE_SIGMAS * noise(c.y):
            return None
        # Under a far too strong weight decay the climb back is the decay pulling the
        # learned weights back to zero, not a step too large: lower the decay first.
        heavy = weight_decay_far_too_high(view.config)
        return self.finding(
            view, Severity.WARNING, int(c.step[k]), int(c.step[-1]),
            f"{role} fell from {fmt(start)} to {fmt(low)} at step {int(c.step[k])}, then "
            f"climbed back to {fmt(end)}: {back / gained:.0%} of its progress undone"
            + (f"; {heavy}" if heavy else ""),
            role=role, title="Loss climbed back up", cause=HEAVY_DECAY if heavy else None)

    def _collapse(self, view: RunView) -> list[Finding]:
        # A validation metric that worsens while the training loss keeps improving is
        # overfitting; the training objective (an RL agent's episode reward) collapsing
        # is divergence. Evaluation metrics speak here only when nothing else does.
        roles = ["train_metric"]
        alone = not view.has("train_metric", 2 * facts.MIN_POINTS)
        if (facts.reward_run(view) and alone) or not view.has("train_loss", facts.MIN_POINTS):
            roles.append("val_metric")
        for role in roles:
            higher = view.higher_is_better(role)
            if higher is None or not facts.usable(view, role, 2 * facts.MIN_POINTS):
                continue
            c = view.curve(role)
            p = facts.peak(c, higher)
            k, gained, lost = p.index, p.gained, p.lost
            if gained <= 0 or lost < COLLAPSE_SHARE * gained or k >= len(c) - 3:
                continue
            if min(gained, lost) < COLLAPSE_SIGMAS * noise(c.y):
                continue  # what was "learned" (or lost) must stand out of the noise
            if p.before and gained < COLLAPSE_MIN_GAIN * abs(p.before):
                continue  # a reward that wandered off a random policy's level learned nothing
            tag = view.tag(role)
            return [self.finding(
                view, Severity.ERROR, int(c.step[k]), int(c.step[-1]),
                f"{tag} rose to {fmt(p.best)} by step {int(c.step[k])} and fell back to "
                f"{fmt(p.end)}: {lost / gained:.0%} of what was learned is lost",
                role=role, title="Performance collapsed")]
        return []


def _ratio(peak: float, base: float) -> float | None:
    """A blow-up's size: its peak over the level before it (None when not finite)."""
    ratio = peak / base if base > 0 else math.inf
    return ratio if math.isfinite(ratio) else None
