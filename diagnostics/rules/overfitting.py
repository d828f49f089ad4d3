"""Rule ``overfitting``: validation worsens while training improves, or a wide gap."""

from __future__ import annotations

import numpy as np

from traindoc.diagnostics import blowups, facts, learning
from traindoc.diagnostics.rules.base import Rule, RunView
from traindoc.diagnostics.signals import (
    accuracy_scale,
    as_fraction,
    edge_level,
    edge_mask,
    fmt,
    pct,
)
from traindoc.diagnostics.trend import multi_decade, noise, trend
from traindoc.diagnostics.types import Confidence, Finding, Severity
from traindoc.diagnostics.wording import plural

#: Evaluations after the smoothed best before a rise counts (early stopping's patience;
#: one or two bad evaluations are noise, the seed's "看到测试集上升就停" needs a trend).
PATIENCE = 3

#: The smoothed validation loss (or objective) must end at least this far from its
#: smoothed best (relative). A converged curve wanders ~1% around its best.
MIN_RISE = 0.015

#: ...and by at least this share of the descent that reached the best: a loss that fell
#: 3,500x and creeps back 10% off its floor is converged, not memorising.
MIN_RISE_VS_PROGRESS = 0.03

#: Training must still improve after the validation best by this share of its level:
#: "train keeps falling while validation rises".
MIN_TRAIN_GAIN = 0.02

#: Seed: train 99% / test 75% is overfitting, 95% / 93% is fine: a gap of 10 points.
ACC_GAP = 0.10

#: Half the seed's gap: with validation stalled and training still improving, a gap
#: of this many points is overfitting at an earlier stage.
STALLED_GAP = 0.05

#: A training cross-entropy below this fits the training set (p(correct) > 0.99).
FIT_LOSS = 0.01

#: Validation accuracy within this of its best at the end still improves.
ACC_STILL_BEST = 0.005

#: Short runs: with this few evaluations a rise is weak evidence (info, low confidence).
SHORT_EVALS = 8


