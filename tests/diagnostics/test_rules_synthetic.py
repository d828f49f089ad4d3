"""Realistic synthetic runs: healthy shapes stay silent, injected faults fire their rule."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.diagnostics.helpers import decay, epochs, rules, run
from traindoc.diagnostics.types import Severity, Status

# -- healthy runs: no finding at all ------------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("noise", [0.0, 0.05, 0.15, 0.3])
def test_noisy_per_step_decay_is_healthy(seed, noise):
    n = 3000
    train = decay(n, noise=noise, seed=seed, warmup=0.03)
    val = decay(30, start=2.25, floor=0.15, noise=noise / 5, seed=seed + 100)
    d = run(train_loss=train, val_loss=(np.arange(1, 31) * 100, val))
    assert d.status is Status.HEALTHY, [f.evidence for f in d.findings]


@pytest.mark.parametrize("scale", [0.01, 1.0, 83000.0])
def test_scale_free_healthy(scale):
    # Detection losses ~0.01, cross-entropy ~1, MSE in the tens of thousands.
    train = decay(2000, start=3 * scale, floor=0.5 * scale, noise=0.1, seed=3)
    val = decay(25, start=2.9 * scale, floor=0.55 * scale, noise=0.01, seed=4)
    d = run(train_loss=train, val_loss=(np.arange(1, 26) * 80, val))
    assert d.status is Status.HEALTHY, [f.evidence for f in d.findings]


def test_converged_flat_noisy_val_with_converged_train_is_healthy():
    rng = np.random.default_rng(7)
    train = np.concatenate([decay(400, seed=1), 0.1 * (1 + 0.05 * rng.standard_normal(1600))])
    flat = 0.15 * (1 + 0.02 * rng.standard_normal(40))
    val = np.concatenate([decay(10, start=2.2, floor=0.15), flat])
    d = run(train_loss=train, val_loss=(np.arange(1, 51) * 40, val))
    assert d.status is Status.HEALTHY, [f.evidence for f in d.findings]


def test_val_below_train_is_healthy():
    # Dropout and augmentation make the train loss higher than the validation loss.
    train = decay(20, start=1.25, floor=0.03, tau=0.3)
    val = decay(20, start=0.3, floor=0.006, tau=0.3)
    d = run(train_loss=epochs(train), val_loss=epochs(val),
            train_accuracy=epochs(1 - train / 3), val_accuracy=epochs(1 - val / 3))
    assert d.status is Status.HEALTHY


def test_warmup_plateau_decay_schedule_is_healthy():
    # Loss holds while the LR warms up, falls, then steps down again at the decay.
    n = 5000
    t = np.linspace(0, 1, n)
    y = 0.3 + 2.0 * np.exp(-np.clip(t - 0.05, 0, None) / 0.15)
    y -= 0.1 * np.clip((t - 0.75) / 0.25, 0, 1)
    y *= 1 + 0.1 * np.random.default_rng(5).standard_normal(n)
    lr = np.where(t < 0.05, t / 0.05, np.where(t < 0.75, 1.0, 1 - 0.9 * (t - 0.75) / 0.25)) * 1e-3
    grad = 1.0 + 0.3 * np.abs(np.random.default_rng(6).standard_normal(n))
    d = run(train_loss=y, lr=lr, grad_norm=grad)
    assert d.status is Status.HEALTHY, [f.evidence for f in d.findings]


def test_vae_with_kl_annealing_is_healthy():
    n = 60
    recon = decay(n, start=14000, floor=1500, tau=0.3)
    kl = 200 * np.linspace(0, 1, n)  # the KL weight ramps up: the loss gains a term
    d = run(train_loss=epochs(recon + kl), val_loss=epochs(recon * 1.3 + kl))
    assert d.status is Status.HEALTHY


def test_healthy_accuracy_curves():
    acc = 0.95 - 0.6 * np.exp(-np.linspace(0, 5, 30))
    d = run(train_accuracy=epochs(acc), val_accuracy=epochs(acc - 0.02))
    assert d.status is Status.HEALTHY


# -- injected faults ---------------------------------------------------------------------


def test_nan_midway_after_grad_spike_is_grad_explosion():
    loss = decay(1000, noise=0.05)
    loss[700:] = math.nan
    grad = np.full(1000, 1.0)
    grad[690] = 80.0
    d = run(train_loss=loss, grad_norm=grad)
    nan = next(f for f in d.findings if f.rule == "nan-loss")
    assert nan.cause == "grad-explosion" and nan.step_start == 700
    assert nan.remedies[0].id == "clip-grad"
    assert "690" in nan.evidence
    assert "grad-explosion" in d.rules


def test_isolated_nans_are_a_data_problem():
    loss = decay(1000, noise=0.05)
    loss[[200, 500, 800]] = math.nan
    d = run(train_loss=loss)
    assert d.rules == {"nan-loss"}
    f = d.findings[0]
    assert f.cause == "data" and f.remedies[0].id == "check-data" and f.step_start == 200
    assert "3 non-finite points" in f.evidence
    assert f.severity is Severity.WARNING  # the run resumed: alive, but its data is bad


def test_sudden_nan_after_a_falling_loss():
    loss = decay(500, noise=0.02)
    loss[400:] = math.inf
    d = run(train_loss=loss)
    f = next(f for f in d.findings if f.rule == "nan-loss")
    assert f.cause == "grad-explosion" and "Inf" in f.evidence


def test_nan_after_rising_loss_is_lr():
    loss = np.concatenate([decay(300, noise=0.02), np.linspace(0.3, 5.0, 100)])
    loss = np.append(loss, math.nan)
    f = next(f for f in run(train_loss=loss).findings if f.rule == "nan-loss")
    assert f.cause == "lr-too-large"


def test_hidden_nan_in_grad_norm():
    # HF Trainer: the logged loss stays finite, the gradient norm shows the NaN.
    loss = decay(500, noise=0.05)
    grad = np.ones(500)
    grad[300:] = math.nan
    d = run(train_loss=loss, grad_norm=grad)
    assert d.rules == {"nan-loss", "grad-explosion"}
    assert all(f.severity is Severity.ERROR for f in d.findings)
    assert all(f.step_start == 300 for f in d.findings)


def test_divergence_sustained_and_explosion():
    up = np.concatenate([decay(200), np.geomspace(0.2, 20.0, 200)])
    assert "divergence" in rules(train_loss=up)
    spike = decay(500, noise=0.05)
    spike[250] = 80.0
    d = run(train_loss=spike)
    assert d.rules == {"divergence"} and "250" in d.findings[0].evidence


def test_rebound_is_divergence_warning():
    y = np.concatenate([decay(300, tau=0.1), np.linspace(0.1, 1.8, 300)])
    d = run(train_loss=y * (1 + 0.02 * np.random.default_rng(1).standard_normal(600)))
    f = next(f for f in d.findings if f.rule == "divergence")
    assert f.severity is Severity.WARNING


def test_oscillation_injected():
    rng = np.random.default_rng(2)
    # The seed's picture: bouncing between ~0.5 and ~2.0 around 1.3, never descending.
    y = 1.3 + 0.6 * np.sin(np.arange(1000) / 5) + 0.1 * rng.standard_normal(1000)
    assert rules(train_loss=y) == {"oscillation"}


def test_per_epoch_val_oscillation():
    rng = np.random.default_rng(3)
    val = 1.6 + 0.2 * rng.standard_normal(50)
    train = decay(50, start=2.4, floor=1.0, tau=0.4)
    assert "oscillation" in rules(train_loss=epochs(train), val_loss=epochs(val))


def test_slow_descent_over_a_long_noisy_run():
    y = np.linspace(2.0, 1.75, 5000) * (1 + 0.02 * np.random.default_rng(4).standard_normal(5000))
    assert rules(train_loss=y) == {"slow-descent"}


def test_no_learning_offset_axis_and_chance_level():
    # A curve that plots like a descent on an offset axis but moves by 0.0015%.
    val = 82976.65 + 1.2 * np.exp(-np.linspace(0, 4, 50))
    d = run(val_loss=epochs(val))
    assert d.rules == {"underfitting"} and d.findings[0].title == "No learning"
    stuck = math.log(29) + 1e-4 * np.random.default_rng(0).standard_normal(59)
    f = run(train_loss=epochs(stuck)).findings[0]
    assert f.rule == "underfitting" and "ln 29" in f.evidence


def test_underfitting_from_accuracy_curves_once_flat():
    flat = 0.70 - 0.3 * np.exp(-np.linspace(0, 8, 40))
    assert rules(train_accuracy=epochs(flat), val_accuracy=epochs(flat - 0.02)) == {"underfitting"}
    rising = np.linspace(0.3, 0.7, 40)  # still learning: not a verdict yet
    assert rules(train_accuracy=epochs(rising), val_accuracy=epochs(rising - 0.02)) == set()


def test_overfitting_with_rising_val_accuracy_is_still_a_warning():
    # Regression (irdsi_lightning_v3, labelled overfitting, high confidence): the loss
    # overfits before the accuracy does; the evidence says so, the severity stays.
    train = decay(40, start=2.0, floor=0.5, tau=0.5)
    val = np.concatenate([decay(10, start=2.0, floor=1.9, tau=0.2), np.linspace(1.9, 2.05, 30)])
    acc = np.linspace(0.26, 0.30, 40)
    d = run(train_loss=epochs(train), val_loss=epochs(val), val_accuracy=epochs(acc))
    f = next(f for f in d.findings if f.rule == "overfitting")
    assert f.severity is Severity.WARNING and "still at its best" in f.evidence


def test_grad_spike():
    g = 1.0 + 0.2 * np.abs(np.random.default_rng(0).standard_normal(2000))
    g[1500] = 40.0
    d = run(grad_norm=g, train_loss=decay(2000, noise=0.05))
    assert d.rules == {"grad-explosion"}
    assert "1500" in d.findings[0].evidence
    g[1500] = 5.0  # 4x: within healthy variation
    assert run(grad_norm=g, train_loss=decay(2000, noise=0.05)).status is Status.HEALTHY


def test_findings_sorted_by_severity_then_step():
    loss = decay(1000, noise=0.05)
    loss[900:] = math.nan
    g = np.ones(1000)
    g[100] = 50
    d = run(train_loss=loss, grad_norm=g)
    ranks = [(f.severity.rank, f.step_start) for f in d.findings]
    assert ranks == sorted(ranks)


def test_grad_spike_above_an_all_zero_start_is_judged_without_error():
    # Regression: a run whose first gradient norms are exactly 0 (frozen layers, a
    # warmup at lr 0) made the "x the largest early gradient" ratio divide by zero.
    grad = np.zeros(200)
    grad[150] = 5.0
    grad[60:] += 0.1
    d = run(train_loss=decay(200), grad_norm=grad)
    f = next(f for f in d.findings if f.rule == "grad-explosion")
    assert "5" in f.evidence and f.severity is Severity.INFO  # the loss did not react


def test_validation_swings_that_grow_after_a_long_descent_are_oscillation():
    # Falls 10x smoothly, then jumps by +-40% between evaluations: the swings are small
    # next to the progress made, but they grew (a loss that never settles again).
    rng = np.random.default_rng(3)
    smooth = 0.1 + 0.9 * np.exp(-np.arange(60) / 8.0)
    val = np.r_[smooth[:40], 0.1 * (1 + 0.4 * rng.choice([-1.0, 1.0], 20))]
    d = run(train_loss=decay(600), val_loss=epochs(val, every=10))
    assert d.primary is not None and d.primary.rule == "oscillation"
    assert "swings grew" in d.primary.evidence
    # The same descent that stays settled is healthy.
    assert run(train_loss=decay(600), val_loss=epochs(smooth, every=10)).status is Status.HEALTHY


def test_a_gap_of_five_to_ten_points_with_validation_stalled_is_overfitting():
    # Training keeps improving; validation stopped at epoch 15 and drifts up a little;
    # accuracies end 96% vs 88%: under the seed's 10 points, but validation has stalled.
    rng = np.random.default_rng(7)
    n = 50
    t = np.arange(n)
    train = 2.0 * np.exp(-t / 12) + 0.05 + 0.01 * rng.standard_normal(n)
    val = np.where(t < 15, 2.0 * np.exp(-t / 8) + 0.5, 0.5 + 2.0 * np.exp(-15 / 8)
                   + 0.002 * (t - 15)) + 0.03 * rng.standard_normal(n)
    tr_acc = 0.96 - 0.5 * np.exp(-t / 8)
    va_acc = np.where(t < 15, 0.88 - 0.5 * np.exp(-t / 8), 0.88) + 0.005 * rng.standard_normal(n)
    d = run(train_loss=epochs(train), val_loss=epochs(val), train_accuracy=epochs(tr_acc),
            val_accuracy=epochs(va_acc))
    assert d.primary is not None and d.primary.rule == "overfitting"
    assert "stopped improving" in d.primary.evidence
    # The same gap while validation still improves is not (yet) overfitting.
    val_falling = 2.0 * np.exp(-t / 20) + 0.3 + 0.01 * rng.standard_normal(n)
    d = run(train_loss=epochs(train), val_loss=epochs(val_falling),
            train_accuracy=epochs(tr_acc), val_accuracy=epochs(va_acc))
    assert "overfitting" not in d.rules


def test_a_loss_thrown_off_its_start_that_never_came_back_is_divergence():
    # SGD at a far too high rate on 10 classes (examples/train_script.py --lr 8): the loss
    # starts at ln 10, jumps to 8.7 within steps, then swings around 3 for the rest of
    # the run; validation accuracy stays at chance. Falling back from the jump is not
    # progress: the run never got better than its first step.
    rng = np.random.default_rng(8)
    jump = np.array([2.33, 5.1, 8.7, 7.9, 6.5, 6.1, 5.2, 4.8, 4.6, 4.3])
    hover = 3.1 + 0.35 * np.sin(np.arange(440) / 9) + 0.45 * np.abs(rng.standard_normal(440))
    val = [4.17, 3.72, 3.24, 3.01, 3.26, 3.44, 4.41, 3.28, 2.76, 2.67]
    acc = [0.084, 0.089, 0.089, 0.089, 0.111, 0.095, 0.095, 0.142, 0.086, 0.092]
    d = run(train_loss=np.concatenate([jump, hover]), val_loss=epochs(val, every=45),
            val_accuracy=epochs(acc, every=45))
    assert d.rules == {"divergence"}
    assert d.primary.severity is Severity.ERROR
    assert d.primary.title == "Loss thrown off at the start"
    assert "jumped from 2.33 to 8.7 at step 2" in d.primary.evidence
    assert "1 in 10" in d.primary.evidence
    assert d.primary.remedies[0].id == "lower-lr"
    # The same losses with an accuracy that learns: not thrown off (the loss alone
    # cannot tell a jump-and-recover that learned from one that did not).
    learned = [0.3, 0.45, 0.55, 0.6, 0.66, 0.7, 0.72, 0.75, 0.77, 0.78]
    d = run(train_loss=np.concatenate([jump, hover]), val_loss=epochs(val, every=45),
            val_accuracy=epochs(learned, every=45))
    assert "divergence" not in d.rules or d.primary.title != "Loss thrown off at the start"


def test_a_plateau_above_the_first_point_is_not_slow_descent():
    # Too small a step leaves a loss near where it began; one that settles 40% above its
    # first point was thrown there by too large a step. No raise-lr advice for it.
    rng = np.random.default_rng(3)
    y = np.concatenate([[2.3, 2.9, 3.3], 3.2 + 0.05 * rng.standard_normal(400)])
    assert "slow-descent" not in rules(train_loss=y)


def test_an_early_bump_before_a_long_descent_is_still_healthy():
    # Adam's first steps often overshoot: the loss rises above its first value, then
    # falls far below it and flattens. Judged from its first point it made progress.
    bump = np.array([2.3, 2.9, 3.4, 3.1, 2.8])
    d = run(train_loss=np.concatenate([bump, decay(600, start=2.7, noise=0.03, seed=5)]))
    assert d.status is Status.HEALTHY, d.findings


def test_a_gan_whose_discriminator_sits_at_one_in_two_is_not_thrown_off():
    # A GAN by design: the discriminator's accuracy hovers at 0.5 while the generator's
    # loss climbs from ln 2 and stays up. Not a classifier thrown off its start.
    rng = np.random.default_rng(4)
    g_loss = np.concatenate([[0.69, 1.2, 1.6], 1.9 + 0.3 * rng.standard_normal(600)])
    d_acc = 0.5 + 0.02 * (-1.0) ** np.arange(30)  # no trend: at chance, 1 in 2
    d = run(train_loss=g_loss, train_accuracy=epochs(d_acc, every=20))
    assert not any(f.title == "Loss thrown off at the start" for f in d.findings)
