"""Numeric helpers shared by the rules: curves from summaries, robust levels, smoothing.

All are vectorised numpy and scale-free where it matters (relative changes, robust
statistics), so the same rule reads a cross-entropy of 2.3, an MSE of 83,000 and a
detection loss of 0.01 alike.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from traindoc.diagnostics.summary import Segments


@dataclass(frozen=True, slots=True)
class Curve:
    """The finite part of a summary as plain arrays, ready for trend analysis.

    ``x`` is the point index at the middle of each segment (so segments of unequal
    size sit where their points are), ``y`` the segment level, ``w`` its point count,
    ``step`` the segment's last step, ``hi``/``hi_step`` its finite max and where.
    """

    x: np.ndarray
    y: np.ndarray
    w: np.ndarray
    step: np.ndarray
    start: np.ndarray
    hi: np.ndarray
    hi_step: np.ndarray

    def __len__(self) -> int:
        return int(self.y.size)

    @property
    def n_points(self) -> int:
        return int(self.w.sum())

    def after(self, i: int) -> Curve:
        """The curve from segment ``i`` on."""
        return Curve(self.x[i:], self.y[i:], self.w[i:], self.step[i:], self.start[i:],
                     self.hi[i:], self.hi_step[i:])


def curve(seg: Segments) -> Curve:
    """Finite segments of ``seg`` as a ``Curve``."""
    ends = np.cumsum(seg.count)
    mid = ends - seg.count * 0.5
    ok = seg.finite > 0
    return Curve(
        mid[ok], seg.level[ok], seg.finite[ok], seg.end[ok], seg.start[ok], seg.hi[ok],
        seg.hi_step[ok],
    )


def weighted_median(y: np.ndarray, w: np.ndarray | None = None) -> float:
    """The (lower) weighted median; NaN for an empty input."""
    if y.size == 0:
        return float("nan")
    if w is None or y.size == 1:
        return float(np.median(y))
    order = np.argsort(y, kind="stable")
    cw = np.cumsum(w[order])
    return float(y[order][np.searchsorted(cw, cw[-1] * 0.5)])


def edge_mask(c: Curve, frac: float, *, head: bool, min_points: int = 1) -> np.ndarray:
    """Segments holding the first (or last) ``frac`` of the points (at least one)."""
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
    """Robust level (weighted median) of the first or last ``frac`` of the points."""
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
    view = np.lib.stride_tricks.sliding_window_view(padded, window)
    return np.nanmedian(view, axis=1)


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
