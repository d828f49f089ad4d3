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

from diagnostics.learning_rate import lr_far_too_low
from diagnostics.metrics import is_reward
from diagnostics.signals import Curve, as_fraction, edge_level, rolling_median, smooth_window
from diagnostics.summary import NO_STEP, Segments
from diagnostics.trend import modal, multi_decade, noise, trend
from diagnostics.types import METRIC_ROLES
from diagnostics.view import RunView

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

#: A loss within this relative distance of ln(k) is at the chance level of a k-class
#: cross-entropy (uniform predictions), e.g. ln 29 = 3.367.
CHANCE_TOLERANCE = 2e-3
MAX_CLASSES = 1000

#: A validation accuracy that takes one exact value at this share of the evaluations
#: (the last one included) is a model that predicts one class: a learning model's
#: accuracy moves with every evaluation.
CONSTANT_SHARE = 0.5

#: A bounded score (0-1: mAP, F1, IoU) that never passed this learned nothing.
SCORE_AT_ZERO = 0.05

#: A reward that gained less than this share of its magnitude did not move (a 70-point
#: creep on a -8,000 scale is the same failure, episode after episode).
REWARD_MOVED = 0.01

#: Explosion: a value this many times the lowest level before it, and above where the
#: curve started (a fast early descent is never an explosion).
EXPLODE = 10.0

#: A sustained blow-up ends at least this many times its start (seed: 100 -> 500).
SUSTAINED = 2.0

#: A spike has "recovered" when the curve ends within this factor of its pre-spike low.
RECOVERED = 3.0


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


def shape_values(c: Curve) -> np.ndarray:
    """A curve's levels on the scale its shape is read on (log10 when it spans decades)."""
    return np.log10(c.y) if multi_decade(c.y) else c.y


def smooth(c: Curve) -> np.ndarray:
    """A curve's trend line: a centred rolling median (mini-batch noise removed)."""
    return rolling_median(c.y, smooth_window(len(c)))


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
    """The loss whose shape says how training goes: the training loss, else validation."""
    for role in ("train_loss", "val_loss"):
        if usable(view, role):
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
def constant_accuracy(view: RunView) -> tuple[str, float, float] | None:
    """(role, value, share) when the validation accuracy sits on one exact value at
    most evaluations, the last included: the model predicts one class."""
    role = "val_accuracy"
    if not usable(view, role, 5) or not view.summaries[role].exact:
        return None
    y = view.curve(role).y
    value, share = modal(y)
    if share < CONSTANT_SHARE or y[-1] != value:
        return None
    return role, value, share


@cached
def flat_loss(view: RunView) -> tuple[str, float] | None:
    """(role, relative change) of a train or validation loss that did not move."""
    for role in ("train_loss", "val_loss"):
        if usable(view, role, 5):
            c = view.curve(role)
            start = edge_level(c, EDGE, head=True)
            end = edge_level(c, EDGE, head=False)
            if start and np.isfinite(start) and abs(start - end) / abs(start) < NO_LEARNING:
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


@cached
def no_learning(view: RunView) -> str | None:
    """Evidence that the run learned nothing at all, or None."""
    flat = flat_loss(view)
    if flat is not None and (loss_judges(view) or metric(view) is None):
        role, change = flat
        return f"{role} changed by {change:.2%} over the run"
    const = constant_accuracy(view)
    if const is not None and not train_learns(view):
        _, value, share = const
        return (f"validation accuracy was exactly {value:.4g} at {share:.0%} of the "
                "evaluations: the model predicts one class")
    stuck = metric_stuck(view)
    if stuck is not None and (reward_run(view) or not train_learns(view)):
        return stuck
    return None


@cached
def train_learns(view: RunView) -> bool:
    """The training loss fell clearly (by 10% or more, out of its noise)."""
    if not usable(view, "train_loss", 5):
        return False
    p = progress(view, "train_loss", False)
    return p.rel >= 0.1 and p.gain > 3 * p.sigma


# -- blow-ups -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BlowUp:
    role: str
    kind: str  # "explosion" | "sustained"
    peak: float
    peak_step: int
    base: float  # what the peak is measured against
    end: float
    recovered: bool


def blow_up_of(view: RunView, role: str) -> BlowUp | None:
    c = view.curve(role)
    if len(c) < 2 or float(np.min(c.y)) <= 0:
        return None  # ratios need a positive loss
    first = float(c.y[0])
    prior = np.minimum.accumulate(c.y)[:-1]
    ratio = c.hi[1:] / prior
    j = int(np.argmax(ratio)) + 1
    end = edge_level(c, EDGE, head=False)
    peak = float(c.hi[j])
    if ratio[j - 1] >= EXPLODE and peak > first:
        base = float(prior[j - 1])
        # Recovered: back within 3x of the low before the spike, or back below where
        # the run started with most of the spike undone on a log scale (a loss at
        # 1e-4 that spikes to 3 and settles at 1e-3 recovered; one at 2.3 that spikes
        # to 5e7 and settles at 6, above its start, did not).
        undone = math.log(peak / end) / math.log(peak / base) if end > 0 else 1.0
        recovered = end <= RECOVERED * base or (end < first and undone >= 0.5)
        return BlowUp(role, "explosion", peak, int(c.hi_step[j]), base, end, recovered)
    start = max(first, edge_level(c, 0.05, head=True))
    if len(c) >= 5 and end >= SUSTAINED * start:
        k = int(np.argmax(c.hi))
        return BlowUp(role, "sustained", float(c.hi[k]), int(c.hi_step[k]), start, end, False)
    return None


