"""Rule ``oscillation``: the curve's trend swings up and down with no net progress."""

from __future__ import annotations

import numpy as np

from traindoc.diagnostics import blowups, facts, learning
from traindoc.diagnostics.rules.base import Rule, RunView
from traindoc.diagnostics.signals import edge_level, edge_mask, fmt
from traindoc.diagnostics.trend import (
    Trend,
    change_point,
    median,
    multi_decade,
    quartiles,
    trend,
)
from traindoc.diagnostics.types import Confidence, Finding, Severity
from traindoc.diagnostics.wording import times

#: Curves this short are judged whole; longer ones on their second half (the first
#: half holds the descent a healthy run makes).
SHORT_CURVE = 12

#: Swings must be large next to the progress the run has made from its start: noise
#: around a descent that has gone far is small next to it (<= 0.2 in the healthy
#: references); the seed's picture swings between 2.0 and 0.5 having gained nothing.
SWING_VS_PROGRESS = 0.5

#: ...unless the swings grew: step-to-step moves this many times larger (mean) after
#: the curve's change of volatility than before it.
GROWTH = 3.0


def swings(x: np.ndarray, y: np.ndarray) -> tuple[float, Trend]:
    """(swing, trend): the interquartile range of ``y`` around its Theil-Sen line, and
    that line (its ``change`` is the net change across the window)."""
    t = trend(x, y)
    resid = y - t.slope * x
    q1, q3 = quartiles(resid)
    return q3 - q1, t


def swings_grew(y: np.ndarray) -> float:
    """How many times larger the step-to-step moves became (on average) after the
    curve's change of volatility (0.0 unless at least ``GROWTH``x): a healthy curve's
    moves shrink as it converges; an unstable one's grow (a loss that spiked and never
    settled again)."""
    moves = np.abs(np.diff(y))[y.size // 4:]  # past the early descent's large moves
    k, shift = change_point(moves, min_size=facts.MIN_POINTS)
    if k == 0 or shift <= 0:
        return 0.0
    before, after = float(np.mean(moves[:k])), float(np.mean(moves[k:]))
    if before <= 0:
        return 0.0
    return after / before if after >= GROWTH * before else 0.0


def _since_start(start: float, gained: float) -> str:
    """What the curve gained since its start, counted in swings."""
    if gained < 0.05:
        return f"it is no better than at its start ({fmt(start)})"
    unit = "of one swing" if gained < 1 else "swings"
    return f"since its start ({fmt(start)}) it gained {gained:.1f} {unit}"


class Oscillation(Rule):
    """The curve's trend jumps up and down without getting anywhere.

    What it detects:
        An evaluation curve (the validation metric or loss, one point per
        evaluation), or the smoothed trend of the training loss, whose later half
        has no significant net progress while it swings, around its own trend, by
        at least 10% of its level and by at least half of the progress the run made
        from its start, or by swings that grew (an evaluation curve's step-to-step
        moves three times larger after a change point than before it). Mini-batch
        noise of a per-step loss is not a swing: the training loss is judged on its
        rolling median. A loss that spans decades is read on a log scale. A model
        that learns nothing is not oscillating: the underfitting rule reports it.

    Why it matters:
        The optimizer overshoots the minimum on every step: the learning rate is too
        large, and the run wastes its time: the loss swings without coming down,
        and it may end in NaN.

    Example:
        A learning rate too large: the loss bounces between 2.0, 1.5, 1.0 and 0.5
        with no descent.

    Remedies:
        Lower the learning rate ten-fold, add warmup, clip the gradient norm at 1.0.
    """

    id = "oscillation"
    title = "Oscillates without progress"
    needs = (("train_loss",), ("val_loss",), ("val_metric",), ("train_metric",))
    min_points = facts.MIN_POINTS

    def check(self, view: RunView) -> list[Finding]:
        if learning.no_learning(view) or blowups.blew_up(view) or blowups.dead(view):
            return []
        for role, smoothed in self._candidates(view):
            found = self._check(view, role, smoothed)
            if found:
                return [found]
        return []

    @staticmethod
    def _candidates(view: RunView) -> list[tuple[str, bool]]:
        out = [(r, False) for r in ("val_metric",) if view.higher_is_better(r) is not None]
        if facts.loss_judges(view):
            out += [("val_loss", False), ("train_loss", True)]
        elif view.higher_is_better("train_metric") is not None:
            out.append(("train_metric", False))
        # A smoothed trend needs a longer curve than a series of evaluations does.
        return [(r, s) for r, s in out if view.has(r, (2 if s else 1) * facts.MIN_POINTS)]

    def _check(self, view: RunView, role: str, smoothed: bool) -> Finding | None:
        c = view.curve(role)
        higher = bool(view.higher_is_better(role))
        y = facts.smooth(c) if smoothed else c.y
        log = multi_decade(y) and not higher
        if log:
            y = np.log10(y)
        window = np.ones(len(c), bool) if len(c) <= SHORT_CURVE else edge_mask(c, 0.5, head=False)
        x, yw = c.x[window], y[window]
        swing, line = swings(x, yw)
        level = median(yw)
        rel = (10.0**swing - 1.0) if log else swing / max(abs(level), 1e-12)
        if swing <= 0 or rel < view.cal.swing_rel:
            return None
        if abs(line.change) >= swing and line.significant(view.cal.trend_z):
            return None  # a real trend: progress, or divergence/overfitting
        sign = 1.0 if higher else -1.0
        start = edge_level(c, 0.05, head=True)
        progress = sign * (level - (np.log10(start) if log else start))
        grew = 0.0 if smoothed else swings_grew(y)  # a rolling median's moves are not swings
        if progress > 0 and swing < SWING_VS_PROGRESS * progress and not grew:
            return None  # noise around a descent that has already gone far
        raw = c.y[window]
        where = (f"steps {int(c.start[window][0])}-{int(c.step[window][-1])}")
        how = f"{rel:.0%} of its level" if not log else f"a factor of {10**swing:.2g}"
        tag = view.tag(role)
        conf = Confidence.HIGH if window.sum() >= 2 * facts.MIN_POINTS else Confidence.MEDIUM
        if len(c) <= SHORT_CURVE // 1.5:
            conf = Confidence.LOW  # eight evaluations or fewer: weak evidence
        return self.finding(
            view, Severity.WARNING, int(c.start[window][0]), int(c.step[window][-1]),
            f"{tag}{' (smoothed)' if smoothed else ''} swung between {fmt(float(raw.min()))} "
            f"and {fmt(float(raw.max()))} over {where} (typical swing {how}) with no net "
            f"progress; {_since_start(start, max(progress, 0.0) / swing)}"
            + (f"; its step-to-step swings grew {times(grew)}" if grew else ""),
            role=role, confidence=conf)
