"""Scalars: one tag's points as numpy columns, and what is done to them.

:func:`purge_restarts` applies a step counter's restarts within a file and
:func:`merge_files` merges a run's successive files, both as TensorBoard purges.
:class:`PartSum` sums a composite tag's parts (a detector's box + obj + cls loss)
as their points arrive: the same code sums a loaded run and a followed one.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from .roles import sum_parts_of


@dataclass(frozen=True, slots=True)
class Scalars:
    """One tag's points: int64 steps, float64 values and wall times, same length."""

    steps: np.ndarray
    values: np.ndarray
    wall_times: np.ndarray

    def __len__(self) -> int:
        return len(self.steps)

    @staticmethod
    def empty() -> Scalars:
        return Scalars(np.zeros(0, np.int64), np.zeros(0), np.zeros(0))


def concat(pieces: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> Scalars:
    if len(pieces) == 1:
        return Scalars(*pieces[0])
    return Scalars(*(np.concatenate([p[i] for p in pieces]) for i in range(3)))


_NO_STEP = np.iinfo(np.int64).max


def purge_restarts(
    s: Scalars, last: int | None = None
) -> tuple[Scalars, tuple[int, int] | None, int | None]:
    """Apply the restarts of a step counter to one tag's points in file order.

    As TensorBoard purges: a point whose step is lower than the one before it is a
    restart, and the points before it from its step on are dropped. ``last``: the
    step of the last point of this tag already returned (earlier reads of the
    file). Returns ``(kept, restart, purge_from)``: the kept points (steps never go
    down), ``(step, step before)`` of the first restart (None when none), and the
    step from which the points already returned are replaced (None when none are).
    """
    steps = s.steps
    n = len(steps)
    if n == 0:
        return s, None, None
    down = steps[1:] < steps[:-1]
    first_down = last is not None and int(steps[0]) < last
    if not first_down and not down.any():
        return s, None, None
    desc = np.empty(n, bool)
    desc[0] = first_down
    desc[1:] = down
    i = int(np.argmax(desc))
    restart = (int(steps[i]), last if i == 0 else int(steps[i - 1]))
    at = np.where(desc, steps, _NO_STEP)
    low = np.minimum.accumulate(at[::-1])[::-1]  # low[k]: lowest restart at or after k
    later = np.empty(n, np.int64)
    later[:-1], later[-1] = low[1:], _NO_STEP
    keep = steps < later
    if not keep.all():
        s = Scalars(steps[keep], s.values[keep], s.wall_times[keep])
    purge_from = int(low[0]) if last is not None and last >= int(low[0]) else None
    return s, restart, purge_from


def sort_by_step(s: Scalars) -> Scalars:
    """Stable sort by step (a no-op when already sorted)."""
    # np.diff's own subtraction (wrapping as it does), without its per-call overhead.
    if len(s) < 2 or not (s.steps[1:] - s.steps[:-1] < 0).any():
        return s
    order = np.argsort(s.steps, kind="stable")
    return Scalars(s.steps[order], s.values[order], s.wall_times[order])


def merge_files(pieces: list[Scalars]) -> Scalars:
    """Merge one tag's points from successive files of a run.

    As TensorBoard purges on restart: when a later file starts at a step the run
    had already reached, the earlier points from that step on are dropped.
    """
    pieces = [p for p in pieces if len(p)]
    if not pieces:
        return Scalars.empty()
    out = sort_by_step(pieces[0])
    for nxt in pieces[1:]:
        nxt = sort_by_step(nxt)
        first = nxt.steps[0]
        if out.steps[-1] >= first:
            keep = out.steps < first
            out = Scalars(out.steps[keep], out.values[keep], out.wall_times[keep])
        out = Scalars(
            np.concatenate([out.steps, nxt.steps]),
            np.concatenate([out.values, nxt.values]),
            np.concatenate([out.wall_times, nxt.wall_times]),
        )
    return out


class PartSum:
    """The sum of a composite tag's parts, built as their points arrive.

    A step is summed once every part has it; the sum is over the parts in the
    composite's order, its wall time the latest of the parts'. Each part keeps its
    first point of a step (a repeated step is ignored) and its points are expected in
    step order: one later than the part's last step is taken, an earlier one dropped.
    ``update`` costs O(new points) amortised: points wait only until every part has
    passed their step. Reading a whole run is one ``update`` with every point, so a
    followed run sums exactly as a loaded one.
    """

    __slots__ = ("_frontier", "_last", "_pending", "parts")

    def __init__(self, parts: tuple[str, ...]) -> None:
        self.parts = tuple(parts)
        self._last: dict[str, int | None] = dict.fromkeys(self.parts)
        self._pending: dict[str, deque[Scalars]] = {p: deque() for p in self.parts}
        self._frontier: int | None = None  # every step up to here is summed or never will be

    def update(self, new: Mapping[str, Scalars]) -> Scalars:
        """Take new points of any parts; return the summed points they completed."""
        for part, s in new.items():
            if part not in self._pending or not len(s):
                continue
            s = sort_by_step(s)
            last = self._last[part]
            keep = np.ones(len(s), bool)
            keep[1:] = s.steps[1:] != s.steps[:-1]  # first point of a repeated step
            if last is not None:
                keep &= s.steps > last
            if not keep.all():
                s = Scalars(s.steps[keep], s.values[keep], s.wall_times[keep])
            if len(s):
                self._pending[part].append(s)
                self._last[part] = int(s.steps[-1])
        lasts = list(self._last.values())
        if any(last is None for last in lasts):
            return Scalars.empty()
        frontier = min(lasts)
        if frontier == self._frontier:
            return Scalars.empty()  # every new point lies beyond a part's last step
        self._frontier = frontier
        ready = [self._take_until(part, frontier) for part in self.parts]
        steps = ready[0].steps
        for s in ready[1:]:
            steps = np.intersect1d(steps, s.steps, assume_unique=True)
        if not len(steps):
            return Scalars.empty()
        values = np.zeros(len(steps))
        walls = np.full(len(steps), -np.inf)
        for s in ready:
            at = np.searchsorted(s.steps, steps)
            values = values + s.values[at]
            walls = np.maximum(walls, s.wall_times[at])
        return Scalars(steps.astype(np.int64), values, walls)

    def _take_until(self, part: str, step: int) -> Scalars:
        """Remove and return the part's waiting points at or before ``step``."""
        chunks = self._pending[part]
        taken: list[Scalars] = []
        while chunks and chunks[0].steps[-1] <= step:
            taken.append(chunks.popleft())
        if chunks and chunks[0].steps[0] <= step:
            head, n = chunks[0], int(np.searchsorted(chunks[0].steps, step, side="right"))
            taken.append(Scalars(head.steps[:n], head.values[:n], head.wall_times[:n]))
            chunks[0] = Scalars(head.steps[n:], head.values[n:], head.wall_times[n:])
        if not taken:
            return Scalars.empty()
        return concat([(t.steps, t.values, t.wall_times) for t in taken])


def sum_parts(parts: Mapping[str, Scalars]) -> Scalars:
    """The summed series of whole parts (in the mapping's order), at the steps all share."""
    return PartSum(tuple(parts)).update(parts)


def add_sums(scalars: dict[str, Scalars], roles: Mapping[str, str]) -> None:
    """Insert the series of every composite tag in ``roles`` (built from its parts)."""
    for tag in roles.values():
        parts = sum_parts_of(tag, scalars)
        if parts is not None and tag not in scalars:
            scalars[tag] = sum_parts({p: scalars[p] for p in parts})
