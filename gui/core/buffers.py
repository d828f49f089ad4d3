"""Qt-free, growable columnar series for the charts: no object per point.

A :class:`GrowingSeries` keeps ``steps`` (int64), ``values`` and ``walls`` (float64,
wall-clock seconds: the log's own, or the arrival time of a live run's points) in numpy
arrays whose capacity doubles when full (pyqtgraph's ``scrollingPlots`` idiom), so
appending ``k`` points costs O(k) amortised and the arrays handed to the charts are
views, never copies. ``version`` counts appends: a chart redraws a curve only when
the version it drew is stale. The series also keeps, in O(new points), what the
charts would otherwise recompute over every point each frame: the bounds of its
steps and finite values (:class:`RunningBounds`), the indices of its non-finite
values, and whether its steps are in order (so a chart may clip by bisection).

The charts smooth with :func:`traindoc.diagnostics.signals.ema` (resumable, so a live
curve is smoothed in O(new points)).
"""

from __future__ import annotations

import math
import time

import numpy as np

INITIAL_CAPACITY = 1024


class GrowingArray:
    """A 1-D numpy array that grows by doubling; ``view()`` is the filled part."""

    __slots__ = ("_data", "_n")

    def __init__(self, dtype: type | np.dtype, capacity: int = INITIAL_CAPACITY) -> None:
        self._data = np.empty(max(1, capacity), dtype=dtype)
        self._n = 0

    def __len__(self) -> int:
        return self._n

    @property
    def capacity(self) -> int:
        return int(self._data.size)

    def extend(self, values: np.ndarray) -> None:
        k = int(values.size)
        if k == 0:
            return
        need = self._n + k
        if need > self._data.size:
            capacity = self._data.size
            while capacity < need:
                capacity *= 2
            self._grow_to(capacity)
        self._data[self._n : need] = values
        self._n = need

    def reserve(self, capacity: int) -> None:
        """Make room for ``capacity`` values at once: a series known to be long (a log
        being opened) is then filled slice by slice without regrowing copies."""
        if capacity > self._data.size:
            self._grow_to(capacity)

    def _grow_to(self, capacity: int) -> None:
        grown = np.empty(capacity, dtype=self._data.dtype)
        grown[: self._n] = self._data[: self._n]
        self._data = grown

    def view(self) -> np.ndarray:
        return self._data[: self._n]

    def clear(self) -> None:
        self._n = 0


class RunningBounds:
    """The min and max of the finite values seen so far; ``update`` costs O(new values)."""

    __slots__ = ("hi", "lo")

    def __init__(self) -> None:
        self.lo = math.inf
        self.hi = -math.inf

    def update(self, values: np.ndarray) -> None:
        if values.size == 0:
            return
        if not np.isfinite(values).all():
            values = values[np.isfinite(values)]
            if values.size == 0:
                return
        self.lo = min(self.lo, float(values.min()))
        self.hi = max(self.hi, float(values.max()))

    def get(self) -> tuple[float, float] | None:
        """``(min, max)``, or None before the first finite value."""
        return (self.lo, self.hi) if self.lo <= self.hi else None

    def clear(self) -> None:
        self.lo = math.inf
        self.hi = -math.inf


