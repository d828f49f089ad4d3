"""engine.train.schedules: the seed's warmup-plateau-decay numbers and every kind's shape."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from traindoc.engine.config import ScheduleConfig
from traindoc.engine.train.schedules import KINDS, lr_factor, phases

SEED = ScheduleConfig()  # the seed's schedule: 5% warmup, 25% decay to 0.1 × peak


def lr_curve(total_steps: int, cfg: ScheduleConfig, peak: float) -> list[float]:
    """The learning rate of every step, as the loop sets it: peak × factor."""
    return [peak * lr_factor(s, total_steps, cfg) for s in range(total_steps)]


def test_seed_breakpoints_for_1000_steps() -> None:
    peak = 0.001
    lr = lr_curve(1000, SEED, peak)
    assert len(lr) == 1000
    assert lr[0] == pytest.approx(peak / 50)  # step 0 already trains
    assert lr[48] < peak
    assert lr[49] == pytest.approx(peak)  # warmup ends at 5%
    assert lr[500] == pytest.approx(peak)
    assert lr[749] == pytest.approx(peak)  # plateau covers the middle 70%
    assert lr[750] < peak
    assert lr[999] == pytest.approx(0.0001)  # the last 25% end at 0.1 × peak


def test_seed_pieces_are_linear_and_monotone() -> None:
    lr = lr_curve(1000, SEED, 1.0)
    warm, plateau, decay = lr[:50], lr[49:750], lr[750:]
    assert all(b > a for a, b in itertools.pairwise(warm))
    assert set(plateau) == {1.0}
    assert all(b < a for a, b in itertools.pairwise(decay))
    # linear: constant differences within each piece
    assert {round(b - a, 12) for a, b in itertools.pairwise(warm)} == {0.02}
    assert {round(b - a, 12) for a, b in itertools.pairwise(decay)} == {-0.0036}
    assert lr[874] == pytest.approx(1 - 0.9 * 125 / 250)  # half-way down the decay


def test_constant_ignores_warmup_and_decay() -> None:
    cfg = ScheduleConfig(kind="constant", warmup=0.2, decay=0.5, final_lr_ratio=0.01)
    assert set(lr_curve(100, cfg, 0.1)) == {0.1}


def test_cosine_warmup_then_annealing_to_final_ratio() -> None:
    cfg = ScheduleConfig(kind="cosine", warmup=0.1, decay=0.25, final_lr_ratio=0.1)
    f = [lr_factor(s, 100, cfg) for s in range(100)]
    assert f[0] == pytest.approx(0.1) and f[9] == pytest.approx(1.0)
    tail = f[10:]
    assert all(b < a for a, b in itertools.pairwise(tail))
    assert f[99] == pytest.approx(0.1)
    # half-way through the annealing the cosine is at the mid point
    assert f[10 + 45 - 1] == pytest.approx(0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 0.5)))


def test_cosine_without_warmup_starts_near_peak() -> None:
    cfg = ScheduleConfig(kind="cosine", warmup=0.0, decay=0.0, final_lr_ratio=0.0)
    f = [lr_factor(s, 1000, cfg) for s in range(1000)]
    assert f[0] == pytest.approx(1.0, abs=1e-5)
    assert f[-1] == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize(
    ("ratio", "levels"), [(0.0, (1.0, 0.1, 0.01)), (0.01, (1.0, 0.1, 0.01)), (0.1, (1.0, 0.1, 0.1))]
)
def test_step_decay_at_half_and_three_quarters(ratio: float, levels: tuple) -> None:
    cfg = ScheduleConfig(kind="step", warmup=0.0, decay=0.0, final_lr_ratio=ratio)
    f = [lr_factor(s, 1000, cfg) for s in range(1000)]
    assert set(f[:500]) == {levels[0]}
    assert f[500:750] == pytest.approx([levels[1]] * 250)
    assert f[750:] == pytest.approx([levels[2]] * 250)


def test_step_with_warmup() -> None:
    cfg = ScheduleConfig(kind="step", warmup=0.05, decay=0.0, final_lr_ratio=0.0)
    assert lr_factor(0, 1000, cfg) == pytest.approx(0.02)
    assert lr_factor(49, 1000, cfg) == 1.0
    assert lr_factor(499, 1000, cfg) == 1.0
    assert lr_factor(500, 1000, cfg) == pytest.approx(0.1)


@pytest.mark.parametrize("kind", KINDS)
def test_single_step_run_trains_at_peak(kind: str) -> None:
    cfg = ScheduleConfig(kind=kind, warmup=0.5, decay=0.5, final_lr_ratio=0.1)
    assert lr_factor(0, 1, cfg) == 1.0
    assert lr_curve(1, cfg, 0.3) == [0.3]


def test_no_warmup_no_decay_is_flat() -> None:
    cfg = ScheduleConfig(kind="warmup-plateau-decay", warmup=0.0, decay=0.0)
    assert set(lr_curve(50, cfg, 1.0)) == {1.0}


def test_decay_zero_keeps_warmup_then_plateau() -> None:
    cfg = ScheduleConfig(kind="warmup-plateau-decay", warmup=0.1, decay=0.0)
    f = [lr_factor(s, 100, cfg) for s in range(100)]
    assert f[0] == pytest.approx(0.1) and set(f[9:]) == {1.0}


def test_warmup_zero_starts_at_peak() -> None:
    cfg = ScheduleConfig(kind="warmup-plateau-decay", warmup=0.0, decay=0.25)
    assert lr_factor(0, 100, cfg) == 1.0
    assert lr_factor(99, 100, cfg) == pytest.approx(0.1)


def test_full_decay_run() -> None:
    cfg = ScheduleConfig(kind="warmup-plateau-decay", warmup=0.0, decay=1.0, final_lr_ratio=0.0)
    f = [lr_factor(s, 4, cfg) for s in range(4)]
    assert f == pytest.approx([0.75, 0.5, 0.25, 0.0])


def test_tiny_runs_give_positive_fractions_a_step() -> None:
    ph = phases(3, ScheduleConfig(warmup=0.05, decay=0.25))
    assert (ph.warmup, ph.decay) == (1, 1)
    f = [lr_factor(s, 3, ScheduleConfig(warmup=0.05, decay=0.25)) for s in range(3)]
    assert f == pytest.approx([1.0, 1.0, 0.1])
    # two steps: warmup has priority but keeps one step out of warmup
    ph = phases(2, ScheduleConfig(warmup=0.9, decay=0.1))
    assert (ph.warmup, ph.decay) == (1, 1)
    assert phases(2, ScheduleConfig(warmup=0.9, decay=0.0)).warmup == 1
    ph = phases(100, ScheduleConfig(kind="constant"))
    assert (ph.warmup, ph.decay) == (0, 0)


def test_out_of_range_steps_are_clamped() -> None:
    assert lr_factor(-5, 1000, SEED) == lr_factor(0, 1000, SEED)
    assert lr_factor(5000, 1000, SEED) == pytest.approx(0.1)


def test_unknown_kind_rejected() -> None:
    with pytest.raises(ValueError, match=r"schedule\.kind"):
        lr_factor(0, 10, ScheduleConfig(kind="linear"))


@given(
    kind=st.sampled_from(KINDS),
    total=st.integers(1, 3000),
    warmup=st.floats(0, 0.99),
    decay=st.floats(0, 1),
    ratio=st.floats(0, 1),
)
def test_factor_is_bounded_and_ends_at_ratio(kind, total, warmup, decay, ratio) -> None:
    decay = min(decay, 1 - warmup)
    cfg = ScheduleConfig(kind=kind, warmup=warmup, decay=decay, final_lr_ratio=ratio)
    ph = phases(total, cfg)
    assert 0 <= ph.warmup < total or total == 1
    assert ph.warmup + ph.decay <= total
    for s in {0, total // 3, total // 2, total - 1, max(0, ph.warmup - 1)}:
        f = lr_factor(s, total, cfg)
        if s < ph.warmup:
            assert f == pytest.approx((s + 1) / ph.warmup)
        else:
            assert ratio - 1e-12 <= f <= 1.0 + 1e-12
    last = lr_factor(total - 1, total, cfg)
    if total > 1 and (kind == "cosine" or (kind == "warmup-plateau-decay" and ph.decay)):
        assert last == pytest.approx(ratio)
