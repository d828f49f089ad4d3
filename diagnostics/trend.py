"""Statistical primitives every rule reads: trend and its significance, the curve's own
noise, a change point, and constant values.

- ``trend``: Theil-Sen slope (the median of pairwise slopes: a few wild points do not
  move it) with the Mann-Kendall test (is there a monotone trend at all?), as the
  standardised statistic ``z`` (|z| > 1.96 is p < 0.05 two-sided).
- ``noise``: the point-to-point scatter of a curve, robust to its trend and to spikes.
- ``change_point``: where a curve's level shifts most (one split, least squares).
- ``modal``: the most frequent exact value and its share (a model that predicts one
  class logs the same validation accuracy at every evaluation).

Curves longer than ``MAX_TREND_POINTS`` are first averaged into that many bins, so
that every primitive costs O(MAX_TREND_POINTS^2) at most, whatever the run's length.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

#: Bins a curve is averaged into before the O(n^2) statistics (Theil-Sen, Mann-Kendall).
MAX_TREND_POINTS = 200

#: 1 / Phi^-1(3/4): a median absolute deviation as a normal sigma.
MAD_TO_SIGMA = 1.4826


@dataclass(frozen=True, slots=True)
class Trend:
    """A monotone trend: Theil-Sen ``slope`` (per unit of x), Mann-Kendall ``z``, and
    ``change``, the slope times the span of x (the trend's net change)."""

    slope: float
    z: float
    change: float
    n: int

    def significant(self, z: float) -> bool:
        return abs(self.z) >= z

    def falling(self, z: float) -> bool:
        return self.z <= -z

    def rising(self, z: float) -> bool:
        return self.z >= z


NO_TREND = Trend(0.0, 0.0, 0.0, 0)


def binned(x: np.ndarray, y: np.ndarray, bins: int = MAX_TREND_POINTS):
    """(x, y) averaged into at most ``bins`` consecutive groups of equal size."""
    n = y.size
    if n <= bins:
        return x, y
    edges = np.linspace(0, n, bins + 1).astype(np.int64)
    counts = np.diff(edges)
    xs = np.add.reduceat(x, edges[:-1]) / counts
    ys = np.add.reduceat(y, edges[:-1]) / counts
    return xs, ys


@functools.lru_cache(maxsize=64)
def _pairs(n: int) -> tuple[np.ndarray, np.ndarray]:
    """``np.triu_indices(n, 1)``: every pair i < j, made once per length (a trend is
    asked for curves of a few lengths, thousands of times over a tree of runs)."""
    i, j = np.triu_indices(n, 1)
    i.setflags(write=False)
    j.setflags(write=False)
    return i, j


def _pair_diffs(v: np.ndarray) -> np.ndarray:
    """``v[j] - v[i]`` for every pair i < j of :func:`_pairs`, the same values gathered
    faster: ``v[i]`` is each value repeated once per later one, ``take`` beats fancy
    indexing."""
    _, j = _pairs(v.size)
    return v.take(j) - np.repeat(v[:-1], _later(v.size))


@functools.lru_cache(maxsize=64)
def _later(n: int) -> np.ndarray:
    """How many values follow each of the first ``n - 1``: n - 1, n - 2, ..., 1."""
    later = np.arange(max(n - 1, 0), 0, -1)
    later.setflags(write=False)
    return later


def mann_kendall_z(y: np.ndarray, dy: np.ndarray | None = None) -> float:
    """The Mann-Kendall statistic, standardised (ties reduce the variance). ``dy``: the
    pairwise differences ``y[j] - y[i]`` over :func:`_pairs`, when already made."""
    n = y.size
    if n < 3:
        return 0.0
    if dy is None:
        dy = _pair_diffs(y)
    if np.isfinite(y).all():
        # No NaN among the differences (finite values differ by a number or an
        # infinity): the sum of their signs is the count of rises minus falls, exactly.
        s = float(np.count_nonzero(dy > 0) - np.count_nonzero(dy < 0))
    else:
        s = float(np.sign(dy).sum())
    _, counts = np.unique(y, return_counts=True)
    ties = counts[counts > 1]
    var = (n * (n - 1) * (2 * n + 5) - float((ties * (ties - 1) * (2 * ties + 5)).sum())) / 18
    if var <= 0:
        return 0.0
    if s > 0:
        return (s - 1) / math.sqrt(var)
    if s < 0:
        return (s + 1) / math.sqrt(var)
    return 0.0


def theil_sen(x: np.ndarray, y: np.ndarray, dy: np.ndarray | None = None) -> float:
    """The median of the slopes between all pairs of points (0.0 if undefined)."""
    if y.size < 2:
        return 0.0
    dx = _pair_diffs(x)
    if bool((x[1:] > x[:-1]).all()):
        # Strictly increasing x (a curve's): every pair's dx is > 0 (floats that differ
        # have a nonzero difference), so no pair is left out.
        slopes = (_pair_diffs(y) if dy is None else dy) / dx
    else:
        ok = dx > 0
        if not ok.any():
            return 0.0
        if dy is None:
            dy = _pair_diffs(y)
        slopes = dy[ok] / dx[ok]
    # The slopes are this function's own: the median may partition them in place.
    return median(slopes, overwrite=True)


def median(y: np.ndarray, *, overwrite: bool = False) -> float:
    """``float(np.median(y))``, the same number without numpy's per-call overhead
    (~15 us, as much as the work on a curve of a few hundred points): the middle value,
    or the mean of the middle two as numpy takes it (a sum from 0.0, so a zero is never
    negative), of a partitioned copy (of ``y`` itself with ``overwrite``). numpy itself
    for NaN, an overflowing sum, no values, and other than float64."""
    n = y.size
    if n and y.dtype == np.float64:
        a = y.ravel() if overwrite else np.array(y).ravel()
        mid = n // 2
        a.partition([mid - 1, mid, -1] if n % 2 == 0 else [mid, -1])
        if not math.isnan(a[-1]):
            m = 0.0 + (float(a[mid - 1]) + float(a[mid])) / 2 if n % 2 == 0 else 0.0 + a[mid]
            if math.isfinite(m):
                return float(m)
    return float(np.median(y))


def trend(x: np.ndarray, y: np.ndarray) -> Trend:
    """Theil-Sen slope and Mann-Kendall z of ``y`` against ``x`` (binned when long)."""
    if y.size < 3:
        return NO_TREND
    bx, by = binned(np.asarray(x, float), np.asarray(y, float))
    dy = _pair_diffs(by)  # the pairs' differences, shared by both statistics
    slope = theil_sen(bx, by, dy)
    return Trend(slope, mann_kendall_z(by, dy), slope * float(x[-1] - x[0]), int(y.size))


def quartiles(y: np.ndarray) -> tuple[float, float]:
    """``np.percentile(y, [25, 75])`` (numpy's linear method): the same partition of a
    copy and the same interpolation, done on two values without numpy's per-call
    overhead (~40 us, more than the work on a curve of a few hundred points). NaN,
    infinities, a range that overflows and fewer than two values go to numpy itself."""
    n = y.size
    if n >= 2:
        a = np.array(y, dtype=np.float64).ravel()
        at = ((n - 1) * 0.25, (n - 1) * 0.75)  # numpy's virtual indexes
        lo, hi = math.floor(at[0]), math.floor(at[1])
        a.partition(sorted({0, -1, lo, lo + 1, hi, hi + 1}))  # numpy's kth, as it sorts it
        if math.isfinite(float(a[-1]) - float(a[0])):
            return (_lerp(float(a[lo]), float(a[lo + 1]), at[0] - lo),
                    _lerp(float(a[hi]), float(a[hi + 1]), at[1] - hi))
    q1, q3 = np.percentile(y, [25, 75])
    return float(q1), float(q3)


def _lerp(a: float, b: float, t: float) -> float:
    """numpy's quantile interpolation (``_lerp``), one value."""
    diff = b - a
    return b - diff * (1 - t) if t >= 0.5 else a + diff * t


def noise(y: np.ndarray) -> float:
    """Point-to-point noise as a normal sigma: the MAD of first differences / sqrt(2).

    Differences cancel a slow trend, and the median ignores the odd spike; 0.0 for
    fewer than three values.
    """
    if y.size < 3:
        return 0.0
    d = np.diff(y)
    return float(MAD_TO_SIGMA * median(np.abs(d - median(d))) / math.sqrt(2.0))


def change_point(y: np.ndarray, *, min_size: int = 3) -> tuple[int, float]:
    """(k, shift): the split ``y[:k] | y[k:]`` that explains the most variance by a
    change of level, and the shift of the mean across it (later minus earlier).
    (0, 0.0) when the curve is too short to split."""
    n = y.size
    if n < 2 * min_size:
        return 0, 0.0
    c = np.cumsum(y)
    k = np.arange(min_size, n - min_size + 1)
    left = c[k - 1] / k
    right = (c[-1] - c[k - 1]) / (n - k)
    gain = k * (n - k) * (right - left) ** 2
    best = int(np.argmax(gain))
    return int(k[best]), float(right[best] - left[best])


def modal(y: np.ndarray) -> tuple[float, float]:
    """(value, share): the most frequent exact value and the share of points holding it."""
    if y.size == 0:
        return float("nan"), 0.0
    values, counts = np.unique(y, return_counts=True)
    i = int(np.argmax(counts))
    return float(values[i]), float(counts[i] / y.size)


def multi_decade(y: np.ndarray, decades: float = 1.3) -> bool:
    """A positive curve spanning more than ``decades`` orders of magnitude (20x): its
    shape is read on a log scale, where a fall from 0.3 to 5e-5 is not all in one step."""
    return bool(y.size and np.min(y) > 0 and np.log10(np.max(y) / np.min(y)) > decades)
