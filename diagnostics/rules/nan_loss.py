"""Rule ``nan-loss``: the loss (or, hidden behind it, the gradient norm) became NaN/Inf."""

from __future__ import annotations

import numpy as np

from traindoc.diagnostics.blowups import first_bad, recovered
from traindoc.diagnostics.rules.base import Rule, RunView
from traindoc.diagnostics.signals import curve, fmt, trailing_median
from traindoc.diagnostics.summary import Segments
from traindoc.diagnostics.types import Finding, Severity
from traindoc.diagnostics.wording import plural, times

#: Seed: "训练几步就NaN" (NaN after a few steps) -> LR too large. "A few" logged points:
#: at most this many finite values before the first NaN.
EARLY_POINTS = 10

#: A loss whose last level before the NaN is this many times its lowest level so far
#: was climbing (the seed's 100 -> 50 -> 200 -> 10 -> 500 -> NaN: 500 / 10 = 50x).
RISING_FACTOR = 1.5

#: A gradient-norm spike: this many times its running median (as ``grad-explosion``).
GRAD_SPIKE_FACTOR = 10.0

#: Trailing window (segments) of that running median.
GRAD_WINDOW = 25

_CAUSE_TEXT = {
    "lr-too-large": "the learning rate is likely too large",
    "grad-explosion": "likely a gradient explosion",
    "data": "likely a data problem (isolated NaNs among finite values)",
}


def grad_trouble_before(view: RunView, step: int) -> str | None:
    """Evidence of a gradient blow-up at or before ``step``, if the run logs grad norms."""
    seg = view.summaries.get("grad_norm")
    if seg is None or len(seg) == 0:
        return None
    fb = first_bad(seg)
    if fb is not None and fb[1] <= step:
        return f"the gradient norm became {fmt(fb[2])} at step {fb[1]}"
    c = curve(seg)
    keep = c.start <= step
    if keep.sum() < 3:
        return None
    base = trailing_median(c.y[keep], GRAD_WINDOW)
    ratio = np.where(base > 0, c.hi[keep] / np.where(base > 0, base, 1.0), 0.0)
    ratio[:2] = 0.0
    j = int(np.argmax(ratio))
    if ratio[j] >= GRAD_SPIKE_FACTOR:
        return (f"the gradient norm spiked to {fmt(c.hi[keep][j])} at step "
                f"{int(c.hi_step[keep][j])}, {times(ratio[j])} its running median")
    return None


def _hidden_nan_note(view: RunView) -> str:
    """Why a NaN step can hide behind a finite loss log. traindoc's own runs log every
    step's loss, so only a foreign log gets the note (and never another framework's
    name for a run traindoc trained)."""
    if view.config is not None:
        return ""
    return (": the loss log may hide NaN steps (a trainer that logs a window average "
            "of the loss, such as HuggingFace Trainer, replaces them)")


