"""Qt-free reduction of a long series to what one plot can show: clip, then peak.

A chart never hands pyqtgraph a million points. :func:`clip` finds, by bisection,
the index window of the steps inside the view (one point of margin each side so
the line runs to the edges); :func:`peak` cuts that window into at most
``buckets`` runs of consecutive points and keeps each run's min and max, so every
spike survives. Non-finite values never vanish either: they do not enter the
min/max (a NaN would poison it, ±Inf would wreck the axis range) and each bucket
holding one ends with a NaN point at the first bad step, which breaks the line
there. :func:`peak` costs O(points in the window) (two vectorised reductions); the
output has at most ``3 * buckets`` points, so pyqtgraph's own per-``setData``
work (finite check, bounds, path) is on a few thousand points.

Buckets are aligned to absolute indices (multiples of the bucket size), so a
series that grows or pans keeps the shape of the buckets it already had. A curve
redrawn every frame uses :class:`PeakPyramid`, which keeps the min/max of aligned
power-of-two blocks up to date as points arrive, so a redraw costs O(buckets), not
O(points).
"""

from __future__ import annotations

import numpy as np

from traindoc.gui.core.buffers import GrowingArray


def clip(steps: np.ndarray, x0: float, x1: float) -> tuple[int, int]:
    """``[lo, hi)``: the indices of ``steps`` (ascending) in ``[x0, x1]``, plus one each side."""
    n = len(steps)
    lo = int(np.searchsorted(steps, x0, side="left")) - 1
    hi = int(np.searchsorted(steps, x1, side="right")) + 1
    return max(lo, 0), min(max(hi, 0), n)