class GrowingSeries:
    """One metric's points, in arrival order, plus the steps of its non-finite values."""

    __slots__ = ("_bad", "_bad_at", "_steps", "_values", "_walls", "generation", "ordered",
                 "step_bounds", "value_bounds", "version", "wall_bounds", "walls_ordered")

    def __init__(self, capacity: int = INITIAL_CAPACITY) -> None:
        self._steps = GrowingArray(np.int64, capacity)
        self._values = GrowingArray(np.float64, capacity)
        self._walls = GrowingArray(np.float64, capacity)
        self._bad = GrowingArray(np.int64, 16)
        self._bad_at = GrowingArray(np.int64, 16)
        self.step_bounds = RunningBounds()
        self.value_bounds = RunningBounds()  # finite values only
        self.wall_bounds = RunningBounds()
        self.walls_ordered = True  # wall times never decrease (a time axis may clip too)
        self.ordered = True  # steps never decrease: a chart may clip to its view by bisection
        self.version = 0  # +1 per change: a chart redraws when it drew an older one
        self.generation = 0  # +1 when points are removed: incremental readers start over

    def __len__(self) -> int:
        return len(self._values)

    def reserve(self, points: int) -> None:
        """Make room for ``points`` points in all (see :meth:`GrowingArray.reserve`)."""
        self._steps.reserve(points)
        self._values.reserve(points)
        self._walls.reserve(points)

    def append(self, steps, values, walls=None) -> None:
        """Append points; ``walls`` (their wall times, seconds) default to their arrival:
        a batch is spread evenly from the previous batch's time to now."""
        steps = np.asarray(steps, dtype=np.int64).reshape(-1)
        values = np.asarray(values, dtype=np.float64).reshape(-1)
        if steps.size != values.size:
            raise ValueError(f"steps and values differ in length: {steps.size} != {values.size}")
        if steps.size == 0:
            return
        if walls is None:  # a live run's points: spread from the last batch's time to now
            now = time.time()
            last = self._walls.view()[-1] if len(self._walls) else now
            walls = np.linspace(min(last, now), now, steps.size + 1)[1:]
        walls = np.asarray(walls, dtype=np.float64).reshape(-1)
        if walls.size != steps.size:
            raise ValueError(f"walls and steps differ in length: {walls.size} != {steps.size}")
        self._append_walls(walls)
        if self.ordered and (
            (len(self) and steps[0] < self._steps.view()[-1]) or (np.diff(steps) < 0).any()
        ):
            self.ordered = False
        start = len(self)
        self._steps.extend(steps)
        self._values.extend(values)
        self.step_bounds.update(steps)
        finite = np.isfinite(values)
        if finite.all():
            self.value_bounds.update(values)
        else:
            self.value_bounds.update(values[finite])
            self._bad.extend(steps[~finite])
            self._bad_at.extend(start + np.flatnonzero(~finite))
        self.version += 1

    def _append_walls(self, walls: np.ndarray) -> None:
        if self.walls_ordered and (
            (len(self._walls) and walls[0] < self._walls.view()[-1]) or (np.diff(walls) < 0).any()
        ):
            self.walls_ordered = False
        self._walls.extend(walls)
        self.wall_bounds.update(walls)

    @property
    def walls(self) -> np.ndarray:
        """The points' wall-clock times (seconds since the epoch)."""
        return self._walls.view()

    @property
    def steps(self) -> np.ndarray:
        return self._steps.view()

    @property
    def values(self) -> np.ndarray:
        return self._values.view()

    @property
    def nonfinite_steps(self) -> np.ndarray:
        """Steps whose value is NaN or ±Inf (the charts mark them on purpose)."""
        return self._bad.view()

    @property
    def nonfinite_index(self) -> np.ndarray:
        """Indices (ascending) of the NaN/±Inf values, for reductions that must keep them."""
        return self._bad_at.view()

    def last(self) -> float | None:
        return float(self.values[-1]) if len(self) else None

    def best(self, *, lower_is_better: bool) -> tuple[float, int] | None:
        """The best finite value and its step, or None when there is none."""
        values = self.values
        finite = np.isfinite(values)
        if not finite.any():
            return None
        masked = np.where(finite, values, np.inf if lower_is_better else -np.inf)
        index = int(np.argmin(masked) if lower_is_better else np.argmax(masked))
        return float(values[index]), int(self.steps[index])

    def clear(self) -> None:
        self._steps.clear()
        self._values.clear()
        self._walls.clear()
        self.wall_bounds.clear()
        self.walls_ordered = True
        self._bad.clear()
        self._bad_at.clear()
        self.step_bounds.clear()
        self.value_bounds.clear()
        self.ordered = True
        self.version += 1
        self.generation += 1
