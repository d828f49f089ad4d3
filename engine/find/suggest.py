"""Learning-rate suggestions from a range test, and the batch-size arithmetic (SPEC §7).

numpy only (no torch, no Qt): the training process, the CLI and the GUI all use it.

The range test (:mod:`traindoc.engine.find.finders`) records one raw loss per learning rate of
an exponential sweep. Published finders then pick the steepest slope of an EMA
of that curve — and one noise spike in the first steps fools them: the EMA
carries the spike for dozens of steps, and its decay *is* the steepest slope.
:func:`suggest_lr` is built so that it is not fooled:

1. **Despike**: in log-loss, a running median over 5 points removes spikes of
   one or two steps; non-finite losses are dropped, and the curve is cut at the
   first two consecutive ones (the sweep blew up there). Values above 4× the
   starting level are capped, so a diverged tail cannot leak backwards.
2. **Smooth without lag**: the mean of a forward and a backward debiased EMA
   (mean lag 3% of the sweep each way). The online EMA with β = 0.98, which
   decides when the sweep stops, lags β/(1-β) = 49 steps — half of a 100-step
   sweep, ~4 decades of lr — and would move the suggestion ~10× too high.
3. **Suggest by levels, not slopes**: the *descent* is the stretch before the
   minimum where the smoothed loss falls from its starting plateau to near its
   minimum (from the last point still within ``LEVEL_MARGIN`` of the drop below
   the plateau to the first within ``LEVEL_MARGIN`` of the minimum). The
   suggestion is its geometric middle (the middle of the longest descending
   stretch, as fastai's "valley" does), never above the minimum's lr ÷ 3. A
   spike cannot move a level crossing much, so the answer barely moves.

The alternatives are reported beside it: ``steepest`` (steepest slope of the
smoothed curve, ignoring the first ``SKIP_FRACTION`` of the sweep) and
``min/10`` (the learning rate of the minimum ÷ 10). A curve that does not fall
by ``MIN_DROP`` of its start has no descent: the suggestion is ``None`` and the
note says so, so that the caller keeps the configured rate.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from traindoc.diagnostics import signals

BETA = 0.98  # EMA factor of the smoothed curve (fastai, TensorBoard's default 0.6 is too weak)
DIVERGE_FACTOR = 4.0  # the sweep stops once the smoothed loss exceeds 4x its best
MEDIAN_HALF_WIDTH = 2  # running median over 5 points removes spikes of 1-2 steps
SKIP_FRACTION = 0.1  # the steepest-slope alternative ignores the first 10% of the sweep
LEVEL_MARGIN = 0.2  # the descent starts/ends within 20% of the drop from plateau/minimum
MIN_DROP = 0.05  # a smoothed curve falling less than 5% of its start has no descent
# The suggestion reads a zero-lag smoothing (mean lag 3% of the sweep each side): the
# online EMA with beta = 0.98 lags beta / (1 - beta) = 49 steps, half of a 100-step
# sweep (~4 decades of lr), which moves its minimum and descent about 1 decade too high.
SMOOTH_FRACTION = 0.03
MIN_POINTS = 8  # fewer finite points than this: nothing to suggest
MAX_FRACTION_OF_MIN = 1 / 3  # the suggestion stays at least 3x below the minimum's lr


@dataclass(frozen=True, slots=True)
class Suggestion:
    """What :func:`suggest_lr` found; ``lr`` is ``None`` when there is nothing to suggest."""

    lr: float | None
    rule: str  # "descent-middle", "min/10" (fallback) or "none"
    note: str
    alternatives: dict[str, float] = field(default_factory=dict)  # rule -> lr
    smoothed: np.ndarray = field(default_factory=lambda: np.zeros(0))  # aligned with the input
    descent: tuple[int, int] | None = None  # indices into the input of the descent stretch
    min_index: int | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "lr": self.lr,
            "rule": self.rule,
            "note": self.note,
            "alternatives": dict(self.alternatives),
            "descent": list(self.descent) if self.descent else None,
            "min_index": self.min_index,
        }


# ---------------------------------------------------------------- smoothing


def ema_debiased(values: np.ndarray, beta: float = BETA) -> np.ndarray:
    """Debiased exponential moving average; non-finite inputs are skipped (carried over)."""
    return signals.ema_filled(values, beta)


def rolling_median(values: np.ndarray, *, half_width: int = MEDIAN_HALF_WIDTH) -> np.ndarray:
    """Centered running median (shrinking at the edges): removes spikes of up to
    ``half_width`` consecutive points, keeps steps and trends (``traindoc.diagnostics.signals``'s,
    over ``2 * half_width + 1`` points)."""
    return signals.rolling_median(np.asarray(values, dtype=np.float64), 2 * half_width + 1)


def zero_lag_smooth(values: np.ndarray, *, window_fraction: float = SMOOTH_FRACTION) -> np.ndarray:
    """Mean of a forward and a backward debiased EMA: a symmetric kernel, no phase lag.

    Its decay is set so that the kernel's one-sided mean lag is ``window_fraction``
    of the curve (at least 2 points).
    """
    values = np.asarray(values, dtype=np.float64)
    lag = max(2.0, window_fraction * len(values))
    beta = lag / (lag + 1.0)  # an EMA's mean lag is beta / (1 - beta) steps
    forward = ema_debiased(values, beta)
    backward = ema_debiased(values[::-1], beta)[::-1]
    return (forward + backward) / 2


def smooth_for_suggestion(losses: np.ndarray) -> np.ndarray:
    """The curve the suggestion reads (finite, positive losses in; same length out).

    log loss -> running median (spikes gone) -> capped at 4x the starting level
    (a diverged tail says only "too high" and must not leak backwards) ->
    zero-lag EMA -> back to loss units.
    """
    log_loss = np.log(np.maximum(np.asarray(losses, dtype=np.float64), 1e-12))
    log_loss = rolling_median(log_loss)
    head = max(1, math.ceil(SKIP_FRACTION * len(log_loss)))
    cap = float(np.median(log_loss[:head])) + math.log(DIVERGE_FACTOR)
    return np.exp(zero_lag_smooth(np.minimum(log_loss, cap)))


def usable_length(losses: np.ndarray) -> int:
    """Points before the first two consecutive non-finite losses (where the sweep blew up)."""
    bad = ~np.isfinite(np.asarray(losses, dtype=np.float64))
    for i in range(len(bad) - 1):
        if bad[i] and bad[i + 1]:
            return i
    return len(bad) - 1 if len(bad) and bad[-1] else len(bad)


# ---------------------------------------------------------------- suggestion


def suggest_lr(lrs: np.ndarray, losses: np.ndarray) -> Suggestion:
    """The suggested learning rate of a range test (see the module docstring); never a
    rate below the sweep's first (:func:`within_sweep`)."""
    lrs = np.asarray(lrs, dtype=np.float64)
    losses = np.asarray(losses, dtype=np.float64)
    if lrs.shape != losses.shape or lrs.ndim != 1:
        raise ValueError(f"lrs {lrs.shape} and losses {losses.shape} must be 1-D and match")
    swept = lrs[np.isfinite(lrs) & (lrs > 0)]
    suggestion = _suggest(lrs, losses)
    return within_sweep(suggestion, float(swept.min())) if len(swept) else suggestion