def peak(
    steps: np.ndarray,
    values: np.ndarray,
    lo: int,
    hi: int,
    buckets: int,
    bad_index: np.ndarray | None = None,
    *,
    size: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The points to draw for ``values[lo:hi]``: all of them when few, else min/max per bucket.

    Buckets hold ``size`` points (default: the fewest giving at most ``buckets``
    buckets). ``bad_index`` lists (ascending) the indices of non-finite values in
    ``values``; they come out as NaN. Returns float64 ``(x, y)``. O(hi - lo).
    """
    lo, hi = max(0, lo), min(len(values), hi)
    bad_index = _NO_INDEX if bad_index is None else bad_index
    if hi - lo <= 2 * max(1, int(buckets)):  # a reduction would not reduce: every point
        return _exact(steps, values, lo, hi, bad_index)
    size = size or -(-(hi - lo) // max(1, int(buckets)))
    start = lo - lo % size  # aligned to the series, not to the view
    mins, maxs = _direct(values, start, hi, size, bad_index)
    return _assemble(steps, start, hi, size, mins, maxs, bad_index)


class PeakPyramid:
    """Min and max of aligned blocks of ``2**k`` points for every level ``k >= BASE_LEVEL``.

    Kept up to date in O(new points) by :meth:`update`; :meth:`reduce` then peak-reduces
    any window in O(buckets + bucket size) instead of O(points in the window), with
    power-of-two bucket sizes (so between ``buckets/2`` and ``buckets`` buckets).
    Memory: half a float per point.
    """

    BASE_LEVEL = 3  # blocks of 8; finer windows are reduced straight from the values

    def __init__(self) -> None:
        self.levels: list[tuple[GrowingArray, GrowingArray]] = []
        self.covered = 0  # points folded into complete base blocks

    def reset(self) -> None:
        self.levels.clear()
        self.covered = 0

    def update(self, values: np.ndarray, bad_index: np.ndarray | None = None) -> None:
        """Fold the values after ``covered`` into the levels (whole new blocks only)."""
        base = 1 << self.BASE_LEVEL
        end = len(values) - len(values) % base
        if end <= self.covered:
            return
        mins, maxs = _direct(values, self.covered, end, base,
                             _NO_INDEX if bad_index is None else bad_index)
        self.covered = end
        level = 0
        while mins.size:
            if level == len(self.levels):
                self.levels.append((GrowingArray(np.float64), GrowingArray(np.float64)))
            lo_arr, hi_arr = self.levels[level]
            odd = len(lo_arr) % 2  # a block waiting for its pair at the next level
            lo_arr.extend(mins)
            hi_arr.extend(maxs)
            lo_all, hi_all = lo_arr.view(), hi_arr.view()
            first = len(lo_all) - mins.size - odd
            pairs = (len(lo_all) - first) // 2
            span = slice(first, first + 2 * pairs)
            mins = np.fmin.reduce(lo_all[span].reshape(-1, 2), axis=1)
            maxs = np.fmax.reduce(hi_all[span].reshape(-1, 2), axis=1)
            level += 1

    def reduce(
        self,
        steps: np.ndarray,
        values: np.ndarray,
        lo: int,
        hi: int,
        buckets: int,
        bad_index: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Like :func:`peak` with a power-of-two bucket size; call :meth:`update` first."""
        lo, hi = max(0, lo), min(len(values), hi)
        bad_index = _NO_INDEX if bad_index is None else bad_index
        buckets = max(1, int(buckets))
        if hi - lo <= 2 * buckets:
            return _exact(steps, values, lo, hi, bad_index)
        k = max(0, int(np.ceil(np.log2((hi - lo) / buckets))))
        size = 1 << k
        if k < self.BASE_LEVEL or k - self.BASE_LEVEL >= len(self.levels):
            return peak(steps, values, lo, hi, buckets, bad_index, size=size)
        start = lo - lo % size
        lo_arr, hi_arr = self.levels[k - self.BASE_LEVEL]
        first, last = start >> k, min(len(lo_arr), hi >> k)  # complete, built blocks
        mins, maxs = lo_arr.view()[first:last], hi_arr.view()[first:last]
        done = max(start, last << k)
        if done < hi:  # the partial bucket at the end, straight from the values
            tail_min, tail_max = _direct(values, done, hi, size, bad_index)
            mins, maxs = np.concatenate((mins, tail_min)), np.concatenate((maxs, tail_max))
        return _assemble(steps, start, hi, size, mins, maxs, bad_index)


_NO_INDEX = np.empty(0, np.int64)


def _direct(values, start, hi, size, bad_index) -> tuple[np.ndarray, np.ndarray]:
    """Min and max (of finite values) of each run of ``size`` points of ``values[start:hi]``."""
    y = values[start:hi]
    bad = _within(bad_index, start, hi) - start
    if bad.size:
        y = y.copy()
        y[bad] = np.nan  # fmin/fmax skip NaN: bad values drop out of the min/max
    full = y.size - y.size % size
    mins = np.fmin.reduce(y[:full].reshape(-1, size), axis=1)
    maxs = np.fmax.reduce(y[:full].reshape(-1, size), axis=1)
    if full < y.size:
        mins = np.append(mins, np.fmin.reduce(y[full:]))
        maxs = np.append(maxs, np.fmax.reduce(y[full:]))
    return mins, maxs


def _assemble(steps, start, hi, size, mins, maxs, bad_index) -> tuple[np.ndarray, np.ndarray]:
    """Per bucket: (first step, max), (last step, min), then NaN at its first bad step."""
    count = mins.size
    first = start + np.arange(count) * size
    last = np.minimum(first + size, hi) - 1
    x_out = np.empty((count, 3))
    y_out = np.empty((count, 3))
    x_out[:, 0] = steps[first]
    x_out[:, 1] = steps[last]
    y_out[:, 0] = maxs
    y_out[:, 1] = mins
    keep = np.ones((count, 3), dtype=bool)
    keep[:, 2] = False
    bad = _within(bad_index, start, hi) - start
    if bad.size:
        holder, at = np.unique(bad // size, return_index=True)
        x_out[holder, 2] = steps[start + bad[at]]
        y_out[holder, 2] = np.nan
        keep[holder, 2] = True
    return x_out[keep], y_out[keep]


def _exact(steps, values, lo, hi, bad_index) -> tuple[np.ndarray, np.ndarray]:
    x = steps[lo:hi].astype(np.float64)
    y = values[lo:hi]
    bad = _within(bad_index, lo, hi)
    if bad.size:
        y = y.copy()
        y[bad - lo] = np.nan  # ±Inf would wreck the axis range; the markers show it
    return x, y


def _within(index: np.ndarray, lo: int, hi: int) -> np.ndarray:
    a, b = np.searchsorted(index, [lo, hi])
    return index[a:b]