class Overfitting(Rule):
    """Training keeps improving while validation gets worse, or a wide gap.

    What it detects:
        A validation loss whose smoothed curve has risen at least 1.5% above its
        smoothed best (by more than 3 sigmas of its own noise, or in a significant
        upward trend since the best), for at least 3 evaluations, while the training
        loss still fell by 2% or more; a final train/validation accuracy gap of 10
        points or more (a training cross-entropy under 0.01 counts as ~100%
        training accuracy when none is logged); or a validation objective (a metric,
        else the accuracy) that turns 1.5% worse than its best while training
        improves. With only 3-8 evaluations, a validation loss rising at each of the
        last ones while training falls is a low-confidence note. A model that learns
        nothing, or whose loss blew up, is not overfitting.

    Why it matters:
        The model memorises the training data instead of learning the task;
        every further epoch makes it worse on new data.

    Example:
        Train accuracy 99% and test accuracy 75%; or a test loss that turns up
        while the train loss keeps falling.

    Remedies:
        Early stopping, dropout 0.3-0.5, data augmentation, weight decay 0.01, a
        smaller model, more data.
    """

    id = "overfitting"
    title = "Overfitting"
    needs = (("val_loss", "train_loss"), ("train_accuracy", "val_accuracy"))
    min_points = 1

    def check(self, view: RunView) -> list[Finding]:
        if learning.no_learning(view) or blowups.blew_up(view) or blowups.dead(view):
            return []
        found = None
        if view.has("val_loss", 3) and view.has("train_loss", 3):
            found = self._loss_rise(view)
        if found is None and view.has("train_loss", facts.MIN_POINTS):
            found = self._memorised(view)
        if found is None and learning.accuracies_judgeable(view):
            found = self._acc_gap(view)
        if found is None and view.has("train_loss", facts.MIN_POINTS):
            found = self._objective_decline(view)
        return [found] if found else []

    def _loss_rise(self, view: RunView) -> Finding | None:
        v, t = view.curve("val_loss"), view.curve("train_loss")
        if len(v) <= SHORT_EVALS and len(v) < 2 * facts.MIN_POINTS:
            short = self._short_rise(view, v, t)
            if short is not None or len(v) < facts.MIN_POINTS:
                return short
        smooth = facts.smooth(v)
        best_i = int(np.argmin(smooth))
        best, end = float(smooth[best_i]), facts.late_level(v)
        n, w = len(v), max(3, len(v) // 10) | 1
        if n - 1 - best_i < PATIENCE or best <= 0:
            return None
        rise = end - best
        sigma = noise(v.y[max(0, min(best_i - w // 2, n // 2)):])
        if rise < MIN_RISE * best:
            return None
        after = v.x >= v.x[best_i]
        rising = after.sum() >= 2 * facts.MIN_POINTS and trend(
            v.x[after], v.y[after]).rising(view.cal.trend_z)
        if rise < view.cal.rise_sigmas * sigma and not rising:
            return None  # neither far out of the noise nor a significant upward trend
        if self._rise_share(v.y, smooth, best_i) < MIN_RISE_VS_PROGRESS:
            return None
        lo = max(0, best_i - w // 2)
        best_i = lo + int(np.argmin(v.y[lo: best_i + w // 2 + 1]))
        best_step = int(v.step[best_i])
        t_at = float(np.interp(best_step, t.step, facts.smooth(t)))
        t_end = edge_level(t, facts.EDGE, head=False)
        if t_at <= 0 or t_at - t_end < MIN_TRAIN_GAIN * t_at:
            return None
        note = ""
        if view.has("val_accuracy", 5):
            acc = as_fraction(view.curve("val_accuracy").y)
            if acc[-1] >= float(np.max(acc)) - ACC_STILL_BEST:
                note = (f"; validation accuracy is still at its best ({fmt(float(acc[-1]))}): "
                        "the loss overfits (over-confident predictions) before the accuracy does")
        conf = Confidence.HIGH if n >= 2 * facts.MIN_POINTS else Confidence.MEDIUM
        if n <= SHORT_EVALS:
            conf = Confidence.LOW  # a rise over a few evaluations is weak evidence
        return self.finding(
            view, Severity.WARNING, best_step, int(v.step[-1]),
            f"val_loss rose from its best level {fmt(best)} (around step {best_step}) to "
            f"{fmt(end)} (+{pct(rise / best)}; levels are smoothed over {w} evaluations) "
            f"over {plural(len(v) - 1 - best_i, 'evaluation')} while train_loss still fell from "
            f"{fmt(t_at)} to {fmt(t_end)} (-{pct((t_at - t_end) / t_at)})" + note,
            role="val_loss", confidence=conf)

    @staticmethod
    def _rise_share(y: np.ndarray, smooth: np.ndarray, best_i: int) -> float:
        """The rise from the best as a share of the descent that reached it, on the
        scale the curve is read on (log when it spans decades)."""
        start, best, end = max(float(y[0]), float(smooth[0])), smooth[best_i], smooth[-1]
        if multi_decade(y):
            start, best, end = np.log10(start), np.log10(best), np.log10(end)
        descent = start - best
        return float((end - best) / descent) if descent > 0 else float("inf")

    def _short_rise(self, view: RunView, v, t) -> Finding | None:
        """3-8 evaluations: the validation loss rose at each of the last ones while
        training fell. Real, but weak evidence."""
        k = 3 if len(v) >= 4 else 2
        tail = v.y[-(k + 1):]
        if not np.all(np.diff(tail) > 0):
            return None
        first = int(v.step[-(k + 1)])
        smooth = facts.smooth(t)
        t_at = float(np.interp(first, t.step, smooth))
        t_end = float(smooth[-1])
        if not t_end < t_at:
            return None
        return self.finding(
            view, Severity.INFO, first, int(v.step[-1]),
            f"val_loss rose at each of its last {k} evaluations ({fmt(float(tail[0]))} -> "
            f"{fmt(float(tail[-1]))}) while train_loss fell ({fmt(t_at)} -> {fmt(t_end)}); "
            f"only {len(v)} evaluations: weak evidence", role="val_loss",
            title="Validation loss rising (early)", confidence=Confidence.LOW)

    def _memorised(self, view: RunView) -> Finding | None:
        """No training accuracy is logged, but a training cross-entropy under 0.01 says
        it: the training set is fit (p(correct) > 0.99 on average), so a validation
        accuracy 10 points or more below 100% is the seed's accuracy gap."""
        if view.has("train_accuracy") or not view.has("val_accuracy", facts.MIN_POINTS):
            return None
        t, va = view.curve("train_loss"), view.curve("val_accuracy")
        t_end = edge_level(t, facts.EDGE, head=False)
        v_end = edge_level(va, facts.EDGE, head=False) / accuracy_scale(va.y)
        if not 0 <= t_end < FIT_LOSS or 1.0 - v_end < ACC_GAP:
            return None
        return self.finding(
            view, Severity.WARNING, int(va.start[0]), int(va.step[-1]),
            f"train_loss ended at {fmt(t_end)} (the training set is fit: ~100% accuracy) while "
            f"validation accuracy ends at {v_end:.1%}, a gap of {(1 - v_end) * 100:.0f} points "
            "(10 or more is overfitting)", role="val_accuracy",
            title="Overfitting (memorisation)", confidence=Confidence.MEDIUM)

    def _objective_decline(self, view: RunView) -> Finding | None:
        """The validation objective (a metric, else the accuracy) turned worse after its
        best while the training loss kept improving: the seed's "test gets worse" read
        on what the run is for (a detector's mAP, whose parts' losses sum to a flat
        line while one of them rises)."""
        if facts.reward_run(view) or blowups.degenerate_loss(view) is not None:
            return None  # an agent's reward is no held-out set; a broken loss is mismatch
        role = "val_metric" if view.higher_is_better("val_metric") is not None else "val_accuracy"
        if not view.has(role, 2 * facts.MIN_POINTS):
            return None
        c = view.curve(role)
        p = facts.peak(c, bool(view.higher_is_better(role)))
        k, worse = p.index, p.lost
        if len(c) - 1 - k < PATIENCE or worse < view.cal.rise_sigmas * noise(c.y[k:]):
            return None
        if worse < MIN_RISE * abs(p.best):
            return None
        step = int(c.step[k])
        if view.has("val_loss", 3):
            v = view.curve("val_loss")
            after = v.step >= step
            if after.sum() >= 3 and trend(v.x[after], v.y[after]).falling(view.cal.trend_z):
                return None  # validation loss still improves: the metric disagrees with it
        t = view.curve("train_loss")
        t_at = float(np.interp(step, t.step, facts.smooth(t)))
        t_end = edge_level(t, facts.EDGE, head=False)
        if t_at <= 0 or t_at - t_end < MIN_TRAIN_GAIN * t_at:
            return None
        return self.finding(
            view, Severity.WARNING, step, int(c.step[-1]),
            f"{view.tag(role)} got worse after its best ({fmt(p.best)} around step "
            f"{step}) and ends at {fmt(p.end)} ({pct(worse / abs(p.best))} worse; levels are "
            f"smoothed) while train_loss still fell from {fmt(t_at)} to {fmt(t_end)}",
            role=role, confidence=Confidence.MEDIUM, title="Overfitting (objective declines)")

    def _acc_gap(self, view: RunView) -> Finding | None:
        tr, va = view.curve("train_accuracy"), view.curve("val_accuracy")
        t_end = edge_level(tr, facts.EDGE, head=False) / accuracy_scale(tr.y)
        v_end = edge_level(va, facts.EDGE, head=False) / accuracy_scale(va.y)
        gap = t_end - v_end
        if learning.constant_accuracy(view) is not None:
            return None
        if gap < ACC_GAP - 1e-9:
            return self._stalled_gap(view, t_end, v_end) if gap >= STALLED_GAP else None
        return self.finding(
            view, Severity.WARNING, int(min(tr.start[0], va.start[0])),
            int(max(tr.step[-1], va.step[-1])),
            f"train accuracy {t_end:.1%} vs validation accuracy {v_end:.1%} at the end: a gap "
            f"of {gap * 100:.1f} points (10 or more is overfitting)", role="val_accuracy",
            title="Overfitting (accuracy gap)")

    def _stalled_gap(self, view: RunView, t_end: float, v_end: float) -> Finding | None:
        """A gap of 5-10 points while validation has stopped improving (its loss no
        longer falls over the second half and ends above its best) and training still
        does: the seed's overfitting signature at an earlier stage."""
        if not (view.has("val_loss", 2 * facts.MIN_POINTS) and view.has("train_loss", 12)):
            return None
        z = view.cal.trend_z
        v, t = view.curve("val_loss"), view.curve("train_loss")
        vl, tl = edge_mask(v, 0.5, head=False), edge_mask(t, 0.5, head=False)
        if trend(v.x[vl], v.y[vl]).falling(z) or not trend(t.x[tl], t.y[tl]).falling(z):
            return None
        best = float(np.min(facts.smooth(v)))
        if facts.late_level(v) <= best * (1 + MIN_RISE):
            return None
        return self.finding(
            view, Severity.WARNING, int(v.start[vl][0]), int(v.step[-1]),
            f"train accuracy {t_end:.1%} vs validation accuracy {v_end:.1%}: a gap of "
            f"{(t_end - v_end) * 100:.1f} points while val_loss stopped improving over the "
            f"second half (ends at {fmt(facts.late_level(v))}, best {fmt(best)}) and "
            "train_loss still falls", role="val_accuracy", title="Overfitting (gap, validation "
            "stalled)", confidence=Confidence.MEDIUM)
