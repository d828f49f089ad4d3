"""Clip-to-view and peak reduction (Qt-free): spikes, NaN/Inf and bounds never vanish."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from traindoc.gui.core.buffers import GrowingSeries
from traindoc.gui.core.reduction import PeakPyramid, clip, peak


def spiky(n, seed=0):
    rng = np.random.default_rng(seed)
    values = np.exp(-np.arange(n) / n) + 0.01 * rng.standard_normal(n)
    values[[n // 7, n // 3]] = [25.0, -9.0]  # one spike each way
    values[[11, n // 2, n // 2 + 1, n - 5]] = [np.nan, np.inf, -np.inf, np.nan]
    return values


def series_of(values, chunks=(1,)):
    s = GrowingSeries()
    edges = np.linspace(0, len(values), len(chunks) + 1).astype(int)
    for lo, hi in itertools.pairwise(edges):
        s.append(np.arange(lo, hi) * 10, values[lo:hi])
    return s


def test_peak_keeps_the_extremes_and_marks_every_nonfinite_bucket():
    values = spiky(200_000)
    s = series_of(values)
    x, y = peak(s.steps, s.values, 0, len(s), 1000, s.nonfinite_index)
    assert len(x) <= 3 * 1000
    assert np.nanmin(y) == -9.0 and np.nanmax(y) == 25.0
    assert x.min() == 0 and x.max() == s.steps[-1]  # the line runs to the last point
    assert not np.isinf(y).any()
    size = -(-len(s) // 1000)
    for index in s.nonfinite_index:  # a NaN break inside the bucket of every bad point
        bucket = index // size
        lo, hi = s.steps[bucket * size], s.steps[min((bucket + 1) * size, len(s)) - 1]
        assert np.isnan(y[(x >= lo) & (x <= hi)]).any()


def test_peak_draws_every_point_of_a_short_window():
    values = spiky(1000)
    s = series_of(values)
    x, y = peak(s.steps, s.values, 100, 900, 1024, s.nonfinite_index)
    np.testing.assert_array_equal(x, s.steps[100:900])
    expected = np.where(np.isfinite(values[100:900]), values[100:900], np.nan)
    np.testing.assert_array_equal(y, expected)


def test_clip_finds_the_view_window_with_one_point_of_margin():
    steps = np.arange(0, 1000, 10)
    assert clip(steps, 95, 305) == (9, 32)
    assert clip(steps, -50, 5000) == (0, 100)
    assert clip(steps, 2000, 3000) == (99, 100)


@pytest.mark.parametrize("chunks", [(1,), (1, 7, 3000, 1, 50_000, 12_345)])
def test_pyramid_grown_point_by_chunk_equals_a_direct_reduction(chunks):
    values = spiky(150_000, seed=3)
    s = GrowingSeries()
    pyramid = PeakPyramid()
    edges = np.cumsum((0, *chunks, 150_000 - sum(chunks)))
    for lo, hi in itertools.pairwise(edges):
        s.append(np.arange(lo, hi), values[lo:hi])
        pyramid.update(s.values, s.nonfinite_index)  # O(new points)
        for a, b, buckets in [(0, len(s), 1000), (17, len(s) - 3, 300), (5000, 90_000, 700)]:
            b = min(b, len(s))
            if b - a <= 2 * buckets:
                continue
            got = pyramid.reduce(s.steps, s.values, a, b, buckets, s.nonfinite_index)
            size = 1 << int(np.ceil(np.log2((b - a) / buckets)))
            want = peak(s.steps, s.values, a, b, buckets, s.nonfinite_index, size=size)
            np.testing.assert_array_equal(got[0], want[0])
            np.testing.assert_array_equal(got[1], want[1])
            assert buckets / 2 <= np.count_nonzero(np.diff(got[0]) > 0) / 2 <= buckets + 1
    _, y = pyramid.reduce(s.steps, s.values, 0, len(s), 1000, s.nonfinite_index)
    assert np.nanmin(y) == -9.0 and np.nanmax(y) == 25.0


def test_series_bounds_are_kept_incrementally():
    values = spiky(10_000)
    s = series_of(values, chunks=(1,) * 17)
    assert s.value_bounds.get() == (np.nanmin(values[np.isfinite(values)]),
                                    np.nanmax(values[np.isfinite(values)]))
    assert s.step_bounds.get() == (0, 99_990)
    np.testing.assert_array_equal(s.nonfinite_index, np.flatnonzero(~np.isfinite(values)))
    assert s.ordered
    s.append([5], [100.0])  # a step going back: no more clipping by bisection
    assert not s.ordered and s.value_bounds.get()[1] == 100.0
    s.clear()  # a restarted run is read again from its first point
    s.append([0], values[:1])
    assert s.ordered and s.value_bounds.get() == (values[0], values[0])
    np.testing.assert_array_equal(s.nonfinite_index, [])
    assert GrowingSeries().value_bounds.get() is None