@cached
def loss_blow_up(view: RunView) -> BlowUp | None:
    """The training (else validation) loss exploded or climbed far above its start.

    In an RL run the losses are not the objective: a loss blow-up counts only when the
    reward did not improve (a DQN's loss grows 25x while its agent learns)."""
    role = "train_loss" if view.has("train_loss", 3) else (
        "val_loss" if view.has("val_loss", 3) else None)
    if role is None:
        return None
    b = blow_up_of(view, role)
    if b is None or not reward_run(view):
        return b
    m = metric(view)
    if m is not None and progress(view, *m).gain > 4 * max(progress(view, *m).sigma, 1e-12):
        return None
    return b


@cached
def confidently_wrong(view: RunView) -> tuple[str, str, int, float, float] | None:
    """(loss role, accuracy role, k, accuracy, loss) when a classifier stayed at chance
    accuracy (1/k) with a loss 3x or more above the ln(k) it starts from: the weights
    blew up before the log's first point (loggers that average the first steps)."""
    for acc_role, loss_role in (("val_accuracy", "val_loss"), ("train_accuracy", "train_loss")):
        if not (view.has(acc_role, 3) and view.has(loss_role, 3)):
            continue
        acc = as_fraction(view.curve(acc_role).y)
        level = float(np.median(acc))
        if not 0 < level <= 0.5:
            continue
        k = round(1 / level)
        if not 2 <= k <= MAX_CLASSES or np.max(acc) > 1.5 / k or np.min(acc) < 0.5 / k:
            continue
        if trend(view.curve(acc_role).x, acc).significant(view.cal.trend_z):
            continue  # an accuracy with a trend is learning (or unlearning), not at chance
        loss = edge_level(view.curve(loss_role), 0.5, head=False)
        if loss >= 3.0 * math.log(k):
            return loss_role, acc_role, k, level, loss
    return None


@cached
def blew_up(view: RunView) -> bool:
    """The run diverged (a blow-up that did not recover, or confidently wrong): other
    rules stay silent about its symptoms."""
    b = loss_blow_up(view)
    return (b is not None and not b.recovered) or confidently_wrong(view) is not None


@cached
def dead(view: RunView) -> bool:
    """The loss ended non-finite: the weights hold NaN (``nan-loss`` reports it)."""
    for role in ("train_loss", "val_loss"):
        seg = view.summaries.get(role)
        if seg is not None and len(seg) and seg.finite[-1] < seg.count[-1]:
            return True
    return False


# -- the schedule ---------------------------------------------------------------------------


@cached
def warming_up(view: RunView) -> bool:
    """The learning rate is still ramping up: too early to call a slow or poor run."""
    if usable(view, "lr", 3):
        y = view.curve("lr").y
        return bool(y[-1] >= np.max(y) and y[-1] > y[0])
    return False


@cached
def lr_too_low(view: RunView) -> str | None:
    """Why the known config explains a loss that barely moved, or None (see
    ``diagnostics.learning_rate``)."""
    return lr_far_too_low(view.config)


# -- non-finite values -------------------------------------------------------------------


def first_bad(seg: Segments) -> tuple[int, int, float] | None:
    """(segment index, step, value) of the first non-finite point, or None."""
    bad = np.flatnonzero(seg.bad_step != NO_STEP)
    if bad.size == 0:
        return None
    i = int(bad[0])
    return i, int(seg.bad_step[i]), float(seg.bad_value[i])


def recovered(seg: Segments, i: int) -> bool:
    """Finite values after the first non-finite one outnumber the non-finite ones.

    A real blow-up leaves NaN weights, and every later loss is NaN; finite values that
    resume mean a bad batch (or a skipped mixed-precision step), not broken weights.
    """
    n_bad = int((seg.count - seg.finite).sum())
    after = int(seg.finite[i + 1 :].sum())
    return after >= max(1, n_bad)


# -- slow progress ------------------------------------------------------------------------

#: "Still falling at the same pace": the second half's slope at least this share of
#: the whole run's. A healthy curve flattens (an exponential decay gives ~0.2); a
#: too-small step gives a straight line (1.0).
MIN_LINEARITY = 0.5


@dataclass(frozen=True, slots=True)
class SlowLoss:
    role: str
    start: float
    end: float
    drop: float  # (start - end) / start
    pace: float | None  # late/overall slope ratio of a steady descent; None: a plateau


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
    t = trend(c.x, c.y)
    if t.falling(view.cal.trend_z) and drop > 0:
        late = c.x >= c.x[len(c) // 2]
        lt = trend(c.x[late], c.y[late])
        pace = lt.slope / t.slope if t.slope < 0 else 0.0
        if lt.slope < 0 and pace >= MIN_LINEARITY:
            return SlowLoss(role, start, end, drop, pace)
        return None
    low = float(np.min(s))
    if not t.significant(view.cal.trend_z) and (start - low) / start < view.cal.slow_drop:
        return SlowLoss(role, start, end, drop, None)
    return None


#: Mann-Kendall z of plain significance (p < 0.05), for "still rising at the end".
STILL_RISING_Z = 1.96


@cached
def metric_improved(view: RunView) -> bool:
    """The objective improved clearly: a metric that rose significantly, out of its
    noise, by a fifth of its start or more (a detector's mAP from 0.01 to 0.8); or a
    validation accuracy that at least doubled and is still rising at the end (a run
    stopped early while it learns well)."""
    m = metric(view)
    if m is not None:
        p = progress(view, *m)
        if p.z >= view.cal.trend_z and p.gain > 4 * p.sigma and p.rel >= 0.2:
            return True
    if not usable(view, "val_accuracy"):
        return False
    c = view.curve("val_accuracy")
    p = progress(view, "val_accuracy", True)
    late = c.x >= c.x[len(c) // 2]
    return p.rel >= 1.0 and trend(c.x[late], c.y[late]).z >= STILL_RISING_Z
