"""Growable series and TensorBoard's debiased EMA (Qt-free)."""

from __future__ import annotations

import numpy as np
import pytest

from traindoc.gui.core.buffers import GrowingArray, GrowingSeries, ema


def reference_ema(values, weight):
    """TensorBoard's smoothing loop, written out (non-finite values pass through)."""
    last, count, out = 0.0, 0, []
    for v in values:
        if not np.isfinite(v):
            out.append(v)
            continue
        count += 1
        last = last * weight + (1 - weight) * v
        out.append(last / (1 - weight**count))
    return np.asarray(out)


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


def test_drop_from_rewrites_the_tail_and_bumps_the_generation():
    s = GrowingSeries()
    s.append(np.arange(10), np.arange(10.0))
    s.drop_from(6)
    assert s.generation == 1
    np.testing.assert_array_equal(s.steps, np.arange(6))


def test_series_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="differ in length"):
        GrowingSeries().append([1, 2], [1.0])


@pytest.mark.parametrize("weight", [0.0, 1e-7, 0.3, 0.6, 0.9, 0.99, 0.999])
def test_ema_matches_tensorboard_loop(weight):
    rng = np.random.default_rng(1)
    values = rng.normal(size=5000).cumsum()
    values[[7, 300, 4000]] = [np.nan, np.inf, np.nan]
    got, _ = ema(values, weight)
    want = reference_ema(values, weight)
    finite = np.isfinite(want)
    np.testing.assert_allclose(got[finite], want[finite], rtol=1e-9, atol=1e-9)
    assert not np.isfinite(got[~finite]).any()


@pytest.mark.parametrize("weight", [0.6, 0.99])
def test_ema_resumes_over_new_points_only(weight):
    values = np.random.default_rng(2).normal(size=3000)
    whole, _ = ema(values, weight)
    parts, state = [], None
    for lo, hi in [(0, 1), (1, 900), (900, 901), (901, 3000)]:
        out, state = ema(values[lo:hi], weight, state)
        parts.append(out)
    np.testing.assert_allclose(np.concatenate(parts), whole, rtol=1e-12, atol=1e-12)
    assert state.count == 3000
