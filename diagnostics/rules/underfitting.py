"""Rule ``underfitting``: train and validation both poor and close, or no learning."""

from __future__ import annotations

import math

import numpy as np

from diagnostics.rules.base import Rule, RunView
from diagnostics.rules.divergence import blew_up
from diagnostics.rules.slow_descent import falls_slowly, lr_too_low_evidence, steady_descent
from diagnostics.signals import (
    Curve,
    accuracy_scale,
    edge_level,
    edge_mask,
    fmt,
    pct,
    resistant_slope,
)
from diagnostics.types import Finding, Severity

#: Below this relative change over the whole run the loss did not move: nothing was
#: learned, however much the plot (with its offset y axis) looks like a descent. The
#: seed's slow-but-moving run changes 0.1% per step; a stuck run 0.01% in total.
NO_LEARNING = 1e-3

#: Share of the points whose median is the start (end) level.
EDGE_FRACTION = 0.1

#: Seed: train 70% / test 68% is underfitting, 95% / 93% is fine. "Poor" is below 80%.
POOR_ACCURACY = 0.80

#: ...and "close" is a gap under 10 points (10 or more is overfitting, seed 99% / 75%).
CLOSE_GAP = 0.10

#: A train accuracy still gaining this much over its second half is still learning:
#: that calls for patience (or ``slow-descent``), not a verdict of underfitting...
STILL_LEARNING = 0.01

#: ...unless even this many more runs of the same length, at the second half's pace,
#: would leave it poor: the seed's "训练更久" (train longer, epochs x2) cannot rescue it.
#: A 64 -> 1 -> 10 bottleneck on digits gains ~2 points per half-run at 20% accuracy.
EXTRA_RUNS = 2.0

#: A loss within this relative distance of ln(k) for an integer k is at the chance
#: level of a k-class cross-entropy (uniform predictions), e.g. ln 29 = 3.367.
CHANCE_TOLERANCE = 2e-3
MAX_CLASSES = 1000


def chance_classes(level: float) -> int | None:
    """k when ``level`` is ln(k), the cross-entropy of uniform guessing over k classes."""
    if not 0.6 < level < math.log(MAX_CLASSES + 0.5):
        return None
    k = round(math.exp(level))
    return k if abs(level - math.log(k)) <= CHANCE_TOLERANCE * level else None


def relative_change(c: Curve) -> float:
    """(start - end) / |start| from the medians of the first and last 10% of the points."""
    start = edge_level(c, EDGE_FRACTION, head=True)
    end = edge_level(c, EDGE_FRACTION, head=False)
    if start == 0 or not np.isfinite(start):
        return float("inf")
    return (start - end) / abs(start)


def learns_nothing(view: RunView) -> bool:
    """A train or validation loss of 5+ points that moved by less than ``NO_LEARNING``."""
    return any(abs(relative_change(view.curve(r))) < NO_LEARNING
               for r in ("train_loss", "val_loss") if view.has(r, 5))


def _dead(view: RunView) -> bool:
    """The loss ended non-finite: the weights hold NaN and every later accuracy is the
    argmax of NaN; ``nan-loss`` reports the run."""
    for role in ("train_loss", "val_loss"):
        seg = view.summaries.get(role)
        if seg is not None and len(seg) and seg.finite[-1] < seg.count[-1]:
            return True
    return False