class NanLoss(Rule):
    """The loss became NaN or Inf.

    What it detects:
        The first non-finite value of the train or validation loss, and a non-finite
        gradient norm beside a finite loss (a trainer that logs a window average of
        the loss hides NaN steps, but still logs the NaN gradient norm). An error when
        the run died; a warning when finite values resumed (bad batches skipped).

    Why it matters:
        Once the weights hold NaN, every later step is wasted: the run is dead.
        The cause decides the fix, so it is inferred from what came before: NaN
        within a few steps, or after a rising or swinging loss, means the learning
        rate is too large; NaN after a gradient-norm spike (or suddenly, in a deep
        or recurrent net) means exploding gradients; NaNs isolated among finite
        values point at the data.

    Example:
        A learning rate of 1.0: loss 100 -> 50 -> 200 -> 10 -> 500 -> NaN.

    Remedies:
        By cause: lower the learning rate ten-fold, add warmup, clip the gradient
        norm at 1.0, check the data (division by zero, huge values, normalization),
        switch ReLU to GELU.
    """

    id = "nan-loss"
    title = "Loss became NaN"
    needs = (("train_loss",), ("val_loss",), ("grad_norm",))
    min_points = 1
    judges = False

    def applicable(self, view: RunView) -> bool:
        return any(len(view.summaries.get(r, ())) for r in ("train_loss", "val_loss", "grad_norm"))

    def check(self, view: RunView) -> list[Finding]:
        for role in ("train_loss", "val_loss"):
            seg = view.summaries.get(role)
            fb = first_bad(seg) if seg is not None else None
            if fb is not None:
                return [self._loss_finding(view, role, seg, *fb)]
        seg = view.summaries.get("grad_norm")
        fb = first_bad(seg) if seg is not None else None
        if fb is None:
            return []
        i, step, value = fb
        isolated = recovered(seg, i)
        n_bad = int((seg.count - seg.finite).sum())
        evidence = (f"grad_norm became {fmt(value)} at step {step} "
                    f"({plural(n_bad, 'non-finite point')}) while the logged loss stayed "
                    f"finite{_hidden_nan_note(view)}")
        cause = "grad-explosion"
        if isolated:
            evidence += "; finite values resumed, as with skipped mixed-precision overflow steps"
        else:
            # Seed: "训练几步就NaN" -> the learning rate, as for the loss (the loss blew up
            # to 1e27 within the same few steps: clipping would only slow it).
            n_before = curve(seg.take(slice(0, i))).n_points
            if n_before <= EARLY_POINTS:
                cause = "lr-too-large"
                evidence += (f"; it came after only {plural(n_before, 'finite value')}: "
                             f"{_CAUSE_TEXT[cause]}")
        return [self.finding(
            view, Severity.WARNING if isolated else Severity.ERROR, step, int(seg.end[-1]),
            evidence, role="grad_norm", cause=cause,
            title="Gradient norm became NaN/Inf behind a finite loss")]

    def _loss_finding(
        self, view: RunView, role: str, seg: Segments, i: int, step: int, value: float,
    ) -> Finding:
        n_bad = int((seg.count - seg.finite).sum())
        before = curve(seg.take(slice(0, i)))
        cause, why = self._cause(view, seg, i, step, before)
        head = (f"{role} became {fmt(value)} at step {step} ({n_bad} non-finite "
                f"{'point' if n_bad == 1 else 'points'} of {seg.n_points:,})")
        evidence = f"{head}; {why}: {_CAUSE_TEXT[cause]}"
        last_bad = int(seg.end[np.flatnonzero(seg.count > seg.finite)[-1]])
        # A run that resumed with finite values is alive: the bad batches need fixing,
        # but nothing blew up.
        severity = Severity.WARNING if cause == "data" else Severity.ERROR
        return self.finding(view, severity, step, last_bad, evidence, role=role,
                            cause=cause)

    @staticmethod
    def _cause(view: RunView, seg: Segments, i: int, step: int, before) -> tuple[str, str]:
        if recovered(seg, i):
            return "data", "finite values resumed after it"
        # Seed: "训练几步就NaN" -> the learning rate. That comes first: a run that blows
        # up within a few steps blows its gradient norm up with it (lr 1e4: 0.6 ->
        # 2.6e5 -> 5e15 -> NaN), and clipping would only slow the same blow-up.
        n_before = before.n_points
        if n_before <= EARLY_POINTS:
            trail = " -> ".join(fmt(v) for v in before.y[-6:])
            trail = f" ({trail})" if trail else ""
            return "lr-too-large", f"it came after only {plural(n_before, 'finite value')}{trail}"
        grad = grad_trouble_before(view, step)
        if grad is not None:
            return "grad-explosion", grad
        low = float(np.min(before.y))
        last = float(before.y[-1])
        if low > 0 and last >= RISING_FACTOR * low:
            return "lr-too-large", (f"the loss had climbed from its low of {fmt(low)} to "
                                    f"{fmt(last)} just before")
        return "grad-explosion", "it came suddenly after a finite, falling loss"
