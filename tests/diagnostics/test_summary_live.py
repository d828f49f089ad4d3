"""Bounded summaries and the live diagnoser: any chunking gives the batch result, exactly."""

from __future__ import annotations

import itertools
import math

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.diagnostics.helpers import decay
from traindoc.diagnostics.live import LiveDiagnoser
from traindoc.diagnostics.runner import diagnose
from traindoc.diagnostics.summary import MAX_BLOCKS, NO_STEP, SeriesSummarizer, summarize
from traindoc.diagnostics.types import RunData, Series


def _same(a, b):
    for x, y in zip(a.arrays(), b.arrays(), strict=True):
        assert x.dtype == y.dtype
        np.testing.assert_array_equal(x, y)


def _chunks(n, cuts):
    bounds = sorted({0, n, *(c % (n + 1) for c in cuts)})
    return list(itertools.pairwise(bounds))


def test_short_series_is_exact():
    v = np.array([1.0, math.nan, 3.0, math.inf])
    s = summarize(np.arange(4), v)
    assert s.exact and len(s) == 4
    assert s.bad_step.tolist() == [NO_STEP, 1, NO_STEP, 3]
    assert s.finite.tolist() == [1, 0, 1, 0]


def test_long_series_is_bounded_and_keeps_peaks_and_nans():
    n = 1_000_003
    v = np.ones(n)
    v[777_777] = 1e6
    v[123_456] = math.nan
    s = summarize(np.arange(n), v)
    assert len(s) <= MAX_BLOCKS + 20
    assert s.n_points == n and s.n_finite == n - 1
    j = int(np.nanargmax(s.hi))
    assert s.hi[j] == 1e6 and s.hi_step[j] == 777_777
    assert int(s.bad_step[s.bad_step != NO_STEP][0]) == 123_456
    assert np.all(np.diff(s.start) > 0) and s.start[0] == 0 and s.end[-1] == n - 1


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(0, 5000), cuts=st.lists(st.integers(0, 10_000), max_size=12),
       seed=st.integers(0, 2**16))
def test_summary_independent_of_chunking(n, cuts, seed):
    rng = np.random.default_rng(seed)
    v = rng.standard_normal(n)
    v[rng.random(n) < 0.01] = math.nan
    steps = np.arange(n) * 3
    whole = summarize(steps, v)
    live = SeriesSummarizer()
    for a, b in _chunks(n, cuts):
        live.feed(steps[a:b], v[a:b])
    _same(live.segments(), whole)


def test_promotion_across_many_levels_in_small_chunks():
    n = 3 * MAX_BLOCKS * 8 + 77
    v = np.random.default_rng(0).standard_normal(n)
    live = SeriesSummarizer()
    for a in range(0, n, 333):
        live.feed(np.arange(a, min(n, a + 333)), v[a : a + 333])
    _same(live.segments(), summarize(np.arange(n), v))


def _run(n, seed):
    rng = np.random.default_rng(seed)
    loss = decay(n, noise=0.1, seed=seed)
    kind = seed % 4
    if kind == 1:
        loss[int(n * 0.7) :] = math.nan
    elif kind == 2:
        loss = np.linspace(2.0, 1.8, n) * (1 + 0.01 * rng.standard_normal(n))
    elif kind == 3:
        loss[int(n * 0.5)] = 50.0
    grad = 1 + 0.2 * np.abs(rng.standard_normal(n))
    if kind == 3:
        grad[int(n * 0.6)] = 30.0
    m = max(5, n // 100)
    val = decay(m, start=2.2, floor=0.3, seed=seed + 1)
    if seed % 3 == 0:
        val[m // 2 :] = np.linspace(val[m // 2], val[m // 2] * 1.4, m - m // 2)
    return {"train_loss": (np.arange(n), loss), "grad_norm": (np.arange(n), grad),
            "val_loss": (np.arange(1, m + 1) * (n // m), val)}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(10, 6000), seed=st.integers(0, 1000),
       cuts=st.lists(st.integers(0, 10_000), max_size=8))
def test_live_equals_batch(n, seed, cuts):
    data = _run(n, seed)
    batch = diagnose(RunData({r: Series(s, v) for r, (s, v) in data.items()}, name="r"))
    live = LiveDiagnoser(name="r")
    # Interleave roles, each in its own random chunks, as a live log would arrive.
    plans = {r: _chunks(len(v), cuts) for r, (_, v) in data.items()}
    for i in range(max(len(p) for p in plans.values())):
        for role, plan in plans.items():
            if i < len(plan):
                a, b = plan[i]
                steps, values = data[role]
                live.feed(role, steps[a:b], values[a:b])
        live.diagnosis()  # asking midway must not disturb anything
    assert live.diagnosis() == batch


def test_live_feed_cost_is_bounded_by_new_points():
    # The state after a million points is bounded: full blocks <= MAX_BLOCKS, plus one
    # partial block per bit of the remainder.
    live = SeriesSummarizer()
    for a in range(0, 1_000_000, 50_000):
        live.feed(np.arange(a, a + 50_000), np.ones(50_000))
    assert len(live.segments()) <= MAX_BLOCKS + 21
