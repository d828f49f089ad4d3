"""The rolling median's fast path (no NaN in the series) gives numpy's nanmedian of each
centred window, edges included, for odd and even windows, ties, infinities and huge
values; a series with NaN takes nanmedian itself."""

from __future__ import annotations

import numpy as np
import pytest

from traindoc.diagnostics.signals import rolling_median


def _reference(y: np.ndarray, window: int) -> np.ndarray:
    window = max(1, min(window, y.size))
    half = window // 2
    padded = np.concatenate([np.full(half, np.nan), y, np.full(window - 1 - half, np.nan)])
    view = np.lib.stride_tricks.sliding_window_view(padded, window)
    with np.errstate(over="ignore", invalid="ignore"):
        return np.nanmedian(view, axis=1)


@pytest.mark.filterwarnings("ignore:All-NaN slice:RuntimeWarning")
@pytest.mark.parametrize("n", [2, 3, 5, 8, 17, 60, 1000])
@pytest.mark.parametrize("window", [2, 3, 4, 7, 8, 51, 52, 599])
@pytest.mark.parametrize("kind", ["noise", "ties", "inf", "huge", "nan"])
def test_rolling_median_equals_nanmedian_of_each_window(n, window, kind):
    rng = np.random.default_rng(n * 1000 + window)
    y = rng.normal(size=n) * 3
    if kind == "ties":
        y = np.round(y)
    elif kind == "inf":
        y[n // 2] = np.inf
        y[-1] = -np.inf
    elif kind == "huge":
        y[0] = y[n // 2] = 1.7e308
    elif kind == "nan":
        y[n // 3] = np.nan
    with np.errstate(over="ignore", invalid="ignore"):
        got = rolling_median(y, window)
    assert np.array_equal(got, _reference(y, window), equal_nan=True)


def test_rolling_median_values_by_hand():
    y = np.array([5.0, 1.0, 4.0, 2.0, 3.0])
    # windows: [5,1] [5,1,4] [1,4,2] [4,2,3] [2,3]
    assert rolling_median(y, 3).tolist() == [3.0, 4.0, 2.0, 3.0, 2.5]
    # window 4, half 2: [5,1] [5,1,4] [5,1,4,2] [1,4,2,3] [4,2,3]
    assert rolling_median(y, 4).tolist() == [3.0, 4.0, 3.0, 2.5, 3.0]
