"""Facts about a run that several rules read, computed once per run and cached.

Rules never import each other: where one rule must stay silent because another
problem explains the curve (a dead network's poor accuracy is not a model too small),
both read the fact from here. Every fact is a plain function of the ``RunView``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from traindoc.diagnostics.learning_rate import lr_far_too_low
from traindoc.diagnostics.metrics import is_reward
from traindoc.diagnostics.signals import Curve, edge_level, rolling_median, smooth_window
from traindoc.diagnostics.trend import noise, trend
from traindoc.diagnostics.types import METRIC_ROLES
from traindoc.diagnostics.view import RunView

T = TypeVar("T")

#: Fewest finite points a curve needs before a rule judges its shape. Five logged
#: evaluations are a start-up (the seed's healthy reference has six points).
MIN_POINTS = 6

#: Share of the points whose median is a curve's start (end) level.
EDGE = 0.1

#: Below this relative change over the whole run a loss did not move: nothing was
#: learned, however much the plot (with its offset y axis) looks like a descent. The
#: seed's slow-but-moving run changes 0.1% per step; a stuck run 0.01% in total.
NO_LEARNING = 1e-3

#: A first value this far (relative) above the head's median: the loss descended there.
EARLY_DROP = 0.1

#: A loss within this relative distance of ln(k) is at the chance level of a k-class
#: cross-entropy (uniform predictions), e.g. ln 29 = 3.367.
CHANCE_TOLERANCE = 2e-3
MAX_CLASSES = 1000

#: A bounded score (0-1: mAP, F1, IoU) that never passed this learned nothing.
SCORE_AT_ZERO = 0.05

#: A reward that gained less than this share of its magnitude did not move (a 70-point
#: creep on a -8,000 scale is the same failure, episode after episode).
REWARD_MOVED = 0.01


def cached(fn: Callable[[RunView], T]) -> Callable[[RunView], T]:
    """Compute a fact once per run view."""

    def get(view: RunView) -> T:
        key = fn.__name__
        if key not in view.facts:
            view.facts[key] = fn(view)
        return view.facts[key]

    get.__name__ = fn.__name__
    get.__doc__ = fn.__doc__
    return get


def usable(view: RunView, role: str, n: int = MIN_POINTS) -> bool:
    return view.has(role, n)


def late_level(c: Curve) -> float:
    """Where a curve ends: the median of its last 10% of points, and of at least three
    (one bad evaluation at the end is not where the curve is)."""
    return edge_level(c, EDGE, head=False, min_points=3)


def smooth(c: Curve) -> np.ndarray:
    """A curve's trend line: a centred rolling median (mini-batch noise removed); worked
    out once per curve (read-only: several rules read it)."""
    return c.remembered("smooth", _smoothed, c)


def _smoothed(c: Curve) -> np.ndarray:
    return rolling_median(c.y, smooth_window(len(c)))


@dataclass(frozen=True, slots=True)
class Peak:
    """Where a curve was at its (smoothed) best and how it ended, in its own units;
    ``lost`` and ``gained`` are measured in its better direction (> 0: worse at the
    end, better at the best than the worst level before it)."""

    index: int
    best: float
    end: float
    before: float  # the worst smoothed level up to the best
    lost: float
    gained: float


def peak(c: Curve, higher: bool) -> Peak:
    """The curve's smoothed best, the late level it ends at, and the worst before it
    (worked out once per curve and direction)."""
    return c.remembered(("peak", higher), _peak, c, higher)


def _peak(c: Curve, higher: bool) -> Peak:
    sign = 1.0 if higher else -1.0
    s = sign * smooth(c)
    k = int(np.argmax(s))
    best, end, before = float(s[k]), sign * late_level(c), float(np.min(s[: k + 1]))
    return Peak(k, sign * best, sign * end, sign * before, best - end, best - before)


# -- what the run is ------------------------------------------------------------------


@cached
def reward_run(view: RunView) -> bool:
    """A reinforcement-learning run: its objective is a reward, and its losses are
    not what the agent optimises (a DQN loss grows as its Q-values grow)."""
    return any(role in view.tags and is_reward(view.tag(role)) for role in METRIC_ROLES)


@cached
def metric(view: RunView) -> tuple[str, bool] | None:
    """(role, higher is better) of the objective metric, validation first."""
    for role in ("val_metric", "train_metric"):
        higher = view.higher_is_better(role)
        if higher is not None and usable(view, role):
            return role, higher
    return None


def train_loss_role(view: RunView) -> str | None:
    """The loss whose shape says how training goes: the training loss, else validation
    (a curve of ``MIN_POINTS`` first; four points when no curve is that long)."""
    for n in (MIN_POINTS, 4):
        for role in ("train_loss", "val_loss"):
            if usable(view, role, n):
                return role
    return None


def loss_judges(view: RunView) -> bool:
    """The loss says how the run goes (not an RL run, where the reward does)."""
    return not reward_run(view)


# -- progress of a curve ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Progress:
    """How a curve moved, in its better direction: ``gain`` > 0 is improvement."""

    start: float
    end: float
    best: float
    gain: float  # end minus start, signed so that > 0 is better
    rel: float  # gain / |start| (inf when start is 0)
    z: float  # Mann-Kendall z, signed so that > 0 is improving
    sigma: float  # point-to-point noise


def progress(view: RunView, role: str, higher: bool) -> Progress:
    key = f"progress:{role}"
    if key in view.facts:
        return view.facts[key]
    c = view.curve(role)
    sign = 1.0 if higher else -1.0
    start = edge_level(c, EDGE, head=True)
    end = edge_level(c, EDGE, head=False)
    s = smooth(c)
    best = float(np.max(s) if higher else np.min(s))
    gain = sign * (end - start)
    rel = gain / abs(start) if start else math.inf
    p = Progress(start, end, best, gain, rel, sign * trend(c.x, c.y).z, noise(c.y))
    view.facts[key] = p
    return p


# -- learning or not --------------------------------------------------------------------


def chance_classes(level: float) -> int | None:
    """k when ``level`` is ln(k), the cross-entropy of uniform guessing over k classes."""
    if not 0.6 < level < math.log(MAX_CLASSES + 0.5):
        return None
    k = round(math.exp(level))
    return k if abs(level - math.log(k)) <= CHANCE_TOLERANCE * level else None


@cached
def flat_loss(view: RunView) -> tuple[str, float] | None:
    """(role, relative change) of a train or validation loss that did not move."""
    for role in ("train_loss", "val_loss"):
        if usable(view, role, 5):
            c = view.curve(role)
            start = edge_level(c, EDGE, head=True)
            end = edge_level(c, EDGE, head=False)
            if not start or not np.isfinite(start):
                continue
            # A descent finished within the first 10% (0.1 + 2.2 exp(-step/20) over 5,000
            # steps) hides in the head's median: the first value shows it.
            early = (float(c.y[0]) - start) / abs(start)
            if abs(start - end) / abs(start) < NO_LEARNING and early < EARLY_DROP:
                return role, (start - end) / abs(start)
    return None


@cached
def metric_stuck(view: RunView) -> str | None:
    """Evidence that the objective never left where it started, or None: a bounded
    score (mAP, F1, IoU) that stayed at zero, or a reward with no significant upward
    trend in any of its curves (episode and evaluation). An error metric that stays
    flat at some level is a plateau, not "nothing learned": it says nothing about
    chance."""
    m = metric(view)
    if m is None:
        return None
    role, higher = m
    y = view.curve(role).y
    if higher and np.min(y) >= 0 and np.max(y) <= SCORE_AT_ZERO:
        return f"{view.tag(role)} never rose above {np.max(y):.3g}: at zero"
    if not reward_run(view):
        return None
    for r in METRIC_ROLES:
        if usable(view, r) and view.higher_is_better(r):
            p = progress(view, r, True)
            significant = p.z >= view.cal.trend_z or (p.gain > 4 * max(p.sigma, 1e-12)
                                                       and p.rel >= 0.1)
            if significant and p.rel >= REWARD_MOVED:
                return None
    p = progress(view, role, higher)
    return (f"{view.tag(role)} did not improve: {p.start:.4g} at the start, {p.end:.4g} at "
            "the end, no trend")


# -- the schedule ---------------------------------------------------------------------------


@cached
def warming_up(view: RunView) -> bool:
    """The learning rate is still ramping up: too early to call a slow or poor run."""
    if usable(view, "lr", 3):
        y = view.curve("lr").y
        recent = y[max(0, y.size - 1 - max(1, y.size // 20))]
        return bool(y[-1] >= np.max(y) and y[-1] > recent)  # still climbing to its peak
    return False


@cached
def lr_too_low(view: RunView) -> str | None:
    """Why the known config explains a loss that barely moved, or None (see
    ``traindoc.diagnostics.learning_rate``)."""
    return lr_far_too_low(view.config)


# -- slow progress ------------------------------------------------------------------------

#: "Still falling at the same pace": the second half's slope at least this share of
#: the whole run's. A healthy curve flattens (an exponential decay gives ~0.2, a run
#: stopped early while it learns well ~0.55); a too-small step gives a straight line
#: (1.0).
MIN_LINEARITY = 0.7


@dataclass(frozen=True, slots=True)
class SlowLoss:
    role: str
    start: float
    end: float
    drop: float  # (start - end) / start
    pace: float | None  # late/overall slope ratio of a steady descent; None: a plateau


#: The most a curve of under ``MIN_POINTS`` may fall per point and still be "slow".
SHORT_STEP = 0.01

#: A loss that ends this many times above its very first point got worse than an
#: untrained model: too small a step leaves a loss near its start, never above it.
ABOVE_FIRST = 1.1


def steady_fall(y: np.ndarray) -> bool:
    """Four or more points, every one below the one before: a fall with no noise at all
    (the seed's 100 -> 99.9 -> 99.8 -> 99.7), significant however short."""
    return bool(y.size >= 4 and np.all(np.diff(y) < 0))


@cached
def slow_loss(view: RunView) -> SlowLoss | None:
    """The judged loss lost less than ``cal.slow_drop`` of its start: either falling in
    a steady, significant, near-straight line (too small a step), or stagnating with
    no significant trend from its first point on (a plateau). None otherwise."""
    role = train_loss_role(view)
    if role is None:
        return None
    c = view.curve(role)
    # The descent starts where the loss peaks in its first third: a loss that rises
    # while the learning rate warms up (YOLO's first epochs) starts falling from there.
    s = smooth(c)
    start = max(edge_level(c, EDGE, head=True), float(np.max(s[: max(1, len(c) // 3)])))
    end = edge_level(c, EDGE, head=False)
    if start <= 0 or not np.isfinite(start):
        return None
    drop = (start - end) / start
    if drop >= view.cal.slow_drop or drop <= -view.cal.slow_drop:
        return None
    if end > ABOVE_FIRST * float(c.y[0]) > 0:
        return None  # worse than its first point: too large a step, never too small a one
    if len(c) < MIN_POINTS and not (steady_fall(c.y) and drop / (len(c) - 1) < SHORT_STEP):
        return None  # a few points say "slow" only when each step is tiny (the seed's 0.1%)
    t = trend(c.x, c.y)
    if (t.falling(view.cal.trend_z) or steady_fall(c.y)) and drop > 0:
        late = c.x >= c.x[len(c) // 2]
        lt = trend(c.x[late], c.y[late])
        pace = lt.slope / t.slope if t.slope < 0 else 0.0
        if steady_fall(c.y):
            return SlowLoss(role, start, end, drop, pace)
        if lt.slope < 0 and pace >= MIN_LINEARITY:
            return SlowLoss(role, start, end, drop, pace)
        return None
    low = float(np.min(s))
    if len(c) < 2 * MIN_POINTS:
        return None  # a stagnation needs a long look; a few points cannot tell
    if not t.significant(view.cal.trend_z) and (start - low) / start < view.cal.slow_drop:
        return SlowLoss(role, start, end, drop, None)
    return None


@cached
def metric_improved(view: RunView) -> bool:
    """The objective metric improved clearly: significant, out of its noise, and by a
    fifth of its start or more (a detector's mAP from 0.01 to 0.8)."""
    m = metric(view)
    if m is None:
        return False
    p = progress(view, *m)
    return p.z >= view.cal.trend_z and p.gain > 4 * p.sigma and p.rel >= 0.2
