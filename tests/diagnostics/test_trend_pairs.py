"""Theil-Sen and Mann-Kendall over every pair of points, as their definitions read them
(all pairs i < j by fancy indexing, the pairs with dx > 0, the sum of the signs), give
exactly what the faster paths give: strictly increasing x (no pair to leave out),
repeated or unsorted x, ties, and values with NaN or infinities. ``quartiles`` and
``median`` give numpy's percentiles and median bit for bit (signed zeros included)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from traindoc.diagnostics.trend import mann_kendall_z, median, quartiles, theil_sen, trend


def _theil_sen(x: np.ndarray, y: np.ndarray) -> float:
    i, j = np.triu_indices(y.size, 1)
    dx = x[j] - x[i]
    ok = dx > 0
    if not ok.any():
        return 0.0
    return float(np.median((y[j] - y[i])[ok] / dx[ok]))


def _mann_kendall_z(y: np.ndarray) -> float:
    n = y.size
    i, j = np.triu_indices(n, 1)
    s = float(np.sign(y[j] - y[i]).sum())
    _, counts = np.unique(y, return_counts=True)
    t = counts[counts > 1]
    var = (n * (n - 1) * (2 * n + 5) - float((t * (t - 1) * (2 * t + 5)).sum())) / 18
    if var <= 0 or not s or math.isnan(s):
        return 0.0
    return (s - math.copysign(1.0, s)) / math.sqrt(var)


def _same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


@pytest.mark.parametrize("kind", ["increasing", "repeated_x", "unsorted_x", "ties", "nan", "inf"])
@pytest.mark.parametrize("n", [3, 4, 9, 60, 200])
def test_pairwise_statistics_match_their_definitions(kind, n):
    rng = np.random.default_rng(n)
    x = np.arange(n) + 0.5
    y = np.exp(-x / 20) + rng.normal(0, 0.05, n)
    if kind == "repeated_x":
        x = np.sort(rng.integers(0, n // 2 + 1, n)).astype(float)
    elif kind == "unsorted_x":
        x = rng.normal(size=n)
    elif kind == "ties":
        y = np.round(y * 3)
    elif kind == "nan":
        y[n // 2] = np.nan
    elif kind == "inf":
        y[0], y[-1] = -np.inf, np.inf
    with np.errstate(invalid="ignore"):
        assert _same(theil_sen(x, y), _theil_sen(x, y))
        assert mann_kendall_z(y) == _mann_kendall_z(y)
        assert mann_kendall_z(-y) == -_mann_kendall_z(y)  # every pair's sign flips


def test_trend_of_a_straight_noisy_fall():
    x = np.arange(100) + 0.5
    y = 10.0 - 0.05 * x + np.where(np.arange(100) % 2, 0.01, -0.01)
    t = trend(x, y)
    assert t.slope == pytest.approx(-0.05, abs=1e-3)
    assert t.z < -10 and t.n == 100
    assert t.change == pytest.approx(t.slope * 99.0)


@pytest.mark.parametrize("kind", ["noise", "ties", "zeros", "nan", "inf", "huge", "flat"])
@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 8, 51, 350])
def test_quartiles_are_numpys_percentiles_bit_for_bit(kind, n):
    rng = np.random.default_rng(n * 7 + len(kind))
    for _ in range(20):
        y = rng.normal(size=n) * 1e3
        y = np.clip(y, -3e3, 3e3)
        if kind == "ties":
            y = np.round(y / 500)
        elif kind == "zeros":
            y = np.where(rng.random(n) < 0.5, 0.0, -0.0)
        elif kind == "nan":
            y[rng.integers(n)] = np.nan
        elif kind == "inf":
            y[rng.integers(n)] = np.inf if rng.random() < 0.5 else -np.inf
        elif kind == "huge":
            y = y / 3e3 * 1.7e308  # near the largest floats: their range overflows
        elif kind == "flat":
            y = np.full(n, -0.0 if rng.random() < 0.5 else 1.5)
        with np.errstate(all="ignore"):  # numpy's own path for these warns as it goes
            want = [float(v) for v in np.percentile(y, [25, 75])]
            got = quartiles(y)
        assert [_bits(v) for v in got] == [_bits(v) for v in want]


def _bits(v: float) -> bytes:
    """The float's bytes: -0.0 differs from 0.0, every NaN is one NaN."""
    return b"nan" if math.isnan(v) else np.float64(v).tobytes()


@pytest.mark.parametrize("kind", ["noise", "ties", "zeros", "nan", "inf", "huge", "ints"])
@pytest.mark.parametrize("n", [0, 1, 2, 3, 4, 7, 50, 351])
def test_median_is_numpys_bit_for_bit(kind, n):
    rng = np.random.default_rng(n * 11 + len(kind))
    for _ in range(20):
        y = np.clip(rng.normal(size=n), -3, 3) * 1e3
        if kind == "ties":
            y = np.round(y / 500)
        elif kind == "zeros":
            y = np.where(rng.random(n) < 0.5, 0.0, -0.0)  # a median of -0.0 is 0.0
        elif kind == "nan" and n:
            y[rng.integers(n)] = np.nan
        elif kind == "inf" and n:
            y[rng.integers(n)] = np.inf if rng.random() < 0.5 else -np.inf
        elif kind == "huge":
            y = y / 3e3 * 1.7e308  # the mean of the middle two overflows
        elif kind == "ints":
            y = rng.integers(-5, 5, n)
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # numpy's own, for no values
            want = float(np.median(y))
            got, in_place = median(y), median(y.copy(), overwrite=True)
        assert _bits(got) == _bits(want) and _bits(in_place) == _bits(want)
