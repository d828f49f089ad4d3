"""Facts about broken runs - blow-ups, non-finite values, degenerate losses - shared by
the rules (see ``facts``)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from traindoc.diagnostics.facts import (
    EDGE,
    MAX_CLASSES,
    MIN_POINTS,
    cached,
    metric,
    progress,
    reward_run,
    usable,
)
from traindoc.diagnostics.signals import as_fraction, edge_level, edge_mask
from traindoc.diagnostics.summary import NO_STEP, Segments
from traindoc.diagnostics.trend import median, trend
from traindoc.diagnostics.view import RunView

#: Confidently wrong: an untrained k-class classifier predicts uniformly, so its
#: cross-entropy starts at ln(k). Accuracy within this relative slack of 1/k is chance,
#: and a loss this many times ln(k) has climbed far above where it started.
CHANCE_ACC_SLACK = 0.5
CHANCE_LOSS_FACTOR = 3.0

#: Explosion: a value this many times the lowest level before it, and SUSTAINED x above
#: where the curve started (a fast early descent is never an explosion).
EXPLODE = 10.0

#: A sustained blow-up ends at least this many times its start (seed: 100 -> 500).
SUSTAINED = 2.0

#: A spike has "recovered" when the curve ends within this factor of its pre-spike low.
RECOVERED = 3.0

#: An untrained classifier's first loss is within this share of ln k (its weights'
#: random init adds a little: 2.33 against ln 10 = 2.30 in traindoc's example script).
START_SLACK = 0.25


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
    end = edge_level(c, EDGE, head=False)
    # An explosion: 10x the lowest level before it, and far above where the run started
    # (a per-step loss at 2e-5 whose one bad batch reads 0.97, 1.4x its start, is noise).
    hits = np.flatnonzero((ratio >= EXPLODE) & (c.hi[1:] >= SUSTAINED * first))
    if hits.size:
        j = int(hits[np.argmax(c.hi[1:][hits])]) + 1
        peak = float(c.hi[j])
        base = float(prior[j - 1])
        # Recovered: back below where the run started, and within 3x of the low before
        # the spike or with most of the spike undone on a log scale (a loss at 1e-4
        # that spikes to 3 and settles at 1e-3 recovered; one at 2.3 that spikes to
        # 5e7 and settles at 6, above its start, did not).
        undone = math.log(peak / end) / math.log(peak / base) if end > 0 else 1.0
        recovered = end < first and (end <= RECOVERED * base or undone >= 0.5)
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
    reward got worse too (a DQN's loss grows 25x while its agent learns; a SAC critic's
    loss reaching 1e9 while the reward sinks is divergence)."""
    role = "train_loss" if view.has("train_loss", 3) else (
        "val_loss" if view.has("val_loss", 3) else None)
    if role is None:
        return None
    b = blow_up_of(view, role)
    if b is None or not reward_run(view):
        return b
    m = metric(view)
    if m is None:
        return b
    p = progress(view, *m)
    worse = p.gain < 0 and (p.z <= -view.cal.trend_z or -p.gain > 4 * p.sigma)
    return b if worse else None


def chance_classes_of(acc: np.ndarray) -> int | None:
    """k when every accuracy (0-1) sits within ``CHANCE_ACC_SLACK`` of 1/k: a
    classifier at chance. The median picks k, or a neighbour whose band holds them all
    (a median of 9.2% is 1 in 10 or 1 in 11)."""
    level = median(acc)
    if not 0 < level <= 0.5:
        return None
    guess = round(1 / level)
    for k in (guess, guess - 1, guess + 1):
        slack = CHANCE_ACC_SLACK
        if 2 <= k <= MAX_CLASSES and (1 - slack) / k <= acc.min() <= acc.max() <= (
                1 + slack) / k:
            return k
    return None


def at_chance(view: RunView, acc_role: str) -> tuple[int, float] | None:
    """(k, median accuracy) when ``acc_role`` stayed at chance (1/k) with no trend."""
    if not view.has(acc_role, 3):
        return None
    c = view.curve(acc_role)
    acc = as_fraction(c.y)
    k = chance_classes_of(acc)
    if k is None or trend(c.x, acc).significant(view.cal.trend_z):
        return None  # an accuracy with a trend is learning (or unlearning), not at chance
    return k, median(acc)