def within_sweep(suggestion: Suggestion, first_lr: float) -> Suggestion:
    """Without the rates below the sweep's first (it says nothing of them): a suggestion
    there becomes none, saying to sweep from lower; such alternatives are dropped."""
    kept = {k: v for k, v in suggestion.alternatives.items() if v >= first_lr}
    if suggestion.lr is None or suggestion.lr >= first_lr:
        return replace(suggestion, alternatives=kept)
    note = (f"the rate found ({suggestion.lr:.3g}) is below the sweep's first, {first_lr:.3g}: "
            "the loss already fell there; sweep from a lower start rate (--start-lr)")
    return replace(suggestion, lr=None, rule="none", note=note, alternatives=kept)


def _suggest(lrs: np.ndarray, losses: np.ndarray) -> Suggestion:
    n = usable_length(losses)
    full_smoothed = np.full(len(losses), np.nan)
    finite = np.isfinite(losses[:n]) & np.isfinite(lrs[:n]) & (lrs[:n] > 0)
    if int(finite.sum()) < MIN_POINTS:
        return Suggestion(
            None,
            "none",
            f"only {int(finite.sum())} usable points: too few to suggest a rate",
            smoothed=full_smoothed,
        )
    idx = np.flatnonzero(finite)
    x = np.log10(lrs[idx])
    smoothed = smooth_for_suggestion(losses[idx])
    full_smoothed[idx] = smoothed

    i_min = int(np.argmin(smoothed))
    skip = max(1, math.ceil(SKIP_FRACTION * len(smoothed)))
    start_level = float(np.median(smoothed[: skip + 1]))
    min_level = float(smoothed[i_min])
    alternatives = {"min/10": float(10 ** x[i_min] / 10)}
    steep = _steepest(x, smoothed, skip, i_min)
    if steep is not None:
        alternatives["steepest"] = float(10 ** x[steep])

    drop = start_level - min_level
    if not math.isfinite(drop) or drop < MIN_DROP * abs(start_level) or i_min <= skip:
        return Suggestion(
            None,
            "none",
            f"no descent: the smoothed loss fell {max(drop, 0.0):.3g} from {start_level:.4g} "
            f"(less than {MIN_DROP:.0%}) before its minimum; keep the configured rate",
            alternatives,
            full_smoothed,
            None,
            int(idx[i_min]),
        )

    head = smoothed[: i_min + 1]
    above = np.flatnonzero(head >= start_level - LEVEL_MARGIN * drop)
    first = int(above[-1]) if len(above) else 0
    below = np.flatnonzero(head[first:] <= min_level + LEVEL_MARGIN * drop)
    last = first + int(below[0]) if len(below) else i_min
    middle = 10 ** ((x[first] + x[last]) / 2)
    cap = 10 ** x[i_min] * MAX_FRACTION_OF_MIN
    lr, rule = min(middle, cap), "descent-middle"
    note = (
        f"middle of the descent from lr {10 ** x[first]:.3g} to {10 ** x[last]:.3g} "
        f"(loss {start_level:.4g} -> {min_level:.4g} at lr {10 ** x[i_min]:.3g})"
    )
    if last - first < 2:
        lr, rule = alternatives["min/10"], "min/10"
        note = f"the descent is too short to take its middle; using the minimum's lr / 10 ({note})"
    return Suggestion(
        float(lr),
        rule,
        note,
        alternatives,
        full_smoothed,
        (int(idx[first]), int(idx[last])),
        int(idx[i_min]),
    )


