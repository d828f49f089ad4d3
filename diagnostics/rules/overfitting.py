"""Rule ``overfitting``: validation worsens while training improves, or a wide gap."""

from __future__ import annotations

import numpy as np

from diagnostics.rules.base import Rule, RunView
from diagnostics.signals import (
    accuracy_scale,
    as_fraction,
    edge_level,
    fmt,
    noise_sigma,
    pct,
    rolling_median,
    smooth_window,
)
from diagnostics.types import Finding, Severity

#: Evaluations after the smoothed best before a rise counts (early stopping's patience;
#: one or two bad evaluations are noise, the seed's "看到测试集上升就停" needs a trend).
PATIENCE = 3

#: The smoothed validation loss must end at least this far above its smoothed best
#: (relative). A converged curve wanders ~1% around its floor.
MIN_RISE = 0.015

#: ...and by at least this many sigmas of its evaluation-to-evaluation noise (measured
#: from the best, or from the second half when the best is late). Simulated flat noisy
#: plateaus of 8-300 evaluations pass 2 sigmas 1-10% of the time, 3 sigmas 0-4%.
MIN_RISE_SIGMAS = 3.0

#: Training must still improve after the validation best by this share of its level:
#: "train keeps falling while validation rises". A converged, flat train curve means
#: a wandering validation is not overfitting.
MIN_TRAIN_GAIN = 0.02

#: Seed: train 99% / test 75% is overfitting, 95% / 93% is fine: a gap of 10 points.
ACC_GAP = 0.10

#: Share of the points whose median is a series' final level.
TAIL_FRACTION = 0.1

#: Validation accuracy within this of its best at the end still improves: the loss
#: overfits (over-confidence) before the predictions do. The evidence says so, but it
#: stays a warning: the seed's sign is the loss ("测试集损失开始上升"), and realruns
#: labels such runs overfitting with high confidence (irdsi_lightning_v3); our own
#: 512x512 MLP on 100 digits memorises (train loss 3e-4, accuracy 100%) while its
#: validation accuracy sits flat at its best and its validation loss climbs 10%.
ACC_STILL_BEST = 0.005


class Overfitting(Rule):
    """Training keeps improving while validation gets worse, or a wide accuracy gap.

    What it detects:
        A validation loss whose smoothed curve has risen at least 1.5% (and more than
        its noise) above its smoothed best, for at least 3 evaluations, while the
        training loss still fell by 2% or more over the same stretch; or a final
        train/validation accuracy gap of 10 points or more. A validation loss that
        rises while validation accuracy is still at its best is still overfitting
        (the evidence adds that the predictions are over-confident before they are
        worse).

    Why it matters:
        The model memorises the training data instead of learning the task ("死记硬背");
        every further epoch makes it worse on new data.

    Example:
        The seed's train 99% / test 75%, and its drawing of the test loss turning up
        ("开始上升!") while the train loss keeps falling.

    Remedies:
        Early stopping, dropout 0.3-0.5, data augmentation, weight decay 0.01, a
        smaller model, more data.
    """

    id = "overfitting"
    title = "Overfitting"
    needs = (("val_loss", "train_loss"), ("train_accuracy", "val_accuracy"))
    min_points = 1

    def applicable(self, view: RunView) -> bool:
        return (view.has("val_loss", 5) and view.has("train_loss", 5)) or (
            view.has("train_accuracy") and view.has("val_accuracy"))

    def check(self, view: RunView) -> list[Finding]:
        found = None
        if view.has("val_loss", 5) and view.has("train_loss", 5):
            found = self._loss_rise(view)
        if found is None and view.has("train_accuracy") and view.has("val_accuracy"):
            found = self._acc_gap(view)
        return [found] if found else []

    def _loss_rise(self, view: RunView) -> Finding | None:
        v = view.curve("val_loss")
        smooth = rolling_median(v.y, smooth_window(len(v)))  # robust to single bad evals
        best_i = int(np.argmin(smooth))
        best, end = float(smooth[best_i]), float(smooth[-1])
        n, w = len(v), smooth_window(len(v))
        if n - 1 - best_i < PATIENCE or best <= 0:
            return None
        rise = end - best
        sigma = noise_sigma(v.y[max(0, min(best_i - w // 2, n // 2)) :])
        if rise < MIN_RISE * best or rise < MIN_RISE_SIGMAS * sigma:
            return None
        # The raw best inside the smoothing window names the step (the smoothed argmin
        # can sit half a window early on a plateau).
        lo = max(0, best_i - w // 2)
        best_i = lo + int(np.argmin(v.y[lo : best_i + w // 2 + 1]))
        t = view.curve("train_loss")
        best_step = int(v.step[best_i])
        t_at = float(np.interp(best_step, t.step, rolling_median(t.y, smooth_window(len(t)))))
        t_end = edge_level(t, TAIL_FRACTION, head=False)
        if t_at <= 0 or t_at - t_end < MIN_TRAIN_GAIN * t_at:
            return None
        note = ""
        if view.has("val_accuracy", 5):
            acc = as_fraction(view.curve("val_accuracy").y)
            acc_smooth = rolling_median(acc, smooth_window(acc.size))
            if acc_smooth[-1] >= float(acc_smooth.max()) - ACC_STILL_BEST:
                note = (f"; validation accuracy is still at its best ({fmt(float(acc[-1]))}): "
                        "the loss overfits (over-confident predictions) before the accuracy does")
        return self.finding(
            view, Severity.WARNING, best_step, int(v.step[-1]),
            f"val_loss rose from its best level {fmt(best)} (around step {best_step}) to "
            f"{fmt(end)} (+{pct(rise / best)}; levels are medians of {w} evaluations) "
            f"over {len(v) - 1 - best_i} evaluations while train_loss "
            f"still fell from {fmt(t_at)} to {fmt(t_end)} (-{pct((t_at - t_end) / t_at)})"
            + note, role="val_loss")

    def _acc_gap(self, view: RunView) -> Finding | None:
        tr, va = view.curve("train_accuracy"), view.curve("val_accuracy")
        t_end = edge_level(tr, TAIL_FRACTION, head=False) / accuracy_scale(tr.y)
        v_end = edge_level(va, TAIL_FRACTION, head=False) / accuracy_scale(va.y)
        gap = t_end - v_end
        if gap < ACC_GAP - 1e-9:
            return None
        return self.finding(
            view, Severity.WARNING, int(min(tr.start[0], va.start[0])),
            int(max(tr.step[-1], va.step[-1])),
            f"train accuracy {t_end:.1%} vs validation accuracy {v_end:.1%} at the end: a gap "
            f"of {gap * 100:.1f} points (10 or more is overfitting)", role="val_accuracy",
            title="Overfitting (accuracy gap)")
