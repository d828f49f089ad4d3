"""Rule ``underfitting``: nothing is learned, or train and validation are both poor and
close."""

from __future__ import annotations

from traindoc.diagnostics import blowups, facts, learning
from traindoc.diagnostics.regularization import HEAVY_DECAY, weight_decay_far_too_high
from traindoc.diagnostics.rules.base import Rule, RunView
from traindoc.diagnostics.signals import edge_level
from traindoc.diagnostics.trend import noise, trend
from traindoc.diagnostics.types import Confidence, Finding, Severity


class Underfitting(Rule):
    """Nothing is learned at all, or training and validation are both poor and close.

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
        Train accuracy 70% and test accuracy 68%: both poor.

    Remedies:
        A bigger model, train longer, raise the learning rate x2, a better
        architecture. When the known config's weight decay is far above the usual
        one for its optimizer (100x the usual 0.01 for AdamW, 1e-4 for SGD), lowering
        it to the usual value comes first: no bigger model fits under it.

    Not reported here:
        A known config whose learning rate is far too low, or a loss still falling in
        a steady straight line: slow-descent. A loss that exploded: divergence
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
            learning.accuracies_judgeable(view, learning.MIN_EVALS))

    def check(self, view: RunView) -> list[Finding]:
        if blowups.blew_up(view) or blowups.dead(view) or facts.lr_too_low(view) is not None:
            return []
        why = learning.no_learning(view)
        if why is not None:
            return [self._no_learning(view, why)]
        found = self._poor_and_close(view)
        return [found] if found else []

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
        heavy = weight_decay_far_too_high(view.config)
        steady = heavy is None and self._steady(view)
        tail = "; it fell in a steady straight line, the steps are too small" if steady else ""
        return self.finding(
            view, Severity.WARNING, int(c.start[0]), int(c.step[-1]),
            f"{why} (steps {int(c.start[0])}-{int(c.step[-1])}){chance}: nothing was learned"
            + tail + (f"; {heavy}" if heavy else ""), role=role, title="No learning",
            confidence=conf, cause=HEAVY_DECAY if heavy else "lr-too-small" if steady else None)

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

    @staticmethod
    def _pace(tr) -> str:
        if len(tr) <= 1:
            return ""
        if learning.second_half_trend(tr).change < learning.STILL_LEARNING:
            return "; training accuracy has stopped improving"
        return "; training accuracy rises too slowly now for training longer to lift it"

    def _poor_and_close(self, view: RunView) -> Finding | None:
        slow = facts.slow_loss(view)
        if slow is not None and slow.pace is not None:
            return None  # still falling in a straight line: slow-descent's finding
        pair = learning.poor_and_close(view)
        if pair is None:
            return None
        t_end, v_end = pair
        tr, va = view.curve("train_accuracy"), view.curve("val_accuracy")
        heavy = weight_decay_far_too_high(view.config)
        return self.finding(
            view, Severity.WARNING, int(min(tr.start[0], va.start[0])),
            int(max(tr.step[-1], va.step[-1])),
            f"train accuracy {t_end:.1%} and validation accuracy {v_end:.1%} at the end: "
            f"both poor (under 80%) and close ({abs(t_end - v_end) * 100:.1f} points apart)"
            + self._pace(tr)
            + (f"; {heavy}" if heavy else ""),
            role="train_accuracy", cause=HEAVY_DECAY if heavy else None)