def _steepest(x: np.ndarray, smoothed: np.ndarray, skip: int, i_min: int) -> int | None:
    """Index of the steepest descent of the smoothed curve, after ``skip`` and before the min."""
    if i_min - skip < 2:
        return None
    slope = np.gradient(smoothed, x)
    return skip + int(np.argmin(slope[skip:i_min]))


def sweep_lrs(start_lr: float, end_lr: float, num_steps: int) -> np.ndarray:
    """The exponential sweep: ``num_steps`` rates from ``start_lr`` to ``end_lr``."""
    if not (0 < start_lr < end_lr) or num_steps < 2:
        raise ValueError(
            f"sweep {start_lr:g} -> {end_lr:g} over {num_steps} steps: need 0 < start < end "
            "and at least 2 steps"
        )
    return np.geomspace(start_lr, end_lr, num_steps)


def should_stop_sweep(smoothed: float, best: float, recent_raw: list[float]) -> bool:
    """Stop once the smoothed loss exceeds 4x its best, confirmed by the raw losses.

    The confirmation (the median of the last three raw losses is over the
    threshold too) keeps one noise spike, which the EMA drags along for dozens
    of steps, from ending the sweep early.
    """
    if not (math.isfinite(smoothed) and math.isfinite(best)) or len(recent_raw) < 3:
        return False
    threshold = DIVERGE_FACTOR * best
    tail = np.asarray(recent_raw[-3:], dtype=np.float64)
    tail = np.where(np.isfinite(tail), tail, np.inf)
    return smoothed > threshold and float(np.median(tail)) > threshold


# ---------------------------------------------------------------- batch size


@dataclass(frozen=True, slots=True)
class BatchPlan:
    """The micro-batch, accumulation steps and linearly scaled lr that reach a target batch."""

    micro_batch: int
    accum_steps: int
    effective_batch: int
    lr: float
    base_lr: float
    base_batch: int

    def patch(self) -> dict[str, object]:
        """The config change (dotted keys, for ``traindoc.engine.config.apply_patch``)."""
        return {
            "data.batch_size": self.micro_batch,
            "train.grad_accum": self.accum_steps,
            "optim.lr": config_lr(self.lr),
        }


