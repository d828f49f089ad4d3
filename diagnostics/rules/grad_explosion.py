"""Rule ``grad-explosion``: the gradient norm spikes or turns non-finite."""

from __future__ import annotations

import numpy as np

from diagnostics.rules.base import Rule, RunView
from diagnostics.rules.nan_loss import first_bad, recovered
from diagnostics.signals import fmt, trailing_median
from diagnostics.types import Finding, Severity

#: A spike is a value at least 10x the running median of the gradient norm (SPEC §4;
#: healthy mini-batch gradient norms vary within a factor of 2-3).
SPIKE_FACTOR = 10.0

#: The running median looks back this many segments...
WINDOW = 25

#: ...and needs this many before it is trusted (the first steps of a run have large,
#: fast-falling gradients that are not explosions).
MIN_HISTORY = 10


class GradExplosion(Rule):
    """The gradient norm spikes (10x its running median or more) or turns NaN/Inf.

    What it detects:
        Any gradient-norm value at least 10x the median of the values before it
        (after a history of 10), and any non-finite gradient norm.

    Why it matters:
        One exploding step can throw the weights far from where training brought them,
        and it is the usual prelude to a NaN loss in deep and recurrent nets ("RNN或深层
        网络突然NaN" -> "梯度爆炸").

    Example:
        A gradient norm around 1.0 that jumps to 50 at one step.

    Remedies:
        Clip the gradient norm at 1.0 (``clip_grad_norm_(model.parameters(),
        max_norm=1.0)``), then lower the learning rate.
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
            return [self.finding(
                view, Severity.WARNING if isolated else Severity.ERROR, step, int(seg.end[-1]),
                f"grad_norm became {fmt(value)} at step {step} ({n_bad} non-finite point"
                f"{'s' if n_bad != 1 else ''} of {seg.n_points})"
                + ("; finite values resumed" if isolated else ""), role="grad_norm")]
        c = view.curve("grad_norm")
        if len(c) <= MIN_HISTORY:
            return []
        base = trailing_median(c.y, WINDOW)
        with np.errstate(all="ignore"):
            ratio = np.where(base > 0, c.hi / base, 0.0)
        ratio[:MIN_HISTORY] = 0.0
        spikes = np.flatnonzero(ratio >= SPIKE_FACTOR)
        if spikes.size == 0:
            return []
        j = int(spikes[np.argmax(ratio[spikes])])
        first = int(spikes[0])
        return [self.finding(
            view, Severity.WARNING, int(c.hi_step[first]), int(c.hi_step[spikes[-1]]),
            f"grad_norm spiked to {fmt(float(c.hi[j]))} at step {int(c.hi_step[j])}, "
            f"{ratio[j]:.0f}x its running median of {fmt(float(base[j]))} "
            f"({spikes.size} spike{'s' if spikes.size != 1 else ''} of 10x or more)",
            role="grad_norm")]
