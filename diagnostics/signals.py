"""Numeric helpers shared by the rules: curves from summaries, robust levels, smoothing.

The smoothing here is the one definition of each: :func:`rolling_median` (also the
LR finder's spike filter) and :func:`ema`, TensorBoard's debiased exponential moving
average, vectorised and resumable (the GUI's chart smoothing; :func:`ema_filled` is
the LR finder's).

All are vectorised numpy and scale-free where it matters (relative changes, robust
statistics), so the same rule reads a cross-entropy of 2.3, an MSE of 83,000 and a
detection loss of 0.01 alike.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np

from traindoc.diagnostics.summary import Segments
from traindoc.diagnostics.trend import median

T = TypeVar("T")
_UNSET = object()


@dataclass(frozen=True, slots=True)
class Curve:
    """The finite part of a summary as plain arrays, ready for trend analysis.

    ``x`` is the point index at the middle of each segment (so segments of unequal
    size sit where their points are), ``y`` the segment level, ``w`` its point count,
    ``step`` the segment's last step, ``hi``/``hi_step`` its finite max and where.

    ``memo`` keeps what the shared helpers worked out on this curve (its edge masks and
    levels, its smoothed trend): several rules ask a run's curve the same questions,
    and its arrays never change. Arrays kept there are read-only.
    """

    x: np.ndarray
    y: np.ndarray
    w: np.ndarray
    step: np.ndarray
    start: np.ndarray
    hi: np.ndarray
    hi_step: np.ndarray
    memo: dict = field(default_factory=dict, compare=False, repr=False)

    def __len__(self) -> int:
        return int(self.y.size)

    @property
    def n_points(self) -> int:
        n = self.memo.get("n_points")  # asked most of all: no call to remembered
        if n is None:
            n = self.memo["n_points"] = int(self.w.sum())
        return n

    def remembered(self, key: Hashable, make: Callable[..., T], *args: Any) -> T:
        """``make(*args)``, worked out once per curve under ``key`` (an array kept is
        made read-only: every rule that asks reads the same one)."""
        value = self.memo.get(key, _UNSET)
        if value is _UNSET:
            value = self.memo[key] = make(*args)
            if isinstance(value, np.ndarray):
                value.setflags(write=False)
        return value

    def after(self, i: int) -> Curve:
        """The curve from segment ``i`` on."""
        return Curve(self.x[i:], self.y[i:], self.w[i:], self.step[i:], self.start[i:],
                     self.hi[i:], self.hi_step[i:])


def curve(seg: Segments) -> Curve:
    """Finite segments of ``seg`` as a ``Curve`` (the summary's own arrays when every
    segment is finite: neither is ever written to)."""
    ends = np.cumsum(seg.count)
    mid = ends - seg.count * 0.5
    ok = seg.finite > 0
    if ok.all():
        return Curve(mid, seg.level, seg.finite, seg.end, seg.start, seg.hi, seg.hi_step)
    return Curve(
        mid[ok], seg.level[ok], seg.finite[ok], seg.end[ok], seg.start[ok], seg.hi[ok],
        seg.hi_step[ok],
    )


def weighted_median(y: np.ndarray, w: np.ndarray | None = None) -> float:
    """The (lower) weighted median; NaN for an empty input."""
    if y.size == 0:
        return float("nan")
    if w is None or y.size == 1:
        return median(y)
    order = np.argsort(y, kind="stable")
    cw = np.cumsum(w[order])
    return float(y[order][np.searchsorted(cw, cw[-1] * 0.5)])


def edge_mask(c: Curve, frac: float, *, head: bool, min_points: int = 1) -> np.ndarray:
    """Segments holding the first (or last) ``frac`` of the points (at least one);
    worked out once per curve (read-only)."""
    return c.remembered(("edge_mask", frac, head, min_points), _edge_mask, c, frac, head,
                        min_points)


def _edge_mask(c: Curve, frac: float, head: bool, min_points: int) -> np.ndarray:
    if len(c) == 0:
        return np.zeros(0, bool)
    total = c.n_points
    want = max(min_points, int(np.ceil(total * frac)))
    cw = np.cumsum(c.w if head else c.w[::-1])
    k = int(np.searchsorted(cw, want)) + 1
    mask = np.zeros(len(c), bool)
    if head:
        mask[:k] = True
    else:
        mask[len(c) - k :] = True
    return mask


def edge_level(c: Curve, frac: float, *, head: bool, min_points: int = 1) -> float:
    """Robust level (weighted median) of the first or last ``frac`` of the points;
    worked out once per curve."""
    return c.remembered(("edge_level", frac, head, min_points), _edge_level, c, frac, head,
                        min_points)


def _edge_level(c: Curve, frac: float, head: bool, min_points: int) -> float:
    m = edge_mask(c, frac, head=head, min_points=min_points)
    return weighted_median(c.y[m], c.w[m])


def start_level(c: Curve, frac: float) -> float:
    """Where a loss started: the lower of its first logged level and the median of the
    first ``frac`` of the points.

    The median alone fails on a short run that explodes at once: with 115 points, the
    first 5% are 2.3, 5e7, 1.3e7, 1.7e7, 7e6, 1.5e4, whose median is the explosion
    itself. The first value is the model at initialisation (the seed's examples all
    start from it: "100 -> 50 -> 200 ..."); the median guards against a first value
    that is itself a transient spike.
    """
    if len(c) == 0:
        return float("nan")
    return min(float(c.y[0]), edge_level(c, frac, head=True))


def rolling_median(y: np.ndarray, window: int) -> np.ndarray:
    """Centred rolling median; the window shrinks at the edges. O(n * window)."""
    n = y.size
    window = max(1, min(window, n))
    if window == 1 or n == 0:
        return y.astype(np.float64, copy=True)
    half = window // 2
    padded = np.concatenate([np.full(half, np.nan), y, np.full(window - 1 - half, np.nan)])
    view = _windows(padded, window)
    if window >= _NANMEDIAN_SMALL or np.isnan(y).any():
        return np.nanmedian(view, axis=1)
    return _rolling_median_finite(view, n, window, half)


#: numpy's nanmedian takes its masked-array path below this many values per row.
_NANMEDIAN_SMALL = 600


def _rolling_median_finite(view: np.ndarray, n: int, window: int, half: int) -> np.ndarray:
    """``np.nanmedian(view, axis=1)`` for a ``y`` without NaN (only the edges are padded
    with NaN), bit for bit, at a fraction of its cost: numpy's masked-array median
    sorts every row and builds masked arrays (most of a small run's diagnosis).
    Each row's median is ``(low + high) / 2`` of its middle values, as numpy's is."""
    out = np.empty(n)
    inner_lo, inner_hi = min(half, n), max(n - window + half + 1, min(half, n))
    if inner_hi > inner_lo:  # whole windows: only the middle values need placing
        hi = window // 2
        part = np.partition(view[inner_lo:inner_hi], hi, axis=1)
        low = part[:, hi] if window % 2 else part[:, :hi].max(axis=1)
        out[inner_lo:inner_hi] = (low + part[:, hi]) / 2.0
    edges = np.concatenate((np.arange(inner_lo), np.arange(inner_hi, n)))
    if len(edges):  # windows cut by an edge: NaN padding sorts last
        rows = np.sort(view[edges], axis=1)
        count = np.minimum(n, edges - half + window) - np.maximum(0, edges - half)
        at = np.arange(len(edges))
        out[edges] = (rows[at, (count - 1) // 2] + rows[at, count // 2]) / 2.0
    return out


def _windows(padded: np.ndarray, window: int) -> np.ndarray:
    """``sliding_window_view(padded, window)`` of a 1-D float array (the same read-only
    view, without its argument checks)."""
    step = padded.strides[0]
    return np.lib.stride_tricks.as_strided(
        padded, (padded.size - window + 1, window), (step, step), writeable=False)


def trailing_median(y: np.ndarray, window: int) -> np.ndarray:
    """Median of the ``window`` values strictly before each index (NaN for index 0)."""
    n = y.size
    if n == 0:
        return y.astype(np.float64, copy=True)
    window = max(1, window)
    out = np.full(n, np.nan)
    if n > 1:
        # Index i >= 1 looks at y[max(0, i - window) : i]; pad the front by repeating y[0]
        # is wrong (it would weigh it), so pad with NaN and skip the all-NaN index 0.
        padded = np.concatenate([np.full(window - 1, np.nan), y[:-1]])
        view = np.lib.stride_tricks.sliding_window_view(padded, window)
        out[1:] = np.nanmedian(view, axis=1)
    return out


def smooth_window(n: int) -> int:
    """An odd smoothing window for ``n`` points: 3 for short curves, ~n/10 for long ones."""
    w = max(3, n // 10)
    return min(w | 1, 51)


# ---------------------------------------------------------------- exponential moving average
# One definition for the GUI's charts (resumable, live) and the LR finder's suggestion.

# Largest factor a block of the scan may scale by (a**-B): keeps the blocked sums exact
# to ~1e-10 relative, far below what a chart can show.
_MAX_SCALE = 1e6


@dataclass(frozen=True, slots=True)
class EmaState:
    """Where a smoothing pass stopped: the biased accumulator and finite points seen."""

    last: float = 0.0
    count: int = 0


def linear_scan(d: np.ndarray, a: float, y0: float = 0.0) -> np.ndarray:
    """``y[k] = a * y[k-1] + d[k]`` with ``y[-1] = y0``, vectorised for 0 <= a < 1.

    Blocks of ``B`` points are solved at once with ``a**j * cumsum(d * a**-j)``
    (``B`` chosen so that ``a**-B`` stays below ``_MAX_SCALE``); the carries between
    blocks obey the same recurrence with ``a**B`` and are solved recursively.
    """
    d = np.asarray(d, dtype=np.float64)
    n = d.size
    if n == 0:
        return d.copy()
    if a <= 0.0:
        out = d.copy()
        out[0] += a * y0
        return out
    block = max(1, min(n, int(math.log(_MAX_SCALE) / -math.log(a))))
    if block == 1:
        # a < 1/_MAX_SCALE: two terms of the expansion are exact to a**2 < 1e-12.
        out = d.copy()
        out[0] += a * y0
        if n > 1:
            out[1:] += a * d[:-1]
            out[1] += a * a * y0
        return out
    j = np.arange(block, dtype=np.float64)
    up = a**-j  # a**-j, at most _MAX_SCALE
    down = a**j
    nb = -(-n // block)
    padded = np.zeros(nb * block)
    padded[:n] = d
    grid = padded.reshape(nb, block)
    local = np.cumsum(grid * up, axis=1) * down  # each block from a zero start
    if nb == 1:
        carries_in = np.asarray([y0])
    else:
        ends = local[:, -1]
        # y at the end of block b = a**B * y at the end of block b-1 + ends[b]
        carried = linear_scan(ends[:-1], a**block, y0)
        carries_in = np.concatenate(([y0], carried))
    out = local + carries_in[:, None] * (down * a)[None, :]
    return out.reshape(-1)[:n]


def ema(
    values: np.ndarray, weight: float, state: EmaState | None = None
) -> tuple[np.ndarray, EmaState]:
    """TensorBoard's debiased EMA of ``values``, resumable from ``state``.

    Non-finite values do not enter the average and stay non-finite in the output
    (so a NaN is never smoothed away). ``weight`` 0 returns the values unchanged.
    """
    state = state or EmaState()
    values = np.asarray(values, dtype=np.float64)
    if weight <= 0.0 or values.size == 0:
        return values.copy(), state
    weight = min(weight, 0.999999)
    finite = np.isfinite(values)
    out = values.copy()
    x = values[finite]
    if x.size == 0:
        return out, state
    biased = linear_scan((1.0 - weight) * x, weight, state.last)
    counts = np.arange(state.count + 1, state.count + 1 + x.size, dtype=np.float64)
    debias = 1.0 - np.power(weight, counts)
    out[finite] = biased / debias
    return out, EmaState(last=float(biased[-1]), count=state.count + int(x.size))


def ema_filled(values: np.ndarray, weight: float) -> np.ndarray:
    """:func:`ema`, where a non-finite point shows the average so far instead (NaN
    before the first finite one): a curve to read, with no gaps."""
    out, _ = ema(values, weight)
    finite = np.isfinite(np.asarray(values, dtype=np.float64))
    if finite.all():
        return out
    last = np.maximum.accumulate(np.where(finite, np.arange(finite.size), -1))
    return np.where(last >= 0, out[np.maximum(last, 0)], np.nan)


def as_fraction(y: np.ndarray) -> np.ndarray:
    """Accuracy in 0-1 whether it was logged in 0-1 or in percent."""
    return y / accuracy_scale(y)


def accuracy_scale(y: np.ndarray) -> float:
    """100.0 for an accuracy logged in percent, else 1.0."""
    finite = y[np.isfinite(y)]
    return 100.0 if finite.size and float(finite.max()) > 1.5 else 1.0


def fmt(v: float) -> str:
    """A number for evidence sentences: 4 significant digits, no noise."""
    if not np.isfinite(v):
        return "NaN" if np.isnan(v) else ("Inf" if v > 0 else "-Inf")
    return f"{v:.4g}"


def pct(v: float) -> str:
    """A relative change for evidence sentences (0.0123 -> '1.2%')."""
    a = abs(v) * 100
    if a >= 10:
        return f"{v * 100:.0f}%"
    if a >= 0.1:
        return f"{v * 100:.1f}%"
    return f"{v * 100:.2g}%"
