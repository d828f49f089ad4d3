"""Growable series for the charts (Qt-free)."""

from __future__ import annotations

import numpy as np
import pytest

from traindoc.gui.core.buffers import GrowingArray, GrowingSeries


def test_growing_array_doubles_and_keeps_every_value():
    a = GrowingArray(np.float64, capacity=4)
    chunks = [np.arange(k, dtype=float) + 100 * k for k in (3, 1, 7, 20)]
    capacities = []
    for chunk in chunks:
        a.extend(chunk)
        capacities.append(a.capacity)
    assert capacities == [4, 4, 16, 32]
    np.testing.assert_array_equal(a.view(), np.concatenate(chunks))


def test_series_tracks_versions_nonfinite_steps_and_best():
    s = GrowingSeries(capacity=2)
    s.append([1, 2, 3], [3.0, np.nan, 1.0])
    s.append([4, 5], [np.inf, 2.0])
    assert s.version == 2 and len(s) == 5
    np.testing.assert_array_equal(s.nonfinite_steps, [2, 4])
    assert s.best(lower_is_better=True) == (1.0, 3)
    assert s.best(lower_is_better=False) == (3.0, 1)
    s.append([], [])
    assert s.version == 2


def test_clear_empties_the_series_and_bumps_the_generation():
    s = GrowingSeries()
    s.append(np.arange(10), np.arange(10.0))
    s.clear()
    assert s.generation == 1 and len(s) == 0
    s.append([3], [1.0])
    np.testing.assert_array_equal(s.steps, [3])


def test_series_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="differ in length"):
        GrowingSeries().append([1, 2], [1.0])


def test_reserved_room_is_filled_in_place_without_regrowing():
    series = GrowingSeries()
    series.append([0, 1], [1.0, 2.0])
    series.reserve(2 + 300_000)
    buffer = series._values._data  # the storage the slices must fill in place
    assert buffer.size == 300_002
    for first in range(0, 300_000, 100_000):
        steps = np.arange(first, first + 100_000) + 2
        series.append(steps, steps * 0.5)
    assert series._values._data is buffer
    assert len(series) == 300_002
    assert series.values[:2].tolist() == [1.0, 2.0]
    assert series.values[-1] == pytest.approx(300_001 * 0.5)
    assert series.steps[-1] == 300_001
    series.reserve(10)  # never shrinks
    assert series._values._data is buffer