@cached
def confidently_wrong(view: RunView) -> tuple[str, str, int, float, float] | None:
    """(loss role, accuracy role, k, accuracy, loss) when a classifier stayed at chance
    accuracy (1/k) with a loss 3x or more above the ln(k) it starts from: the weights
    blew up before the log's first point (loggers that average the first steps)."""
    for acc_role, loss_role in (("val_accuracy", "val_loss"), ("train_accuracy", "train_loss")):
        chance = at_chance(view, acc_role) if view.has(loss_role, 3) else None
        if chance is None:
            continue
        k, level = chance
        loss = edge_level(view.curve(loss_role), 0.5, head=False)
        if loss >= CHANCE_LOSS_FACTOR * math.log(k):
            return loss_role, acc_role, k, level, loss
    return None


@dataclass(frozen=True, slots=True)
class Thrown:
    """A loss thrown off its start at once that never came back, accuracy at chance."""

    role: str
    first: float
    peak: float
    peak_step: int
    end: float
    acc_role: str
    k: int
    acc: float


@cached
def thrown_off(view: RunView) -> Thrown | None:
    """The training loss of a k-class classifier (k >= 3, first loss near ln k) jumped to
    2x or more its first point and ended above it, while an accuracy stayed at chance
    (1/k) all run: the first steps threw the weights off and the run never learned. Too
    large a step (an untrained classifier sits at ln k and chance; a too-small step
    leaves it there, it never climbs)."""
    role = "train_loss"
    if not view.has(role, 2 * MIN_POINTS):
        return None
    c = view.curve(role)
    first = float(c.y[0])
    if not np.isfinite(first) or first <= 0:
        return None
    j = int(np.argmax(c.hi))
    end = edge_level(c, EDGE, head=False)
    if c.hi[j] < SUSTAINED * first or end <= first:
        return None
    for acc_role in ("val_accuracy", "train_accuracy"):
        chance = at_chance(view, acc_role)
        if chance is None:
            continue
        k, acc = chance
        # The loss is that classifier's cross-entropy, starting untrained at ln k; and
        # k >= 3: a GAN's discriminator sits at 1 in 2 by design while its generator's
        # loss climbs from ln 2.
        if k >= 3 and abs(first - math.log(k)) <= START_SLACK * math.log(k):
            return Thrown(role, first, float(c.hi[j]), int(c.hi_step[j]), end, acc_role, k, acc)
    return None


@cached
def blew_up(view: RunView) -> bool:
    """The run diverged (a blow-up that did not recover, or confidently wrong): other
    rules stay silent about its symptoms."""
    b = loss_blow_up(view)
    return (b is not None and not b.recovered) or confidently_wrong(view) is not None \
        or thrown_off(view) is not None


@cached
def dead(view: RunView) -> bool:
    """The loss ended non-finite: the weights hold NaN (``nan-loss`` reports it)."""
    for role in ("train_loss", "val_loss"):
        seg = view.summaries.get(role)
        if seg is not None and len(seg) and seg.finite[-1] < seg.count[-1]:
            return True
    return False


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


# -- a broken loss ------------------------------------------------------------------------

#: A loss is degenerate when this share of its last 10% of points is exactly 0.
ZERO_SHARE = 0.5


@cached
def degenerate_loss(view: RunView) -> tuple[str, str] | None:
    """(role, how) of a loss that fell to exactly 0, or went negative and keeps
    falling: no real loss does either (RL losses are not losses to minimise)."""
    if reward_run(view):
        return None
    for loss in ("train_loss", "val_loss"):
        if not usable(view, loss):
            continue
        c = view.curve(loss)
        tail = edge_mask(c, EDGE, head=False)
        if (view.summaries[loss].exact and float(c.y[-1]) == 0.0
                and float(np.mean(c.y[tail] == 0.0)) >= ZERO_SHARE):
            return loss, "fell to exactly 0"
        late = edge_mask(c, 0.5, head=False)
        end = edge_level(c, EDGE, head=False)
        if end < 0 and trend(c.x[late], c.y[late]).falling(view.cal.trend_z):
            return loss, f"went negative and keeps falling (now {end:.4g})"
    return None
