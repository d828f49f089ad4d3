"""Compact, peak-preserving summaries of long series, built incrementally.

Rules never see raw million-point arrays: they see a ``Segments`` summary whose size
is bounded (at most ``MAX_BLOCKS`` full blocks plus one partial block per bit of the
remainder). Short series (``<= MAX_BLOCKS`` points) are summarised exactly, one
segment per point.

The block structure is a fixed binary tree over the *global point index*: a block of
``2**L`` points always covers ``[k * 2**L, (k+1) * 2**L)`` and its statistics are the
pairwise merge of its two halves. The summary of ``n`` points therefore depends only
on the points, never on how they were fed: ``SeriesSummarizer`` fed in any chunking
produces bit-for-bit the same arrays as one call with everything (the live diagnoser's
guarantee; tested with random chunkings).

Per segment: first/last step, point count, finite count, ``level`` (the pairwise
tree mean of the finite values: an ordinary mean for blocks without non-finite
values), ``lo``/``hi`` (finite min/max, so spikes are never averaged away), the step
of the max, and the step/value of the first non-finite point (so a NaN is never lost).

Cost model: ``feed`` of ``k`` points costs O(k + MAX_BLOCKS) (vectorised; the
``MAX_BLOCKS`` term is the append to a bounded array), amortised over the stream;
``segments()`` costs O(MAX_BLOCKS + log n).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Most full blocks kept at the coarsest level. 1024 keeps every series of up to
#: 1024 points exact (all real per-epoch logs) and a 1e6-point series at blocks of
#: 1024 points: fine enough for trends, cheap enough for the 200 ms budget (SPEC §8).
MAX_BLOCKS = 1024

#: Sentinel for "no such step" (no non-finite point, no finite max).
NO_STEP = np.iinfo(np.int64).min

_FIELDS = (
    "start", "end", "count", "finite", "level", "lo", "hi", "hi_step", "bad_step", "bad_value",
)


@dataclass(frozen=True, slots=True)
class Segments:
    """Struct of arrays, one entry per segment, in series order."""

    start: np.ndarray  # int64, first step
    end: np.ndarray  # int64, last step
    count: np.ndarray  # int64, points
    finite: np.ndarray  # int64, finite points
    level: np.ndarray  # float64, tree mean of finite values (NaN if none)
    lo: np.ndarray  # float64, finite min (NaN if none)
    hi: np.ndarray  # float64, finite max (NaN if none)
    hi_step: np.ndarray  # int64, step of hi (NO_STEP if none)
    bad_step: np.ndarray  # int64, step of the first non-finite point (NO_STEP if none)
    bad_value: np.ndarray  # float64, that value (nan, inf or -inf; 0.0 if none)

    def __len__(self) -> int:
        return int(self.count.size)

    @property
    def n_points(self) -> int:
        return int(self.count.sum())

    @property
    def n_finite(self) -> int:
        return int(self.finite.sum())

    @property
    def exact(self) -> bool:
        """True when every segment is a single point."""
        return bool(self.count.size == 0 or self.count.max() == 1)

    def take(self, index) -> Segments:
        return Segments(*(getattr(self, f)[index] for f in _FIELDS))

    @staticmethod
    def concat(parts: list[Segments]) -> Segments:
        if not parts:
            return empty()
        if len(parts) == 1:
            return parts[0]
        return Segments(*(np.concatenate([getattr(p, f) for p in parts]) for f in _FIELDS))

    def arrays(self) -> tuple[np.ndarray, ...]:
        return tuple(getattr(self, f) for f in _FIELDS)


def empty() -> Segments:
    i = np.empty(0, np.int64)
    f = np.empty(0, np.float64)
    return Segments(i, i, i, i, f, f, f, i, i, f)


def leaves(steps: np.ndarray, values: np.ndarray) -> Segments:
    """One segment per point (its arrays its own: none is the caller's ``steps``)."""
    ok = np.isfinite(values)
    level = np.where(ok, values, np.nan)
    return Segments(
        start=steps.copy(),
        end=steps.copy(),
        count=np.ones(steps.size, np.int64),
        finite=ok.astype(np.int64),
        level=level,
        lo=level,
        hi=level,
        hi_step=np.where(ok, steps, NO_STEP),
        bad_step=np.where(ok, NO_STEP, steps),
        bad_value=np.where(ok, 0.0, values),
    )


def merge_pairs(s: Segments) -> Segments:
    """Merge segments 2i and 2i+1 (the length must be even)."""
    a, b = s.take(slice(0, None, 2)), s.take(slice(1, None, 2))
    a_nan, b_nan = np.isnan(a.level), np.isnan(b.level)
    level = np.where(a_nan, b.level, np.where(b_nan, a.level, (a.level + b.level) * 0.5))
    b_wins = b.hi > a.hi
    b_wins |= np.isnan(a.hi)
    a_bad = a.bad_step != NO_STEP
    return Segments(
        start=a.start,
        end=b.end,
        count=a.count + b.count,
        finite=a.finite + b.finite,
        level=level,
        lo=np.fmin(a.lo, b.lo),
        hi=np.fmax(a.hi, b.hi),
        hi_step=np.where(b_wins, b.hi_step, a.hi_step),
        bad_step=np.where(a_bad, a.bad_step, b.bad_step),
        bad_value=np.where(a_bad, a.bad_value, b.bad_value),
    )


def blocks(steps: np.ndarray, values: np.ndarray, bits: int) -> Segments:
    """Summaries of consecutive blocks of ``2**bits`` points (length a multiple of it)."""
    s = leaves(steps, values)
    for _ in range(bits):
        s = merge_pairs(s)
    return s


def level_for(n: int) -> int:
    """The block size exponent for ``n`` points: the least L with ``n >> L <= MAX_BLOCKS``."""
    bits = 0
    while (n >> bits) > MAX_BLOCKS:
        bits += 1
    return bits


class SeriesSummarizer:
    """Incremental builder of a series' ``Segments`` (see the module docstring)."""

    __slots__ = ("_bits", "_full", "_n", "_pending")

    def __init__(self) -> None:
        self._n = 0
        self._bits = 0
        self._full = empty()
        # Partial blocks below the full level, largest first: (bit, one-segment Segments).
        self._pending: list[tuple[int, Segments]] = []

    @property
    def n_points(self) -> int:
        return self._n

    def feed(self, steps, values) -> None:
        steps = np.ascontiguousarray(steps, dtype=np.int64).reshape(-1)
        values = np.ascontiguousarray(values, dtype=np.float64).reshape(-1)
        if steps.size != values.size:
            raise ValueError("steps and values differ in length")
        if steps.size == 0:
            return
        # Raise the level first, so that new full blocks are built at their final size.
        target = level_for(self._n + steps.size)
        while self._bits < target:
            self._promote()
        pos = 0
        # 1. Complete the pending partial blocks, lowest bit first (a binary carry).
        while self._pending and pos < steps.size:
            bit = self._pending[-1][0]
            size = 1 << bit
            if steps.size - pos < size:
                break
            sib = blocks(steps[pos : pos + size], values[pos : pos + size], bit)
            pos += size
            self._n += size
            self._carry(sib, bit)
        if self._pending and pos < steps.size:
            self._decompose(steps[pos:], values[pos:])
            return
        # 2. Whole blocks at the full level.
        size = 1 << self._bits
        whole = (steps.size - pos) // size * size
        if whole:
            new = blocks(steps[pos : pos + whole], values[pos : pos + whole], self._bits)
            self._full = Segments.concat([self._full, new]) if len(self._full) else new
            pos += whole
            self._n += whole
        # 3. The remainder, as partial blocks by the bits of its length.
        if pos < steps.size:
            self._decompose(steps[pos:], values[pos:])

    def segments(self) -> Segments:
        return Segments.concat([self._full, *(seg for _, seg in self._pending)])

    # -- internals ---------------------------------------------------------------------

    def _carry(self, seg: Segments, bit: int) -> None:
        while self._pending and self._pending[-1][0] == bit:
            _, left = self._pending.pop()
            seg = merge_pairs(Segments.concat([left, seg]))
            bit += 1
        if bit == self._bits:
            self._full = Segments.concat([self._full, seg])
        else:
            self._pending.append((bit, seg))

    def _decompose(self, steps: np.ndarray, values: np.ndarray) -> None:
        pos = 0
        rest = steps.size
        for bit in range(self._bits, -1, -1):
            size = 1 << bit
            if rest >= size:
                seg = blocks(steps[pos : pos + size], values[pos : pos + size], bit)
                pos += size
                rest -= size
                self._n += size
                self._carry(seg, bit)

    def _promote(self) -> None:
        full = self._full
        odd = len(full) % 2
        pairs = merge_pairs(full.take(slice(0, len(full) - odd)))
        if odd:
            self._pending.insert(0, (self._bits, full.take(slice(len(full) - 1, None))))
        self._full = pairs
        self._bits += 1


def summarize(steps, values) -> Segments:
    """The summary of a whole series (same result as feeding it in any chunks)."""
    s = SeriesSummarizer()
    s.feed(steps, values)
    return s.segments()
