"""engine.find.suggest: smoothing, the robust suggestion (spikes, flat, short, NaN), batch maths."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from traindoc.engine.find import suggest as ls

LRS = np.geomspace(1e-7, 10, 100)


def range_test_curve(*, seed: int = 0, centre: float = -3.0, noise: float = 0.03) -> np.ndarray:
    """A typical sweep: flat at 2.3, a descent centred at lr 10**centre, then divergence."""
    x = np.log10(LRS)
    descent = 1.8 / (1 + np.exp(-(x - centre) / 0.35))
    blowup = np.exp(np.clip(3.0 * (x - (centre + 2.0)), -50, 50)) - 1.0
    rng = np.random.default_rng(seed)
    return (2.3 - descent + np.maximum(blowup, 0.0)) * (1 + noise * rng.standard_normal(len(x)))


def naive_steepest(lrs: np.ndarray, losses: np.ndarray) -> float:
    """What the published finders do: steepest slope of the beta=0.98 EMA, from step 0."""
    smoothed = ls.ema_debiased(losses)
    stop = int(np.argmin(smoothed))
    slope = np.gradient(smoothed, np.log10(lrs))
    return float(lrs[int(np.argmin(slope[:stop]))])


# ---------------------------------------------------------------- smoothing


def test_ema_debiased_matches_the_formula_and_skips_nan():
    values = np.array([1.0, 2.0, np.nan, 4.0])
    out = ls.ema_debiased(values, beta=0.5)
    # debiased: avg / (1 - beta^k) over the finite values seen so far
    assert out[0] == pytest.approx(1.0)
    assert out[1] == pytest.approx((0.25 * 1 + 0.5 * 2) / 0.75)
    assert out[2] == pytest.approx(out[1])
    assert out[3] == pytest.approx((0.125 * 1 + 0.25 * 2 + 0.5 * 4) / 0.875)


def test_rolling_median_removes_a_two_point_spike_and_keeps_a_step():
    values = np.array([1.0] * 10 + [50.0, 50.0] + [1.0] * 10)
    assert np.all(ls.rolling_median(values) == 1.0)
    step = np.array([2.0] * 10 + [1.0] * 10)
    assert np.array_equal(ls.rolling_median(step), step)


def test_zero_lag_smoothing_does_not_shift_a_descent():
    x = np.linspace(-5, 5, 101)
    curve = 1 / (1 + np.exp(x))  # half-way at the centre
    smoothed = ls.zero_lag_smooth(curve)
    assert smoothed[50] == pytest.approx(0.5, abs=1e-9)
    # the online beta=0.98 EMA lags far behind (why the suggestion does not read it)
    assert ls.ema_debiased(curve)[50] > 0.8


# ---------------------------------------------------------------- suggestion


def test_typical_curve_suggests_inside_the_descent_below_the_minimum():
    losses = range_test_curve()
    s = ls.suggest_lr(LRS, losses)
    assert s.rule == "descent-middle"
    first, last = s.descent
    assert LRS[first] < s.lr < LRS[last]
    assert 3e-4 < s.lr < 3e-3  # the descent is centred at 1e-3
    assert s.lr <= LRS[s.min_index] / 3
    assert set(s.alternatives) == {"steepest", "min/10"}
    assert s.alternatives["min/10"] == pytest.approx(LRS[s.min_index] / 10)
    assert 1e-4 < s.alternatives["steepest"] < 1e-2
    assert len(s.smoothed) == len(LRS) and np.isfinite(s.smoothed).all()


def test_early_spike_fools_the_naive_rule_but_not_ours():
    clean = range_test_curve()
    spiked = clean.copy()
    spiked[3] *= 50
    # the published rule picks the decay of the spike, at lr ~1e-7
    assert naive_steepest(LRS, spiked) < 1e-5
    assert naive_steepest(LRS, clean) > 1e-4
    ours_clean, ours_spiked = ls.suggest_lr(LRS, clean), ls.suggest_lr(LRS, spiked)
    assert ours_spiked.lr == pytest.approx(ours_clean.lr, rel=0.1)
    assert ours_spiked.alternatives["steepest"] == pytest.approx(
        ours_clean.alternatives["steepest"], rel=0.3
    )


@pytest.mark.parametrize("where", [0, 1, 3, 10, 25])
@pytest.mark.parametrize("factor", [5.0, 50.0, 1e4])
def test_spikes_anywhere_early_move_the_suggestion_little(where, factor):
    clean = range_test_curve(seed=where)
    spiked = clean.copy()
    spiked[where] *= factor
    assert ls.suggest_lr(LRS, spiked).lr == pytest.approx(ls.suggest_lr(LRS, clean).lr, rel=0.25)


def test_suggestions_follow_the_descent_across_noise_seeds():
    lrs = [ls.suggest_lr(LRS, range_test_curve(seed=s, noise=0.08)).lr for s in range(10)]
    assert max(lrs) / min(lrs) < 2.0


@pytest.mark.parametrize("centre", [-5.0, -3.0, -1.5])
def test_suggestion_tracks_where_the_descent_is(centre):
    s = ls.suggest_lr(LRS, range_test_curve(centre=centre))
    assert 10 ** (centre - 0.7) < s.lr < 10**centre


def test_flat_curve_has_no_suggestion_and_says_so():
    rng = np.random.default_rng(1)
    flat = 2.3 * (1 + 0.01 * rng.standard_normal(100))
    s = ls.suggest_lr(LRS, flat)
    assert s.lr is None and s.rule == "none"
    assert "no descent" in s.note and "configured" in s.note
    assert "min/10" in s.alternatives  # still reported, for a user who wants one


def test_sweep_that_ended_early_mid_descent():
    losses = range_test_curve()[:62]  # stopped (by the user) while still descending
    s = ls.suggest_lr(LRS[:62], losses)
    assert s.lr is not None and s.lr < LRS[61]
    assert 1e-4 < s.lr < 3e-3


def test_nan_losses_are_skipped_and_a_nan_tail_is_cut():
    losses = range_test_curve()
    reference = ls.suggest_lr(LRS, losses).lr
    holes = losses.copy()
    holes[[20, 40, 55]] = np.nan
    assert ls.suggest_lr(LRS, holes).lr == pytest.approx(reference, rel=0.15)
    tail = losses.copy()
    tail[75:] = np.nan  # the sweep blew up: NaN from lr ~1e-1.5 on
    s = ls.suggest_lr(LRS, tail)
    assert s.lr == pytest.approx(reference, rel=0.15)
    assert np.isnan(s.smoothed[75:]).all()
    assert ls.usable_length(tail) == 75


def test_too_few_points_give_no_suggestion():
    s = ls.suggest_lr(LRS[:5], range_test_curve()[:5])
    assert s.lr is None and "too few" in s.note
    s = ls.suggest_lr(LRS, np.full(100, np.nan))
    assert s.lr is None


def test_mismatched_inputs_raise():
    with pytest.raises(ValueError):
        ls.suggest_lr(LRS, LRS[:10])


@settings(max_examples=40, deadline=None)
@given(
    centre=st.floats(-6.0, -1.0),
    noise=st.floats(0.0, 0.1),
    seed=st.integers(0, 1000),
    length=st.integers(30, 100),
)
def test_any_suggestion_lies_in_the_sweep_and_below_the_minimum(centre, noise, seed, length):
    losses = range_test_curve(seed=seed, centre=centre, noise=noise)[:length]
    s = ls.suggest_lr(LRS[:length], losses)
    if s.lr is not None:
        assert LRS[0] <= s.lr <= LRS[length - 1]
        assert s.lr <= LRS[s.min_index] / 3 * (1 + 1e-9) or s.rule == "min/10"


def test_sweep_lrs_is_exponential_from_start_to_end():
    lrs = ls.sweep_lrs(1e-7, 10.0, 100)
    assert lrs[0] == pytest.approx(1e-7) and lrs[-1] == pytest.approx(10.0)
    ratios = lrs[1:] / lrs[:-1]
    assert np.allclose(ratios, ratios[0])
    with pytest.raises(ValueError):
        ls.sweep_lrs(1.0, 0.1, 100)


def test_stop_needs_the_raw_losses_to_confirm_divergence():
    # smoothed over 4x best, but only one raw spike: keep going
    assert not ls.should_stop_sweep(10.0, 2.0, [2.0, 115.0, 2.0])
    assert ls.should_stop_sweep(10.0, 2.0, [9.0, 12.0, 30.0])
    assert ls.should_stop_sweep(10.0, 2.0, [9.0, math.nan, math.inf])
    assert not ls.should_stop_sweep(7.9, 2.0, [30.0, 30.0, 30.0])


# ---------------------------------------------------------------- batch size


def test_seed_example_accumulation_and_linear_scaling():
    # the seed: batch 16, lr 0.001, accumulate 4 steps -> effective 64, lr 0.004
    plan = ls.accumulation_plan(16, 64, base_lr=0.001, base_batch=16)
    assert (plan.micro_batch, plan.accum_steps, plan.effective_batch) == (16, 4, 64)
    assert plan.lr == pytest.approx(0.004)
    assert plan.patch() == {
        "data.batch_size": 16,
        "train.grad_accum": 4,
        "optim.lr": pytest.approx(0.004),
    }
    # the seed's other example: batch 32 -> 128 is lr x4
    assert ls.accumulation_plan(128, 128, base_lr=0.001, base_batch=32).lr == pytest.approx(0.004)


def test_accumulation_plan_edge_cases():
    big = ls.accumulation_plan(256, 64, base_lr=0.001, base_batch=64)
    assert (big.micro_batch, big.accum_steps, big.lr) == (64, 1, pytest.approx(0.001))
    odd = ls.accumulation_plan(32, 100, base_lr=0.01, base_batch=50)
    assert (odd.accum_steps, odd.effective_batch) == (4, 128)  # rounded up
    assert odd.lr == pytest.approx(0.01 * 128 / 50)
    with pytest.raises(ValueError):
        ls.accumulation_plan(0, 64, base_lr=0.001, base_batch=16)


@pytest.mark.parametrize(
    ("largest", "safe"), [(1, 1), (8, 4), (64, 32), (80, 64), (104, 64), (160, 128), (30, 16)]
)
def test_safe_batch_is_80_percent_rounded_down_to_a_power_of_two(largest, safe):
    assert ls.safe_batch(largest) == safe


def test_doubling_then_refining_on_a_memory_limit():
    calls = []

    def fits(batch):
        calls.append(batch)
        return batch <= 100

    search = ls.search_batch(fits, start=8)
    assert calls == [8, 16, 32, 64, 128, 96, 112, 104]
    assert (search.largest_fit, search.first_failure) == (96, 104)
    assert search.recommended == 64 and not search.capped


def test_start_too_big_halves_down():
    search = ls.search_batch(lambda b: b <= 5, start=8)
    assert [b for b, _ in search.tried] == [8, 4, 6, 5]
    assert (search.largest_fit, search.first_failure, search.recommended) == (5, 6, 4)


def test_nothing_fits_and_no_limit_reached():
    nothing = ls.search_batch(lambda b: False, start=8)
    assert (nothing.largest_fit, nothing.recommended, nothing.first_failure) == (0, 0, 1)
    capped = ls.search_batch(lambda b: True, start=8, max_batch=1437)
    assert [b for b, _ in capped.tried] == [8, 16, 32, 64, 128, 256, 512, 1024, 1437]
    assert capped.capped and capped.largest_fit == 1437 and capped.recommended == 1024


@settings(max_examples=200, deadline=None)
@given(limit=st.integers(1, 70000), start=st.sampled_from([1, 8, 32]))
def test_search_never_reports_a_batch_that_did_not_fit(limit, start):
    search = ls.search_batch(lambda b: b <= limit, start=start, max_batch=65536)
    assert search.largest_fit <= limit
    if search.first_failure is not None:
        assert search.first_failure > limit
        # three bisection steps: within 1/8 of the bracket below the real limit
        assert search.largest_fit >= limit * 7 / 8 - 1
    rec = search.recommended
    assert rec & (rec - 1) == 0 and rec <= max(1, 0.8 * search.largest_fit)


# ---------------------------------------------------------------- within the sweep


def test_a_fine_sweep_with_an_early_minimum_suggests_nothing_below_its_first_rate():
    lrs = np.geomspace(1e-7, 10, 1000)  # 1000 steps: the minimum just after the skipped 10%
    i = np.arange(1000)
    losses = np.where(i <= 102, 2.3 - 1.8 * i / 102, 0.5 + 0.02 * (i - 102))
    s = ls.suggest_lr(lrs, losses)
    assert s.lr is not None and s.lr >= lrs[0]
    # the minimum's lr / 10 (6.4e-8) is below the sweep: not offered as an alternative
    assert "min/10" not in s.alternatives
    assert all(v >= lrs[0] for v in s.alternatives.values())


def test_a_suggested_rate_below_the_sweep_becomes_none_saying_to_start_lower():
    below = ls.Suggestion(3e-8, "min/10", "x", {"min/10": 3e-8, "steepest": 2e-7})
    s = ls.within_sweep(below, 1e-7)
    assert s.lr is None and s.rule == "none"
    assert "below the sweep's first, 1e-07" in s.note and "--start-lr" in s.note
    assert s.alternatives == {"steepest": 2e-7}
    inside = ls.Suggestion(2e-7, "descent-middle", "y", {"min/10": 5e-8})
    assert ls.within_sweep(inside, 1e-7).lr == 2e-7
    assert ls.within_sweep(inside, 1e-7).alternatives == {}


@settings(max_examples=40, deadline=None)
@given(
    minimum=st.integers(60, 400),
    steps=st.integers(200, 2000),
    start=st.floats(-8.0, -5.0),
)
def test_no_suggestion_or_alternative_lies_below_the_sweep(minimum, steps, start):
    lrs = np.geomspace(10**start, 10, steps)
    i = np.arange(steps)
    losses = np.where(i <= minimum, 2.3 - 1.8 * i / minimum, 0.5 + 0.02 * (i - minimum))
    s = ls.suggest_lr(lrs, losses)
    assert s.lr is None or s.lr >= lrs[0]
    assert all(v >= lrs[0] for v in s.alternatives.values())
