"""Rule ``grad-explosion``: the gradient norm spikes or turns non-finite."""

from __future__ import annotations

import numpy as np

from traindoc.diagnostics.blowups import first_bad, recovered
from traindoc.diagnostics.rules.base import Rule, RunView
from traindoc.diagnostics.signals import edge_level, edge_mask, fmt, trailing_median
from traindoc.diagnostics.trend import noise
from traindoc.diagnostics.types import Confidence, Finding, Severity
from traindoc.diagnostics.wording import plural, times

#: A spike is a value at least 10x the running median of the gradient norm (SPEC §4;
#: healthy mini-batch gradient norms vary within a factor of 2-3).
SPIKE_FACTOR = 10.0

#: The running median looks back this many segments...
WINDOW = 25

#: Share of the points whose median is the run's early gradient scale (the floor).
EARLY = 0.1

#: A spike this many times the largest gradient norm of the run's first 10% (when large
#: gradients are normal) is an explosion even when clipping kept the loss calm.
FAR_ABOVE_START = 5.0

#: Points of the training loss compared around a spike, and the share of the run's
#: progress (start minus the level before the spike) that a reaction undoes.
REACTION_POINTS = 5
REACTION_SHARE = 0.25

#: ...and needs this many before it is trusted (the first steps of a run have large,
#: fast-falling gradients that are not explosions).
MIN_HISTORY = 10


class GradExplosion(Rule):
    """The gradient norm spikes (10x its running median or more) or turns NaN/Inf.

    What it detects:
        Any gradient-norm value at least 10x the median of the values before it
        (after a history of 10) and above the gradient norms of the run's first 10%
        (a converged model's tiny gradients make a normal batch look like a spike),
        and any non-finite gradient norm. A spike the training loss does not react
        to, or isolated non-finite values that finite ones follow (mixed precision
        skipping an overflowing step), is a low-confidence note.

    Why it matters:
        One exploding step can throw the weights far from where training brought them,
        and it is the usual prelude to a NaN loss in deep and recurrent nets.

    Example:
        A gradient norm around 1.0 that jumps to 50 at one step.

    Remedies:
        Clip the gradient norm at 1.0 (clip_grad_norm_(model.parameters(),
        max_norm=1.0)), then lower the learning rate.
    """

    id = "grad-explosion"
    title = "Gradient explosion"
    needs = (("grad_norm",),)
    min_points = 1
    judges = False

    def applicable(self, view: RunView) -> bool:
        return len(view.summaries.get("grad_norm", ())) > 0

    def check(self, view: RunView) -> list[Finding]:
        seg = view.summaries["grad_norm"]
        fb = first_bad(seg)
        if fb is not None:
            i, step, value = fb
            n_bad = int((seg.count - seg.finite).sum())
            isolated = recovered(seg, i)
            # Isolated overflows are what mixed precision's loss scaler does by design.
            return [self.finding(
                view, Severity.ERROR, step, int(seg.end[-1]),
                f"grad_norm became {fmt(value)} at step {step} ({n_bad} non-finite "
                f"{'point' if n_bad == 1 else 'points'} of {seg.n_points:,})"
                + ("; finite values resumed, as with skipped mixed-precision overflow steps"
                   if isolated else ""), role="grad_norm",
                confidence=Confidence.LOW if isolated else Confidence.HIGH)]
        c = view.curve("grad_norm")
        if len(c) <= MIN_HISTORY:
            return []
        base = trailing_median(c.y, WINDOW)
        with np.errstate(all="ignore"):
            ratio = np.where(base > 0, c.hi / base, 0.0)
        ratio[:MIN_HISTORY] = 0.0
        # The curve's own scale: a converged model's gradients are tiny, and a normal
        # batch is then "40x" its running median; a spike must also pass the gradient
        # norms of the run's start, when the model was far from any minimum.
        early = float(np.max(c.hi[edge_mask(c, EARLY, head=True)]))
        ratio[c.hi < edge_level(c, EARLY, head=True)] = 0.0
        spikes = np.flatnonzero(ratio >= SPIKE_FACTOR)
        if spikes.size == 0:
            return []
        j = int(spikes[np.argmax(ratio[spikes])])
        first = int(spikes[0])
        reaction = loss_reaction(view, int(c.hi_step[j]))
        text = (f"grad_norm spiked to {fmt(float(c.hi[j]))} at step {int(c.hi_step[j])}, "
                f"{times(ratio[j])} its running median of {fmt(float(base[j]))} "
                f"({plural(int(spikes.size), 'spike')} of 10x or more)")
        text += f"; {reaction}" if reaction else "; the loss did not react"
        peak = float(c.hi[j])
        if reaction:
            conf = Confidence.HIGH
        elif early > 0 and peak >= FAR_ABOVE_START * early:
            conf = Confidence.MEDIUM
            text += f", but it is {times(peak / early)} the largest gradient of the run's start"
        else:
            conf = Confidence.LOW
        return [self.finding(
            view, Severity.WARNING, int(c.hi_step[first]), int(c.hi_step[spikes[-1]]), text,
            role="grad_norm", confidence=conf, size=float(ratio[j]))]


def loss_reaction(view: RunView, step: int) -> str | None:
    """How the training loss answered a gradient spike at ``step``: it jumped above its
    level before by more than its noise and by a quarter of the progress made, or None."""
    if not view.has("train_loss", 5):
        return None
    c = view.curve("train_loss")
    before = c.y[c.step < step][-REACTION_POINTS:]
    after = c.y[c.step >= step][:REACTION_POINTS]
    if before.size < 3 or after.size == 0:
        return None
    level = float(np.median(before))
    peak = float(np.max(after))
    # Against the loss's own scale: a converged loss at 3e-4 that meets one hard batch
    # reads 0.17, a 600x "jump" that undoes 7% of the run's descent. A reaction undoes
    # a quarter of the progress made (or climbs above the start).
    start = max(float(c.y[0]), level)
    if peak - level > REACTION_SHARE * (start - level) and peak - level > 3 * noise(before):
        return f"the training loss jumped from {fmt(level)} to {fmt(peak)}"
    return None