def config_lr(lr: float) -> float:
    """A learning rate as a config gets it: three significant digits."""
    return float(f"{lr:.3g}")


def safe_batch(largest_fit: int, margin: float = 0.2) -> int:
    """The rule: the largest batch that fit minus 20%, rounded down to a power of two."""
    if largest_fit < 1:
        raise ValueError(f"largest batch that fit = {largest_fit}: expected ≥ 1")
    return power_of_two_floor(max(1.0, largest_fit * (1.0 - margin)))


def power_of_two_floor(value: float) -> int:
    return 1 << max(0, math.floor(math.log2(value) + 1e-9))


def accumulation_plan(
    micro_batch: int, target: int, *, base_lr: float, base_batch: int
) -> BatchPlan:
    """Accumulation steps and linearly scaled lr for an effective batch of about ``target``.

    ``base_lr`` is the rate tuned for an effective batch of ``base_batch``; the
    new rate is scaled by effective / base (e.g. batch 16, lr 0.001,
    accumulation 4 -> effective 64, lr 0.004). A micro-batch larger than the
    target is cut to it; a target it does not divide is rounded up.
    """
    if micro_batch < 1 or target < 1 or base_batch < 1 or not base_lr > 0:
        raise ValueError(
            f"micro_batch={micro_batch}, target={target}, base_batch={base_batch}, "
            f"base_lr={base_lr}: expected positive values"
        )
    micro = min(micro_batch, target)
    steps = math.ceil(target / micro)
    effective = micro * steps
    return BatchPlan(micro, steps, effective, base_lr * effective / base_batch, base_lr, base_batch)


# ---------------------------------------------------------------- batch search


@dataclass(frozen=True, slots=True)
class BatchSearch:
    """The trials of :func:`search_batch` and what they show."""

    tried: tuple[tuple[int, bool], ...]  # (batch, fits) in the order tried
    largest_fit: int  # 0 when not even a batch of 1 fits
    first_failure: int | None  # smallest batch that did not fit; None when none failed
    recommended: int  # safe_batch(largest_fit), 0 when nothing fits
    capped: bool  # stopped at max_batch without running out of memory


def search_batch(
    fits: Callable[[int], bool], *, start: int = 8, max_batch: int = 65536, refine_steps: int = 3
) -> BatchSearch:
    """The recipe: from ``start`` double until a batch does not fit.

    When ``start`` itself does not fit, halve down to 1. Between the largest
    power of two that fit and the first that failed, ``refine_steps`` bisection
    steps find the largest batch that fits more precisely, so that "minus 20%,
    rounded down to a power of two" can keep it (doubling alone always ends at
    a power of two P, whose 80% always rounds down to P/2).
    """
    if start < 1 or max_batch < 1:
        raise ValueError(f"start={start}, max_batch={max_batch}: expected ≥ 1")
    tried: list[tuple[int, bool]] = []

    def attempt(batch: int) -> bool:
        ok = bool(fits(batch))
        tried.append((batch, ok))
        return ok

    batch = min(start, max_batch)
    lo: int = 0
    hi: int | None = None
    if attempt(batch):
        lo = batch
        while lo * 2 <= max_batch:
            if not attempt(lo * 2):
                hi = lo * 2
                break
            lo *= 2
        if hi is None and lo < max_batch:
            if attempt(max_batch):
                lo = max_batch
            else:
                hi = max_batch
    else:
        hi = batch
        while batch > 1:
            batch //= 2
            if attempt(batch):
                lo = batch
                break
            hi = batch
    if lo and hi is not None:
        for _ in range(refine_steps):
            if hi - lo <= 1:
                break
            mid = (lo + hi) // 2
            if attempt(mid):
                lo = mid
            else:
                hi = mid
    return BatchSearch(
        tuple(tried), lo, hi, safe_batch(lo) if lo else 0, capped=hi is None and lo > 0
    )


__all__ = [
    "BETA", "DIVERGE_FACTOR", "BatchPlan", "BatchSearch", "Suggestion", "accumulation_plan",
    "config_lr", "ema_debiased", "power_of_two_floor", "rolling_median", "safe_batch",
    "search_batch", "should_stop_sweep", "smooth_for_suggestion", "suggest_lr", "sweep_lrs",
    "within_sweep", "zero_lag_smooth",
]