class Underfitting(Rule):
    """Both training and validation are poor and close — or nothing is learned at all.

    What it detects:
        A final train accuracy under 80% with validation within 10 points of it,
        once train accuracy has stopped improving (or improves so slowly that two
        more runs of the same length would leave it under 80%); or a loss that moves by less than
        0.1% over the whole run ("no learning"), such as a loss stuck at the chance
        level ln(#classes), or a curve that plots like a descent on an offset axis
        but changes by 0.001%.

    Why it matters:
        The model is too simple, trained too briefly, or its learning rate is too
        small: it cannot even fit the training data.

    Example:
        The seed's train 70% / test 68% ("两个都很差!").

    Remedies:
        A bigger model, train longer, raise the learning rate x2, a better
        architecture. The seed names three causes (model too simple, trained too
        briefly, learning rate too small); the order follows the one the curve
        points at. A loss that does not move at all but whose flat stretch is a
        steady, noise-free, straight descent (the signature of too small a step,
        like the seed's 100 -> 99.9 -> 99.8) puts "raise the learning rate x10"
        first; a loss stuck at chance with noise and no trend keeps the bigger model
        first. Every tiny descent stays "underfitting" (a 0.0015% change is no
        learning whatever its cause); only the order of the remedies changes.

    Not reported here:
        A known config whose learning rate is far too low for its optimizer:
        ``slow-descent`` reports it with its cause. A run whose loss exploded:
        ``divergence`` reports it, and the dead network's poor accuracies are its
        symptom, not a model too small. A loss still falling in a steady straight
        line: it is still learning, too slowly, and ``slow-descent`` reports it
        (poor accuracies of a run at SGD lr 5e-4 are its too-small steps).
    """

    id = "underfitting"
    title = "Underfitting"
    needs = (("train_loss",), ("val_loss",), ("train_accuracy", "val_accuracy"))
    min_points = 1

    def applicable(self, view: RunView) -> bool:
        return (view.has("train_loss", 5) or view.has("val_loss", 5)
                or (view.has("train_accuracy") and view.has("val_accuracy")))

    def check(self, view: RunView) -> list[Finding]:
        if blew_up(view) or lr_too_low_evidence(view) is not None or _dead(view):
            return []
        stuck = [(abs(relative_change(view.curve(r))), r) for r in ("train_loss", "val_loss")
                 if view.has(r, 5)]
        if stuck and min(stuck)[0] < NO_LEARNING:
            return [self._no_learning(view, min(stuck)[1])]
        if view.has("train_accuracy") and view.has("val_accuracy") and not falls_slowly(view):
            found = self._poor_and_close(view)
            if found:
                return [found]
        return []

    def _no_learning(self, view: RunView, role: str) -> Finding:
        c = view.curve(role)
        end = edge_level(c, EDGE_FRACTION, head=False)
        change = relative_change(c)
        k = chance_classes(end)
        chance = f" = ln {k}, the chance level of {k} classes," if k else ""
        start = edge_level(c, EDGE_FRACTION, head=True)
        steady = steady_descent(c, start, end) is not None
        why = ("; it fell in a steady straight line, the steps are too small" if steady
               else "")
        return self.finding(
            view, Severity.WARNING, int(c.start[0]), int(c.step[-1]),
            f"{role} stayed at {fmt(end)}{chance} from step {int(c.start[0])} to "
            f"{int(c.step[-1])}: it changed by {pct(-change)} over {c.n_points} points "
            f"(nothing was learned){why}", role=role, title="No learning",
            cause="lr-too-small" if steady else None)

    def _poor_and_close(self, view: RunView) -> Finding | None:
        tr, va = view.curve("train_accuracy"), view.curve("val_accuracy")
        t_end = edge_level(tr, EDGE_FRACTION, head=False) / accuracy_scale(tr.y)
        v_end = edge_level(va, EDGE_FRACTION, head=False) / accuracy_scale(va.y)
        if t_end >= POOR_ACCURACY or t_end - v_end >= CLOSE_GAP:
            return None
        if self._still_learning(tr, t_end):
            return None
        return self.finding(
            view, Severity.WARNING, int(min(tr.start[0], va.start[0])),
            int(max(tr.step[-1], va.step[-1])),
            f"train accuracy {t_end:.1%} and validation accuracy {v_end:.1%} at the end: "
            f"both poor (under {POOR_ACCURACY:.0%}) and close ({(t_end - v_end) * 100:.1f} "
            "points apart)" + ("; training accuracy has stopped improving" if len(tr) >= 5
                               else ""), role="train_accuracy")

    @staticmethod
    def _still_learning(tr: Curve, t_end: float) -> bool:
        if len(tr) < 5:
            return False  # a reported final pair, as in the seed: judge it as it stands
        late = edge_mask(tr, 0.5, head=False)
        x, y = tr.x[late], tr.y[late] / accuracy_scale(tr.y)
        gain = resistant_slope(x, y) * float(x[-1] - x[0])
        # The second half is half the run: one more run of the same length gains 2x.
        reachable = t_end + gain * 2 * EXTRA_RUNS
        return gain >= STILL_LEARNING and reachable >= POOR_ACCURACY
