"""Rule ``underfitting``: nothing is learned, or train and validation are both poor and
close."""

from __future__ import annotations

import numpy as np

from diagnostics import blowups, facts
from diagnostics.rules.base import Rule, RunView
from diagnostics.signals import Curve, accuracy_scale, edge_level, edge_mask
from diagnostics.trend import noise, trend
from diagnostics.types import Confidence, Finding, Severity

#: Seed: train 70% / test 68% is underfitting, 95% / 93% is fine. "Poor" is below 80%.
POOR_ACCURACY = 0.80

#: ...and "close" is a gap under 10 points either way (10 or more is overfitting,
#: seed 99% / 75%).
CLOSE_GAP = 0.10

#: Evaluations needed before "poor" is a verdict rather than an early snapshot.
MIN_EVALS = 5

#: A train accuracy still gaining this much over its second half is still learning...
STILL_LEARNING = 0.01

#: ...unless even this many more runs of the same length, at the second half's pace,
#: would leave it poor: "训练更久" (train longer, epochs x2) cannot rescue it.
EXTRA_RUNS = 2.0


class Underfitting(Rule):
    """Nothing is learned at all — or training and validation are both poor and close.

    What it detects:
        No learning: a loss that moves by less than 0.1% over the whole run (such as
        a loss stuck at ln(#classes), or a curve that plots like a descent on an
        offset axis), a validation accuracy that sits on one exact value at most
        evaluations (the model predicts one class) while the training loss does not
        fall, or an objective metric that never improves (a detector's mAP at zero,
        an RL reward with no trend). Or, once five evaluations exist and the
        learning rate has finished warming up: a final train accuracy under 80%
        with validation within 10 points of it, once train accuracy has stopped
        improving.

    Why it matters:
        The model is too simple, trained too briefly, or its learning rate is too
        small: it cannot even fit the training data.

    Example:
        The seed's train 70% / test 68% ("两个都很差!").

    Remedies:
        A bigger model, train longer, raise the learning rate x2, a better
        architecture.

    Not reported here:
        A known config whose learning rate is far too low, or a loss still falling in
        a steady straight line: ``slow-descent``. A loss that exploded: ``divergence``
        (the dead network's poor accuracies are its symptom, not a model too small).
    """

    id = "underfitting"
    title = "Underfitting"
    needs = (("train_loss",), ("val_loss",), ("train_accuracy", "val_accuracy"),
             ("val_metric",), ("train_metric",))
    min_points = 1

    def applicable(self, view: RunView) -> bool:
        return any(view.has(r, 5) for r in ("train_loss", "val_loss", "val_metric",
                                             "train_metric", "val_accuracy")) or (
            facts.accuracies_judgeable(view, MIN_EVALS))

    def check(self, view: RunView) -> list[Finding]:
        if blowups.blew_up(view) or blowups.dead(view) or facts.lr_too_low(view) is not None:
            return []
        why = facts.no_learning(view)
        if why is not None:
            return [self._no_learning(view, why)]
        if facts.accuracies_judgeable(view, MIN_EVALS):
            found = self._poor_and_close(view)
            if found:
                return [found]
        return []

    def _no_learning(self, view: RunView, why: str) -> Finding:
        role = next(r for r in ("val_metric", "train_metric", "val_loss", "train_loss",
                                "val_accuracy") if view.has(r))
        c = view.curve(role)
        k = None
        for r in ("train_loss", "val_loss"):
            if view.has(r, 5):
                k = facts.chance_classes(edge_level(view.curve(r), facts.EDGE, head=False))
                if k:
                    break
        chance = f"; the loss sits at ln {k}, the chance level of {k} classes" if k else ""
        conf = Confidence.HIGH if c.n_points >= 2 * facts.MIN_POINTS else Confidence.MEDIUM
        steady = self._steady(view)
        tail = "; it fell in a steady straight line, the steps are too small" if steady else ""
        return self.finding(
            view, Severity.WARNING, int(c.start[0]), int(c.step[-1]),
            f"{why} (steps {int(c.start[0])}-{int(c.step[-1])}){chance}: nothing was learned"
            + tail, role=role, title="No learning", confidence=conf,
            cause="lr-too-small" if steady else None)

    @staticmethod
    def _steady(view: RunView) -> bool:
        """The flat loss still falls in a significant, noise-free straight line: the
        signature of too small a step (the seed's 100 -> 99.9 -> 99.8), so raising the
        learning rate comes first."""
        flat = facts.flat_loss(view)
        if flat is None:
            return False
        c = view.curve(flat[0])
        t = trend(c.x, c.y)
        return facts.steady_fall(c.y) or (
            t.falling(view.cal.trend_z) and -t.change > 4 * noise(c.y))

    def _poor_and_close(self, view: RunView) -> Finding | None:
        if facts.warming_up(view) or facts.slow_loss(view) is not None:
            return None
        tr, va = view.curve("train_accuracy"), view.curve("val_accuracy")
        t_end = edge_level(tr, facts.EDGE, head=False) / accuracy_scale(tr.y)
        v_end = edge_level(va, facts.EDGE, head=False) / accuracy_scale(va.y)
        if t_end >= POOR_ACCURACY or v_end >= POOR_ACCURACY or abs(t_end - v_end) >= CLOSE_GAP:
            return None
        if self._still_learning(tr, t_end):
            return None
        return self.finding(
            view, Severity.WARNING, int(min(tr.start[0], va.start[0])),
            int(max(tr.step[-1], va.step[-1])),
            f"train accuracy {t_end:.1%} and validation accuracy {v_end:.1%} at the end: "
            f"both poor (under {POOR_ACCURACY:.0%}) and close ({abs(t_end - v_end) * 100:.1f} "
            "points apart); training accuracy has stopped improving", role="train_accuracy")

    @staticmethod
    def _still_learning(tr: Curve, t_end: float) -> bool:
        if len(tr) < MIN_EVALS:
            return False  # a reported final pair, as in the seed: judge it as it stands
        late = edge_mask(tr, 0.5, head=False)
        x, y = tr.x[late], tr.y[late] / accuracy_scale(tr.y)
        gain = trend(x, y).change if late.sum() >= 3 else float(np.ptp(y))
        # The second half is half the run: one more run of the same length gains 2x.
        reachable = t_end + gain * 2 * EXTRA_RUNS
        return gain >= STILL_LEARNING and reachable >= POOR_ACCURACY
