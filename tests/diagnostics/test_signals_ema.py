"""diagnostics.signals' EMA: TensorBoard's debiased smoothing, the one the GUI's charts
and the LR finder's suggestion share."""

from __future__ import annotations

import numpy as np
import pytest

from traindoc.diagnostics.signals import ema, ema_filled


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


def reference_filled(values, beta):
    """The LR finder's loop: non-finite inputs are skipped and the average carried over."""
    out = np.full(len(values), np.nan)
    avg = weight = 0.0
    for i, v in enumerate(values):
        if np.isfinite(v):
            avg = beta * avg + (1 - beta) * v
            weight = beta * weight + (1 - beta)
        if weight > 0:
            out[i] = avg / weight
    return out


@pytest.mark.parametrize("beta", [0.0, 0.5, 0.98, 0.9995])
def test_ema_filled_carries_the_average_over_gaps(beta):
    rng = np.random.default_rng(3)
    values = np.log(np.exp(rng.normal(size=2000)) + 0.1)
    values[[0, 1, 50, 51, 52, 1999]] = [np.nan, np.inf, np.nan, -np.inf, np.nan, np.nan]
    got = ema_filled(values, beta)
    want = reference_filled(values, beta)
    assert np.isnan(got[:2]).all() and np.isnan(want[:2]).all()
    np.testing.assert_allclose(got[2:], want[2:], rtol=1e-9, atol=1e-12)
    assert got[52] == got[49] and got[1999] == got[1998]


def test_ema_filled_of_no_finite_value_is_all_nan():
    assert np.isnan(ema_filled(np.array([np.nan, np.inf]), 0.9)).all()
    assert ema_filled(np.array([]), 0.9).size == 0
